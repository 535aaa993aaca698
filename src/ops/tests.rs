//! The operations end to end in one process: real QUIC endpoints on 127.0.0.1,
//! real repositories in temporary directories.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::identity::MachineKey;
use crate::preview::settings::ON_COMMIT_ENV;
use crate::store::chunker::ChunkParams;
use crate::store::object::Role;
use crate::vcs::{CommitOptions, MergeOutcome, Repo};

fn key(n: u8) -> Arc<MachineKey> {
    Arc::new(MachineKey::from_seed([n; 32]))
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    std::fs::write(root.join(rel), data).expect("write");
}

fn commit_all(root: &Path, msg: &str) -> crate::store::ObjectId {
    let mut repo = Repo::open(root).expect("open");
    repo.add(root, &[PathBuf::from(".")], false, &|_, _| {})
        .expect("add");
    repo.commit(&CommitOptions {
        message: msg.into(),
        ..Default::default()
    })
    .expect("commit")
}

/// A repository "alice" (key 1) with `hello.txt` committed and bob (key 2) a
/// member; its root.
fn alice(dir: &Path) -> PathBuf {
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
    write(&root, "hello.txt", b"hello");
    commit_all(&root, "first");
    root
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

/// Counts the bytes reported to it.
#[derive(Default)]
struct Counted {
    started: AtomicU64,
    last: AtomicU64,
    finished: AtomicU64,
}

impl Progress for Counted {
    fn start(&self, _: &str, _: Unit, _: u64) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }
    fn advance(&self, done: u64, _: u64) {
        self.last.store(done, Ordering::Relaxed);
    }
    fn finish(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// bob's clone of alice's repository; its root.
fn bob_clone(dir: &Path, server: &ServerHandle) -> PathBuf {
    let r = clone(&CloneOptions::new(
        key(2),
        &source(server),
        &dir.join("bob"),
    ))
    .expect("clone");
    r.dir
}

#[test]
fn clone_checks_out_the_branch_and_reports_what_moved() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let progress = Arc::new(Counted::default());
    let mut opts = CloneOptions::new(key(2), &source(&server), &d.path().join("bob"));
    opts.progress = progress.clone();
    let r = clone(&opts).expect("clone");
    server.shutdown().expect("shutdown");
    assert_eq!(r.branch.as_deref(), Some("main"));
    assert_eq!(r.fetch.peer, "alice");
    assert!(r.fetch.objects > 0);
    assert_eq!(r.fetch.chunk_bytes, 5);
    assert_eq!(
        std::fs::read(r.dir.join("hello.txt")).expect("read"),
        b"hello"
    );
    assert_eq!(progress.started.load(Ordering::Relaxed), 1);
    assert_eq!(progress.finished.load(Ordering::Relaxed), 1);
    assert_eq!(progress.last.load(Ordering::Relaxed), 5);
    // The JSON is the report, with the field names `gadn fetch --json` has.
    let v: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&r).expect("json")).expect("parse");
    for field in [
        "peer",
        "objects",
        "chunks",
        "chunk_bytes",
        "payload_bytes",
        "wire_bytes",
        "members_changed",
        "locks_changed",
        "locks_refused",
        "refs",
    ] {
        assert!(v.get(field).is_some(), "{field} missing from {v}");
    }
    assert_eq!(v["refs"][0]["ref"], "refs/remotes/alice/main");
    assert_eq!(v["branch"], "main");
}

/// Reads the clone mark of the store at `dir` when the transfer starts.
struct MarkAtStart {
    dir: PathBuf,
    seen: std::sync::Mutex<Option<Option<String>>>,
}

