//! The operations that talk to peers: [`clone`], [`fetch`], [`pull`], [`push`],
//! [`sync`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::{chain, runtime, Error, NoProgress, Progress, Unit};
use crate::identity::{MachineKey, PublicKey};
use crate::store::chunker::ChunkParams;
use crate::store::db::{Expect, PeerSource, ReflogInfo};
use crate::store::{keys, prefill, Store, STORE_DIR};
use crate::sync::client;
use crate::sync::discovery::{self, LanConfig};
use crate::sync::fetch::Transferred;
use crate::sync::remote::{self, Remote, DEFAULT_PEER_KEY};
use crate::sync::swarm::{self, SwarmReport};
use crate::sync::wire::RefUpdate;
use crate::vcs::{MergeOutcome, Repo};

/// One ref a fetch or push changed, or was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefChange {
    /// The full ref name (`refs/remotes/bob/main`, `refs/heads/main`…).
    #[serde(rename = "ref")]
    pub name: String,
    /// Why it was not changed; `None` when it was.
    pub refused: Option<String>,
}

fn ref_changes(refs: &[(String, Option<String>)]) -> Vec<RefChange> {
    refs.iter()
        .map(|(name, why)| RefChange {
            name: name.clone(),
            refused: why.clone(),
        })
        .collect()
}

/// What [`fetch`] moved and changed; also the part of a [`CloneReport`] that
/// `gadn clone --json` shares with `gadn fetch --json`.
#[derive(Debug, Clone, Serialize)]
pub struct FetchReport {
    /// The peer's name (its remote-tracking refs are `refs/remotes/NAME/…`).
    pub peer: String,
    /// Objects received.
    pub objects: u64,
    /// Chunks received.
    pub chunks: u64,
    /// Raw bytes of the chunks received.
    pub chunk_bytes: u64,
    /// Payload bytes received (as the sender stores them).
    pub payload_bytes: u64,
    /// Bytes received on the connection.
    pub wire_bytes: u64,
    /// True if the member list changed.
    pub members_changed: bool,
    /// Lock records that changed.
    pub locks_changed: usize,
    /// Lock records refused because their signer may not write (a reader, or not a
    /// member); none became a current lock here.
    pub locks_refused: usize,
    /// Ref changes, with refusals.
    pub refs: Vec<RefChange>,
    /// The branch a clone checks out (the peer's HEAD branch, or its only one).
    #[serde(skip)]
    pub checkout_branch: Option<String>,
    /// Problems the last `fsck` of this store found, when it found any: a fetch
    /// never replaces a stored record, so it cannot mend them (`gadn fsck --repair`
    /// does). Null after a clean fsck, or when none ran.
    pub damaged_here: Option<u64>,
    /// With extra sources (`--peer`): what the planned chunk transfer did, per
    /// source (bytes, records, mean rate, errors, why dropped). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmReport>,
}

impl FetchReport {
    fn new(r: &client::FetchReport) -> FetchReport {
        let t: &Transferred = &r.transferred;
        FetchReport {
            peer: r.peer.clone(),
            objects: t.objects,
            chunks: t.chunks,
            chunk_bytes: t.chunk_bytes,
            payload_bytes: t.payload_bytes,
            wire_bytes: r.wire_bytes,
            members_changed: r.landed.members_changed,
            locks_changed: r.landed.locks_changed,
            locks_refused: r.landed.locks_refused,
            refs: ref_changes(&r.landed.refs),
            checkout_branch: r.remote.checkout_branch().map(|(b, _)| b),
            damaged_here: None,
            swarm: r.swarm.clone(),
        }
    }
}

/// A transfer's progress: the chunk bytes needed and received.
fn transfer_progress(p: &Arc<dyn Progress>) -> crate::sync::fetch::Progress {
    let p = p.clone();
    Arc::new(move |t: &Transferred| p.advance(t.chunk_bytes, t.chunk_bytes_needed))
}

