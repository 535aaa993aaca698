//! `gadn git …`: gadn inside a Git repository.

mod agent;
mod filter;
mod getdrop;
mod install;
mod merge_driver;

use std::process::ExitCode;

use gadn::ops::StoreOf;

use super::Ctx;

/// Arguments of `gadn git`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: GitCommand,
}

#[derive(Debug, clap::Subcommand)]
enum GitCommand {
    /// Route large files of this Git repository through gadn (filter, attributes, store).
    Install(install::InstallArgs),
    /// Undo `gadn git install` (the store is kept).
    Uninstall(install::UninstallArgs),
    /// Git's long-running filter process (run by Git, not by hand).
    FilterProcess(filter::Args),
    /// Materialise files that were left as pointers.
    Get(getdrop::GetArgs),
    /// Turn materialised files back into pointers.
    Drop(getdrop::DropArgs),
    /// git-lfs custom transfer agent (run by git-lfs, not by hand).
    LfsAgent(agent::Args),
    /// The `merge=gadn` driver (run by Git during a merge, not by hand).
    #[command(hide = true)]
    MergeDriver(merge_driver::Args),
    /// Verify the Git repository's gadn store (every chunk, object and reference).
    Fsck(super::fsck::Args),
    /// Storage statistics of the Git repository's gadn store.
    Stats(super::stats::Args),
    /// Drop from the Git repository's gadn store what no Git commit, reflog entry
    /// or index entry names (content stored in the last hour stays).
    Gc(super::gc::Args),
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    match a.command {
        GitCommand::Install(a) => install::run_install(ctx, a),
        GitCommand::Uninstall(a) => install::run_uninstall(ctx, a),
        GitCommand::FilterProcess(a) => filter::run(ctx, a),
        GitCommand::Get(a) => getdrop::run_get(ctx, a),
        GitCommand::Drop(a) => getdrop::run_drop(ctx, a),
        GitCommand::LfsAgent(a) => agent::run(ctx, a),
        GitCommand::MergeDriver(a) => merge_driver::run(a),
        GitCommand::Fsck(a) => super::fsck::run_on(ctx, StoreOf::Git(&ctx.cwd), a),
        GitCommand::Stats(a) => super::stats::run_on(StoreOf::Git(&ctx.cwd), a),
        GitCommand::Gc(a) => super::gc::run_git(ctx, a),
    }
}
