//! What a source says it holds of a transfer's runs: everything (a full seed) or a
//! set of run indices (a partial seed), one bit per run of the plan.

use super::ids::RunIx;

/// A set of run indices, one bit per run of the plan: 10,000 runs cost 1.25 KiB.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSet {
    words: Vec<u64>,
}

impl RunSet {
    /// The empty set.
    pub fn new() -> RunSet {
        RunSet::default()
    }

    /// Adds `ix`.
    pub fn insert(&mut self, ix: RunIx) {
        let (w, b) = (ix.0 / 64, ix.0 % 64);
        if self.words.len() <= w {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << b;
    }

    /// Whether `ix` is in the set.
    pub fn contains(&self, ix: RunIx) -> bool {
        let (w, b) = (ix.0 / 64, ix.0 % 64);
        self.words.get(w).is_some_and(|word| word & (1 << b) != 0)
    }

    /// The members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = RunIx> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            (0..64)
                .filter(move |b| word & (1 << b) != 0)
                .map(move |b| RunIx(w * 64 + b))
        })
    }
}

impl FromIterator<RunIx> for RunSet {
    fn from_iter<I: IntoIterator<Item = RunIx>>(iter: I) -> RunSet {
        let mut s = RunSet::new();
        for ix in iter {
            s.insert(ix);
        }
        s
    }
}

/// The runs of the plan a source announced it holds. A claim is only a claim: the
/// picker ranks a source down when it then answers that it lacks a run
/// ([`super::picker::Failure::Lacks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Every run (a full seed: a peer whose refs reach the wanted files).
    Everything,
    /// Just these runs (a partial seed).
    Runs(RunSet),
}

impl Availability {
    /// Whether the source claims run `ix`.
    pub fn has(&self, ix: RunIx) -> bool {
        match self {
            Availability::Everything => true,
            Availability::Runs(s) => s.contains(ix),
        }
    }
}
