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
    /// Print the commit made as JSON (`commit`, `branch`, `summary`, `previews`).
    #[arg(long)]
    json: bool,
}

/// What `commit --json` prints.
#[derive(serde::Serialize)]
struct CommitJson<'a> {
    /// The new commit's id.
    commit: gadn::ObjectId,
    /// The branch it is on; `null` on a detached HEAD.
    branch: Option<&'a str>,
    /// The message's first line.
    summary: &'a str,
    /// What became of the previews of its files (`null` if they could not start).
    previews: Option<&'a ops::AfterCommitReport>,
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
    let (branch, _) = repo.head()?;
    let branch = branch
        .as_deref()
        .map(|b| b.strip_prefix("refs/heads/").unwrap_or(b).to_string());
    let summary = opts.message.lines().next().unwrap_or("");
    if !ctx.quiet && !a.json {
        let at = branch.as_deref().unwrap_or("detached HEAD");
        println!("[{at} {}] {summary}", id.short());
    }
    // The commit is made; previews are extra, so their problems are warnings.
    let popts = ops::AfterCommitOptions {
        background_program: std::env::current_exe().ok(),
        progress: super::net::bars(ctx.quiet || a.json),
    };
    let previews = match ops::preview_after_commit(&mut repo, &id, &popts) {
        Ok(r) => {
            if let ops::AfterCommitReport::Made(s) = &r {
                for (path, why) in &s.failures {
                    eprintln!("preview: {path}: {why}");
                }
            }
            Some(r)
        }
        Err(e) => {
            eprintln!(
                "warning: previews of {}: {:#}",
                id.short(),
                anyhow::Error::from(e)
            );
            None
        }
    };
    if a.json {
        super::output::print_json(&CommitJson {
            commit: id,
            branch: branch.as_deref(),
            summary,
            previews: previews.as_ref(),
        })?;
    }
    Ok(ExitCode::SUCCESS)
}
