//! Bad input and faults: corrupt and truncated packs, corrupt indexes, missing
//! objects, garbage in SQLite, concurrent writers, `kill -9` mid-write, a full disk.
//! Each gets a clear error or a recovery, and no committed version is lost.
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::io::{Seek, SeekFrom, Write};

fn committed_store() -> (Scratch, Vec<u8>) {
    let s = Scratch::init();
    let data = noise(2 << 20, 42);
    s.write("asset.bin", &data);
    s.write("small.txt", b"small and safe");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "v1"]);
    (s, data)
}

fn flip_byte(path: &std::path::Path, offset: u64) {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(offset)).unwrap();
    std::io::Read::read_exact(&mut f, &mut b).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&[b[0] ^ 0x55]).unwrap();
}

#[test]
fn corrupt_pack_byte_is_named_by_fsck_and_reads_fail_cleanly() {
    let (s, _) = committed_store();
    let packs = [s.biggest_pack()];
    let len = std::fs::metadata(&packs[0]).unwrap().len();
    assert!(len > 2 << 20);
    flip_byte(&packs[0], len / 2);
    let out = s.output(&["fsck", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let d = &v["damaged"][0];
    let name = packs[0].file_name().unwrap().to_str().unwrap();
    assert_eq!(d["pack"], name, "{v}");
    assert!(d["offset"].as_u64().unwrap() <= len / 2, "{v}");
    assert!(d["id"].is_string(), "{v}");
    // The damaged chunk belongs to asset.bin: reading it fails with a clear error,
    // other files are still readable.
    let err = s.fail(&["cat", "HEAD:asset.bin"]);
    assert!(err.contains(name) || err.contains("hash"), "{err}");
    assert_eq!(
        s.output(&["cat", "HEAD:small.txt"]).stdout,
        b"small and safe"
    );
    // Human output names the pack and offset too.
    let out = s.output(&["fsck"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("damaged") && text.contains(name) && text.contains("offset"),
        "{text}"
    );
}

#[test]
fn truncated_pack_and_corrupt_index_are_reported() {
    let (s, _) = committed_store();
    let pack = &s.biggest_pack();
    let len = std::fs::metadata(pack).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(pack)
        .unwrap()
        .set_len(len - 1000)
        .unwrap();
    let out = s.output(&["fsck", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["damaged"].as_array().unwrap().is_empty(), "{v}");

    let (s, _) = committed_store();
    let idx = &s.biggest_pack().with_extension("idx");
    flip_byte(idx, 100);
    let out = s.output(&["fsck", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains(".idx"), "{v}");
    let err = s.fail(&["cat", "HEAD:asset.bin"]);
    assert!(!err.is_empty());
}

#[test]
fn missing_pack_is_a_broken_link() {
    let (s, _) = committed_store();
    for p in s.pack_files("pack").into_iter().chain(s.pack_files("idx")) {
        std::fs::remove_file(p).unwrap();
    }
    let out = s.output(&["fsck", "--json"]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["broken_links"][0]["reason"], "missing", "{v}");
    let err = s.fail(&["log"]);
    assert!(err.contains("not found"), "{err}");
    let err = s.fail(&["gc"]);
    assert!(err.contains("refusing to gc"), "{err}");
}

#[test]
fn garbage_in_sqlite_gives_a_clear_error_and_touches_nothing() {
    let (s, _) = committed_store();
    let db = s.path(".gadn/gadn.db");
    let packs_before: Vec<_> = s
        .pack_files("pack")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let _ = std::fs::remove_file(s.path(".gadn/gadn.db-wal"));
    let _ = std::fs::remove_file(s.path(".gadn/gadn.db-shm"));
    std::fs::write(&db, noise(64 << 10, 3)).unwrap();
    for args in [&["status"][..], &["log"], &["fsck"], &["add", "."]] {
        let err = s.fail(args);
        assert!(err.contains("gadn.db"), "{args:?}: {err}");
    }
    let packs_after: Vec<_> = s
        .pack_files("pack")
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(packs_before, packs_after);
}

#[test]
fn a_second_writer_waits_or_gets_a_clear_error() {
    let (s, _) = committed_store();
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.path(".gadn/lock"))
        .unwrap();
    lock.lock().unwrap();
    s.write("new.txt", b"new");
    let out = s
        .cmd(&["add", "new.txt"])
        .env("GADN_LOCK_TIMEOUT", "0.3")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another gadn process"), "{err}");
    // Reading needs no lock.
    s.run(&["log"]);
    lock.unlock().unwrap();
    s.run(&["add", "new.txt"]);

    // Two real writers at once: both finish, neither loses the other's work.
    s.write("x/one.bin", &noise(4 << 20, 5));
    s.write("y/two.bin", &noise(4 << 20, 6));
    let spawn = |dir: &str| {
        s.std(&["add", dir])
            .env("GADN_LOCK_TIMEOUT", "60")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn("x");
    let b = spawn("y");
    assert!(a.wait_with_output().unwrap().status.success());
    assert!(b.wait_with_output().unwrap().status.success());
    s.run(&["commit", "-m", "both"]);
    let show = s.json(&["show", "--json", "HEAD"]);
    assert_eq!(show["changes"].as_array().unwrap().len(), 3, "{show}");
    s.run(&["fsck"]);
}

#[test]
fn kill_9_in_the_middle_of_a_commit_loses_nothing() {
    let (s, v1) = committed_store();
    let big = noise(96 << 20, 77);
    s.write("huge.bin", &big);
    let mut child = s.std(&["add", "huge.bin"]).spawn().unwrap();
    // Wait until the writer has appended a good part of a new pack, then kill it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut caught_mid_write = false;
    loop {
        let unsealed: u64 = std::fs::read_dir(s.path(".gadn/packs"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.path().extension().is_some_and(|x| x == "pack")
                    && !e.path().with_extension("idx").exists()
            })
            .map(|e| e.metadata().unwrap().len())
            .sum();
        if unsealed > 8 << 20 {
            caught_mid_write = true;
            break;
        }
        if std::time::Instant::now() > deadline {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let status = child.wait().unwrap();
    assert!(
        caught_mid_write && !status.success(),
        "the writer finished before it could be killed"
    );
    assert!(
        !s.pack_files("pack")
            .iter()
            .all(|p| p.with_extension("idx").exists()),
        "an unsealed pack is left"
    );
    // The committed version is intact and the store checks clean.
    assert_eq!(s.output(&["cat", "HEAD:asset.bin"]).stdout, v1);
    s.run(&["fsck"]);
    // The next writer recovers the torn pack and finishes the job.
    s.run(&["add", "huge.bin"]);
    s.run(&["commit", "-m", "huge"]);
    assert_eq!(s.output(&["cat", "HEAD:huge.bin"]).stdout, big);
    let report = s.json(&["fsck", "--json"]);
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["unsealed"].as_array().unwrap().is_empty(),
        "{report}"
    );
}

#[test]
fn full_disk_gives_a_clear_error_and_keeps_committed_data() {
    // Needs root to mount a small tmpfs (CI runs as root).
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        assert!(
            std::env::var("CI").is_err(),
            "CI must be able to mount a tmpfs for this test"
        );
        eprintln!("skipping: cannot mount tmpfs (not root)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let repo = mnt.join("repo");
    let ok = |args: &[&str]| {
        let out = cmd_in(args, &mnt).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&["init", "repo"]);
    std::fs::write(repo.join("keep.txt"), b"precious").unwrap();
    let out = cmd_in(&["add", "."], &repo).output().unwrap();
    assert!(out.status.success());
    assert!(cmd_in(&["commit", "-m", "keep"], &repo)
        .output()
        .unwrap()
        .status
        .success());
    // A 4 MiB incompressible file cannot fit twice (working copy + pack) in 6 MiB.
    std::fs::write(repo.join("big.bin"), noise(4 << 20, 1)).unwrap();
    let out = cmd_in(&["add", "big.bin"], &repo).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("no space"), "{err}");
    std::fs::remove_file(repo.join("big.bin")).unwrap();
    let cat = cmd_in(&["cat", "HEAD:keep.txt"], &repo).output().unwrap();
    assert_eq!(cat.stdout, b"precious");
    let fsck = cmd_in(&["fsck"], &repo).output().unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    std::fs::write(repo.join("more.txt"), b"more").unwrap();
    assert!(cmd_in(&["add", "."], &repo)
        .output()
        .unwrap()
        .status
        .success());
    assert!(cmd_in(&["commit", "-m", "after full"], &repo)
        .output()
        .unwrap()
        .status
        .success());
}

#[test]
fn gc_drops_only_unreachable_records() {
    let (s, v1) = committed_store();
    // Stage a version, then replace it before committing: the first is garbage.
    s.write("draft.bin", &noise(1 << 20, 8));
    s.run(&["add", "draft.bin"]);
    s.write("draft.bin", &noise(1 << 20, 9));
    s.run(&["add", "draft.bin"]);
    s.run(&["commit", "-m", "draft"]);
    let before = s.json(&["stats", "--json"]);
    let gc = s.json(&["gc", "--json"]);
    // 1 MiB of noise is about 16 chunks of 64 KiB average, plus its file object.
    assert!(gc["removed"].as_u64().unwrap() >= 8, "{gc}");
    let after = s.json(&["stats", "--json"]);
    assert!(
        after["stored_bytes"].as_u64().unwrap() + (900 << 10)
            < before["stored_bytes"].as_u64().unwrap(),
        "{before} {after}"
    );
    assert_eq!(s.output(&["cat", "HEAD:asset.bin"]).stdout, v1);
    assert_eq!(
        s.output(&["cat", "HEAD:draft.bin"]).stdout,
        noise(1 << 20, 9)
    );
    let report = s.json(&["fsck", "--json"]);
    assert_eq!(report["ok"], true, "{report}");
    // A second gc finds nothing to do.
    let gc = s.json(&["gc", "--json"]);
    assert_eq!(gc["removed"], 0);
}
