//! [`fsck_repair`]: `gadn fsck --repair [--from PEER]` — refetch exactly the damaged
//! and missing records of a store from healthy copies, then prove the store whole.
//!
//! Sources, in order: other packs of this store (a healthy duplicate, as
//! consolidation can leave), then either the one `--from` names — a member (name or
//! key), `KEY@HOST:PORT`, or the directory of another local store (a repository,
//! its `.gadn`, or a Git repository with `.git/gadn`) — or, without `--from`, every
//! other member with a known address, in turn. There is no list of other local
//! stores to try by default: a local store is a source only when named.
//!
//! Each record received is re-hashed against its id before it is appended to a new
//! pack; once that pack is sealed, the pack holding the damaged copy is rewritten
//! without it ([`crate::store::pack::PackSet::drop_superseded`]), so no reader ever
//! finds the damaged copy first again, and at no moment is a good record only in
//! memory or only in a file about to be deleted. Records that no source has stay
//! where they are and are named in the report.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use super::inspect::StoreOf;
use super::{runtime, Error, NoProgress, Progress, Unit};
use crate::identity::MachineKey;
use crate::store::pack::{DamagedAt, DropReport};
use crate::store::repair::{wanted, Want};
use crate::store::walk::reachable;
use crate::store::{FsckReport, ObjectId, ObjectWriter, Store, DB_FILE, PACK_DIR, STORE_DIR};
use crate::sync::remote::{self, Remote};
use crate::sync::repair::{ask_for, Answered};
use crate::sync::SyncError;

/// Rounds of asking: records received can name further missing records (the
/// children of a tree that was missing), found by walking again after each round.
pub const MAX_ROUNDS: usize = 64;

/// How to [`fsck_repair`].
#[derive(Clone)]
pub struct RepairOptions {
    /// Who asks (peers admit members only).
    pub identity: Arc<MachineKey>,
    /// The one source to ask (see the module docs); `None`: every other member
    /// with a known address.
    pub from: Option<String>,
    /// Where the verification's progress goes.
    pub progress: Arc<dyn Progress>,
}

impl RepairOptions {
    /// Repair from every known peer as `identity`, showing no progress.
    pub fn new(identity: Arc<MachineKey>) -> RepairOptions {
        RepairOptions {
            identity,
            from: None,
            progress: Arc::new(NoProgress),
        }
    }
}

/// What one source gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The peer's name, or the other store's directory, or `this store`.
    pub source: String,
    /// Records asked for, over all rounds.
    pub asked: usize,
    /// Records received and verified.
    pub received: usize,
    /// Records it does not have.
    pub missing: usize,
    /// Records it has but are damaged there too (it said so, or they failed
    /// their check when read).
    pub damaged: usize,
    /// Why it could not be asked, or stopped answering (it is skipped after that).
    pub error: Option<String>,
}

/// One record a healthy copy now stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repaired {
    /// Its id.
    pub id: String,
    /// What was wrong with it.
    pub was: Want,
    /// The source of the healthy copy.
    pub from: String,
}

/// One problem the final check still found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StillDamaged {
    /// The record, when the problem is one record.
    pub id: Option<String>,
    /// Its kind, when known.
    pub kind: Option<&'static str>,
    /// Where: `PACK at offset N`, or who points at it for a broken link.
    pub at: String,
    /// What is wrong.
    pub reason: String,
}

/// What [`fsck_repair`] did.
#[derive(Debug, Clone, Serialize)]
pub struct RepairReport {
    /// Distinct records found damaged at the start.
    pub found_damaged: usize,
    /// Records found missing at the start (and later, below records received).
    pub found_missing: usize,
    /// What each source gave, in the order asked.
    pub sources: Vec<SourceReport>,
    /// The records repaired.
    pub repaired: Vec<Repaired>,
    /// Damaged packs rewritten without their superseded records: `(old, new)`,
    /// `new` null when nothing else was in the pack.
    pub packs_rewritten: Vec<(String, Option<String>)>,
    /// What the final check still found, each named.
    pub still_damaged: Vec<StillDamaged>,
    /// The final check of the whole store.
    pub fsck: FsckReport,
}

