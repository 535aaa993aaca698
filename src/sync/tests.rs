//! Sync end to end in one process: real QUIC endpoints on 127.0.0.1, real stores.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::client::{self, FetchOptions};
use super::server::{self, MemberKeys, ServeConfig};
use super::transport::{refuse_all, Endpoint};
use super::wire::RefUpdate;
use crate::identity::MachineKey;
use crate::store::chunker::ChunkParams;
use crate::store::db::RefTarget;
use crate::store::object::Role;
use crate::store::{keys, ObjectId, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

/// Bounds every test: a hung transfer fails instead of hanging the suite.
pub(super) const LIMIT: Duration = Duration::from_secs(60);

pub(super) fn key(n: u8) -> MachineKey {
    MachineKey::from_seed([n; 32])
}

pub(super) fn noise(seed: u64, len: usize) -> Vec<u8> {
    crate::store::pack::testutil::random_bytes(seed, len)
}

pub(super) fn store_dir(repo: &Repo) -> PathBuf {
    repo.store().dir().to_path_buf()
}

/// A repository "alice" with `bob` (key 2) and `carol` (key 3) as members.
pub(super) fn alice_repo(dir: &Path) -> Repo {
    let mut r = Repo::init(&dir.join("alice"), ChunkParams::DEFAULT).expect("init");
    let me = key(1);
    super::members::add(
        r.store_mut(),
        &me,
        "alice",
        "bob",
        key(2).public(),
        Role::Member,
    )
    .expect("bob");
    super::members::add(
        r.store_mut(),
        &me,
        "alice",
        "carol",
        key(3).public(),
        Role::Reader,
    )
    .expect("carol");
    r
}

/// An empty store of the same repository (what a clone starts from).
pub(super) fn empty_like(dir: &Path, name: &str, of: &Repo) -> Repo {
    let r = Repo::init(&dir.join(name), of.store().params()).expect("init");
    let id = of.store().repository_id().expect("id");
    r.store()
        .db()
        .config_set(keys::REPO_ID, &id)
        .expect("set id");
    r
}

/// A serving endpoint for `repo` with key `k`; returns its address and a stop switch.
pub(super) fn serve(repo: &Repo, k: &MachineKey) -> (SocketAddr, watch::Sender<bool>) {
    let dir = store_dir(repo);
    let keys = MemberKeys::load(&dir).expect("members");
    let ep = Arc::new(
        server::bind("127.0.0.1:0".parse().expect("addr"), k, keys.clone()).expect("bind"),
    );
    let addr = ep.local_addr().expect("addr");
    let config = Arc::new(ServeConfig::for_store(dir, vec![addr.to_string()]).expect("config"));
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(server::serve(ep, config, keys, stopped));
    (addr, stop)
}

async fn fetch_from(
    addr: SocketAddr,
    server_key: &MachineKey,
    me: &MachineKey,
    into: &Repo,
    trust: bool,
) -> Result<client::FetchReport, super::SyncError> {
    let opts = FetchOptions {
        trust_peer: trust,
        progress: None,
        prefill_checkout: false,
        hold_members: None,
    };
    fetch_with(addr, server_key, me, into, opts).await
}

/// Connects to `addr` as `me`, says hello, and fetches everything into `into`.
pub(super) async fn fetch_with(
    addr: SocketAddr,
    server_key: &MachineKey,
    me: &MachineKey,
    into: &Repo,
    opts: FetchOptions,
) -> Result<client::FetchReport, super::SyncError> {
    let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), me, refuse_all())?;
    let conn = client::connect(&ep, server_key.public(), &[addr]).await?;
    let repo_id = into.store().repository_id()?;
    client::hello(&conn, "alice", Some(repo_id), Vec::new()).await?;
    let r = client::fetch(&conn, "alice", &store_dir(into), opts).await;
    conn.close(0, b"done");
    r
}

