//! A server whose own store is damaged: real QUIC endpoints on 127.0.0.1, real
//! stores with a byte flipped in a pack, as a failing disk would.

use std::path::Path;

use crate::store::pack::testutil::{flip_record_byte, random_bytes, text_like};
use crate::store::{ObjectId, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

use super::answer::file_chunk_ids;
use super::client::{self, FetchOptions};
use super::tests::{alice_repo, empty_like, key, serve, store_dir, LIMIT};
use super::transport::{refuse_all, Connection, Endpoint};
use super::wire::{self, Message, Run};
use super::SyncError;

/// alice with an incompressible file (raw chunks) and a text file (zstd chunks);
/// returns the repository and the two files' ids.
fn alice_with_two_files(dir: &Path) -> (Repo, ObjectId, ObjectId) {
    let mut a = alice_repo(dir);
    put(&a, "noise.bin", &random_bytes(21, 400_000));
    put(&a, "words.txt", &text_like(22, 400_000));
    let c = commit_all(&mut a, "two files");
    let s = a.store();
    let tree = s.tree(&s.commit(&c).expect("commit").tree).expect("tree");
    let id = |name: &str| tree.entries.iter().find(|e| e.name == name).expect(name).id;
    let (noise, words) = (id("noise.bin"), id("words.txt"));
    (a, noise, words)
}

fn chunks(store_dir: &Path, file: &ObjectId) -> Vec<ObjectId> {
    file_chunk_ids(&Store::open(store_dir).expect("open"), file).expect("chunks")
}

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

/// The message types of an answer, for failure messages (payloads are long).
fn kinds(ms: &[Message]) -> Vec<&'static str> {
    ms.iter().map(|m| m.kind_name()).collect::<Vec<_>>()
}

/// The old server read a record's stored bytes and sent them unchecked, so the
/// fetcher saw "bad data" and was told to resume. Now the server re-hashes what
/// it reads and answers `Damaged` in that record's place, and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_server_says_so_instead_of_sending() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, noise, words) = alice_with_two_files(d.path());
        let dir = store_dir(&a);
        let (raw, zstd) = (chunks(&dir, &noise), chunks(&dir, &words));
        assert!(raw.len() >= 3 && !zstd.is_empty(), "{} {}", raw.len(), zstd.len());
        {
            let s = Store::open(&dir).expect("open");
            let codec = |id: &ObjectId| s.packs().locate(id).expect("stored").entry.codec;
            assert_eq!(codec(&raw[1]), crate::store::pack::Codec::Raw);
            assert_eq!(codec(&zstd[0]), crate::store::pack::Codec::Zstd);
        }
        flip_record_byte(&dir, &raw[1]);
        flip_record_byte(&dir, &zstd[0]);
        let (addr, _stop) = serve(&a, &key(1));
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr]).await.expect("connect");
        let repo = a.store().repository_id().expect("id");
        client::hello(&conn, "alice", Some(repo), Vec::new()).await.expect("hello");

        let got = ask(&conn, &Message::GetObjects { ids: vec![raw[1], raw[0], zstd[0]] }).await;
        match &got[..] {
            [Message::Damaged { id: d1, reason: r1 }, Message::Record { id: good, .. }, Message::Damaged { id: d2, reason: r2 }, Message::End {}] =>
            {
                assert_eq!((*d1, *good, *d2), (raw[1], raw[0], zstd[0]));
                assert!(r1.contains("hash"), "{r1}");
                assert!(!r2.is_empty());
            }
            other => panic!("{:?}", kinds(other)),
        }
        let run = Run { file: noise, start: 0, count: raw.len() as u32 };
        let got = ask(&conn, &Message::GetChunks { runs: vec![run] }).await;
        assert_eq!(got.len(), raw.len() + 1, "{:?}", kinds(&got));
        for (i, m) in got[..raw.len()].iter().enumerate() {
            match (i, m) {
                (1, Message::Damaged { id, .. }) => assert_eq!(*id, raw[1]),
                (_, Message::Record { id, .. }) => assert_eq!(*id, raw[i]),
                (i, m) => panic!("{i}: {}", m.kind_name()),
            }
        }
        assert!(matches!(got.last(), Some(Message::End {})));
        conn.close(0, b"");

        // A whole fetch stops with the peer named as damaged, every good record
        // it read on the way stored, and nothing bad stored.
        let b = empty_like(d.path(), "bob", &a);
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr]).await.expect("connect");
        let repo = b.store().repository_id().expect("id");
        client::hello(&conn, "alice", Some(repo), Vec::new()).await.expect("hello");
        let opts = FetchOptions { trust_peer: true, progress: None, prefill_checkout: false, hold_members: None };
        let e = client::fetch(&conn, "alice", &store_dir(&b), opts)
            .await
            .expect_err("the peer's store is damaged");
        conn.close(0, b"");
        match &e {
            SyncError::PeerDamaged { count, first, .. } => {
                assert_eq!(*count, 2, "{e}");
                assert!(*first == raw[1] || *first == zstd[0], "{e}");
            }
            other => panic!("{other}"),
        }
        let text = e.to_string();
        assert!(text.contains("the peer's store is damaged (2 record(s)"), "{text}");
        assert!(text.contains("gadn fsck --repair"), "{text}");
        let s = Store::open(&store_dir(&b)).expect("open");
        assert!(!s.contains(&raw[1]) && !s.contains(&zstd[0]));
        assert!(s.contains(&raw[0]));
        assert!(s.fsck(&mut |_| {}).expect("fsck").damaged.is_empty());
    })
    .await
    .expect("within the time limit");
}

