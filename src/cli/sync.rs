//! `gadn sync` (being written).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn sync`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gadn sync is not available yet")
}
