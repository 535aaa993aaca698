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
    /// The partial-smudge rules file has a bad line.
    #[error("{}:{line}: {reason}", path.display())]
    BadRules {
        /// The rules file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The git-lfs transfer agent received something the protocol does not allow.
    #[error("git-lfs transfer protocol: {reason}")]
    AgentProtocol {
        /// What was wrong.
        reason: String,
    },
    /// `gadn git get` / `drop` could not process a path.
    #[error("{}: {reason}", path.display())]
    GetDrop {
        /// The working-tree path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A `git` command failed.
    #[error("git {args} failed: {stderr}")]
    GitFailed {
        /// The arguments given to git.
        args: String,
        /// What git said.
        stderr: String,
    },
    /// Git's long-running filter protocol was broken (bad framing, bad handshake).
    #[error("git filter protocol: {reason}")]
    FilterProtocol {
        /// What was wrong.
        reason: String,
    },
    /// A pattern given to `gadn git install` cannot be a `.gitattributes` pattern.
    #[error("pattern {pattern:?} {reason}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why it is refused.
        reason: String,
    },
    /// The repository has no gadn store yet.
    #[error("no gadn store at {} (run `gadn git install` in this repository)", store.display())]
    NotInstalled {
        /// Where the store should be.
        store: PathBuf,
    },
    /// The gadn store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
