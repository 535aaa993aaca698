//! Serving a repository to its members: the accept loop, one task per connection,
//! one task per stream, and receiving pushes (`store-format.md` § 15).
//!
//! Who may connect is decided during the TLS handshake by the member policy
//! ([`member_policy`]): a key that is not a current member never completes it, so it
//! learns nothing, not even branch names. On an admitted connection the first
//! request must be [`Message::Hello`] naming this repository (or none, to clone).
//! A malformed frame or a request out of place closes the connection with a logged
//! reason; no request can make the server panic or allocate beyond the wire bounds.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::identity::{MachineKey, PublicKey};
use crate::store::db::RefTarget;
use crate::store::object::Role;
use crate::store::{ObjectId, Store};

use super::answer::{Failure, Served};
use super::error::SyncError;
use super::members;
use super::rate::RateLimiter;
use super::receive::{receive_push, PushRequest};
use super::transport::{Connection, Endpoint, MemberPolicy};
use super::wire::{self, Message, PROTOCOL_VERSION};

pub use super::protocol::{CAPABILITIES, CLOSE_PROTOCOL};

/// What a serving peer needs to know.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The store served.
    pub store_dir: PathBuf,
    /// Its repository id.
    pub repo_id: String,
    /// Its chunking parameters (min, avg, max bytes), told to cloners.
    pub chunking: (u32, u32, u32),
    /// Addresses announced to peers.
    pub listen: Vec<String>,
    /// Upload limit shared by every connection (`None`: unlimited).
    pub rate: Option<Arc<RateLimiter>>,
}

impl ServeConfig {
    /// The configuration for serving the store at `dir`.
    pub fn for_store(dir: PathBuf, listen: Vec<String>) -> Result<ServeConfig, SyncError> {
        let store = Store::open(&dir)?;
        let p = store.params();
        Ok(ServeConfig {
            repo_id: store.repository_id()?,
            chunking: (p.min, p.avg, p.max),
            store_dir: dir,
            listen,
            rate: None,
        })
    }
}

/// The current members' keys, and the id of the member list they were read from.
///
/// Invariant: the keys are exactly the non-removed entries of the list `id` names
/// (`None`: no list, no members). [`MemberKeys::role_now`] compares `id` with the
/// store's member-list ref on every request, so a member removed with `gadn peer
/// remove` is refused from its next request on, on connections already open too.
///
/// A clone that serves while it fetches (`gadn clone --serve`) has no list of its
/// own until the fetch lands: it holds the list its pinned peer sent, verified,
/// *provisionally* ([`MemberKeys::hold_provisionally`]). A provisional list stands
/// while the store has none and gives way to the store's list as soon as one
/// lands; while it stands, nobody may push.
#[derive(Debug, Clone, Default)]
pub struct MemberKeys(Arc<RwLock<MemberList>>);

/// What [`MemberKeys`] holds.
#[derive(Debug, Default)]
struct MemberList {
    id: Option<ObjectId>,
    keys: Vec<(PublicKey, Role)>,
    /// The list came from a peer, not from the store (see [`MemberKeys`]).
    provisional: bool,
}

impl MemberList {
    fn of(id: ObjectId, list: &crate::store::object::Members, provisional: bool) -> MemberList {
        MemberList {
            id: Some(id),
            keys: list
                .entries
                .iter()
                .filter(|e| !e.removed)
                .map(|e| (e.key, e.role))
                .collect(),
            provisional,
        }
    }
}

impl MemberKeys {
    /// Reads the member list of the store at `dir`.
    pub fn load(dir: &std::path::Path) -> Result<MemberKeys, SyncError> {
        let k = MemberKeys::default();
        k.reload(dir)?;
        Ok(k)
    }

    /// Re-reads the list.
    pub fn reload(&self, dir: &std::path::Path) -> Result<(), SyncError> {
        self.reload_from(&Store::open(dir)?)
    }

