//! `gadn git get` / `gadn git drop` and partial smudge, with the real `git` and the
//! gadn filter process: files become pointers and content again with `git status`
//! clean throughout, the rules file keeps unwanted files as pointers on checkout,
//! and bad input (missing content, corrupt pointer, unstored content, unknown path,
//! no store) is a clear error that changes nothing.
#![cfg(feature = "cli")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::noise;
use gadn::git::pointer::Pointer;
use gadn::store::Store;

/// A Git repository with gadn installed, in an isolated configuration.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("gitconfig"),
            "[user]\n\tname = Test\n\temail = t@example.org\n[init]\n\tdefaultBranch = main\n\
             [gc]\n\tauto = 0\n[core]\n\tautocrlf = false\n",
        )
        .expect("gitconfig");
        std::fs::create_dir(dir.path().join("repo")).expect("mkdir");
        let r = Repo { dir };
        r.git_ok(&["init", "-q"]);
        r
    }

    fn work(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work().join(rel)
    }

    fn env(&self, c: &mut Command) {
        c.env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", self.dir.path().join("gitconfig"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GADN_LOCK_TIMEOUT", "10")
            .env("GADN_HOME", self.dir.path().join("gadn-home"));
    }

    fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = Command::new("git");
        c.args(args).current_dir(dir);
        self.env(&mut c);
        c.output().expect("run git")
    }

    fn git_ok(&self, args: &[&str]) -> String {
        let out = self.git_in(&self.work(), args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn gadn_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = common::std_cmd(args, dir);
        self.env(&mut c);
        c.output().expect("run gadn")
    }

    fn gadn_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.gadn_in(dir, args);
        assert!(
            out.status.success(),
            "gadn {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `gadn ARGS` must fail; returns stderr.
    fn gadn_fails(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.gadn_in(dir, args);
        assert!(!out.status.success(), "gadn {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn assert_clean(&self) {
        assert_eq!(
            self.git_ok(&["status", "--porcelain"]),
            "",
            "git status not clean"
        );
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.path(rel)).expect("read")
    }

    fn is_pointer(&self, rel: &str) -> bool {
        Pointer::parse(&self.read(rel)).is_ok()
    }

    fn fsck_clean(&self) {
        let s = Store::open(&self.path(".git/gadn")).expect("store");
        let r = s.fsck(&mut |_| {}).expect("fsck");
        assert!(r.is_ok(), "{r:?}");
    }
}

/// A repository with gadn installed and three committed files: `a.png` (executable),
/// `sub/b.wav`, and `notes.txt` (not filtered).
fn committed() -> (Repo, Vec<u8>, Vec<u8>) {
    let r = Repo::new();
    r.gadn_ok(&r.work(), &["git", "install"]);
    let a = noise(2 << 20, 1);
    let b = noise(300_000, 2);
    std::fs::write(r.path("a.png"), &a).unwrap();
    std::fs::set_permissions(r.path("a.png"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(r.path("sub")).unwrap();
    std::fs::write(r.path("sub/b.wav"), &b).unwrap();
    std::fs::write(r.path("notes.txt"), b"plain text\n").unwrap();
    r.git_ok(&["add", "."]);
    r.git_ok(&["commit", "-q", "-m", "assets"]);
    r.assert_clean();
    (r, a, b)
}

#[test]
fn drop_then_get_keeps_git_status_clean_and_content_identical() {
    let (r, a, b) = committed();
    let head = r.git_ok(&["rev-parse", "HEAD"]);

    let out = r.gadn_ok(&r.work(), &["git", "drop", "."]);
    assert!(out.contains("Dropped 2 file(s)"), "{out}");
    assert!(r.is_pointer("a.png") && r.is_pointer("sub/b.wav"));
    assert_eq!(
        r.read("notes.txt"),
        b"plain text\n",
        "unfiltered files are left alone"
    );
    let p = Pointer::parse(&r.read("a.png")).unwrap();
    assert_eq!(p.size, a.len() as u64);
    assert!(p.gadn.is_some());
    let mode = std::fs::metadata(r.path("a.png"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the file mode survives drop");
    r.assert_clean();
    // Dropping again changes nothing.
    let out = r.gadn_ok(&r.work(), &["git", "drop", "a.png"]);
    assert!(out.contains("Dropped 0 file(s)"), "{out}");

    // Get a directory, then a file by a path relative to a subdirectory.
    r.gadn_ok(&r.work(), &["git", "get", "sub"]);
    assert_eq!(r.read("sub/b.wav"), b);
    assert!(r.is_pointer("a.png"));
    r.assert_clean();
    r.gadn_ok(&r.path("sub"), &["git", "get", "../a.png"]);
    assert_eq!(r.read("a.png"), a);
    let mode = std::fs::metadata(r.path("a.png"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "the file mode survives get");
    r.assert_clean();
    assert_eq!(r.git_ok(&["rev-parse", "HEAD"]), head);
    r.fsck_clean();
}

#[test]
fn get_in_a_partial_clone_copies_content_from_the_origin_store() {
    let (r, a, b) = committed();
    let clone = r.dir.path().join("clone");
    let src = r.work().display().to_string();
    let out = r.git_in(
        r.dir.path(),
        &["clone", "-q", "--no-checkout", &src, "clone"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    r.gadn_ok(&clone, &["git", "install"]);
    std::fs::create_dir_all(clone.join(".git/info")).unwrap();
    std::fs::write(clone.join(".git/info/gadn-rules"), "exclude *\n").unwrap();
    let out = r.git_in(&clone, &["checkout", "-q", "-f", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Pointer::parse(&std::fs::read(clone.join("a.png")).unwrap()).is_ok());
    // Nothing was copied for the excluded files.
    let s = Store::open(&clone.join(".git/gadn")).unwrap();
    let p = Pointer::parse(&std::fs::read(clone.join("a.png")).unwrap()).unwrap();
    assert!(!s.contains(&p.gadn.unwrap()));
    drop(s);

    let out = r.gadn_ok(&clone, &["git", "get", "a.png", "sub"]);
    assert!(out.contains("2 file(s)"), "{out}");
    assert_eq!(std::fs::read(clone.join("a.png")).unwrap(), a);
    assert_eq!(std::fs::read(clone.join("sub/b.wav")).unwrap(), b);
    let st = r.git_in(&clone, &["status", "--porcelain"]);
    assert_eq!(String::from_utf8_lossy(&st.stdout), "");
    let s = Store::open(&clone.join(".git/gadn")).unwrap();
    assert!(s.fsck(&mut |_| {}).unwrap().is_ok());
}

#[test]
fn rules_keep_unwanted_files_as_pointers_on_checkout() {
    let (r, a, b) = committed();
    std::fs::create_dir_all(r.path(".git/info")).unwrap();
    std::fs::write(
        r.path(".git/info/gadn-rules"),
        "# this machine skips audio\nexclude *.wav\n",
    )
    .unwrap();
    std::fs::remove_file(r.path("a.png")).unwrap();
    std::fs::remove_file(r.path("sub/b.wav")).unwrap();
    r.git_ok(&["checkout", "--", "."]);
    assert_eq!(r.read("a.png"), a, "wanted file materialised");
    assert!(r.is_pointer("sub/b.wav"), "unwanted file stays a pointer");
    r.assert_clean();
    r.gadn_ok(&r.work(), &["git", "get", "sub/b.wav"]);
    assert_eq!(r.read("sub/b.wav"), b);
    r.assert_clean();

    // The size threshold: a.png (2 MiB) is over it, sub/b.wav is not.
    std::fs::write(r.path(".git/info/gadn-rules"), "max-size 1M\n").unwrap();
    std::fs::remove_file(r.path("a.png")).unwrap();
    std::fs::remove_file(r.path("sub/b.wav")).unwrap();
    r.git_ok(&["checkout", "--", "."]);
    assert!(r.is_pointer("a.png"), "over max-size stays a pointer");
    assert_eq!(r.read("sub/b.wav"), b);
    r.assert_clean();
    r.gadn_ok(&r.work(), &["git", "get", "a.png"]);
    assert_eq!(r.read("a.png"), a);
    r.assert_clean();

    // A bad rules file makes smudge fail for that file, clearly; nothing else breaks.
    std::fs::write(r.path(".git/info/gadn-rules"), "frobnicate *.png\n").unwrap();
    std::fs::remove_file(r.path("a.png")).unwrap();
    let out = r.git_in(&r.work(), &["checkout", "--", "a.png"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gadn-rules:1"), "{err}");
}

#[test]
fn bad_input_is_a_clear_error_and_changes_nothing() {
    let (r, a, _) = committed();

    // Content the store does not have, behind a valid pointer committed to Git.
    let ghost = Pointer {
        sha256: gadn::store::Sha256([0xab; 32]),
        size: 1234,
        gadn: None,
    }
    .encode();
    std::fs::write(r.path("ghost.png"), &ghost).unwrap();
    r.git_ok(&["add", "ghost.png"]);
    r.git_ok(&["commit", "-q", "-m", "ghost"]);
    r.gadn_ok(&r.work(), &["git", "drop", "a.png"]);
    let err = r.gadn_fails(&r.work(), &["git", "get", "."]);
    assert!(
        err.contains("ghost.png") && err.contains("not in the gadn store"),
        "{err}"
    );
    assert_eq!(r.read("ghost.png"), ghost, "nothing half-written");
    assert_eq!(r.read("a.png"), a, "the other file was still materialised");
    r.assert_clean();

    // A corrupt pointer in the working tree.
    r.gadn_ok(&r.work(), &["git", "drop", "a.png"]);
    let pointer = r.read("a.png");
    let corrupt = String::from_utf8(pointer.clone())
        .unwrap()
        .replace("size ", "size x");
    std::fs::write(r.path("a.png"), &corrupt).unwrap();
    let err = r.gadn_fails(&r.work(), &["git", "get", "a.png"]);
    assert!(
        err.contains("a.png") && err.contains("corrupt pointer"),
        "{err}"
    );
    assert_eq!(r.read("a.png"), corrupt.as_bytes());
    std::fs::write(r.path("a.png"), &pointer).unwrap();

    // Content never cleaned into the store cannot be dropped.
    r.gadn_ok(&r.work(), &["git", "get", "a.png"]);
    let edited = noise(100_000, 77);
    std::fs::write(r.path("a.png"), &edited).unwrap();
    let err = r.gadn_fails(&r.work(), &["git", "drop", "a.png"]);
    assert!(
        err.contains("a.png") && err.contains("not in the gadn store"),
        "{err}"
    );
    assert_eq!(r.read("a.png"), edited);
    r.git_ok(&["checkout", "--", "a.png"]);

    // Unknown paths and a repository without a store.
    let err = r.gadn_fails(&r.work(), &["git", "get", "nope.png"]);
    assert!(err.contains("nope.png"), "{err}");
    let plain = r.dir.path().join("plain");
    assert!(r
        .git_in(r.dir.path(), &["init", "-q", "plain"])
        .status
        .success());
    std::fs::write(plain.join("x.png"), b"x").unwrap();
    assert!(r.git_in(&plain, &["add", "x.png"]).status.success());
    let err = r.gadn_fails(&plain, &["git", "drop", "x.png"]);
    assert!(err.contains("gadn git install"), "{err}");
    r.assert_clean();
    r.fsck_clean();
}

/// `gadn git gc` keeps what any Git ref, reflog entry or the index names, and drops
/// content only a deleted, reflog-expired branch named (issue 15, item 9).
#[test]
fn git_gc_keeps_what_git_names_and_drops_what_it_no_longer_does() {
    let (r, a, _b) = committed();
    let stats = |r: &Repo| -> serde_json::Value {
        serde_json::from_str(&r.gadn_ok(&r.work(), &["git", "stats", "--json"])).unwrap()
    };
    r.git_ok(&["switch", "-q", "-c", "big"]);
    let big = noise(3 << 20, 9);
    std::fs::write(r.path("big.psd"), &big).unwrap();
    r.git_ok(&["add", "big.psd"]);
    r.git_ok(&["commit", "-q", "-m", "big"]);
    r.git_ok(&["switch", "-q", "main"]);
    r.git_ok(&["branch", "-q", "-D", "big"]);
    let with_big = stats(&r)["stored_bytes"].as_u64().unwrap();

    // Git's reflog still names the big commit: nothing goes, even with --prune=now.
    let kept: serde_json::Value =
        serde_json::from_str(&r.gadn_ok(&r.work(), &["git", "gc", "--prune=now", "--json"]))
            .unwrap();
    assert_eq!(kept["removed"], 0, "{kept}");
    // Without --prune, content stored in the last hour stays whatever Git says.
    r.git_ok(&["reflog", "expire", "--expire=now", "--all"]);
    let graced: serde_json::Value =
        serde_json::from_str(&r.gadn_ok(&r.work(), &["git", "gc", "--json"])).unwrap();
    assert_eq!(graced["removed"], 0, "{graced}");
    let dry: serde_json::Value = serde_json::from_str(&r.gadn_ok(
        &r.work(),
        &["git", "gc", "--prune=now", "--dry-run", "--json"],
    ))
    .unwrap();
    assert!(dry["removed_bytes"].as_u64().unwrap() >= 3 << 20, "{dry}");
    assert_eq!(stats(&r)["stored_bytes"].as_u64().unwrap(), with_big);
    let done: serde_json::Value =
        serde_json::from_str(&r.gadn_ok(&r.work(), &["git", "gc", "--prune=now", "--json"]))
            .unwrap();
    assert_eq!(done["removed"], dry["removed"], "{done}");
    assert!(stats(&r)["stored_bytes"].as_u64().unwrap() + (3 << 20) <= with_big);
    r.fsck_clean();
    // What main names still smudges byte for byte.
    std::fs::remove_file(r.path("a.png")).unwrap();
    r.git_ok(&["checkout", "--", "a.png"]);
    assert!(r.read("a.png") == a);
    r.assert_clean();
}