fn tracking(repo: &Repo, name: &str) -> Option<ObjectId> {
    let s = Store::open(repo.store().dir()).expect("open");
    match s.db().read_ref(name).expect("read") {
        Some(RefTarget::Id(id)) => Some(id),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_then_incremental_fetch_moves_only_new_chunks() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        let big = noise(1, 8 << 20);
        put(&a, "assets/big.bin", &big);
        put(&a, "assets/small.txt", b"hello");
        let c1 = commit_all(&mut a, "first");
        let (addr, _stop) = serve(&a, &key(1));

        let b = empty_like(d.path(), "bob", &a);
        let r = fetch_from(addr, &key(1), &key(2), &b, true)
            .await
            .expect("fetch");
        assert_eq!(tracking(&b, "refs/remotes/alice/main"), Some(c1));
        assert!(
            r.transferred.chunk_bytes >= big.len() as u64,
            "{:?}",
            r.transferred
        );
        assert!(r.landed.members_changed, "the member list came along");
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(bs.fsck(&mut |_| {}).expect("fsck").is_ok());
        assert!(super::members::role_of(&bs, &key(2).public())
            .expect("role")
            .is_some());
        drop(bs);

        // A small edit in the middle of the large file.
        let mut edited = big.clone();
        edited[4 << 20..(4 << 20) + 100].fill(0xAB);
        put(&a, "assets/big.bin", &edited);
        let c2 = commit_all(&mut a, "edit");
        let r2 = fetch_from(addr, &key(1), &key(2), &b, false)
            .await
            .expect("fetch 2");
        assert_eq!(tracking(&b, "refs/remotes/alice/main"), Some(c2));
        let new = r2.transferred.chunk_bytes;
        eprintln!(
            "incremental: {:?}, wire {} bytes (first fetch wire {})",
            r2.transferred, r2.wire_bytes, r.wire_bytes
        );
        assert!(
            new > 0 && new < 1 << 20,
            "only the edited chunks move: {new}"
        );
        // On the wire: the new chunks plus a bounded overhead (handshake, objects,
        // framing, QUIC headers).
        assert!(
            r2.wire_bytes < new + (new / 10) + (96 << 10),
            "wire {} for {new} new chunk bytes",
            r2.wire_bytes
        );
        let bs = Store::open(b.store().dir()).expect("open");
        let file = {
            let commit = bs.commit(&c2).expect("commit");
            let root = bs.tree(&commit.tree).expect("tree");
            let assets = root
                .entries
                .iter()
                .find(|e| e.name == "assets")
                .expect("assets")
                .id;
            bs.tree(&assets)
                .expect("tree")
                .entries
                .iter()
                .find(|e| e.name == "big.bin")
                .expect("big")
                .id
        };
        assert_eq!(bs.read_file_bytes(&file).expect("content"), edited);
        // Nothing more to fetch: nothing moves.
        drop(bs);
        let r3 = fetch_from(addr, &key(1), &key(2), &b, false)
            .await
            .expect("fetch 3");
        assert_eq!(
            r3.transferred.chunks + r3.transferred.objects,
            0,
            "{:?}",
            r3.transferred
        );
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_are_refused_in_the_handshake_and_learn_nothing() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        put(&a, "f.bin", b"secret");
        commit_all(&mut a, "c");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "mallory", &a);
        let e = fetch_from(addr, &key(1), &key(9), &b, true)
            .await
            .expect_err("refused");
        assert!(
            e.to_string().contains("refused") || e.to_string().contains("ask"),
            "{e}"
        );
        assert!(Store::open(b.store().dir())
            .expect("open")
            .db()
            .list_refs("refs/")
            .expect("refs")
            .is_empty());
        // Pinning the wrong server key fails too.
        let e = fetch_from(addr, &key(4), &key(2), &b, true)
            .await
            .expect_err("mismatch");
        assert!(e.to_string().contains(&key(1).public().to_text()), "{e}");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_fast_forwards_refuses_the_rest_and_readers() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        put(&a, "a.bin", &noise(2, 300_000));
        let c1 = commit_all(&mut a, "one");
        let (addr, _stop) = serve(&a, &key(1));

        // Bob fetches, then commits on top of alice's main and pushes it as a new
        // branch (and, refused, as alice's checked-out main).
        let mut b = empty_like(d.path(), "bob", &a);
        fetch_from(addr, &key(1), &key(2), &b, true)
            .await
            .expect("fetch");
        b.store()
            .db()
            .update_ref(
                "refs/heads/main",
                crate::store::db::Expect::Any,
                c1,
                &crate::store::db::ReflogInfo {
                    who: "t".into(),
                    time: 0,
                    tz_offset_min: 0,
                    message: "t".into(),
                },
            )
            .expect("branch");
        put(&b, "b.bin", &noise(3, 500_000));
        let c2 = commit_all(&mut b, "two");

        let push = |who: MachineKey, updates: Vec<RefUpdate>| {
            let dir = store_dir(&b);
            let server_key = key(1).public();
            async move {
                let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &who, refuse_all())
                    .expect("bind");
                let conn = client::connect(&ep, server_key, &[addr])
                    .await
                    .expect("connect");
                let id = Store::open(&dir)
                    .expect("open")
                    .repository_id()
                    .expect("id");
                client::hello(&conn, "alice", Some(id), Vec::new())
                    .await
                    .expect("hello");
                let r = client::push(&conn, "alice", &dir, updates).await;
                conn.close(0, b"");
                r
            }
        };
        let up = |name: &str, old: Option<ObjectId>, new: ObjectId, force: bool| RefUpdate {
            name: name.into(),
            old,
            new,
            force,
        };
        let r = push(
            key(2),
            vec![
                up("refs/heads/bob-work", None, c2, false),
                up("refs/heads/main", Some(c1), c2, false),
            ],
        )
        .await
        .expect("push");
        assert_eq!(r[0], ("refs/heads/main".to_string(), r[0].1.clone()));
        assert!(
            r[0].1.as_deref().unwrap_or("").contains("checked out"),
            "{r:?}"
        );
        assert_eq!(r[1], ("refs/heads/bob-work".to_string(), None), "{r:?}");
        assert_eq!(tracking(&a, "refs/heads/bob-work"), Some(c2));
        let asx = Store::open(a.store().dir()).expect("open");
        assert!(asx.fsck(&mut |_| {}).expect("fsck").is_ok());
        drop(asx);

        // Not a fast-forward: refused unless forced.
        let r = push(key(2), vec![up("refs/heads/bob-work", Some(c2), c1, false)])
            .await
            .expect("push");
        assert!(
            r[0].1.as_deref().unwrap_or("").contains("fast-forward"),
            "{r:?}"
        );
        // A stale `old`: refused.
        let r = push(key(2), vec![up("refs/heads/bob-work", Some(c1), c2, false)])
            .await
            .expect("push");
        assert!(
            r[0].1.as_deref().unwrap_or("").contains("fetch first"),
            "{r:?}"
        );
        let r = push(key(2), vec![up("refs/heads/bob-work", Some(c2), c1, true)])
            .await
            .expect("push");
        assert_eq!(r[0].1, None, "{r:?}");
        assert_eq!(tracking(&a, "refs/heads/bob-work"), Some(c1));

        // A reader may fetch but not push.
        let e = push(key(3), vec![up("refs/heads/carol", None, c1, false)])
            .await
            .expect_err("reader");
        assert!(e.to_string().contains("read-only"), "{e}");
    })
    .await
    .expect("within the time limit");
}

