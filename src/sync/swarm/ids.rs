//! The two indices of a planned transfer.

use serde::Serialize;

/// Index of a run in the plan: its position in the list given to
/// [`super::Picker::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RunIx(pub usize);

/// A source of the transfer, numbered in the order added
/// ([`super::Picker::add_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SourceId(pub usize);
