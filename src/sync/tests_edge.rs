//! Edge cases of sync, end to end in one process: hostile or odd answers from a
//! peer, every integrity check of the fetching side, and the less travelled paths of
//! serving, fetching, landing and pushing. Real QUIC endpoints on 127.0.0.1, real
//! stores.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::answer::{Failure, Served};
use super::client::{self, FetchOptions};
use super::transport::{refuse_all, Connection, Endpoint};
use super::wire::{self, Message, RefUpdate, Run};
use super::SyncError;
use crate::identity::MachineKey;
use crate::store::db::{Expect, RefTarget, ReflogInfo};
use crate::store::object::{ChunkEntry, ChunkListNode, FileObject, Person, Tag};
use crate::store::{ObjectId, ObjectKind, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

use super::tests::{
    alice_repo, empty_like, fake_server, key, scripted_server, serve, store_dir, stored_record,
    welcome, LIMIT,
};

/// Connects as `me` to `addr` (pinning `server_key`) and says hello for `repo`.
async fn session(
    addr: SocketAddr,
    server_key: &MachineKey,
    me: &MachineKey,
    repo: Option<String>,
) -> Result<(Endpoint, Connection), SyncError> {
    let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), me, refuse_all())?;
    let conn = client::connect(&ep, server_key.public(), &[addr]).await?;
    client::hello(&conn, "alice", repo, Vec::new()).await?;
    Ok((ep, conn))
}

async fn fetch_opts(
    addr: SocketAddr,
    server_key: &MachineKey,
    me: &MachineKey,
    into: &Repo,
    opts: FetchOptions,
) -> Result<client::FetchReport, SyncError> {
    let repo_id = into.store().repository_id()?;
    let (_ep, conn) = session(addr, server_key, me, Some(repo_id)).await?;
    let r = client::fetch(&conn, "alice", &store_dir(into), opts).await;
    conn.close(0, b"done");
    r
}

async fn fetch_from(
    addr: SocketAddr,
    server_key: &MachineKey,
    me: &MachineKey,
    into: &Repo,
) -> Result<client::FetchReport, SyncError> {
    let opts = FetchOptions {
        trust_peer: true,
        progress: None,
        prefill_checkout: false,
        hold_members: None,
    };
    fetch_opts(addr, server_key, me, into, opts).await
}

fn read_ref(repo: &Repo, name: &str) -> Option<ObjectId> {
    let s = Store::open(repo.store().dir()).expect("open");
    match s.db().read_ref(name).expect("read") {
        Some(RefTarget::Id(id)) => Some(id),
        _ => None,
    }
}

fn log() -> ReflogInfo {
    ReflogInfo {
        who: "t".into(),
        time: 0,
        tz_offset_min: 0,
        message: "t".into(),
    }
}

fn set_ref(repo: &Repo, name: &str, id: ObjectId) {
    repo.store()
        .db()
        .update_ref(name, Expect::Any, id, &log())
        .expect("set ref");
}

fn who() -> Person {
    Person {
        name: "t".into(),
        email: "t@x".into(),
        time: 0,
        tz_offset_min: 0,
    }
}

/// Writes `bytes` as a `kind` object (no checks beyond the store's own), or a tag.
fn put_raw_object(repo: &mut Repo, kind: ObjectKind, bytes: Vec<u8>) -> ObjectId {
    let s = repo.store_mut();
    let (lock, _) = s.lock().expect("lock");
    let mut w = s.writer(&lock);
    let id = w.put_object(kind, bytes).expect("put");
    w.finish().expect("finish");
    drop(lock);
    *s = Store::open(s.dir()).expect("reopen");
    id
}

fn tag(repo: &mut Repo, target: ObjectId, target_kind: ObjectKind, name: &str) -> ObjectId {
    let bytes = Tag {
        target,
        target_kind,
        name: name.into(),
        tagger: who(),
        message: "m".into(),
        signature: None,
    }
    .encode()
    .expect("encode");
    let id = put_raw_object(repo, ObjectKind::Tag, bytes);
    set_ref(repo, &format!("refs/tags/{name}"), id);
    id
}

fn is_protocol(e: &SyncError, needle: &str) -> bool {
    matches!(e, SyncError::Protocol { .. }) && e.to_string().contains(needle)
}

fn is_bad_data(e: &SyncError, needle: &str) -> bool {
    matches!(e, SyncError::BadData { .. }) && e.to_string().contains(needle)
}

