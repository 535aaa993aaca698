//! `gadn git install` / `uninstall` (placeholder; its owner replaces this file).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn git install`.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {}

/// Arguments of `gadn git uninstall`.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {}

pub fn run_install(_ctx: &Ctx, _a: InstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub fn run_uninstall(_ctx: &Ctx, _a: UninstallArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
