//! `gadn log`.

use std::process::ExitCode;

use gadn::vcs::{parse_date, Commit, LogFilter, Person};
use gadn::ObjectId;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start from this revision.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Show at most N commits.
    #[arg(short = 'n', long = "max-count")]
    max_count: Option<usize>,
    /// One line per commit.
    #[arg(long)]
    oneline: bool,
    /// Only commits that changed this file or anything under this directory.
    #[arg(long, value_name = "PATH")]
    path: Option<std::path::PathBuf>,
    /// Only commits whose author name or e-mail contains TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    author: Option<String>,
    /// Only commits made at or after DATE (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[+HH:MM],
    /// 'N days ago', 'N hours ago').
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only commits made at or before DATE (a bare day includes the whole day).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// Only commits whose message or notes contain TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    grep: Option<String>,
    /// Machine-readable output: one JSON array.
    #[arg(long)]
    json: bool,
    /// Machine-readable output as JSON Lines: one compact commit object per line,
    /// for consumers that read as they go (`jq -c`, `head`).
    #[arg(long, conflicts_with = "json")]
    json_lines: bool,
}

#[derive(serde::Serialize)]
pub struct PersonJson<'a> {
    name: &'a str,
    email: &'a str,
    time: i64,
    tz_offset_min: i16,
}

impl<'a> From<&'a Person> for PersonJson<'a> {
    fn from(p: &'a Person) -> Self {
        PersonJson {
            name: &p.name,
            email: &p.email,
            time: p.time,
            tz_offset_min: p.tz_offset_min,
        }
    }
}

/// JSON form of a commit, shared with `show`.
#[derive(serde::Serialize)]
pub struct CommitJson<'a> {
    id: String,
    tree: String,
    parents: Vec<String>,
    author: PersonJson<'a>,
    committer: PersonJson<'a>,
    message: &'a str,
    notes: &'a [(String, String)],
}

impl<'a> CommitJson<'a> {
    pub fn new(id: &ObjectId, c: &'a Commit) -> Self {
        CommitJson {
            id: id.to_hex(),
            tree: c.tree.to_hex(),
            parents: c.parents.iter().map(|p| p.to_hex()).collect(),
            author: (&c.author).into(),
            committer: (&c.committer).into(),
            message: &c.message,
            notes: &c.notes,
        }
    }
}

/// Prints a commit header the way `git log` does.
pub fn print_commit(id: &ObjectId, c: &Commit) {
    println!("commit {id}");
    if c.parents.len() > 1 {
        let ps: Vec<String> = c.parents.iter().map(|p| p.short()).collect();
        println!("Merge: {}", ps.join(" "));
    }
    println!("Author: {}", c.author.ident());
    println!(
        "Date:   {}",
        gadn::vcs::format_time(c.author.time, c.author.tz_offset_min)
    );
    println!();
    for line in c.message.lines() {
        println!("    {line}");
    }
    for (k, v) in &c.notes {
        println!("    {k}: {v}");
    }
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    if let Some(hint) = super::output::interrupted_clone_hint(ctx, &repo) {
        eprintln!("{hint}");
    }
    let start = repo.resolve_commit_indexed(&a.rev)?;
    let now = chrono::Utc::now().timestamp();
    let filter = LogFilter {
        path: match &a.path {
            Some(p) => Some(gadn::vcs::to_repo_path(repo.root(), &ctx.cwd, p)?),
            None => None,
        },
        author: a.author.clone(),
        since: match &a.since {
            Some(d) => Some(parse_date(d, now, false)?),
            None => None,
        },
        until: match &a.until {
            Some(d) => Some(parse_date(d, now, true)?),
            None => None,
        },
        grep: a.grep.clone(),
    };
    let entries = repo.log_filtered(start, &filter, a.max_count)?;
    if a.json {
        let list: Vec<CommitJson> = entries
            .iter()
            .map(|e| CommitJson::new(&e.id, &e.commit))
            .collect();
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.json_lines {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for e in &entries {
            serde_json::to_writer(&mut out, &CommitJson::new(&e.id, &e.commit))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    for (i, e) in entries.iter().enumerate() {
        if a.oneline {
            println!("{} {}", e.id.short(), e.commit.summary());
        } else {
            if i > 0 {
                println!();
            }
            print_commit(&e.id, &e.commit);
        }
    }
    Ok(ExitCode::SUCCESS)
}
