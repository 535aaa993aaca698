//! The receiving end of a transfer: one thread that owns the store's write lock for
//! the whole fetch, appends every record it is handed after re-hashing it, and, once
//! the records are sealed, lands what they make reachable — the member list, lock
//! records and refs — while still holding the lock, so `gc` can never run between
//! the data arriving and the refs that keep it.
//!
//! Order (`store-format.md` § 9): records are appended and sealed first; then the
//! member list, locks and refs change. A transfer that stops early (the peer
//! vanished, the process was killed) leaves verified records only: sealed on a
//! clean stop, recovered from the unsealed pack by the next writer otherwise. Both
//! are found by the next fetch, which then does not ask for them again.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::identity::PublicKey;
use crate::store::db::{Expect, ReflogInfo};
use crate::store::members::may_write;
use crate::store::object::{merge_locks, Lock, Members};
use crate::store::prefill::Prefill;
use crate::store::raw::RawRecord;
use crate::store::{ObjectId, Store, StoreLock, WriteStats};

use super::error::SyncError;
use super::graph::closure;
use super::members::{accept_locked, current};

/// Records queued between the network and the writer: with chunks of at most
/// 256 KiB (the default maximum), at most 16 MiB waits in memory.
pub const QUEUE_RECORDS: usize = 64;

/// A fetch seals its pack once it holds at least this many stored bytes (16 MiB) and
/// a quarter of what the fetch sealed before ([`live_seal_due`]), so a server on the
/// same store answers for what has landed while the fetch goes on (a partial seed's
/// `Have`, `store-format.md` § 15) and the packs of a long fetch stay few: ≈17 for
/// 1 GiB, ≈30 for 20 GiB.
pub const LIVE_SEAL_MIN_BYTES: u64 = 16 << 20;

/// Whether a pack holding `active` stored bytes is due to be sealed after `sealed`
/// bytes were sealed by this fetch: see [`LIVE_SEAL_MIN_BYTES`].
pub fn live_seal_due(active: u64, sealed: u64) -> bool {
    active >= LIVE_SEAL_MIN_BYTES.max(sealed / 4)
}

/// One ref change to land.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefChange {
    /// Full ref name.
    pub name: String,
    /// What it must hold now (compare-and-swap).
    pub expect: Expect,
    /// The new value; `None` deletes it.
    pub new: Option<ObjectId>,
    /// Refuse unless `new` descends from the current value (push without force).
    pub fast_forward_only: bool,
}

/// What to land once the records are sealed.
#[derive(Debug, Default)]
pub struct Plan {
    /// A member list received, and the key trusted for it when there is no list
    /// here yet (the pinned peer of a clone).
    pub members: Option<(Members, Option<PublicKey>)>,
    /// Lock records received (verified), merged with the ones here by the lock rule
    /// if their signer may write ([`may_write`], against the member list as it
    /// stands once `members` landed); the others are refused.
    pub locks: Vec<(ObjectId, Lock)>,
    /// Ref changes, applied in order; each may be refused alone.
    pub refs: Vec<RefChange>,
    /// Reflog message, e.g. `fetch alice`.
    pub why: String,
    /// The peer name the remote-tracking refs use (informational).
    pub tracking: String,
    /// Preview index rows of preview objects received (records already queued).
    pub previews: Vec<crate::store::db::PreviewRow>,
}

/// What landing did.
#[derive(Debug, Default, Clone)]
pub struct Landed {
    /// Records appended and packs sealed.
    pub stats: WriteStats,
    /// True if the member list changed.
    pub members_changed: bool,
    /// Lock records that changed here.
    pub locks_changed: usize,
    /// Lock records refused because their signer may not write (a reader, or not
    /// a member): none of them became a current lock here, and nothing stored
    /// earlier changed.
    pub locks_refused: usize,
    /// Per ref change, in plan order: `None` = done, `Some(reason)` = refused.
    pub refs: Vec<(String, Option<String>)>,
}

enum Cmd {
    Record(RawRecord),
    /// Prefill file `id` of `size` bytes from these chunks as they arrive.
    Prefill(ObjectId, u64, Vec<(ObjectId, u64)>),
    Land(Plan, oneshot::Sender<Result<Landed, SyncError>>),
}

/// Hands records to the writer thread, then the plan.
///
/// Drop every [`RecordSink`] before dropping a `Lander` that was not landed: the drop
/// waits for the writer thread, which ends once no sender is left.
#[derive(Debug)]
pub struct Lander {
    tx: Option<mpsc::Sender<Cmd>>,
    thread: Option<JoinHandle<Result<(), SyncError>>>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Record(r) => write!(f, "Record({})", r.id),
            Cmd::Prefill(id, ..) => write!(f, "Prefill({id})"),
            Cmd::Land(..) => write!(f, "Land"),
        }
    }
}

