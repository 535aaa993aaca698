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
    /// Another source of the chunks, KEY@HOST:PORT (repeatable): the chunks are
    /// fetched from all sources at once, rarest first, each in proportion to its
    /// measured rate.
    #[arg(long = "peer", value_name = "KEY@HOST:PORT")]
    extra_peers: Vec<String>,
    /// Use at most N sources, the first one included (default 8); hand-named
    /// peers first, then the members learnt by peer exchange or configured.
    #[arg(long, value_name = "N")]
    max_sources: Option<usize>,
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
        peers: a.extra_peers,
        max_sources: a.max_sources,
    };
    let report = ops::fetch(&root, &opts)?;
    if a.json {
        print_json_line(&report)?;
    } else {
        print_fetch(&report, ctx.quiet);
    }
    Ok(ExitCode::SUCCESS)
}
