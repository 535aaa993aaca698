//! `gadn commit`.

use std::process::ExitCode;

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
    if let Err(e) = previews_after_commit(ctx, &mut repo, &id) {
        eprintln!("warning: previews of {}: {e:#}", id.short());
    }
    Ok(ExitCode::SUCCESS)
}

/// Makes the previews of the new commit's files as `preview.on-commit` says: in a
/// detached background process (the default; its messages go to
/// `.gadn/preview.log`), before returning (`wait`), or not at all (`off`).
fn previews_after_commit(
    ctx: &Ctx,
    repo: &mut gadn::vcs::Repo,
    id: &gadn::store::ObjectId,
) -> anyhow::Result<()> {
    use gadn::preview::settings::{OnCommit, Settings};
    let settings = Settings::load(repo.store())?;
    match settings.on_commit {
        OnCommit::Off => Ok(()),
        OnCommit::Wait => {
            let planner = gadn::preview::recorded::Planner::new(settings);
            let s =
                super::preview::preview_revision(repo, &planner, &id.to_hex(), false, ctx.quiet)?;
            for (path, why) in &s.failures {
                eprintln!("preview: {path}: {why}");
            }
            Ok(())
        }
        OnCommit::Background => {
            use std::os::unix::process::CommandExt;
            let log_path = repo.store().dir().join("preview.log");
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)?;
            std::process::Command::new(std::env::current_exe()?)
                .args(["--quiet", "preview", "--all", &id.to_hex()])
                .current_dir(repo.root())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(log)
                // Its own process group: a Ctrl-C meant for the next command in
                // this terminal does not reach it.
                .process_group(0)
                .spawn()?;
            Ok(())
        }
    }
}
