//! The everyday workflow through the real binary: init, add, commit, status, log,
//! show, cat, checkout, ignore rules, stats.
#![cfg(feature = "cli")]

mod common;
use common::*;

#[test]
fn commit_and_restore_round_trip() {
    let s = Scratch::init();
    let big = noise(3 << 20, 1);
    s.write("art/hero.png", &big);
    s.write("audio/theme.wav", b"RIFF fake wav");
    s.write("notes.txt", b"hello\n");
    s.write("empty.bin", b"");
    s.run(&["add", "."]);
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["staged"].as_array().unwrap().len(), 4, "{st}");
    s.run(&["commit", "-m", "first", "--note", "ticket=T-1"]);
    let st = s.json(&["status", "--json"]);
    assert!(st["staged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");

    // cat streams the exact bytes.
    let out = s.output(&["cat", "HEAD:art/hero.png"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, big);
    assert_eq!(s.output(&["cat", "HEAD:empty.bin"]).stdout, b"");

    // modify, commit, and check history.
    let mut big2 = big.clone();
    big2[1_000_000..1_000_100].fill(7);
    s.write("art/hero.png", &big2);
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["unstaged"][0]["path"], "art/hero.png", "{st}");
    assert_eq!(st["unstaged"][0]["kind"], "modified", "{st}");
    s.run(&["commit", "-a", "-m", "second"]);
    let log = s.json(&["log", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["message"], "second");
    assert_eq!(log[1]["notes"][0][0], "ticket");
    assert_eq!(log[0]["author"]["name"], "Test Artist");
    let show = s.json(&["show", "--json", "HEAD"]);
    assert_eq!(show["changes"][0]["path"], "art/hero.png");
    assert_eq!(show["changes"][0]["kind"], "modified");

    // old version still there, byte for byte.
    assert_eq!(s.output(&["cat", "HEAD~1:art/hero.png"]).stdout, big);

    // checkout of the first commit restores the working tree.
    s.run(&["checkout", "HEAD~1"]);
    assert_eq!(std::fs::read(s.path("art/hero.png")).unwrap(), big);
    let st = s.json(&["status", "--json"]);
    assert!(st["branch"].is_null(), "detached: {st}");
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    s.run(&["checkout", "main"]);
    assert_eq!(std::fs::read(s.path("art/hero.png")).unwrap(), big2);
    assert_eq!(s.json(&["status", "--json"])["branch"], "main");
}

#[test]
fn checkout_paths_and_deletions() {
    let s = Scratch::init();
    s.write("a/one.txt", b"one");
    s.write("a/two.txt", b"two");
    s.write("b.txt", b"b");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "base"]);
    std::fs::remove_file(s.path("a/one.txt")).unwrap();
    s.write("b.txt", b"changed");
    let st = s.json(&["status", "--json"]);
    let kinds: Vec<String> = st["unstaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["deleted", "modified"], "{st}");
    // Checking out HEAD itself overwrites nothing: local changes are kept, as in
    // git (this was refused, like any switch with local changes).
    s.run(&["checkout", "HEAD"]);
    assert_eq!(std::fs::read(s.path("b.txt")).unwrap(), b"changed");
    assert_eq!(s.json(&["status", "--json"])["unstaged"], st["unstaged"]);
    // restoring paths
    s.run(&["checkout", "HEAD", "--", "a"]);
    assert_eq!(std::fs::read(s.path("a/one.txt")).unwrap(), b"one");
    s.run(&["checkout", "HEAD", "--", "b.txt"]);
    assert_eq!(std::fs::read(s.path("b.txt")).unwrap(), b"b");
    assert!(s.json(&["status", "--json"])["unstaged"]
        .as_array()
        .unwrap()
        .is_empty());
    // staging a deletion and committing it
    std::fs::remove_file(s.path("a/two.txt")).unwrap();
    s.run(&["add", "a"]);
    s.run(&["commit", "-m", "drop two"]);
    s.run(&["checkout", "HEAD~1"]);
    assert!(s.path("a/two.txt").exists());
    s.run(&["checkout", "main"]);
    assert!(!s.path("a/two.txt").exists());
    let err = s.fail(&["checkout", "HEAD", "--", "nope"]);
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn unchanged_files_are_not_reread() {
    let s = Scratch::init();
    for i in 0..50 {
        s.write(&format!("d{}/f{i}.bin", i % 5), &noise(1000 + i, i as u64));
    }
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "x"]);
    // The first status may re-hash racily-clean entries and refresh the index; after
    // that, nothing is re-read.
    std::thread::sleep(std::time::Duration::from_millis(20));
    s.run(&["status"]);
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["rehashed"], 0, "{st}");
    // Touching a file (same content, new mtime) re-reads exactly that file and finds
    // it unchanged.
    let p = s.path("d1/f1.bin");
    let data = std::fs::read(&p).unwrap();
    std::fs::write(&p, &data).unwrap();
    let st = s.json(&["status", "--json"]);
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["rehashed"].as_u64().unwrap() >= 1, "{st}");
}