/// How to [`clone`].
#[derive(Clone)]
pub struct CloneOptions {
    /// Who clones (the peer must list this key as a member).
    pub identity: Arc<MachineKey>,
    /// The serving peer: its public key @ HOST:PORT (as `gadn clone` takes it).
    pub source: String,
    /// The directory to create, or an interrupted clone of the same repository to
    /// resume.
    pub dir: PathBuf,
    /// Where the transfer's progress goes.
    pub progress: Arc<dyn Progress>,
    /// Extra sources of chunks, `KEY@HOST:PORT` each (`--peer`): the chunks are
    /// then planned over the source, all of these and the seeds its peer exchange
    /// names, at once.
    pub peers: Vec<String>,
    /// Most sources used, the source included (`--max-sources`); `None`:
    /// [`swarm::connect::DEFAULT_MAX_SOURCES`]. Hand-named peers come first.
    pub max_sources: Option<usize>,
}

impl CloneOptions {
    /// Clone `source` into `dir` as `identity`, showing no progress.
    pub fn new(identity: Arc<MachineKey>, source: &str, dir: &Path) -> CloneOptions {
        CloneOptions {
            identity,
            source: source.to_string(),
            dir: dir.to_path_buf(),
            progress: Arc::new(NoProgress),
            peers: Vec::new(),
            max_sources: None,
        }
    }
}

/// What [`clone`] did. Serialized, it is the [`FetchReport`] with `dir` and
/// `branch` added.
#[derive(Debug, Clone, Serialize)]
pub struct CloneReport {
    /// What moved.
    #[serde(flatten)]
    pub fetch: FetchReport,
    /// The repository's directory.
    pub dir: PathBuf,
    /// The branch checked out; `None` when the peer had no branches yet.
    pub branch: Option<String>,
}

/// State key (`store-format.md` § 7, the `state` table) marking a clone not yet
/// complete: its value is the source (`KEY@HOST:PORT`, as given). Set as soon as
/// the clone has its repository (made or resumed), removed once the checkout is
/// done, so a directory whose clone was interrupted says so ([`interrupted_clone`]).
pub const CLONE_INCOMPLETE_KEY: &str = "clone.incomplete";

/// The source of the interrupted clone `repo` is, if it is one (see
/// [`CLONE_INCOMPLETE_KEY`]): running the same clone into its directory resumes it.
pub fn interrupted_clone(repo: &Repo) -> Result<Option<String>, Error> {
    Ok(repo.store().db().state_get(CLONE_INCOMPLETE_KEY)?)
}

/// Copies a repository from a serving peer into `opts.dir`, pinning the peer's key:
/// creates the repository there with the peer's id and chunking (or resumes an
/// interrupted clone of the same repository), fetches everything, records the
/// peer (its name, address, and as the default peer), creates the branch the peer
/// checks out, tracking it, and switches to it.
///
/// A transfer that stops keeps what arrived ([`Error::CloneStopped`]) and leaves
/// the repository marked as an interrupted clone ([`CLONE_INCOMPLETE_KEY`]); the
/// same call resumes it, and clears the mark when it completes.
pub fn clone(opts: &CloneOptions) -> Result<CloneReport, Error> {
    clone_serving(opts, None).map(|(report, _)| report)
}

/// [`clone`], serving the new repository on UDP `serve` (port 0 picks one) from
/// the start: the chunks that landed go to the other members while the clone
/// fetches the rest (a partial seed, `store-format.md` § 15), which is how six
/// downloaders of one origin share its upload. Serving starts once the pinned
/// peer's member list has come (held provisionally until it lands, see
/// [`crate::sync::server::MemberKeys`]; no pushes are taken before), and goes on
/// after the clone until the returned handle is shut down.
///
/// The address is checked before anything is fetched: one that cannot be bound
/// fails the call at once.
pub fn clone_and_serve(
    opts: &CloneOptions,
    serve: SocketAddr,
) -> Result<(CloneReport, super::ServerHandle), Error> {
    let (report, handle) = clone_serving(opts, Some(serve))?;
    let handle = handle.ok_or_else(|| Error::ServerTask("the server did not start".into()))?;
    Ok((report, handle))
}

/// A server started by a clone: its bound address, stop switch and task.
struct CloneServer {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), crate::sync::SyncError>>,
}

