//! Counters of a planned transfer, per source and in all, as `fetch --json` and
//! `clone --json` report them.

use serde::Serialize;

/// What one source did in a transfer. Bytes are raw chunk bytes; rates are bytes
/// per second.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceStats {
    /// The source's name (a peer's name or address, a mirror's URL).
    pub name: String,
    /// Raw bytes of the records it delivered (cancelled requests included).
    pub bytes: u64,
    /// Records it delivered.
    pub records: u64,
    /// Runs it completed.
    pub runs: u64,
    /// Runs of the plan it claimed to hold, at its last announcement.
    pub announced: u64,
    /// Bytes over the time it had work in flight, in bytes per second.
    pub mean_rate: u64,
    /// Its last measured rate (EWMA), in bytes per second; 0 if never measured.
    pub rate: u64,
    /// Its measured delay to first byte (EWMA), in milliseconds.
    pub rtt_ms: u64,
    /// Requests that failed or stalled.
    pub errors: u32,
    /// Requests that stalled (no byte for the stall bound), among `errors`.
    pub stalls: u32,
    /// Runs it claimed and then said it lacked.
    pub lies: u32,
    /// Times it was snubbed for falling far behind the others.
    pub snubs: u32,
    /// Its requests cancelled because another copy won (the endgame).
    pub cancelled: u64,
    /// Whether it sent a record that did not match its id.
    pub bad_data: bool,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Why it was dropped from the transfer, if it was.
    pub dropped: Option<String>,
}

impl SourceStats {
    /// Zero counters for the source `name`.
    pub fn named(name: &str) -> SourceStats {
        SourceStats {
            name: name.to_string(),
            ..SourceStats::default()
        }
    }
}

/// Counters of the whole transfer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PickerStats {
    /// Runs planned.
    pub runs: u64,
    /// Raw bytes planned.
    pub bytes: u64,
    /// Runs landed.
    pub runs_done: u64,
    /// Requests assigned, duplicates and retries included.
    pub assigned: u64,
    /// Of those, endgame duplicates of a run in flight elsewhere.
    pub endgame_duplicates: u64,
    /// Requests whose run went back to the pool (failed, stalled, source dropped).
    pub requeued: u64,
    /// Requests cancelled because another copy completed first.
    pub cancelled: u64,
}
