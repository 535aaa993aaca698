//! `gadn clone` (being written).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn clone`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gadn clone is not available yet")
}