/// [`clone`], and with `serve`, [`clone_and_serve`].
fn clone_serving(
    opts: &CloneOptions,
    serve: Option<SocketAddr>,
) -> Result<(CloneReport, Option<super::ServerHandle>), Error> {
    let (key, addr_text) = remote::parse_key_at(&opts.source)?;
    let dir = &opts.dir;
    let addrs = remote::socket_addrs(std::slice::from_ref(&addr_text));
    if addrs.is_empty() {
        return Err(Error::Unresolvable(addr_text));
    }
    // The serving address, checked (and its port picked) before anything moves.
    let serve = match serve {
        Some(addr) => Some(
            std::net::UdpSocket::bind(addr)
                .and_then(|s| s.local_addr())
                .map_err(|e| {
                    crate::sync::SyncError::Local(format!("cannot listen on {addr}: {e}"))
                })?,
        ),
        None => None,
    };
    let me = &opts.identity;
    let rt = runtime()?;
    let mut server: Option<CloneServer> = None;
    let fetched = rt.block_on(async {
        let endpoint = remote::client_endpoint(me, &addrs)?;
        let conn = client::connect(&endpoint, key, &addrs).await?;
        let listen: Vec<String> = serve
            .filter(|a| !a.ip().is_unspecified())
            .map(|a| a.to_string())
            .into_iter()
            .collect();
        let welcome = client::hello(&conn, "origin", None, listen.clone()).await?;
        let target = open_target(dir, &welcome.repo, welcome.chunking)?;
        target
            .store()
            .db()
            .state_set(CLONE_INCOMPLETE_KEY, &opts.source)?;
        let store_dir = target.store().dir().to_path_buf();
        drop(target);
        // Prefilled files of an earlier, interrupted attempt are not trusted.
        prefill::clear(&store_dir).map_err(|source| Error::Io {
            path: store_dir.clone(),
            source,
        })?;
        let hold_members = serve.map(|addr| {
            let keys = crate::sync::server::MemberKeys::default();
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let task = super::serve::serve_when_members_known(
                store_dir.clone(),
                me.clone(),
                addr,
                listen.clone(),
                keys.clone(),
                stopped,
            );
            server = Some(CloneServer { addr, stop, task });
            keys
        });
        // Peer exchange: the seeds the source knows join the chunk phase. A new
        // clone has no member list to check them against yet; their keys come from
        // the peer it pins (whose member list it takes), each is pinned in turn,
        // and every chunk is checked against the ids the source sent.
        let exchanged = remote::ask_peers(&conn, "origin").await;
        let plan = swarm::connect::plan(
            &opts.peers,
            swarm::connect::from_exchange(&exchanged),
            &[key, me.public()],
            opts.max_sources,
        );
        opts.progress.start("receiving", Unit::Bytes, 0);
        let report = client::fetch_finding_sources(
            &conn,
            "origin",
            &store_dir,
            client::FetchOptions {
                trust_peer: true,
                progress: Some(transfer_progress(&opts.progress)),
                prefill_checkout: true,
                hold_members,
            },
            Vec::new(),
            swarm::connect::dial(&endpoint, plan, &welcome.repo),
        )
        .await;
        opts.progress.finish();
        conn.close(0, b"");
        if report.is_ok() {
            // Now that the member list has landed: the members' addresses, for
            // the next fetch.
            if let Ok(store) = Store::open(&store_dir) {
                remote::keep_exchanged(&store, &exchanged);
            }
        }
        report
            .map(|r| (r, welcome.repo.clone()))
            .map_err(|source| match source {
                // Running the clone again cannot help: say whose store needs repair.
                e @ crate::sync::SyncError::PeerDamaged { .. } => Error::from(e),
                source => Error::CloneStopped {
                    dir: dir.clone(),
                    source: Box::new(source),
                },
            })
    });
    let done = fetched.and_then(|(fetched, repo_id)| {
        finish_clone(opts, key, &addr_text, &fetched).map(|report| (report, repo_id))
    });
    let (report, repo_id) = match done {
        Ok(r) => r,
        Err(e) => {
            if let Some(s) = server {
                let _ = s.stop.send(true);
                let _ = rt.block_on(s.task);
            }
            return Err(e);
        }
    };
    let handle = server.map(|s| super::ServerHandle::of_task(rt, s.addr, repo_id, s.stop, s.task));
    Ok((report, handle))
}