    /// Re-reads the list from `store`.
    fn reload_from(&self, store: &Store) -> Result<(), SyncError> {
        let fresh = match members::current(store)? {
            Some((id, list)) => MemberList::of(id, &list, false),
            None if self.is_provisional() => return Ok(()),
            None => MemberList::default(),
        };
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// Holds `list` (whose id is `id`), received from a pinned peer and verified,
    /// until the store has a list of its own: the next re-read that finds one
    /// replaces it. Does nothing once a list was read from the store.
    pub fn hold_provisionally(&self, id: ObjectId, list: &crate::store::object::Members) {
        let mut held = self.0.write().unwrap_or_else(|p| p.into_inner());
        if held.id.is_none() || held.provisional {
            *held = MemberList::of(id, list, true);
        }
    }

    /// True while the keys are a peer's list held provisionally (see
    /// [`MemberKeys::hold_provisionally`]).
    pub fn is_provisional(&self) -> bool {
        self.0.read().unwrap_or_else(|p| p.into_inner()).provisional
    }

    /// The role of `key` in the list the store at `dir` holds now: one ref read
    /// through `store` when the list has not changed since it was last read; when it
    /// has, a re-read through a fresh handle on `dir` (the new list may be in a pack
    /// `store` has not opened).
    pub fn role_now(
        &self,
        store: &Store,
        dir: &std::path::Path,
        key: &PublicKey,
    ) -> Result<Option<Role>, SyncError> {
        let now = match store
            .db()
            .read_ref(members::MEMBERS_REF)
            .map_err(|e| SyncError::Local(format!("reading the member list: {e}")))?
        {
            Some(RefTarget::Id(id)) => Some(id),
            _ => None,
        };
        let (seen, provisional) = {
            let held = self.0.read().unwrap_or_else(|p| p.into_inner());
            (held.id, held.provisional)
        };
        // A provisional list stands until the store has one of its own.
        if now != seen && !(provisional && now.is_none()) {
            self.reload(dir)?;
        }
        Ok(self.role(key))
    }

    /// The role of `key`, if it is a current member.
    pub fn role(&self, key: &PublicKey) -> Option<Role> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, r)| *r)
    }

    /// Number of current members.
    pub fn len(&self) -> usize {
        self.0.read().unwrap_or_else(|p| p.into_inner()).keys.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The handshake policy: admit current members only.
pub fn member_policy(keys: MemberKeys) -> MemberPolicy {
    Arc::new(move |k: &PublicKey| keys.role(k).is_some())
}

/// Binds an endpoint serving the store in `config` with `key`.
pub fn bind(addr: SocketAddr, key: &MachineKey, keys: MemberKeys) -> Result<Endpoint, SyncError> {
    Ok(Endpoint::bind(addr, key, member_policy(keys))?)
}

/// Accepts connections until `stop` turns true; each connection is served on its own
/// task. Returns after closing the endpoint and waiting (briefly) for peers to hear.
pub async fn serve(
    endpoint: Arc<Endpoint>,
    config: Arc<ServeConfig>,
    keys: MemberKeys,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SyncError> {
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept_incoming() => i,
            _ = stop.changed() => None,
        };
        let Some(incoming) = incoming else { break };
        let addr = incoming.remote_address();
        let (config, keys) = (config.clone(), keys.clone());
        tokio::spawn(async move {
            match incoming.handshake().await {
                Ok(conn) => {
                    tracing::info!(peer = %conn.peer.short(), %addr, "connected");
                    let peer = conn.peer;
                    let quic = conn.inner.clone();
                    let ended = serve_connection(conn, config, keys, true).await;
                    // What an operator wants to see of a transfer: bytes sent and how
                    // the path behaved (losses, congestion, round trip, packet size).
                    let s = quic.stats();
                    let (sent, lost, events) = (
                        s.udp_tx.bytes,
                        s.path.lost_packets,
                        s.path.congestion_events,
                    );
                    let (rtt_us, mtu) = (s.path.rtt.as_micros() as u64, s.path.current_mtu);
                    match ended {
                        Ok(()) => tracing::info!(
                            peer = %peer.short(), sent, lost, events, rtt_us, mtu, "disconnected"
                        ),
                        Err(e) => tracing::warn!(
                            peer = %peer.short(), sent, lost, events, rtt_us, mtu,
                            "connection ended: {e}"
                        ),
                    }
                }
                Err(e) => tracing::info!(%addr, "refused: {e}"),
            }
        });
    }
    endpoint.close();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), endpoint.wait_idle()).await;
    Ok(())
}