/// A hostile peer: answers every request with what `respond` makes of it.
pub(super) fn fake_server(
    k: &MachineKey,
    respond: impl Fn(super::wire::Message) -> Vec<super::wire::Message> + Send + Sync + 'static,
) -> SocketAddr {
    let policy: super::transport::MemberPolicy = Arc::new(|_| true);
    let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), k, policy).expect("bind");
    let addr = ep.local_addr().expect("addr");
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        while let Some(Ok(conn)) = ep.accept().await {
            let respond = respond.clone();
            tokio::spawn(async move {
                while let Ok((mut send, mut recv)) = conn.inner.accept_bi().await {
                    let respond = respond.clone();
                    tokio::spawn(async move {
                        if let Ok(Some(m)) = super::wire::read_message(&mut recv).await {
                            for out in respond(m) {
                                if super::wire::write_message(&mut send, &out).await.is_err() {
                                    return;
                                }
                            }
                            let _ = send.finish();
                        }
                    });
                }
            });
        }
    });
    addr
}

/// Record `id` of the served store, as the wire carries it.
pub(super) fn stored_record(served: &super::answer::Served, id: &ObjectId) -> super::wire::Message {
    let r = served
        .with_store(|s| s.read_raw(id))
        .expect("read")
        .expect("present");
    super::wire::Message::Record {
        id: r.id,
        kind: r.kind as u8,
        codec: r.codec as u8,
        raw_len: r.raw_len,
        payload: r.payload,
    }
}

