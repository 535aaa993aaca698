//! [`GitError`]: what can go wrong in the Git integration. Owners of the `git`
//! modules add variants here (targeted insertions only).

use std::path::PathBuf;

/// Errors of the Git integration.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// `git` could not be started.
    #[error("cannot run git: {source} (is git installed and on PATH?)")]
    GitNotRunnable {
        /// The spawn error.
        #[source]
        source: std::io::Error,
    },
    /// The directory is not inside a Git repository.
    #[error("{} is not in a Git repository: {reason}", dir.display())]
    NotAGitRepository {
        /// Where we looked.
        dir: PathBuf,
        /// What git said.
        reason: String,
    },
    /// The gadn store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
