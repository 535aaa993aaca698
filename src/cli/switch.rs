//! `gadn switch`.

use std::process::ExitCode;

use super::output::{byte_bar, human_bytes};
use super::Ctx;

/// Arguments of `gadn switch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The branch to switch to.
    name: String,
    /// Create the branch at HEAD first (local changes are kept).
    #[arg(short = 'c', long)]
    create: bool,
    /// Discard local changes that would be overwritten.
    #[arg(short, long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let bar = byte_bar(ctx.quiet, 0, "switching");
    let report = repo.switch_with_progress(&a.name, a.create, a.force, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if !ctx.quiet {
        if a.create {
            println!("Switched to a new branch '{}'", report.head);
        } else {
            println!(
                "Switched to branch '{}': {} file(s) written ({}), {} removed",
                report.head,
                report.written,
                human_bytes(report.bytes),
                report.removed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
