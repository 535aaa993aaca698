//! gadn inside Git, driven through the real `git`: `gadn git install`, add/commit of
//! binary assets through the long-running filter, pointers in Git's objects, a clean
//! `git status`, branch/switch/merge, clone, partial-smudge rules, bad input (a
//! corrupt pointer, content missing from the store), the filter protocol spoken by
//! hand (unknown command and capability, delay, malformed framing), and a clean
//! `fsck` of the gadn store after all.
//!
//! Clone: the filter copies content it lacks from the stores of Git remotes on this
//! machine (`git::sources`), so with `gadn git install --global` a plain `git clone`
//! checks out real content, and so does `--no-checkout` + `gadn git install` +
//! `git checkout`; content no store has stays a pointer, reported per file.
#![cfg(feature = "cli")]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::noise;
use gadn::git::pointer::Pointer;
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

    fn git_cmd(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("git");
        common::isolate_git(&mut c, &self.dir.path().join("home"))
            .args(args)
            .current_dir(dir)
            .env("GADN_LOCK_TIMEOUT", "20")
            .env_remove("GADN_FILTER_DELAY");
        c
    }

    fn out_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.git_cmd(dir, args).output().expect("run git")
    }

    /// Runs git in `dir`, asserting success; returns stdout.
    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.out_in(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.repo(), args)
    }

    fn gadn_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut c = common::std_cmd(args, dir);
        common::isolate_git(&mut c, &self.dir.path().join("home"));
        c.output().expect("run gadn")
    }

    fn gadn_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.gadn_in(dir, args);
        assert!(
            out.status.success(),
            "gadn {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn write(&self, rel: &str, data: &[u8]) {
        write_in(&self.repo(), rel, data);
    }

    fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.repo().join(rel)).expect("read")
    }

    /// `git status --porcelain`, asserted empty.
    fn assert_clean(&self, dir: &Path) {
        let s = self.git_in(dir, &["status", "--porcelain"]);
        assert_eq!(s, "", "git status in {} is not clean", dir.display());
    }

    /// The blob of `rev:path` in Git's object store.
    fn blob(&self, dir: &Path, spec: &str) -> Vec<u8> {
        let out = self.out_in(dir, &["cat-file", "blob", spec]);
        assert!(out.status.success(), "cat-file {spec}");
        out.stdout
    }
}

fn write_in(dir: &Path, rel: &str, data: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, data).expect("write");
}

fn sha256(data: &[u8]) -> gadn::store::Sha256 {
    gadn::store::Sha256::of(data)
}

/// Opens the repository's gadn store and asserts fsck finds nothing wrong and that
/// every recorded LFS object is reachable.
fn assert_fsck_clean(git_dir: &Path) {
    let store = Store::open(&gadn::git::store_dir(git_dir)).expect("open the gadn store");
    let report = store.fsck(&mut |_| {}).expect("fsck runs");
    assert!(report.is_ok(), "fsck: {report:?}");
    let roots = store.db().lfs_roots().expect("lfs roots");
    assert!(!roots.is_empty());
    for (_, id) in roots {
        assert!(store.contains(&id), "LFS root {id} is missing");
    }
}

