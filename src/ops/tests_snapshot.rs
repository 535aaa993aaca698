//! fsck and gc on a handle that loaded its packs before other writers changed the
//! store (issue 15, defect 2: fsck right after a commit, while the background preview
//! batch was recording, reported the new preview as a broken link).
//!
//! What makes this deterministic is that a store handle loads its pack indexes once:
//! the "reader" below loads them, then a second handle (another process, as far as
//! the reader can tell) seals packs and writes the rows that name them — previews,
//! a lock record, a commit and its history rows, a staged file, a tag — and only then
//! does the reader run fsck and gc. Every row is written after the pack it names is
//! sealed, and a reader that misses an id re-scans the pack directory, so the reader
//! must see a whole store; the second test does the same with packs deleted under it.

use std::path::{Path, PathBuf};

use super::*;
use crate::identity::MachineKey;
use crate::preview::recorded::Planner;
use crate::preview::settings::Settings;
use crate::store::chunker::ChunkParams;
use crate::store::ObjectId;
use crate::vcs::{CommitOptions, Repo};

fn commit_all(repo: &mut Repo, msg: &str) -> ObjectId {
    let root = repo.root().to_path_buf();
    repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
        .expect("add");
    repo.commit(&CommitOptions {
        message: msg.into(),
        ..Default::default()
    })
    .expect("commit")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("fixture")
}

/// A repository with a texture and a sound committed on `main`; its handle.
fn repo_with_assets(dir: &Path) -> Repo {
    let mut repo = Repo::init(&dir.join("r"), ChunkParams::DEFAULT).expect("init");
    let root = repo.root().to_path_buf();
    std::fs::write(root.join("texture.png"), fixture("texture.png")).expect("write");
    std::fs::write(root.join("tone.wav"), fixture("tone.wav")).expect("write");
    commit_all(&mut repo, "assets");
    repo
}

/// A second handle on the same repository, every pack index loaded now.
fn loaded_reader(root: &Path) -> Repo {
    let reader = Repo::open(root).expect("open reader");
    assert!(reader.store().packs().packs().count() > 0, "indexes loaded");
    reader
}

fn make_previews(repo: &mut Repo, rev: &str) -> usize {
    let planner = Planner::new(Settings::load(repo.store()).expect("settings"));
    let s = preview_revision(repo, &planner, rev, &PreviewOptions::default()).expect("previews");
    s.made
}

fn assert_whole(repo: &Repo, what: &str) -> FsckReport {
    let report = fsck(StoreOf::Repo(repo), &NoProgress).expect("fsck");
    assert!(
        report.is_ok(),
        "{what}: damaged {:?}, broken links {:?}",
        report.damaged,
        report.broken_links
    );
    report
}

#[test]
fn fsck_and_gc_on_a_handle_opened_before_other_writers_see_a_whole_store() {
    let d = tempfile::tempdir().expect("tmp");
    let mut writer = repo_with_assets(d.path());
    let root = writer.root().to_path_buf();
    let reader = loaded_reader(&root);
    let before = assert_whole(&reader, "before any other write");

    // The other handle writes, each time sealing a pack and then adding the rows
    // that name what it holds.
    let first = writer.resolve_commit("HEAD").expect("head").to_hex();
    assert!(make_previews(&mut writer, &first) >= 2, "previews recorded");
    let key = MachineKey::from_seed([7; 32]);
    writer.lock_as("texture.png", &key).expect("lock");
    std::fs::write(root.join("notes.txt"), b"second commit").expect("write");
    let second = commit_all(&mut writer, "second");
    writer
        .create_tag("v1", Some(&second.to_hex()), Some("first release"))
        .expect("tag");
    std::fs::write(root.join("staged.bin"), vec![9u8; 200_000]).expect("write");
    writer
        .add(&root, &[PathBuf::from("staged.bin")], false, &|_, _| {})
        .expect("stage");

    // The reader's pack set predates all of that; its fsck still sees one store,
    // the new records among what is reachable.
    let after = assert_whole(&reader, "after the other handle wrote");
    assert!(
        after.reachable > before.reachable,
        "the new records are walked: {} then {}",
        before.reachable,
        after.reachable
    );
    // gc on the same stale handle (it takes the write lock) keeps every one of them.
    let mut reader = reader;
    let report = gc(
        &mut reader,
        &GcOptions::defaults(chrono::Utc::now().timestamp()),
    )
    .expect("gc");
    assert_eq!(report.removed, 0, "nothing was unreachable: {report:?}");
    drop(reader);
    let fresh = Repo::open(&root).expect("reopen");
    let whole = assert_whole(&fresh, "after gc on the stale handle");
    assert_eq!(whole.reachable, after.reachable);
    // Every preview recorded under the reader survived its gc.
    assert_eq!(
        make_previews(&mut Repo::open(&root).expect("open"), &first),
        0
    );
}

#[test]
fn fsck_on_a_handle_opened_before_gc_deleted_packs_sees_a_whole_store() {
    let d = tempfile::tempdir().expect("tmp");
    let mut writer = repo_with_assets(d.path());
    let root = writer.root().to_path_buf();
    make_previews(&mut writer, "HEAD");
    writer.switch("doomed", true, false).expect("switch");
    std::fs::write(root.join("big.bin"), vec![3u8; 300_000]).expect("write");
    commit_all(&mut writer, "on doomed");
    writer.switch("main", false, false).expect("switch back");
    let reader = loaded_reader(&root);

    // The other handle drops the branch and collects, deleting the packs the
    // reader has open and writing the live records into new ones.
    writer.delete_branch("doomed", true).expect("delete");
    let now = chrono::Utc::now().timestamp();
    let prune_now = GcOptions {
        expire_before: now + 1,
        expire_unreachable_before: now + 1,
        ..GcOptions::defaults(now)
    };
    let report = gc(&mut writer, &prune_now).expect("gc");
    assert!(report.removed > 0, "the branch's records went: {report:?}");

    assert_whole(&reader, "reader opened before the gc");
    assert_whole(&Repo::open(&root).expect("reopen"), "fresh handle");
}
