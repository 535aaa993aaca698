//! `gadn gc`: parses, calls `gadn::ops::gc`, prints.

use std::process::ExitCode;

use gadn::ops::{self, GcOptions, REFLOG_EXPIRE_DAYS, REFLOG_EXPIRE_UNREACHABLE_DAYS};

use super::output::{human_bytes, print_json};
use super::Ctx;

/// Arguments of `gadn gc`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Expire every reflog entry older than WHEN (`now`, `2 weeks ago`, a date)
    /// instead of the defaults: 90 days for entries a ref's history still reaches,
    /// 30 for the rest (deleted branches, reset or overwritten commits).
    #[arg(long, value_name = "WHEN")]
    prune: Option<String>,
    /// Report what would be expired and removed; change nothing.
    #[arg(long, short = 'n')]
    dry_run: bool,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let mut repo = ctx.repo()?;
    let now = chrono::Utc::now().timestamp();
    let mut opts = match &a.prune {
        None => GcOptions::defaults(now),
        Some(when) => GcOptions::prune_before(gadn::vcs::parse_date(when, now, false)?.max(0) + 1),
    };
    opts.dry_run = a.dry_run;
    let report = ops::gc(&mut repo, &opts)?;
    if a.json {
        print_json(&report)?;
    } else if !ctx.quiet {
        let verb = if report.dry_run {
            "would remove"
        } else {
            "removed"
        };
        println!(
            "{verb} {} unreachable record(s) ({}), kept {}; expired {} reflog entr{}; packs {} -> {}{}",
            report.removed,
            human_bytes(report.removed_bytes),
            report.kept,
            report.reflog_expired,
            if report.reflog_expired == 1 { "y" } else { "ies" },
            human_bytes(report.bytes_before),
            human_bytes(report.bytes_after),
            if report.dry_run { " (estimated)" } else { "" }
        );
        if a.prune.is_none() && report.removed == 0 && report.reflog_expired == 0 {
            println!(
                "hint: reflog entries keep old commits for {REFLOG_EXPIRE_DAYS} days ({REFLOG_EXPIRE_UNREACHABLE_DAYS} once no branch reaches them); `gadn gc --prune=now` drops them all"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