impl Progress for MarkAtStart {
    fn start(&self, _: &str, _: Unit, _: u64) {
        let store = crate::store::Store::open(&self.dir).expect("the clone's store");
        let mark = store.db().state_get(CLONE_INCOMPLETE_KEY).expect("state");
        *self.seen.lock().expect("lock") = Some(mark);
    }
    fn advance(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

#[test]
fn a_clone_is_marked_incomplete_until_it_has_checked_out() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let bob = d.path().join("bob");
    let mark = Arc::new(MarkAtStart {
        dir: bob.join(crate::store::STORE_DIR),
        seen: Default::default(),
    });
    let src = source(&server);
    let mut opts = CloneOptions::new(key(2), &src, &bob);
    opts.progress = mark.clone();
    let r = clone(&opts).expect("clone");
    server.shutdown().expect("shutdown");
    // While the transfer ran, an interruption would have left this mark.
    assert_eq!(
        *mark.seen.lock().expect("lock"),
        Some(Some(src)),
        "marked with its source before anything is fetched"
    );
    let repo = Repo::open(&r.dir).expect("open");
    assert_eq!(interrupted_clone(&repo).expect("mark"), None, "cleared");
}

#[test]
fn clone_into_a_non_empty_directory_is_refused_with_its_name() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let target = d.path().join("full");
    std::fs::create_dir(&target).expect("mkdir");
    write(&target, "something", b"x");
    let e = clone(&CloneOptions::new(key(2), &source(&server), &target)).expect_err("refused");
    server.shutdown().expect("shutdown");
    assert!(matches!(e, Error::NotEmpty(_)), "{e}");
    assert!(e.to_string().contains("exists and is not empty"), "{e}");
}

#[test]
fn clone_from_a_peer_that_went_away_fails_without_hanging() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let src = source(&server);
    server.shutdown().expect("shutdown");
    assert!(clone(&CloneOptions::new(key(2), &src, &d.path().join("bob"))).is_err());
}

#[test]
fn fetch_brings_new_commits_into_tracking_refs_only() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    write(&a, "second.txt", b"second");
    let c2 = commit_all(&a, "second");
    let r = fetch(&b, &FetchOptions::new(key(2))).expect("fetch");
    let again = fetch(&b, &FetchOptions::new(key(2))).expect("fetch again");
    server.shutdown().expect("shutdown");
    assert_eq!(r.peer, "alice");
    assert_eq!(r.chunk_bytes, 6);
    assert!(r
        .refs
        .iter()
        .any(|c| c.name == "refs/remotes/alice/main" && c.refused.is_none()));
    assert_eq!(again.chunks, 0, "nothing new the second time");
    let repo = Repo::open(&b).expect("open");
    assert_eq!(repo.resolve_commit("alice/main").expect("tracking"), c2);
    assert!(
        !b.join("second.txt").exists(),
        "fetch leaves the tree alone"
    );
}

#[test]
fn pull_fast_forwards_the_current_branch() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    write(&a, "second.txt", b"second");
    let c2 = commit_all(&a, "second");
    let r = pull(
        &b,
        &PullOptions {
            fetch: FetchOptions::new(key(2)),
            branch: None,
        },
    )
    .expect("pull");
    server.shutdown().expect("shutdown");
    assert_eq!(r.theirs, "alice/main");
    assert_eq!(
        r.merge,
        Some(MergeOutcome::FastForward {
            commit: c2.to_hex()
        })
    );
    assert_eq!(
        std::fs::read(b.join("second.txt")).expect("read"),
        b"second"
    );
}

#[test]
fn pull_of_a_branch_they_lack_names_it() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    let e = pull(
        &b,
        &PullOptions {
            fetch: FetchOptions::new(key(2)),
            branch: Some("nope".into()),
        },
    )
    .expect_err("no such branch");
    server.shutdown().expect("shutdown");
    assert_eq!(e.to_string(), "alice has no branch nope");
}

#[test]
fn push_moves_their_branch_and_our_tracking_ref() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    // alice's checked-out branch is not pushed to; bob pushes a new one.
    {
        let repo = Repo::open(&b).expect("open");
        repo.create_branch("topic", None).expect("branch");
    }
    write(&b, "mine.txt", b"bob's");
    let c = commit_all(&b, "bob's commit");
    let r = push(
        &b,
        &PushOptions {
            identity: key(2),
            peer: None,
            branches: vec!["main:topic".into()],
            force: false,
        },
    )
    .expect("push");
    server.shutdown().expect("shutdown");
    assert_eq!(r.peer, "alice");
    assert!(!r.any_refused(), "{r:?}");
    assert_eq!(r.refs[0].name, "refs/heads/topic");
    let theirs = Repo::open(&a).expect("open");
    assert_eq!(theirs.resolve_commit("topic").expect("their topic"), c);
    let ours = Repo::open(&b).expect("open");
    assert_eq!(ours.resolve_commit("alice/topic").expect("tracking"), c);
}

