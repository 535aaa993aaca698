//! Error paths of the Git integration, through the real `gadn` binary and the real
//! `git`: install/uninstall outside a work tree, in a bare repository, with a locked
//! Git config or an unreadable `.gitattributes`; `get`/`drop` with a store whose
//! records do not match the content, with a locked index, or with a non-UTF-8 path;
//! the lfs-agent's choice of store inside and outside a repository.
#![cfg(feature = "cli")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::noise;
use gadn::store::Store;

/// A scratch directory with a Git repository under `repo/` and an isolated Git
/// environment (no user or system config).
struct G {
    dir: tempfile::TempDir,
}

impl G {
    fn new() -> G {
        let g = G {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(g.dir.path().join("home")).expect("home");
        g.git_in(g.dir.path(), &["init", "-q", "-b", "main", "repo"]);
        g
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = common::isolate_git(&mut Command::new("git"), &self.dir.path().join("home"))
            .args(args)
            .current_dir(dir)
            .env("GADN_LOCK_TIMEOUT", "20")
            .env_remove("GADN_FILTER_DELAY")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo(), args)
    }

    fn gadn_cmd<S: AsRef<std::ffi::OsStr>>(&self, dir: &Path, args: &[S]) -> Command {
        let mut c = common::std_cmd(&[], dir);
        common::isolate_git(&mut c, &self.dir.path().join("home"))
            .args(args)
            .env_remove("GADN_LFS_STORE");
        c
    }

    fn gadn(&self, dir: &Path, args: &[&str]) -> Output {
        self.gadn_cmd(dir, args).output().expect("run gadn")
    }

