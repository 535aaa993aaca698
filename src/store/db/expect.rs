//! What a compare-and-swap ref update requires, and the symbolic-ref depth limit:
//! ref vocabulary that both the refs module and [`DbError`](super::DbError) name, kept
//! below both so neither imports the other.

use std::fmt;

use crate::store::ObjectId;

/// Most symbolic refs followed in a row before resolution gives up with
/// [`DbError::SymrefLoop`] (git's limit).
pub const MAX_SYMREF_DEPTH: usize = 5;

/// The value a compare-and-swap update requires a ref to hold before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Anything, including nothing: no check.
    Any,
    /// The ref must not exist (or, through a symbolic ref, be unborn).
    Absent,
    /// The ref must hold exactly this id.
    Value(ObjectId),
}

impl Expect {
    /// True if a ref currently holding `current` (`None`: absent) satisfies this.
    pub fn matches(&self, current: Option<ObjectId>) -> bool {
        match self {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Value(v) => current == Some(*v),
        }
    }
}

impl From<Option<ObjectId>> for Expect {
    /// `None` → [`Expect::Absent`], `Some(id)` → [`Expect::Value`].
    fn from(v: Option<ObjectId>) -> Self {
        v.map_or(Expect::Absent, Expect::Value)
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Any => f.write_str("any value"),
            Expect::Absent => f.write_str("no ref"),
            Expect::Value(id) => write!(f, "{id}"),
        }
    }
}
