//! `gadn clone KEY@HOST:PORT DIR`: copy a repository from a serving peer, pinning
//! its key.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::ops;

use super::net::{bars, identity, print_fetch, print_json_line};
use super::Ctx;

/// Arguments of `gadn clone`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The serving peer: its public key (as `gadn id` prints it) @ HOST:PORT.
    source: String,
    /// The directory to create (or an interrupted clone of the same repository to
    /// resume).
    dir: PathBuf,
    /// Another source of the chunks, KEY@HOST:PORT (repeatable): the chunks are
    /// fetched from all sources at once, rarest first, each in proportion to its
    /// measured rate.
    #[arg(long = "peer", value_name = "KEY@HOST:PORT")]
    extra_peers: Vec<String>,
    /// Use at most N sources, the first one included (default 8); hand-named
    /// peers first, then the members learnt by peer exchange or configured.
    #[arg(long, value_name = "N")]
    max_sources: Option<usize>,
    /// Print what moved as JSON (as `gadn fetch --json`, with `dir` and `branch`),
    /// one line.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let opts = ops::CloneOptions {
        identity: identity()?,
        source: a.source,
        dir: ctx.cwd.join(&a.dir),
        progress: bars(ctx.quiet || a.json),
        peers: a.extra_peers,
        max_sources: a.max_sources,
    };
    let r = ops::clone(&opts)?;
    if a.json {
        print_json_line(&r)?;
    } else {
        print_fetch(&r.fetch, ctx.quiet);
    }
    match &r.branch {
        Some(b) if !ctx.quiet && !a.json => println!(
            "Cloned into {} (branch {b}, from {})",
            r.dir.display(),
            r.fetch.peer
        ),
        Some(_) => {}
        None => eprintln!(
            "warning: {} has no branches yet; nothing checked out",
            r.fetch.peer
        ),
    }
    Ok(ExitCode::SUCCESS)
}
