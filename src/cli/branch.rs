//! `gadn branch`.

use std::process::ExitCode;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn branch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Branch to create (with -d/-D: to delete; with -m: the old name).
    name: Option<String>,
    /// Where the new branch starts (default HEAD); with -m: the new name.
    start: Option<String>,
    /// Delete the branch (refused if its commits are not merged elsewhere).
    #[arg(short = 'd', long, requires = "name", conflicts_with_all = ["force_delete", "rename", "start"])]
    delete: bool,
    /// Delete the branch even if its commits are not merged elsewhere.
    #[arg(short = 'D', requires = "name", conflicts_with_all = ["rename", "start"])]
    force_delete: bool,
    /// Rename branch NAME to START (HEAD follows if it is the current branch).
    #[arg(short = 'm', long = "move", requires_all = ["name", "start"])]
    rename: bool,
    /// Machine-readable list.
    #[arg(long, conflicts_with_all = ["name", "delete", "force_delete", "rename"])]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    match (a.name, a.start) {
        (Some(name), _) if a.delete || a.force_delete => {
            let was = repo.delete_branch(&name, a.force_delete)?;
            if !ctx.quiet {
                println!("Deleted branch {name} (was {})", was.short());
            }
        }
        (Some(old), Some(new)) if a.rename => {
            repo.rename_branch(&old, &new)?;
            if !ctx.quiet {
                println!("Renamed branch {old} to {new}");
            }
        }
        (Some(name), start) => {
            let at = repo.create_branch(&name, start.as_deref())?;
            if !ctx.quiet {
                println!("Created branch {name} at {}", at.short());
            }
        }
        (None, _) => {
            let branches = repo.branches()?;
            if a.json {
                print_json(&branches)?;
            } else {
                for b in &branches {
                    let mark = if b.current { '*' } else { ' ' };
                    println!("{mark} {}", b.name);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
