//! `gadn fsck --repair --from PEER` through the real binary: a `gadn serve` on
//! 127.0.0.1 holds the healthy copy (issue 15, item 10).
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// A running `gadn serve`, killed when dropped.
fn env_of(user: &User, args: &[&str], dir: &Path) -> std::process::Command {
    let mut c = std_cmd(args, dir);
    c.env("GADN_HOME", user.home.path().join("gadn"))
        .env("GADN_AUTHOR_NAME", user.name)
        .env("GADN_IDLE_TIMEOUT", "3")
        .env_remove("RUST_LOG");
    c
}

fn serve(user: &User, repo: &Path) -> Served {
    spawn_serve(env_of(
        user,
        &["serve", "--listen", "127.0.0.1:0", "--no-lan"],
        repo,
    ))
}

/// Runs with a deadline, as `cmd_in` does.
fn run(user: &User, dir: &Path, args: &[&str]) -> Output {
    let mut c = assert_cmd::Command::from_std(env_of(user, args, dir));
    c.timeout(Duration::from_secs(120));
    c.output().expect("run gadn")
}

fn packs(repo: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(repo.join(".gadn/packs"))
        .expect("packs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect()
}

/// Flips the byte in the middle of the biggest pack: inside a chunk of the big file.
fn flip_middle_of_biggest_pack(repo: &Path) {
    let pack = packs(repo)
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).expect("meta").len())
        .expect("a pack");
    let mut b = std::fs::read(&pack).expect("read");
    let mid = b.len() / 2;
    b[mid] ^= 0x21;
    std::fs::write(&pack, b).expect("write");
}

#[test]
fn fsck_repair_from_a_peer_makes_the_store_whole_and_says_so_in_json() {
    let (alice, bob) = (User::new("alice"), User::new("bob"));
    let (ad, bd) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let a = ad.path().join("repo");
    assert!(run(&alice, ad.path(), &["init", "repo"]).status.success());
    let big = noise(1 << 20, 7);
    std::fs::write(a.join("big.bin"), &big).expect("write");
    alice.ok_in(&a, &["add", "."]);
    alice.ok_in(&a, &["commit", "-m", "big"]);
    alice.ok_in(&a, &["peer", "add", "bob", &bob.key()]);
    let server = serve(&alice, &a);
    bob.ok_in(bd.path(), &["clone", &server.source, "repo"]);
    let b = bd.path().join("repo");

    flip_middle_of_biggest_pack(&b);
    let out = run(&bob, &b, &["fsck"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("gadn fsck --repair"), "{text}");

    let out = run(&bob, &b, &["fsck", "--repair", "--from", "alice", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["found_damaged"], 1, "{v}");
    assert_eq!(v["repaired"].as_array().expect("repaired").len(), 1, "{v}");
    assert_eq!(v["repaired"][0]["from"], "alice");
    assert_eq!(v["sources"][0]["asked"], 1);
    assert_eq!(v["sources"][0]["received"], 1);
    assert!(v["still_damaged"].as_array().expect("list").is_empty());
    assert_eq!(v["fsck"]["damaged"].as_array().expect("list").len(), 0);

    assert_eq!(run(&bob, &b, &["fsck"]).status.code(), Some(0));
    let cat = run(&bob, &b, &["cat", "HEAD:big.bin"]);
    assert!(cat.status.success());
    assert!(cat.stdout == big, "content differs after repair");

    // With the only healthy copy gone, a repair cannot succeed: exit 3, the record
    // named, the source's failure said.
    drop(server);
    flip_middle_of_biggest_pack(&b);
    let out = run(&bob, &b, &["fsck", "--repair", "--from", "alice"]);
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("still damaged:"), "{text}");
    assert!(text.contains("PROBLEMS REMAIN"), "{text}");
    // --from needs --repair.
    assert_eq!(
        run(&bob, &b, &["fsck", "--from", "alice"]).status.code(),
        Some(2)
    );
}