#[test]
fn ignore_rules_and_errors() {
    let s = Scratch::init();
    s.write(".gadnignore", b"*.tmp\n/build/\n");
    s.write("keep.txt", b"k");
    s.write("scratch.tmp", b"t");
    s.write("build/out.bin", b"o");
    s.run(&["add", "."]);
    let (_, staged) = s.status_staged();
    assert_eq!(staged, [".gadnignore", "keep.txt"]);
    let err = s.fail(&["add", "scratch.tmp"]);
    assert!(err.contains("ignored by .gadnignore"), "{err}");
    s.run(&["add", "--force", "scratch.tmp"]);
    let err = s.fail(&["add", "missing-file"]);
    assert!(err.contains("did not match"), "{err}");
    let err = s.fail(&["add", "../outside"]);
    assert!(err.contains("outside the working tree"), "{err}");
    s.run(&["commit", "-m", "c"]);
    let err = s.fail(&["commit", "-m", "again"]);
    assert!(err.contains("nothing to commit"), "{err}");
    let err = s.fail(&["show", "nonexistent"]);
    assert!(err.contains("unknown revision"), "{err}");
    let err = s.fail(&["cat", "HEAD:nope.txt"]);
    assert!(err.contains("did not match"), "{err}");
    let err = s.fail(&["cat", "HEAD"]);
    assert!(err.contains("names a commit"), "{err}");
    let err = s.fail(&["commit", "-m", "x", "--author", "no-email"]);
    assert!(err.contains("bad identity"), "{err}");
    let outside = tempfile::tempdir().unwrap();
    let out = cmd_in(&["status"], outside.path()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a gadn repository"));
    let err = s.fail(&["init", "."]);
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn short_ids_resolve_and_ambiguity_is_reported() {
    let s = Scratch::init();
    s.write("f", b"1");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "one"]);
    let log = s.json(&["log", "--json"]);
    let id = log[0]["id"].as_str().unwrap().to_string();
    let shown = s.json(&["show", "--json", &id[..8]]);
    assert_eq!(shown["id"], id.as_str());
    let err = s.fail(&["show", "zzzz"]);
    assert!(err.contains("unknown revision"), "{err}");
}

#[test]
fn stats_show_dedup_of_a_small_edit() {
    let s = Scratch::init();
    let v1 = noise(8 << 20, 9);
    s.write("big.bin", &v1);
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "v1"]);
    let before = s.json(&["stats", "--json"]);
    let mut v2 = v1.clone();
    v2.splice(4 << 20..4 << 20, noise(64 << 10, 10));
    s.write("big.bin", &v2);
    s.run(&["commit", "-a", "-m", "v2"]);
    let after = s.json(&["stats", "--json"]);
    let growth = after["stored_bytes"].as_u64().unwrap() - before["stored_bytes"].as_u64().unwrap();
    assert!(
        growth < 64 * 1024 + 600 * 1024,
        "store grew by {growth} bytes for a 64 KiB insert"
    );
    assert_eq!(
        after["logical_bytes"].as_u64().unwrap(),
        (v1.len() + v2.len()) as u64
    );
    assert!(after["dedup_ratio"].as_f64().unwrap() > 1.8, "{after}");
    s.run(&["fsck"]);
}

