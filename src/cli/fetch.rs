//! `gadn fetch [PEER]`: download a peer's branches, tags, members and locks.

use std::process::ExitCode;

use gadn::ops;

use super::net::{bars, identity, print_fetch, print_json_line};
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
    let root = ctx.repo()?.root().to_path_buf();
    let opts = ops::FetchOptions {
        identity: identity()?,
        peer: a.peer,
        progress: bars(ctx.quiet || a.json),
    };
    let report = ops::fetch(&root, &opts)?;
    if a.json {
        print_json_line(&report)?;
    } else {
        print_fetch(&report, ctx.quiet);
    }
    Ok(ExitCode::SUCCESS)
}