/// A repository with one commit holding a small and a larger file.
fn alice_with_content(dir: &Path) -> (Repo, ObjectId) {
    let mut a = alice_repo(dir);
    put(&a, "small.txt", b"hello");
    put(
        &a,
        "dir/big.bin",
        &crate::store::pack::testutil::random_bytes(4, 600_000),
    );
    let c = commit_all(&mut a, "c");
    (a, c)
}

// ---------------------------------------------------------------------------
// hello, ref listing, history

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_checks_the_version_the_repository_and_the_answer() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let a = alice_repo(d.path());
        let id = a.store().repository_id().expect("id");
        let other = id.clone();
        let wrong_repo = fake_server(&key(1), move |_| vec![welcome("someone-else")]);
        let e = session(wrong_repo, &key(1), &key(2), Some(other))
            .await
            .expect_err("wrong repo");
        assert!(is_protocol(&e, "serves repository someone-else"), "{e}");
        // A clone takes whatever repository it is served.
        session(wrong_repo, &key(1), &key(2), None)
            .await
            .expect("clone hello");

        let v2 = fake_server(&key(1), |_| {
            vec![Message::Welcome {
                version: 2,
                repo: "r".into(),
                caps: Vec::new(),
                listen: Vec::new(),
                chunking: None,
            }]
        });
        let e = session(v2, &key(1), &key(2), None).await.expect_err("v2");
        assert!(is_protocol(&e, "version 2"), "{e}");

        let odd = fake_server(&key(1), |_| vec![Message::End {}]);
        let e = session(odd, &key(1), &key(2), None).await.expect_err("odd");
        assert!(is_protocol(&e, "answered hello with"), "{e}");

        let silent = fake_server(&key(1), |_| Vec::new());
        let e = session(silent, &key(1), &key(2), None)
            .await
            .expect_err("silent");
        assert!(is_protocol(&e, "ended early"), "{e}");

        let refusing = fake_server(&key(1), |_| {
            vec![Message::Error {
                code: "busy".into(),
                message: "later".into(),
            }]
        });
        let e = session(refusing, &key(1), &key(2), None)
            .await
            .expect_err("refused");
        assert!(matches!(e, SyncError::Refused { .. }), "{e}");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ref_listings_and_history_answers_are_checked() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c) = alice_with_content(d.path());
        let b = empty_like(d.path(), "bob", &a);
        let listing = |refs: Vec<(String, ObjectId)>| {
            move |m: &Message| match m {
                Message::ListRefs {} => Some(vec![Message::Refs {
                    refs: refs.clone(),
                    head: None,
                    members: None,
                    locks: Vec::new(),
                }]),
                _ => None,
            }
        };
        for bad in [
            "refs/remotes/x/main",
            "refs/heads/../escape",
            "refs/heads/a b",
            "HEAD",
        ] {
            let addr = scripted_server(
                &key(1),
                store_dir(&a),
                listing(vec![(bad.into(), c)]),
                |m| m,
            );
            let e = fetch_from(addr, &key(1), &key(2), &b).await.expect_err(bad);
            assert!(is_protocol(&e, "listed the ref"), "{bad}: {e}");
        }
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            |m| matches!(m, Message::ListRefs {}).then(|| vec![Message::End {}]),
            |m| m,
        );
        let e = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect_err("odd listing");
        assert!(is_protocol(&e, "answered the ref listing with"), "{e}");

        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            |m| matches!(m, Message::Commits { .. }).then(|| vec![Message::End {}]),
            |m| m,
        );
        let e = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect_err("odd history");
        assert!(is_protocol(&e, "answered the history request with"), "{e}");

        // History in several frames is put together.
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            move |m| {
                matches!(m, Message::Commits { .. }).then(|| {
                    vec![
                        Message::CommitIds {
                            ids: Vec::new(),
                            done: false,
                        },
                        Message::CommitIds {
                            ids: vec![c],
                            done: true,
                        },
                    ]
                })
            },
            |m| m,
        );
        fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect("framed history");
        assert_eq!(read_ref(&b, "refs/remotes/alice/main"), Some(c));
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(bs.fsck(&mut |_| {}).expect("fsck").is_ok());
    })
    .await
    .expect("within the time limit");
}