#[test]
fn install_add_commit_checkout_and_uninstall() {
    let g = G::new();
    g.write(".gitattributes", b"*.txt text\n");
    let out = g.gadn_ok(&g.repo(), &["git", "install"]);
    assert!(out.contains("Created the gadn store"), "{out}");
    let attrs = String::from_utf8(g.read(".gitattributes")).expect("utf8");
    assert!(attrs.starts_with("*.txt text\n"), "{attrs}");
    for ext in [
        "psd", "fbx", "blend", "wav", "png", "tga", "exr", "dds", "uasset", "umap", "pak",
    ] {
        assert!(
            attrs.contains(&format!("*.{ext} filter=gadn diff=gadn merge=gadn -text\n")),
            "{ext} missing from {attrs}"
        );
    }
    let process = g.git(&["config", "filter.gadn.process"]);
    assert!(
        process.trim_end().ends_with(" git filter-process"),
        "{process}"
    );
    assert_eq!(g.git(&["config", "filter.gadn.required"]).trim(), "true");
    // Idempotent.
    let again = g.gadn_ok(&g.repo(), &["git", "install"]);
    assert!(again.contains("already tracks every pattern"), "{again}");
    assert_eq!(
        String::from_utf8(g.read(".gitattributes")).expect("utf8"),
        attrs
    );
    // Bad patterns change nothing.
    let bad = g.gadn_in(&g.repo(), &["git", "install", "--pattern", "a b"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("whitespace"));
    assert_eq!(
        String::from_utf8(g.read(".gitattributes")).expect("utf8"),
        attrs
    );

    let art = noise(3 << 20, 1);
    let sound = noise(700_000, 2);
    g.write("art/hero.psd", &art);
    g.write("audio/theme.wav", &sound);
    g.write("empty.png", b"");
    g.write("README.txt", b"hello\n");
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "assets"]);
    g.assert_clean(&g.repo());

    // Git holds pointers; the readme is untouched.
    let p = Pointer::parse(&g.blob(&g.repo(), "HEAD:art/hero.psd")).expect("pointer");
    assert_eq!(p.sha256, sha256(&art));
    assert_eq!(p.size, art.len() as u64);
    assert!(p.gadn.is_some());
    // git-lfs recognises gadn's pointers as pointers.
    let mut check = g
        .git_cmd(&g.repo(), &["lfs", "pointer", "--check", "--stdin"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run git lfs (install git-lfs: tools/test.sh does)");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(&g.blob(&g.repo(), "HEAD:art/hero.psd"))
        .expect("write");
    assert!(
        check.wait().expect("wait").success(),
        "git-lfs rejects gadn's pointer"
    );
    let e = Pointer::parse(&g.blob(&g.repo(), "HEAD:empty.png")).expect("pointer");
    assert_eq!(e.size, 0);
    assert_eq!(g.blob(&g.repo(), "HEAD:README.txt"), b"hello\n");

    // Smudge: remove the files and check them out again.
    for f in ["art/hero.psd", "audio/theme.wav", "empty.png"] {
        std::fs::remove_file(g.repo().join(f)).expect("rm");
    }
    g.git(&["checkout", "--", "."]);
    assert_eq!(g.read("art/hero.psd"), art);
    assert_eq!(g.read("audio/theme.wav"), sound);
    assert_eq!(g.read("empty.png"), b"");
    g.assert_clean(&g.repo());

    // An edit is a new pointer; the old version still checks out.
    let mut art2 = art.clone();
    art2[1_000_000..1_000_100].fill(7);
    g.write("art/hero.psd", &art2);
    g.git(&["commit", "-q", "-am", "edit"]);
    g.git(&["checkout", "-q", "HEAD~1", "--", "art/hero.psd"]);
    assert_eq!(g.read("art/hero.psd"), art);
    g.git(&["checkout", "-q", "HEAD", "--", "art/hero.psd"]);
    assert_eq!(g.read("art/hero.psd"), art2);
    g.assert_clean(&g.repo());

    let git_dir = g.repo().join(".git");
    assert_fsck_clean(&git_dir);

    // Uninstall removes exactly what install added and keeps the store.
    g.gadn_ok(&g.repo(), &["git", "uninstall"]);
    assert_eq!(
        String::from_utf8(g.read(".gitattributes")).expect("utf8"),
        "*.txt text\n"
    );
    assert!(!g
        .out_in(&g.repo(), &["config", "filter.gadn.process"])
        .status
        .success());
    assert!(
        gadn::git::store_dir(&git_dir).join("gadn.db").exists()
            || gadn::git::store_dir(&git_dir).is_dir()
    );
    assert!(Store::open(&gadn::git::store_dir(&git_dir)).is_ok());
}

#[test]
fn branch_switch_merge_and_clone() {
    let g = G::new();
    g.gadn_ok(
        &g.repo(),
        &["git", "install", "--pattern", "*.png", "--pattern", "*.fbx"],
    );
    let a0 = noise(1 << 20, 10);
    let b0 = noise(900_000, 11);
    g.write("tex/a.png", &a0);
    g.write("mesh/b.fbx", &b0);
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "base"]);

    g.git(&["switch", "-q", "-c", "art"]);
    let mut a1 = a0.clone();
    a1.extend_from_slice(&noise(5000, 12));
    g.write("tex/a.png", &a1);
    g.git(&["commit", "-q", "-am", "art edits a"]);

    g.git(&["switch", "-q", "main"]);
    assert_eq!(g.read("tex/a.png"), a0, "switch smudges main's version");
    let mut b1 = b0.clone();
    b1[..100].fill(1);
    g.write("mesh/b.fbx", &b1);
    g.git(&["commit", "-q", "-am", "main edits b"]);

    g.git(&["switch", "-q", "art"]);
    assert_eq!(g.read("tex/a.png"), a1);
    assert_eq!(g.read("mesh/b.fbx"), b0);
    g.assert_clean(&g.repo());

    g.git(&["switch", "-q", "main"]);
    g.git(&["merge", "-q", "--no-edit", "art"]);
    assert_eq!(g.read("tex/a.png"), a1);
    assert_eq!(g.read("mesh/b.fbx"), b1);
    g.assert_clean(&g.repo());

    // Clone: --no-checkout, install, check out: the content comes from the origin's
    // store, copied by the filter.
    let clone = g.dir.path().join("clone");
    let src = g.repo().display().to_string();
    g.git_in(
        g.dir.path(),
        &["clone", "-q", "--no-checkout", &src, "clone"],
    );
    let out = g.gadn_ok(
        &clone,
        &["git", "install", "--pattern", "*.png", "--pattern", "*.fbx"],
    );
    assert!(out.contains("Created the gadn store"), "{out}");
    // -f: install wrote the .gitattributes that the checkout brings anyway.
    g.git_in(&clone, &["checkout", "-q", "-f", "main"]);
    assert_eq!(std::fs::read(clone.join("tex/a.png")).expect("a"), a1);
    assert_eq!(std::fs::read(clone.join("mesh/b.fbx")).expect("b"), b1);
    g.assert_clean(&clone);
    // Older versions come back in the clone too.
    g.git_in(&clone, &["switch", "-q", "--detach", "HEAD~2"]);
    assert_eq!(std::fs::read(clone.join("tex/a.png")).expect("a"), a0);
    assert_eq!(std::fs::read(clone.join("mesh/b.fbx")).expect("b"), b0);

    assert_fsck_clean(&g.repo().join(".git"));
    assert_fsck_clean(&clone.join(".git"));
}

