//! `gadn fsck`.

use std::process::ExitCode;

use gadn::ops::{self, StoreOf};

use super::exit::DAMAGE;
use super::net::bars;
use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn fsck`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    run_on(ctx, StoreOf::Repo(&repo), a)
}

/// Verifies the store `of` names (a repository's, or a Git repository's `.git/gadn`).
pub fn run_on(ctx: &Ctx, of: StoreOf<'_>, a: Args) -> anyhow::Result<ExitCode> {
    let report = ops::fsck(of, &*bars(ctx.quiet || a.json))?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            ok: bool,
            #[serde(flatten)]
            report: &'a ops::FsckReport,
        }
        print_json(&Out {
            ok: report.is_ok(),
            report: &report,
        })?;
    } else {
        for d in &report.damaged {
            println!(
                "damaged: {} {} in {} at offset {}: {}",
                d.kind.unwrap_or("record"),
                d.id.as_deref().unwrap_or("?"),
                d.pack,
                d.offset,
                d.reason
            );
        }
        for b in &report.broken_links {
            println!(
                "broken link: {} {} (from {}): {}",
                b.expected, b.id, b.referrer, b.reason
            );
        }
        for u in &report.unsealed {
            println!(
                "note: {u} was left unsealed by an interrupted writer; the next write recovers it"
            );
        }
        println!(
            "checked {} record(s) in {} pack(s); {} reachable; {}",
            report.records,
            report.packs,
            report.reachable,
            if report.is_ok() {
                "no problems found"
            } else {
                "PROBLEMS FOUND"
            }
        );
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DAMAGE)
    })
}
