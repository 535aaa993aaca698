//! `gadn mv`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::renamed;
use super::Ctx;

/// Arguments of `gadn mv`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tracked file or directory to move.
    src: PathBuf,
    /// The new path, or an existing directory to move into.
    dst: PathBuf,
    /// Replace an existing destination file.
    #[arg(short, long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let report = repo.mv(&ctx.cwd, &a.src, &a.dst, a.force)?;
    if !ctx.quiet {
        for (from, to) in &report.moved {
            let both = renamed(Some(from), to);
            if report.sidecars.iter().any(|(f, _)| f == from) {
                println!("renamed {both} (sidecar)");
            } else {
                println!("renamed {both}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
