//! `clone --peer` / `--max-sources` end to end: real servers on 127.0.0.1, real
//! repositories; the chunks planned over several seeds (`sync::swarm`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::identity::MachineKey;
use crate::store::chunker::ChunkParams;
use crate::store::object::Role;
use crate::store::Store;
use crate::vcs::{CommitOptions, Repo};

/// Bytes of the test file: large enough that on a loaded 2-core machine the first
/// seed cannot finish every run before the second delivers its first byte (at
/// 12 MB it sometimes did, and "bytes from each seed" failed).
const LEN: usize = 24_000_000;

fn key(n: u8) -> Arc<MachineKey> {
    Arc::new(MachineKey::from_seed([n; 32]))
}

fn content() -> Vec<u8> {
    crate::store::pack::testutil::random_bytes(21, LEN)
}

/// Alice (key 1) with `big.bin` committed; bob (2) and carol (3) members.
fn alice(dir: &Path) -> PathBuf {
    let mut repo = Repo::init(&dir.join("alice"), ChunkParams::DEFAULT).expect("init");
    let root = repo.root().to_path_buf();
    for (name, k) in [("bob", 2), ("carol", 3)] {
        crate::sync::members::add(
            repo.store_mut(),
            &key(1),
            "alice",
            name,
            key(k).public(),
            Role::Member,
        )
        .expect("member");
    }
    std::fs::write(root.join("big.bin"), content()).expect("write");
    repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
        .expect("add");
    repo.commit(&CommitOptions {
        message: "big".into(),
        ..Default::default()
    })
    .expect("commit");
    root
}

fn serve(root: &Path, k: u8) -> (ServerHandle, String) {
    let h = Server::new(root, key(k))
        .listen("127.0.0.1:0".parse().expect("addr"))
        .lan(None)
        .start()
        .expect("start");
    let spec = format!("{}@{}", key(k).public().to_text(), h.local_addr());
    (h, spec)
}

/// Alice serving, and carol (a full clone of her) serving too.
fn two_seeds(d: &Path) -> (ServerHandle, String, ServerHandle, String) {
    let a = alice(d);
    let (alice_h, alice_spec) = serve(&a, 1);
    let carol = clone(&CloneOptions::new(key(3), &alice_spec, &d.join("carol"))).expect("carol");
    let (carol_h, carol_spec) = serve(&carol.dir, 3);
    (alice_h, alice_spec, carol_h, carol_spec)
}