/// Both branches change one tracked asset: `git merge` stops on a conflict through
/// the `merge=gadn` driver install defined, ours' real content stays in the work
/// tree (no conflict markers in a pointer), and theirs can be taken whole.
#[test]
fn a_git_merge_conflict_on_an_asset_keeps_ours_and_writes_no_markers() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.png"]);
    let cfg = g.git(&["config", "--local", "--get", "merge.gadn.driver"]);
    assert!(cfg.contains("git merge-driver %O %A %B %P"), "{cfg}");
    assert_eq!(
        g.git(&["config", "--local", "--get", "diff.gadn.binary"])
            .trim(),
        "true"
    );
    let base = noise(300_000, 20);
    g.write("tex/a.png", &base);
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "base"]);
    g.git(&["switch", "-q", "-c", "art"]);
    let theirs = noise(300_000, 21);
    g.write("tex/a.png", &theirs);
    g.git(&["commit", "-q", "-am", "art's version"]);
    g.git(&["switch", "-q", "main"]);
    let ours = noise(300_000, 22);
    g.write("tex/a.png", &ours);
    g.git(&["commit", "-q", "-am", "main's version"]);
    // git diff of an asset is binary, not pointer text.
    let diff = g.git(&["diff", "HEAD~1", "HEAD", "--", "tex/a.png"]);
    assert!(diff.contains("Binary files"), "{diff}");

    let out = g.out_in(&g.repo(), &["merge", "--no-edit", "art"]);
    assert!(!out.status.success(), "a conflict");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("CONFLICT") && said.contains("tex/a.png"),
        "{said}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ours is kept"), "{stderr}");
    let here = g.read("tex/a.png");
    assert!(
        !here.windows(7).any(|w| w == b"<<<<<<<"),
        "no conflict markers"
    );
    assert_eq!(here, ours, "ours' real content in the work tree");
    let unmerged = g.git(&["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(unmerged.trim(), "tex/a.png");
    g.git(&["checkout", "--theirs", "--", "tex/a.png"]);
    assert_eq!(g.read("tex/a.png"), theirs);
    g.git(&["add", "tex/a.png"]);
    g.git(&["commit", "-q", "--no-edit"]);
    g.assert_clean(&g.repo());

    // Uninstall takes the drivers with the filter.
    g.gadn_ok(&g.repo(), &["git", "uninstall"]);
    assert!(!g
        .out_in(
            &g.repo(),
            &["config", "--local", "--get", "merge.gadn.driver"]
        )
        .status
        .success());
    assert!(!g
        .out_in(
            &g.repo(),
            &["config", "--local", "--get", "diff.gadn.binary"]
        )
        .status
        .success());
}

#[test]
fn global_install_makes_a_plain_git_clone_check_out_content() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.png"]);
    let a = noise(700_000, 20);
    g.write("tex/a.png", &a);
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "art"]);

    let out = g.gadn_ok(&g.repo(), &["git", "install", "--global"]);
    assert!(out.contains("global Git config"), "{out}");
    // Running it again changes nothing.
    g.gadn_ok(&g.repo(), &["git", "install", "--global"]);
    let global = std::fs::read_to_string(g.dir.path().join("home/.gitconfig")).expect("gitconfig");
    assert_eq!(global.matches("[filter \"gadn\"]").count(), 1, "{global}");

    // A plain clone: no install step in the clone, no store copied by hand.
    let src = g.repo().display().to_string();
    g.git_in(g.dir.path(), &["clone", "-q", &src, "clone"]);
    let clone = g.dir.path().join("clone");
    assert_eq!(std::fs::read(clone.join("tex/a.png")).expect("a"), a);
    g.assert_clean(&clone);
    assert_fsck_clean(&clone.join(".git"));
    // The clone's own store holds the content now: it survives the origin's store.
    std::fs::remove_dir_all(gadn::git::store_dir(&g.repo().join(".git"))).expect("rm origin store");
    std::fs::remove_file(clone.join("tex/a.png")).expect("rm");
    g.git_in(&clone, &["checkout", "-q", "--", "tex/a.png"]);
    assert_eq!(std::fs::read(clone.join("tex/a.png")).expect("a"), a);

    // A second clone now finds no store with the content: pointer kept, message, exit 0.
    let out = g.out_in(g.dir.path(), &["clone", "-q", &src, "clone2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not in the gadn store"), "{stderr}");
    let text = std::fs::read(g.dir.path().join("clone2/tex/a.png")).expect("pointer");
    assert!(Pointer::parse(&text).is_ok());

    let out = g.gadn_ok(&g.repo(), &["git", "uninstall", "--global"]);
    assert!(out.contains("Removed"), "{out}");
    let global = std::fs::read_to_string(g.dir.path().join("home/.gitconfig")).unwrap_or_default();
    assert!(!global.contains("gadn"), "{global}");
    let out = g.gadn_ok(&g.repo(), &["git", "uninstall", "--global"]);
    assert!(out.contains("no filter.gadn"), "{out}");
}