/// The clone's last steps once everything is fetched: records the peer, checks out
/// the branch it checks out, clears the interrupted-clone mark.
fn finish_clone(
    opts: &CloneOptions,
    key: PublicKey,
    addr_text: &str,
    report: &client::FetchReport,
) -> Result<CloneReport, Error> {
    let dir = &opts.dir;
    // Open anew: the fetch added packs an earlier handle has not seen.
    let mut repo = Repo::open(dir)?;
    let store_dir = repo.store().dir().to_path_buf();
    let db = repo.store().db();
    db.peer_upsert(&key, Some(&report.peer), PeerSource::Config)?;
    db.peer_add_addr(
        &key,
        addr_text,
        PeerSource::Config,
        Some(chrono::Utc::now().timestamp()),
    )?;
    db.config_set(DEFAULT_PEER_KEY, &report.peer)?;
    let branch = report.remote.checkout_branch().map(|(b, _)| b);
    let checked_out = match branch {
        Some(b) => check_out_tracking(&mut repo, &b, &report.peer).map(|_| Some(b)),
        None => Ok(None),
    };
    // What the checkout did not take (or all of it, if it failed) goes.
    let _ = prefill::clear(&store_dir);
    let branch = checked_out?;
    repo.store().db().state_delete(CLONE_INCOMPLETE_KEY)?;
    Ok(CloneReport {
        fetch: FetchReport::new(report),
        dir: dir.clone(),
        branch,
    })
}

/// Creates branch `b` from `PEER/b` unless it exists, and switches to it.
fn check_out_tracking(repo: &mut Repo, b: &str, peer: &str) -> Result<(), Error> {
    let here = repo
        .store()
        .db()
        .resolve_ref(&format!("refs/heads/{b}"))?
        .and_then(|(_, id)| id);
    if here.is_none() {
        repo.create_branch(b, Some(&format!("{peer}/{b}")))?;
    }
    repo.switch(b, false, true)?;
    Ok(())
}

/// The repository to clone into: a new one at `dir` (which must not exist or be
/// empty) with the peer's repository id and chunking, or an interrupted clone of the
/// same repository there (resumed).
fn open_target(
    dir: &Path,
    repo_id: &str,
    chunking: Option<(u32, u32, u32)>,
) -> Result<Repo, Error> {
    if dir.join(STORE_DIR).is_dir() {
        let repo = Repo::open(dir)?;
        let found = repo.store().repository_id()?;
        if found != repo_id {
            return Err(Error::OtherRepository {
                dir: dir.to_path_buf(),
                found,
            });
        }
        if head_commit(&repo)?.is_some() {
            return Err(Error::AlreadyCloned(dir.to_path_buf()));
        }
        return Ok(repo);
    }
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(|source| Error::Io {
                path: dir.to_path_buf(),
                source,
            })?
            .next()
            .is_none();
        if !empty {
            return Err(Error::NotEmpty(dir.to_path_buf()));
        }
    }
    let params = match chunking {
        Some((min, avg, max)) => {
            ChunkParams::new(min, avg, max).map_err(|e| Error::Chunking(e.to_string()))?
        }
        None => ChunkParams::DEFAULT,
    };
    let repo = Repo::init(dir, params)?;
    repo.store().db().config_set(keys::REPO_ID, repo_id)?;
    Ok(repo)
}

/// The commit HEAD points at, if any.
fn head_commit(repo: &Repo) -> Result<Option<crate::store::ObjectId>, Error> {
    Ok(repo
        .store()
        .db()
        .resolve_ref("HEAD")?
        .and_then(|(_, id)| id))
}

/// How to [`fetch`].
#[derive(Clone)]
pub struct FetchOptions {
    /// Who fetches.
    pub identity: Arc<MachineKey>,
    /// The member to fetch from (name or key); `None`: the one cloned from, or the
    /// only one with an address.
    pub peer: Option<String>,
    /// Where the transfer's progress goes.
    pub progress: Arc<dyn Progress>,
    /// Extra sources of chunks, `KEY@HOST:PORT` each (`--peer`), as for
    /// [`CloneOptions::peers`]; the other members with a known address (configured,
    /// heard on the LAN, learnt by peer exchange) are sources too.
    pub peers: Vec<String>,
    /// Most sources used, the peer included (`--max-sources`); `None`:
    /// [`swarm::connect::DEFAULT_MAX_SOURCES`]. Hand-named peers come first.
    pub max_sources: Option<usize>,
}

impl FetchOptions {
    /// Fetch from the default peer as `identity`, showing no progress.
    pub fn new(identity: Arc<MachineKey>) -> FetchOptions {
        FetchOptions {
            identity,
            peer: None,
            progress: Arc::new(NoProgress),
            peers: Vec::new(),
            max_sources: None,
        }
    }
}

