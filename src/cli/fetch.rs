//! `gadn fetch [PEER]`: download a peer's branches, tags, members and locks.

use std::process::ExitCode;

use super::net::{fetch_from, identity, remote_for, runtime};
use super::Ctx;

/// Arguments of `gadn fetch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The member to fetch from (name or key); default: the one cloned from, or the
    /// only one with an address.
    peer: Option<String>,
    /// Print what moved as JSON (objects, chunks, bytes, bytes on the wire, refs).
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let me = identity()?;
    let remote = remote_for(repo.store(), &me, a.peer.as_deref())?;
    let dir = repo.store().dir().to_path_buf();
    drop(repo);
    runtime()?.block_on(fetch_from(ctx.quiet, a.json, &me, &remote, &dir))?;
    Ok(ExitCode::SUCCESS)
}