impl RepairReport {
    /// True when the store ended whole.
    pub fn is_ok(&self) -> bool {
        self.fsck.is_ok()
    }
}

/// Where healthy copies are asked for.
enum Source {
    Peer(Remote),
    Store(PathBuf),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Peer(r) => r.name.clone(),
            Source::Store(p) => p.display().to_string(),
        }
    }
}

/// Runs fsck on the store `of` names, refetches the damaged and missing records it
/// found from healthy copies (see the module docs for the sources and the order of
/// writes), and runs fsck again. Holds the store's write lock throughout. An error
/// means the repair could not run; what it could not repair is in the report
/// ([`RepairReport::is_ok`] false).
pub fn fsck_repair(of: StoreOf<'_>, opts: &RepairOptions) -> Result<RepairReport, Error> {
    let dir = store_dir(of)?;
    let mut store = Store::open(&dir)?;
    let (lock, _) = store.lock()?;
    let before = verify(&store, &*opts.progress)?;
    let mut want = wanted(&before);
    let mut report = RepairReport {
        found_damaged: want.values().filter(|(w, _)| *w == Want::Damaged).count(),
        found_missing: want.values().filter(|(w, _)| *w == Want::Missing).count(),
        sources: Vec::new(),
        repaired: Vec::new(),
        packs_rewritten: Vec::new(),
        still_damaged: Vec::new(),
        fsck: before.clone(),
    };
    // Damaged copies whose id another pack here holds healthy need no source.
    let sites: Vec<DamagedAt> = want.values().flat_map(|(_, s)| s.clone()).collect();
    let here = "this store".to_string();
    let dropped = store.drop_superseded(&lock, &sites)?;
    let mut done: BTreeSet<ObjectId> = BTreeSet::new();
    settle(&mut want, &mut report, &dropped, &mut done, &here);

    let sources = if want.keys().any(|id| !done.contains(id)) {
        sources_for(&store, opts)?
    } else {
        Vec::new()
    };
    let mut by_source: Vec<SourceReport> = sources
        .iter()
        .map(|s| SourceReport {
            source: s.name(),
            ..SourceReport::default()
        })
        .collect();
    // Per source, the ids it was asked for: none is asked twice.
    let mut asked: Vec<BTreeSet<ObjectId>> = vec![BTreeSet::new(); sources.len()];
    let rt = runtime()?;
    for _round in 0..MAX_ROUNDS {
        let mut received: BTreeMap<ObjectId, String> = BTreeMap::new();
        {
            let mut w = store.writer(&lock);
            for ((src, sr), tried) in sources.iter().zip(by_source.iter_mut()).zip(&mut asked) {
                let need: Vec<ObjectId> = want
                    .keys()
                    .filter(|id| {
                        !done.contains(id) && !received.contains_key(id) && !tried.contains(id)
                    })
                    .copied()
                    .collect();
                if need.is_empty() || sr.error.is_some() {
                    continue;
                }
                tried.extend(need.iter().copied());
                sr.asked += need.len();
                let answered = match src {
                    Source::Peer(remote) => {
                        rt.block_on(ask_peer(&opts.identity, remote, &dir, &need, &mut w))
                    }
                    Source::Store(path) => ask_store(path, &need, &mut w).map_err(SyncError::from),
                };
                match answered {
                    Ok(a) => {
                        sr.received += a.received.len();
                        sr.missing += a.missing.len();
                        sr.damaged += a.damaged.len();
                        for id in a.received {
                            received.insert(id, sr.source.clone());
                        }
                    }
                    Err(e) => sr.error = Some(super::chain(&e)),
                }
            }
            w.finish()?;
        }
        if received.is_empty() {
            break;
        }
        let sites: Vec<DamagedAt> = received
            .keys()
            .filter_map(|id| want.get(id))
            .flat_map(|(_, s)| s.clone())
            .collect();
        let dropped = store.drop_superseded(&lock, &sites)?;
        for (id, from) in &received {
            if want.get(id).is_some_and(|(was, _)| *was == Want::Missing) {
                done.insert(*id);
                report.repaired.push(Repaired {
                    id: id.to_hex(),
                    was: Want::Missing,
                    from: from.clone(),
                });
            }
        }
        settle_from(&mut want, &mut report, &dropped, &mut done, &received);
        // A record received is not asked for again, even if its damaged copy could
        // not be dropped (the final check names it then).
        done.extend(received.keys());
        // What arrived may name records missing here too.
        let mut new_missing = false;
        for p in reachable(&store)?.problems {
            if p.reason != "missing" {
                continue;
            }
            if let Ok(id) = p.id.parse::<ObjectId>() {
                if let std::collections::btree_map::Entry::Vacant(v) = want.entry(id) {
                    v.insert((Want::Missing, Vec::new()));
                    report.found_missing += 1;
                    new_missing = true;
                }
            }
        }
        if !new_missing && want.keys().all(|id| done.contains(id)) {
            break;
        }
    }
    report.sources = by_source;
    drop(lock);
    // Proven from the disk as a fresh reader sees it.
    let fresh = Store::open(&dir)?;
    let after = verify(&fresh, &*opts.progress)?;
    super::inspect::mark_damage(&fresh, &after);
    report.still_damaged = named(&after);
    report.fsck = after;
    Ok(report)
}

