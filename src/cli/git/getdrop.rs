//! `gadn git get` / `gadn git drop`: materialise pointer files, or return
//! materialised files to pointers, leaving `git status` clean.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::git::getdrop::{self, GetDropReport};

use super::Ctx;

/// Arguments of `gadn git get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {
    /// Files or directories (relative to the current directory) to materialise.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Arguments of `gadn git drop`.
#[derive(Debug, clap::Args)]
pub struct DropArgs {
    /// Files or directories (relative to the current directory) to turn back into
    /// pointers; their content must be in the gadn store.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

pub fn run_get(ctx: &Ctx, a: GetArgs) -> anyhow::Result<ExitCode> {
    let r = getdrop::get(&ctx.cwd, &a.paths)?;
    Ok(finish(ctx, &r, "Materialised"))
}

pub fn run_drop(ctx: &Ctx, a: DropArgs) -> anyhow::Result<ExitCode> {
    let r = getdrop::drop(&ctx.cwd, &a.paths)?;
    Ok(finish(ctx, &r, "Dropped"))
}

/// Prints the summary and every failure; exit 1 when any file failed.
fn finish(ctx: &Ctx, r: &GetDropReport, verb: &str) -> ExitCode {
    for e in &r.failed {
        eprintln!("error: {e}");
    }
    if !ctx.quiet {
        println!(
            "{verb} {} file(s) ({} bytes); {} already so",
            r.changed.len(),
            r.bytes,
            r.unchanged.len()
        );
    }
    if r.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{} file(s) failed and were left as they were",
            r.failed.len()
        );
        ExitCode::FAILURE
    }
}
