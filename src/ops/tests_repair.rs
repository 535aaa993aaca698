//! `fsck --repair` and damaged peers end to end: real QUIC endpoints on 127.0.0.1,
//! real repositories with bytes flipped in their packs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;
use crate::identity::MachineKey;
use crate::store::chunker::ChunkParams;
use crate::store::object::Role;
use crate::store::pack::testutil::{flip_record_byte, random_bytes, text_like};
use crate::store::{ObjectId, Store};
use crate::vcs::{CommitOptions, Repo};

fn key(n: u8) -> Arc<MachineKey> {
    Arc::new(MachineKey::from_seed([n; 32]))
}

fn commit_all(root: &Path, msg: &str) -> ObjectId {
    let mut repo = Repo::open(root).expect("open");
    repo.add(root, &[PathBuf::from(".")], false, &|_, _| {})
        .expect("add");
    repo.commit(&CommitOptions {
        message: msg.into(),
        ..Default::default()
    })
    .expect("commit")
}

/// alice (key 1) with bob (key 2) a member, and two files committed: an
/// incompressible one and a text one, both of several chunks. Returns her root and
/// the files' contents by name.
fn alice(dir: &Path) -> (PathBuf, Vec<(&'static str, Vec<u8>)>) {
    let mut repo = Repo::init(&dir.join("alice"), ChunkParams::DEFAULT).expect("init");
    let root = repo.root().to_path_buf();
    crate::sync::members::add(
        repo.store_mut(),
        &key(1),
        "alice",
        "bob",
        key(2).public(),
        Role::Member,
    )
    .expect("bob");
    drop(repo);
    let files = vec![
        ("noise.bin", random_bytes(31, 500_000)),
        ("words.txt", text_like(32, 500_000)),
    ];
    for (name, data) in &files {
        std::fs::write(root.join(name), data).expect("write");
    }
    commit_all(&root, "first");
    (root, files)
}

fn serve(root: &Path) -> ServerHandle {
    Server::new(root, key(1))
        .listen("127.0.0.1:0".parse().expect("addr"))
        .lan(None)
        .start()
        .expect("start")
}

fn source(server: &ServerHandle) -> String {
    format!("{}@{}", key(1).public().to_text(), server.local_addr())
}

fn store_dir(root: &Path) -> PathBuf {
    root.join(crate::store::STORE_DIR)
}

/// The file ids of HEAD's tree by name, its root tree, and the chunk ids of `name`.
fn ids(root: &Path, name: &str) -> (ObjectId, ObjectId, Vec<ObjectId>) {
    let s = Store::open(&store_dir(root)).expect("open");
    let head = match s.db().read_ref("refs/heads/main").expect("ref") {
        Some(crate::store::db::RefTarget::Id(id)) => id,
        other => panic!("{other:?}"),
    };
    let tree = s.commit(&head).expect("commit").tree;
    let file = s
        .tree(&tree)
        .expect("tree")
        .entries
        .iter()
        .find(|e| e.name == name)
        .expect(name)
        .id;
    let chunks = crate::sync::answer::file_chunk_ids(&s, &file).expect("chunks");
    (file, tree, chunks)
}

/// Every file of `files` reads back byte-identical from the store at `root`.
fn reads_back(root: &Path, files: &[(&str, Vec<u8>)]) {
    let s = Store::open(&store_dir(root)).expect("open");
    for (name, data) in files {
        let (file, _, _) = ids(root, name);
        assert!(
            s.read_file_bytes(&file).expect(name) == *data,
            "{name} differs"
        );
    }
}

fn repair_from(root: &Path, from: Option<String>) -> RepairReport {
    let repo = Repo::open(root).expect("open");
    let mut opts = RepairOptions::new(key(2));
    opts.from = from;
    fsck_repair(StoreOf::Repo(&repo), &opts).expect("repair runs")
}

/// bob's clone of alice.
fn bob(dir: &Path, server: &ServerHandle) -> PathBuf {
    clone(&CloneOptions::new(
        key(2),
        &source(server),
        &dir.join("bob"),
    ))
    .expect("clone")
    .dir
}

/// Two chunks (one raw, one zstd) and the root tree flipped in bob's store: a
/// repair from alice over QUIC asks for exactly those three records, gets them,
/// rewrites the damaged pack, and the store is whole with every byte back. Before,
/// there was no repair, and `fetch` moved nothing because the ids were stored.
#[test]
fn fsck_repair_refetches_exactly_the_damaged_records() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, files) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    let (_, tree, raw) = ids(&b, "noise.bin");
    let (_, _, zstd) = ids(&b, "words.txt");
    let records_before = Store::open(&store_dir(&b))
        .expect("open")
        .packs()
        .entries()
        .count();
    for id in [raw[1], zstd[2], tree] {
        flip_record_byte(&store_dir(&b), &id);
    }
    let before = fsck(StoreOf::Repo(&Repo::open(&b).expect("open")), &NoProgress).expect("fsck");
    assert_eq!(before.damaged.len(), 3, "{:?}", before.damaged);

    let r = repair_from(&b, Some("alice".into()));
    server.shutdown().expect("shutdown");
    assert!(r.is_ok(), "{:?}", r.still_damaged);
    assert_eq!((r.found_damaged, r.found_missing), (3, 0));
    assert_eq!(r.sources.len(), 1);
    let s = &r.sources[0];
    assert_eq!(
        (s.source.as_str(), s.asked, s.received),
        ("alice", 3, 3),
        "{s:?}"
    );
    assert_eq!((s.missing, s.damaged, s.error.as_deref()), (0, 0, None));
    let mut repaired: Vec<String> = r.repaired.iter().map(|x| x.id.clone()).collect();
    repaired.sort();
    let mut expected: Vec<String> = [raw[1], zstd[2], tree].iter().map(|i| i.to_hex()).collect();
    expected.sort();
    assert_eq!(repaired, expected);
    assert!(r
        .repaired
        .iter()
        .all(|x| x.was == Want::Damaged && x.from == "alice"));
    assert!(!r.packs_rewritten.is_empty());
    assert!(r.still_damaged.is_empty());
    // A fresh reader finds the store whole, every record once, the content intact.
    let after = Store::open(&store_dir(&b)).expect("open");
    let check = after.fsck(&mut |_| {}).expect("fsck");
    assert!(check.is_ok(), "{check:?}");
    assert_eq!(after.packs().entries().count(), records_before);
    reads_back(&b, &files);
    // The JSON is the report.
    let v = serde_json::to_value(&r).expect("json");
    for field in [
        "found_damaged",
        "repaired",
        "still_damaged",
        "sources",
        "fsck",
    ] {
        assert!(v.get(field).is_some(), "{field} missing from {v}");
    }
    assert_eq!(v["repaired"][0]["was"], "damaged");
}

