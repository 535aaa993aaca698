//! Talking to one peer: connect, hello, fetch into remote-tracking refs, push, and
//! receiving a push (`store-format.md` § 15).
//!
//! Remote-tracking refs are per peer: the peer's `refs/heads/X` lands in
//! `refs/remotes/NAME/X`, where NAME is the peer's name in the member list. Tags
//! are taken when absent here and never moved. A push asks the receiver to move its
//! refs; the receiver decides: it fetches the pushed history and the pusher's lock
//! records back over the same connection, then moves each ref only as a
//! fast-forward (unless forced) and never its checked-out branch.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use crate::identity::PublicKey;
use crate::store::db::{Expect, RefTarget};
use crate::store::object::Members;
use crate::store::{ObjectId, ObjectKind, Store};

use super::error::SyncError;
use super::fetch::{next, request, Fetcher, Progress, Transferred};
use super::history::history;
use super::land::{Landed, Lander, Plan, RefChange};
pub use super::receive::{receive_push, PushRequest};
use super::server::{serve_connection, MemberKeys, ServeConfig};
use super::swarm::{Source, SwarmReport};
use super::transport::{Connection, Endpoint};
use super::wire::{Message, RefUpdate, PROTOCOL_VERSION};

/// What the serving peer said in its welcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Its repository id.
    pub repo: String,
    /// Its chunking parameters (min, avg, max bytes), if it said.
    pub chunking: Option<(u32, u32, u32)>,
    /// Where it serves.
    pub listen: Vec<String>,
    /// Its capabilities.
    pub caps: Vec<String>,
}

/// The peer's refs, as listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteRefs {
    /// Branches and tags with their ids.
    pub refs: Vec<(String, ObjectId)>,
    /// The branch its HEAD names.
    pub head: Option<String>,
    /// Its member list.
    pub members: Option<ObjectId>,
    /// Its lock records.
    pub locks: Vec<ObjectId>,
}

impl RemoteRefs {
    /// The branch a clone checks out: the one the peer's `HEAD` names, or else its
    /// first branch; its short name and commit.
    pub fn checkout_branch(&self) -> Option<(String, ObjectId)> {
        let branch = |name: &str| {
            let short = name.strip_prefix("refs/heads/")?;
            let id = self.refs.iter().find(|(n, _)| n == name)?.1;
            Some((short.to_string(), id))
        };
        self.head
            .as_deref()
            .and_then(branch)
            .or_else(|| self.refs.iter().find_map(|(n, _)| branch(n)))
    }
}

/// Connects to the first of `addrs` that answers with `key`.
pub async fn connect(
    endpoint: &Endpoint,
    key: PublicKey,
    addrs: &[SocketAddr],
) -> Result<Connection, SyncError> {
    let mut last = None;
    for a in addrs {
        match endpoint.connect(*a, key).await {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::info!(addr = %a, "cannot connect: {e}");
                last = Some(e);
            }
        }
    }
    Err(match last {
        Some(e) => e.into(),
        None => SyncError::Local(format!("no address known for peer {}", key.short())),
    })
}

/// The hello exchange: `repo` is this repository's id (`None` to clone).
pub async fn hello(
    conn: &Connection,
    peer: &str,
    repo: Option<String>,
    listen: Vec<String>,
) -> Result<Welcome, SyncError> {
    let msg = Message::Hello {
        versions: vec![PROTOCOL_VERSION],
        repo: repo.clone(),
        caps: super::protocol::CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect(),
        listen,
    };
    let mut recv = request(&conn.inner, peer, &msg).await?;
    match next(&mut recv, peer).await? {
        Message::Welcome {
            version,
            repo: theirs,
            caps,
            listen,
            chunking,
        } => {
            if version != PROTOCOL_VERSION {
                return Err(SyncError::Protocol {
                    peer: peer.into(),
                    reason: format!("chose protocol version {version}"),
                });
            }
            if let Some(ours) = repo {
                if ours != theirs {
                    return Err(SyncError::Protocol {
                        peer: peer.into(),
                        reason: format!("serves repository {theirs}, not this one ({ours})"),
                    });
                }
            }
            Ok(Welcome {
                repo: theirs,
                chunking,
                listen,
                caps,
            })
        }
        other => Err(SyncError::Protocol {
            peer: peer.into(),
            reason: format!("answered hello with {}", other.kind_name()),
        }),
    }
}

