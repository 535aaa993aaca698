//! [`Server`]: serve a repository to its members over QUIC, with LAN discovery.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{runtime, Error};
use crate::identity::{MachineKey, PublicKey};
use crate::store::Store;
use crate::sync::discovery::{self, LanConfig};
use crate::sync::rate::RateLimiter;
use crate::sync::remote::DEFAULT_PORT;
use crate::sync::server::{self, MemberKeys, ServeConfig};
use crate::sync::SyncError;
use crate::vcs::Repo;

/// How often the member list is re-read, so `gadn peer add/remove` while serving
/// takes effect.
const MEMBERS_RELOAD: Duration = Duration::from_secs(2);

/// A LAN peer's address is written at most this often (each announces every
/// interval).
const RECORD_EVERY: Duration = Duration::from_secs(60);

/// Serving a repository: a builder. [`Server::start`] binds and starts serving in
/// the background; the [`ServerHandle`] it returns stops it.
///
/// ```no_run
/// # fn main() -> Result<(), gadn::ops::Error> {
/// # let key = std::sync::Arc::new(gadn::identity::MachineKey::from_seed([1; 32]));
/// let server = gadn::ops::Server::new(std::path::Path::new("repo"), key)
///     .listen("127.0.0.1:0".parse().expect("an address"))
///     .max_rate(Some(20 << 20))
///     .lan(None)
///     .start()?;
/// println!("serving on {}", server.local_addr());
/// server.shutdown()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Server {
    repo: PathBuf,
    identity: Arc<MachineKey>,
    listen: SocketAddr,
    announce: Vec<String>,
    max_rate: Option<u64>,
    lan: Option<LanConfig>,
}

impl Server {
    /// Serving the repository at `repo` (its root directory) as `identity`: on
    /// UDP `0.0.0.0:`[`DEFAULT_PORT`], unlimited, with LAN discovery on its
    /// default group.
    pub fn new(repo: &Path, identity: Arc<MachineKey>) -> Server {
        Server {
            repo: repo.to_path_buf(),
            identity,
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            announce: Vec::new(),
            max_rate: None,
            lan: Some(LanConfig::default()),
        }
    }

    /// The UDP address to listen on (port 0 picks a free one).
    pub fn listen(mut self, addr: SocketAddr) -> Server {
        self.listen = addr;
        self
    }

    /// Addresses to tell peers they can reach this one at; default: the listening
    /// address when it is a specific one.
    pub fn announce(mut self, addrs: Vec<String>) -> Server {
        self.announce = addrs;
        self
    }

    /// Upload limit in bytes per second over all connections (`None`: unlimited).
    pub fn max_rate(mut self, bytes_per_second: Option<u64>) -> Server {
        self.max_rate = bytes_per_second;
        self
    }

    /// LAN discovery (announcing this peer, recording the members heard), or
    /// `None` for none.
    pub fn lan(mut self, lan: Option<LanConfig>) -> Server {
        self.lan = lan;
        self
    }

    /// Binds and starts serving (on a runtime the handle owns). Members added or
    /// removed while serving take effect within seconds. LAN discovery failures
    /// are logged, not returned: serving goes on without it.
    pub fn start(self) -> Result<ServerHandle, Error> {
        let dir = Repo::open(&self.repo)?.store().dir().to_path_buf();
        let rt = runtime()?;
        let me = self.identity.clone();
        let started = rt.block_on(async {
            let keys = MemberKeys::load(&dir)?;
            if keys.is_empty() {
                tracing::warn!(
                    "this repository has no members: nobody can connect (gadn peer add NAME KEY)"
                );
            }
            let endpoint = Arc::new(server::bind(self.listen, &me, keys.clone())?);
            let bound = endpoint
                .local_addr()
                .map_err(|e| SyncError::Local(format!("reading the bound address: {e}")))?;
            let mut announce = self.announce.clone();
            if announce.is_empty() && !bound.ip().is_unspecified() {
                announce.push(bound.to_string());
            }
            let mut config = ServeConfig::for_store(dir.clone(), announce)?;
            config.rate = self.max_rate.map(|r| Arc::new(RateLimiter::new(r)));
            let config = Arc::new(config);
            tracing::info!(addr = %bound, members = keys.len(), "serving");
            let (stop_tx, stop_rx) = watch::channel(false);
            let mut aux = vec![reload_members_every(
                MEMBERS_RELOAD,
                keys.clone(),
                dir.clone(),
            )];
            if let Some(cfg) = self.lan {
                aux.extend(start_lan(
                    cfg,
                    me.clone(),
                    &config.repo_id,
                    bound.port(),
                    &dir,
                    stop_rx.clone(),
                ));
            }
            let repo_id = config.repo_id.clone();
            let task = tokio::spawn(server::serve(endpoint, config, keys, stop_rx));
            Ok::<_, Error>((bound, repo_id, stop_tx, task, aux))
        })?;
        let (addr, repo_id, stop, task, aux) = started;
        Ok(ServerHandle {
            runtime: rt,
            addr,
            repo_id,
            stop,
            task,
            aux,
        })
    }
}