/// Answers like a real server from `dir`, except that `hook` may answer a request
/// first (`Some`), and every record passes through `tamper`.
pub(super) fn scripted_server(
    k: &MachineKey,
    dir: PathBuf,
    hook: impl Fn(&super::wire::Message) -> Option<Vec<super::wire::Message>> + Send + Sync + 'static,
    tamper: impl Fn(super::wire::Message) -> super::wire::Message + Send + Sync + 'static,
) -> SocketAddr {
    use super::wire::Message;
    let served = Arc::new(super::answer::Served::open(dir.clone()).expect("open"));
    let repo_id = Store::open(&dir)
        .expect("open")
        .repository_id()
        .expect("id");
    fake_server(k, move |m| {
        if let Some(out) = hook(&m) {
            return out;
        }
        match m {
            Message::Hello { .. } => vec![welcome(&repo_id)],
            Message::ListRefs {} => vec![served.refs().expect("refs")],
            Message::Commits {
                wants,
                haves,
                limit,
            } => served.history(&wants, &haves, limit).expect("history"),
            Message::GetObjects { ids } => {
                let mut out: Vec<Message> = ids
                    .iter()
                    .map(|id| tamper(stored_record(&served, id)))
                    .collect();
                out.push(Message::End {});
                out
            }
            Message::GetChunks { runs } => {
                let mut out = Vec::new();
                for run in runs {
                    let ids = served
                        .with_store(|s| super::answer::file_chunk_ids(s, &run.file))
                        .expect("chunks");
                    for id in &ids[run.start as usize..(run.start + u64::from(run.count)) as usize]
                    {
                        out.push(tamper(stored_record(&served, id)));
                    }
                }
                out.push(Message::End {});
                out
            }
            _ => vec![Message::Error {
                code: "no".into(),
                message: "no".into(),
            }],
        }
    })
}

/// Answers like a real server from `dir`, passing each record through `tamper`.
fn tampering_server(
    k: &MachineKey,
    dir: PathBuf,
    tamper: impl Fn(super::wire::Message) -> super::wire::Message + Send + Sync + 'static,
) -> SocketAddr {
    scripted_server(k, dir, |_| None, tamper)
}