/// The peer named by `spec` (a member's name or key), or the default one.
fn remote_for(store: &Store, me: &MachineKey, spec: Option<&str>) -> Result<Remote, Error> {
    Ok(match spec {
        Some(s) => remote::resolve(store, s)?,
        None => remote::default_remote(store, &me.public())?,
    })
}

/// Fetches from `remote` into the store at `store_dir`, with the chunks also from
/// the extra sources `peers` (`KEY@HOST:PORT` each).
async fn fetch_remote(
    me: &MachineKey,
    remote: &Remote,
    store_dir: &Path,
    progress: &Arc<dyn Progress>,
    peers: &[String],
    max_sources: Option<usize>,
) -> Result<FetchReport, Error> {
    // Opening exchanges peers: the members' addresses the peer knows are kept.
    let session = remote::open(me, remote, store_dir).await?;
    let learnt = learnt_sources(store_dir, me, remote)?;
    let plan = swarm::connect::plan(peers, learnt, &[remote.key, me.public()], max_sources);
    progress.start(&format!("fetching from {}", remote.name), Unit::Bytes, 0);
    let report = client::fetch_finding_sources(
        &session.conn,
        &remote.name,
        store_dir,
        member_fetch(progress),
        Vec::new(),
        swarm::connect::dial(&session.endpoint, plan, &session.welcome.repo),
    )
    .await;
    progress.finish();
    session.conn.close(0, b"");
    fetch_outcome(remote, report)
}

/// A fetch's result as the operations report it.
fn fetch_outcome(
    remote: &Remote,
    report: Result<client::FetchReport, crate::sync::SyncError>,
) -> Result<FetchReport, Error> {
    match report {
        Ok(r) => Ok(FetchReport::new(&r)),
        Err(e @ crate::sync::SyncError::PeerDamaged { .. }) => Err(Error::from(e)),
        Err(source) if local_damage(&source) => Err(Error::LocalDamaged {
            peer: remote.name.clone(),
            source: Box::new(source),
        }),
        Err(source) => Err(Error::FetchStopped {
            peer: remote.name.clone(),
            source: Box::new(source),
        }),
    }
}

/// The other current members with a known address (configured, heard on the LAN
/// or learnt by peer exchange: the `peers` rows, most recently seen first), as
/// extra sources of a fetch from `remote`, named by their member names.
fn learnt_sources(
    store_dir: &Path,
    me: &MachineKey,
    remote: &Remote,
) -> Result<Vec<swarm::connect::Candidate>, Error> {
    let store = Store::open(store_dir)?;
    Ok(remote::others(&store, &me.public())?
        .into_iter()
        .filter(|r| r.key != remote.key && !r.addrs.is_empty())
        .map(|r| swarm::connect::Candidate {
            name: r.name,
            key: r.key,
            addrs: r
                .addrs
                .into_iter()
                .take(swarm::connect::MAX_ADDRS_PER_PEER)
                .collect(),
        })
        .collect())
}

/// True if `e` is a record of this store failing its check (not the peer's fault).
fn local_damage(e: &crate::sync::SyncError) -> bool {
    use crate::store::pack::PackError;
    use crate::store::StoreError;
    matches!(
        e,
        crate::sync::SyncError::Store(StoreError::Pack(
            PackError::Record { .. } | PackError::InDamagedPack { .. }
        ))
    )
}

/// The store directory of the repository at `repo` (its working tree root).
fn store_dir_of(repo: &Path) -> Result<PathBuf, Error> {
    Ok(Repo::open(repo)?.store().dir().to_path_buf())
}

/// Downloads a peer's branches (into `refs/remotes/PEER/…`), tags, member list
/// and locks into the repository at `repo` (its root directory).
///
/// A transfer that stops keeps what arrived ([`Error::FetchStopped`]); the next
/// fetch resumes from there.
pub fn fetch(repo: &Path, opts: &FetchOptions) -> Result<FetchReport, Error> {
    let store_dir = store_dir_of(repo)?;
    let remote = remote_for(
        &Store::open(&store_dir)?,
        &opts.identity,
        opts.peer.as_deref(),
    )?;
    let mut report = runtime()?.block_on(fetch_remote(
        &opts.identity,
        &remote,
        &store_dir,
        &opts.progress,
        &opts.peers,
        opts.max_sources,
    ))?;
    report.damaged_here = super::inspect::last_fsck_problems(&Store::open(&store_dir)?)?;
    Ok(report)
}

