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
    if let Some(name) = store.setting(DEFAULT_PEER_KEY)? {
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

/// Peer exchange, the question alone: the peers the other side knows, as it
/// sent them (bounded by the wire limits, unchecked otherwise); none if it would
/// not say. Best effort.
pub async fn ask_peers(conn: &Connection, peer: &str) -> Vec<super::wire::PeerInfo> {
    let Ok(mut recv) = super::fetch::request(&conn.inner, peer, &Message::GetPeers {}).await else {
        return Vec::new();
    };
    match super::fetch::next(&mut recv, peer).await {
        Ok(Message::Peers { peers }) => peers,
        _ => Vec::new(),
    }
}

/// Peer exchange: asks for the peers the other side knows and keeps the addresses
/// of current members of this repository. Best effort.
pub async fn exchange_peers(conn: &Connection, peer: &str, store: &Store) {
    keep_exchanged(store, &ask_peers(conn, peer).await);
}

/// Keeps the addresses (at most 4 each, socket addresses only) of the current
/// members of this repository among `peers` (a peer-exchange answer), as
/// [`PeerSource::Exchange`] rows. Best effort.
pub fn keep_exchanged(store: &Store, peers: &[super::wire::PeerInfo]) {
    for p in peers {
        let key = PublicKey(p.key);
        if !matches!(members::role_of(store, &key), Ok(Some(_))) {
            continue;
        }
        // `p.last_seen` is when the other side reached them (0 = never), not this
        // machine: the row's `last_seen` stays as it was (NULL, "never", for a new
        // row) until this machine reaches the peer itself.
        for a in p.addrs.iter().take(4) {
            if a.parse::<SocketAddr>().is_ok() {
                let _ = store
                    .db()
                    .peer_add_addr(&key, a, PeerSource::Exchange, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::object::Role;

    fn key(n: u8) -> MachineKey {
        MachineKey::from_seed([n; 32])
    }

    fn store(dir: &Path) -> Store {
        Store::init(dir, ChunkParams::DEFAULT).expect("init")
    }

    /// A store whose member list has alice (key 1), bob (key 2) and carol (key 3).
    fn with_members(dir: &Path) -> Store {
        let mut s = store(dir);
        members::add(
            &mut s,
            &key(1),
            "alice",
            "bob",
            key(2).public(),
            Role::Member,
        )
        .expect("bob");
        members::add(
            &mut s,
            &key(1),
            "alice",
            "carol",
            key(3).public(),
            Role::Reader,
        )
        .expect("carol");
        s
    }

    #[test]
    fn key_at_specs_parse_with_a_default_port() {
        let k = key(1).public();
        let text = k.to_text();
        assert_eq!(
            parse_key_at(&format!("{text}@host:9")).expect("parse"),
            (k, "host:9".to_string())
        );
        assert_eq!(
            parse_key_at(&format!("{text}@host")).expect("parse").1,
            format!("host:{DEFAULT_PORT}")
        );
        assert_eq!(
            parse_key_at(&format!("{text}@[::1]")).expect("parse").1,
            format!("[::1]:{DEFAULT_PORT}")
        );
        let e = parse_key_at("host:9").expect_err("no @");
        assert!(e.to_string().contains("KEY@HOST:PORT"), "{e}");
        assert!(parse_key_at("notakey@host:9").is_err());
        let e = parse_key_at(&format!("{text}@")).expect_err("no host");
        assert!(e.to_string().contains("names no host"), "{e}");
    }

    #[test]
    fn unresolvable_addresses_are_skipped() {
        let got = socket_addrs(&["127.0.0.1:5".to_string(), "no port here".to_string()]);
        assert_eq!(
            got,
            vec!["127.0.0.1:5".parse::<SocketAddr>().expect("addr")]
        );
        assert!(socket_addrs(&[]).is_empty());
    }

    #[test]
    fn members_resolve_by_name_and_key() {
        let d = tempfile::tempdir().expect("tmp");
        let bare = store(&d.path().join("bare"));
        let e = resolve(&bare, "bob").expect_err("no members");
        assert!(e.to_string().contains("no members yet"), "{e}");
        assert!(others(&bare, &key(1).public()).expect("others").is_empty());
        let e = default_remote(&bare, &key(1).public()).expect_err("nobody");
        assert!(
            e.to_string().contains("no peer with a known address"),
            "{e}"
        );

        let s = with_members(&d.path().join("m"));
        let e = resolve(&s, "mallory").expect_err("unknown");
        assert!(e.to_string().contains("not a member"), "{e}");
        let bob = resolve(&s, "bob").expect("bob");
        assert_eq!((bob.key, bob.addrs.len()), (key(2).public(), 0));
        assert_eq!(
            resolve(&s, &key(2).public().to_text()).expect("by key"),
            bob
        );
        let me = key(1).public();
        let names: Vec<String> = others(&s, &me)
            .expect("others")
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"bob".to_string()) && names.contains(&"carol".to_string()));

        // Nobody with an address, then one, then two.
        assert!(default_remote(&s, &me).is_err());
        s.db()
            .peer_add_addr(&key(2).public(), "127.0.0.1:7", PeerSource::Config, None)
            .expect("addr");
        let one = default_remote(&s, &me).expect("one");
        assert_eq!(
            (one.name.as_str(), one.addrs.clone()),
            ("bob", vec!["127.0.0.1:7".to_string()])
        );
        s.db()
            .peer_add_addr(&key(3).public(), "127.0.0.1:8", PeerSource::Lan, Some(5))
            .expect("addr");
        let e = default_remote(&s, &me).expect_err("several");
        assert!(e.to_string().contains("several peers"), "{e}");
        // The configured default wins.
        s.db().config_set(DEFAULT_PEER_KEY, "carol").expect("set");
        assert_eq!(default_remote(&s, &me).expect("default").name, "carol");
        s.db().config_set(DEFAULT_PEER_KEY, "gone").expect("set");
        assert!(default_remote(&s, &me).is_err());
    }

    #[tokio::test]
    async fn client_endpoints_follow_the_address_family() {
        let v4 = client_endpoint(&key(1), &["127.0.0.1:5".parse().expect("addr")]).expect("v4");
        assert!(v4.local_addr().expect("addr").is_ipv4());
        let none = client_endpoint(&key(1), &[]).expect("default");
        assert!(none.local_addr().expect("addr").is_ipv4());
        // IPv6 may be disabled where the tests run; when it binds, it is IPv6.
        if let Ok(v6) = client_endpoint(&key(1), &["[::1]:5".parse().expect("addr")]) {
            assert!(v6.local_addr().expect("addr").is_ipv6());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opening_a_peer_without_an_address_fails_at_once() {
        let d = tempfile::tempdir().expect("tmp");
        let s = with_members(&d.path().join("m"));
        let dir = s.dir().to_path_buf();
        drop(s);
        let remote = Remote {
            name: "bob".into(),
            key: key(2).public(),
            addrs: vec!["nowhere".into()],
        };
        let e = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            open(&key(1), &remote, &dir),
        )
        .await
        .expect("within the time limit")
        .expect_err("no address");
        assert!(e.to_string().contains("no address known for bob"), "{e}");
    }
}