// ---------------------------------------------------------------------------
// records: record_of, get_objects, get_chunks

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_record_answer_is_refused() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c) = alice_with_content(d.path());
        let b = empty_like(d.path(), "bob", &a);
        let dir = store_dir(&a);

        // The commit is said to be missing: the peer listed what it does not have.
        let addr = scripted_server(
            &key(1),
            dir.clone(),
            |_| None,
            |m| match m {
                Message::Record { id, kind: 4, .. } => Message::Missing { id },
                m => m,
            },
        );
        let e = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect_err("missing");
        assert!(
            matches!(e, SyncError::PeerMissing { id, .. } if id == c),
            "{e}"
        );

        type Tamper = fn(Message) -> Message;
        let cases: [(&str, Tamper); 6] = [
            ("unknown kind", |m| match m {
                Message::Record {
                    id,
                    codec,
                    raw_len,
                    payload,
                    ..
                } => Message::Record {
                    id,
                    kind: 200,
                    codec,
                    raw_len,
                    payload,
                },
                m => m,
            }),
            ("unknown codec", |m| match m {
                Message::Record {
                    id,
                    kind,
                    raw_len,
                    payload,
                    ..
                } => Message::Record {
                    id,
                    kind,
                    codec: 200,
                    raw_len,
                    payload,
                },
                m => m,
            }),
            ("where record", |m| match m {
                Message::Record { .. } => Message::End {},
                m => m,
            }),
            ("where record", |_| Message::Missing {
                id: ObjectId::of_chunk(b"other"),
            }),
            ("where", |m| match m {
                Message::Record {
                    kind,
                    codec,
                    raw_len,
                    payload,
                    ..
                } => Message::Record {
                    id: ObjectId::of_chunk(b"other"),
                    kind,
                    codec,
                    raw_len,
                    payload,
                },
                m => m,
            }),
            // A chunk answered with a non-chunk record under the chunk's id.
            ("as chunk", |m| match m {
                Message::Record {
                    id,
                    kind: 0,
                    codec,
                    raw_len,
                    payload,
                } => Message::Record {
                    id,
                    kind: ObjectKind::Tree as u8,
                    codec,
                    raw_len,
                    payload,
                },
                m => m,
            }),
        ];
        for (needle, tamper) in cases {
            let addr = scripted_server(&key(1), dir.clone(), |_| None, tamper);
            let e = fetch_from(addr, &key(1), &key(2), &b)
                .await
                .expect_err(needle);
            assert!(is_protocol(&e, needle), "{needle}: {e}");
        }
        // Records not hashing to their id, for an object. A fresh store: the cases
        // above kept the verified records they received (the commit among them).
        let b = empty_like(d.path(), "bob2", &a);
        let addr = scripted_server(
            &key(1),
            dir.clone(),
            |_| None,
            |m| match m {
                Message::Record {
                    id,
                    kind: 4,
                    codec,
                    raw_len,
                    mut payload,
                } => {
                    let last = payload.len() - 1;
                    payload[last] ^= 1;
                    Message::Record {
                        id,
                        kind: 4,
                        codec,
                        raw_len,
                        payload,
                    }
                }
                m => m,
            },
        );
        let e = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect_err("forged object");
        assert!(matches!(e, SyncError::BadData { .. }), "{e}");
        let bs = Store::open(b.store().dir()).expect("open");
        assert!(bs.db().list_refs("refs/").expect("refs").is_empty());
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_must_end_after_its_records() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, _) = alice_with_content(d.path());
        let b = empty_like(d.path(), "bob", &a);
        for (chunks, needle) in [(false, "after the records"), (true, "after the chunks")] {
            let served = Arc::new(Served::open(store_dir(&a)).expect("open"));
            let addr = scripted_server(
                &key(1),
                store_dir(&a),
                move |m| match m {
                    Message::GetObjects { ids } if !chunks => {
                        let mut out: Vec<Message> =
                            ids.iter().map(|id| stored_record(&served, id)).collect();
                        out.push(Message::CommitIds {
                            ids: Vec::new(),
                            done: true,
                        });
                        Some(out)
                    }
                    Message::GetChunks { runs } if chunks => {
                        let mut out = Vec::new();
                        for run in runs {
                            let ids = served
                                .with_store(|s| super::answer::file_chunk_ids(s, &run.file))
                                .expect("chunks");
                            for id in &ids
                                [run.start as usize..(run.start + u64::from(run.count)) as usize]
                            {
                                out.push(stored_record(&served, id));
                            }
                        }
                        out.push(Message::CommitIds {
                            ids: Vec::new(),
                            done: true,
                        });
                        Some(out)
                    }
                    _ => None,
                },
                |m| m,
            );
            let e = fetch_from(addr, &key(1), &key(2), &b)
                .await
                .expect_err(needle);
            assert!(is_protocol(&e, needle), "{needle}: {e}");
        }
    })
    .await
    .expect("within the time limit");
}

