//! Peers as the commands name them: a member (by name or key) and the addresses
//! known for it — configured with `gadn peer add/addr`, heard on the LAN, or learnt
//! from other peers (peer exchange) — and opening a session to one.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;

use crate::identity::{MachineKey, PublicKey};
use crate::store::db::PeerSource;
use crate::store::Store;

use super::client::{self, Welcome};
use super::error::SyncError;
use super::members;
use super::transport::{refuse_all, Connection, Endpoint};
use super::wire::Message;

/// Default UDP port of `gadn serve`.
pub const DEFAULT_PORT: u16 = 47_179;

/// Config key naming the peer `fetch`, `pull` and `push` use by default (set by
/// `clone`).
pub const DEFAULT_PEER_KEY: &str = "sync.default-peer";

/// A member to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its name in the member list (remote-tracking refs live under it).
    pub name: String,
    /// Its key (pinned on connect).
    pub key: PublicKey,
    /// Addresses to try, most recently seen first.
    pub addrs: Vec<String>,
}

/// Parses `KEY@HOST:PORT` (the form `gadn clone` takes). The port defaults to
/// [`DEFAULT_PORT`].
pub fn parse_key_at(spec: &str) -> Result<(PublicKey, String), SyncError> {
    let (key, addr) = spec.split_once('@').ok_or_else(|| {
        SyncError::Local(format!(
            "'{spec}' is not KEY@HOST:PORT (KEY as `gadn id` prints it)"
        ))
    })?;
    let key = PublicKey::parse(key).map_err(|e| SyncError::Local(format!("'{key}': {e}")))?;
    if addr.is_empty() {
        return Err(SyncError::Local(format!("'{spec}' names no host")));
    }
    let addr = if addr
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        addr.to_string()
    } else {
        format!("{addr}:{DEFAULT_PORT}")
    };
    Ok((key, addr))
}

/// Resolves `host:port` text to socket addresses (DNS for names).
pub fn socket_addrs(addrs: &[String]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    for a in addrs {
        match a.to_socket_addrs() {
            Ok(it) => out.extend(it),
            Err(e) => tracing::info!("cannot resolve {a}: {e}"),
        }
    }
    out
}

/// The member named `spec` (a name or `gadn1…` key) with its known addresses.
pub fn resolve(store: &Store, spec: &str) -> Result<Remote, SyncError> {
    let (_, list) = members::current(store)?.ok_or_else(|| {
        SyncError::Local("this repository has no members yet (gadn peer add NAME KEY ADDR)".into())
    })?;
    let entry = members::find_member(&list, spec)?.ok_or_else(|| {
        SyncError::Local(format!(
            "'{spec}' is not a member of this repository (gadn peer list)"
        ))
    })?;
    let addrs = store
        .db()
        .peer_get(&entry.key)?
        .map(|r| r.addrs)
        .unwrap_or_default();
    Ok(Remote {
        name: entry.name.clone(),
        key: entry.key,
        addrs,
    })
}

/// The default peer: the configured one, else the only other member with an
/// address.
pub fn default_remote(store: &Store, me: &PublicKey) -> Result<Remote, SyncError> {
    if let Some(name) = store.db().config_get(DEFAULT_PEER_KEY)? {
        return resolve(store, &name);
    }
    let all = others(store, me)?;
    let with_addr: Vec<Remote> = all.into_iter().filter(|r| !r.addrs.is_empty()).collect();
    match with_addr.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(SyncError::Local(
            "no peer with a known address (gadn peer addr NAME HOST:PORT)".into(),
        )),
        _ => Err(SyncError::Local(format!(
            "several peers could be meant ({}); name one",
            with_addr
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Every current member except `me`, with addresses.
pub fn others(store: &Store, me: &PublicKey) -> Result<Vec<Remote>, SyncError> {
    let Some((_, list)) = members::current(store)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in list
        .entries
        .iter()
        .filter(|e| e.is_current() && e.key != *me)
    {
        let addrs = store
            .db()
            .peer_get(&e.key)?
            .map(|r| r.addrs)
            .unwrap_or_default();
        out.push(Remote {
            name: e.name.clone(),
            key: e.key,
            addrs,
        });
    }
    Ok(out)
}

/// A client endpoint (serving nobody) of the address family of `addrs`.
pub fn client_endpoint(me: &MachineKey, addrs: &[SocketAddr]) -> Result<Endpoint, SyncError> {
    let bind: SocketAddr = if addrs.first().is_some_and(|a| a.is_ipv6()) {
        "[::]:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    Ok(Endpoint::bind(bind, me, refuse_all())?)
}

/// An open session with a peer.
#[derive(Debug)]
pub struct Session {
    /// Our endpoint (kept alive with the connection).
    pub endpoint: Endpoint,
    /// The connection.
    pub conn: Connection,
    /// What the peer said.
    pub welcome: Welcome,
    /// The address that answered.
    pub addr: SocketAddr,
}

/// Connects to `remote` (pinning its key) and says hello for the repository at
/// `dir`. Records the address that answered and asks the peer for the peers it
/// knows (peer exchange), keeping the addresses of current members.
pub async fn open(me: &MachineKey, remote: &Remote, dir: &Path) -> Result<Session, SyncError> {
    let store = Store::open(dir)?;
    let repo = store.repository_id()?;
    drop(store);
    let addrs = socket_addrs(&remote.addrs);
    if addrs.is_empty() {
        return Err(SyncError::Local(format!(
            "no address known for {} (gadn peer addr {} HOST:PORT)",
            remote.name, remote.name
        )));
    }
    let endpoint = client_endpoint(me, &addrs)?;
    let conn = client::connect(&endpoint, remote.key, &addrs).await?;
    let addr = conn.remote_address();
    let welcome = client::hello(&conn, &remote.name, Some(repo), Vec::new()).await?;
    let store = Store::open(dir)?;
    let now = chrono::Utc::now().timestamp();
    let _ = store.db().peer_add_addr(
        &remote.key,
        &addr.to_string(),
        PeerSource::Config,
        Some(now),
    );
    exchange_peers(&conn, &remote.name, &store).await;
    Ok(Session {
        endpoint,
        conn,
        welcome,
        addr,
    })
}

/// Peer exchange: asks for the peers the other side knows and keeps the addresses
/// of current members of this repository. Best effort.
pub async fn exchange_peers(conn: &Connection, peer: &str, store: &Store) {
    let Ok(mut recv) = super::fetch::request(&conn.inner, peer, &Message::GetPeers {}).await else {
        return;
    };
    let Ok(Message::Peers { peers }) = super::fetch::next(&mut recv, peer).await else {
        return;
    };
    for p in peers {
        let key = PublicKey(p.key);
        if !matches!(members::role_of(store, &key), Ok(Some(_))) {
            continue;
        }
        let seen = i64::try_from(p.last_seen).ok();
        for a in p.addrs.iter().take(4) {
            if a.parse::<SocketAddr>().is_ok() {
                let _ = store
                    .db()
                    .peer_add_addr(&key, a, PeerSource::Exchange, seen);
            }
        }
    }
}
