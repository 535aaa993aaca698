//! `gadn diff`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use gadn::vcs::TAGS;
use gadn::vcs::{ChangeKind, DiffOptions, FileDiff, MetaChange};

use super::output::{human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// None: working tree vs index; one: working tree vs REV; two: REV vs REV.
    #[arg(num_args = 0..=2, value_name = "REV")]
    revs: Vec<String>,
    /// Only these paths (after `--`).
    #[arg(last = true)]
    paths: Vec<PathBuf>,
    /// Per-file summary of changed lines or sizes.
    #[arg(long)]
    stat: bool,
    /// Machine-readable output (line diffs included).
    #[arg(long)]
    json: bool,
    /// Exit with status 1 when there are differences, 0 when there are none (as
    /// `git diff --exit-code`).
    #[arg(long)]
    exit_code: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let paths = ctx.repo_paths(&repo, &a.paths)?;
    let opts = DiffOptions {
        revs: a.revs,
        paths,
        text: !a.stat || a.json,
    };
    let report = repo.diff(&opts)?;
    let code = if a.exit_code && !report.files.is_empty() {
        ExitCode::from(super::exit::FAILED)
    } else {
        ExitCode::SUCCESS
    };
    if a.json {
        print_json(&report)?;
        return Ok(code);
    }
    let mut out = std::io::stdout().lock();
    if a.stat {
        let width = report
            .files
            .iter()
            .map(|f| label(f).len())
            .max()
            .unwrap_or(0);
        let (mut ins, mut del) = (0, 0);
        for f in &report.files {
            ins += f.insertions;
            del += f.deletions;
            let meta_only = f.kind == ChangeKind::Modified
                && !f.meta.is_empty()
                && !f.binary
                && f.insertions + f.deletions == 0;
            let mut what = if meta_only {
                "metadata only".to_string()
            } else if f.kind == ChangeKind::Renamed {
                "renamed, same content".to_string()
            } else if f.binary {
                format!("Bin {} → {}", size(f.old_size), size(f.new_size))
            } else {
                format!("+{} -{}", f.insertions, f.deletions)
            };
            if !f.meta.is_empty() {
                what.push_str(&format!(", {} metadata change(s)", f.meta.len()));
            }
            writeln!(out, " {:width$} | {what}", label(f))?;
        }
        writeln!(
            out,
            " {} file(s) changed, {ins} insertion(s)(+), {del} deletion(s)(-)",
            report.files.len()
        )?;
        return Ok(code);
    }
    for f in &report.files {
        let sizes = match f.kind {
            ChangeKind::Added => format!("new file, {}", size(f.new_size)),
            ChangeKind::Deleted => format!("deleted, {}", size(f.old_size)),
            ChangeKind::Renamed => format!("{}, same content", size(f.new_size)),
            _ => format!("{} → {}", size(f.old_size), size(f.new_size)),
        };
        writeln!(out, "{} {} ({sizes})", f.kind.letter(), label(f))?;
        for m in &f.meta {
            writeln!(out, "{}", meta_line(m))?;
        }
        if f.binary {
            writeln!(
                out,
                "Binary files differ ({} → {})",
                size(f.old_size),
                size(f.new_size)
            )?;
        } else if let Some(p) = &f.patch {
            out.write_all(p.as_bytes())?;
            if !p.ends_with('\n') {
                writeln!(out)?;
            }
        }
    }
    Ok(code)
}

/// `  meta notes: "v1" -> "v2"`, `  meta +author: "Ana"`, `  meta -tags: wip`.
fn meta_line(m: &MetaChange) -> String {
    let q = |v: &str| format!("{v:?}");
    match (&m.old, &m.new) {
        (Some(o), Some(n)) => format!("  meta {}: {} -> {}", m.key, q(o), q(n)),
        (None, Some(n)) if m.key == TAGS => format!("  meta +{}: {n}", m.key),
        (Some(o), None) if m.key == TAGS => format!("  meta -{}: {o}", m.key),
        (None, Some(n)) => format!("  meta +{}: {}", m.key, q(n)),
        (Some(o), None) => format!("  meta -{}: {}", m.key, q(o)),
        (None, None) => format!("  meta {}", m.key),
    }
}

fn label(f: &FileDiff) -> String {
    match &f.from {
        Some(from) => format!("{from} -> {}", f.path),
        None => f.path.clone(),
    }
}

fn size(s: Option<u64>) -> String {
    s.map(human_bytes).unwrap_or_else(|| "nothing".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mc(key: &str, old: Option<&str>, new: Option<&str>) -> MetaChange {
        MetaChange {
            key: key.into(),
            old: old.map(String::from),
            new: new.map(String::from),
        }
    }

    #[test]
    fn meta_lines() {
        assert_eq!(
            meta_line(&mc("notes", Some("v1"), Some("v2"))),
            "  meta notes: \"v1\" -> \"v2\""
        );
        assert_eq!(
            meta_line(&mc("author", None, Some("Ana"))),
            "  meta +author: \"Ana\""
        );
        assert_eq!(
            meta_line(&mc("author", Some("Ana"), None)),
            "  meta -author: \"Ana\""
        );
        assert_eq!(
            meta_line(&mc("tags", None, Some("hero"))),
            "  meta +tags: hero"
        );
        assert_eq!(
            meta_line(&mc("tags", Some("wip"), None)),
            "  meta -tags: wip"
        );
        assert_eq!(meta_line(&mc("x", None, None)), "  meta x");
        assert_eq!(
            meta_line(&mc("notes", Some("a\nb"), Some("c"))),
            "  meta notes: \"a\\nb\" -> \"c\"",
            "values are quoted, so a newline cannot fake a line"
        );
    }
}