/// Commits `data` at `path` as-is, bypassing filters (a pointer written by hand).
fn commit_raw(g: &G, path: &str, data: &[u8]) {
    let mut c = g.git_cmd(&g.repo(), &["hash-object", "-w", "--no-filters", "--stdin"]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let oid = String::from_utf8(out.stdout).expect("utf8");
    g.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{},{path}", oid.trim()),
    ]);
}

#[test]
fn corrupt_pointer_and_missing_content_fail_per_file() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.png"]);
    let good = noise(400_000, 20);
    g.write("good.png", &good);
    g.git(&["add", "."]);
    let corrupt = "version https://git-lfs.github.com/spec/v1\noid sha256:xyz\nsize 12\n";
    commit_raw(&g, "corrupt.png", corrupt.as_bytes());
    let absent = Pointer {
        sha256: gadn::store::Sha256([0x5a; 32]),
        size: 1234,
        gadn: None,
    };
    commit_raw(&g, "absent.png", &absent.encode());
    // A git-lfs pointer for content this store has: recognised and smudged.
    let lfs_pointer = Pointer {
        sha256: sha256(&good),
        size: good.len() as u64,
        gadn: None,
    };
    // The real git-lfs writes exactly these bytes for that content (tools/test.sh
    // installs git-lfs).
    let real = g
        .git_cmd(&g.repo(), &["lfs", "pointer", "--file=good.png"])
        .output()
        .expect("run git lfs (install git-lfs: tools/test.sh does)");
    assert!(real.status.success(), "git lfs pointer: {real:?}");
    assert_eq!(
        String::from_utf8_lossy(&real.stdout),
        String::from_utf8_lossy(&lfs_pointer.encode())
    );
    commit_raw(&g, "from-lfs.png", &real.stdout);
    g.git(&["commit", "-q", "-m", "mixed"]);

    // A fresh checkout of everything: the bad files are reported clearly and left
    // as the pointer files Git holds; the rest land; the checkout goes on.
    for f in ["good.png", "from-lfs.png", "corrupt.png", "absent.png"] {
        let _ = std::fs::remove_file(g.repo().join(f));
    }
    let out = g.out_in(&g.repo(), &["checkout", "--", "."]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("corrupt.png: error: not a valid LFS pointer: oid: expected 64 lowercase hex"),
        "{err}"
    );
    assert!(
        err.contains("absent.png: error: content sha256:5a5a")
            && err.contains("is not in the gadn store"),
        "{err}"
    );
    assert_eq!(g.read("good.png"), good);
    assert_eq!(g.read("from-lfs.png"), good);
    assert_eq!(g.read("corrupt.png"), corrupt.as_bytes());
    assert_eq!(g.read("absent.png"), absent.encode());
    // Re-cleaning everything: the pointers clean to themselves (the git-lfs one too:
    // its plain form is kept); only the corrupt one, not being a pointer, would be
    // stored as content.
    g.git(&["add", "--renormalize", "."]);
    assert_eq!(g.git(&["status", "--porcelain"]), "M  corrupt.png\n");
    g.git(&["reset", "-q"]);
    // Git's repository is intact and the store is clean.
    g.git(&["fsck", "--no-progress"]);
    assert_fsck_clean(&g.repo().join(".git"));
}

