//! `gadn serve`: serve this repository to its members over QUIC until SIGINT or
//! SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gadn::identity::PublicKey;
use gadn::sync::discovery::{self, LanConfig};
use gadn::sync::remote::DEFAULT_PORT;
use gadn::sync::server::{self, MemberKeys, ServeConfig};
use tokio::sync::watch;

use super::net::{identity, runtime};
use super::Ctx;

/// How often the member list is re-read, so `gadn peer add/remove` while serving
/// takes effect.
const MEMBERS_RELOAD: Duration = Duration::from_secs(2);

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
    /// Upload limit in bytes per second over all connections (suffixes k, M, G:
    /// powers of 1024), e.g. `20M`. Default: unlimited.
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
    let repo = ctx.repo()?;
    let dir = repo.store().dir().to_path_buf();
    drop(repo);
    let me = Arc::new(identity()?);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GADN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    runtime()?.block_on(async move {
        let keys = MemberKeys::load(&dir)?;
        if keys.is_empty() {
            tracing::warn!(
                "this repository has no members: nobody can connect (gadn peer add NAME KEY)"
            );
        }
        let endpoint = Arc::new(server::bind(a.listen, &me, keys.clone())?);
        let bound = endpoint.local_addr().context("reading the bound address")?;
        let mut announce = a.announce.clone();
        if announce.is_empty() && !bound.ip().is_unspecified() {
            announce.push(bound.to_string());
        }
        let mut config = ServeConfig::for_store(dir.clone(), announce)?;
        config.rate = a
            .max_rate
            .map(|r| Arc::new(gadn::sync::rate::RateLimiter::new(r)));
        let config = Arc::new(config);
        println!(
            "Serving repository {} as {} on {bound}",
            config.repo_id,
            me.public().to_text()
        );
        let _ = std::io::stdout().flush();
        tracing::info!(addr = %bound, members = keys.len(), "serving");
        let (stop_tx, stop_rx) = watch::channel(false);
        let reload = {
            let (keys, dir) = (keys.clone(), dir.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(MEMBERS_RELOAD).await;
                    if let Err(e) = keys.reload(&dir) {
                        tracing::warn!("cannot re-read the member list: {e}");
                    }
                }
            })
        };
        let lan = if a.no_lan {
            None
        } else {
            let cfg = LanConfig {
                group: a.lan_group,
                interface: a.lan_interface,
                interval: Duration::from_secs(a.lan_interval.max(1)),
            };
            Some(start_lan(
                cfg,
                me.clone(),
                &config,
                bound.port(),
                &dir,
                stop_rx.clone(),
            ))
        };
        let server = tokio::spawn(server::serve(endpoint, config, keys, stop_rx));
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        reload.abort();
        if let Some(lan) = lan {
            for t in lan {
                t.abort();
            }
        }
        match server.await {
            Ok(r) => r?,
            Err(e) => anyhow::bail!("the server task failed: {e}"),
        }
        tracing::info!("stopped");
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Starts announcing this peer on the LAN and recording the members heard there.
/// Failures are logged: discovery is a convenience, serving goes on without it.
fn start_lan(
    cfg: LanConfig,
    me: Arc<gadn::identity::MachineKey>,
    config: &ServeConfig,
    port: u16,
    dir: &std::path::Path,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let own = me.public();
    let key = me;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(PublicKey, SocketAddr)>(64);
    let announce = {
        let (cfg, repo, stop) = (cfg, config.repo_id.clone(), stop.clone());
        tokio::spawn(async move {
            if let Err(e) = discovery::announce_loop(cfg, key, repo, port, stop).await {
                tracing::warn!("LAN announcements off: {e}");
            }
        })
    };
    let listen = {
        let repo = config.repo_id.clone();
        tokio::spawn(async move {
            let on_peer = move |k: PublicKey, a: SocketAddr| {
                let _ = tx.try_send((k, a));
            };
            if let Err(e) = discovery::listen_loop(cfg, repo, own, on_peer, stop).await {
                tracing::warn!("LAN discovery off: {e}");
            }
        })
    };
    let record = {
        let dir = dir.to_path_buf();
        tokio::spawn(async move {
            // Each peer announces every interval; write an address at most once a
            // minute per peer.
            let mut last: std::collections::HashMap<(PublicKey, SocketAddr), std::time::Instant> =
                std::collections::HashMap::new();
            while let Some((k, a)) = rx.recv().await {
                let now = std::time::Instant::now();
                if last
                    .get(&(k, a))
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
                {
                    continue;
                }
                last.insert((k, a), now);
                match gadn::store::Store::open(&dir).map(|s| discovery::record_peer(&s, &k, a)) {
                    Ok(Ok(true)) => {
                        tracing::info!(peer = %k.short(), addr = %a, "member found on the LAN")
                    }
                    Ok(Ok(false)) => tracing::debug!(peer = %k.short(), "not a member; ignored"),
                    Ok(Err(e)) => tracing::warn!("cannot record a LAN peer: {e}"),
                    Err(e) => tracing::warn!("cannot record a LAN peer: {e}"),
                }
            }
        })
    };
    vec![announce, listen, record]
}

/// Listens on the LAN for `wait` and returns the members of `repo_id` heard (other
/// than `own`), each once.
pub async fn discover_for(
    cfg: LanConfig,
    repo_id: String,
    own: PublicKey,
    wait: Duration,
) -> anyhow::Result<Vec<(PublicKey, SocketAddr)>> {
    let found = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let f = found.clone();
    let task = tokio::spawn(discovery::listen_loop(
        cfg,
        repo_id,
        own,
        move |k, a| {
            let mut v = f.lock().unwrap_or_else(|p| p.into_inner());
            if !v.contains(&(k, a)) {
                v.push((k, a));
            }
        },
        stop_rx,
    ));
    tokio::time::sleep(wait).await;
    let _ = stop_tx.send(true);
    match task.await {
        Ok(r) => r?,
        Err(e) => anyhow::bail!("LAN discovery failed: {e}"),
    }
    let v = found.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(v)
}

/// Parses a byte rate: a number with an optional k/M/G suffix (powers of 1024).
fn parse_rate(s: &str) -> Result<u64, String> {
    let (num, mul) = match s.char_indices().last() {
        Some((i, 'k' | 'K')) => (&s[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&s[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a rate (bytes per second, e.g. 20M)"))?;
    n.checked_mul(mul)
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("'{s}' is not a usable rate"))
}
