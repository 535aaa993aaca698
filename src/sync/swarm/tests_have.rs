//! Partial seeds: the `GetHave`/`Have` exchange — its bounds and contradictions in
//! the codec, what an answer means for a plan, a hostile answer over real QUIC
//! (the connection closes), and a real partial seed (a peer whose own fetch was
//! cut) serving a clone beside a full seed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::identity::MachineKey;
use crate::store::{ObjectId, Store};
use crate::sync::client::{self, FetchOptions};
use crate::sync::tests::{alice_repo, empty_like, fetch_with, key, noise, serve, store_dir, LIMIT};
use crate::sync::transport::{Endpoint, MemberPolicy};
use crate::sync::wire::{self, FileHave, Message, Run, Span, WireError, MAX_HAVE_FILES};
use crate::vcs::testutil::{commit_all, put};

use super::have::{self, HaveError};
use super::tests_peer::{bob_to, serve_slowly};
use super::*;

fn oid(n: u8) -> ObjectId {
    ObjectId::from_bytes([n; 32])
}

fn span(start: u64, count: u32) -> Span {
    Span { start, count }
}

fn have_of(file: ObjectId, chunks: u64, held: Vec<Span>) -> Message {
    Message::Have {
        files: vec![FileHave { file, chunks, held }],
    }
}

/// The body a careless peer would send: CBOR of `msg`, no checks.
fn raw_body(msg: &Message) -> Vec<u8> {
    let mut body = Vec::new();
    ciborium::into_writer(msg, &mut body).expect("cbor");
    body
}

#[test]
fn have_round_trips_and_contradictions_are_refused_both_ways() {
    let good = have_of(oid(1), 10, vec![span(0, 2), span(2, 3), span(9, 1)]);
    let frame = wire::encode(&good).expect("encode");
    assert_eq!(wire::decode(&frame[4..]).expect("decode"), good);
    let ask = Message::GetHave {
        files: vec![oid(1), oid(2)],
    };
    let frame = wire::encode(&ask).expect("encode");
    assert_eq!(wire::decode(&frame[4..]).expect("decode"), ask);
    for (held, chunks) in [
        (vec![span(3, 2), span(1, 1)], 10),  // out of order
        (vec![span(0, 3), span(2, 2)], 10),  // overlapping
        (vec![span(4, 0)], 10),              // empty
        (vec![span(8, 3)], 10),              // past the end
        (vec![span(u64::MAX, 2)], u64::MAX), // past u64
        (vec![span(0, 1)], 0),               // a file it does not know, with chunks
    ] {
        let bad = have_of(oid(1), chunks, held.clone());
        let e = wire::encode(&bad).expect_err("contradiction");
        assert!(matches!(e, WireError::BadHave { .. }), "{held:?}: {e}");
        let e = wire::decode(&raw_body(&bad)).expect_err("contradiction");
        assert!(matches!(e, WireError::BadHave { .. }), "{held:?}: {e}");
    }
    // Oversized: too many files, too many spans.
    let files = (0..=MAX_HAVE_FILES)
        .map(|i| FileHave {
            file: oid((i % 250) as u8),
            chunks: 0,
            held: Vec::new(),
        })
        .collect();
    let big = Message::Have { files };
    for e in [
        wire::encode(&big).expect_err("big"),
        wire::decode(&raw_body(&big)).expect_err("big"),
    ] {
        assert!(matches!(e, WireError::Bound { field: "files", .. }), "{e}");
    }
    let spans = (0..=wire::MAX_HAVE_SPANS as u64)
        .map(|i| span(2 * i, 1))
        .collect();
    let big = have_of(oid(1), u64::MAX, spans);
    for e in [
        wire::encode(&big).expect_err("big"),
        wire::decode(&raw_body(&big)).expect_err("big"),
    ] {
        assert!(matches!(e, WireError::Bound { .. }), "{e}");
    }
}

#[test]
fn an_answer_covers_the_runs_wholly_inside_its_spans() {
    let (f, g) = (oid(1), oid(2));
    let want = |file, start, count| WantedRun {
        run: Run { file, start, count },
        bytes: u64::from(count),
    };
    let wanted = [want(f, 0, 4), want(f, 4, 4), want(f, 8, 4), want(g, 0, 4)];
    let held = vec![FileHave {
        file: f,
        chunks: 12,
        held: vec![span(0, 6), span(8, 4)],
    }];
    let a = have::availability(&wanted, &[f, g], held).expect("fits");
    let Availability::Runs(set) = a else {
        panic!("{a:?}")
    };
    // Run 1 (4..8) is only half held; g is not mentioned.
    assert_eq!(set.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 2]);
    let twice = vec![
        FileHave {
            file: f,
            chunks: 12,
            held: Vec::new(),
        };
        2
    ];
    assert_eq!(
        have::availability(&wanted, &[f], twice),
        Err(HaveError::Twice(f))
    );
    let other = vec![FileHave {
        file: oid(9),
        chunks: 1,
        held: Vec::new(),
    }];
    assert_eq!(
        have::availability(&wanted, &[f], other),
        Err(HaveError::NotAsked(oid(9)))
    );
}

