//! gadn inside Git: the long-running filter process (`filter.gadn.process`),
//! Git LFS-compatible pointer files, partial smudge, and a git-lfs custom transfer
//! agent. The gadn store of a Git repository lives in `<git-dir>/gadn`.
//!
//! * [`pktline`] — Git's pkt-line framing.
//! * [`pointer`](mod@pointer) — LFS pointer files (spec v1) with gadn's extension keys.
//! * [`filter`] — the long-running filter protocol (clean, smudge, delay).
//! * [`install`] — `gadn git install` / `uninstall`.
//! * [`rules`] — which files this machine wants materialised (partial smudge).
//! * [`agent`] — the git-lfs custom transfer agent.
//! * [`content`] — the one way Git content enters the store (SHA-256 tee, ingest, record).
//! * [`sources`] — other stores on this machine that missing content is copied from.

pub mod agent;
pub mod content;
mod error;
pub mod filter;
pub mod getdrop;
pub mod history;
pub mod install;
pub mod merge_driver;
pub mod pktline;
pub mod pointer;
pub mod rules;
pub mod sources;

pub use error::GitError;

use std::path::{Path, PathBuf};

/// Name of the gadn store directory inside a Git directory.
pub const STORE_DIR_NAME: &str = "gadn";

/// The gadn store of the Git repository whose Git directory is `git_dir`.
pub fn store_dir(git_dir: &Path) -> PathBuf {
    git_dir.join(STORE_DIR_NAME)
}

/// Runs the real `git args…` in `dir`; returns its stdout, or
/// [`GitError::GitFailed`] with what git said.
pub(crate) fn run_git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    if !out.status.success() {
        return Err(GitError::GitFailed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// The Git directory of the repository containing `cwd`, asking the real `git`
/// (so worktrees, `GIT_DIR` and submodules resolve as Git resolves them).
pub fn git_dir(cwd: &Path) -> Result<PathBuf, GitError> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--absolute-git-dir"])
        .current_dir(cwd)
        .output()
        .map_err(|e| GitError::GitNotRunnable { source: e })?;
    if !out.status.success() {
        return Err(GitError::NotAGitRepository {
            dir: cwd.to_path_buf(),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(PathBuf::from(text.trim_end_matches(['\n', '\r'])))
}