/// The welcome of a server of repository `repo`.
pub(super) fn welcome(repo: &str) -> super::wire::Message {
    super::wire::Message::Welcome {
        version: 1,
        repo: repo.to_string(),
        caps: Vec::new(),
        listen: Vec::new(),
        chunking: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_does_not_hash_to_its_id_is_discarded_and_the_peer_dropped() {
    use super::wire::Message;
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        put(&a, "big.bin", &noise(5, 3 << 20));
        commit_all(&mut a, "c");
        // Flip one byte of every chunk past the first few.
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        let addr = tampering_server(&key(1), store_dir(&a), move |m| match m {
            Message::Record {
                id,
                kind: 0,
                codec,
                raw_len,
                mut payload,
            } if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 3 => {
                payload[0] ^= 0xff;
                Message::Record {
                    id,
                    kind: 0,
                    codec,
                    raw_len,
                    payload,
                }
            }
            other => other,
        });
        let b = empty_like(d.path(), "bob", &a);
        let e = fetch_from(addr, &key(1), &key(2), &b, true)
            .await
            .expect_err("bad data");
        assert!(matches!(e, super::SyncError::BadData { .. }), "{e}");
        assert!(e.to_string().contains("disconnected"), "{e}");
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(
            bs.db().list_refs("refs/").expect("refs").is_empty(),
            "no ref lands"
        );
        assert!(
            bs.fsck(&mut |_| {}).expect("fsck").is_ok(),
            "only verified records were kept"
        );

        // A record other than the one asked for is refused too.
        let addr = tampering_server(&key(1), store_dir(&a), |m| match m {
            Message::Record {
                kind: 0,
                codec,
                raw_len,
                payload,
                ..
            } => Message::Record {
                id: ObjectId::of_chunk(b"something else"),
                kind: 0,
                codec,
                raw_len,
                payload,
            },
            other => other,
        });
        let e = fetch_from(addr, &key(1), &key(2), &b, true)
            .await
            .expect_err("wrong record");
        assert!(matches!(e, super::SyncError::Protocol { .. }), "{e}");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_paths_in_received_trees_are_refused() {
    use super::wire::Message;
    use crate::store::object::{Commit, Person};
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let a = alice_repo(d.path());
        for evil in ["..", "../etc", "/abs", "a/b", ""] {
            let file = ObjectId::of_chunk(b"x");
            // A tree encoded by hand: the store's encoder would refuse the name.
            let tree = crate::store::object::encode(
                crate::store::ObjectKind::Tree,
                &(
                    1u8,
                    vec![(evil.to_string(), 0u8, file, 1u64, Option::<ObjectId>::None)],
                ),
            )
            .expect("encode");
            let tree_id = ObjectId::compute(crate::store::ObjectKind::Tree, &tree);
            let who = Person {
                name: "m".into(),
                email: "m@x".into(),
                time: 0,
                tz_offset_min: 0,
            };
            let commit = Commit {
                tree: tree_id,
                parents: Vec::new(),
                author: who.clone(),
                committer: who,
                message: "evil".into(),
                notes: Vec::new(),
                signature: None,
            }
            .encode()
            .expect("commit");
            let commit_id = ObjectId::compute(crate::store::ObjectKind::Commit, &commit);
            let repo_id = a.store().repository_id().expect("id");
            let records = Arc::new(vec![(commit_id, 4u8, commit), (tree_id, 3u8, tree)]);
            let addr = fake_server(&key(1), move |m| match m {
                Message::Hello { .. } => vec![Message::Welcome {
                    version: 1,
                    repo: repo_id.clone(),
                    caps: Vec::new(),
                    listen: Vec::new(),
                    chunking: None,
                }],
                Message::ListRefs {} => vec![Message::Refs {
                    refs: vec![("refs/heads/main".into(), commit_id)],
                    head: None,
                    members: None,
                    locks: Vec::new(),
                }],
                Message::Commits { .. } => vec![Message::CommitIds {
                    ids: vec![commit_id],
                    done: true,
                }],
                Message::GetObjects { ids } => {
                    let mut out: Vec<Message> = ids
                        .iter()
                        .map(|id| {
                            let (_, kind, bytes) =
                                records.iter().find(|(i, _, _)| i == id).expect("asked for");
                            Message::Record {
                                id: *id,
                                kind: *kind,
                                codec: 0,
                                raw_len: bytes.len() as u32,
                                payload: bytes.clone(),
                            }
                        })
                        .collect();
                    out.push(Message::End {});
                    out
                }
                _ => Vec::new(),
            });
            let b = empty_like(d.path(), &format!("bob{}", evil.len()), &a);
            let e = fetch_from(addr, &key(1), &key(2), &b, false)
                .await
                .expect_err("hostile tree");
            assert!(
                matches!(e, super::SyncError::BadData { .. }),
                "{evil:?}: {e}"
            );
            assert!(Store::open(b.store().dir())
                .expect("open")
                .db()
                .list_refs("refs/")
                .expect("refs")
                .is_empty());
        }
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_close_only_that_connection() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        put(&a, "f.bin", b"content");
        let c1 = commit_all(&mut a, "c");
        let (addr, _stop) = serve(&a, &key(1));
        let hostile: [&[u8]; 5] = [
            &[0xff, 0xff, 0xff, 0xff],            // a length over the bound
            &[0, 0, 0, 0],                        // an empty frame
            &[5, 0, 0, 0, 0xa1, 0x61, 0x74, 0x61, 0x58], // an unknown type "X"
            &[3, 0, 0, 0, 0xff, 0xff, 0xff],      // not CBOR
            &[10, 0, 0, 0, 1, 2],                 // truncated
        ];
        for bytes in hostile {
            let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all()).expect("bind");
            let conn = client::connect(&ep, key(1).public(), &[addr]).await.expect("connect");
            let (mut send, mut recv) = conn.inner.open_bi().await.expect("stream");
            send.write_all(bytes).await.expect("write");
            let _ = send.finish();
            // The server answers nothing and closes the connection with a reason.
            let got = super::wire::read_message(&mut recv).await;
            assert!(got.is_err() || matches!(got, Ok(None)), "{bytes:?}: {got:?}");
            let closed = conn.inner.closed().await;
            assert!(
                matches!(closed, quinn::ConnectionError::ApplicationClosed(ref c) if c.error_code == quinn::VarInt::from_u32(super::server::CLOSE_PROTOCOL)),
                "{bytes:?}: {closed:?}"
            );
        }
        // A request before hello is refused the same way.
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all()).expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr]).await.expect("connect");
        assert!(client::list_refs(&conn, "alice").await.is_err());
        // The server still serves well-behaved peers.
        let b = empty_like(d.path(), "bob", &a);
        fetch_from(addr, &key(1), &key(2), &b, true).await.expect("fetch");
        assert_eq!(tracking(&b, "refs/remotes/alice/main"), Some(c1));
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_bad_hellos_and_out_of_place_requests() {
    use super::fetch::{next, request};
    use super::wire::Message;
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let a = alice_repo(d.path());
        let (addr, _stop) = serve(&a, &key(1));
        let repo_id = a.store().repository_id().expect("id");
        let connect = || async {
            let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
                .expect("bind");
            let conn = client::connect(&ep, key(1).public(), &[addr])
                .await
                .expect("connect");
            (ep, conn)
        };
        let hello =
            |versions: Vec<u32>, repo: Option<String>, listen: Vec<String>| Message::Hello {
                versions,
                repo,
                caps: Vec::new(),
                listen,
            };
        // An unknown protocol version and another repository: refused, with a code.
        let (_ep, conn) = connect().await;
        for (msg, code) in [
            (
                hello(vec![99], Some(repo_id.clone()), Vec::new()),
                "version",
            ),
            (
                hello(vec![1], Some("another".into()), Vec::new()),
                "wrong-repository",
            ),
        ] {
            let mut recv = request(&conn.inner, "alice", &msg).await.expect("request");
            match next(&mut recv, "alice").await {
                Err(super::SyncError::Refused { code: c, .. }) => assert_eq!(c, code),
                other => panic!("{code}: {other:?}"),
            }
        }
        // A good hello naming where we serve: the server notes the address.
        let msg = hello(
            vec![1],
            Some(repo_id.clone()),
            vec!["127.0.0.1:4567".into(), "junk".into()],
        );
        let mut recv = request(&conn.inner, "alice", &msg).await.expect("request");
        assert!(matches!(
            next(&mut recv, "alice").await,
            Ok(Message::Welcome { .. })
        ));
        let row = Store::open(a.store().dir())
            .expect("open")
            .db()
            .peer_get(&key(2).public())
            .expect("peer")
            .expect("row");
        assert_eq!(row.addrs, vec!["127.0.0.1:4567".to_string()]);
        // A response sent as a request closes the connection.
        let mut recv = request(&conn.inner, "alice", &Message::End {})
            .await
            .expect("request");
        assert!(next(&mut recv, "alice").await.is_err());
        assert!(matches!(
            conn.inner.closed().await,
            quinn::ConnectionError::ApplicationClosed(_)
        ));
        // So does a stream that carries no request at all.
        let (_ep, conn) = connect().await;
        let (mut send, _recv) = conn.inner.open_bi().await.expect("stream");
        send.write_all(&[]).await.expect("write");
        let _ = send.finish();
        assert!(matches!(
            conn.inner.closed().await,
            quinn::ConnectionError::ApplicationClosed(_)
        ));
    })
    .await
    .expect("within the time limit");
}

