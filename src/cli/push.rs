//! `gadn push [PEER] [BRANCH…] [--force]`: ask a peer to take branches; it fetches
//! them from here and moves its refs as fast-forwards only, unless forced.

use std::process::ExitCode;

use gadn::ops;

use super::net::identity;
use super::Ctx;

/// Arguments of `gadn push`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The member to push to (name or key); default as for `gadn fetch`.
    peer: Option<String>,
    /// Branches to push (default: the current one). `SRC:DST` pushes local SRC as
    /// their DST.
    branches: Vec<String>,
    /// Move their branch even if it is not a fast-forward (their commits not here
    /// are dropped from it).
    #[arg(short, long)]
    force: bool,
    /// Print what happened as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let root = ctx.repo()?.root().to_path_buf();
    let opts = ops::PushOptions {
        identity: identity()?,
        peer: a.peer,
        branches: a.branches,
        force: a.force,
    };
    let r = ops::push(&root, &opts)?;
    let code = super::exit::failed_if(r.any_refused());
    if a.json {
        super::net::print_json_line(&r)?;
        return Ok(code);
    }
    for c in &r.refs {
        match &c.refused {
            None if !ctx.quiet => println!("{}: {} updated", r.peer, c.name),
            None => {}
            Some(why) => eprintln!("{}: {} refused: {why}", r.peer, c.name),
        }
    }
    Ok(code)
}
