//! `gadn commit`.

use std::process::ExitCode;

use gadn::ops;
use gadn::vcs::{parse_ident, CommitOptions};

use super::Ctx;

/// Arguments of `gadn commit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Commit message.
    #[arg(short, long, required = true)]
    message: String,
    /// Author as "Name <email>" (default: the committer).
    #[arg(long)]
    author: Option<String>,
    /// Revision note KEY=VALUE (repeatable).
    #[arg(long = "note", value_name = "KEY=VALUE")]
    notes: Vec<String>,
    /// Stage modifications and deletions of tracked files first.
    #[arg(short, long)]
    all: bool,
    /// Record a commit even when nothing changed.
    #[arg(long)]
    allow_empty: bool,
    /// Commit even changes to files someone else has locked.
    #[arg(long)]
    force: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let mut notes = Vec::new();
    for n in &a.notes {
        let (k, v) = n
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| anyhow::anyhow!("bad --note '{n}': expected KEY=VALUE"))?;
        notes.push((k.to_string(), v.to_string()));
    }
    let opts = CommitOptions {
        message: a.message,
        author: a.author.as_deref().map(parse_ident).transpose()?,
        notes,
        allow_empty: a.allow_empty,
        all: a.all,
        force: a.force,
    };
    let id = repo.commit(&opts)?;
    if !ctx.quiet {
        let (branch, _) = repo.head()?;
        let at = branch
            .as_deref()
            .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string())
            .unwrap_or_else(|| "detached HEAD".into());
        println!(
            "[{at} {}] {}",
            id.short(),
            opts.message.lines().next().unwrap_or("")
        );
    }
    // The commit is made; previews are extra, so their problems are warnings.
    let opts = ops::AfterCommitOptions {
        background_program: std::env::current_exe().ok(),
        progress: super::net::bars(ctx.quiet),
    };
    match ops::preview_after_commit(&mut repo, &id, &opts) {
        Ok(ops::AfterCommitReport::Made(s)) => {
            for (path, why) in &s.failures {
                eprintln!("preview: {}: {why}", super::output::quoted(path));
            }
        }
        Ok(_) => {}
        Err(e) => eprintln!(
            "warning: previews of {}: {:#}",
            id.short(),
            anyhow::Error::from(e)
        ),
    }
    Ok(ExitCode::SUCCESS)
}