/// A chunk damaged at alice too cannot be repaired from her: she says so, it stays
/// damaged here (its bytes kept, named in the report), and the other damaged
/// chunk of the same pack is repaired; no healthy record is lost.
#[test]
fn fsck_repair_leaves_what_no_peer_has_named_as_damaged() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, _) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    let (_, _, raw) = ids(&b, "noise.bin");
    let (lost, fixable) = (raw[0], raw[2]);
    flip_record_byte(&store_dir(&a), &lost);
    let pack_lost = flip_record_byte(&store_dir(&b), &lost);
    let pack_fixable = flip_record_byte(&store_dir(&b), &fixable);
    assert_eq!(pack_lost, pack_fixable, "one pack holds both");
    let healthy: Vec<ObjectId> = {
        let s = Store::open(&store_dir(&b)).expect("open");
        let all: Vec<ObjectId> = s.packs().entries().map(|(_, e)| e.id).collect();
        all.into_iter()
            .filter(|id| *id != lost && *id != fixable)
            .collect()
    };

    // Without --from: every peer with an address, here alice.
    let r = repair_from(&b, None);
    assert!(!r.is_ok());
    assert_eq!(r.found_damaged, 2);
    let s = &r.sources[0];
    assert_eq!((s.asked, s.received, s.damaged), (2, 1, 1), "{s:?}");
    assert_eq!(r.repaired.len(), 1);
    assert_eq!(r.repaired[0].id, fixable.to_hex());
    assert_eq!(r.still_damaged.len(), 1, "{:?}", r.still_damaged);
    assert_eq!(
        r.still_damaged[0].id.as_deref(),
        Some(lost.to_hex().as_str())
    );
    assert!(
        r.fsck.broken_links.is_empty(),
        "kept, not dropped: {:?}",
        r.fsck.broken_links
    );
    let st = Store::open(&store_dir(&b)).expect("open");
    for id in &healthy {
        st.read(id).unwrap_or_else(|e| panic!("{id} lost: {e}"));
    }
    assert!(st.read(&fixable).is_ok());
    assert!(st.read(&lost).is_err(), "still damaged");
    drop(st);

    // Again, naming alice as KEY@HOST:PORT: she still cannot help, nothing changes.
    let again = repair_from(&b, Some(source(&server)));
    server.shutdown().expect("shutdown");
    assert!(!again.is_ok());
    assert_eq!((again.found_damaged, again.repaired.len()), (1, 0));
    assert_eq!(again.sources[0].source, key(1).public().short());
    assert_eq!(again.sources[0].damaged, 1);
}

