//! The transfer planner ("swarm", `design.md` *Sync: planner / swarm*;
//! `store-format.md` § 15, *Fetch*): many sources at once, rarest first, bytes in
//! flight per source following its measured rate, work moved off failed, stalled,
//! lying or corrupting sources, and an endgame.
//!
//! * [`picker`] — the pure, synchronous decision maker: which source fetches which
//!   run, when a request is stalled, what to cancel. Time is passed in, so its
//!   tests run on a simulated clock.
//! * [`source`] — the async [`Source`] interface the driver feeds the picker from:
//!   availability over the wanted runs, one run fetched as a stream of verified
//!   records, cancel by dropping the stream. [`peer::PeerSource`] is a QUIC peer;
//!   an HTTP mirror implements the same trait without touching the picker.
//! * [`availability`] — what a source claims it holds (everything, or a run set).
//! * [`stats`] — per-source and overall counters for `--json` reports.
//!
//! # Memory
//!
//! The plan is a list of runs `(file, first chunk, count)` of about a request's
//! bytes each, never a map of chunk ids: per run the picker keeps one state of
//! ≈80 bytes plus one availability bit per source. The chunk ids a request must
//! check its records against are the driver's (one run's worth per request in
//! flight).

pub mod availability;
pub mod connect;
pub mod driver;
pub mod peer;
pub mod picker;
pub mod source;
pub mod stats;

#[cfg(test)]
mod tests_fetch;
#[cfg(test)]
mod tests_peer;
#[cfg(test)]
mod tests_picker;

pub use availability::{Availability, RunSet};
pub use connect::{capped, peer_sources, Unreachable};
pub use driver::{transfer, PlannedRun, SwarmError, SwarmReport, TICK};
pub use peer::PeerSource;
pub use picker::{Assign, Cancel, Failure, Picker, PickerConfig, RunIx, SourceId, WantedRun};
pub use source::{BoxFuture, RecordStream, Source, SourceError};
pub use stats::{PickerStats, SourceStats};

/// Largest run the fetch plans, in raw bytes (2 MiB): small enough that the
/// endgame and a stalled request cost little, large enough that a 20 GiB file is
/// ≈10,000 runs.
pub const PIECE_BYTES: u64 = 2 << 20;
