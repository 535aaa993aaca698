//! A fetch whose chunks are planned over several real peers: QUIC endpoints on
//! 127.0.0.1, real servers, real stores.

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::sync::client::{self, FetchOptions};
use crate::sync::tests::{
    empty_like, fetch_with, key, noise, scripted_server, serve, store_dir, LIMIT,
};
use crate::sync::wire::Message;
use crate::sync::SyncError;
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
        hold_members: None,
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
    fetch_from_all(b, a, alice, &[(carol, 3, "carol")]).await
}

/// Fetches into `b` from alice at `alice` (key 1), with `extra` (address, key
/// seed, name) as extra sources.
async fn fetch_from_all(
    b: &Repo,
    a: &Repo,
    alice: std::net::SocketAddr,
    extra: &[(std::net::SocketAddr, u8, &str)],
) -> Result<client::FetchReport, crate::sync::SyncError> {
    let (ep, to_alice) = bob_to(alice, a).await;
    let id = a.store().repository_id().expect("id");
    let mut sources: Vec<Arc<dyn Source>> = Vec::new();
    let mut conns = Vec::new();
    for (addr, k, name) in extra {
        let conn = client::connect(&ep, key(*k).public(), &[*addr])
            .await
            .expect("connect");
        client::hello(&conn, name, Some(id.clone()), Vec::new())
            .await
            .expect("hello");
        sources.push(Arc::new(PeerSource::new(conn.inner.clone(), *name)));
        conns.push(conn);
    }
    let opts = FetchOptions {
        trust_peer: true,
        progress: None,
        prefill_checkout: false,
        hold_members: None,
    };
    let r = client::fetch_from_sources(&to_alice, "alice", &store_dir(b), opts, sources).await;
    to_alice.close(0, b"done");
    for c in conns {
        c.close(0, b"done");
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupting_seed_and_a_lying_seed_are_dropped_and_the_good_one_finishes() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, _) = alice_with_file(d.path(), LEN);
        let (alice, _stop_a) = serve(&a, &key(1));
        // Mallory flips a bit of every chunk she sends.
        let mallory = scripted_server(
            &key(3),
            store_dir(&a),
            |_| None,
            |m| match m {
                Message::Record {
                    id,
                    kind: 0,
                    codec,
                    raw_len,
                    mut payload,
                } => {
                    let last = payload.len() - 1;
                    payload[last] ^= 1;
                    Message::Record {
                        id,
                        kind: 0,
                        codec,
                        raw_len,
                        payload,
                    }
                }
                m => m,
            },
        );
        // Larry claims everything (a full seed) and has no chunk of the file.
        let larry = scripted_server(
            &key(4),
            store_dir(&a),
            |m| match m {
                Message::GetChunks { runs } => Some(vec![Message::Error {
                    code: "not-found".into(),
                    message: format!("file {}: not here", runs[0].file),
                }]),
                _ => None,
            },
            |m| m,
        );
        let b = empty_like(d.path(), "bob", &a);
        let extra = [(mallory, 3, "mallory"), (larry, 4, "larry")];
        let report = fetch_from_all(&b, &a, alice, &extra).await.expect("fetch");
        let swarm = report.swarm.expect("planned");
        let (good, bad, liar) = (&swarm.sources[0], &swarm.sources[1], &swarm.sources[2]);
        assert!(bad.bad_data, "{bad:?}");
        assert!(
            bad.dropped
                .as_deref()
                .is_some_and(|d| d.contains("bad data")),
            "{bad:?}"
        );
        assert_eq!(bad.bytes, 0, "no corrupt record is counted as delivered");
        assert!(liar.lies >= 1 && liar.bytes == 0, "{liar:?}");
        assert!(good.dropped.is_none() && good.bytes == report.transferred.chunk_bytes);
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_gone_stops_the_fetch_and_a_rerun_fetches_only_the_rest() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), LEN);
        let (plain, stop_plain) = serve(&a, &key(1));
        let c = carol_from(d.path(), &a, plain).await;
        let _ = stop_plain.send(true);
        let (alice, stop_a) = serve_slowly(&a, &key(1), 4_000_000);
        let (carol, stop_c) = serve_slowly(&c, &key(3), 4_000_000);
        let b = empty_like(d.path(), "bob", &a);
        let stop_both = async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            let _ = stop_a.send(true);
            let _ = stop_c.send(true);
        };
        let (first, ()) = tokio::join!(fetch_from_both(&b, &a, alice, carol), stop_both);
        let e = first.expect_err("every source gone");
        let SyncError::Swarm(SwarmError::NoSourceLeft { runs, sources, .. }) = &e else {
            panic!("{e}");
        };
        assert!(*runs > 0);
        assert!(e.to_string().contains("no source left"), "{e}");
        for s in sources {
            assert!(s.dropped.is_some(), "{s:?}");
        }
        let landed: u64 = sources.iter().map(|s| s.records).sum();
        assert!(landed > 0 && landed < ids.len() as u64, "{landed}");
        // Later, the seeds are back: the re-run asks only for what did not land.
        let (alice, _stop_a) = serve(&a, &key(1));
        let (carol, _stop_c) = serve(&c, &key(3));
        let second = fetch_from_both(&b, &a, alice, carol).await.expect("re-run");
        let swarm = second.swarm.expect("planned");
        let left = ids.len() as u64 - landed;
        let dup = swarm.transfer.endgame_duplicates * (PIECE_BYTES / (16 << 10));
        assert!(
            second.transferred.chunks >= left,
            "{} < {left}",
            second.transferred.chunks
        );
        assert!(
            second.transferred.chunks <= left + dup,
            "{}: {left}",
            second.transferred.chunks
        );
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_that_stalls_without_closing_does_not_hold_the_fetch_up() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, _) = alice_with_file(d.path(), LEN);
        let (plain, stop_plain) = serve(&a, &key(1));
        let c = carol_from(d.path(), &a, plain).await;
        let _ = stop_plain.send(true);
        let (alice, _stop_a) = serve(&a, &key(1));
        // Carol sends her burst allowance (64 KiB) and then one byte a second: her
        // requests stall with the connection open.
        let (carol, _stop_c) = serve_slowly(&c, &key(3), 1);
        let b = empty_like(d.path(), "bob", &a);
        let started = std::time::Instant::now();
        let report = fetch_from_both(&b, &a, alice, carol).await.expect("fetch");
        let took = started.elapsed();
        let swarm = report.swarm.expect("planned");
        let carol_s = &swarm.sources[1];
        // Her runs went to alice: raced in the endgame, or moved on stalling.
        assert!(
            carol_s.cancelled + u64::from(carol_s.stalls) >= 1,
            "{carol_s:?}"
        );
        assert_eq!(carol_s.runs, 0, "{carol_s:?}");
        assert!(carol_s.dropped.is_none(), "stalled, not gone: {carol_s:?}");
        assert!(took < Duration::from_secs(5), "took {took:?}");
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}