/// Serves one connection's requests until it closes. `server` is true on the
/// accepting side (Hello is required first and pushes are taken); false when a
/// pushing client serves the records it pushes back to the receiver.
pub async fn serve_connection(
    conn: Connection,
    config: Arc<ServeConfig>,
    keys: MemberKeys,
    server: bool,
) -> Result<(), SyncError> {
    let served = Arc::new(Served::open(config.store_dir.clone())?.with_rate(config.rate.clone()));
    let hello = Arc::new(AtomicBool::new(!server));
    loop {
        let (send, recv) = match conn.inner.accept_bi().await {
            Ok(s) => s,
            Err(quinn::ConnectionError::ApplicationClosed(_))
            | Err(quinn::ConnectionError::LocallyClosed) => return Ok(()),
            Err(e) => return Err(SyncError::Local(format!("connection lost: {e}"))),
        };
        let (conn, config, keys, served, hello) = (
            conn.clone(),
            config.clone(),
            keys.clone(),
            served.clone(),
            hello.clone(),
        );
        tokio::spawn(async move {
            if let Err(reason) =
                answer_stream(&conn, &config, &keys, &served, &hello, server, send, recv).await
            {
                tracing::warn!(peer = %conn.peer.short(), "closing the connection: {reason}");
                conn.inner
                    .close(quinn::VarInt::from_u32(CLOSE_PROTOCOL), reason.as_bytes());
            }
        });
    }
}

