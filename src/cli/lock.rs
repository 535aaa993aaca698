//! `gadn lock`, `gadn unlock`, `gadn locks`: advisory locks on binary assets.

use std::path::PathBuf;
use std::process::ExitCode;

use super::net::print_json_line;
use super::output::{print_json, quoted};
use super::Ctx;

/// A per-path report, as `lock --json` and `unlock --json` print it (one line each,
/// so the paths done before a failure are still reported).
#[derive(serde::Serialize)]
struct PathReport<'a, R: serde::Serialize> {
    path: &'a str,
    #[serde(flatten)]
    report: &'a R,
}

/// Arguments of `gadn lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {
    /// Files to lock (tracked in HEAD, at their latest revision).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Print one JSON object per path locked (`path`, `record`, `already_mine`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `gadn unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// Files to unlock.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Break someone else's lock (or clear a damaged lock record).
    #[arg(long)]
    force: bool,
    /// Print one JSON object per path unlocked (`path`, `broken_from`, `cleared`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `gadn locks`.
#[derive(Debug, clap::Args)]
pub struct LocksArgs {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// Locks every path; stops at the first that cannot be locked (the ones before it
/// stay locked, and are reported).
pub fn run_lock(ctx: &Ctx, a: LockArgs) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let paths = ctx.repo_paths(&repo, &a.paths)?;
    for p in &paths {
        let r = repo.lock(p)?;
        if a.json {
            print_json_line(&PathReport {
                path: p,
                report: &r,
            })?;
        } else if !ctx.quiet {
            if r.already_mine {
                println!("{}: already locked by you", quoted(p));
            } else {
                println!("Locked {} ({})", quoted(p), r.record.short());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Unlocks every path; stops at the first that cannot be unlocked.
pub fn run_unlock(ctx: &Ctx, a: UnlockArgs) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let paths = ctx.repo_paths(&repo, &a.paths)?;
    for p in &paths {
        let r = repo.unlock(p, a.force)?;
        if a.json {
            print_json_line(&PathReport {
                path: p,
                report: &r,
            })?;
            continue;
        }
        if ctx.quiet {
            continue;
        }
        let p = quoted(p);
        match (&r.broken_from, &r.cleared) {
            (_, Some(why)) => println!("Cleared the damaged lock record of {p} ({why})"),
            (Some(owner), None) => println!("Unlocked {p} (broke the lock of {owner})"),
            (None, None) => println!("Unlocked {p}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists held locks.
pub fn run_locks(ctx: &Ctx, a: LocksArgs) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let locks = repo.locks()?;
    if a.json {
        print_json(&locks)?;
        return Ok(ExitCode::SUCCESS);
    }
    for l in &locks {
        let mine = if l.mine { " (you)" } else { "" };
        // The owner is the member's name when the member list knows the key.
        let email = if l.email.is_empty() {
            String::new()
        } else {
            format!(" <{}>", l.email)
        };
        println!(
            "{}  {}{email}{mine}  {}  {}  {}",
            quoted(&l.path),
            l.owner,
            l.branch,
            &l.revision[..12.min(l.revision.len())],
            l.since
        );
    }
    Ok(ExitCode::SUCCESS)
}