/// Records missing altogether (a pack deleted) are found by the walk, level by
/// level, and copied from another local store named by its directory.
#[test]
fn fsck_repair_refills_missing_records_from_another_local_store() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, files) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    server.shutdown().expect("shutdown");
    let packs = store_dir(&b).join(crate::store::PACK_DIR);
    for e in std::fs::read_dir(&packs).expect("packs") {
        std::fs::remove_file(e.expect("entry").path()).expect("rm");
    }
    let r = repair_from(&b, Some(a.display().to_string()));
    assert!(r.is_ok(), "{:?}", r.still_damaged);
    assert!(
        r.found_missing > 3,
        "commit, trees, files, chunks: {}",
        r.found_missing
    );
    assert_eq!(r.found_damaged, 0);
    assert!(r.repaired.iter().all(|x| x.was == Want::Missing));
    assert_eq!(r.sources[0].received, r.found_missing);
    reads_back(&b, &files);

    // A directory that holds no store is refused by name.
    let e = fsck_repair(
        StoreOf::Repo(&Repo::open(&b).expect("open")),
        &RepairOptions {
            from: Some(d.path().display().to_string()),
            ..RepairOptions::new(key(2))
        },
    );
    // Nothing is wanted now, so no source is even looked at.
    assert!(e.expect("whole").is_ok());
    // Damage one chunk (the member list stays readable) so that a source is needed.
    let (_, _, raw) = ids(&b, "noise.bin");
    flip_record_byte(&store_dir(&b), &raw[0]);
    let e = fsck_repair(
        StoreOf::Repo(&Repo::open(&b).expect("open")),
        &RepairOptions {
            from: Some(d.path().display().to_string()),
            ..RepairOptions::new(key(2))
        },
    )
    .expect_err("not a store");
    assert!(matches!(e, Error::NotAStore(_)), "{e}");
    // A bare word is a member's name even when a directory (here the crate's
    // `src/`, tests run in the crate root) happens to have it.
    assert!(Path::new("src").is_dir());
    let e = fsck_repair(
        StoreOf::Repo(&Repo::open(&b).expect("open")),
        &RepairOptions {
            from: Some("src".into()),
            ..RepairOptions::new(key(2))
        },
    )
    .expect_err("no member src");
    assert!(e.to_string().contains("'src' is not a member"), "{e}");
}

/// A clone from a server whose store is damaged used to end with "run the same
/// command again to resume", which could never succeed; now it names the damage
/// and what to do.
#[test]
fn clone_from_a_damaged_server_does_not_say_resume() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, _) = alice(d.path());
    let (_, _, raw) = ids(&a, "noise.bin");
    flip_record_byte(&store_dir(&a), &raw[1]);
    let server = serve(&a);
    let e = clone(&CloneOptions::new(
        key(2),
        &source(&server),
        &d.path().join("bob"),
    ))
    .expect_err("damaged at the source");
    server.shutdown().expect("shutdown");
    let text = chain(&e);
    assert!(!text.contains("resume"), "{text}");
    assert!(
        text.contains("the peer's store is damaged (1 record(s)"),
        "{text}"
    );
    assert!(
        text.contains("ask its owner to run `gadn fsck --repair`"),
        "{text}"
    );
    assert!(text.contains("or fetch from another peer"), "{text}");
}

/// A fetch that reads a damaged record of its own store stops; it used to say
/// "the next fetch resumes from there", which it never could. Now it says the
/// store is damaged and how to repair it, and classifies as damage (exit 3).
#[test]
fn a_fetch_into_a_damaged_store_points_at_fsck_repair() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, _) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    let (_, tree, _) = ids(&b, "noise.bin");
    flip_record_byte(&store_dir(&b), &tree);
    let mut opts = FetchOptions::new(key(2));
    opts.peer = Some("alice".into());
    let e = fetch(&b, &opts).expect_err("stops on the damaged tree");
    server.shutdown().expect("shutdown");
    assert!(matches!(e, Error::LocalDamaged { .. }), "{e}");
    let text = chain(&e);
    assert!(text.contains("gadn fsck --repair"), "{text}");
    assert!(!text.contains("resumes"), "{text}");
    assert_eq!(classify(&e), Failure::Damage);
}

