//! [`SwarmError`]: why a planned transfer stopped.

use super::stats::SourceStats;

/// Returned by [`super::transfer`].
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// Runs are missing and no source is left that has them (all dropped, or the
    /// ones left lack them). What landed stays.
    #[error("no source left for {runs} runs ({bytes} bytes) of chunks: {}", summary(.sources))]
    NoSourceLeft {
        /// Runs still missing.
        runs: u64,
        /// Their raw bytes.
        bytes: u64,
        /// What each source did, and why it was dropped.
        sources: Vec<SourceStats>,
    },
    /// The store's writer stopped (a disk error, or a record it refused).
    #[error("the writer stopped")]
    WriterStopped,
}

fn summary(sources: &[SourceStats]) -> String {
    let each: Vec<String> = sources
        .iter()
        .map(|s| match &s.dropped {
            Some(why) => format!("{} dropped ({why})", s.name),
            None => format!("{} lacks them", s.name),
        })
        .collect();
    if each.is_empty() {
        "there were no sources".into()
    } else {
        each.join(", ")
    }
}
