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
