//! `gadn git get` / `drop` (placeholder; its owner replaces this file).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn git get`.
#[derive(Debug, clap::Args)]
pub struct GetArgs {}

/// Arguments of `gadn git drop`.
#[derive(Debug, clap::Args)]
pub struct DropArgs {}

pub fn run_get(_ctx: &Ctx, _a: GetArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub fn run_drop(_ctx: &Ctx, _a: DropArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