#[test]
fn partial_smudge_keeps_unwanted_files_as_pointers() {
    let g = G::new();
    g.gadn_ok(
        &g.repo(),
        &["git", "install", "--pattern", "*.wav", "--pattern", "*.png"],
    );
    let big = noise(600_000, 30);
    let small = noise(10_000, 31);
    g.write("big.wav", &big);
    g.write("small.png", &small);
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "x"]);
    write_in(
        &g.repo().join(".git"),
        "info/gadn-rules",
        b"exclude *.wav\n",
    );
    std::fs::remove_file(g.repo().join("big.wav")).expect("rm");
    std::fs::remove_file(g.repo().join("small.png")).expect("rm");
    g.git(&["checkout", "--", "."]);
    assert_eq!(g.read("small.png"), small);
    let ptr = Pointer::parse(&g.read("big.wav")).expect("big.wav stays a pointer");
    assert_eq!(ptr.sha256, sha256(&big));
    // The pointer in the work tree cleans to itself: status stays clean.
    g.assert_clean(&g.repo());
}

#[test]
fn delayed_checkout_with_the_real_git() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.png"]);
    let files: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| {
            (
                format!("t{i}.png"),
                noise(100_000 + i * 1000, 40 + i as u64),
            )
        })
        .collect();
    for (p, d) in &files {
        g.write(p, d);
    }
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "x"]);
    for (p, _) in &files {
        std::fs::remove_file(g.repo().join(p)).expect("rm");
    }
    let out = g
        .git_cmd(&g.repo(), &["checkout", "--", "."])
        .env("GADN_FILTER_DELAY", "1")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (p, d) in &files {
        assert_eq!(&g.read(p), d, "{p}");
    }
    g.assert_clean(&g.repo());
}