#[test]
fn clone_with_extra_peers_takes_chunks_from_every_seed_and_reports_each() {
    let d = tempfile::tempdir().expect("tmp");
    let (alice_h, alice_spec, carol_h, carol_spec) = two_seeds(d.path());
    let mut opts = CloneOptions::new(key(2), &alice_spec, &d.path().join("bob"));
    opts.peers = vec![carol_spec, "not-a-peer".into()];
    let r = clone(&opts).expect("clone");
    alice_h.shutdown().expect("shutdown");
    carol_h.shutdown().expect("shutdown");
    let swarm = r.fetch.swarm.clone().expect("planned");
    assert_eq!(swarm.sources.len(), 3, "{swarm:?}");
    let (main, carol, bogus) = (&swarm.sources[0], &swarm.sources[1], &swarm.sources[2]);
    assert!(main.bytes > 0 && main.dropped.is_none(), "{main:?}");
    assert!(carol.bytes > 0 && carol.dropped.is_none(), "{carol:?}");
    assert_eq!(bogus.bytes, 0);
    assert!(
        bogus
            .dropped
            .as_deref()
            .is_some_and(|d| d.contains("unreachable")),
        "{bogus:?}"
    );
    assert_eq!(main.bytes + carol.bytes, r.fetch.chunk_bytes);
    // Byte-identical, and the store checks clean.
    let got = std::fs::read(r.dir.join("big.bin")).expect("read");
    assert!(got == content(), "checkout differs");
    let s = Store::open(&r.dir.join(crate::store::STORE_DIR)).expect("open");
    let fsck = s.fsck(&mut |_| {}).expect("fsck");
    assert!(fsck.is_ok(), "{fsck:?}");
    // `clone --json` carries the per-source report.
    let json = serde_json::to_value(&r).expect("json");
    let sources = json["swarm"]["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 3);
    assert!(sources[1]["bytes"].as_u64().is_some_and(|b| b > 0));
    assert!(sources[2]["dropped"]
        .as_str()
        .is_some_and(|d| d.contains("unreachable")));
}

#[test]
fn max_sources_caps_the_extra_peers_and_a_single_source_fetch_is_unchanged() {
    let d = tempfile::tempdir().expect("tmp");
    let (alice_h, alice_spec, carol_h, carol_spec) = two_seeds(d.path());
    let mut opts = CloneOptions::new(key(2), &alice_spec, &d.path().join("bob"));
    opts.peers = vec![carol_spec];
    opts.max_sources = Some(1);
    let r = clone(&opts).expect("clone");
    alice_h.shutdown().expect("shutdown");
    carol_h.shutdown().expect("shutdown");
    assert!(r.fetch.swarm.is_none(), "{:?}", r.fetch.swarm);
    let json = serde_json::to_value(&r).expect("json");
    assert!(json.get("swarm").is_none(), "{json}");
    let got = std::fs::read(r.dir.join("big.bin")).expect("read");
    assert!(got == content(), "checkout differs");
}

/// Commits `bytes` as `name` in the repository at `root`.
fn commit_file(root: &Path, name: &str, bytes: &[u8]) {
    let mut repo = Repo::open(root).expect("open");
    std::fs::write(root.join(name), bytes).expect("write");
    repo.add(root, &[PathBuf::from(name)], false, &|_, _| {})
        .expect("add");
    repo.commit(&CommitOptions {
        message: name.into(),
        ..Default::default()
    })
    .expect("commit");
}

/// Records `addr` for the member `k` in the store of the repository at `root`
/// (as `gadn peer addr` does).
fn configure_addr(root: &Path, k: u8, addr: &str) {
    let s = Store::open(&root.join(crate::store::STORE_DIR)).expect("open");
    s.db()
        .peer_add_addr(
            &key(k).public(),
            addr,
            crate::store::db::PeerSource::Config,
            None,
        )
        .expect("addr");
}

#[test]
fn clone_takes_chunks_from_a_seed_it_learns_by_peer_exchange() {
    let d = tempfile::tempdir().expect("tmp");
    let (alice_h, alice_spec, carol_h, _) = two_seeds(d.path());
    // Alice knows where carol serves; bob names no one but alice.
    let carol_addr = carol_h.local_addr().to_string();
    configure_addr(&d.path().join("alice"), 3, &carol_addr);
    let r = clone(&CloneOptions::new(
        key(2),
        &alice_spec,
        &d.path().join("bob"),
    ))
    .expect("clone");
    alice_h.shutdown().expect("shutdown");
    carol_h.shutdown().expect("shutdown");
    let swarm = r.fetch.swarm.clone().expect("planned over the learnt seed");
    assert_eq!(swarm.sources.len(), 2, "{swarm:?}");
    let (main, carol) = (&swarm.sources[0], &swarm.sources[1]);
    assert_eq!(
        carol.name,
        format!("{}@{carol_addr}", key(3).public().short())
    );
    assert!(main.bytes > 0 && main.dropped.is_none(), "{main:?}");
    assert!(carol.bytes > 0 && carol.dropped.is_none(), "{carol:?}");
    assert_eq!(main.bytes + carol.bytes, r.fetch.chunk_bytes);
    let got = std::fs::read(r.dir.join("big.bin")).expect("read");
    assert!(got == content(), "checkout differs");
    // The learnt member's address is kept for the next fetch.
    let s = Store::open(&r.dir.join(crate::store::STORE_DIR)).expect("open");
    let row = s
        .db()
        .peer_get(&key(3).public())
        .expect("row")
        .expect("carol");
    assert_eq!(row.addrs, vec![carol_addr]);
}

#[test]
fn an_unreachable_learnt_seed_is_reported_dropped_and_the_clone_completes() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    // A port nothing listens on: the learnt address never answers.
    let dead = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("port");
    configure_addr(&a, 3, &dead.to_string());
    let (alice_h, alice_spec) = serve(&a, 1);
    let started = std::time::Instant::now();
    let r = clone(&CloneOptions::new(
        key(2),
        &alice_spec,
        &d.path().join("bob"),
    ))
    .expect("clone");
    alice_h.shutdown().expect("shutdown");
    assert!(
        started.elapsed() < swarm_timeout() * 3,
        "{:?}",
        started.elapsed()
    );
    let swarm = r.fetch.swarm.clone().expect("planned");
    assert_eq!(swarm.sources.len(), 2, "{swarm:?}");
    let (main, gone) = (&swarm.sources[0], &swarm.sources[1]);
    assert_eq!(main.bytes, r.fetch.chunk_bytes, "{main:?}");
    assert_eq!(gone.bytes, 0);
    assert!(
        gone.dropped
            .as_deref()
            .is_some_and(|d| d.contains("unreachable")),
        "{gone:?}"
    );
    let got = std::fs::read(r.dir.join("big.bin")).expect("read");
    assert!(got == content(), "checkout differs");
}

