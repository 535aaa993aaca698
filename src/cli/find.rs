//! `gadn find`: assets of a revision by type, class, size, author, tag, date or path.

use std::process::ExitCode;

use gadn::vcs::{format_time, parse_date, parse_size, FindFilter};

use super::output::{human_bytes, print_json, print_table, quoted};
use super::Ctx;

/// Arguments of `gadn find`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Look in this revision's tree.
    #[arg(default_value = "HEAD")]
    rev: String,
    /// Only assets of this type (png, wav, glb, text…; any case).
    #[arg(long = "type", value_name = "T")]
    kind: Option<String>,
    /// Only assets of this class (image, audio, model, text, archive, document,
    /// executable, other).
    #[arg(long, value_name = "C")]
    class: Option<String>,
    /// Only assets of at least SIZE (10M, 1.5GiB, 200K; units are binary).
    #[arg(long, value_name = "SIZE")]
    min_size: Option<String>,
    /// Only assets of at most SIZE.
    #[arg(long, value_name = "SIZE")]
    max_size: Option<String>,
    /// Only assets whose author (metadata `author`, else the last changing commit's
    /// author name or e-mail) contains TEXT, any case.
    #[arg(long, value_name = "TEXT")]
    author: Option<String>,
    /// Only assets whose metadata carries this tag (any case).
    #[arg(long, value_name = "T")]
    tag: Option<String>,
    /// Only assets last changed at or after DATE (as for `gadn log --since`).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only paths matching this glob (`*` also crosses `/`, e.g. 'art/**/*.png').
    #[arg(long, value_name = "G")]
    path_glob: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let now = chrono::Utc::now().timestamp();
    // Every argument is checked before any work, so a typo costs nothing.
    let size = |s: &Option<String>| s.as_deref().map(parse_size).transpose();
    let filter = FindFilter {
        kind: a.kind,
        class: a.class,
        min_size: size(&a.min_size)?,
        max_size: size(&a.max_size)?,
        author: a.author,
        tag: a.tag,
        since: a
            .since
            .as_deref()
            .map(|d| parse_date(d, now, false))
            .transpose()?,
        path_glob: a.path_glob,
    };
    let start = repo.resolve_commit(&a.rev)?;
    let found = repo.find(start, &filter)?;
    if a.json {
        print_json(&found)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = found
        .iter()
        .map(|f| {
            let date = format_time(f.modified, f.modified_tz_offset_min);
            [
                quoted(&f.path).into_owned(),
                human_bytes(f.size),
                f.kind.clone(),
                f.author.clone(),
                date.get(..16).unwrap_or(&date).to_string(),
                f.tags.join(","),
            ]
        })
        .collect();
    print_table(
        ["PATH", "SIZE", "TYPE", "AUTHOR", "MODIFIED", "TAGS"],
        &rows,
        &[1],
    );
    Ok(ExitCode::SUCCESS)
}
