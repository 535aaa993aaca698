//! `gadn status`.

use std::process::ExitCode;

use super::output::{human_bytes, print_json};
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
    let show = |title: &str, changes: &[gadn::vcs::Change]| {
        if changes.is_empty() {
            return;
        }
        println!("{title}:");
        for c in changes {
            let size = c
                .size
                .map(|s| format!(" ({})", human_bytes(s)))
                .unwrap_or_default();
            match &c.from {
                Some(from) => println!("  {}  {from} -> {}{size}", c.kind.letter(), c.path),
                None => println!("  {}  {}{size}", c.kind.letter(), c.path),
            }
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
            println!("  {u}");
        }
    }
    for (p, why) in &st.skipped {
        eprintln!("warning: skipping {p}: {why}");
    }
    if st.is_clean() && st.untracked.is_empty() && st.conflicts.is_empty() {
        println!("nothing to commit, working tree clean");
    }
    Ok(ExitCode::SUCCESS)
}
