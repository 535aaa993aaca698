//! Exit statuses, one per outcome a script may want to tell apart (as restic and
//! git do). The README's table under "Inside a Git repository" repeats this one and
//! must match it; `tests/exit_codes.rs` pins each status.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the command failed (any error not listed below); `diff --exit-code`: differences |
//! | 2 | usage: bad arguments (clap's own status) |
//! | 3 | damage found: `fsck` reports problems (`fsck --repair`: some remain), `gc` refuses to run on a damaged store, a fetch stops on a damaged record here |
//! | 4 | a merge stopped on conflicts (`merge`, `pull`) |
//! | 10 | not a repository |
//! | 11 | a lock is held: the store's write lock by another process, or a file's advisory lock by another member |
//! | 130 | interrupted (SIGINT; the default signal disposition gives the shell 128 + 2) |

use std::process::ExitCode;

/// The command failed.
pub const FAILED: u8 = 1;
/// Damage found.
pub const DAMAGE: u8 = 3;
/// A merge stopped on conflicts.
pub const CONFLICTS: u8 = 4;
/// Not a repository.
pub const NOT_A_REPOSITORY: u8 = 10;
/// A lock is held by someone else.
pub const LOCK_HELD: u8 = 11;

/// [`FAILED`] when `failed`, else success: for commands that report a partial
/// failure in their output (a refused ref, no peer reached).
pub fn failed_if(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(FAILED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The status for an error a command returned.
pub fn for_error(e: &anyhow::Error) -> ExitCode {
    let root: &(dyn std::error::Error + 'static) = e.as_ref();
    ExitCode::from(match gadn::ops::classify(root) {
        gadn::ops::Failure::NotARepository => NOT_A_REPOSITORY,
        gadn::ops::Failure::LockHeld => LOCK_HELD,
        gadn::ops::Failure::Damage => DAMAGE,
        gadn::ops::Failure::Other => FAILED,
    })
}
