//! `gadn pull [PEER]`: fetch, then merge the peer's version of the current branch.

use std::process::ExitCode;

use gadn::ops;

use super::net::{bars, identity, print_fetch, print_json_line};
use super::Ctx;

/// Arguments of `gadn pull`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The member to pull from (name or key); default as for `gadn fetch`.
    peer: Option<String>,
    /// Their branch to merge (default: the one named like the current branch).
    branch: Option<String>,
    /// Another source of the chunks, KEY@HOST:PORT (repeatable), as for `gadn
    /// fetch --peer`.
    #[arg(long = "peer", value_name = "KEY@HOST:PORT")]
    extra_peers: Vec<String>,
    /// Use at most N sources, the first one included (default 8), as for `gadn
    /// fetch`.
    #[arg(long, value_name = "N")]
    max_sources: Option<usize>,
    /// Print what happened (the fetch, and the merge or the branch set up) as one
    /// JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let root = ctx.repo()?.root().to_path_buf();
    let opts = ops::PullOptions {
        fetch: ops::FetchOptions {
            identity: identity()?,
            peer: a.peer,
            progress: bars(ctx.quiet || a.json),
            peers: a.extra_peers,
            max_sources: a.max_sources,
        },
        branch: a.branch,
    };
    let r = ops::pull(&root, &opts)?;
    if a.json {
        print_json_line(&r)?;
        return Ok(match &r.merge {
            Some(gadn::vcs::MergeOutcome::Conflicts { .. }) => {
                ExitCode::from(super::exit::CONFLICTS)
            }
            _ => ExitCode::SUCCESS,
        });
    }
    print_fetch(&r.fetch, ctx.quiet);
    if let Some(name) = &r.set_up {
        if !ctx.quiet {
            println!("Branch {name} set up from {}", r.theirs);
        }
        return Ok(ExitCode::SUCCESS);
    }
    Ok(match &r.merge {
        Some(outcome) => super::merge::report(ctx, &r.theirs, outcome),
        None => ExitCode::SUCCESS,
    })
}