/// Lists the peer's refs.
pub async fn list_refs(conn: &Connection, peer: &str) -> Result<RemoteRefs, SyncError> {
    let mut recv = request(&conn.inner, peer, &Message::ListRefs {}).await?;
    match next(&mut recv, peer).await? {
        Message::Refs {
            refs,
            head,
            members,
            locks,
        } => {
            for (name, _) in &refs {
                if !super::answer::OFFERED_PREFIXES
                    .iter()
                    .any(|p| name.starts_with(p))
                    || crate::store::db::check_ref_name(name).is_err()
                {
                    return Err(SyncError::Protocol {
                        peer: peer.into(),
                        reason: format!("listed the ref {name:?}"),
                    });
                }
            }
            Ok(RemoteRefs {
                refs,
                head,
                members,
                locks,
            })
        }
        other => Err(SyncError::Protocol {
            peer: peer.into(),
            reason: format!("answered the ref listing with {}", other.kind_name()),
        }),
    }
}

/// What a fetch did.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// The peer's name (its remote-tracking refs are `refs/remotes/NAME/…`).
    pub peer: String,
    /// The refs as listed.
    pub remote: RemoteRefs,
    /// Records and bytes moved.
    pub transferred: Transferred,
    /// What landed: ref changes (with refusals), members, locks.
    pub landed: Landed,
    /// Bytes received on the connection (UDP payload, all streams), when the fetch
    /// ended.
    pub wire_bytes: u64,
    /// Per source, what the planned chunk phase did, when the fetch had more than
    /// this peer as a source ([`fetch_from_sources`]).
    pub swarm: Option<SwarmReport>,
}

/// How to fetch.
#[derive(Clone, Default)]
pub struct FetchOptions {
    /// Take the member list even though there is none here, because it lists the
    /// pinned peer (a clone).
    pub trust_peer: bool,
    /// Progress callback.
    pub progress: Option<Progress>,
    /// Write the files of the branch a clone checks out
    /// ([`RemoteRefs::checkout_branch`]) as their chunks arrive, for the checkout
    /// to take ([`crate::store::prefill`]).
    pub prefill_checkout: bool,
    /// A clone that serves while it fetches: the member list received (and
    /// verified) is held here provisionally, so the clone's server admits the
    /// other members before the list lands ([`MemberKeys::hold_provisionally`]).
    pub hold_members: Option<MemberKeys>,
}

impl std::fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchOptions")
            .field("trust_peer", &self.trust_peer)
            .field("prefill_checkout", &self.prefill_checkout)
            .finish()
    }
}

/// Fetches everything the peer's branches, tags, member list and locks reach into
/// the store at `dir`, then moves `refs/remotes/NAME/*` to the peer's branches
/// (deleting the ones it no longer has), creates its tags that are absent here,
/// merges its member list and lock records.
pub async fn fetch(
    conn: &Connection,
    name: &str,
    dir: &Path,
    opts: FetchOptions,
) -> Result<FetchReport, SyncError> {
    fetch_from_sources(conn, name, dir, opts, Vec::new()).await
}

/// [`fetch`], with the chunks fetched from `sources` as well as from the peer on
/// `conn`, planned (`super::swarm`): rarest first, bytes in flight per source
/// following its measured rate, work moved off failing sources, an endgame. The
/// history, trees and file objects come from the peer on `conn`; its refs land.
pub async fn fetch_from_sources(
    conn: &Connection,
    name: &str,
    dir: &Path,
    opts: FetchOptions,
    sources: Vec<Arc<dyn Source>>,
) -> Result<FetchReport, SyncError> {
    fetch_impl(conn, name, dir, opts, sources, None).await
}

