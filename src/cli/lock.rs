//! `gadn lock`, `gadn unlock`, `gadn locks` (placeholder; its owner replaces this file).

use std::process::ExitCode;

use super::Ctx;

/// Arguments of `gadn lock`.
#[derive(Debug, clap::Args)]
pub struct LockArgs {}

/// Arguments of `gadn unlock`.
#[derive(Debug, clap::Args)]
pub struct UnlockArgs {}

/// Arguments of `gadn locks`.
#[derive(Debug, clap::Args)]
pub struct LocksArgs {}

pub fn run_lock(_ctx: &Ctx, _a: LockArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub fn run_unlock(_ctx: &Ctx, _a: UnlockArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}

pub fn run_locks(_ctx: &Ctx, _a: LocksArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not implemented yet")
}