/// Raw lengths of `ids` as stored in `a`.
fn lengths(a: &Repo, ids: &[crate::store::ObjectId]) -> Vec<u64> {
    let s = Store::open(a.store().dir()).expect("open");
    ids.iter()
        .map(|id| u64::from(s.read_raw(id).expect("read").expect("present").raw_len))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_driver_moves_a_stalled_request_within_the_bound() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, ids) = alice_with_file(d.path(), 6_000_000);
        let lens = lengths(&a, &ids);
        let (alice, _stop_a) = serve(&a, &key(1));
        let (stalling, _stop_s) = serve_slowly(&a, &key(3), 1);
        let b = empty_like(d.path(), "bob", &a);
        let (ep, to_alice) = bob_to(alice, &a).await;
        let to_stalling = client::connect(&ep, key(3).public(), &[stalling])
            .await
            .expect("connect");
        let id = a.store().repository_id().expect("id");
        client::hello(&to_stalling, "staller", Some(id), Vec::new())
            .await
            .expect("hello");
        // The staller first: it gets the first runs.
        let sources: Vec<Arc<dyn Source>> = vec![
            Arc::new(PeerSource::new(to_stalling.inner.clone(), "staller")),
            Arc::new(PeerSource::new(to_alice.inner.clone(), "alice")),
        ];
        // Runs of 4 chunks; no endgame, so only the stall rule can move work.
        let plan: Vec<PlannedRun> = (0..ids.len())
            .step_by(4)
            .map(|i| {
                let n = 4.min(ids.len() - i);
                PlannedRun {
                    wanted: WantedRun {
                        run: crate::sync::wire::Run {
                            file,
                            start: i as u64,
                            count: n as u32,
                        },
                        bytes: lens[i..i + n].iter().sum(),
                    },
                    ids: ids[i..i + n].to_vec(),
                }
            })
            .collect();
        let config = PickerConfig {
            endgame_copies: 1,
            ..PickerConfig::default()
        };
        let lander = crate::sync::land::Lander::start(&store_dir(&b)).expect("lander");
        let started = std::time::Instant::now();
        let report = transfer(plan, &sources, &lander.sink(), config, &|_, _| {})
            .await
            .expect("transfer");
        let took = started.elapsed();
        lander
            .land(crate::sync::land::Plan::default())
            .await
            .expect("land");
        let staller = &report.sources[0];
        assert!(staller.stalls >= 1, "{staller:?}");
        assert!(staller.dropped.is_none(), "{staller:?}");
        assert!(report.transfer.requeued >= 1, "{:?}", report.transfer);
        // Stalled from its first record on; moved 1 s later (50 ms ticks), and
        // alice moves 6 MB on loopback in well under a second more.
        assert!(took < Duration::from_millis(2_500), "took {took:?}");
        assert!(
            took >= Duration::from_millis(1_000),
            "took {took:?}: no stall?"
        );
        let s = Store::open(b.store().dir()).expect("open");
        for id in &ids {
            assert!(s.contains(id), "{id} missing");
        }
        to_alice.close(0, b"done");
        to_stalling.close(0, b"done");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_peer_shut_down_mid_transfer_leaves_the_rest_to_the_other() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (a, file, _) = alice_with_file(d.path(), LEN);
        let (plain, stop_plain) = serve(&a, &key(1));
        let c = carol_from(d.path(), &a, plain).await;
        let _ = stop_plain.send(true);
        let (alice, stop_a) = serve_slowly(&a, &key(1), 4_000_000);
        let (carol, _stop_c) = serve_slowly(&c, &key(3), 4_000_000);
        let b = empty_like(d.path(), "bob", &a);
        // Alice's refs, history, trees, file objects, member list and locks are in
        // by then; the chunks finish from carol, and alice's refs land.
        let stop_alice = async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            let _ = stop_a.send(true);
        };
        let (report, ()) = tokio::join!(fetch_from_both(&b, &a, alice, carol), stop_alice);
        let report = report.expect("fetch");
        let swarm = report.swarm.expect("planned");
        let (alice_s, carol_s) = (&swarm.sources[0], &swarm.sources[1]);
        assert!(
            alice_s.bytes > 0 && alice_s.dropped.is_some(),
            "{alice_s:?}"
        );
        assert!(carol_s.bytes > alice_s.bytes, "{alice_s:?} {carol_s:?}");
        assert!(report.landed.members_changed);
        check_copy(&b, &file, &noise(16, LEN));
    })
    .await
    .expect("within the time limit");
}