/// [`fetch_from_sources`], with more sources found while the history, trees and
/// file objects come in: `finding` (dialling the peers learnt by peer exchange or
/// configured, say) runs alongside the fetch on this task, and the sources it
/// yields join the planned chunk phase. The chunk phase waits for it; with no
/// source from either, the chunks come from the peer on `conn` alone, unplanned.
pub async fn fetch_finding_sources<F>(
    conn: &Connection,
    name: &str,
    dir: &Path,
    opts: FetchOptions,
    sources: Vec<Arc<dyn Source>>,
    finding: F,
) -> Result<FetchReport, SyncError>
where
    F: std::future::Future<Output = Vec<Arc<dyn Source>>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let find = async move {
        // The fetch may have ended (or needed no chunks) before: nothing to do.
        let _ = tx.send(finding.await);
    };
    let fetching = fetch_impl(conn, name, dir, opts, sources, Some(rx));
    let ((), report) = tokio::join!(find, fetching);
    report
}

async fn fetch_impl(
    conn: &Connection,
    name: &str,
    dir: &Path,
    opts: FetchOptions,
    sources: Vec<Arc<dyn Source>>,
    late: Option<tokio::sync::oneshot::Receiver<Vec<Arc<dyn Source>>>>,
) -> Result<FetchReport, SyncError> {
    let remote = list_refs(conn, name).await?;
    let lander = Lander::start(dir)?;
    let mut f = Fetcher::new(
        conn.inner.clone(),
        name.to_string(),
        dir,
        lander.sink(),
        opts.progress.clone(),
    )?;
    f.with_sources(sources);
    if let Some(late) = late {
        f.with_late_sources(late);
    }
    if opts.prefill_checkout {
        if let Some((_, commit)) = remote.checkout_branch() {
            f.prefill_checkout_of(commit);
        }
    }
    let result = fetch_into(&mut f, conn, name, dir, &remote, &opts).await;
    let plan = match result {
        Ok(plan) => plan,
        Err(e) => {
            // Keep what arrived (verified); land no refs. If the writer stopped on a
            // record that failed verification, that is the real cause.
            // Previews fetched ahead of the content are kept too.
            let landed = lander
                .land(Plan {
                    why: format!("fetch {name} (interrupted)"),
                    previews: std::mem::take(&mut f.preview_rows),
                    ..Plan::default()
                })
                .await;
            let e = match landed {
                Err(l) if is_bad_record(&l) => as_bad_data(l, name),
                _ => e,
            };
            if matches!(e, SyncError::BadData { .. } | SyncError::Protocol { .. }) {
                conn.close(super::protocol::CLOSE_PROTOCOL, e.to_string().as_bytes());
            }
            return Err(e);
        }
    };
    let transferred = f.done;
    let swarm = f.swarm.take();
    drop(f);
    let peer = plan.tracking.clone();
    let landed = match lander.land(plan).await {
        Ok(l) => l,
        Err(e) if is_bad_record(&e) => {
            conn.close(super::protocol::CLOSE_PROTOCOL, b"bad data");
            return Err(as_bad_data(e, name));
        }
        Err(e) => return Err(e),
    };
    let wire_bytes = conn.inner.stats().udp_rx.bytes;
    Ok(FetchReport {
        peer,
        remote,
        transferred,
        landed,
        wire_bytes,
        swarm,
    })
}

async fn fetch_into(
    f: &mut Fetcher,
    conn: &Connection,
    name: &str,
    dir: &Path,
    remote: &RemoteRefs,
    opts: &FetchOptions,
) -> Result<Plan, SyncError> {
    let trust_peer = opts.trust_peer;
    let haves = f.local_tips()?;
    let mut wants: Vec<ObjectId> = Vec::new();
    for (_, id) in &remote.refs {
        if !wants.contains(id) {
            wants.push(*id);
        }
    }
    let ids = history(&conn.inner, name, wants, haves).await?;
    // The member list and lock records first, then the content: with several
    // sources the chunks may finish from the others after this peer is gone.
    let mut plan = Plan {
        why: format!("fetch {name}"),
        ..Plan::default()
    };
    if let Some(m) = remote.members {
        let got = f.objects(&[m]).await?;
        let (kind, bytes) = got.get(&m).ok_or_else(|| SyncError::PeerMissing {
            peer: name.into(),
            id: m,
        })?;
        if *kind != ObjectKind::Members {
            return Err(bad(name, &m, format!("is a {kind}, not a member list")));
        }
        let list = Members::decode_verified(bytes).map_err(|e| bad(name, &m, e))?;
        if let Some(keys) = &opts.hold_members {
            keys.hold_provisionally(m, &list);
        }
        plan.members = Some((list, trust_peer.then_some(conn.peer)));
    }
    plan.locks = f.lock_records(&remote.locks).await?;
    f.closure_of(&ids).await?;
    plan.previews = std::mem::take(&mut f.preview_rows);
    // A clone learns the peer's name from the member list it just received.
    let tracking = match (&plan.members, trust_peer) {
        (Some((list, _)), true) => list
            .get(&conn.peer)
            .map(|e| e.name.clone())
            .unwrap_or_else(|| name.to_string()),
        _ => name.to_string(),
    };
    let store = Store::open(dir)?;
    plan.refs = tracking_changes(&store, &tracking, remote)?;
    plan.tracking = tracking;
    Ok(plan)
}