/// What [`super::repair::ask_for`] makes of each answer: a record verified and
/// handed on, `Missing` and `Damaged` counted (another source may help), a record
/// that fails its hash or an answer that goes on after its records ends the
/// exchange, and so does an error of the caller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_for_ids_tells_missing_damaged_and_bad_data_apart() {
    use super::repair::ask_for;
    use super::tests::fake_server;
    tokio::time::timeout(LIMIT, async {
        let good_bytes = b"a healthy chunk".to_vec();
        let good = ObjectId::of_chunk(&good_bytes);
        let (missing, damaged) = (ObjectId::of_chunk(b"m"), ObjectId::of_chunk(b"d"));
        let (liar, chatty) = (ObjectId::of_chunk(b"liar"), ObjectId::of_chunk(b"chatty"));
        let record = |id: ObjectId, payload: Vec<u8>| Message::Record {
            id,
            kind: 0,
            codec: 0,
            raw_len: payload.len() as u32,
            payload,
        };
        let g = good_bytes.clone();
        let addr = fake_server(&key(1), move |m| match m {
            Message::GetObjects { ids } if ids.first() == Some(&liar) => {
                vec![record(liar, b"not the liar".to_vec()), Message::End {}]
            }
            Message::GetObjects { ids } if ids.first() == Some(&chatty) => vec![
                Message::Missing { id: chatty },
                Message::Missing { id: chatty },
            ],
            Message::GetObjects { ids } => ids
                .iter()
                .map(|id| match *id {
                    i if i == good => record(good, g.clone()),
                    i if i == damaged => Message::Damaged {
                        id: damaged,
                        reason: "hash mismatch".into(),
                    },
                    id => Message::Missing { id },
                })
                .chain([Message::End {}])
                .collect(),
            _ => vec![],
        });
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr])
            .await
            .expect("connect");
        let mut got = Vec::new();
        let a = ask_for(&conn.inner, "alice", &[good, missing, damaged], &mut |r| {
            got.push(r.id);
            Ok(())
        })
        .await
        .expect("answered");
        assert_eq!(got, vec![good]);
        assert_eq!(a.received, vec![good]);
        assert_eq!(a.missing, vec![missing]);
        assert_eq!(a.damaged, vec![(damaged, "hash mismatch".to_string())]);

        let e = ask_for(&conn.inner, "alice", &[liar], &mut |_| Ok(()))
            .await
            .expect_err("bad data");
        assert!(
            matches!(e, SyncError::BadData { id, .. } if id == liar),
            "{e}"
        );
        let e = ask_for(&conn.inner, "alice", &[chatty], &mut |_| Ok(()))
            .await
            .expect_err("more than asked");
        assert!(matches!(e, SyncError::Protocol { .. }), "{e}");
        let e = ask_for(&conn.inner, "alice", &[good], &mut |_| {
            Err(SyncError::Local("disk full".into()))
        })
        .await
        .expect_err("the caller's error");
        assert!(e.to_string().contains("disk full"), "{e}");
        conn.close(0, b"");
    })
    .await
    .expect("within the time limit");
}

/// A pack of the server cut short (the record cannot be read at all) and a
/// damaged object (not a chunk) are named as damaged too, on the object path of a
/// fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_records_and_damaged_objects_at_the_source_are_named() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, noise, _) = alice_with_two_files(d.path());
        let dir = store_dir(&a);
        let tree = {
            let s = Store::open(&dir).expect("open");
            let head = match s.db().read_ref("refs/heads/main").expect("ref") {
                Some(crate::store::db::RefTarget::Id(id)) => id,
                other => panic!("{other:?}"),
            };
            s.commit(&head).expect("commit").tree
        };
        flip_record_byte(&dir, &tree);
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all())
            .expect("bind");
        let conn = client::connect(&ep, key(1).public(), &[addr])
            .await
            .expect("connect");
        let repo = b.store().repository_id().expect("id");
        client::hello(&conn, "alice", Some(repo), Vec::new())
            .await
            .expect("hello");
        let opts = FetchOptions {
            trust_peer: true,
            progress: None,
            prefill_checkout: false,
            hold_members: None,
        };
        let e = client::fetch(&conn, "alice", &store_dir(&b), opts)
            .await
            .expect_err("the tree is damaged there");
        assert!(
            matches!(&e, SyncError::PeerDamaged { count: 1, first, .. } if *first == tree),
            "{e}"
        );

        // Cut the pack holding the last chunk of noise.bin inside that chunk.
        let last = *chunks(&dir, &noise).last().expect("chunks");
        let (path, cut) = {
            let s = Store::open(&dir).expect("open");
            let loc = s.packs().locate(&last).expect("stored");
            (
                s.packs().pack_path(loc.pack).to_path_buf(),
                loc.entry.offset + 50,
            )
        };
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("pack")
            .set_len(cut)
            .expect("cut");
        let got = ask(&conn, &Message::GetObjects { ids: vec![last] }).await;
        match &got[..] {
            [Message::Damaged { id, reason }, Message::End {}] => {
                assert_eq!(*id, last);
                assert!(
                    reason.contains("truncated") || reason.contains("offset"),
                    "{reason}"
                );
            }
            other => panic!("{:?}", kinds(other)),
        }
        conn.close(0, b"");
    })
    .await
    .expect("within the time limit");
}
