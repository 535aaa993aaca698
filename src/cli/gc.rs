//! `gadn gc`.

use std::process::ExitCode;

use super::exit::DAMAGE;
use super::output::{human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn gc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let store = repo.store_mut();
    let (lock, _) = store.lock()?;
    let report = match store.gc(&lock)? {
        Ok(r) => r,
        Err(refused) => {
            eprintln!("error: {refused}");
            return Ok(ExitCode::from(DAMAGE));
        }
    };
    if a.json {
        print_json(&report)?;
    } else if !ctx.quiet {
        println!(
            "removed {} unreachable record(s), kept {}; packs {} -> {}",
            report.removed,
            report.kept,
            human_bytes(report.bytes_before),
            human_bytes(report.bytes_after)
        );
    }
    Ok(ExitCode::SUCCESS)
}