/// True if `e` is a received record that failed verification in the writer.
fn is_bad_record(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Store(crate::store::StoreError::BadRecord { .. })
    )
}

/// A record that failed verification, as the peer's fault.
fn as_bad_data(e: SyncError, peer: &str) -> SyncError {
    match e {
        SyncError::Store(crate::store::StoreError::BadRecord { id, problem }) => {
            SyncError::BadData {
                peer: peer.to_string(),
                id,
                reason: problem.to_string(),
            }
        }
        other => other,
    }
}

fn bad(peer: &str, id: &ObjectId, reason: impl std::fmt::Display) -> SyncError {
    SyncError::BadData {
        peer: peer.to_string(),
        id: *id,
        reason: reason.to_string(),
    }
}

/// The prefix of a peer's remote-tracking refs.
pub fn tracking_prefix(peer: &str) -> String {
    format!("refs/remotes/{peer}/")
}

/// Ref changes after fetching `remote` from the peer `name`.
fn tracking_changes(
    store: &Store,
    name: &str,
    remote: &RemoteRefs,
) -> Result<Vec<RefChange>, SyncError> {
    let prefix = tracking_prefix(name);
    let db = store.db();
    let mut changes = Vec::new();
    let mut theirs = HashSet::new();
    for (r, id) in &remote.refs {
        if let Some(branch) = r.strip_prefix("refs/heads/") {
            let tracking = format!("{prefix}{branch}");
            theirs.insert(tracking.clone());
            if matches!(db.read_ref(&tracking)?, Some(RefTarget::Id(have)) if have == *id) {
                continue;
            }
            changes.push(RefChange {
                name: tracking,
                expect: Expect::Any,
                new: Some(*id),
                fast_forward_only: false,
            });
        } else if r.starts_with("refs/tags/") {
            match db.read_ref(r)? {
                None => changes.push(RefChange {
                    name: r.clone(),
                    expect: Expect::Absent,
                    new: Some(*id),
                    fast_forward_only: false,
                }),
                Some(RefTarget::Id(have)) if have == *id => {}
                Some(_) => tracing::info!("tag {r} differs from {name}'s; kept ours"),
            }
        }
    }
    for (r, id) in db.list_refs(&prefix)? {
        if !theirs.contains(&r) {
            changes.push(RefChange {
                name: r,
                expect: Expect::Value(id),
                new: None,
                fast_forward_only: false,
            });
        }
    }
    Ok(changes)
}

/// Pushes: asks the peer to set each `updates` ref, serving the records it fetches
/// back meanwhile. Returns the peer's answer per ref (`None` = updated).
pub async fn push(
    conn: &Connection,
    name: &str,
    dir: &Path,
    updates: Vec<RefUpdate>,
) -> Result<Vec<(String, Option<String>)>, SyncError> {
    let config = Arc::new(ServeConfig::for_store(dir.to_path_buf(), Vec::new())?);
    let serving = tokio::spawn(serve_connection(
        conn.clone(),
        config,
        MemberKeys::default(),
        false,
    ));
    let result = async {
        let mut recv = request(&conn.inner, name, &Message::Push { updates }).await?;
        match next(&mut recv, name).await? {
            Message::PushResult { results } => Ok(results),
            other => Err(SyncError::Protocol {
                peer: name.into(),
                reason: format!("answered the push with {}", other.kind_name()),
            }),
        }
    }
    .await;
    serving.abort();
    result
}
