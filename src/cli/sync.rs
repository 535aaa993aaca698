//! `gadn sync`: fetch from every reachable member.

use std::process::ExitCode;
use std::time::Duration;

use gadn::sync::discovery::{self, LanConfig};

use super::net::{fetch_from, identity, runtime};
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
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let repo = ctx.repo()?;
    let me = identity()?;
    let dir = repo.store().dir().to_path_buf();
    let repo_id = repo.store().repository_id()?;
    drop(repo);
    let rt = runtime()?;
    if a.discover > 0 {
        let cfg = LanConfig {
            group: a.lan_group,
            interface: a.lan_interface,
            ..LanConfig::default()
        };
        let found = rt.block_on(super::serve::discover_for(
            cfg,
            repo_id,
            me.public(),
            Duration::from_secs(a.discover),
        ))?;
        let store = gadn::store::Store::open(&dir)?;
        for (key, addr) in found {
            if discovery::record_peer(&store, &key, addr)? && !ctx.quiet {
                println!("Found {} at {addr} on the LAN", key.short());
            }
        }
    }
    let store = gadn::store::Store::open(&dir)?;
    let peers = gadn::sync::remote::others(&store, &me.public())?;
    drop(store);
    let (mut ok, mut failed) = (0, 0);
    for remote in peers.iter().filter(|r| !r.addrs.is_empty()) {
        match rt.block_on(fetch_from(ctx.quiet, false, &me, remote, &dir)) {
            Ok(_) => ok += 1,
            Err(e) => {
                failed += 1;
                eprintln!("{}: unreachable or failed: {e:#}", remote.name);
            }
        }
    }
    let silent = peers.iter().filter(|r| r.addrs.is_empty()).count();
    if !ctx.quiet {
        println!(
            "Synced with {ok} peer(s); {failed} unreachable; {silent} without a known address"
        );
    }
    Ok(if ok == 0 && failed > 0 {
        ExitCode::from(super::EXIT_PROBLEM)
    } else {
        ExitCode::SUCCESS
    })
}
