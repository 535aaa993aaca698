//! `gadn sync`: fetch from every reachable member.

use std::process::ExitCode;
use std::time::Duration;

use gadn::ops;
use gadn::sync::discovery::LanConfig;

use super::net::{bars, identity, print_fetch};
use super::Ctx;

/// Arguments of `gadn sync`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Listen this many seconds for members announcing themselves on the LAN
    /// before syncing (0: only the addresses already known).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    discover: u64,
    /// Multicast group for LAN discovery.
    #[arg(long, value_name = "ADDR", default_value_t = LanConfig::default().group)]
    lan_group: std::net::SocketAddr,
    /// Interface address to join the LAN group on.
    #[arg(long, value_name = "IPV4", default_value_t = LanConfig::default().interface)]
    lan_interface: std::net::Ipv4Addr,
    /// Take each fetch's chunks from at most N members at once, the one fetched
    /// from included (default 8).
    #[arg(long, value_name = "N")]
    max_sources: Option<usize>,
    /// Print what happened as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let root = ctx.repo()?.root().to_path_buf();
    let opts = ops::SyncOptions {
        identity: identity()?,
        discover: Duration::from_secs(a.discover),
        lan: LanConfig {
            group: a.lan_group,
            interface: a.lan_interface,
            ..LanConfig::default()
        },
        progress: bars(ctx.quiet || a.json),
        max_sources: a.max_sources,
    };
    let r = ops::sync(&root, &opts)?;
    let code = super::exit::failed_if(r.fetched.is_empty() && !r.failed.is_empty());
    if a.json {
        super::net::print_json_line(&r)?;
        return Ok(code);
    }
    if !ctx.quiet {
        for f in &r.found {
            println!("Found {} at {} on the LAN", f.short, f.addr);
        }
    }
    for f in &r.fetched {
        print_fetch(f, ctx.quiet);
    }
    for f in &r.failed {
        eprintln!("{}: unreachable or failed: {}", f.peer, f.error);
    }
    let (ok, failed) = (r.fetched.len(), r.failed.len());
    if !ctx.quiet {
        println!(
            "Synced with {ok} peer(s); {failed} unreachable; {} without a known address",
            r.without_address
        );
    }
    Ok(code)
}