    fn ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.gadn(dir, args);
        assert!(
            out.status.success(),
            "gadn {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs gadn, asserts failure; returns stderr.
    fn fails(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.gadn(dir, args);
        assert!(
            !out.status.success(),
            "gadn {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.repo().join(rel)
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read")
    }

    fn assert_clean(&self) {
        assert_eq!(self.git(&["status", "--porcelain"]), "", "git status");
    }

    fn store(&self) -> Store {
        Store::open(&self.repo().join(".git/gadn")).expect("store")
    }
}

fn sha256(d: &[u8]) -> gadn::store::Sha256 {
    gadn::store::Sha256::of(d)
}

#[test]
fn install_outside_a_work_tree_changes_nothing() {
    let g = G::new();
    // Not a repository at all.
    let outside = g.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let err = g.fails(&outside, &["git", "install"]);
    assert!(err.contains("is not in a Git repository"), "{err}");
    assert!(!outside.join(".gitattributes").exists());
    let err = g.fails(&outside, &["git", "uninstall"]);
    assert!(err.contains("is not in a Git repository"), "{err}");

    // A bare repository has a Git directory but no work tree: no store is made.
    let bare = g.dir.path().join("bare.git");
    g.git_in(g.dir.path(), &["init", "-q", "--bare", "bare.git"]);
    let err = g.fails(&bare, &["git", "install"]);
    assert!(err.contains("is not in a Git repository"), "{err}");
    assert!(!bare.join("gadn").exists(), "no store in a bare repository");
    let config = std::fs::read_to_string(bare.join("config")).unwrap();
    assert!(!config.contains("gadn"), "{config}");

    // A bad pattern is refused before anything is written.
    let err = g.fails(&g.repo(), &["git", "install", "--pattern", "#x"]);
    assert!(err.contains("pattern \"#x\""), "{err}");
    assert!(!g.path(".git/gadn").exists());
    assert!(!g.path(".gitattributes").exists());
}

#[test]
fn install_and_uninstall_keep_foreign_attribute_lines() {
    let g = G::new();
    // A user line, no trailing newline: ours go on lines of their own.
    std::fs::write(g.path(".gitattributes"), "*.txt text").unwrap();
    let out = g.ok(
        &g.repo(),
        &["git", "install", "--pattern", "*.bin", "--pattern", "*.bin"],
    );
    assert!(out.contains("Created the gadn store"), "{out}");
    assert_eq!(
        std::fs::read_to_string(g.path(".gitattributes")).unwrap(),
        "*.txt text\n*.bin filter=gadn diff=gadn merge=gadn -text\n"
    );
    // Again: the existing store is opened, nothing is added.
    let out = g.ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    assert!(!out.contains("Created"), "{out}");
    assert!(out.contains("already tracks every pattern"), "{out}");

    let out = g.ok(&g.repo(), &["git", "uninstall"]);
    assert!(
        out.contains("Removed the filter.gadn configuration"),
        "{out}"
    );
    assert!(out.contains("Removed 1 pattern(s)"), "{out}");
    assert_eq!(
        std::fs::read_to_string(g.path(".gitattributes")).unwrap(),
        "*.txt text\n"
    );
    assert!(g.path(".git/gadn").is_dir(), "the store is kept");
    // Nothing left to undo.
    let out = g.ok(&g.repo(), &["git", "uninstall"]);
    assert!(!out.contains("filter.gadn configuration"), "{out}");
    assert!(out.contains("Removed 0 pattern(s)"), "{out}");
    assert_eq!(
        std::fs::read_to_string(g.path(".gitattributes")).unwrap(),
        "*.txt text\n"
    );

    // --quiet: the same work, nothing on stdout; an emptied file is removed.
    std::fs::remove_file(g.path(".gitattributes")).unwrap();
    assert_eq!(
        g.ok(&g.repo(), &["-q", "git", "install", "--pattern", "*.bin"]),
        ""
    );
    assert!(g
        .git(&["config", "--local", "filter.gadn.process"])
        .contains("filter-process"));
    assert_eq!(g.ok(&g.repo(), &["-q", "git", "uninstall"]), "");
    assert!(!g.path(".gitattributes").exists());
}

#[test]
fn git_and_file_failures_are_reported_with_their_cause() {
    let g = G::new();
    g.ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);

    // A stale config lock (another git running): git config fails, and says why.
    let lock = g.path(".git/config.lock");
    std::fs::write(&lock, b"").unwrap();
    let err = g.fails(&g.repo(), &["git", "install", "--pattern", "*.psd"]);
    assert!(
        err.contains("git config --local filter.gadn.process"),
        "{err}"
    );
    assert!(err.contains("config.lock") || err.contains("lock"), "{err}");
    let err = g.fails(&g.repo(), &["git", "uninstall"]);
    assert!(err.contains("--remove-section filter.gadn"), "{err}");
    std::fs::remove_file(&lock).unwrap();
    assert!(
        !std::fs::read_to_string(g.path(".gitattributes"))
            .unwrap()
            .contains("*.psd"),
        "attributes untouched when the config failed"
    );

    // `.gitattributes` that cannot be read (a directory).
    std::fs::remove_file(g.path(".gitattributes")).unwrap();
    std::fs::create_dir(g.path(".gitattributes")).unwrap();
    let err = g.fails(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    assert!(err.contains(".gitattributes"), "{err}");
    let err = g.fails(&g.repo(), &["git", "uninstall"]);
    assert!(err.contains(".gitattributes"), "{err}");
}

/// A repository with `a.bin` and `b.bin` committed through the filter.
fn committed() -> (G, Vec<u8>, Vec<u8>) {
    let g = G::new();
    g.ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    let a = noise(90_000, 1);
    let b = noise(90_000, 2);
    std::fs::write(g.path("a.bin"), &a).unwrap();
    std::fs::write(g.path("b.bin"), &b).unwrap();
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "assets"]);
    (g, a, b)
}

#[test]
fn get_and_drop_refuse_store_records_that_do_not_match() {
    let (g, a, b) = committed();
    g.ok(&g.repo(), &["git", "drop", "a.bin"]);
    let pointer = g.read("a.bin");

    // The record for a.bin's SHA-256 names b.bin's file: get must not write it.
    let store = g.store();
    let (b_id, _) = store.db().lfs_get(&sha256(&b)).unwrap().unwrap();
    let (a_id, _) = store.db().lfs_get(&sha256(&a)).unwrap().unwrap();
    store
        .db()
        .lfs_put(&sha256(&a), &b_id, a.len() as u64)
        .unwrap();
    drop(store);
    let err = g.fails(&g.repo(), &["git", "get", "a.bin"]);
    assert!(
        err.contains("a.bin") && err.contains("stored content does not match the pointer"),
        "{err}"
    );
    assert_eq!(g.read("a.bin"), pointer, "left as a pointer");
    let leftovers: Vec<_> = std::fs::read_dir(g.repo())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gadn-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    g.assert_clean();

    // A record whose size disagrees with the file: drop keeps the content. (Set
    // after `get`: Git re-cleaning a racily clean file would rewrite the record.)
    let store = g.store();
    store
        .db()
        .lfs_put(&sha256(&a), &a_id, a.len() as u64)
        .unwrap();
    drop(store);
    g.ok(&g.repo(), &["git", "get", "a.bin"]);
    assert_eq!(g.read("a.bin"), a);
    let store = g.store();
    store
        .db()
        .lfs_put(&sha256(&b), &b_id, b.len() as u64 + 1)
        .unwrap();
    drop(store);
    let err = g.fails(&g.repo(), &["git", "drop", "b.bin"]);
    assert!(
        err.contains("b.bin") && err.contains("record of this content is incomplete"),
        "{err}"
    );
    assert_eq!(g.read("b.bin"), b);
    g.assert_clean();
}