/// Answers one request. `Err(reason)` means the peer broke the protocol and the
/// connection is to be closed.
#[allow(clippy::too_many_arguments)]
async fn answer_stream(
    conn: &Connection,
    config: &ServeConfig,
    keys: &MemberKeys,
    served: &Served,
    hello: &AtomicBool,
    server: bool,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) -> Result<(), String> {
    let request = match wire::read_message(&mut recv).await {
        Ok(Some(m)) => m,
        Ok(None) => return Err("a stream with no request".into()),
        Err(e) => return Err(format!("bad request: {e}")),
    };
    tracing::debug!(peer = %conn.peer.short(), request = request.kind_name(), "request");
    let io = |e: wire::WireError| format!("writing the answer: {e}");
    if !hello.load(Ordering::Acquire) && !matches!(request, Message::Hello { .. }) {
        return Err(format!("{} before hello", request.kind_name()));
    }
    if server {
        // Membership is checked on every request, not only in the handshake: a
        // member removed while connected is refused from its next request on.
        // A list that cannot be read refuses: membership fails closed.
        let role = served.with_store(|s| keys.role_now(s, &config.store_dir, &conn.peer));
        let refusal = match role {
            Ok(Some(_)) => None,
            Ok(None) => Some(Failure::new(
                "not-a-member",
                "this machine's key is not a member of this repository any more".to_string(),
            )),
            Err(e) => Some(Failure::new(
                "store",
                format!("cannot read the member list: {e}"),
            )),
        };
        if let Some(refusal) = refusal {
            wire::write_message(&mut send, &refusal.to_message())
                .await
                .map_err(io)?;
            let _ = send.finish();
            return Ok(());
        }
    }
    let answer: Result<Vec<Message>, Failure> = match request {
        Message::Hello {
            versions,
            repo,
            caps: _,
            listen,
        } if server => {
            if !versions.contains(&PROTOCOL_VERSION) {
                Err(Failure::new(
                    "version",
                    format!(
                        "this peer speaks protocol version {PROTOCOL_VERSION}, not {versions:?}"
                    ),
                ))
            } else if repo.as_ref().is_some_and(|r| *r != config.repo_id) {
                Err(Failure::new(
                    "wrong-repository",
                    "this peer serves another repository".to_string(),
                ))
            } else {
                hello.store(true, Ordering::Release);
                note_addresses(config, conn, &listen);
                Ok(vec![Message::Welcome {
                    version: PROTOCOL_VERSION,
                    repo: config.repo_id.clone(),
                    caps: CAPABILITIES.iter().map(|c| c.to_string()).collect(),
                    listen: config.listen.clone(),
                    chunking: Some(config.chunking),
                }])
            }
        }
        Message::ListRefs {} => served.refs().map(|m| vec![m]),
        Message::Commits {
            wants,
            haves,
            limit,
        } => served.history(&wants, &haves, limit),
        Message::GetObjects { ids } => {
            served.send_objects(&ids, &mut send).await.map_err(io)?;
            let _ = send.finish();
            return Ok(());
        }
        Message::GetChunks { runs } => {
            match served.send_chunks(&runs, &mut send).await {
                Ok(_) => {}
                // The fetcher cancelled the run (`STOP_SENDING`, store-format.md
                // § 15): the answer ends, the connection stays.
                Err(e) if stopped_by_peer(&e) => {
                    tracing::debug!(peer = %conn.peer.short(), "chunk answer cancelled");
                    return Ok(());
                }
                Err(e) => return Err(io(e)),
            }
            let _ = send.finish();
            return Ok(());
        }
        Message::GetPeers {} => served.peers().map(|m| vec![m]),
        Message::GetHave { files } => Ok(vec![
            served.with_store(|s| super::swarm::have::answer(s, &files))
        ]),
        Message::GetPreviews { ids } => served.previews(&ids).map(|m| vec![m]),
        // The write rule of `store::members`: the connection is a member's (checked
        // above), so its role decides.
        Message::Push { .. } if server && keys.is_provisional() => Err(Failure::new(
            "read-only",
            "this peer is still cloning: it takes no pushes yet".to_string(),
        )),
        Message::Push { updates } if server => match keys.role(&conn.peer) {
            Some(role) if role.can_write() => {
                let req = PushRequest {
                    updates,
                    store_dir: config.store_dir.clone(),
                };
                match receive_push(conn, req).await {
                    Ok(results) => {
                        // The push may have brought a new member list.
                        let _ = keys.reload(&config.store_dir);
                        Ok(vec![Message::PushResult { results }])
                    }
                    Err(e) => Err(Failure::new("push-failed", e.to_string())),
                }
            }
            _ => Err(Failure::new(
                "read-only",
                "your role in this repository does not allow pushing".to_string(),
            )),
        },
        other => return Err(format!("unexpected {}", other.kind_name())),
    };
    let frames = match answer {
        Ok(f) => f,
        Err(f) => vec![f.to_message()],
    };
    for m in &frames {
        wire::write_message(&mut send, m).await.map_err(io)?;
    }
    let _ = send.finish();
    Ok(())
}

/// Records the addresses a peer says it serves on, for later syncs and peer
/// exchange. Best effort.
fn note_addresses(config: &ServeConfig, conn: &Connection, listen: &[String]) {
    let Ok(store) = Store::open(&config.store_dir) else {
        return;
    };
    let now = chrono::Utc::now().timestamp();
    for a in listen.iter().take(4) {
        if a.parse::<SocketAddr>().is_ok() {
            let _ = store.db().peer_add_addr(
                &conn.peer,
                a,
                crate::store::db::PeerSource::Exchange,
                Some(now),
            );
        }
    }
}

