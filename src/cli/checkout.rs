//! `gadn checkout`.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::CheckoutOptions;

use super::output::{byte_bar, human_bytes};
use super::Ctx;

/// Arguments of `gadn checkout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Branch, tag or commit.
    rev: String,
    /// Restore only these paths (after `--`); HEAD does not move.
    #[arg(last = true)]
    paths: Vec<PathBuf>,
    /// Discard local changes that would be overwritten.
    #[arg(short, long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let paths = ctx.repo_paths(&repo, &a.paths)?;
    let bar = byte_bar(ctx.quiet, 0, "checking out");
    let opts = CheckoutOptions {
        force: a.force,
        paths,
    };
    let report = repo.checkout_with_progress(&a.rev, &opts, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if !ctx.quiet {
        println!(
            "{} file(s) written ({}), {} removed; HEAD is {}",
            report.written,
            human_bytes(report.bytes),
            report.removed,
            report.head
        );
    }
    Ok(ExitCode::SUCCESS)
}
