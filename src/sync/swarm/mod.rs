//! The transfer planner ("swarm", `design.md` *Sync: planner / swarm*;
//! `store-format.md` § 15, *Fetch*, "Several sources" and "Cancel"): the chunk
//! phase of a fetch from many sources at once, rarest first, bytes in flight per
//! source following its measured rate, work moved off failed, stalled, lying or
//! corrupting sources, and an endgame.
//!
//! * [`picker`] — the pure, synchronous decision maker: which source fetches which
//!   run, when a request is stalled, what to cancel. Time is passed in, so its
//!   tests run on a simulated clock (`tests_picker.rs`). Its module docs give the
//!   rules and the reasons for them.
//! * [`source`] — the async [`Source`] interface: availability over the wanted
//!   runs, one run fetched as a stream of verified records, cancel. Boxed futures
//!   (no `async fn` in the trait) so sources of several kinds share one transfer.
//! * [`peer`] — [`PeerSource`], a QUIC peer over the existing `GetChunks` request
//!   (one run per request); cancel is `STOP_SENDING` on the answer's stream.
//! * [`driver`] — [`transfer`]: one task per request in flight, records into the
//!   store's writer, events back to one loop that feeds the picker.
//! * [`connect`] — the other sources of a fetch: peers named by hand (`--peer`),
//!   learnt by peer exchange or with a known address, capped by `--max-sources`.
//! * [`have`] — partial seeds: a store's held spans, and what an answer means for
//!   the plan's runs.
//! * [`availability`], [`stats`] — what a source claims; the counters `--json`
//!   reports.
//!
//! # Design choices
//!
//! * **Runs, not chunks.** The unit of work is a run `(file, first chunk, count)`
//!   of at most [`PIECE_BYTES`]: big enough that a 20 GiB file is ≈10,000 runs
//!   (not 330,000 chunk decisions), small enough that an endgame duplicate or a
//!   stalled request costs little.
//! * **Pull, with a budget.** A source gets a new run whenever its bytes in flight
//!   are under its budget (≈ 2 × rate × RTT, floored so a new source gets work at
//!   once); a fast source empties its budget sooner and so gets more runs. No
//!   global rate split has to be computed, and a source that slows down simply
//!   stops pulling.
//! * **Verification at the source, again at the writer.** A [`RecordStream`]
//!   hands on only records that are the expected chunk and hash to it, so bad data
//!   is attributed to the source that sent it (and it alone is banned); the writer
//!   re-hashes before storing, as for every record.
//! * **One source may be the main peer.** History, trees and file objects come
//!   from the first peer as before; only chunks are planned. A fetch with a single
//!   source keeps the unplanned path unchanged (and its errors: bad data ends it).
//! * **Availability as spans, behind a capability.** A peer offering `have` is
//!   asked which chunks of the wanted files it holds ([`have`]; spans per file,
//!   re-asked every [`peer::HAVE_REFRESH`]); a run is claimed only when wholly
//!   inside a span. Peers without it (and the first peer, whose refs reach the
//!   files) are full seeds. No version bump: a fetcher never sends `GetHave` to a
//!   peer that did not offer it. Any claim is checked by delivery (`Missing`).
//!
//! # Memory
//!
//! The picker keeps per run one state of ≈100 bytes plus one availability bit per
//! source and no chunk id. The driver keeps the plan's chunk ids, once (32 bytes a
//! chunk: ≈10 MiB for a 20 GiB file), to check each record against.

pub mod availability;
pub mod connect;
pub mod driver;
mod error;
pub mod have;
mod ids;
pub mod peer;
pub mod picker;
pub mod source;
pub mod stats;

#[cfg(test)]
mod tests_fetch;
#[cfg(test)]
mod tests_have;
#[cfg(test)]
mod tests_peer;
#[cfg(test)]
mod tests_picker;

pub use availability::{Availability, RunSet};
pub use connect::{capped, peer_sources, Unreachable};
pub use driver::{transfer, PlannedRun, SwarmError, SwarmReport, TICK};
pub use peer::PeerSource;
pub use picker::{
    spread_order, Assign, Cancel, Failure, Picker, PickerConfig, RunIx, SourceId, WantedRun,
    SPREAD_RUNS,
};
pub use source::{BoxFuture, RecordStream, Source, SourceError};
pub use stats::{PickerStats, SourceStats};

/// Largest run the fetch plans, in raw bytes (2 MiB): small enough that the
/// endgame and a stalled request cost little, large enough that a 20 GiB file is
/// ≈10,000 runs.
pub const PIECE_BYTES: u64 = 2 << 20;
