//! `gadn fetch` (being written).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn fetch`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gadn fetch is not available yet")
}
