//! The git-lfs custom transfer agent with the real `git` and the real `git-lfs`
//! (tools/test.sh installs git-lfs when missing): push uploads through gadn, a clone
//! downloads through gadn, content byte-identical, dedup visible in the gadn store,
//! and bad input (wrong oid, missing or corrupt object, protocol garbage) reported.
#![cfg(feature = "cli")]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::noise;
use gadn::store::Store;
use sha2::{Digest, Sha256};

/// A scratch area: an isolated HOME, a bare "remote", one shared gadn store.
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let lab = Lab {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir(lab.home()).expect("home");
        lab.git_ok(
            lab.dir.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        lab
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn store(&self) -> PathBuf {
        self.dir.path().join("shared-store")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn git(&self, dir: &Path, args: &[&str]) -> Output {
        common::isolate_git(&mut Command::new("git"), &self.home())
            .args(args)
            .current_dir(dir)
            .env("GADN_LOCK_TIMEOUT", "30")
            .env_remove("GADN_LFS_STORE")
            .output()
            .expect("run git (is git installed?)")
    }

    fn git_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.git(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Enables git-lfs in `repo` with gadn as standalone transfer agent on the shared store.
    fn use_gadn(&self, repo: &Path) {
        self.git_ok(repo, &["lfs", "install", "--local"]);
        let bin = assert_cmd::cargo::cargo_bin("gadn");
        let args = format!("git lfs-agent --store {}", self.store().display());
        for (k, v) in [
            ("lfs.standalonetransferagent", "gadn"),
            (
                "lfs.customtransfer.gadn.path",
                bin.to_str().expect("utf-8 path"),
            ),
            ("lfs.customtransfer.gadn.args", &args),
        ] {
            self.git_ok(repo, &["config", k, v]);
        }
    }

    /// Clones the remote to `name` without smudging, then fetches through gadn.
    fn clone_via_gadn(&self, name: &str) -> Output {
        let out = self.git(
            self.dir.path(),
            &[
                "-c",
                "filter.lfs.smudge=",
                "-c",
                "filter.lfs.process=",
                "-c",
                "filter.lfs.required=false",
                "clone",
                "-q",
                "remote.git",
                name,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let repo = self.path(name);
        self.use_gadn(&repo);
        self.git(&repo, &["lfs", "pull"])
    }
}

fn sha_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn fsck_clean(store: &Path) {
    let s = Store::open(store).expect("open store");
    let report = s.fsck(&mut |_| {}).expect("fsck");
    assert!(report.is_ok() && report.unsealed.is_empty(), "{report:?}");
}

#[test]
fn push_and_clone_through_gadn_dedup_and_corruption() {
    let lab = Lab::new();
    let a = lab.path("a");
    lab.git_ok(lab.dir.path(), &["init", "-q", "-b", "main", "a"]);
    lab.use_gadn(&a);
    lab.git_ok(
        &a,
        &[
            "remote",
            "add",
            "origin",
            lab.path("remote.git").to_str().unwrap(),
        ],
    );
    lab.git_ok(&a, &["lfs", "track", "*.bin"]);
    let one = noise(3 << 20, 1);
    let mut two = one.clone();
    two[1 << 20..(1 << 20) + 100].copy_from_slice(&noise(100, 2));
    std::fs::write(a.join("one.bin"), &one).unwrap();
    std::fs::create_dir(a.join("sub")).unwrap();
    std::fs::write(a.join("sub/two.bin"), &two).unwrap();
    std::fs::write(a.join("readme.txt"), b"plain git file\n").unwrap();
    // More objects than one agent: git-lfs runs several agents on the one store.
    let extras: Vec<Vec<u8>> = (0..6).map(|i| noise(400_000, 100 + i)).collect();
    for (i, x) in extras.iter().enumerate() {
        std::fs::write(a.join(format!("extra{i}.bin")), x).unwrap();
    }
    lab.git_ok(&a, &["add", "."]);
    lab.git_ok(&a, &["commit", "-q", "-m", "assets"]);
    let pushed = lab.git(&a, &["push", "-q", "origin", "main"]);
    assert!(
        pushed.status.success(),
        "push: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );

    // Both objects are in the gadn store, keyed by SHA-256, with chunk dedup.
    {
        let store = Store::open(&lab.store()).expect("the agent created the store");
        for data in [&one, &two] {
            let sha = gadn::store::Sha256::of(data);
            let (id, size) = store.db().lfs_get(&sha).unwrap().expect("recorded");
            assert_eq!(size, data.len() as u64);
            assert_eq!(&store.read_file_bytes(&id).unwrap(), data);
        }
        let stats = store.stats().unwrap();
        assert_eq!(store.db().lfs_roots().unwrap().len(), 2 + extras.len());
        let extra_bytes: u64 = extras.iter().map(|x| x.len() as u64).sum();
        let sum = (one.len() + two.len()) as u64 + extra_bytes;
        assert!(stats.logical_bytes >= sum, "{stats:?}");
        assert!(
            stats.stored_bytes < extra_bytes + (one.len() + two.len()) as u64 * 3 / 4,
            "two near-identical files should share chunks: {stats:?}"
        );
    }
    fsck_clean(&lab.store());

    // A clone downloads through gadn: byte-identical, `git lfs fsck` and status clean.
    let pulled = lab.clone_via_gadn("b");
    assert!(
        pulled.status.success(),
        "pull: {}",
        String::from_utf8_lossy(&pulled.stderr)
    );
    let b = lab.path("b");
    assert_eq!(std::fs::read(b.join("one.bin")).unwrap(), one);
    assert_eq!(std::fs::read(b.join("sub/two.bin")).unwrap(), two);
    for (i, x) in extras.iter().enumerate() {
        assert_eq!(&std::fs::read(b.join(format!("extra{i}.bin"))).unwrap(), x);
    }
    lab.git_ok(&b, &["lfs", "fsck"]);
    assert_eq!(lab.git_ok(&b, &["status", "--porcelain"]), "");
    let lfs_obj = b
        .join(".git/lfs/objects")
        .join(&sha_hex(&one)[..2])
        .join(&sha_hex(&one)[2..4]);
    assert!(
        lfs_obj.join(sha_hex(&one)).is_file(),
        "git-lfs keeps the object it fetched"
    );

    // Corrupt a chunk payload in the store: a new clone's download fails clearly and
    // leaves no half-written file in the working tree.
    let pack = std::fs::read_dir(lab.store().join("packs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pack"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    bytes[mid + 1] ^= 0xff;
    std::fs::write(&pack, &bytes).unwrap();
    let bad = lab.clone_via_gadn("c");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success(),
        "pull from a corrupt store succeeded: {err}"
    );
    assert!(err.contains("gadn store"), "{err}");
    let c = lab.path("c");
    // Each file is either still its pointer or exactly its content (objects the
    // damage did not touch still download): never corrupt bytes.
    let mut expected: Vec<(String, &[u8])> = vec![
        ("one.bin".into(), &one[..]),
        ("sub/two.bin".into(), &two[..]),
    ];
    for (i, x) in extras.iter().enumerate() {
        expected.push((format!("extra{i}.bin"), &x[..]));
    }
    let mut pointers = 0;
    for (f, want) in &expected {
        let now = std::fs::read(c.join(f)).unwrap();
        if now.starts_with(b"version https://git-lfs") {
            pointers += 1;
        } else {
            assert_eq!(&now[..], *want, "{f} holds damaged content");
        }
    }
    assert!(pointers >= 1, "no file was affected by the damage");
}

/// Drives the agent by hand: returns (exit ok, stdout lines as JSON, stderr).
fn agent(store: &Path, cwd: &Path, input: &str) -> (bool, Vec<serde_json::Value>, String) {
    let mut child = common::std_cmd(
        &["git", "lfs-agent", "--store", store.to_str().unwrap()],
        cwd,
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn agent");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("agent writes JSON lines"))
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn agent_rejects_wrong_oid_missing_objects_and_garbage() {
    let lab = Lab::new();
    let src = lab.path("x.bin");
    let data = noise(200_000, 9);
    std::fs::write(&src, &data).unwrap();
    let wrong = sha_hex(b"something else");
    let missing = sha_hex(b"never stored");
    let input = format!(
        "{{\"event\":\"init\",\"operation\":\"upload\",\"remote\":\"origin\",\"concurrent\":false}}\n\
         {{\"event\":\"upload\",\"oid\":\"{wrong}\",\"size\":{},\"path\":{:?}}}\n\
         {{\"event\":\"download\",\"oid\":\"{missing}\",\"size\":5}}\n\
         {{\"event\":\"terminate\"}}\n",
        data.len(),
        src.to_str().unwrap()
    );
    let (ok, lines, stderr) = agent(&lab.store(), lab.dir.path(), &input);
    assert!(ok, "{stderr}");
    assert_eq!(lines[0], serde_json::json!({}));
    let completes: Vec<_> = lines.iter().filter(|l| l["event"] == "complete").collect();
    assert_eq!(completes.len(), 2, "{lines:?}");
    assert_eq!(completes[0]["oid"], wrong.as_str());
    let msg = completes[0]["error"]["message"]
        .as_str()
        .expect("upload error");
    assert!(
        msg.contains("does not match") && msg.contains(&sha_hex(&data)),
        "{msg}"
    );
    assert_eq!(completes[1]["error"]["code"], 404);
    let store = Store::open(&lab.store()).unwrap();
    assert!(
        store.db().lfs_roots().unwrap().is_empty(),
        "nothing recorded"
    );
    drop(store);
    fsck_clean(&lab.store());

    // Garbage and unknown events end the agent with a clear message.
    for bad in ["{not json\n", "{\"event\":\"frobnicate\"}\n"] {
        let (ok, _, stderr) = agent(&lab.store(), lab.dir.path(), bad);
        assert!(!ok, "agent accepted {bad:?}");
        assert!(
            stderr.contains("git-lfs transfer protocol: bad request"),
            "{stderr}"
        );
    }
}