#[test]
fn push_without_a_branch_here_is_refused_before_connecting() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    server.shutdown().expect("shutdown");
    let e = push(
        &b,
        &PushOptions {
            identity: key(2),
            peer: None,
            branches: vec!["absent".into()],
            force: false,
        },
    )
    .expect_err("no branch");
    assert_eq!(e.to_string(), "no branch 'absent' here");
}

#[test]
fn sync_fetches_from_reachable_members_and_lists_the_unreachable() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let b = bob_clone(d.path(), &server);
    write(&a, "second.txt", b"second");
    commit_all(&a, "second");
    let r = sync(&b, &SyncOptions::new(key(2))).expect("sync");
    assert_eq!(r.fetched.len(), 1);
    assert_eq!(r.fetched[0].peer, "alice");
    assert_eq!(r.fetched[0].chunk_bytes, 6);
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    server.shutdown().expect("shutdown");
    // With alice gone, she is listed as failed; the call itself succeeds.
    let r = sync(&b, &SyncOptions::new(key(2))).expect("sync");
    assert!(r.fetched.is_empty());
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].peer, "alice");
}

#[test]
fn server_reports_its_bound_port_and_stops_on_shutdown() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let server = serve(&a);
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let id = Repo::open(&a)
        .expect("open")
        .store()
        .repository_id()
        .expect("id");
    assert_eq!(server.repo_id(), id);
    server.shutdown().expect("shutdown");
    // The port is free again: a new server can take it.
    let again = Server::new(&a, key(1))
        .listen(addr)
        .lan(None)
        .start()
        .expect("rebind");
    assert_eq!(again.local_addr(), addr);
    again.shutdown().expect("shutdown");
}

#[test]
fn preview_after_commit_makes_them_in_process_without_a_background_program() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let mut repo = Repo::open(&a).expect("open");
    let head = repo.resolve_commit("HEAD").expect("head");
    // The suite may set the override to `off`; this test wants `background`.
    let settings_key = "preview.on-commit";
    repo.store()
        .db()
        .config_set(settings_key, "background")
        .expect("set");
    if std::env::var_os(ON_COMMIT_ENV).is_some() {
        // Overridden for the whole process: the configured mode is not ours to test.
        return;
    }
    let progress = Arc::new(Counted::default());
    let opts = AfterCommitOptions {
        background_program: None,
        progress: progress.clone(),
    };
    let r = preview_after_commit(&mut repo, &head, &opts).expect("previews");
    let AfterCommitReport::Made(s) = r else {
        panic!("made in process: {r:?}")
    };
    assert_eq!(s.files, 1);
    assert_eq!(progress.finished.load(Ordering::Relaxed), 1);
    assert!(repo.store().dir().join(PREVIEW_LOCK).exists());
    // A second batch takes the lock again (the first released it) and finds them
    // made.
    let r = preview_after_commit(&mut repo, &head, &opts).expect("again");
    let AfterCommitReport::Made(s) = r else {
        panic!("made in process: {r:?}")
    };
    assert_eq!(s.made, 0);
    assert_eq!(s.existing, 1);
}

#[test]
fn preview_after_commit_does_nothing_when_off() {
    let d = tempfile::tempdir().expect("tmp");
    let a = alice(d.path());
    let mut repo = Repo::open(&a).expect("open");
    let head = repo.resolve_commit("HEAD").expect("head");
    repo.store()
        .db()
        .config_set("preview.on-commit", "off")
        .expect("set");
    if std::env::var_os(ON_COMMIT_ENV).is_some() {
        return;
    }
    let r = preview_after_commit(&mut repo, &head, &AfterCommitOptions::default()).expect("off");
    assert!(matches!(r, AfterCommitReport::Off));
    assert!(!repo.store().dir().join(PREVIEW_LOCK).exists());
}
