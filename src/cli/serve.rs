//! `gadn serve`: serve this repository to its members over QUIC until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use gadn::ops::Server;
use gadn::sync::discovery::LanConfig;
use gadn::sync::remote::DEFAULT_PORT;

use super::net::identity;
use super::Ctx;

/// Arguments of `gadn serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// UDP address to listen on (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value_t = SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)))]
    listen: SocketAddr,
    /// Address to tell peers they can reach this one at (repeatable); default: the
    /// listening address when it is a specific one.
    #[arg(long, value_name = "HOST:PORT")]
    announce: Vec<String>,
    /// Upload limit in bytes per second over all connections, e.g. `20M`, `20MiB/s`,
    /// `1.5G` (units are powers of 1024; at least 1K). Default: unlimited.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_rate: Option<u64>,
    /// Do not announce this peer on the LAN, nor listen for other members there.
    #[arg(long)]
    no_lan: bool,
    /// Multicast group for LAN discovery.
    #[arg(long, value_name = "ADDR", default_value_t = LanConfig::default().group)]
    lan_group: SocketAddr,
    /// Interface address to announce and listen on.
    #[arg(long, value_name = "IPV4", default_value_t = LanConfig::default().interface)]
    lan_interface: std::net::Ipv4Addr,
    /// Seconds between LAN announcements.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    lan_interval: u64,
}

pub fn run(ctx: &Ctx, a: Args) -> anyhow::Result<ExitCode> {
    let root = ctx.repo()?.root().to_path_buf();
    let me = identity()?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GADN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(ctx.color)
        .try_init();
    let lan = (!a.no_lan).then(|| LanConfig {
        group: a.lan_group,
        interface: a.lan_interface,
        interval: Duration::from_secs(a.lan_interval.max(1)),
    });
    let handle = Server::new(&root, me.clone())
        .listen(a.listen)
        .announce(a.announce)
        .max_rate(a.max_rate)
        .lan(lan)
        .start()?;
    println!(
        "Serving repository {} as {} on {}",
        handle.repo_id(),
        me.public().to_text(),
        handle.local_addr()
    );
    let _ = std::io::stdout().flush();
    handle.run_until_signal()?;
    Ok(ExitCode::SUCCESS)
}

/// A `--max-rate` value: the one rate grammar of [`gadn::size::parse_rate`].
fn parse_rate(s: &str) -> Result<u64, String> {
    gadn::size::parse_rate(s).map_err(|e| e.to_string())
}