#[test]
fn executables_and_symlinks_round_trip() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::init();
    s.write("run.sh", b"#!/bin/sh\necho hi\n");
    std::fs::set_permissions(s.path("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("run.sh", s.path("link")).unwrap();
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "x"]);
    std::fs::remove_file(s.path("run.sh")).unwrap();
    std::fs::remove_file(s.path("link")).unwrap();
    s.run(&["checkout", "--force", "HEAD"]);
    let m = std::fs::metadata(s.path("run.sh")).unwrap();
    assert_eq!(m.permissions().mode() & 0o111, 0o111);
    assert_eq!(
        std::fs::read_link(s.path("link")).unwrap(),
        std::path::PathBuf::from("run.sh")
    );
}

#[test]
fn relative_dash_c_and_subdirectory_paths() {
    let s = Scratch::init();
    s.write("art/a.png", b"a");
    // -C with a relative directory, and a path relative to it.
    s.ok(&["-C", "repo", "add", "art/a.png"], s.dir.path());
    // From a subdirectory, paths are relative to it.
    s.write("art/b.png", b"b");
    s.ok(&["add", "b.png"], &s.path("art"));
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["staged"].as_array().unwrap().len(), 2, "{st}");
    let out = cmd_in(&["-C", "no-such-dir", "status"], s.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir"));
}

