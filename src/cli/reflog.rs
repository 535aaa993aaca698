//! `gadn reflog [REF] [--all]`: where a ref has been, newest first, to recover a
//! deleted branch or a reset commit (`gadn branch NAME ID`).

use std::process::ExitCode;

use gadn::ops;

use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn reflog`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ref: HEAD (default), a branch name or a full ref name (deleted ones too).
    #[arg(conflicts_with = "all")]
    name: Option<String>,
    /// Every ref's log.
    #[arg(long)]
    all: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let name = if a.all {
        None
    } else {
        Some(a.name.as_deref().unwrap_or("HEAD"))
    };
    let lines = ops::reflog(&repo, name)?;
    if a.json {
        print_json(&lines)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut n = 0usize;
    let mut last = "";
    for l in &lines {
        if l.name != last {
            n = 0;
            last = &l.name;
        }
        let id = |v: &Option<gadn::ObjectId>| v.map_or_else(|| "-".repeat(12), |i| i.short());
        let short = l.name.strip_prefix("refs/heads/").unwrap_or(&l.name);
        println!(
            "{} {short}@{{{n}}}: {} ({}, {})",
            id(&l.entry.new),
            l.entry.message,
            l.entry.who,
            gadn::vcs::format_time(l.entry.time, l.entry.tz_offset_min)
        );
        n += 1;
    }
    if lines.is_empty() && !ctx.quiet {
        eprintln!(
            "no reflog entries{}",
            name.map(|n| format!(" for {n}")).unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