// ---- the protocol by hand -------------------------------------------------------

fn pkt(s: &str) -> Vec<u8> {
    let mut v = format!("{:04x}", s.len() + 5).into_bytes();
    v.extend_from_slice(s.as_bytes());
    v.push(b'\n');
    v
}

fn data_pkts(d: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for c in d.chunks(65516) {
        v.extend_from_slice(format!("{:04x}", c.len() + 4).as_bytes());
        v.extend_from_slice(c);
    }
    v
}

const FLUSH: &[u8] = b"0000";

/// Parses a response stream into packets (None = flush).
fn packets(mut out: &[u8]) -> Vec<Option<Vec<u8>>> {
    let mut v = Vec::new();
    while out.len() >= 4 {
        let len =
            usize::from_str_radix(std::str::from_utf8(&out[..4]).expect("hex"), 16).expect("len");
        if len == 0 {
            v.push(None);
            out = &out[4..];
        } else {
            v.push(Some(out[4..len].to_vec()));
            out = &out[len..];
        }
    }
    assert!(out.is_empty(), "trailing bytes");
    v
}

fn text(p: &Option<Vec<u8>>) -> String {
    match p {
        None => "<flush>".into(),
        Some(d) => String::from_utf8_lossy(d).trim_end().to_string(),
    }
}

fn run_filter(g: &G, input: &[u8], delay: bool) -> Output {
    let mut c = common::std_cmd(&["git", "filter-process"], &g.repo());
    common::isolate_git(&mut c, &g.dir.path().join("home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if delay {
        c.env("GADN_FILTER_DELAY", "1");
    }
    let mut child = c.spawn().expect("spawn filter");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut out)
        .expect("read");
    w.join().expect("writer");
    let mut o = child.wait_with_output().expect("wait");
    o.stdout = out;
    o
}

fn handshake(caps: &[&str]) -> Vec<u8> {
    let mut v = [pkt("git-filter-client"), pkt("version=2"), FLUSH.to_vec()].concat();
    for c in caps {
        v.extend(pkt(&format!("capability={c}")));
    }
    v.extend_from_slice(FLUSH);
    v
}

