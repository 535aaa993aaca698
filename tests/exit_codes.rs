//! Exit statuses (README "Exit codes", `src/cli/exit.rs`), shell completions and man
//! pages, through the real binary.
#![cfg(feature = "cli")]

mod common;

use common::{cmd_in, noise, Scratch};

fn code(s: &Scratch, args: &[&str]) -> Option<i32> {
    s.output(args).status.code()
}

fn commit(s: &Scratch, msg: &str) {
    s.run(&["add", "."]);
    s.run(&["commit", "-m", msg]);
}

#[test]
fn outside_a_repository_is_status_10() {
    let d = tempfile::tempdir().unwrap();
    for args in [&["status"][..], &["log"], &["fsck"], &["commit", "-m", "x"]] {
        let out = cmd_in(args, d.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(10), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a gadn repository"));
    }
}

#[test]
fn usage_errors_are_status_2_and_plain_failures_1() {
    let s = Scratch::init();
    assert_eq!(code(&s, &["no-such-command"]), Some(2));
    assert_eq!(code(&s, &["commit"]), Some(2), "missing --message");
    assert_eq!(code(&s, &["show", "nosuchrev"]), Some(1));
}

#[test]
fn damage_found_by_fsck_is_status_3() {
    let s = Scratch::init();
    s.write("big.bin", &noise(300_000, 1));
    commit(&s, "one");
    assert_eq!(code(&s, &["fsck"]), Some(0));
    let pack = s.biggest_pack();
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&pack, bytes).unwrap();
    assert_eq!(code(&s, &["fsck"]), Some(3));
    assert_eq!(code(&s, &["fsck", "--json"]), Some(3));
}

#[test]
fn a_merge_stopped_on_conflicts_is_status_4() {
    let s = Scratch::init();
    s.write("hero.png", &noise(4096, 1));
    commit(&s, "base");
    s.run(&["branch", "topic"]);
    s.write("hero.png", &noise(4096, 2));
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    s.write("hero.png", &noise(4096, 3));
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    assert_eq!(code(&s, &["merge", "topic"]), Some(4));
    s.run(&["merge", "--abort"]);
    assert_eq!(code(&s, &["merge", "--json", "topic"]), Some(4));
}

#[test]
fn a_store_lock_held_by_another_process_is_status_11() {
    let s = Scratch::init();
    s.write("a.txt", b"a");
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.path(".gadn/lock"))
        .expect("the store's lock file");
    lock.lock().expect("hold the store lock");
    let out = s
        .cmd(&["add", "a.txt"])
        .env("GADN_LOCK_TIMEOUT", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(11));
    assert!(String::from_utf8_lossy(&out.stderr).contains("locked by another gadn process"));
    drop(lock);
    s.run(&["add", "a.txt"]);
}

#[test]
fn diff_exit_code_says_whether_anything_differs() {
    let s = Scratch::init();
    s.write("notes.txt", b"one\n");
    commit(&s, "one");
    assert_eq!(code(&s, &["diff", "--exit-code"]), Some(0));
    s.write("notes.txt", b"two\n");
    assert_eq!(code(&s, &["diff", "--exit-code"]), Some(1));
    assert_eq!(code(&s, &["diff", "--exit-code", "--stat"]), Some(1));
    assert_eq!(code(&s, &["diff", "--exit-code", "--json"]), Some(1));
    assert_eq!(
        code(&s, &["diff"]),
        Some(0),
        "without the flag, differences are not a failure"
    );
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = cmd_in(&["completions", shell], d.path()).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for cmd in ["commit", "clone", "preview", "fsck"] {
            assert!(text.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    let out = cmd_in(&["completions", "tcsh"], d.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn man_pages_cover_every_command() {
    let d = tempfile::tempdir().unwrap();
    let out = cmd_in(&["man"], d.path()).output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH gadn 1"),
        "{}",
        &page[..page.len().min(200)]
    );
    let dir = d.path().join("man1");
    cmd_in(&["man", "--out", "man1"], d.path())
        .assert()
        .success();
    // The count said is the pages written, also when the directory already has them.
    let again = cmd_in(&["man", "--out", "man1"], d.path())
        .output()
        .unwrap();
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout).trim(),
        format!(
            "wrote {files} man pages to {}",
            dir.canonicalize().unwrap().display()
        )
    );
    for name in [
        "gadn.1",
        "gadn-commit.1",
        "gadn-git-install.1",
        "gadn-peer-add.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(text.starts_with(".ie") || text.contains(".TH"), "{name}");
    }
}