#[test]
fn get_and_drop_with_a_locked_index_fail_before_changing_files() {
    let (g, a, _) = committed();
    g.ok(&g.repo(), &["git", "drop", "a.bin"]);
    let pointer = g.read("a.bin");
    let lock = g.path(".git/index.lock");
    std::fs::write(&lock, b"").unwrap();
    let err = g.fails(&g.repo(), &["git", "get", "a.bin"]);
    assert!(err.contains("update-index"), "{err}");
    assert!(err.contains("index.lock"), "{err}");
    assert_eq!(g.read("a.bin"), pointer, "nothing replaced");
    let err = g.fails(&g.repo(), &["git", "drop", "b.bin"]);
    assert!(err.contains("index.lock"), "{err}");
    std::fs::remove_file(&lock).unwrap();
    g.assert_clean();
    // And once the lock is gone, the same command works and status stays clean.
    g.ok(&g.repo(), &["git", "get", "a.bin"]);
    assert_eq!(g.read("a.bin"), a);
    g.assert_clean();
}

#[test]
fn get_skips_unmerged_files() {
    let (g, _, b) = committed();
    g.git(&["checkout", "-q", "-b", "other"]);
    std::fs::write(g.path("a.bin"), noise(90_000, 3)).unwrap();
    g.git(&["commit", "-q", "-am", "theirs"]);
    g.git(&["checkout", "-q", "main"]);
    std::fs::write(g.path("a.bin"), noise(90_000, 4)).unwrap();
    g.git(&["commit", "-q", "-am", "ours"]);
    let out = common::isolate_git(&mut Command::new("git"), &g.dir.path().join("home"))
        .args(["merge", "-q", "other"])
        .current_dir(g.repo())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the pointers conflict");
    assert!(g.git(&["ls-files", "-u"]).contains("a.bin"));
    let conflicted = g.read("a.bin");
    g.ok(&g.repo(), &["git", "drop", "b.bin"]);
    // The unmerged a.bin is left to the merge; b.bin beside it is materialised.
    let out = g.ok(&g.repo(), &["git", "get", "."]);
    assert!(out.starts_with("Materialised 1 file(s)"), "{out}");
    assert_eq!(g.read("a.bin"), conflicted);
    assert_eq!(g.read("b.bin"), b);
}

#[test]
fn non_utf8_paths_are_refused_by_name() {
    use std::os::unix::ffi::OsStrExt;
    let (g, _, _) = committed();
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.bin");
    let out = g
        .gadn_cmd(&g.repo(), &["git".as_ref(), "get".as_ref(), bad])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("path is not UTF-8"), "{err}");
    g.assert_clean();
}

/// Runs `gadn git lfs-agent ARGS` in `dir` with `input`; returns (ok, stdout, stderr).
fn agent(
    g: &G,
    dir: &Path,
    args: &[&str],
    env: Option<&Path>,
    input: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut all = vec!["git", "lfs-agent"];
    all.extend(args);
    let mut c = g.gadn_cmd(dir, &all);
    if let Some(s) = env {
        c.env("GADN_LFS_STORE", s);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn lfs_agent_picks_its_store_or_says_how_to_give_one() {
    let g = G::new();
    let outside = g.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let init = "{\"event\":\"init\",\"operation\":\"download\"}\n";

    // Outside a repository without --store: a clear refusal.
    let (ok, out, err) = agent(&g, &outside, &[], None, init);
    assert!(!ok && out.is_empty());
    assert!(err.contains("pass --store DIR"), "{err}");

    // Inside a repository: the store is created in .git/gadn.
    let (ok, out, err) = agent(&g, &g.repo(), &[], None, init);
    assert!(ok, "{err}");
    assert_eq!(out, "{}\n");
    assert!(g.path(".git/gadn").is_dir());

    // GADN_LFS_STORE names it outside a repository, relative to the directory.
    let (ok, out, err) = agent(&g, &outside, &[], Some(Path::new("shared")), init);
    assert!(ok, "{err}");
    assert_eq!(out, "{}\n");
    assert!(Store::open(&outside.join("shared")).is_ok());
}