// ---------------------------------------------------------------------------
// kinds: closure_of, decoded, trees, files, leaves

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_of_trees_and_files_fetch_what_they_name() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (mut a, c) = alice_with_content(d.path());
        let (tree, file) = {
            let s = a.store();
            let tree = s.commit(&c).expect("commit").tree;
            let small = s
                .tree(&tree)
                .expect("tree")
                .entries
                .iter()
                .find(|e| e.name == "small.txt")
                .expect("small")
                .id;
            (tree, small)
        };
        let t_tree = tag(&mut a, tree, ObjectKind::Tree, "the-tree");
        let t_file = tag(&mut a, file, ObjectKind::File, "the-file");
        let t_tag = tag(&mut a, t_file, ObjectKind::Tag, "the-tag");
        // Alice deletes main: only tags are offered.
        a.store()
            .db()
            .delete_ref("refs/heads/main", Expect::Any, &log())
            .expect("delete");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        let seen = Arc::new(AtomicUsize::new(0));
        let s2 = seen.clone();
        let r = fetch_opts(
            addr,
            &key(1),
            &key(2),
            &b,
            FetchOptions {
                trust_peer: true,
                progress: Some(Arc::new(move |_| {
                    s2.fetch_add(1, Ordering::SeqCst);
                })),
                prefill_checkout: false,
                hold_members: None,
            },
        )
        .await
        .expect("fetch");
        assert!(seen.load(Ordering::SeqCst) > 0, "progress was reported");
        assert!(r.transferred.chunks > 0, "{:?}", r.transferred);
        assert_eq!(read_ref(&b, "refs/tags/the-tree"), Some(t_tree));
        assert_eq!(read_ref(&b, "refs/tags/the-file"), Some(t_file));
        assert_eq!(read_ref(&b, "refs/tags/the-tag"), Some(t_tag));
        let bs = Store::open(b.store().dir()).expect("open");
        assert_eq!(bs.read_file_bytes(&file).expect("file"), b"hello");
        assert!(bs.contains(&tree));
        assert!(bs.fsck(&mut |_| {}).expect("fsck").is_ok());
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_the_wrong_kind_are_bad_data() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (mut a, c) = alice_with_content(d.path());
        let tree = a.store().commit(&c).expect("commit").tree;
        let chunk = ObjectId::of_chunk(b"hello");
        // Delete main: every case offers one tag.
        a.store()
            .db()
            .delete_ref("refs/heads/main", Expect::Any, &log())
            .expect("delete");

        // A file object whose root node is one level lower than its height says.
        let big = {
            let s = a.store();
            let t = s.tree(&tree).expect("tree");
            let dir = t.entries.iter().find(|e| e.name == "dir").expect("dir").id;
            s.tree(&dir).expect("dir").entries[0].id
        };
        let fo = a.store().file(&big).expect("file");
        assert!(fo.height >= 1, "{fo:?}");
        let lying_file = put_raw_object(
            &mut a,
            ObjectKind::File,
            FileObject {
                size: fo.size,
                height: fo.height + 1,
                root: fo.root,
            }
            .encode()
            .expect("encode"),
        );
        // A node that names a chunk as its child node.
        let node_over_chunk = put_raw_object(
            &mut a,
            ObjectKind::ChunkList,
            ChunkListNode {
                level: 2,
                entries: vec![ChunkEntry { id: chunk, len: 5 }],
            }
            .encode()
            .expect("encode"),
        );
        let file_over_chunk = put_raw_object(
            &mut a,
            ObjectKind::File,
            FileObject {
                size: 5,
                height: 2,
                root: node_over_chunk,
            }
            .encode()
            .expect("encode"),
        );
        // A tree whose entry has "metadata" that is a chunk.
        let tree_with_bad_meta = {
            let bytes = crate::store::object::encode(
                ObjectKind::Tree,
                &(1u8, vec![("f".to_string(), 0u8, big, fo.size, Some(chunk))]),
            )
            .expect("encode");
            put_raw_object(&mut a, ObjectKind::Tree, bytes)
        };
        let cases: Vec<(ObjectId, ObjectKind, &str)> = vec![
            (c, ObjectKind::Tree, "expected a tree"),
            (chunk, ObjectKind::File, "expected a file"),
            (lying_file, ObjectKind::File, "its parent says"),
            (file_over_chunk, ObjectKind::File, "expected a chunklist"),
            (
                tree_with_bad_meta,
                ObjectKind::Tree,
                "expected asset metadata",
            ),
        ];
        for (i, (target, kind, needle)) in cases.into_iter().enumerate() {
            let name = format!("case{i}");
            let t = tag(&mut a, target, kind, &name);
            let (addr, stop) = serve(&a, &key(1));
            let b = empty_like(d.path(), &format!("bob{i}"), &a);
            let e = fetch_from(addr, &key(1), &key(2), &b)
                .await
                .expect_err(needle);
            assert!(
                is_bad_data(&e, needle) || e.to_string().contains(needle),
                "{needle}: {e}"
            );
            assert!(matches!(e, SyncError::BadData { .. }), "{needle}: {e:?}");
            let _ = stop.send(true);
            a.store()
                .db()
                .delete_ref(&format!("refs/tags/{name}"), Expect::Value(t), &log())
                .expect("delete");
        }

        // History listing a tree: not history.
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            move |m| match m {
                Message::ListRefs {} => Some(vec![Message::Refs {
                    refs: vec![("refs/heads/main".into(), c)],
                    head: None,
                    members: None,
                    locks: Vec::new(),
                }]),
                Message::Commits { .. } => Some(vec![Message::CommitIds {
                    ids: vec![tree],
                    done: true,
                }]),
                _ => None,
            },
            |m| m,
        );
        let b = empty_like(d.path(), "bob-tree", &a);
        let e = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect_err("tree history");
        assert!(is_bad_data(&e, "not history"), "{e}");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lists_and_locks_of_the_wrong_kind_are_bad_data() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c) = alice_with_content(d.path());
        let tree = a.store().commit(&c).expect("commit").tree;
        for (members, locks, needle) in [
            (Some(tree), Vec::new(), "not a member list"),
            (None, vec![tree], "not a lock"),
        ] {
            let addr = scripted_server(
                &key(1),
                store_dir(&a),
                move |m| match m {
                    Message::ListRefs {} => Some(vec![Message::Refs {
                        refs: vec![("refs/heads/main".into(), c)],
                        head: None,
                        members,
                        locks: locks.clone(),
                    }]),
                    _ => None,
                },
                |m| m,
            );
            let b = empty_like(d.path(), &format!("bob-{}", needle.len()), &a);
            let e = fetch_from(addr, &key(1), &key(2), &b)
                .await
                .expect_err(needle);
            assert!(is_bad_data(&e, needle), "{needle}: {e}");
        }
    })
    .await
    .expect("within the time limit");
}

