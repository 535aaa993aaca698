//! `gadn history`: every revision of one asset, following renames.

use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::{format_time, HistoryEntry};

use super::log::PersonJson;
use super::output::{human_bytes, print_json, print_table, quoted};
use super::Ctx;

/// Arguments of `gadn history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file (as it is named at REV).
    path: PathBuf,
    /// Start from this revision.
    #[arg(long, default_value = "HEAD")]
    rev: String,
    /// Show at most N revisions.
    #[arg(short = 'n', long = "max-count")]
    max_count: Option<usize>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct EntryJson<'a> {
    commit: String,
    author: PersonJson<'a>,
    committer: PersonJson<'a>,
    message: &'a str,
    notes: &'a [(String, String)],
    path: &'a str,
    change: gadn::vcs::ChangeKind,
    renamed_from: Option<&'a str>,
    file: String,
    size: u64,
}

impl<'a> From<&'a HistoryEntry> for EntryJson<'a> {
    fn from(e: &'a HistoryEntry) -> Self {
        EntryJson {
            commit: e.id.to_hex(),
            author: (&e.commit.author).into(),
            committer: (&e.commit.committer).into(),
            message: &e.commit.message,
            notes: &e.commit.notes,
            path: &e.path,
            change: e.change,
            renamed_from: e.renamed_from.as_deref(),
            file: e.file.to_hex(),
            size: e.size,
        }
    }
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let start = repo.resolve_commit_indexed(&a.rev)?;
    let path = gadn::vcs::to_repo_path(repo.root(), &ctx.cwd, &a.path)?;
    let entries = repo.history_limited(start, &path, a.max_count)?;
    if a.json {
        let list: Vec<EntryJson> = entries.iter().map(EntryJson::from).collect();
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let date = format_time(e.commit.author.time, e.commit.author.tz_offset_min);
            let shown_path = match &e.renamed_from {
                Some(from) => format!("{} (renamed from {})", quoted(&e.path), quoted(from)),
                None => quoted(&e.path).into_owned(),
            };
            let mut summary = e.commit.summary().to_string();
            if !e.commit.notes.is_empty() {
                let notes: Vec<String> = e
                    .commit
                    .notes
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                summary = format!("{summary} [{}]", notes.join(", "));
            }
            [
                e.id.short(),
                date.get(..16).unwrap_or(&date).to_string(),
                e.commit.author.name.clone(),
                human_bytes(e.size),
                shown_path,
                summary,
            ]
        })
        .collect();
    print_table(
        ["COMMIT", "DATE", "AUTHOR", "SIZE", "PATH", "MESSAGE"],
        &rows,
        &[3],
    );
    Ok(ExitCode::SUCCESS)
}
