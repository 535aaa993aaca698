//! `gadn git filter-process`: Git's long-running filter (run by Git through
//! `filter.gadn.process`, on stdin/stdout).

use std::process::ExitCode;

use gadn::git::filter::{serve, FilterConfig};

use super::Ctx;

/// Arguments of `gadn git filter-process`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    let git_dir = gadn::git::git_dir(&ctx.cwd)?;
    serve(
        FilterConfig::from_env(git_dir),
        std::io::stdin(),
        std::io::stdout(),
    )?;
    Ok(ExitCode::SUCCESS)
}