// ---------------------------------------------------------------------------
// remote-tracking refs and tags

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_taken_once_and_gone_branches_are_dropped() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (mut a, c1) = alice_with_content(d.path());
        set_ref(&a, "refs/heads/feature", c1);
        let v1 = tag(&mut a, c1, ObjectKind::Commit, "v1");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        fetch_from(addr, &key(1), &key(2), &b).await.expect("fetch");
        assert_eq!(read_ref(&b, "refs/remotes/alice/feature"), Some(c1));
        assert_eq!(read_ref(&b, "refs/tags/v1"), Some(v1));

        // Alice drops the branch and moves her tag; bob keeps his tag.
        a.store()
            .db()
            .delete_ref("refs/heads/feature", Expect::Any, &log())
            .expect("delete");
        put(&a, "small.txt", b"changed");
        let c2 = commit_all(&mut a, "two");
        let v1b = tag(&mut a, c2, ObjectKind::Commit, "v1");
        assert_ne!(v1, v1b);
        let r = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect("fetch 2");
        assert_eq!(
            read_ref(&b, "refs/remotes/alice/feature"),
            None,
            "{:?}",
            r.landed
        );
        assert_eq!(read_ref(&b, "refs/remotes/alice/main"), Some(c2));
        assert_eq!(read_ref(&b, "refs/tags/v1"), Some(v1), "our tag is kept");
        // Nothing changed: no ref change at all.
        let r = fetch_from(addr, &key(1), &key(2), &b)
            .await
            .expect("fetch 3");
        assert!(r.landed.refs.is_empty(), "{:?}", r.landed.refs);
    })
    .await
    .expect("within the time limit");
}

// ---------------------------------------------------------------------------
// push

async fn push_as(
    addr: SocketAddr,
    me: &MachineKey,
    from: &Repo,
    updates: Vec<RefUpdate>,
) -> Result<Vec<(String, Option<String>)>, SyncError> {
    let repo_id = from.store().repository_id()?;
    let (_ep, conn) = session(addr, &key(1), me, Some(repo_id)).await?;
    let r = client::push(&conn, "alice", &store_dir(from), updates).await;
    conn.close(0, b"");
    r
}

