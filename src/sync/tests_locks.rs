//! Lock records over sync, end to end in one process (real QUIC endpoints on
//! 127.0.0.1, real stores): push carries them, and records whose signer may not
//! write are refused on receipt, by fetch and by push alike (issue 15, items 4–5).

use std::net::SocketAddr;
use std::path::Path;

use tokio::sync::watch;

use super::client;
use super::land::Landed;
use super::tests::{alice_repo, empty_like, key, serve, store_dir, LIMIT};
use super::transport::{refuse_all, Endpoint};
use super::wire::RefUpdate;
use crate::identity::MachineKey;
use crate::store::object::{Lock, Person};
use crate::store::{ObjectId, ObjectKind, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

fn who() -> Person {
    Person {
        name: "unknown".into(),
        email: String::new(),
        time: 1_700_000_000,
        tz_offset_min: 0,
    }
}

/// Stores a lock record as `vcs::lock` does: in a pack, then as the path's row.
fn store_record(dir: &Path, rec: &Lock) -> ObjectId {
    let mut s = Store::open(dir).expect("open");
    let (lock, _) = s.lock().expect("lock");
    let mut w = s.writer(&lock);
    let id = w
        .put_object(ObjectKind::Lock, rec.encode().expect("encode"))
        .expect("put");
    w.finish().expect("finish");
    s.db().lock_put(&id, rec).expect("row");
    id
}

/// A hold on `path` signed by `k`, with Lamport counter `counter`, stored in `dir`.
fn hold(dir: &Path, k: &MachineKey, path: &str, counter: u64) -> (ObjectId, Lock) {
    let c = ObjectId::of_chunk(b"some commit");
    let f = ObjectId::of_chunk(b"some file");
    let mut l = Lock::hold(path.into(), &who(), "main".into(), c, f, counter);
    l.sign(k).expect("sign");
    (store_record(dir, &l), l)
}

/// The current record of `path` in the store at `dir`: its id and whether it holds.
fn row(dir: &Path, path: &str) -> Option<(ObjectId, bool)> {
    let s = Store::open(dir).expect("open");
    let r = s.db().lock_record(path).expect("read");
    r.map(|(id, l)| (id, l.is_held()))
}

/// Connects to `addr` (alice, key 1) as `me`, says hello, and pushes `updates` from
/// the store at `dir`.
async fn push_from(
    addr: SocketAddr,
    me: &MachineKey,
    dir: &Path,
    updates: Vec<RefUpdate>,
) -> Result<Vec<(String, Option<String>)>, super::SyncError> {
    let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), me, refuse_all())?;
    let conn = client::connect(&ep, key(1).public(), &[addr]).await?;
    let id = Store::open(dir)?.repository_id()?;
    client::hello(&conn, "alice", Some(id), Vec::new()).await?;
    let r = client::push(&conn, "alice", dir, updates).await;
    conn.close(0, b"");
    r
}

/// Alice (key 1, owner; bob key 2 member, carol key 3 reader) with one commit,
/// serving; and bob's store holding that commit as its own `main`.
async fn alice_serving_and_bob(
    d: &Path,
) -> (Repo, Repo, SocketAddr, ObjectId, watch::Sender<bool>) {
    let mut a = alice_repo(d);
    put(&a, "a.bin", b"alpha");
    let c = commit_all(&mut a, "one");
    let b = empty_like(d, "bob", &a);
    let (addr, stop) = serve(&a, &key(1));
    let opts = client::FetchOptions {
        trust_peer: true,
        ..Default::default()
    };
    super::tests::fetch_with(addr, &key(1), &key(2), &b, opts)
        .await
        .expect("fetch");
    b.store()
        .db()
        .update_ref(
            "refs/heads/main",
            crate::store::db::Expect::Any,
            c,
            &crate::store::db::ReflogInfo {
                who: "t".into(),
                time: 0,
                tz_offset_min: 0,
                message: "t".into(),
            },
        )
        .expect("main");
    (a, b, addr, c, stop)
}

