//! `gadn add`.

use std::path::PathBuf;
use std::process::ExitCode;

use super::output::{byte_bar, human_bytes};
use super::Ctx;

/// Arguments of `gadn add`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to stage (`.` for everything).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Add files even if `.gadnignore` excludes them.
    #[arg(short, long)]
    force: bool,
    /// Print what was staged as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let bar = byte_bar(ctx.quiet || a.json, 0, "adding");
    let report = repo.add(&ctx.cwd, &a.paths, a.force, &|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    if a.json {
        super::output::print_json(&report)?;
    } else if !ctx.quiet {
        println!(
            "staged {} file(s), removed {}; read {}, {} new after dedup",
            report.added.len(),
            report.removed.len(),
            human_bytes(report.bytes_read),
            human_bytes(report.new_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}
