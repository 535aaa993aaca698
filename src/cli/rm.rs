//! `gadn rm`.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::RmOptions;

use super::output::quoted;
use super::Ctx;

/// Arguments of `gadn rm`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files (or directories, with -r) to remove.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Only remove from the index; keep the working files.
    #[arg(long)]
    cached: bool,
    /// Remove even files whose changes are not committed.
    #[arg(short, long)]
    force: bool,
    /// Remove directories and everything tracked below them.
    #[arg(short)]
    r: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let opts = RmOptions {
        cached: a.cached,
        force: a.force,
        recursive: a.r,
    };
    let report = repo.rm(&ctx.cwd, &a.paths, opts)?;
    if !ctx.quiet {
        for p in &report.removed {
            match report.sidecars.iter().find(|(s, _)| s == p) {
                Some((_, asset)) => {
                    println!("rm '{}' (sidecar of {})", quoted(p), quoted(asset))
                }
                None => println!("rm '{}'", quoted(p)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