/// A member removed while connected is refused from its next request on, on the
/// connection already open: no poll interval in which it is still served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_removed_while_connected_is_refused_at_its_next_request() {
    use super::fetch::{next, request};
    use super::wire::Message;
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        let (addr, _stop) = serve(&a, &key(1));
        let repo_id = a.store().repository_id().expect("id");
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr])
            .await
            .expect("connect");
        client::hello(&conn, "alice", Some(repo_id), Vec::new())
            .await
            .expect("bob is a member");
        let mut recv = request(&conn.inner, "alice", &Message::ListRefs {})
            .await
            .expect("request");
        assert!(matches!(
            next(&mut recv, "alice").await,
            Ok(Message::Refs { .. })
        ));

        super::members::remove(a.store_mut(), &key(1), "bob").expect("remove bob");
        let mut recv = request(&conn.inner, "alice", &Message::ListRefs {})
            .await
            .expect("request");
        match next(&mut recv, "alice").await {
            Err(super::SyncError::Refused { code, message, .. }) => {
                assert_eq!(code, "not-a-member");
                assert!(message.contains("not a member"), "{message}");
            }
            other => panic!("a removed member was served: {other:?}"),
        }
        // Carol, still a member, is served as before.
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(3), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr])
            .await
            .expect("carol connects");
        let repo_id = a.store().repository_id().expect("id");
        client::hello(&conn, "alice", Some(repo_id), Vec::new())
            .await
            .expect("carol is a member");
    })
    .await
    .expect("bounded");
}