#[test]
fn protocol_by_hand_capabilities_unknown_command_delay_and_bad_framing() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    let content = noise(150_000, 50);

    // Clean, then an unknown command, then smudge; an unknown capability is ignored.
    let mut input = handshake(&["clean", "smudge", "teleport"]);
    input.extend([pkt("command=clean"), pkt("pathname=x.bin"), FLUSH.to_vec()].concat());
    input.extend(data_pkts(&content));
    input.extend_from_slice(FLUSH);
    input.extend(
        [
            pkt("command=frobnicate"),
            pkt("pathname=y.bin"),
            FLUSH.to_vec(),
        ]
        .concat(),
    );
    let out = run_filter(&g, &input, false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = packets(&out.stdout);
    let t: Vec<String> = p.iter().map(text).collect();
    assert_eq!(
        &t[..6],
        [
            "git-filter-server",
            "version=2",
            "<flush>",
            "capability=clean",
            "capability=smudge",
            "<flush>"
        ]
    );
    assert_eq!(&t[6..8], ["status=success", "<flush>"]);
    let pointer_bytes = p[8].clone().expect("pointer");
    let pointer = Pointer::parse(&pointer_bytes).expect("pointer");
    assert_eq!(pointer.sha256, sha256(&content));
    assert_eq!(&t[9..11], ["<flush>", "<flush>"]);
    assert_eq!(&t[11..], ["status=error", "<flush>"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command \"frobnicate\""));

    // Delay: smudge answered `delayed`, announced by list_available_blobs, then
    // served when Git asks again with empty content. Non-pointer content passes
    // through; a pointer passed to clean stays itself.
    let mut input = handshake(&["clean", "smudge", "delay"]);
    input.extend(
        [
            pkt("command=smudge"),
            pkt("pathname=x.bin"),
            pkt("can-delay=1"),
            FLUSH.to_vec(),
        ]
        .concat(),
    );
    input.extend(data_pkts(&pointer_bytes));
    input.extend_from_slice(FLUSH);
    input.extend([pkt("command=list_available_blobs"), FLUSH.to_vec()].concat());
    input.extend(
        [
            pkt("command=smudge"),
            pkt("pathname=x.bin"),
            FLUSH.to_vec(),
            FLUSH.to_vec(),
        ]
        .concat(),
    );
    input.extend([pkt("command=list_available_blobs"), FLUSH.to_vec()].concat());
    let plain = noise(5000, 51);
    input.extend(
        [
            pkt("command=smudge"),
            pkt("pathname=plain.bin"),
            FLUSH.to_vec(),
        ]
        .concat(),
    );
    input.extend(data_pkts(&plain));
    input.extend_from_slice(FLUSH);
    input.extend([pkt("command=clean"), pkt("pathname=x.bin"), FLUSH.to_vec()].concat());
    input.extend(data_pkts(&pointer_bytes));
    input.extend_from_slice(FLUSH);
    let out = run_filter(&g, &input, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = packets(&out.stdout);
    let t: Vec<String> = p.iter().map(text).collect();
    assert_eq!(
        t[3..7],
        [
            "capability=clean",
            "capability=smudge",
            "capability=delay",
            "<flush>"
        ]
    );
    let mut i = 7;
    assert_eq!(t[i..i + 2], ["status=delayed", "<flush>"]);
    i += 2;
    assert_eq!(
        t[i..i + 4],
        ["pathname=x.bin", "<flush>", "status=success", "<flush>"]
    );
    i += 4;
    assert_eq!(t[i..i + 2], ["status=success", "<flush>"]);
    i += 2;
    let mut smudged = Vec::new();
    while let Some(Some(d)) = p.get(i) {
        smudged.extend_from_slice(d);
        i += 1;
    }
    assert_eq!(smudged, content);
    assert_eq!(t[i..i + 2], ["<flush>", "<flush>"]);
    i += 2;
    assert_eq!(
        t[i..i + 3],
        ["<flush>", "status=success", "<flush>"],
        "nothing left"
    );
    i += 3;
    assert_eq!(t[i..i + 2], ["status=success", "<flush>"]);
    i += 2;
    let mut passed = Vec::new();
    while let Some(Some(d)) = p.get(i) {
        passed.extend_from_slice(d);
        i += 1;
    }
    assert_eq!(passed, plain);
    i += 2;
    assert_eq!(t[i..i + 2], ["status=success", "<flush>"]);
    assert_eq!(p[i + 2].as_deref(), Some(&pointer_bytes[..]));

    // Malformed framing: the process stops with a clear message.
    let mut input = handshake(&["clean"]);
    input.extend_from_slice(b"zz12garbage");
    let out = run_filter(&g, &input, false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("malformed pkt-line"), "{err}");
    // A bad welcome likewise.
    let out = run_filter(&g, &[pkt("hello"), FLUSH.to_vec()].concat(), false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected git-filter-client"));

    assert_fsck_clean(&g.repo().join(".git"));
}

#[test]
fn filter_killed_mid_stream_leaves_both_stores_consistent() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    let big = noise(24 << 20, 60);
    let mut c = common::std_cmd(&["git", "filter-process"], &g.repo());
    let mut child = c
        .env("HOME", g.dir.path().join("home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn filter");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(&handshake(&["clean", "smudge"]))
        .expect("handshake");
    stdin
        .write_all(
            &[
                pkt("command=clean"),
                pkt("pathname=big.bin"),
                FLUSH.to_vec(),
            ]
            .concat(),
        )
        .expect("header");
    // Two thirds of the content, then the process dies.
    stdin
        .write_all(&data_pkts(&big[..16 << 20]))
        .expect("content");
    stdin.flush().expect("flush");
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("kill");
    let _ = child.wait();
    drop(stdin);

    // Nothing was recorded; the store is consistent; the next writer recovers.
    let store_dir = gadn::git::store_dir(&g.repo().join(".git"));
    {
        let store = Store::open(&store_dir).expect("open");
        assert!(store.db().lfs_roots().expect("roots").is_empty());
        let report = store.fsck(&mut |_| {}).expect("fsck");
        assert!(report.is_ok(), "{report:?}");
    }
    g.write("big.bin", &big);
    g.git(&["add", "big.bin", ".gitattributes"]);
    g.git(&["commit", "-q", "-m", "big"]);
    std::fs::remove_file(g.repo().join("big.bin")).expect("rm");
    g.git(&["checkout", "--", "big.bin"]);
    assert!(g.read("big.bin") == big, "content differs after recovery");
    g.assert_clean(&g.repo());
    g.git(&["fsck", "--no-progress"]);
    assert_fsck_clean(&g.repo().join(".git"));
}

#[test]
fn git_fsck_and_stats_report_on_the_git_store() {
    let g = G::new();
    // Not installed yet: a clear error, nothing created.
    let out = g.gadn_in(&g.repo(), &["git", "fsck"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("run `gadn git install` first"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!gadn::git::store_dir(&g.repo().join(".git")).exists());
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    g.write("a.bin", &noise(300 << 10, 7));
    g.write("sub/b.bin", &noise(300 << 10, 7)); // the same content: stored once
    g.git(&["add", "."]);
    g.git(&["commit", "-q", "-m", "assets"]);
    let fsck = g.gadn_ok(&g.repo().join("sub"), &["git", "fsck"]);
    assert!(fsck.contains("no problems found"), "{fsck}");
    let stats: serde_json::Value =
        serde_json::from_str(&g.gadn_ok(&g.repo(), &["git", "stats", "--json"])).expect("json");
    assert_eq!(stats["files"], 1, "{stats}");
    // Outside any Git repository.
    let out = g.gadn_in(g.dir.path(), &["git", "fsck"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not in a Git repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The real git drives the filter, which is killed (SIGKILL) in the middle of
/// cleaning a large file: git reports the failure, and both git and the gadn store
/// stay consistent; with the filter restored the same add succeeds.
#[test]
fn git_reports_a_filter_killed_mid_clean_and_both_stores_stay_consistent() {
    let g = G::new();
    g.gadn_ok(&g.repo(), &["git", "install", "--pattern", "*.bin"]);
    let process = g.git(&["config", "filter.gadn.process"]);
    let process = process.trim();
    // Enough content that the clean is still running when the kill comes.
    let big = noise(96 << 20, 61);
    g.write("big.bin", &big);
    g.git(&["add", ".gitattributes"]);
    let killer = format!("timeout -s KILL 0.15 {process}");
    g.git(&["config", "filter.gadn.process", &killer]);
    let out = g.out_in(&g.repo(), &["add", "big.bin"]);
    assert!(
        !out.status.success(),
        "git add must fail when its filter dies"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("big.bin"), "git names the file: {err}");
    // Git's index did not take the file; its object store is sound.
    let staged = g.git(&["diff", "--cached", "--name-only"]);
    assert!(!staged.contains("big.bin"), "{staged}");
    g.git(&["fsck", "--no-progress"]);
    // The gadn store: nothing recorded, a torn pack at worst, which the next
    // writer recovers.
    {
        let store = Store::open(&gadn::git::store_dir(&g.repo().join(".git"))).expect("open");
        assert!(store.db().lfs_roots().expect("roots").is_empty());
        assert!(store.fsck(&mut |_| {}).expect("fsck").is_ok());
    }
    g.git(&["config", "filter.gadn.process", process]);
    g.git(&["add", "big.bin"]);
    g.git(&["commit", "-q", "-m", "big"]);
    std::fs::remove_file(g.repo().join("big.bin")).expect("rm");
    g.git(&["checkout", "--", "big.bin"]);
    assert!(g.read("big.bin") == big, "content differs");
    g.assert_clean(&g.repo());
    assert_fsck_clean(&g.repo().join(".git"));
}
