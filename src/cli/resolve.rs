//! `gadn resolve`.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::{to_repo_path, Resolution};

use super::output::quoted;
use super::Ctx;

/// Arguments of `gadn resolve`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["ours", "theirs", "both", "merged"])))]
pub struct Args {
    /// The conflicted path.
    path: PathBuf,
    /// Keep the current content.
    #[arg(long)]
    ours: bool,
    /// Take the other side's version.
    #[arg(long)]
    theirs: bool,
    /// Keep ours at PATH and write theirs beside it as STEM.theirs.EXT (their name,
    /// for a rename/rename).
    #[arg(long)]
    both: bool,
    /// Take the edited working file of a text conflict (no conflict markers may
    /// remain).
    #[arg(long)]
    merged: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let rel = to_repo_path(repo.root(), &ctx.cwd, &a.path)?;
    let how = if a.theirs {
        Resolution::Theirs
    } else if a.both {
        Resolution::Both
    } else if a.merged {
        Resolution::Merged
    } else {
        Resolution::Ours
    };
    let staged = repo.resolve_conflict(&rel, how)?;
    if !ctx.quiet {
        println!("Resolved {}", quoted(&rel));
        for s in staged {
            println!("  staged {}", quoted(&s));
        }
        let left = repo.merge_conflicts()?.len();
        if left == 0 {
            println!("All conflicts resolved; run `gadn commit` to record the merge.");
        } else {
            println!("{left} conflict(s) left.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