#[test]
fn commits_are_signed_once_an_identity_key_exists_and_never_create_one() {
    let s = Scratch::init();
    let home = tempfile::tempdir().unwrap();
    let with_home = |args: &[&str]| {
        let out = s.cmd(args).env("GADN_HOME", home.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    s.write("a.txt", b"one");
    with_home(&["add", "."]);
    with_home(&["commit", "-m", "unsigned"]);
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "committing never creates a key"
    );
    let json: serde_json::Value =
        serde_json::from_str(&with_home(&["show", "--json", "HEAD"])).unwrap();
    assert_eq!(json["signature"]["status"], "unsigned");

    let key = gadn::identity::MachineKey::load_or_create(home.path()).unwrap();
    s.write("a.txt", b"two");
    with_home(&["commit", "-a", "-m", "signed"]);
    let json: serde_json::Value =
        serde_json::from_str(&with_home(&["show", "--json", "HEAD"])).unwrap();
    assert_eq!(json["signature"]["status"], "good");
    assert_eq!(json["signature"]["key"], key.public().to_text());
    let text = with_home(&["show", "HEAD"]);
    assert!(
        text.contains(&format!(
            "Signed-by: {} (good signature)",
            key.public().to_text()
        )),
        "{text}"
    );
    // The signature is part of the commit, so fsck is still clean.
    with_home(&["fsck"]);
}

/// `serve --max-rate 10` (10 B/s, surely a missing unit) is refused, with the one
/// rate grammar's explanation, instead of being accepted silently.
#[test]
fn serve_refuses_a_rate_below_one_kib_per_second() {
    let s = Scratch::init();
    let err = s.fail(&[
        "serve",
        "--max-rate",
        "10",
        "--no-lan",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("below the minimum"), "{err}");
    assert!(err.contains("10M"), "{err}");
    let err = s.fail(&[
        "serve",
        "--max-rate",
        "fast",
        "--no-lan",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert!(err.contains("bytes per second"), "{err}");
}

/// `find --class sound` (no such class) is an error that lists the classes, not an
/// empty table with exit 0.
#[test]
fn find_with_an_unknown_class_lists_the_classes() {
    let s = Scratch::init();
    s.write("a.txt", b"a\n");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "one"]);
    let err = s.fail(&["find", "--class", "sound"]);
    assert!(err.contains("no asset class 'sound'"), "{err}");
    assert!(err.contains("image, audio, model, text"), "{err}");
    assert!(!s.run(&["find", "--class", "TEXT"]).is_empty());
}

/// `-q` silences every confirmation a command prints on stdout (it was ignored by
/// `meta set`, `meta unset` and an up-to-date `merge`); what a command was asked to
/// show (`meta show`, `status`) still prints.
#[test]
fn quiet_silences_the_chatter_of_every_command() {
    let s = Scratch::init();
    let quiet = |args: &[&str]| {
        let mut all = vec!["-q"];
        all.extend_from_slice(args);
        let out = s.run(&all);
        assert_eq!(out, "", "gadn {all:?} printed on stdout");
    };
    s.write("hero.png", b"pixels");
    s.write("notes.txt", b"one\n");
    quiet(&["add", "."]);
    quiet(&["commit", "-m", "first"]);
    quiet(&["meta", "set", "hero.png", "author=Ana", "tags+=hero"]);
    quiet(&["meta", "unset", "hero.png", "author"]);
    quiet(&["commit", "-m", "metadata"]);
    quiet(&["branch", "side"]);
    quiet(&["branch", "-m", "side", "feature"]);
    quiet(&["switch", "feature"]);
    s.write("notes.txt", b"two\n");
    quiet(&["commit", "-a", "-m", "on feature"]);
    quiet(&["switch", "main"]);
    quiet(&["merge", "feature"]);
    quiet(&["merge", "feature"]);
    quiet(&["tag", "v1"]);
    quiet(&["tag", "v2", "-m", "annotated"]);
    quiet(&["tag", "-d", "v2"]);
    quiet(&["mv", "notes.txt", "readme.txt"]);
    quiet(&["commit", "-m", "moved"]);
    quiet(&["rm", "readme.txt"]);
    quiet(&["restore", "--staged", "readme.txt"]);
    quiet(&["restore", "readme.txt"]);
    quiet(&["checkout", "v1"]);
    quiet(&["switch", "main"]);
    quiet(&["lock", "hero.png"]);
    quiet(&["unlock", "hero.png"]);
    quiet(&["branch", "-D", "feature"]);
    quiet(&["config", "set", "user.name", "Quiet Artist"]);
    quiet(&["gc"]);
    // Asked-for output is not chatter.
    assert!(s.run(&["-q", "meta", "show", "hero.png"]).contains("tags:"));
    assert!(s.run(&["-q", "status"]).contains("On branch main"));
}

/// A directory whose clone was interrupted says so, and how to resume it, where it
/// said only "No commits yet" (the mark itself is pinned by the ops tests).
#[test]
fn status_and_log_of_an_interrupted_clone_say_how_to_resume() {
    let s = Scratch::init();
    let source = "gadn1abc@127.0.0.1:9";
    {
        let store = gadn::store::Store::open(&s.path(".gadn")).unwrap();
        store
            .db()
            .state_set(gadn::ops::CLONE_INCOMPLETE_KEY, source)
            .unwrap();
    }
    let hint = format!("this clone was interrupted: run `gadn clone {source} .` again");
    let st = s.run(&["status"]);
    assert!(st.contains("No commits yet") && st.contains(&hint), "{st}");
    let out = s.output(&["log"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&hint), "{err}");
    // From a subdirectory the hint names the repository's directory.
    std::fs::create_dir(s.path("sub")).unwrap();
    let st = s.ok(&["status"], &s.path("sub"));
    let root = s.repo().canonicalize().unwrap();
    assert!(
        st.contains(&format!("gadn clone {source} {}", root.display())),
        "{st}"
    );
    // An ordinary repository gives no such hint.
    let plain = Scratch::init();
    assert!(!plain.run(&["status"]).contains("interrupted"));
}
