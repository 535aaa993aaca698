//! `gadn restore`.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::RestoreOptions;

use super::output::human_bytes;
use super::Ctx;

/// Arguments of `gadn restore`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to restore.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Take the content from this revision instead of the index.
    #[arg(short, long, value_name = "REV")]
    source: Option<String>,
    /// Reset the index entries to HEAD's (or --source's); working files stay.
    #[arg(short = 'S', long)]
    staged: bool,
    /// Restore the working files too (the default without --staged).
    #[arg(short = 'W', long)]
    worktree: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let paths = (a.paths.iter())
        .map(|p| gadn::vcs::to_index_path(repo.root(), &ctx.cwd, p))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = RestoreOptions {
        source: a.source,
        staged: a.staged,
        worktree: a.worktree,
    };
    let r = repo.restore(&paths, &opts)?;
    if !ctx.quiet {
        if a.staged {
            println!(
                "{} index entr{} reset, {} unstaged",
                r.staged.len(),
                if r.staged.len() == 1 { "y" } else { "ies" },
                r.unstaged.len()
            );
        }
        if !r.written.is_empty() || !a.staged {
            println!(
                "{} file(s) restored ({}){}",
                r.written.len(),
                human_bytes(r.bytes),
                match r.unchanged.len() {
                    0 => String::new(),
                    n => format!(", {n} already up to date"),
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