/// How to [`pull`].
#[derive(Clone)]
pub struct PullOptions {
    /// Who fetches, from which peer, with what progress (as for [`fetch`]).
    pub fetch: FetchOptions,
    /// Their branch to merge; `None`: the one named like the current branch.
    pub branch: Option<String>,
}

/// What [`pull`] did.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    /// What the fetch moved.
    pub fetch: FetchReport,
    /// Their branch taken or merged, as `PEER/BRANCH`.
    pub theirs: String,
    /// The branch created from theirs, when HEAD had no commits yet.
    pub set_up: Option<String>,
    /// What the merge did, when HEAD had commits.
    pub merge: Option<MergeOutcome>,
}

/// Fetches, then merges the peer's version of the current branch (or of
/// `opts.branch`) into HEAD. On a branch with no commits yet, takes theirs as the
/// branch instead.
pub fn pull(repo: &Path, opts: &PullOptions) -> Result<PullReport, Error> {
    let current = {
        let r = Repo::open(repo)?;
        match r.store().db().resolve_ref("HEAD")? {
            Some((name, _)) => name.strip_prefix("refs/heads/").map(str::to_string),
            None => None,
        }
    };
    let fetched = fetch(repo, &opts.fetch)?;
    let branch = match (opts.branch.clone(), current.clone()) {
        (Some(b), _) | (None, Some(b)) => b,
        (None, None) => return Err(Error::DetachedHead),
    };
    let theirs = format!("{}/{branch}", fetched.peer);
    let mut r = Repo::open(repo)?;
    if r.store()
        .db()
        .resolve_ref(&format!("refs/remotes/{theirs}"))?
        .is_none()
    {
        return Err(Error::NoRemoteBranch {
            peer: fetched.peer,
            branch,
        });
    }
    if head_commit(&r)?.is_none() {
        // Nothing here yet: take theirs as the branch.
        let name = current.unwrap_or(branch);
        r.create_branch(&name, Some(&theirs))?;
        r.switch(&name, false, true)?;
        return Ok(PullReport {
            fetch: fetched,
            theirs,
            set_up: Some(name),
            merge: None,
        });
    }
    let outcome = r.merge(&theirs)?;
    Ok(PullReport {
        fetch: fetched,
        theirs,
        set_up: None,
        merge: Some(outcome),
    })
}

/// How to [`push`].
#[derive(Clone)]
pub struct PushOptions {
    /// Who pushes.
    pub identity: Arc<MachineKey>,
    /// The member to push to (name or key); `None` as for [`FetchOptions::peer`].
    pub peer: Option<String>,
    /// Branches to push (empty: the current one). `SRC:DST` pushes local SRC as
    /// their DST.
    pub branches: Vec<String>,
    /// Move their branch even when it is not a fast-forward.
    pub force: bool,
}

/// What [`push`] did.
#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    /// The peer pushed to.
    pub peer: String,
    /// Their answer per ref.
    pub refs: Vec<RefChange>,
}

impl PushReport {
    /// True if the peer refused any ref.
    pub fn any_refused(&self) -> bool {
        self.refs.iter().any(|r| r.refused.is_some())
    }
}

