//! `gadn status`.

use std::process::ExitCode;

use super::output::{change_line, interrupted_clone_hint, print_json, quoted};
use super::Ctx;

/// Arguments of `gadn status`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let st = repo.status()?;
    if a.json {
        print_json(&st)?;
        return Ok(ExitCode::SUCCESS);
    }
    match (&st.branch, &st.head) {
        (Some(b), _) => println!("On branch {b}"),
        (None, Some(h)) => println!("HEAD detached at {}", &h[..12]),
        (None, None) => {}
    }
    if st.head.is_none() {
        println!("No commits yet");
    }
    if let Some(hint) = interrupted_clone_hint(ctx, &repo) {
        println!("{hint}");
    }
    let show = |title: &str, changes: &[gadn::vcs::Change]| {
        if changes.is_empty() {
            return;
        }
        println!("{title}:");
        for c in changes {
            println!("  {}", change_line(c, "  "));
        }
    };
    if !st.conflicts.is_empty() {
        println!(
            "Unmerged paths (use `gadn resolve PATH --ours|--theirs|--both`, or `--merged` after editing a text file):"
        );
        for c in repo.merge_conflicts()? {
            println!("  {}", c.describe());
        }
    }
    show("Changes to be committed", &st.staged);
    show("Changes not staged for commit", &st.unstaged);
    if !st.untracked.is_empty() {
        println!("Untracked files:");
        for u in &st.untracked {
            println!("  {}", quoted(u));
        }
    }
    for (p, why) in &st.skipped {
        eprintln!("warning: skipping {}: {why}", quoted(p));
    }
    if st.is_clean() && st.untracked.is_empty() && st.conflicts.is_empty() {
        println!("nothing to commit, working tree clean");
    }
    Ok(ExitCode::SUCCESS)
}