fn up(name: &str, old: Option<ObjectId>, new: ObjectId, force: bool) -> RefUpdate {
    RefUpdate {
        name: name.into(),
        old,
        new,
        force,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_of_tags_forced_moves_and_other_namespaces() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c1) = alice_with_content(d.path());
        let (addr, _stop) = serve(&a, &key(1));
        let mut b = empty_like(d.path(), "bob", &a);
        fetch_from(addr, &key(1), &key(2), &b).await.expect("fetch");
        set_ref(&b, "refs/heads/main", c1);
        put(&b, "bob.txt", b"bob");
        let c2 = commit_all(&mut b, "bob");
        let t = tag(&mut b, c2, ObjectKind::Commit, "bob-v1");

        let r = push_as(
            addr,
            &key(2),
            &b,
            vec![
                up("refs/notes/x", None, c2, false),
                up("refs/heads/bad..name", None, c2, false),
                up("refs/tags/bob-v1", None, t, false),
                up("refs/heads/topic", None, c2, false),
            ],
        )
        .await
        .expect("push");
        let refused = |name: &str| r.iter().find(|x| x.0 == name).expect("named").1.clone();
        assert!(
            refused("refs/notes/x")
                .expect("refused")
                .contains("only branches"),
            "{r:?}"
        );
        assert!(refused("refs/heads/bad..name").is_some(), "{r:?}");
        assert_eq!(refused("refs/tags/bob-v1"), None, "{r:?}");
        assert_eq!(refused("refs/heads/topic"), None, "{r:?}");
        assert_eq!(read_ref(&a, "refs/tags/bob-v1"), Some(t));

        // Nothing acceptable: answered without fetching.
        let r = push_as(addr, &key(2), &b, vec![up("refs/notes/y", None, c2, false)])
            .await
            .expect("push");
        assert_eq!(r.len(), 1);
        assert!(r[0].1.is_some());

        // Forced: moves backwards whatever `old` says.
        let r = push_as(
            addr,
            &key(2),
            &b,
            vec![up("refs/heads/topic", None, c1, true)],
        )
        .await
        .expect("push");
        assert_eq!(r[0].1, None, "{r:?}");
        assert_eq!(read_ref(&a, "refs/heads/topic"), Some(c1));

        // A push of something the pusher does not have: the fetch-back fails.
        let ghost = ObjectId::of_chunk(b"ghost");
        let e = push_as(
            addr,
            &key(2),
            &b,
            vec![up("refs/heads/ghost", None, ghost, false)],
        )
        .await
        .expect_err("fetch-back fails");
        assert!(
            e.to_string().contains("push-failed") || matches!(e, SyncError::Refused { .. }),
            "{e}"
        );
        assert_eq!(read_ref(&a, "refs/heads/ghost"), None);
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_answered_with_anything_but_a_result_fails() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c) = alice_with_content(d.path());
        let id = a.store().repository_id().expect("id");
        let addr = fake_server(&key(1), move |m| match m {
            Message::Hello { .. } => vec![welcome(&id)],
            _ => vec![Message::End {}],
        });
        let e = push_as(addr, &key(2), &a, vec![up("refs/heads/x", None, c, false)])
            .await
            .expect_err("odd");
        assert!(is_protocol(&e, "answered the push with"), "{e}");
    })
    .await
    .expect("within the time limit");
}

// ---------------------------------------------------------------------------
// the serving side

