//! [`PeerSource`] over real QUIC endpoints on 127.0.0.1 against a real server
//! (and a scripted one that corrupts records).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::identity::MachineKey;
use crate::store::ObjectId;
use crate::sync::client;
use crate::sync::rate::RateLimiter;
use crate::sync::server::{self, MemberKeys, ServeConfig};
use crate::sync::tests::{alice_repo, key, noise, scripted_server, serve, store_dir, LIMIT};
use crate::sync::transport::{refuse_all, Connection, Endpoint};
use crate::sync::wire::{Message, Run};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

use super::*;

/// Alice's repository with one random file of `len` bytes; returns it and the
/// file's id and chunk ids.
pub(super) fn alice_with_file(
    dir: &std::path::Path,
    len: usize,
) -> (Repo, ObjectId, Vec<ObjectId>) {
    let mut a = alice_repo(dir);
    put(&a, "big.bin", &noise(16, len));
    let c = commit_all(&mut a, "big");
    let s = a.store();
    let tree = s.commit(&c).expect("commit").tree;
    let file = s
        .tree(&tree)
        .expect("tree")
        .entries
        .iter()
        .find(|e| e.name == "big.bin")
        .expect("big.bin")
        .id;
    let ids = crate::sync::answer::file_chunk_ids(s, &file).expect("chunks");
    (a, file, ids)
}

/// Connects to `addr` (key 1) as bob (key 2) and says hello.
pub(super) async fn bob_to(addr: SocketAddr, repo: &Repo) -> (Endpoint, Connection) {
    let ep =
        Endpoint::bind("127.0.0.1:0".parse().expect("addr"), &key(2), refuse_all()).expect("bind");
    let conn = client::connect(&ep, key(1).public(), &[addr])
        .await
        .expect("connect");
    let id = repo.store().repository_id().expect("id");
    client::hello(&conn, "alice", Some(id), Vec::new())
        .await
        .expect("hello");
    (ep, conn)
}

/// A real server for `repo` sending at most `rate` bytes per second.
pub(super) fn serve_slowly(
    repo: &Repo,
    k: &MachineKey,
    rate: u64,
) -> (SocketAddr, watch::Sender<bool>) {
    let dir = store_dir(repo);
    let keys = MemberKeys::load(&dir).expect("members");
    let ep = Arc::new(
        server::bind("127.0.0.1:0".parse().expect("addr"), k, keys.clone()).expect("bind"),
    );
    let addr = ep.local_addr().expect("addr");
    let mut config = ServeConfig::for_store(dir, vec![addr.to_string()]).expect("config");
    config.rate = Some(Arc::new(RateLimiter::new(rate)));
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(server::serve(ep, Arc::new(config), keys, stopped));
    (addr, stop)
}

async fn collect(
    src: &PeerSource,
    want: Run,
    ids: &[ObjectId],
) -> Result<Vec<ObjectId>, SourceError> {
    let mut stream = src.fetch(want, ids.to_vec()).await?;
    let mut got = Vec::new();
    while let Some(rec) = stream.next_record().await? {
        got.push(rec.id);
    }
    Ok(got)
}

