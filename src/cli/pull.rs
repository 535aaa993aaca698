//! `gadn pull [PEER]`: fetch, then merge the peer's version of the current branch.

use std::process::ExitCode;

use super::net::{fetch_from, identity, remote_for, runtime};
use super::Ctx;

/// Arguments of `gadn pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The member to pull from (name or key); default as for `gadn fetch`.
    peer: Option<String>,
    /// Their branch to merge (default: the one named like the current branch).
    branch: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let me = identity()?;
    let remote = remote_for(repo.store(), &me, a.peer.as_deref())?;
    let dir = repo.store().dir().to_path_buf();
    let current = match repo.store().db().resolve_ref("HEAD")? {
        Some((name, _)) => name.strip_prefix("refs/heads/").map(str::to_string),
        None => None,
    };
    drop(repo);
    let report = runtime()?.block_on(fetch_from(ctx.quiet, false, &me, &remote, &dir))?;
    let branch = match (a.branch, current.clone()) {
        (Some(b), _) | (None, Some(b)) => b,
        (None, None) => anyhow::bail!("HEAD is detached: name the branch to merge"),
    };
    let theirs = format!("{}/{branch}", report.peer);
    let mut repo = ctx.repo()?;
    if repo
        .store()
        .db()
        .resolve_ref(&format!("refs/remotes/{theirs}"))?
        .is_none()
    {
        anyhow::bail!("{} has no branch {branch}", report.peer);
    }
    let unborn = repo
        .store()
        .db()
        .resolve_ref("HEAD")?
        .and_then(|(_, id)| id)
        .is_none();
    if unborn {
        // Nothing here yet: take theirs as the branch.
        let name = current.unwrap_or(branch);
        repo.create_branch(&name, Some(&theirs))?;
        repo.switch(&name, false, true)?;
        if !ctx.quiet {
            println!("Branch {name} set up from {theirs}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = repo.merge(&theirs)?;
    Ok(super::merge::report(ctx, &theirs, &outcome))
}