/// Sends `msg` on a new stream and reads the whole answer.
async fn ask(conn: &Connection, msg: &Message) -> Vec<Message> {
    let mut recv = super::fetch::request(&conn.inner, "alice", msg)
        .await
        .expect("request");
    let mut out = Vec::new();
    while let Ok(Some(m)) = wire::read_message(&mut recv).await {
        out.push(m);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_odd_requests_with_missing_and_errors() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (mut a, c) = alice_with_content(d.path());
        let big = {
            let s = a.store();
            let t = s.tree(&s.commit(&c).expect("c").tree).expect("tree");
            let dir = t.entries.iter().find(|e| e.name == "dir").expect("dir").id;
            s.tree(&dir).expect("dir").entries[0].id
        };
        // A lock record and a peer with addresses (and one without).
        let mut lock = crate::store::object::Lock::hold(
            "small.txt".into(),
            &who(),
            "main".into(),
            c,
            big,
            1,
        );
        lock.sign(&key(1)).expect("sign");
        let lock_id = lock.id().expect("id");
        a.store().db().lock_put(&lock_id, &lock).expect("lock");
        a.store()
            .db()
            .peer_add_addr(
                &key(3).public(),
                "127.0.0.1:9",
                crate::store::db::PeerSource::Config,
                Some(-5),
            )
            .expect("peer");
        a.store()
            .db()
            .peer_add_addr(
                &key(9).public(),
                "127.0.0.1:10",
                crate::store::db::PeerSource::Config,
                Some(7),
            )
            .expect("stranger");
        let (addr, _stop) = serve(&a, &key(1));
        let id = a.store().repository_id().expect("id");
        let (_ep, conn) = session(addr, &key(1), &key(2), Some(id)).await.expect("session");
        // A commit made after the connection opened is found (the pack set refreshes on a miss).
        put(&a, "later.txt", b"later");
        let c2 = commit_all(&mut a, "later");
        let got = ask(&conn, &Message::GetObjects { ids: vec![c2] }).await;
        assert!(matches!(&got[..], [Message::Record { id, .. }, Message::End {}] if *id == c2), "{got:?}");

        let refs = ask(&conn, &Message::ListRefs {}).await;
        match &refs[..] {
            [Message::Refs { head, locks, members, .. }] => {
                assert_eq!(head.as_deref(), Some("refs/heads/main"));
                assert_eq!(locks, &vec![lock_id]);
                assert!(members.is_some());
            }
            other => panic!("{other:?}"),
        }
        let unknown = ObjectId::of_chunk(b"unknown");
        let got = ask(&conn, &Message::GetObjects { ids: vec![unknown, unknown] }).await;
        assert!(
            matches!(&got[..], [Message::Missing { .. }, Message::Missing { .. }, Message::End {}]),
            "{got:?}"
        );
        let run = |file, start, count| Run { file, start, count };
        let got = ask(&conn, &Message::GetChunks { runs: vec![run(unknown, 0, 1)] }).await;
        assert!(
            matches!(&got[..], [Message::Error { code, .. }] if code == "not-found"),
            "{got:?}"
        );
        let got = ask(&conn, &Message::GetChunks { runs: vec![run(big, 1, 1), run(big, 0, 10_000)] }).await;
        assert!(
            matches!(&got[..], [Message::Record { .. }, Message::Error { code, .. }] if code == "bad-run"),
            "{got:?}"
        );
        let got = ask(&conn, &Message::GetChunks { runs: vec![run(big, 0, 1), run(big, 0, 1)] }).await;
        assert_eq!(got.len(), 3, "{got:?}");
        let got = ask(&conn, &Message::Commits { wants: vec![unknown], haves: Vec::new(), limit: 5 }).await;
        assert!(matches!(&got[..], [Message::Error { code, .. }] if code == "history"), "{got:?}");

        let got = ask(&conn, &Message::GetPeers {}).await;
        match &got[..] {
            [Message::Peers { peers }] => {
                assert!(peers.len() >= 2, "{peers:?}");
                assert!(peers.iter().any(|p| p.last_seen == 0), "a negative time reads as 0");
            }
            other => panic!("{other:?}"),
        }

        conn.close(0, b"");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_cache_of_a_connection_turns_over() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        for i in 0..6u8 {
            put(&a, &format!("f{i}.bin"), &vec![i; 1000 + i as usize]);
        }
        let c = commit_all(&mut a, "six");
        let s = a.store();
        let files: Vec<ObjectId> = s
            .tree(&s.commit(&c).expect("c").tree)
            .expect("tree")
            .entries
            .iter()
            .map(|e| e.id)
            .collect();
        let (addr, _stop) = serve(&a, &key(1));
        let id = a.store().repository_id().expect("id");
        let (_ep, conn) = session(addr, &key(1), &key(2), Some(id))
            .await
            .expect("session");
        for f in files.iter().chain(files.iter()) {
            let got = ask(
                &conn,
                &Message::GetChunks {
                    runs: vec![Run {
                        file: *f,
                        start: 0,
                        count: 1,
                    }],
                },
            )
            .await;
            assert!(
                matches!(&got[..], [Message::Record { .. }, Message::End {}]),
                "{got:?}"
            );
            assert_eq!(
                super::answer::file_chunk_ids(&Store::open(&store_dir(&a)).expect("open"), f)
                    .expect("ids")
                    .len(),
                1
            );
        }
    })
    .await
    .expect("within the time limit");
}

