//! Placeholder; its owner replaces this file.

use std::process::ExitCode;

use super::Ctx;

/// Arguments.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
