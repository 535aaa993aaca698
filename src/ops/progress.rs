//! [`Progress`]: how an operation reports its long phases.

/// What a phase counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes (a transfer).
    Bytes,
    /// Items (files, previews).
    Items,
}

/// Receives an operation's progress: each long phase is `start`, any number of
/// `advance`, then `finish`. Phases do not nest. Calls may come from any thread.
///
/// Every method has an empty default, so an implementation overrides only what it
/// shows.
pub trait Progress: Send + Sync {
    /// A phase begins: `what` names it ("receiving", "fetching from bob"), `total`
    /// is in `unit`s (0 while unknown).
    fn start(&self, what: &str, unit: Unit, total: u64) {
        let _ = (what, unit, total);
    }
    /// `done` of `total` so far (the total may grow as it becomes known).
    fn advance(&self, done: u64, total: u64) {
        let _ = (done, total);
    }
    /// The phase ended (done or failed).
    fn finish(&self) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