#[test]
fn failure_messages_are_cut_at_a_character_boundary() {
    let long = "é".repeat(wire::MAX_ERROR_MESSAGE); // two bytes each
    match Failure::new("x", long).to_message() {
        Message::Error { code, message } => {
            assert_eq!(code, "x");
            assert!(
                message.len() <= wire::MAX_ERROR_MESSAGE
                    && message.len() >= wire::MAX_ERROR_MESSAGE - 1
            );
            assert!(message.chars().all(|c| c == 'é'));
        }
        other => panic!("{other:?}"),
    }
    let odd = format!("a{}", "é".repeat(wire::MAX_ERROR_MESSAGE));
    match Failure::new("x", odd).to_message() {
        Message::Error { message, .. } => assert_eq!(message.len(), wire::MAX_ERROR_MESSAGE - 1),
        other => panic!("{other:?}"),
    }
    match Failure::new("x", "short").to_message() {
        Message::Error { message, .. } => assert_eq!(message, "short"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------
// remote: open and peer exchange

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_session_records_the_address_and_learns_members_only() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, c) = alice_with_content(d.path());
        a.store()
            .db()
            .peer_add_addr(
                &key(3).public(),
                "127.0.0.1:9",
                crate::store::db::PeerSource::Config,
                Some(3),
            )
            .expect("carol");
        a.store()
            .db()
            .peer_add_addr(
                &key(9).public(),
                "127.0.0.1:10",
                crate::store::db::PeerSource::Config,
                None,
            )
            .expect("stranger");
        a.store()
            .db()
            .peer_add_addr(
                &key(3).public(),
                "not-an-address",
                crate::store::db::PeerSource::Config,
                None,
            )
            .expect("bad addr");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        // Bob needs the member list to know who is a member.
        fetch_from(addr, &key(1), &key(2), &b).await.expect("fetch");
        assert!(read_ref(&b, "refs/remotes/alice/main") == Some(c));
        let remote = super::remote::Remote {
            name: "alice".into(),
            key: key(1).public(),
            addrs: vec![addr.to_string()],
        };
        let s = super::remote::open(&key(2), &remote, &store_dir(&b))
            .await
            .expect("open");
        assert_eq!(s.addr, addr);
        let bs = Store::open(b.store().dir()).expect("open");
        let alice = bs
            .db()
            .peer_get(&key(1).public())
            .expect("get")
            .expect("alice");
        assert_eq!(alice.addrs, vec![addr.to_string()]);
        let carol = bs
            .db()
            .peer_get(&key(3).public())
            .expect("get")
            .expect("carol");
        assert_eq!(carol.addrs, vec!["127.0.0.1:9".to_string()]);
        assert!(bs.db().peer_get(&key(9).public()).expect("get").is_none());
        s.conn.close(0, b"");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_exchange_learns_addresses_as_never_seen_here() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, _) = alice_with_content(d.path());
        // Alice never reached carol (NULL, sent as 0); bob is known by alice at 5.
        let db = a.store().db();
        db.peer_add_addr(
            &key(3).public(),
            "127.0.0.1:9",
            crate::store::db::PeerSource::Config,
            None,
        )
        .expect("carol");
        db.peer_add_addr(
            &key(2).public(),
            "127.0.0.1:11",
            crate::store::db::PeerSource::Config,
            Some(5),
        )
        .expect("bob");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        fetch_from(addr, &key(1), &key(2), &b).await.expect("fetch");
        let remote = super::remote::Remote {
            name: "alice".into(),
            key: key(1).public(),
            addrs: vec![addr.to_string()],
        };
        let s = super::remote::open(&key(2), &remote, &store_dir(&b))
            .await
            .expect("open");
        let bs = Store::open(b.store().dir()).expect("open");
        let carol = bs
            .db()
            .peer_get(&key(3).public())
            .expect("get")
            .expect("carol");
        assert_eq!(carol.addrs, vec!["127.0.0.1:9".to_string()]);
        assert_eq!(
            carol.last_seen, None,
            "learned by exchange, never reached from here: not 1970-01-01"
        );
        // The peer this machine did reach is seen.
        let alice = bs
            .db()
            .peer_get(&key(1).public())
            .expect("get")
            .expect("alice");
        assert!(alice.last_seen.is_some_and(|t| t > 0), "{alice:?}");
        s.conn.close(0, b"");
    })
    .await
    .expect("within the time limit");
}

/// Issue 15, item 11: chunk progress moves as records land, not when a whole
/// request ends (the file's 600 KB of chunks are one request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_progress_moves_record_by_record() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, _c) = alice_with_content(d.path());
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let r = fetch_opts(
            addr,
            &key(1),
            &key(2),
            &b,
            FetchOptions {
                trust_peer: true,
                progress: Some(Arc::new(move |t| {
                    s2.lock().expect("lock").push(t.chunks);
                })),
                prefill_checkout: false,
                hold_members: None,
            },
        )
        .await
        .expect("fetch");
        let total = r.transferred.chunks;
        assert!(total >= 3, "the file is several chunks: {total}");
        let seen = seen.lock().expect("lock").clone();
        assert!(
            seen.iter().any(|&c| c > 0 && c < total),
            "some report falls between none and all chunks: {seen:?} of {total}"
        );
        assert_eq!(seen.last().copied(), Some(total), "{seen:?}");
    })
    .await
    .expect("within the time limit");
}
