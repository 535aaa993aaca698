//! [`VcsError`]: what can go wrong in version-control operations.

use std::path::PathBuf;

use crate::store::{ObjectId, StoreError};

/// Returned by [`super::Repo`] operations.
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    /// No repository here or above.
    #[error("not a gadn repository (or any parent up to /): {path}\nhint: run `gadn init` to create one")]
    NotARepo {
        /// Where the search started.
        path: PathBuf,
    },
    /// A revision expression names nothing.
    #[error("unknown revision '{rev}'{hint}")]
    UnknownRevision {
        /// The expression.
        rev: String,
        /// Extra advice.
        hint: String,
    },
    /// A short id matches several objects.
    #[error("short id '{prefix}' is ambiguous; candidates:\n{}", candidates.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n"))]
    AmbiguousId {
        /// The prefix typed.
        prefix: String,
        /// Matching ids.
        candidates: Vec<ObjectId>,
    },
    /// A path is not in the given revision or index.
    #[error("path '{path}' did not match any file{place}")]
    PathNotFound {
        /// The path.
        path: String,
        /// Where it was looked up.
        place: String,
    },
    /// A path lies outside the working tree or cannot be stored.
    #[error("bad path '{path}': {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The operation would lose uncommitted changes.
    #[error("{operation} would overwrite local changes to:\n{}\nhint: commit them, or pass --force to discard them", paths.iter().take(20).map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    DirtyTree {
        /// What was attempted.
        operation: &'static str,
        /// The endangered paths.
        paths: Vec<String>,
    },
    /// Nothing to commit.
    #[error("nothing to commit (the index matches {head}); use `gadn add` first")]
    NothingToCommit {
        /// What the index was compared with.
        head: String,
    },
    /// A bad identity string.
    #[error("bad identity '{text}': expected \"Name <email>\"")]
    BadIdentity {
        /// The text given.
        text: String,
    },
    /// A path given to `add` is ignored.
    #[error("path '{path}' is ignored by .gadnignore; use --force to add it anyway")]
    Ignored {
        /// The path.
        path: String,
    },
    /// A ref update lost a race with another writer.
    #[error("{name} moved while this operation ran (now {actual}); nothing was changed, retry")]
    Raced {
        /// The ref.
        name: String,
        /// What it holds now.
        actual: String,
    },
    /// A working-tree file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The ignore file is malformed.
    #[error("{path}: {reason}")]
    IgnoreFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VcsError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VcsError {
        let path = path.into();
        move |source| VcsError::Io { path, source }
    }
}

impl From<crate::store::db::DbError> for VcsError {
    fn from(e: crate::store::db::DbError) -> Self {
        VcsError::Store(StoreError::Db(e))
    }
}

impl From<crate::store::object::ObjectError> for VcsError {
    fn from(e: crate::store::object::ObjectError) -> Self {
        VcsError::Store(StoreError::Object(e))
    }
}