/// Records the damaged sites `dropped` took away (their records now read from a
/// healthy copy) as repaired from `from`, and points the sites still waiting in
/// rewritten packs at the new pack.
fn settle(
    want: &mut BTreeMap<ObjectId, (Want, Vec<DamagedAt>)>,
    report: &mut RepairReport,
    dropped: &DropReport,
    done: &mut BTreeSet<ObjectId>,
    from: &str,
) {
    let received: BTreeMap<ObjectId, String> = dropped
        .dropped
        .iter()
        .map(|d| (d.id, from.to_string()))
        .collect();
    settle_from(want, report, dropped, done, &received);
}

/// [`settle`], with the source of each record in `received`.
fn settle_from(
    want: &mut BTreeMap<ObjectId, (Want, Vec<DamagedAt>)>,
    report: &mut RepairReport,
    dropped: &DropReport,
    done: &mut BTreeSet<ObjectId>,
    received: &BTreeMap<ObjectId, String>,
) {
    report
        .packs_rewritten
        .extend(dropped.rewritten.iter().cloned());
    for (id, (was, sites)) in want.iter_mut() {
        sites.retain(|s| !dropped.dropped.contains(s));
        for s in sites.iter_mut() {
            if let Some((_, Some(new))) = dropped.rewritten.iter().find(|(old, _)| *old == s.pack) {
                s.pack = new.clone();
            }
        }
        if *was == Want::Damaged && sites.is_empty() && !done.contains(id) {
            if let Some(from) = received.get(id) {
                done.insert(*id);
                report.repaired.push(Repaired {
                    id: id.to_hex(),
                    was: Want::Damaged,
                    from: from.clone(),
                });
            }
        }
    }
}

/// The store directory `of` names.
fn store_dir(of: StoreOf<'_>) -> Result<PathBuf, Error> {
    Ok(match of {
        StoreOf::Repo(repo) => repo.store().dir().to_path_buf(),
        #[cfg(feature = "git")]
        StoreOf::Git(cwd) => super::inspect::open_git_store(cwd)?.dir().to_path_buf(),
    })
}

/// fsck of `store`, reporting bytes verified to `progress`.
fn verify(store: &Store, progress: &dyn Progress) -> Result<FsckReport, Error> {
    let total = store.pack_bytes();
    progress.start("verifying", Unit::Bytes, total);
    let report = store.fsck(&mut |n| progress.advance(n, total));
    progress.finish();
    Ok(report?)
}