/// Whether writing an answer failed because the peer stopped the stream
/// (`STOP_SENDING`): a cancelled request, not a broken protocol.
fn stopped_by_peer(e: &wire::WireError) -> bool {
    match e {
        wire::WireError::Io(io) => io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<quinn::WriteError>())
            .is_some_and(|w| matches!(w, quinn::WriteError::Stopped(_))),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::tests::{alice_repo, empty_like, key};
    use crate::sync::transport::Endpoint;

    #[test]
    fn a_provisional_list_stands_until_the_store_has_its_own() {
        let d = tempfile::tempdir().expect("tmp");
        let alice = alice_repo(d.path());
        let (id, list) = members::current(alice.store())
            .expect("read")
            .expect("a list");
        // A clone's store: no list yet.
        let mut bob = empty_like(d.path(), "bob", &alice);
        let bob_dir = bob.store().dir().to_path_buf();
        let keys = MemberKeys::load(&bob_dir).expect("load");
        assert!(keys.is_empty() && !keys.is_provisional());
        keys.hold_provisionally(id, &list);
        assert!(keys.is_provisional());
        assert_eq!(keys.role(&key(3).public()), Some(Role::Reader));
        // Re-reads that find no list keep it.
        keys.reload(&bob_dir).expect("reload");
        let now = keys.role_now(bob.store(), &bob_dir, &key(2).public());
        assert_eq!(now.expect("role"), Some(Role::Member));
        assert!(keys.is_provisional());
        // The store's own list (here one bob founds, without carol) replaces it.
        members::add(
            bob.store_mut(),
            &key(2),
            "bob",
            "dave",
            key(4).public(),
            Role::Member,
        )
        .expect("a list of bob's");
        let store = Store::open(&bob_dir).expect("open");
        let carol = keys.role_now(&store, &bob_dir, &key(3).public());
        assert_eq!(carol.expect("role"), None);
        assert!(!keys.is_provisional());
        assert_eq!(keys.role(&key(4).public()), Some(Role::Member));
        // Once the store's list was read, a peer's list is not taken.
        keys.hold_provisionally(id, &list);
        assert!(!keys.is_provisional());
        assert_eq!(keys.role(&key(3).public()), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clone_serving_on_a_provisional_list_admits_members_and_takes_no_push() {
        let run = async {
            let d = tempfile::tempdir().expect("tmp");
            let mut alice = alice_repo(d.path());
            crate::vcs::testutil::put(&alice, "a.txt", b"alpha");
            let c = crate::vcs::testutil::commit_all(&mut alice, "one");
            let (id, list) = members::current(alice.store())
                .expect("read")
                .expect("a list");
            // Carol, cloning: an empty store serving on alice's list, held.
            let carol = empty_like(d.path(), "carol", &alice);
            let dir = carol.store().dir().to_path_buf();
            let keys = MemberKeys::default();
            keys.hold_provisionally(id, &list);
            let ep = Arc::new(
                bind("127.0.0.1:0".parse().expect("addr"), &key(3), keys.clone()).expect("bind"),
            );
            let addr = ep.local_addr().expect("addr");
            let config = Arc::new(ServeConfig::for_store(dir, Vec::new()).expect("config"));
            let (_stop, stopped) = watch::channel(false);
            tokio::spawn(serve(ep, config, keys, stopped));
            // Bob, a member by alice's list, is admitted; his push is refused.
            let bob = Endpoint::bind(
                "127.0.0.1:0".parse().expect("addr"),
                &key(2),
                crate::sync::transport::refuse_all(),
            )
            .expect("bind");
            let conn = crate::sync::client::connect(&bob, key(3).public(), &[addr])
                .await
                .expect("admitted");
            let repo = alice.store().repository_id().expect("id");
            crate::sync::client::hello(&conn, "carol", Some(repo), Vec::new())
                .await
                .expect("hello");
            let updates = vec![wire::RefUpdate {
                name: "refs/heads/main".into(),
                old: None,
                new: c,
                force: false,
            }];
            let alice_dir = alice.store().dir().to_path_buf();
            let e = crate::sync::client::push(&conn, "carol", &alice_dir, updates)
                .await
                .expect_err("a cloning peer takes no push");
            assert!(e.to_string().contains("still cloning"), "{e}");
            // Dave is on no list: the handshake refuses him.
            let dave = Endpoint::bind(
                "127.0.0.1:0".parse().expect("addr"),
                &key(4),
                crate::sync::transport::refuse_all(),
            )
            .expect("bind");
            assert!(
                crate::sync::client::connect(&dave, key(3).public(), &[addr])
                    .await
                    .is_err()
            );
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), run)
            .await
            .expect("in time");
    }
}
