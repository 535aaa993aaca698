//! A clone from several `gadn serve` processes on 127.0.0.1 (issue 16): two full
//! seeds and one partial seed, each contributing bytes; the real binary on every
//! side.
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Bytes of the big file: four live seals' worth (16 MiB each), so a clone of it
/// leaves several packs and a partial seed can be made of some of them.
const LEN: usize = 64_000_000;

fn serve(user: &User, repo: &Path) -> Served {
    let mut c = std_cmd(&["serve", "--listen", "127.0.0.1:0", "--no-lan"], repo);
    c.env("GADN_HOME", user.home.path().join("gadn"))
        .env("GADN_AUTHOR_NAME", user.name)
        .env("GADN_IDLE_TIMEOUT", "10")
        .env_remove("RUST_LOG");
    spawn_serve(c)
}

fn run(user: &User, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut c = std_cmd(args, dir);
    c.env("GADN_HOME", user.home.path().join("gadn"))
        .env("GADN_AUTHOR_NAME", user.name)
        .env_remove("RUST_LOG");
    let mut c = assert_cmd::Command::from_std(c);
    c.timeout(Duration::from_secs(240));
    c.output().expect("run gadn")
}

/// The sealed packs of the repository at `repo`, oldest first (by the time their
/// index was written: a fetch seals them in order).
fn packs_by_age(repo: &Path) -> Vec<PathBuf> {
    let mut v: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(repo.join(".gadn/packs"))
        .expect("packs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .map(|p| {
            (
                std::fs::metadata(&p)
                    .expect("meta")
                    .modified()
                    .expect("mtime"),
                p,
            )
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, p)| p).collect()
}

#[test]
fn two_full_seeds_and_a_partial_seed_each_serve_part_of_one_clone() {
    let (alice, bob, carol, dave) = (
        User::new("alice"),
        User::new("bob"),
        User::new("carol"),
        User::new("dave"),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let a = tmp.path().join("alice");
    assert!(run(&alice, tmp.path(), &["init", "alice"]).status.success());
    let big = noise(LEN, 16);
    std::fs::write(a.join("big.bin"), &big).expect("write");
    alice.ok_in(&a, &["add", "."]);
    alice.ok_in(&a, &["commit", "-m", "big"]);
    for u in [&bob, &carol, &dave] {
        alice.ok_in(&a, &["peer", "add", u.name, &u.key()]);
    }
    let alice_s = serve(&alice, &a);
    // Carol: a full copy. Dave: a copy of which two of the chunk packs are gone —
    // what a peer whose fetch was cut holds (his history, trees and file objects
    // came first, so they are in the oldest pack, which stays).
    for u in [&carol, &dave] {
        let out = run(u, tmp.path(), &["clone", &alice_s.source, u.name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let d = tmp.path().join("dave");
    let packs = packs_by_age(&d);
    assert!(
        packs.len() >= 4,
        "a 64 MB fetch seals as it goes: {packs:?}"
    );
    for idx in [&packs[1], &packs[3]] {
        std::fs::remove_file(idx.with_extension("pack")).expect("rm pack");
        std::fs::remove_file(idx).expect("rm idx");
    }
    let carol_s = serve(&carol, &tmp.path().join("carol"));
    let dave_s = serve(&dave, &d);

    let out = run(
        &bob,
        tmp.path(),
        &[
            "clone",
            &alice_s.source,
            "bob",
            "--peer",
            &carol_s.source,
            "--peer",
            &dave_s.source,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let swarm = &v["swarm"];
    let sources = swarm["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 3, "{swarm}");
    let runs = swarm["transfer"]["runs"].as_u64().expect("runs");
    for s in sources {
        assert!(
            s["bytes"].as_u64().expect("bytes") > 0,
            "each contributes: {swarm}"
        );
        assert!(s["dropped"].is_null(), "{swarm}");
        assert_eq!(s["bad_data"], false, "{swarm}");
    }
    // Dave announced part of the plan, and was asked only for that.
    let dave_r = &sources[2];
    let announced = dave_r["announced"].as_u64().expect("announced");
    assert!(announced > 0 && announced < runs, "{swarm}");
    assert_eq!(dave_r["lies"], 0, "{swarm}");
    assert!(
        std::fs::read(tmp.path().join("bob/big.bin")).expect("checked out") == big,
        "the clone's file differs"
    );
    assert!(run(&bob, &tmp.path().join("bob"), &["fsck"])
        .status
        .success());
}