/// Re-reads the member list of the store at `dir` into `keys` every `period`,
/// so `gadn peer add/remove` while serving takes effect; failures are logged.
fn reload_members_every(period: Duration, keys: MemberKeys, dir: PathBuf) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(period).await;
            if let Err(e) = keys.reload(&dir) {
                tracing::warn!("cannot re-read the member list: {e}");
            }
        }
    })
}

/// Serves the store at `dir` as `me` on `addr` (announcing `announce`) through
/// `keys`, once `keys` holds a member list: a clone that serves while it fetches
/// ([`super::clone_and_serve`]) binds only when its pinned peer's list has come,
/// so a member that dials it early is answered late rather than refused. Runs on
/// the current runtime until `stop` turns true.
pub(super) fn serve_when_members_known(
    dir: PathBuf,
    me: Arc<MachineKey>,
    addr: SocketAddr,
    announce: Vec<String>,
    keys: MemberKeys,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<Result<(), SyncError>> {
    tokio::spawn(async move {
        while keys.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = stop.changed() => return Ok(()),
            }
        }
        let endpoint = Arc::new(server::bind(addr, &me, keys.clone())?);
        let config = Arc::new(ServeConfig::for_store(dir.clone(), announce)?);
        tracing::info!(%addr, members = keys.len(), "serving while cloning");
        let reload = reload_members_every(MEMBERS_RELOAD, keys.clone(), dir.clone());
        let served = server::serve(endpoint, config, keys, stop).await;
        reload.abort();
        served
    })
}

/// A running [`Server`]. Dropping it stops serving abruptly; [`shutdown`]
/// closes the connections first.
///
/// [`shutdown`]: ServerHandle::shutdown
pub struct ServerHandle {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    repo_id: String,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), SyncError>>,
    aux: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("repo_id", &self.repo_id)
            .finish()
    }
}

impl ServerHandle {
    /// The handle of a server `task` on `runtime`, bound to `addr`, stopped by
    /// `stop`.
    pub(super) fn of_task(
        runtime: tokio::runtime::Runtime,
        addr: SocketAddr,
        repo_id: String,
        stop: watch::Sender<bool>,
        task: JoinHandle<Result<(), SyncError>>,
    ) -> ServerHandle {
        ServerHandle {
            runtime,
            addr,
            repo_id,
            stop,
            task,
            aux: Vec::new(),
        }
    }

    /// The address the server is bound to (with the port picked, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The id of the repository served.
    pub fn repo_id(&self) -> &str {
        &self.repo_id
    }

    /// Stops accepting, closes the endpoint (waiting briefly for peers to hear)
    /// and returns how serving ended.
    pub fn shutdown(self) -> Result<(), Error> {
        tracing::info!("shutting down");
        let _ = self.stop.send(true);
        for t in &self.aux {
            t.abort();
        }
        let ended = self.runtime.block_on(self.task);
        tracing::info!("stopped");
        match ended {
            Ok(r) => Ok(r?),
            Err(e) => Err(Error::ServerTask(e.to_string())),
        }
    }

    /// Serves until this process gets SIGINT or SIGTERM, then [`shutdown`]s.
    ///
    /// [`shutdown`]: ServerHandle::shutdown
    pub fn run_until_signal(self) -> Result<(), Error> {
        self.run_until_signal_or(None)
    }

    /// Serves until this process gets SIGINT or SIGTERM or `limit` has passed
    /// (`None`: no limit), then [`shutdown`]s.
    ///
    /// [`shutdown`]: ServerHandle::shutdown
    pub fn run_until_signal_or(self, limit: Option<Duration>) -> Result<(), Error> {
        self.runtime.block_on(async {
            match limit {
                Some(d) => {
                    let _ = tokio::time::timeout(d, shutdown_signal()).await;
                }
                None => shutdown_signal().await,
            }
        });
        self.shutdown()
    }
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
    me: Arc<MachineKey>,
    repo_id: &str,
    port: u16,
    dir: &Path,
    stop: watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let own = me.public();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(PublicKey, SocketAddr)>(64);
    let announce = {
        let (repo, stop) = (repo_id.to_string(), stop.clone());
        tokio::spawn(async move {
            if let Err(e) = discovery::announce_loop(cfg, me, repo, port, stop).await {
                tracing::warn!("LAN announcements off: {e}");
            }
        })
    };
    let listen = {
        let repo = repo_id.to_string();
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
            let mut last: HashMap<(PublicKey, SocketAddr), Instant> = HashMap::new();
            while let Some((k, a)) = rx.recv().await {
                let now = Instant::now();
                if last
                    .get(&(k, a))
                    .is_some_and(|t| now.duration_since(*t) < RECORD_EVERY)
                {
                    continue;
                }
                last.insert((k, a), now);
                match Store::open(&dir).map(|s| discovery::record_peer(&s, &k, a)) {
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