fn run(file: ObjectId, start: usize, count: usize) -> Run {
    Run {
        file,
        start: start as u64,
        count: count as u32,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_source_streams_a_run_as_verified_records() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), 1_500_000);
        assert!(ids.len() > 8, "{} chunks", ids.len());
        let (addr, _stop) = serve(&a, &key(1));
        let (_ep, conn) = bob_to(addr, &a).await;
        let src = PeerSource::new(conn.inner.clone(), "alice");
        assert_eq!(src.name(), "alice");
        assert_eq!(src.availability(&[]).await, Ok(Availability::Everything));
        let n = ids.len();
        let got = collect(&src, run(file, 2, n - 2), &ids[2..])
            .await
            .expect("run");
        assert_eq!(got, ids[2..]);
        // Every record handed on hashes to its id (the store would refuse it
        // otherwise); check once more here.
        let mut stream = src
            .fetch(run(file, 0, 1), ids[..1].to_vec())
            .await
            .expect("run");
        let rec = stream.next_record().await.expect("record").expect("one");
        rec.check().expect("verified");
        assert_eq!(stream.next_record().await, Ok(None));
        assert_eq!(stream.next_record().await, Ok(None));
        // Asked with the ids in the wrong order: the first record is not the chunk
        // expected at its place, which is bad data.
        let swapped = vec![ids[1], ids[0]];
        let e = collect(&src, run(file, 0, 2), &swapped)
            .await
            .expect_err("swapped");
        assert!(matches!(e, SourceError::BadData { .. }), "{e}");
        assert_eq!(e.failure(), None);
        // A file it does not have, a run past the end: it lacks them.
        let unknown = ObjectId::from_bytes([9; 32]);
        let e = collect(&src, run(unknown, 0, 1), &[unknown])
            .await
            .expect_err("unknown");
        assert!(matches!(e, SourceError::Lacks { .. }), "{e}");
        assert_eq!(e.failure(), Some(Failure::Lacks));
        let e = collect(&src, run(file, n, 1), &[ids[0]])
            .await
            .expect_err("past the end");
        assert!(matches!(e, SourceError::Lacks { .. }), "{e}");
        // Ids that do not match the run's length are refused before asking.
        let e = collect(&src, run(file, 0, 2), &ids[..1])
            .await
            .expect_err("ids");
        assert!(matches!(e, SourceError::Failed { .. }), "{e}");
        // The connection survived all of it.
        assert_eq!(
            collect(&src, run(file, 0, 1), &ids[..1]).await,
            Ok(ids[..1].to_vec())
        );
        // Closed: gone.
        conn.inner.close(0u32.into(), b"done");
        let e = collect(&src, run(file, 0, 1), &ids[..1])
            .await
            .expect_err("closed");
        assert!(matches!(e, SourceError::Gone { .. }), "{e}");
        assert!(matches!(e.failure(), Some(Failure::Gone(_))));
        assert!(src.availability(&[]).await.is_err());
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_chunk_is_bad_data_not_a_record() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), 600_000);
        let target = ids[1];
        let addr = scripted_server(
            &key(1),
            store_dir(&a),
            |_| None,
            move |m| match m {
                Message::Record {
                    id,
                    kind,
                    codec,
                    raw_len,
                    mut payload,
                } if id == target => {
                    let last = payload.len() - 1;
                    payload[last] ^= 1;
                    Message::Record {
                        id,
                        kind,
                        codec,
                        raw_len,
                        payload,
                    }
                }
                m => m,
            },
        );
        let (_ep, conn) = bob_to(addr, &a).await;
        let src = PeerSource::new(conn.inner.clone(), "mallory");
        let mut stream = src
            .fetch(run(file, 0, 3), ids[..3].to_vec())
            .await
            .expect("run");
        let first = stream.next_record().await.expect("first").expect("one");
        assert_eq!(first.id, ids[0]);
        let e = stream.next_record().await.expect_err("corrupt");
        match &e {
            SourceError::BadData {
                id, source_name, ..
            } => {
                assert_eq!((*id, source_name.as_str()), (target, "mallory"))
            }
            other => panic!("{other}"),
        }
        // The stream is finished after an error.
        assert_eq!(stream.next_record().await, Ok(None));
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_leaves_the_connection_usable() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), 4_000_000);
        // 1 MB/s: the answer of a 4 MB run is still being written when the cancel
        // arrives, so the server sees the stream stopped under its feet.
        let (addr, _stop) = serve_slowly(&a, &key(1), 1_000_000);
        let (_ep, conn) = bob_to(addr, &a).await;
        let src = PeerSource::new(conn.inner.clone(), "alice");
        let n = ids.len();
        let mut stream = src.fetch(run(file, 0, n), ids.clone()).await.expect("run");
        stream.next_record().await.expect("first").expect("one");
        stream.cancel();
        // Give the server time to hit the stopped stream.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            conn.inner.close_reason().is_none(),
            "{:?}",
            conn.inner.close_reason()
        );
        let got = collect(&src, run(file, n - 1, 1), &ids[n - 1..])
            .await
            .expect("after cancel");
        assert_eq!(got, ids[n - 1..]);
        // Dropping a stream cancels it the same way.
        let stream = src.fetch(run(file, 0, n), ids.clone()).await.expect("run");
        drop(stream);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(conn.inner.close_reason().is_none());
        assert_eq!(
            collect(&src, run(file, 0, 1), &ids[..1]).await,
            Ok(ids[..1].to_vec())
        );
    })
    .await
    .expect("within the time limit");
}
