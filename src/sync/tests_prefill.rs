//! Prefilled checkouts (`store::prefill`): a clone's fetch writes the files of the
//! branch it will check out as their chunks arrive, and the checkout takes them.

use std::path::{Path, PathBuf};

use super::client::{self, FetchOptions};
use super::tests::{alice_repo, empty_like, fetch_with, key, noise, serve, store_dir, LIMIT};
use crate::store::object::EntryKind;
use crate::store::prefill::{self, PREFILL_DIR};
use crate::store::{ObjectId, Store};
use crate::vcs::testutil::{commit_all, put};
use crate::vcs::Repo;

/// The entry at `path` in `commit`'s tree: (file id, size).
fn entry(store: &Store, commit: &ObjectId, path: &str) -> (ObjectId, u64) {
    let mut tree = store.commit(commit).expect("commit").tree;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let t = store.tree(&tree).expect("tree");
        let e = t
            .entries
            .iter()
            .find(|e| e.name == *part)
            .unwrap_or_else(|| panic!("{path}: no {part}"));
        if i + 1 == parts.len() {
            assert_ne!(e.kind, EntryKind::Dir);
            return (e.id, e.size);
        }
        tree = e.id;
    }
    unreachable!("a path has at least one part")
}

/// Fetches everything from alice at `addr` into `into`, prefilling its checkout.
async fn clone_fetch(addr: std::net::SocketAddr, into: &Repo) -> client::FetchReport {
    let opts = FetchOptions {
        trust_peer: true,
        progress: None,
        prefill_checkout: true,
        hold_members: None,
    };
    fetch_with(addr, &key(1), &key(2), into, opts)
        .await
        .expect("fetch")
}

fn part_files(store_dir: &Path) -> usize {
    std::fs::read_dir(store_dir.join(PREFILL_DIR))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".part"))
            })
            .count()
        })
        .unwrap_or(0)
}

/// Checks out alice's `main` in the repository at `root`, as `gadn clone` does.
fn check_out_main(root: &Path) -> Repo {
    let mut b = Repo::open(root).expect("reopen");
    b.create_branch("main", Some("alice/main")).expect("branch");
    b.switch("main", false, true).expect("switch");
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_prefills_the_files_of_the_branch_it_checks_out_and_nothing_else() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        let big = noise(11, 3 << 20);
        // A file made of one chunk-sized block twice: the repeated chunk fills both
        // places of one prefilled file.
        let block = noise(12, 300 << 10);
        let twice = [&block[..], &block[..]].concat();
        put(&a, "assets/big.bin", &big);
        put(&a, "assets/copy.bin", &big);
        put(&a, "assets/twice.bin", &twice);
        put(&a, "docs/readme.txt", b"read me");
        put(&a, "empty.txt", b"");
        let main = commit_all(&mut a, "main");
        a.create_branch("side", None).expect("branch");
        a.switch("side", false, false).expect("switch");
        let side_only = noise(13, 1 << 20);
        put(&a, "side.bin", &side_only);
        let side = commit_all(&mut a, "side");
        a.switch("main", false, false).expect("back");
        let (addr, _stop) = serve(&a, &key(1));

        let b = empty_like(d.path(), "bob", &a);
        let r = clone_fetch(addr, &b).await;
        assert!(r.transferred.chunk_bytes >= (big.len() + side_only.len()) as u64);
        assert_eq!(r.remote.checkout_branch(), Some(("main".to_string(), main)));

        let dir = store_dir(&b);
        let s = Store::open(&dir).expect("open");
        for (path, data) in [
            ("assets/big.bin", &big[..]),
            ("assets/twice.bin", &twice[..]),
            ("docs/readme.txt", b"read me"),
        ] {
            let (id, size) = entry(&s, &main, path);
            let p = prefill::take(&dir, &id, size).unwrap_or_else(|| panic!("{path} prefilled"));
            assert!(std::fs::read(p).expect("read") == data, "{path}");
        }
        let (empty, _) = entry(&s, &main, "empty.txt");
        assert_eq!(
            prefill::take(&dir, &empty, 0),
            None,
            "empty files are not prefilled"
        );
        let (side_id, side_size) = entry(&s, &side, "side.bin");
        assert_eq!(
            prefill::take(&dir, &side_id, side_size),
            None,
            "a file of another branch is not prefilled"
        );
        assert_eq!(part_files(&dir), 0, "no part file is left");
        drop(s);

        // The checkout takes them: the work tree is right, and they are gone.
        let mut b = check_out_main(b.root());
        for (path, data) in [
            ("assets/big.bin", &big[..]),
            ("assets/copy.bin", &big[..]),
            ("assets/twice.bin", &twice[..]),
            ("docs/readme.txt", b"read me"),
            ("empty.txt", b""),
        ] {
            let got = std::fs::read(b.root().join(path)).expect("read");
            assert!(got == data, "{path}");
        }
        let (big_id, big_size) = entry(b.store(), &main, "assets/big.bin");
        assert_eq!(prefill::take(&dir, &big_id, big_size), None, "taken");
        let st = b.status().expect("status");
        assert!(st.staged.is_empty() && st.unstaged.is_empty(), "{st:?}");
    })
    .await
    .expect("within the limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_chunks_already_here_is_not_prefilled_and_checks_out_as_usual() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = alice_repo(d.path());
        let big = noise(21, 2 << 20);
        put(&a, "big.bin", &big);
        commit_all(&mut a, "first");
        let (addr, _stop) = serve(&a, &key(1));
        let b = empty_like(d.path(), "bob", &a);
        clone_fetch(addr, &b).await;
        let dir = store_dir(&b);
        prefill::clear(&dir).expect("clear");

        // A small edit: the new version shares most chunks with the one stored.
        let mut edited = big.clone();
        edited[1 << 20..(1 << 20) + 64].fill(7);
        put(&a, "big.bin", &edited);
        let second = commit_all(&mut a, "edit");
        let r = clone_fetch(addr, &b).await;
        assert!(r.transferred.chunk_bytes < 1 << 20, "{:?}", r.transferred);
        let s = Store::open(&dir).expect("open");
        let (id, size) = entry(&s, &second, "big.bin");
        assert_eq!(prefill::take(&dir, &id, size), None);
        assert_eq!(part_files(&dir), 0);
        drop(s);
        let b = check_out_main(b.root());
        assert!(std::fs::read(b.root().join("big.bin")).expect("read") == edited);
    })
    .await
    .expect("within the limit");
}