/// Asks a peer to take branches: it fetches them from here and moves its refs as
/// fast-forwards only (unless `force`). The remote-tracking refs of the branches
/// it took are moved here too, for the next merge or push.
pub fn push(repo: &Path, opts: &PushOptions) -> Result<PushReport, Error> {
    let r = Repo::open(repo)?;
    let store_dir = r.store().dir().to_path_buf();
    let remote = remote_for(r.store(), &opts.identity, opts.peer.as_deref())?;
    let db = r.store().db();
    let specs = if opts.branches.is_empty() {
        match db.resolve_ref("HEAD")? {
            Some((name, Some(_))) if name.starts_with("refs/heads/") => {
                vec![name.trim_start_matches("refs/heads/").to_string()]
            }
            _ => return Err(Error::NothingToPush),
        }
    } else {
        opts.branches.clone()
    };
    let mut wanted = Vec::new();
    for spec in &specs {
        let (src, dst) = spec.split_once(':').unwrap_or((spec, spec));
        let id = db
            .resolve_ref(&format!("refs/heads/{src}"))?
            .and_then(|(_, id)| id)
            .ok_or_else(|| Error::NoSuchBranch(src.to_string()))?;
        wanted.push((format!("refs/heads/{dst}"), dst.to_string(), id));
    }
    drop(r);
    let results = runtime()?.block_on(async {
        let session = remote::open(&opts.identity, &remote, &store_dir).await?;
        let theirs = client::list_refs(&session.conn, &remote.name).await?;
        let updates: Vec<RefUpdate> = wanted
            .iter()
            .map(|(name, _, id)| RefUpdate {
                name: name.clone(),
                old: theirs
                    .refs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, id)| *id),
                new: *id,
                force: opts.force,
            })
            .collect();
        let r = client::push(&session.conn, &remote.name, &store_dir, updates).await;
        session.conn.close(0, b"");
        r
    })?;
    // Their branches as they now are, for the next merge or push.
    let store = Store::open(&store_dir)?;
    let log = ReflogInfo {
        who: "gadn push".into(),
        time: chrono::Utc::now().timestamp(),
        tz_offset_min: 0,
        message: format!("push to {}", remote.name),
    };
    for (name, why) in &results {
        if why.is_none() {
            if let Some((_, dst, id)) = wanted.iter().find(|(n, _, _)| n == name) {
                let tracking = format!("refs/remotes/{}/{dst}", remote.name);
                store.db().update_ref(&tracking, Expect::Any, *id, &log)?;
            }
        }
    }
    Ok(PushReport {
        peer: remote.name,
        refs: ref_changes(&results),
    })
}

/// How to [`sync`].
#[derive(Clone)]
pub struct SyncOptions {
    /// Who syncs.
    pub identity: Arc<MachineKey>,
    /// Listen this long for members announcing themselves on the LAN first
    /// (zero: only the addresses already known).
    pub discover: Duration,
    /// Where to listen for LAN announcements.
    pub lan: LanConfig,
    /// Where each fetch's progress goes.
    pub progress: Arc<dyn Progress>,
    /// Most members one fetch takes chunks from, the one fetched from included;
    /// `None`: [`swarm::connect::DEFAULT_MAX_SOURCES`].
    pub max_sources: Option<usize>,
}

impl SyncOptions {
    /// Sync with the known addresses as `identity`, showing no progress.
    pub fn new(identity: Arc<MachineKey>) -> SyncOptions {
        SyncOptions {
            identity,
            discover: Duration::ZERO,
            lan: LanConfig::default(),
            progress: Arc::new(NoProgress),
            max_sources: None,
        }
    }
}

/// A member heard on the LAN and recorded.
#[derive(Debug, Clone, Serialize)]
pub struct FoundPeer {
    /// Its public key (as `gadn id` prints it).
    pub key: String,
    /// Its short form, for people.
    pub short: String,
    /// Where it announced it listens.
    pub addr: SocketAddr,
}

/// A member [`sync`] could not fetch from.
#[derive(Debug, Clone, Serialize)]
pub struct PeerFailure {
    /// The member's name.
    pub peer: String,
    /// Why, with its causes.
    pub error: String,
}

/// What [`sync`] did.
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// Members found on the LAN (and recorded) before syncing.
    pub found: Vec<FoundPeer>,
    /// One report per member fetched from.
    pub fetched: Vec<FetchReport>,
    /// The members that were unreachable or whose fetch failed.
    pub failed: Vec<PeerFailure>,
    /// Members without a known address (not tried).
    pub without_address: usize,
}