/// A peer that welcomes with `have` and answers `GetHave` with `body`, raw.
fn raw_have_server(k: &MachineKey, repo: String, body: Vec<u8>) -> SocketAddr {
    let policy: MemberPolicy = Arc::new(|_| true);
    let ep = Endpoint::bind("127.0.0.1:0".parse().expect("addr"), k, policy).expect("bind");
    let addr = ep.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Some(Ok(conn)) = ep.accept().await {
            let (repo, body) = (repo.clone(), body.clone());
            tokio::spawn(async move {
                while let Ok((mut send, mut recv)) = conn.inner.accept_bi().await {
                    match wire::read_message(&mut recv).await {
                        Ok(Some(Message::Hello { .. })) => {
                            let w = Message::Welcome {
                                version: wire::PROTOCOL_VERSION,
                                repo: repo.clone(),
                                caps: vec!["fetch".into(), "have".into()],
                                listen: Vec::new(),
                                chunking: None,
                            };
                            let _ = wire::write_message(&mut send, &w).await;
                        }
                        Ok(Some(Message::GetHave { .. })) => {
                            let _ = send.write_all(&(body.len() as u32).to_le_bytes()).await;
                            let _ = send.write_all(&body).await;
                        }
                        _ => {}
                    }
                    let _ = send.finish();
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contradictory_or_oversized_availability_closes_the_connection() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let a = alice_repo(d.path());
        let repo = a.store().repository_id().expect("id");
        let f = oid(1);
        let wanted = [WantedRun {
            run: Run {
                file: f,
                start: 0,
                count: 2,
            },
            bytes: 2,
        }];
        let oversized = Message::Have {
            files: (0..=MAX_HAVE_FILES)
                .map(|_| FileHave {
                    file: f,
                    chunks: 0,
                    held: Vec::new(),
                })
                .collect(),
        };
        let cases = [
            (
                have_of(f, 4, vec![span(0, 3), span(1, 1)]),
                "bad availability of",
            ),
            (have_of(f, 4, vec![span(3, 2)]), "bad availability of"),
            (have_of(oid(7), 4, vec![span(0, 1)]), "not asked about"),
            (oversized, "files has length"),
        ];
        for (answer, needle) in cases {
            let addr = raw_have_server(&key(3), repo.clone(), raw_body(&answer));
            let ep = Endpoint::bind(
                "127.0.0.1:0".parse().expect("addr"),
                &key(2),
                crate::sync::transport::refuse_all(),
            )
            .expect("bind");
            let spec = format!("{}@{addr}", key(3).public().to_text());
            let sources = peer_sources(&ep, &[spec], &repo).await;
            let e = sources[0].availability(&wanted).await.expect_err(needle);
            assert!(matches!(e, SourceError::Gone { .. }), "{e}");
            assert!(e.to_string().contains(needle), "{needle}: {e}");
            // Closed by us, with the reason.
            let fetch = sources[0].fetch(wanted[0].run, vec![f, f]).await;
            let e = fetch.err().expect("closed");
            assert!(
                e.to_string().contains(needle) || matches!(e, SourceError::Gone { .. }),
                "{e}"
            );
        }
    })
    .await
    .expect("within the time limit");
}

/// Options of a fetch that takes the peer's member list (as a clone does).
fn trust() -> FetchOptions {
    FetchOptions {
        trust_peer: true,
        ..FetchOptions::default()
    }
}

/// Alice with a first commit (`small.txt`), and carol holding all of it and the
/// member list (fetched from a server that is stopped again).
async fn alice_and_carol(dir: &std::path::Path) -> (crate::vcs::Repo, crate::vcs::Repo) {
    let mut a = alice_repo(dir);
    put(&a, "small.txt", b"hello");
    commit_all(&mut a, "small");
    let (plain, stop_plain) = serve(&a, &key(1));
    let carol = empty_like(dir, "carol", &a);
    fetch_with(plain, &key(1), &key(3), &carol, trust())
        .await
        .expect("carol");
    let _ = stop_plain.send(true);
    (a, carol)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_seed_serves_what_it_holds_and_is_never_asked_for_the_rest() {
    tokio::time::timeout(LIMIT, async {
        const LEN: usize = 16_000_000;
        let d = tempfile::tempdir().expect("tmp");
        // Carol has everything of the first commit (and the member list) ...
        let (mut a, carol) = alice_and_carol(d.path()).await;
        // ... and part of the big file: her fetch of it was cut (alice stopped).
        put(&a, "big.bin", &noise(16, LEN));
        let c = commit_all(&mut a, "big");
        let (slow, stop_slow) = serve_slowly(&a, &key(1), 4_000_000);
        let cut = async {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            let _ = stop_slow.send(true);
        };
        let (k1, k3) = (key(1), key(3));
        let (cut_fetch, ()) = tokio::join!(fetch_with(slow, &k1, &k3, &carol, trust()), cut);
        assert!(cut_fetch.is_err(), "carol's fetch was to be cut");
        let (file, ids) = {
            let s = a.store();
            let tree = s.commit(&c).expect("commit").tree;
            let e = s.tree(&tree).expect("tree");
            let file = e
                .entries
                .iter()
                .find(|e| e.name == "big.bin")
                .expect("big")
                .id;
            (
                file,
                crate::sync::answer::file_chunk_ids(s, &file).expect("ids"),
            )
        };
        let held = {
            let s = Store::open(carol.store().dir()).expect("open");
            ids.iter().filter(|id| s.contains(id)).count()
        };
        assert!(
            held > 0 && held < ids.len(),
            "carol holds {held} of {}",
            ids.len()
        );
        // Bob clones from alice (slow) with carol (partial, fast) beside her.
        let (carol_addr, _stop_c) = serve(&carol, &key(3));
        let (alice_addr, _stop_a) = serve_slowly(&a, &key(1), 4_000_000);
        let b = empty_like(d.path(), "bob", &a);
        let (ep, to_alice) = bob_to(alice_addr, &a).await;
        let repo = a.store().repository_id().expect("id");
        let spec = format!("{}@{carol_addr}", key(3).public().to_text());
        let extra = peer_sources(&ep, &[spec], &repo).await;
        let report = client::fetch_from_sources(&to_alice, "alice", &store_dir(&b), trust(), extra)
            .await
            .expect("fetch");
        let swarm = report.swarm.expect("planned");
        let carol_s = &swarm.sources[1];
        assert!(
            carol_s.announced > 0 && carol_s.announced < swarm.transfer.runs,
            "{carol_s:?}"
        );
        assert!(
            carol_s.bytes > 0 && carol_s.dropped.is_none(),
            "{carol_s:?}"
        );
        // She was asked only for what she announced.
        assert_eq!(carol_s.lies, 0, "{carol_s:?}");
        assert!(swarm.sources[0].bytes > 0);
        let s = Store::open(b.store().dir()).expect("open");
        assert!(s.read_file_bytes(&file).expect("read") == noise(16, LEN));
        assert!(s.fsck(&mut |_| {}).expect("fsck").is_ok());
        to_alice.close(0, b"done");
    })
    .await
    .expect("within the time limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_waits_for_a_partial_seed_whose_own_fetch_brings_the_rest() {
    tokio::time::timeout(LIMIT, async {
        // Three live seals' worth (16 MiB each), so carol announces as she goes.
        const LEN: usize = 40_000_000;
        let d = tempfile::tempdir().expect("tmp");
        // Carol has the first commit and the member list, and serves.
        let (mut a, carol) = alice_and_carol(d.path()).await;
        let (carol_addr, _stop_c) = serve(&carol, &key(3));
        put(&a, "big.bin", &noise(17, LEN));
        let c = commit_all(&mut a, "big");
        // Carol fetches the big file from alice at 8 MB/s ...
        let (for_carol, _stop_fc) = serve_slowly(&a, &key(1), 8_000_000);
        let (k1, k3) = (key(1), key(3));
        let carol_fetch = fetch_with(for_carol, &k1, &k3, &carol, trust());
        // ... while bob fetches it from alice at 2 MB/s, cut after 1.5 s, and
        // from carol: for most of it bob's only source is a partial seed that
        // announces more as her own fetch lands.
        let b = empty_like(d.path(), "bob", &a);
        let (for_bob, stop_fb) = serve_slowly(&a, &key(1), 2_000_000);
        let bob_fetch = async {
            let (ep, to_alice) = bob_to(for_bob, &a).await;
            let repo = a.store().repository_id().expect("id");
            let spec = format!("{}@{carol_addr}", key(3).public().to_text());
            let extra = peer_sources(&ep, &[spec], &repo).await;
            let r = client::fetch_from_sources(&to_alice, "alice", &store_dir(&b), trust(), extra)
                .await;
            to_alice.close(0, b"done");
            r
        };
        let cut = async {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            let _ = stop_fb.send(true);
        };
        let (carol_r, bob_r, ()) = tokio::join!(carol_fetch, bob_fetch, cut);
        carol_r.expect("carol's fetch");
        let report = bob_r.expect("bob's fetch waits for carol instead of stopping");
        let swarm = report.swarm.expect("planned");
        let carol_s = &swarm.sources[1];
        assert!(carol_s.bytes > (LEN as u64) / 2, "{carol_s:?}");
        assert_eq!(carol_s.lies, 0, "{carol_s:?}");
        let s = Store::open(b.store().dir()).expect("open");
        let tree = s.commit(&c).expect("commit").tree;
        let file = s
            .tree(&tree)
            .expect("tree")
            .entries
            .iter()
            .find(|e| e.name == "big.bin")
            .expect("big")
            .id;
        assert!(s.read_file_bytes(&file).expect("read") == noise(17, LEN));
    })
    .await
    .expect("within the time limit");
}
