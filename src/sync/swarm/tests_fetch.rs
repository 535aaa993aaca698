//! A fetch whose chunks are planned over several real peers: QUIC endpoints on
//! 127.0.0.1, real servers, real stores.

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::sync::client::{self, FetchOptions};
use crate::sync::tests::{empty_like, fetch_with, key, noise, serve, store_dir, LIMIT};
use crate::vcs::Repo;

use super::tests_peer::{alice_with_file, bob_to, serve_slowly};
use super::*;

/// Carol (key 3): a full copy of `a`, fetched from it over QUIC.
async fn carol_from(dir: &std::path::Path, a: &Repo, addr: std::net::SocketAddr) -> Repo {
    let c = empty_like(dir, "carol", a);
    let opts = FetchOptions {
        trust_peer: true,
        progress: None,
        prefill_checkout: false,
    };
    fetch_with(addr, &key(1), &key(3), &c, opts)
        .await
        .expect("carol's copy");
    c
}

/// Fetches into `b` from alice at `alice` (key 1), with carol at `carol` (key 3)
/// as an extra source.
async fn fetch_from_both(
    b: &Repo,
    a: &Repo,
    alice: std::net::SocketAddr,
    carol: std::net::SocketAddr,
) -> Result<client::FetchReport, crate::sync::SyncError> {
    let (ep, to_alice) = bob_to(alice, a).await;
    let to_carol = client::connect(&ep, key(3).public(), &[carol])
        .await
        .expect("connect carol");
    let id = a.store().repository_id().expect("id");
    client::hello(&to_carol, "carol", Some(id), Vec::new())
        .await
        .expect("hello carol");
    let extra: Vec<Arc<dyn Source>> =
        vec![Arc::new(PeerSource::new(to_carol.inner.clone(), "carol"))];
    let opts = FetchOptions {
        trust_peer: true,
        progress: None,
        prefill_checkout: false,
    };
    let r = client::fetch_from_sources(&to_alice, "alice", &store_dir(b), opts, extra).await;
    to_alice.close(0, b"done");
    to_carol.close(0, b"done");
    r
}

/// `b` holds `file` byte for byte as `expected`, and its store checks clean.
fn check_copy(b: &Repo, file: &crate::store::ObjectId, expected: &[u8]) {
    let s = Store::open(b.store().dir()).expect("open");
    assert!(
        s.read_file_bytes(file).expect("read") == expected,
        "content differs"
    );
    let report = s.fsck(&mut |_| {}).expect("fsck");
    assert!(report.is_ok(), "{report:?}");
    let main = s.db().list_refs("refs/remotes/alice/").expect("refs");
    assert_eq!(main.len(), 1, "{main:?}");
}

const LEN: usize = 16_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_from_two_full_seeds_takes_bytes_from_both() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), LEN);
        let (alice, _stop_a) = serve(&a, &key(1));
        let c = carol_from(d.path(), &a, alice).await;
        let (carol, _stop_c) = serve(&c, &key(3));
        let b = empty_like(d.path(), "bob", &a);
        let report = fetch_from_both(&b, &a, alice, carol).await.expect("fetch");
        let swarm = report.swarm.expect("a planned chunk phase");
        assert_eq!(swarm.sources.len(), 2);
        let names: Vec<&str> = swarm.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "carol"]);
        for s in &swarm.sources {
            assert!(s.bytes > 0 && s.records > 0, "{s:?}");
            assert!(s.dropped.is_none() && s.errors == 0, "{s:?}");
        }
        // Every chunk once, beyond the endgame's duplicates.
        let delivered: u64 = swarm.sources.iter().map(|s| s.records).sum();
        assert!(
            delivered >= ids.len() as u64,
            "{delivered} of {}",
            ids.len()
        );
        let dup = swarm.transfer.endgame_duplicates * (PIECE_BYTES / (16 << 10));
        assert!(
            delivered <= ids.len() as u64 + dup,
            "{delivered}: {:?}",
            swarm.transfer
        );
        assert_eq!(swarm.transfer.runs_done, swarm.transfer.runs);
        assert_eq!(report.transferred.chunks, delivered);
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_shut_down_mid_transfer_leaves_the_rest_to_the_other() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), LEN);
        let (plain, stop_plain) = serve(&a, &key(1));
        let c = carol_from(d.path(), &a, plain).await;
        let _ = stop_plain.send(true);
        // Both at 4 MB/s: 16 MB take about 2 s from both, so carol is still
        // sending when she stops at 0.5 s.
        let (alice, _stop_a) = serve_slowly(&a, &key(1), 4_000_000);
        let (carol, stop_c) = serve_slowly(&c, &key(3), 4_000_000);
        let b = empty_like(d.path(), "bob", &a);
        let stop_carol = async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = stop_c.send(true);
        };
        let (report, ()) = tokio::join!(fetch_from_both(&b, &a, alice, carol), stop_carol);
        let report = report.expect("fetch");
        let swarm = report.swarm.expect("a planned chunk phase");
        let (alice_s, carol_s) = (&swarm.sources[0], &swarm.sources[1]);
        assert!(carol_s.bytes > 0, "{carol_s:?}");
        assert!(
            carol_s.dropped.is_some() || carol_s.errors > 0,
            "{carol_s:?}"
        );
        assert!(alice_s.bytes > carol_s.bytes, "{alice_s:?} {carol_s:?}");
        // What carol delivered before she went was not fetched again.
        let delivered: u64 = swarm.sources.iter().map(|s| s.records).sum();
        let dup = swarm.transfer.endgame_duplicates * (PIECE_BYTES / (16 << 10));
        assert!(
            delivered <= ids.len() as u64 + dup,
            "{delivered}: {:?}",
            swarm.transfer
        );
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}