fn swarm_timeout() -> std::time::Duration {
    crate::sync::swarm::connect::CONNECT_TIMEOUT
}

#[test]
fn sync_plans_the_chunks_over_every_member_in_one_transfer() {
    let d = tempfile::tempdir().expect("tmp");
    let (alice_h, alice_spec, carol_h, _) = two_seeds(d.path());
    let mut opts = CloneOptions::new(key(2), &alice_spec, &d.path().join("bob"));
    opts.max_sources = Some(1);
    let bob = clone(&opts).expect("bob").dir;
    // New content at alice, which carol fetches: both hold it now.
    let more = crate::store::pack::testutil::random_bytes(22, 2 * LEN);
    commit_file(&d.path().join("alice"), "more.bin", &more);
    let carol_dir = d.path().join("carol");
    let f = fetch(&carol_dir, &FetchOptions::new(key(3))).expect("carol fetches");
    assert!(f.chunk_bytes > 0);
    configure_addr(&bob, 3, &carol_h.local_addr().to_string());
    let r = sync(&bob, &SyncOptions::new(key(2))).expect("sync");
    alice_h.shutdown().expect("shutdown");
    carol_h.shutdown().expect("shutdown");
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    assert_eq!(r.fetched.len(), 2, "{:?}", r.fetched);
    let first = &r.fetched[0];
    let swarm = first.swarm.clone().expect("one planned transfer");
    let names: Vec<&str> = swarm.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["alice", "carol"], "{swarm:?}");
    // Both took part in the one transfer: carol announced every run and was given
    // work (runs, or endgame copies when alice, on loopback, ran ahead of carol's
    // announcement); nobody was dropped.
    let (alice_s, carol_s) = (&swarm.sources[0], &swarm.sources[1]);
    assert!(alice_s.bytes > 0, "{swarm:?}");
    assert_eq!(carol_s.announced, swarm.transfer.runs, "{swarm:?}");
    assert!(carol_s.runs + carol_s.cancelled > 0, "{swarm:?}");
    assert!(
        swarm.sources.iter().all(|s| s.dropped.is_none()),
        "{swarm:?}"
    );
    assert_eq!(
        swarm.sources.iter().map(|s| s.bytes).sum::<u64>(),
        first.chunk_bytes
    );
    // The second fetch (carol's refs) moves no chunk: they came in the first.
    assert_eq!(r.fetched[1].chunk_bytes, 0, "{:?}", r.fetched[1]);
    // The content is here, whole.
    let s = Store::open(&bob.join(crate::store::STORE_DIR)).expect("open");
    let fsck = s.fsck(&mut |_| {}).expect("fsck");
    assert!(fsck.is_ok(), "{fsck:?}");
    let mut repo = Repo::open(&bob).expect("open");
    let outcome = repo.merge("alice/main").expect("merge");
    drop(outcome);
    let got = std::fs::read(bob.join("more.bin")).expect("read");
    assert!(got == more, "more.bin differs");
}