/// Every problem of `report`, named.
fn named(report: &FsckReport) -> Vec<StillDamaged> {
    let damaged = report.damaged.iter().map(|d| StillDamaged {
        id: d.id.clone(),
        kind: d.kind,
        at: format!("{} at offset {}", d.pack, d.offset),
        reason: d.reason.clone(),
    });
    let links = report.broken_links.iter().map(|b| StillDamaged {
        id: Some(b.id.clone()),
        kind: Some(b.expected),
        at: format!("named by {}", b.referrer),
        reason: b.reason.clone(),
    });
    damaged.chain(links).collect()
}

/// The sources to ask, per [`RepairOptions::from`].
fn sources_for(store: &Store, opts: &RepairOptions) -> Result<Vec<Source>, Error> {
    let Some(spec) = opts.from.as_deref() else {
        let peers = remote::others(store, &opts.identity.public())?;
        return Ok(peers
            .into_iter()
            .filter(|r| !r.addrs.is_empty())
            .map(Source::Peer)
            .collect());
    };
    // A directory that holds a store is one; a bare word that happens to name a
    // directory without one (a member "alice" beside a folder `alice/`) is a member.
    let path = Path::new(spec);
    if path.is_dir() {
        let looks_like_a_path = spec.contains(['/', '\\']) || spec.starts_with('.');
        match other_store_dir(path) {
            Ok(dir) => return Ok(vec![Source::Store(dir)]),
            Err(e) if looks_like_a_path => return Err(e),
            Err(_) => {}
        }
    }
    if spec.contains('@') {
        let (key, addr) = remote::parse_key_at(spec)?;
        return Ok(vec![Source::Peer(Remote {
            name: key.short(),
            key,
            addrs: vec![addr],
        })]);
    }
    Ok(vec![Source::Peer(remote::resolve(store, spec)?)])
}

/// The store directory of the directory `path` names: a store itself, a
/// repository (`.gadn`), or a Git repository (`.git/gadn`).
fn other_store_dir(path: &Path) -> Result<PathBuf, Error> {
    let is_store = |d: &Path| d.join(PACK_DIR).is_dir() && d.join(DB_FILE).is_file();
    let candidates = [
        path.to_path_buf(),
        path.join(STORE_DIR),
        path.join(".git").join("gadn"),
    ];
    candidates
        .into_iter()
        .find(|d| is_store(d))
        .ok_or_else(|| Error::NotAStore(path.to_path_buf()))
}

/// Asks `remote` for `ids`, appending each verified record to `w`.
async fn ask_peer(
    me: &MachineKey,
    remote: &Remote,
    dir: &Path,
    ids: &[ObjectId],
    w: &mut ObjectWriter<'_>,
) -> Result<Answered, SyncError> {
    let session = remote::open(me, remote, dir).await?;
    let answered = ask_for(&session.conn.inner, &remote.name, ids, &mut |rec| {
        w.put_replacement(rec)?;
        Ok(())
    })
    .await;
    session.conn.close(0, b"");
    answered
}

/// Reads `ids` from the store at `dir`, appending each that verifies to `w`.
fn ask_store(
    dir: &Path,
    ids: &[ObjectId],
    w: &mut ObjectWriter<'_>,
) -> Result<Answered, crate::store::StoreError> {
    let src = Store::open(dir)?;
    let mut a = Answered::default();
    for id in ids {
        match src.read_raw(id) {
            Ok(None) => a.missing.push(*id),
            Ok(Some(rec)) => match rec.check() {
                Ok(()) => {
                    w.put_replacement(rec)?;
                    a.received.push(*id);
                }
                Err(e) => a.damaged.push((*id, e.to_string())),
            },
            Err(e) => a.damaged.push((*id, e.to_string())),
        }
    }
    Ok(a)
}