/// Fetches from every member with a known address (after listening on the LAN
/// for `opts.discover`, recording the members heard), in one planned transfer:
/// all of them are connected at once; the first that answers gives the history,
/// trees and file objects, and the chunks are planned over every member reached
/// (at most `opts.max_sources`). Each other member's refs are then fetched from
/// it, with the members reached as sources again, so what only it has still
/// comes in, and little else moves. A member that fails does not stop the
/// others: it is listed in [`SyncReport::failed`].
pub fn sync(repo: &Path, opts: &SyncOptions) -> Result<SyncReport, Error> {
    let r = Repo::open(repo)?;
    let store_dir = r.store().dir().to_path_buf();
    let repo_id = r.store().repository_id()?;
    drop(r);
    let me = &opts.identity;
    let rt = runtime()?;
    let mut found = Vec::new();
    if !opts.discover.is_zero() {
        let heard = rt.block_on(discover_members(
            opts.lan,
            repo_id,
            me.public(),
            opts.discover,
        ))?;
        let store = Store::open(&store_dir)?;
        for (key, addr) in heard {
            if discovery::record_peer(&store, &key, addr).map_err(Error::Discovery)? {
                found.push(FoundPeer {
                    key: key.to_text(),
                    short: key.short(),
                    addr,
                });
            }
        }
    }
    let peers = remote::others(&Store::open(&store_dir)?, &me.public())?;
    let mut report = SyncReport {
        found,
        fetched: Vec::new(),
        failed: Vec::new(),
        without_address: peers.iter().filter(|r| r.addrs.is_empty()).count(),
    };
    let with_addr: Vec<&Remote> = peers.iter().filter(|r| !r.addrs.is_empty()).collect();
    rt.block_on(async {
        let opened = swarm::connect::join_all(
            with_addr
                .iter()
                .map(|r| remote::open(me, r, &store_dir))
                .collect(),
        )
        .await;
        let mut sessions = Vec::new();
        for (remote, s) in with_addr.iter().zip(opened) {
            match s {
                Ok(s) => sessions.push((*remote, s)),
                Err(e) => report.failed.push(PeerFailure {
                    peer: remote.name.clone(),
                    error: chain(&Error::from(e)),
                }),
            }
        }
        let cap = opts
            .max_sources
            .unwrap_or(swarm::connect::DEFAULT_MAX_SOURCES)
            .max(1);
        for (i, (remote, session)) in sessions.iter().enumerate() {
            let extra: Vec<Arc<dyn swarm::Source>> = sessions
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .take(cap - 1)
                .map(|(_, (r, s))| session_source(&r.name, s))
                .collect();
            match fetch_session(remote, session, &store_dir, &opts.progress, extra).await {
                Ok(f) => report.fetched.push(f),
                Err(e) => report.failed.push(PeerFailure {
                    peer: remote.name.clone(),
                    error: chain(&e),
                }),
            }
        }
        for (_, s) in &sessions {
            s.conn.close(0, b"");
        }
    });
    Ok(report)
}

/// A member reached by [`sync`] as a source of the others' chunk phases.
fn session_source(name: &str, s: &remote::Session) -> Arc<dyn swarm::Source> {
    Arc::new(swarm::PeerSource::offered(
        s.conn.inner.clone(),
        name,
        &s.welcome.caps,
    ))
}

/// How `fetch` and `sync` fetch from a member: its refs checked against the member
/// list here, progress on `progress`, no prefilled checkout.
fn member_fetch(progress: &Arc<dyn Progress>) -> client::FetchOptions {
    client::FetchOptions {
        trust_peer: false,
        progress: Some(transfer_progress(progress)),
        prefill_checkout: false,
        hold_members: None,
    }
}

/// One fetch of [`sync`]: from the member on `session`, the chunks also from
/// `extra`.
async fn fetch_session(
    remote: &Remote,
    session: &remote::Session,
    store_dir: &Path,
    progress: &Arc<dyn Progress>,
    extra: Vec<Arc<dyn swarm::Source>>,
) -> Result<FetchReport, Error> {
    progress.start(&format!("fetching from {}", remote.name), Unit::Bytes, 0);
    let report = client::fetch_from_sources(
        &session.conn,
        &remote.name,
        store_dir,
        member_fetch(progress),
        extra,
    )
    .await;
    progress.finish();
    fetch_outcome(remote, report)
}

/// Listens on the LAN for `wait` and returns the members of `repo_id` heard (other
/// than `own`), each once.
pub(super) async fn discover_members(
    cfg: LanConfig,
    repo_id: String,
    own: PublicKey,
    wait: Duration,
) -> Result<Vec<(PublicKey, SocketAddr)>, Error> {
    let found = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
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
        Ok(r) => r.map_err(Error::Discovery)?,
        Err(e) => return Err(Error::ServerTask(format!("LAN discovery: {e}"))),
    }
    let v = found.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(v)
}