/// A free UDP port on 127.0.0.1 (bound and released: the caller binds it next).
fn free_udp() -> std::net::SocketAddr {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free port")
}

#[test]
fn two_clones_that_serve_while_cloning_take_chunks_from_each_other() {
    // Three live seals' worth (16 MiB each) split between two downloaders of one
    // slow origin: each holds sealed runs the other lacks long before the origin
    // could have sent them everything.
    const BIG: usize = 64_000_000;
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let big = crate::store::pack::testutil::random_bytes(23, BIG);
    commit_file(&a, "bigger.bin", &big);
    let h = Server::new(&a, key(1))
        .listen("127.0.0.1:0".parse().expect("addr"))
        .max_rate(Some(16 << 20))
        .lan(None)
        .start()
        .expect("start");
    let origin = format!("{}@{}", key(1).public().to_text(), h.local_addr());
    let (bob_at, carol_at) = (free_udp(), free_udp());
    let spec = |k: u8, at: std::net::SocketAddr| format!("{}@{at}", key(k).public().to_text());
    let run = |k: u8, name: &str, at: std::net::SocketAddr, other: String| {
        let mut opts = CloneOptions::new(key(k), &origin, &d.path().join(name));
        opts.peers = vec![other];
        clone_and_serve(&opts, at)
    };
    let (bob, carol) = std::thread::scope(|s| {
        let bob = s.spawn(|| run(2, "bob", bob_at, spec(3, carol_at)));
        let carol = s.spawn(|| run(3, "carol", carol_at, spec(2, bob_at)));
        (
            bob.join().expect("bob's thread"),
            carol.join().expect("carol's thread"),
        )
    });
    let ((bob, bob_h), (carol, carol_h)) = (bob.expect("bob"), carol.expect("carol"));
    h.shutdown().expect("shutdown");
    let mut from_each_other = Vec::new();
    for (r, other) in [(&bob, "carol"), (&carol, "bob")] {
        let got = std::fs::read(r.dir.join("bigger.bin")).expect("read");
        assert!(got == big, "{} differs", r.dir.display());
        let swarm = r.fetch.swarm.clone().expect("planned");
        assert_eq!(swarm.sources.len(), 2, "{swarm:?}");
        let peer = &swarm.sources[1];
        assert!(peer.dropped.is_none(), "{other} dropped: {swarm:?}");
        assert!(peer.announced > 0, "{other} announced nothing: {swarm:?}");
        from_each_other.push(peer.bytes);
    }
    eprintln!("bytes from each other: {from_each_other:?}");
    assert!(
        from_each_other.iter().sum::<u64>() > 0,
        "neither took a byte from the other: {bob:?} {carol:?}"
    );
    // Once cloned, each serves with the member list that landed: bob, a fresh
    // clone of nobody's, fetches from carol's clone server.
    assert_eq!(carol_h.local_addr(), carol_at);
    commit_file(&carol.dir, "note.txt", b"from carol");
    configure_addr(&bob.dir, 3, &carol_at.to_string());
    let f = fetch(
        &bob.dir,
        &FetchOptions {
            peer: Some("carol".into()),
            max_sources: Some(1),
            ..FetchOptions::new(key(2))
        },
    )
    .expect("bob fetches from carol's clone server");
    assert!(f.objects > 0, "{f:?}");
    bob_h.shutdown().expect("shutdown");
    carol_h.shutdown().expect("shutdown");
}