/// A flipped chunk is never read by a fetch, which used to move nothing and say
/// nothing. Once fsck has found the damage, a fetch says so (and points at the
/// repair); after the repair it is quiet again.
#[test]
fn a_fetch_after_fsck_found_damage_says_the_store_is_damaged() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, _) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    let (_, _, raw) = ids(&b, "noise.bin");
    let mut opts = FetchOptions::new(key(2));
    opts.peer = Some("alice".into());
    assert_eq!(fetch(&b, &opts).expect("fetch").damaged_here, None);
    flip_record_byte(&store_dir(&b), &raw[1]);
    let report = fsck(StoreOf::Repo(&Repo::open(&b).expect("open")), &NoProgress).expect("fsck");
    assert!(!report.is_ok());
    let f = fetch(&b, &opts).expect("fetch");
    assert_eq!(
        (f.objects, f.chunks),
        (0, 0),
        "a stored id is never fetched again"
    );
    assert_eq!(f.damaged_here, Some(1));
    let v = serde_json::to_value(&f).expect("json");
    assert_eq!(v["damaged_here"], 1);
    assert!(repair_from(&b, None).is_ok());
    assert_eq!(fetch(&b, &opts).expect("fetch").damaged_here, None);
    server.shutdown().expect("shutdown");
}

/// Flips a byte of the record header of `id` (in its id field) in the store at `dir`.
fn flip_header_byte(dir: &Path, id: &ObjectId) {
    let s = Store::open(dir).expect("open");
    let loc = s.packs().locate(id).expect("stored");
    let path = s.packs().pack_path(loc.pack).to_path_buf();
    let at = loc.entry.offset as usize + 12;
    drop(s);
    let mut b = std::fs::read(&path).expect("read");
    b[at] ^= 1;
    std::fs::write(&path, b).expect("write");
}

/// Another local store asked for records it lacks, holds damaged, or cannot read:
/// each is counted as such, none is taken, and all stay damaged here.
#[test]
fn a_local_store_that_cannot_help_is_counted_and_nothing_is_taken() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, _) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    server.shutdown().expect("shutdown");
    std::fs::write(b.join("mine.bin"), random_bytes(77, 5000)).expect("write");
    commit_all(&b, "only here");
    let (_, _, mine) = ids(&b, "mine.bin");
    let (_, _, raw) = ids(&b, "noise.bin");
    let (damaged_there, unreadable_there, only_here) = (raw[0], raw[1], mine[0]);
    flip_record_byte(&store_dir(&a), &damaged_there);
    flip_header_byte(&store_dir(&a), &unreadable_there);
    for id in [damaged_there, unreadable_there, only_here] {
        flip_record_byte(&store_dir(&b), &id);
    }
    let r = repair_from(&b, Some(store_dir(&a).display().to_string()));
    assert!(!r.is_ok());
    assert_eq!(r.found_damaged, 3);
    let s = &r.sources[0];
    assert_eq!(
        (s.asked, s.received, s.missing, s.damaged),
        (3, 0, 1, 2),
        "{s:?}"
    );
    assert!(r.repaired.is_empty() && r.packs_rewritten.is_empty());
    assert_eq!(r.still_damaged.len(), 3, "{:?}", r.still_damaged);
}

/// A damaged record that another pack of the same store holds healthy (as an
/// interrupted consolidation can leave) is repaired from there: no peer is asked.
#[test]
fn a_damaged_record_with_a_healthy_duplicate_here_needs_no_peer() {
    let d = tempfile::tempdir().expect("tmp");
    let (a, files) = alice(d.path());
    let server = serve(&a);
    let b = bob(d.path(), &server);
    server.shutdown().expect("shutdown");
    let (_, _, raw) = ids(&b, "noise.bin");
    let (path, at) = {
        let s = Store::open(&store_dir(&b)).expect("open");
        let loc = s.packs().locate(&raw[1]).expect("stored");
        let e = loc.entry;
        let at = e.offset + crate::store::pack::RECORD_HEADER_LEN as u64 + 10;
        (s.packs().pack_path(loc.pack).to_path_buf(), at as usize)
    };
    {
        let mut s = Store::open(&store_dir(&b)).expect("open");
        let rec = s.read_raw(&raw[1]).expect("read").expect("stored");
        let (lock, _) = s.lock().expect("lock");
        let mut w = s.writer(&lock);
        assert!(w.put_replacement(rec).expect("append"));
        w.finish().expect("seal");
    }
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[at] ^= 0x10;
    std::fs::write(&path, bytes).expect("write");

    let r = repair_from(&b, None);
    assert!(r.is_ok(), "{:?}", r.still_damaged);
    assert!(r.sources.is_empty(), "no peer asked: {:?}", r.sources);
    assert_eq!(r.repaired.len(), 1);
    assert_eq!(
        (r.repaired[0].id.as_str(), r.repaired[0].from.as_str()),
        (raw[1].to_hex().as_str(), "this store")
    );
    reads_back(&b, &files);
}