/// alice commits `f.bin` (1 MiB of noise from `seed`) and bob clones it, prefilling:
/// bob's repository and store directory, and the file's id, size and bytes.
async fn clone_one_file(root: &Path, seed: u64) -> (Repo, PathBuf, ObjectId, u64, Vec<u8>) {
    let mut a = alice_repo(root);
    let data = noise(seed, 1 << 20);
    put(&a, "f.bin", &data);
    let c = commit_all(&mut a, "one");
    let (addr, _stop) = serve(&a, &key(1));
    let b = empty_like(root, "bob", &a);
    clone_fetch(addr, &b).await;
    let dir = store_dir(&b);
    let (id, size) = entry(&Store::open(&dir).expect("open"), &c, "f.bin");
    (b, dir, id, size, data)
}

/// A prefilled copy whose length is wrong (damaged after it was written) is not
/// taken: the checkout writes the file from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefilled_file_of_the_wrong_size_is_ignored() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (b, dir, id, size, data) = clone_one_file(d.path(), 31).await;
        let p = prefill::take(&dir, &id, size).expect("prefilled");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"x"))
            .expect("append");
        assert_eq!(prefill::take(&dir, &id, size), None);
        let b = check_out_main(b.root());
        assert!(std::fs::read(b.root().join("f.bin")).expect("read") == data);
    })
    .await
    .expect("within the limit");
}

/// Prefilled files an interrupted clone left behind are dropped by `gc`; the
/// checkout then writes the files from the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_drops_prefilled_files_left_behind() {
    tokio::time::timeout(LIMIT, async {
        let d = tempfile::tempdir().expect("tmp");
        let (b, dir, id, size, data) = clone_one_file(d.path(), 41).await;
        assert!(prefill::take(&dir, &id, size).is_some());
        let mut s = Store::open(&dir).expect("open");
        let (lock, _) = s.lock().expect("lock");
        s.gc(&lock, &crate::store::GcOptions::now())
            .expect("gc")
            .expect("not refused");
        drop((lock, s));
        assert!(!dir.join(PREFILL_DIR).exists());
        let b = check_out_main(b.root());
        assert!(std::fs::read(b.root().join("f.bin")).expect("read") == data);
    })
    .await
    .expect("within the limit");
}
