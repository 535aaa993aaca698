//! `gadn fsck`.

use std::process::ExitCode;

use gadn::ops::{self, StoreOf};

use super::exit::DAMAGE;
use super::net::{bars, identity};
use super::output::print_json;
use super::Ctx;

/// Arguments of `gadn fsck`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    /// Refetch exactly the damaged and missing records from healthy copies, drop
    /// the damaged copies, then check the store again (exit 0 only if it ends whole).
    #[arg(long)]
    repair: bool,
    /// With --repair: ask only this source: a member (name or key), KEY@HOST:PORT,
    /// or the directory of another local store. Default: every other member with a
    /// known address, in turn.
    #[arg(long, value_name = "PEER", requires = "repair")]
    from: Option<String>,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    run_on(ctx, StoreOf::Repo(&repo), a)
}

/// Verifies the store `of` names (a repository's, or a Git repository's `.git/gadn`).
pub fn run_on(ctx: &Ctx, of: StoreOf<'_>, a: Args) -> anyhow::Result<ExitCode> {
    if a.repair {
        return repair(ctx, of, a);
    }
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
        if !report.is_ok() {
            println!(
                "hint: `gadn fsck --repair` refetches them from a peer (--from PEER to pick one)"
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

/// `gadn fsck --repair [--from PEER]`.
fn repair(ctx: &Ctx, of: StoreOf<'_>, a: Args) -> anyhow::Result<ExitCode> {
    let opts = ops::RepairOptions {
        identity: identity()?,
        from: a.from,
        progress: bars(ctx.quiet || a.json),
    };
    let report = ops::fsck_repair(of, &opts)?;
    if a.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            ok: bool,
            #[serde(flatten)]
            report: &'a ops::RepairReport,
        }
        print_json(&Out {
            ok: report.is_ok(),
            report: &report,
        })?;
    } else {
        for s in &report.sources {
            match &s.error {
                Some(e) => println!("{}: {e}", s.source),
                None => println!(
                    "{}: asked {}, received {}, missing {}, damaged there {}",
                    s.source, s.asked, s.received, s.missing, s.damaged
                ),
            }
        }
        for r in &report.repaired {
            let was = match r.was {
                ops::Want::Damaged => "damaged",
                ops::Want::Missing => "missing",
            };
            println!("repaired: {} (was {was}) from {}", r.id, r.from);
        }
        for (old, new) in &report.packs_rewritten {
            match new {
                Some(n) => println!("rewrote {old} as {n} without its damaged records"),
                None => println!("removed {old}: every record in it has a healthy copy"),
            }
        }
        for d in &report.still_damaged {
            println!(
                "still damaged: {} {} ({}): {}",
                d.kind.unwrap_or("record"),
                d.id.as_deref().unwrap_or("?"),
                d.at,
                d.reason
            );
        }
        println!(
            "found {} damaged and {} missing record(s); repaired {}; {}",
            report.found_damaged,
            report.found_missing,
            report.repaired.len(),
            if report.is_ok() {
                "the store is whole"
            } else {
                "PROBLEMS REMAIN"
            }
        );
    }
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DAMAGE)
    })
}