fn main_again(c: ObjectId) -> Vec<RefUpdate> {
    // Alice has main checked out: the update is refused, the locks still travel.
    vec![RefUpdate {
        name: "refs/heads/main".into(),
        old: Some(c),
        new: c,
        force: false,
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_carries_locks_and_their_release() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, b, addr, c, _stop) = alice_serving_and_bob(d.path()).await;
        let (ad, bd) = (store_dir(&a), store_dir(&b));
        let (held, l) = hold(&bd, &key(2), "a.bin", 1);
        assert_eq!(row(&ad, "a.bin"), None);
        let r = push_from(addr, &key(2), &bd, main_again(c))
            .await
            .expect("push");
        assert!(
            r[0].1.as_deref().unwrap_or("").contains("checked out"),
            "{r:?}"
        );
        assert_eq!(row(&ad, "a.bin"), Some((held, true)), "the hold was pushed");
        // Alice's listing shows it, named as the member list names bob.
        let listed = Repo::open(a.root())
            .expect("open")
            .locks_for(None)
            .expect("locks");
        assert_eq!((listed.len(), listed[0].owner.as_str()), (1, "bob"));

        // Bob releases; the next push carries the release.
        let mut rel = l.release(held, &who());
        rel.sign(&key(2)).expect("sign");
        let released = store_record(&bd, &rel);
        push_from(addr, &key(2), &bd, main_again(c))
            .await
            .expect("push");
        assert_eq!(
            row(&ad, "a.bin"),
            Some((released, false)),
            "the release was pushed"
        );
        let listed = Repo::open(a.root())
            .expect("open")
            .locks_for(None)
            .expect("locks");
        assert!(listed.is_empty(), "{listed:?}");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_records_from_readers_are_refused_on_receipt() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, b, addr, c, _stop) = alice_serving_and_bob(d.path()).await;
        let (ad, bd) = (store_dir(&a), store_dir(&b));

        // Fetch: alice's store holds records by bob (a member), carol (a reader)
        // and key 4 (not a member), as an older version stored them.
        let (by_bob, _) = hold(&ad, &key(2), "b.bin", 1);
        hold(&ad, &key(3), "c.bin", 1);
        hold(&ad, &key(4), "d.bin", 1);
        // Bob already holds e.bin; carol's hold with a higher counter would win the
        // merge, but is refused: bob's record stays.
        let (bobs_e, _) = hold(&bd, &key(2), "e.bin", 1);
        hold(&ad, &key(3), "e.bin", 7);
        let opts = client::FetchOptions::default();
        let r = super::tests::fetch_with(addr, &key(1), &key(2), &b, opts)
            .await
            .expect("fetch");
        let Landed {
            locks_changed,
            locks_refused,
            ..
        } = r.landed;
        assert_eq!((locks_changed, locks_refused), (1, 3));
        assert_eq!(row(&bd, "b.bin"), Some((by_bob, true)));
        assert_eq!(row(&bd, "c.bin"), None, "a reader's hold");
        assert_eq!(row(&bd, "d.bin"), None, "a stranger's hold");
        assert_eq!(
            row(&bd, "e.bin"),
            Some((bobs_e, true)),
            "nothing stored is lost"
        );

        // Push: bob relays carol's hold of f.bin with his own of g.bin; alice takes
        // only bob's.
        let (carols_f, _) = hold(&bd, &key(3), "f.bin", 1);
        let (bobs_g, _) = hold(&bd, &key(2), "g.bin", 1);
        assert_eq!(row(&bd, "f.bin"), Some((carols_f, true)));
        push_from(addr, &key(2), &bd, main_again(c))
            .await
            .expect("push");
        assert_eq!(row(&ad, "f.bin"), None, "a reader's hold, pushed");
        assert_eq!(row(&ad, "g.bin"), Some((bobs_g, true)));
    })
    .await
    .expect("within the time limit");
}