/// A cheap handle for network tasks to queue records.
#[derive(Debug, Clone)]
pub struct RecordSink {
    tx: mpsc::Sender<Cmd>,
}

impl RecordSink {
    /// Queues `rec`; waits while the queue is full. Fails once the writer has
    /// stopped (a record failed verification, or the disk failed): the caller
    /// stops and [`Lander::land`] reports why.
    pub async fn put(&self, rec: RawRecord) -> Result<(), ()> {
        self.tx.send(Cmd::Record(rec)).await.map_err(|_| ())
    }

    /// Asks the writer to prefill file `id` of `size` bytes, made of `chunks` (id,
    /// length) in order, from the chunks queued after this
    /// ([`crate::store::prefill`]). Fails like [`RecordSink::put`].
    pub async fn prefill(
        &self,
        id: ObjectId,
        size: u64,
        chunks: Vec<(ObjectId, u64)>,
    ) -> Result<(), ()> {
        self.tx
            .send(Cmd::Prefill(id, size, chunks))
            .await
            .map_err(|_| ())
    }
}

impl Lander {
    /// Opens the store at `dir`, takes its write lock and starts the writer thread.
    pub fn start(dir: &Path) -> Result<Lander, SyncError> {
        let (tx, rx) = mpsc::channel(QUEUE_RECORDS);
        let dir: PathBuf = dir.to_path_buf();
        // Open and lock here, so a busy store is reported before any transfer.
        let mut store = Store::open(&dir)?;
        let (lock, _) = store.lock()?;
        let thread = std::thread::Builder::new()
            .name("gadn-land".into())
            .spawn(move || run(store, lock, rx))
            .map_err(|e| SyncError::Local(format!("cannot start the writer thread: {e}")))?;
        Ok(Lander {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// A handle to queue records with.
    pub fn sink(&self) -> RecordSink {
        RecordSink {
            tx: self.tx.clone().expect("the sender lives until land"),
        }
    }

    /// Seals the records and lands `plan`. If a record failed verification, nothing
    /// of the plan lands and that error is returned (the good records stay).
    pub async fn land(mut self, plan: Plan) -> Result<Landed, SyncError> {
        let (reply, answer) = oneshot::channel();
        let sent = match self.tx.take() {
            Some(tx) => tx.send(Cmd::Land(plan, reply)).await.is_ok(),
            None => false,
        };
        let landed = if sent { answer.await.ok() } else { None };
        let thread = self.thread.take();
        let joined = tokio::task::spawn_blocking(move || thread.map(|t| t.join()))
            .await
            .map_err(|e| SyncError::Local(format!("writer thread: {e}")))?;
        match (landed, joined) {
            (Some(r), Some(Ok(Ok(())))) => r,
            (_, Some(Ok(Err(e)))) => Err(e),
            (_, Some(Err(_))) => Err(SyncError::Local("the writer thread panicked".into())),
            (Some(r), None) => r,
            (None, _) => Err(SyncError::Local("the writer thread stopped".into())),
        }
    }
}

impl Drop for Lander {
    fn drop(&mut self) {
        // Closing the queue ends the thread: it seals what it has and exits.
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(mut store: Store, lock: StoreLock, mut rx: mpsc::Receiver<Cmd>) -> Result<(), SyncError> {
    let mut prefill = Prefill::new(store.dir());
    let mut writer = store.writer(&lock);
    let mut failure: Option<SyncError> = None;
    let mut plan = None;
    while let Some(cmd) = rx.blocking_recv() {
        match cmd {
            Cmd::Record(rec) => {
                // Verifying decodes the record anyway: prefilling takes the bytes
                // if a planned file awaits them.
                if let Err(e) = writer.put_raw_inspect(rec, |r, raw| prefill.put(&r.id, raw)) {
                    failure = Some(e.into());
                    break;
                }
                let active = writer.active_bytes();
                if live_seal_due(active, writer.stats().stored_bytes.saturating_sub(active)) {
                    if let Err(e) = writer.seal_active() {
                        failure = Some(e.into());
                        break;
                    }
                }
            }
            Cmd::Prefill(id, size, chunks) => prefill.add(id, size, &chunks),
            Cmd::Land(p, reply) => {
                plan = Some((p, reply));
                break;
            }
        }
    }
    drop(rx);
    let stats = writer.finish();
    let (plan, reply) = match plan {
        Some(p) => p,
        None => {
            return match failure {
                Some(e) => Err(e),
                None => stats.map(|_| ()).map_err(Into::into),
            }
        }
    };
    let result = match (failure, stats) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.into()),
        (None, Ok(stats)) => land_plan(&mut store, &lock, plan, stats),
    };
    let _ = reply.send(result);
    Ok(())
}

fn land_plan(
    store: &mut Store,
    lock: &StoreLock,
    plan: Plan,
    stats: WriteStats,
) -> Result<Landed, SyncError> {
    let mut landed = Landed {
        stats,
        ..Landed::default()
    };
    if let Some((members, trusted)) = plan.members {
        let outcome = accept_locked(store, lock, &members, trusted.as_ref())?;
        landed.members_changed = outcome.changed;
    }
    if !plan.locks.is_empty() {
        // The list as it now stands: a clone's first list has just landed.
        let list = current(store)?.map(|(_, m)| m);
        for (id, incoming) in plan.locks {
            if !may_write(list.as_ref(), &incoming.owner) {
                tracing::warn!(
                    path = %incoming.path,
                    signer = %incoming.owner.short(),
                    "refused a lock record: its signer may not write here (a reader, or not a member)"
                );
                landed.locks_refused += 1;
            } else if land_lock(store, &id, &incoming)? {
                landed.locks_changed += 1;
            }
        }
    }
    // After the records are sealed: an index row never names an unsealed object.
    for row in &plan.previews {
        store
            .db()
            .previews_put(row)
            .map_err(crate::store::StoreError::from)?;
    }
    let log = ReflogInfo {
        who: "gadn sync".into(),
        time: chrono::Utc::now().timestamp(),
        tz_offset_min: 0,
        message: plan.why.clone(),
    };
    for change in plan.refs {
        let outcome = land_ref(store, &change, &log);
        landed.refs.push((change.name.clone(), outcome.err()));
    }
    // Housekeeping as after a commit; a failure loses nothing.
    let _ = store.consolidate_packs(lock);
    Ok(landed)
}

/// Merges one received lock record with the one here; true if the stored one
/// changed.
fn land_lock(store: &Store, id: &ObjectId, incoming: &Lock) -> Result<bool, SyncError> {
    let db = store.db();
    let winner = match db.lock_record(&incoming.path)? {
        Some((have_id, _)) if have_id == *id => return Ok(false),
        Some((_, have)) => {
            let w = merge_locks(&have, incoming).map_err(|e| SyncError::Local(e.to_string()))?;
            if std::ptr::eq(w, &have) {
                return Ok(false);
            }
            incoming
        }
        None => incoming,
    };
    db.lock_put(id, winner)?;
    Ok(true)
}

/// Applies one ref change; `Err(reason)` if refused.
fn land_ref(store: &Store, c: &RefChange, log: &ReflogInfo) -> Result<(), String> {
    let db = store.db();
    let current = db
        .resolve_ref(&c.name)
        .map_err(|e| e.to_string())?
        .and_then(|(_, id)| id);
    if !c.expect.matches(current) {
        return Err(match current {
            Some(id) => format!("it is at {} now (fetch first)", id.short()),
            None => "it does not exist (fetch first)".into(),
        });
    }
    match c.new {
        None => db
            .delete_ref(&c.name, c.expect, log)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(new) => {
            if let (true, Some(cur)) = (c.fast_forward_only, current) {
                let reach = closure(store, &[new]).map_err(|e| e.to_string())?;
                if !reach.contains(&cur) {
                    return Err(format!(
                        "not a fast-forward: {} does not descend from {} (merge first, or force)",
                        new.short(),
                        cur.short()
                    ));
                }
            }
            if !store.contains(&new) {
                return Err(format!("{} was not received", new.short()));
            }
            db.update_ref(&c.name, c.expect, new, log)
                .map_err(|e| e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::MachineKey;
    use crate::store::db::RefTarget;
    use crate::store::object::Person;
    use crate::store::pack::Codec;
    use crate::store::ObjectKind;
    use crate::vcs::testutil::{commit_all, put, repo};
    use std::time::Duration;

    const LIMIT: Duration = Duration::from_secs(30);

    fn chunk(data: &[u8]) -> RawRecord {
        RawRecord {
            id: ObjectId::of_chunk(data),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            raw_len: data.len() as u32,
            payload: data.to_vec(),
        }
    }

    fn change(name: &str, expect: Expect, new: Option<ObjectId>, ff: bool) -> RefChange {
        RefChange {
            name: name.into(),
            expect,
            new,
            fast_forward_only: ff,
        }
    }

    fn held(key: &MachineKey, path: &str, counter: u64) -> (ObjectId, Lock) {
        let who = Person {
            name: "k".into(),
            email: "k@x".into(),
            time: counter as i64,
            tz_offset_min: 0,
        };
        let mut l = Lock::hold(
            path.into(),
            &who,
            "main".into(),
            ObjectId::of_chunk(b"rev"),
            ObjectId::of_chunk(b"file"),
            counter,
        );
        l.sign(key).expect("sign");
        (l.id().expect("id"), l)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ref_changes_are_checked_one_by_one() {
        tokio::time::timeout(LIMIT, async {
            let (_d, mut r) = repo();
            put(&r, "a.txt", b"a");
            let c1 = commit_all(&mut r, "one");
            put(&r, "a.txt", b"b");
            let c2 = commit_all(&mut r, "two");
            let dir = r.store().dir().to_path_buf();
            let unknown = ObjectId::of_chunk(b"never sent");
            let lander = Lander::start(&dir).expect("start");
            let landed = lander
                .land(Plan {
                    refs: vec![
                        change("refs/heads/x", Expect::Value(c1), Some(c2), false),
                        change("refs/heads/main", Expect::Absent, Some(c1), false),
                        change("refs/heads/main", Expect::Any, Some(c1), true),
                        change("refs/heads/y", Expect::Absent, Some(unknown), false),
                        change("refs/heads/z", Expect::Absent, Some(c1), false),
                        change("refs/heads/z", Expect::Value(c1), Some(c2), true),
                        change("refs/heads/w", Expect::Absent, Some(c1), true),
                        change("refs/heads/w", Expect::Value(c1), None, false),
                    ],
                    why: "test".into(),
                    ..Plan::default()
                })
                .await
                .expect("land");
            let reasons: Vec<Option<String>> = landed.refs.iter().map(|r| r.1.clone()).collect();
            assert!(
                reasons[0]
                    .as_deref()
                    .unwrap_or("")
                    .contains("does not exist"),
                "{reasons:?}"
            );
            assert!(
                reasons[1]
                    .as_deref()
                    .unwrap_or("")
                    .contains("now (fetch first)"),
                "{reasons:?}"
            );
            assert!(
                reasons[2]
                    .as_deref()
                    .unwrap_or("")
                    .contains("not a fast-forward"),
                "{reasons:?}"
            );
            assert!(
                reasons[3]
                    .as_deref()
                    .unwrap_or("")
                    .contains("was not received"),
                "{reasons:?}"
            );
            assert_eq!(&reasons[4..], &[None, None, None, None], "{reasons:?}");
            let s = Store::open(&dir).expect("open");
            assert_eq!(
                s.db().read_ref("refs/heads/z").expect("z"),
                Some(RefTarget::Id(c2))
            );
            assert_eq!(s.db().read_ref("refs/heads/w").expect("w"), None);
            assert_eq!(
                s.db().read_ref("refs/heads/main").expect("main"),
                Some(RefTarget::Id(c2))
            );
            assert_eq!(landed.stats.records, 0);
            assert!(!landed.members_changed);
        })
        .await
        .expect("within the time limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lock_records_merge_by_the_lock_rule() {
        tokio::time::timeout(LIMIT, async {
            let (_d, r) = repo();
            let dir = r.store().dir().to_path_buf();
            let k = MachineKey::from_seed([7; 32]);
            let (id1, l1) = held(&k, "a.psd", 1);
            let (id2, l2) = held(&k, "a.psd", 2);
            let (id3, l3) = held(&k, "a.psd", 3);
            let (idb, lb) = held(&k, "b.psd", 1);
            r.store().db().lock_put(&id2, &l2).expect("put");
            let lander = Lander::start(&dir).expect("start");
            let landed = lander
                .land(Plan {
                    locks: vec![(id2, l2.clone()), (id1, l1), (idb, lb)],
                    ..Plan::default()
                })
                .await
                .expect("land");
            // Same record: no change; an older one loses; a new path lands.
            assert_eq!(landed.locks_changed, 1);
            let s = Store::open(&dir).expect("open");
            assert_eq!(
                s.db().lock_record("a.psd").expect("a").map(|x| x.0),
                Some(id2)
            );
            assert_eq!(
                s.db().lock_record("b.psd").expect("b").map(|x| x.0),
                Some(idb)
            );
            drop(s);
            // A newer one wins.
            let landed = Lander::start(&dir)
                .expect("start")
                .land(Plan {
                    locks: vec![(id3, l3)],
                    ..Plan::default()
                })
                .await
                .expect("land");
            assert_eq!(landed.locks_changed, 1);
            let s = Store::open(&dir).expect("open");
            assert_eq!(
                s.db().lock_record("a.psd").expect("a").map(|x| x.0),
                Some(id3)
            );
        })
        .await
        .expect("within the time limit");
    }

    #[test]
    fn a_live_seal_is_due_at_16_mib_or_a_quarter_of_what_was_sealed() {
        assert!(!live_seal_due(LIVE_SEAL_MIN_BYTES - 1, 0));
        assert!(live_seal_due(LIVE_SEAL_MIN_BYTES, 0));
        assert!(live_seal_due(LIVE_SEAL_MIN_BYTES, 4 * LIVE_SEAL_MIN_BYTES));
        assert!(!live_seal_due(
            LIVE_SEAL_MIN_BYTES,
            4 * LIVE_SEAL_MIN_BYTES + 4
        ));
        assert!(live_seal_due(1 << 30, 4 << 30));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_of_a_fetch_in_progress_are_seen_by_another_handle() {
        tokio::time::timeout(LIMIT, async {
            let (_d, r) = repo();
            let dir = r.store().dir().to_path_buf();
            let other = Store::open(&dir).expect("a second handle, as a server's");
            let lander = Lander::start(&dir).expect("start");
            let sink = lander.sink();
            // 20 MiB of incompressible 256 KiB chunks: past the first live seal.
            let data = crate::store::pack::testutil::random_bytes(7, 20 << 20);
            let chunks: Vec<&[u8]> = data.chunks(256 << 10).collect();
            for c in &chunks {
                sink.put(chunk(c)).await.expect("put");
            }
            let first = ObjectId::of_chunk(chunks[0]);
            let last = ObjectId::of_chunk(chunks[chunks.len() - 1]);
            // The writer thread works through its queue: wait for the seal.
            while !other.contains(&first) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(!other.contains(&last), "only a sealed pack is seen");
            drop(sink);
            drop(lander);
            assert!(other.contains(&last), "sealed when the lander stops");
        })
        .await
        .expect("within the time limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_lander_seals_what_it_has_and_releases_the_lock() {
        tokio::time::timeout(LIMIT, async {
            let (_d, r) = repo();
            let dir = r.store().dir().to_path_buf();
            let lander = Lander::start(&dir).expect("start");
            let sink = lander.sink();
            sink.put(chunk(b"kept")).await.expect("put");
            // Every sink must be gone before the lander is dropped: a live sink
            // keeps the queue open and the drop would wait for it.
            drop(sink);
            drop(lander);
            let s = Store::open(&dir).expect("open");
            assert!(s.contains(&ObjectId::of_chunk(b"kept")));
            // The lock is free again; a bad record stops the writer, and a drop
            // after it is quiet.
            let lander = Lander::start(&dir).expect("start again");
            let mut bad = chunk(b"bad");
            bad.payload[0] ^= 1;
            lander.sink().put(bad).await.expect("queued");
            drop(lander);
        })
        .await
        .expect("within the time limit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bad_record_is_what_land_reports_and_no_ref_moves() {
        tokio::time::timeout(LIMIT, async {
            let (_d, mut r) = repo();
            put(&r, "a.txt", b"a");
            let c1 = commit_all(&mut r, "one");
            let dir = r.store().dir().to_path_buf();
            let lander = Lander::start(&dir).expect("start");
            let sink = lander.sink();
            sink.put(chunk(b"good")).await.expect("put");
            let mut bad = chunk(b"bad bytes");
            bad.payload[0] ^= 1;
            sink.put(bad).await.expect("queued");
            // The writer stops at the bad record; later puts fail (eventually).
            for _ in 0..(QUEUE_RECORDS * 2) {
                if sink.put(chunk(b"after")).await.is_err() {
                    break;
                }
            }
            let e = lander
                .land(Plan {
                    refs: vec![change("refs/heads/new", Expect::Absent, Some(c1), false)],
                    ..Plan::default()
                })
                .await
                .expect_err("bad record");
            assert!(
                matches!(
                    e,
                    SyncError::Store(crate::store::StoreError::BadRecord { .. })
                ),
                "{e}"
            );
            let s = Store::open(&dir).expect("open");
            assert!(
                s.contains(&ObjectId::of_chunk(b"good")),
                "verified records stay"
            );
            assert_eq!(s.db().read_ref("refs/heads/new").expect("read"), None);
            assert!(format!("{:?}", Cmd::Record(chunk(b"x"))).starts_with("Record("));
        })
        .await
        .expect("within the time limit");
    }
}
