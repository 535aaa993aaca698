//! The human-readable output of every command, through the real binary: the lines a
//! user reads (and scripts grep) are pinned here, the JSON forms in `cli.rs`.
#![cfg(feature = "cli")]

mod common;
use common::*;

/// Runs with extra environment (`None` removes the variable), whatever the outcome.
fn output_env(s: &Scratch, args: &[&str], env: &[(&str, Option<&str>)]) -> std::process::Output {
    let mut c = s.std(args);
    for (k, v) in env {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.output().expect("run gadn")
}

/// Runs with extra environment (as [`output_env`]); asserts success and returns
/// stdout.
fn run_env(s: &Scratch, args: &[&str], env: &[(&str, Option<&str>)]) -> String {
    let out = output_env(s, args, env);
    assert!(
        out.status.success(),
        "gadn {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs and returns (exit code, stdout, stderr) whatever the outcome.
fn outcome(s: &Scratch, args: &[&str]) -> (i32, String, String) {
    let out = s.output(args);
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fixed date, shown in UTC.
const DATE: [(&str, Option<&str>); 2] = [("GADN_DATE", Some("1700000000")), ("TZ", Some("UTC"))];

fn head_id(s: &Scratch) -> String {
    s.json(&["log", "--json", "-n", "1"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn init_says_where_and_how_files_are_cut() {
    let d = tempfile::tempdir().unwrap();
    let out = cmd_in(&["init", "repo"], d.path()).output().unwrap();
    assert!(out.status.success());
    let root = d.path().canonicalize().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "Initialized empty gadn repository in {}/repo/.gadn (chunks 16KiB/64KiB/256KiB)\n",
            root.display()
        )
    );
    let out = cmd_in(&["init", "--chunk-size", "1MiB", "big"], d.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("/big/.gadn (chunks 256KiB/1MiB/4MiB)\n"),
        "{text}"
    );
    let out = cmd_in(&["-q", "init", "quiet"], d.path()).output().unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(d.path().join("quiet/.gadn").is_dir());
    let out = cmd_in(&["init", "--chunk-size", "lots", "bad"], d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: 'lots' is not a chunk size"),
        "{err}"
    );
    let out = cmd_in(&["init", "repo"], d.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!(
            "error: a gadn store already exists at {}/repo/.gadn\n",
            root.display()
        )
    );
}

#[test]
fn status_lists_staged_unstaged_and_untracked_changes() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::init();
    assert_eq!(
        s.run(&["status"]),
        "On branch main\nNo commits yet\nnothing to commit, working tree clean\n"
    );
    s.write("notes.txt", b"hello\n");
    s.write("run.sh", b"#!/bin/sh\n");
    s.write("old.txt", b"moving");
    assert_eq!(
        s.run(&["status"]),
        "On branch main\nNo commits yet\nUntracked files:\n  notes.txt\n  old.txt\n  run.sh\n"
    );
    let out = s.run(&["add", "."]);
    assert_eq!(
        out,
        "staged 3 file(s), removed 0; read 22 B, 22 B new after dedup\n"
    );
    let st = s.run(&["status"]);
    assert!(
        st.contains(
            "Changes to be committed:\n  A  notes.txt (6 B)\n  A  old.txt (6 B)\n  A  run.sh (10 B)\n"
        ),
        "{st}"
    );
    assert!(!st.contains("nothing to commit"), "{st}");
    let out = s.run(&["commit", "-m", "first"]);
    let id = head_id(&s);
    assert_eq!(out, format!("[main {}] first\n", &id[..12]));
    assert_eq!(
        s.run(&["status"]),
        "On branch main\nnothing to commit, working tree clean\n"
    );

    s.write("notes.txt", b"hello again\n");
    std::fs::set_permissions(s.path("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(s.path("new")).unwrap();
    std::fs::rename(s.path("old.txt"), s.path("new/old.txt")).unwrap();
    let st = s.run(&["status"]);
    assert_eq!(
        st,
        "On branch main\n\
         Changes not staged for commit:\n  \
         M  notes.txt (12 B)\n  \
         D  old.txt (6 B)\n  \
         T  run.sh (10 B)\n\
         Untracked files:\n  \
         new/old.txt\n"
    );
    s.run(&["add", "."]);
    let st = s.run(&["status"]);
    assert!(
        st.contains(
            "Changes to be committed:\n  R  old.txt -> new/old.txt (6 B)\n  M  notes.txt (12 B)\n  T  run.sh (10 B)\n"
        ),
        "{st}"
    );
    assert!(
        !st.contains("not staged") && !st.contains("Untracked"),
        "{st}"
    );

    // Files that cannot be tracked are reported on stderr, not silently dropped.
    let made = std::process::Command::new("mkfifo")
        .arg(s.path("pipe"))
        .status()
        .is_ok_and(|st| st.success());
    if made {
        let (code, _, err) = outcome(&s, &["status"]);
        assert_eq!(code, 0);
        assert!(err.starts_with("warning: skipping "), "{err}");
        assert!(
            err.ends_with("pipe: not a regular file or symlink\n"),
            "{err}"
        );
        std::fs::remove_file(s.path("pipe")).unwrap();
    }

    s.run(&["commit", "-m", "second"]);
    s.run(&["checkout", "HEAD~1"]);
    let st = s.run(&["status"]);
    assert_eq!(
        st,
        format!(
            "HEAD detached at {}\nnothing to commit, working tree clean\n",
            &id[..12]
        )
    );
}

#[test]
fn log_prints_headers_messages_and_notes() {
    let s = Scratch::init();
    let (code, _, err) = outcome(&s, &["log"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "error: unknown revision 'HEAD' (the branch has no commits yet)\n"
    );
    assert_eq!(
        s.fail(&["show", "main"]),
        "error: unknown revision 'main' (the branch has no commits yet)\n"
    );
    s.write("a.txt", b"1");
    s.run(&["add", "."]);
    run_env(
        &s,
        &[
            "commit",
            "-m",
            "first line\nsecond line",
            "--note",
            "ticket=T-1",
        ],
        &DATE,
    );
    let first = head_id(&s);
    s.write("a.txt", b"2");
    run_env(&s, &["commit", "-a", "-m", "fix"], &DATE);
    let second = head_id(&s);
    let log = s.run(&["log"]);
    assert_eq!(
        log,
        format!(
            "commit {second}\n\
             Author: Test Artist <test@example.org>\n\
             Date:   2023-11-14 22:13:20 +0000\n\
             \n    fix\n\
             \n\
             commit {first}\n\
             Author: Test Artist <test@example.org>\n\
             Date:   2023-11-14 22:13:20 +0000\n\
             \n    first line\n    second line\n    ticket: T-1\n"
        )
    );
    assert!(!log.contains("Merge:"), "{log}");
    assert_eq!(
        s.run(&["log", "--oneline"]),
        format!("{} fix\n{} first line\n", &second[..12], &first[..12])
    );
    assert_eq!(
        s.run(&["log", "--oneline", "-n", "1"]),
        format!("{} fix\n", &second[..12])
    );
    let one = s.run(&["log", "--max-count", "1"]);
    assert!(one.starts_with(&format!("commit {second}\n")), "{one}");
    assert!(!one.contains(&first), "{one}");
    assert_eq!(
        s.run(&["log", "--oneline", "HEAD~1"]),
        format!("{} first line\n", &first[..12])
    );
}

/// Runs with extra environment (as [`run_env`]); asserts failure, returns stderr.
fn fail_env(s: &Scratch, args: &[&str], env: &[(&str, Option<&str>)]) -> String {
    let out = output_env(s, args, env);
    assert!(
        !out.status.success(),
        "gadn {args:?} unexpectedly succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn committer_comes_from_the_environment_then_config_else_the_author_else_a_refusal() {
    let s = Scratch::init();
    let commit = |msg: &str, env: &[(&str, Option<&str>)]| {
        s.write("f.txt", msg.as_bytes());
        s.run(&["add", "."]);
        run_env(&s, &["commit", "-m", msg], env);
        let log = s.run(&["log", "-n", "1"]);
        log.lines()
            .find_map(|l| l.strip_prefix("Author: "))
            .unwrap()
            .to_string()
    };
    let no_env = [("GADN_AUTHOR_NAME", None), ("GADN_AUTHOR_EMAIL", None)];
    let login = [no_env[0], no_env[1], ("USER", Some("login"))];
    // No identity: refused as git refuses, naming how to set one; nothing recorded
    // (it was `login <>`, or `unknown <>` without $USER).
    s.write("f.txt", b"login");
    s.run(&["add", "."]);
    let nobody = [no_env[0], no_env[1], ("USER", None)];
    for env in [&login[..], &nobody[..]] {
        let err = fail_env(&s, &["commit", "-m", "login"], env);
        for hint in [
            "gadn config set --global user.name",
            "gadn config set --global user.email",
            "GADN_AUTHOR_NAME",
        ] {
            assert!(err.contains(hint), "{err}");
        }
    }
    // A name alone is not enough either.
    let name_only = [("GADN_AUTHOR_NAME", Some("Ana")), no_env[1]];
    let err = fail_env(&s, &["commit", "-m", "x"], &name_only);
    assert!(err.contains("user.email not set"), "{err}");
    assert!(
        s.json(&["status", "--json"])["head"].is_null(),
        "no commit was made"
    );
    // With --author and no identity, the author commits too.
    let out = run_env(
        &s,
        &[
            "commit",
            "-m",
            "by ada",
            "--author",
            "Ada <ada@example.org>",
        ],
        &login,
    );
    assert!(out.contains("] by ada"), "{out}");
    let c = &s.json(&["log", "-n", "1", "--json"])[0];
    assert_eq!(c["author"]["name"], "Ada");
    assert_eq!(c["committer"]["name"], "Ada");
    assert_eq!(c["committer"]["email"], "ada@example.org");
    // Tags, merge commits and locks follow the same rule.
    let err = fail_env(&s, &["tag", "v1", "-m", "release"], &login);
    assert!(err.contains("gadn config set --global user.name"), "{err}");
    let err = fail_env(&s, &["lock", "f.txt"], &login);
    assert!(err.contains("gadn config set --global user.name"), "{err}");
    {
        let store = gadn::store::Store::open(&s.path(".gadn")).unwrap();
        store.db().config_set("user.name", "Config Name").unwrap();
        store
            .db()
            .config_set("user.email", "config@example.org")
            .unwrap();
    }
    assert_eq!(commit("config", &login), "Config Name <config@example.org>");
    assert_eq!(commit("env", &[]), "Test Artist <test@example.org>");
    let out = run_env(
        &s,
        &[
            "commit",
            "--allow-empty",
            "-m",
            "a",
            "--author",
            "Ada <ada@example.org>",
        ],
        &[],
    );
    assert!(out.contains("] a"), "{out}");
    let log = s.run(&["log", "-n", "1"]);
    assert!(log.contains("\nAuthor: Ada <ada@example.org>\n"), "{log}");
    let c = &s.json(&["log", "-n", "1", "--json"])[0];
    assert_eq!(
        c["committer"]["name"], "Test Artist",
        "the configured one commits"
    );
}

#[test]
fn show_describes_commits_directories_and_files() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::init();
    let big = noise(300_000, 5);
    s.write("art/big.bin", &big);
    s.write("art/run.sh", b"#!/bin/sh\n");
    std::fs::set_permissions(s.path("art/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("big.bin", s.path("art/link")).unwrap();
    s.write("a.txt", b"abc");
    s.run(&["add", "."]);
    run_env(&s, &["commit", "-m", "art"], &DATE);
    let id = head_id(&s);
    let show = s.run(&["show"]);
    assert_eq!(
        show,
        format!(
            "commit {id}\n\
             Author: Test Artist <test@example.org>\n\
             Date:   2023-11-14 22:13:20 +0000\n\
             \n    art\n\
             \n A a.txt (3 B)\n A art/big.bin (293.0 KiB)\n A art/link (7 B)\n A art/run.sh (10 B)\n"
        )
    );

    // A directory lists its entries with kind, short id, size and name.
    let json = s.json(&["show", "--json", "HEAD:art"]);
    let dir = s.run(&["show", "HEAD:art"]);
    let lines: Vec<&str> = dir.lines().collect();
    assert_eq!(
        lines[0],
        format!("dir {} art (293.0 KiB)", json["id"].as_str().unwrap())
    );
    assert_eq!(lines.len(), 4, "{dir}");
    for (line, (kind, name, size)) in lines[1..].iter().zip([
        ("file", "big.bin", "293.0 KiB"),
        ("symlink", "link", "7 B"),
        ("exec", "run.sh", "10 B"),
    ]) {
        let e = json["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap();
        let short = &e["id"].as_str().unwrap()[..12];
        assert_eq!(*line, format!("{kind:7} {short} {size:>10}  {name}"));
    }
    // The root, and its size (everything below it).
    let root = s.run(&["show", "HEAD:"]);
    let first = root.lines().next().unwrap();
    assert!(
        first.starts_with("dir ") && first.ends_with(" / (293.0 KiB)"),
        "{root}"
    );
    assert!(
        root.contains("  a.txt\n") && root.contains("  art\n"),
        "{root}"
    );
    assert_eq!(
        s.json(&["show", "--json", "HEAD:"])["size"],
        (300_000 + 3 + 7 + 10) as u64
    );

    // A file: its id, size and number of chunks.
    let file = s.run(&["show", "HEAD:art/big.bin"]);
    let json = s.json(&["show", "--json", "HEAD:art/big.bin"]);
    let chunks = json["chunks"].as_u64().unwrap();
    assert!(chunks >= 2, "{json}");
    assert_eq!(
        file,
        format!(
            "file {} art/big.bin (293.0 KiB)\n{chunks} chunk(s)\n",
            json["id"].as_str().unwrap()
        )
    );
    let small = s.run(&["show", "HEAD:a.txt"]);
    assert!(small.ends_with(" a.txt (3 B)\n1 chunk(s)\n"), "{small}");

    // Renames and deletions in a later commit.
    std::fs::rename(s.path("a.txt"), s.path("b.txt")).unwrap();
    std::fs::remove_file(s.path("art/link")).unwrap();
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "move"]);
    let show = s.run(&["show", "HEAD"]);
    assert!(
        show.ends_with("\n D art/link (7 B)\n R a.txt -> b.txt (3 B)\n"),
        "{show}"
    );
    assert!(show.contains("\n    move\n"), "{show}");
    let show = s.run(&["show", "@~1"]);
    assert!(show.starts_with(&format!("commit {id}\n")), "{show}");
}

#[test]
fn revision_errors_explain_themselves() {
    let s = Scratch::init();
    s.write("f.txt", b"f");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "only"]);
    let head = head_id(&s);
    let file = s.json(&["show", "--json", "HEAD:f.txt"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (rev, want) in [
        (
            "HEAD~1",
            "unknown revision 'HEAD~1' (no such parent)".to_string(),
        ),
        (
            "HEAD^2",
            "unknown revision 'HEAD^2' (no such parent)".to_string(),
        ),
        ("HEAD~1x", "unknown revision 'HEAD~1x'".to_string()),
        ("nope", "unknown revision 'nope'".to_string()),
        (
            &file[..10],
            format!(
                "unknown revision '{}' ({} is a file, not a commit)",
                &file[..10],
                &file[..12]
            ),
        ),
        (
            "HEAD:nope.txt",
            format!("path 'nope.txt' did not match any file in {}", &head[..12]),
        ),
    ] {
        let err = s.fail(&["show", rev]);
        assert_eq!(err, format!("error: {want}\n"), "{rev}");
    }
}

#[test]
fn stats_report_sizes_and_ratios() {
    let s = Scratch::init();
    let fresh = s.run(&["stats"]);
    assert_eq!(
        fresh,
        "file versions:      0\n\
         logical bytes:      0 (0 B)\n\
         unique chunk bytes: 0 (0 B)\n\
         stored bytes:       0 (0 B) in 0 pack(s)\n\
         chunks:             0\n\
         objects:            0\n\
         dedup ratio:        1.00x\n\
         compression ratio:  1.00x\n"
    );
    // Two versions of a compressible file that share most of their chunks.
    let mut v1 = Vec::new();
    for i in 0..40_000u32 {
        v1.extend_from_slice(format!("line {i} of a text asset\n").as_bytes());
    }
    s.write("a.txt", &v1);
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "v1"]);
    let mut v2 = v1.clone();
    v2.extend_from_slice(b"one more line\n");
    s.write("a.txt", &v2);
    s.run(&["commit", "-a", "-m", "v2"]);
    let text = s.run(&["stats"]);
    let j = s.json(&["stats", "--json"]);
    let n = |k: &str| j[k].as_u64().unwrap();
    assert_eq!(n("files"), 2);
    assert_eq!(n("logical_bytes"), (v1.len() + v2.len()) as u64);
    let human = |b: u64| {
        let v = b as f64 / 1024.0;
        if v >= 1024.0 {
            format!("{:.1} MiB", v / 1024.0)
        } else {
            format!("{v:.1} KiB")
        }
    };
    for line in [
        "file versions:      2".to_string(),
        format!(
            "logical bytes:      {} ({})",
            n("logical_bytes"),
            human(n("logical_bytes"))
        ),
        format!(
            "unique chunk bytes: {} ({})",
            n("unique_chunk_bytes"),
            human(n("unique_chunk_bytes"))
        ),
        format!(
            "stored bytes:       {} ({}) in {} pack(s)",
            n("stored_bytes"),
            human(n("stored_bytes")),
            n("packs")
        ),
        format!("chunks:             {}", n("chunks")),
        format!("objects:            {}", n("objects")),
        format!(
            "dedup ratio:        {:.2}x",
            j["dedup_ratio"].as_f64().unwrap()
        ),
        format!(
            "compression ratio:  {:.2}x",
            j["compression_ratio"].as_f64().unwrap()
        ),
    ] {
        assert!(
            text.contains(&format!("{line}\n")),
            "{line:?} not in\n{text}"
        );
    }
    assert!(j["dedup_ratio"].as_f64().unwrap() > 1.5, "{j}");
    assert!(j["compression_ratio"].as_f64().unwrap() > 2.0, "{j}");
}

#[test]
fn gc_and_fsck_report_what_they_did_and_found() {
    let s = Scratch::init();
    assert_eq!(
        s.run(&["gc"]),
        "removed 0 unreachable record(s) (0 B), kept 0; expired 0 reflog entries; packs 0 B -> 0 B\n\
         hint: reflog entries keep old commits for 90 days (30 once no branch reaches them); \
         `gadn gc --prune=now` drops them all\n"
    );
    assert_eq!(
        s.run(&["fsck"]),
        "checked 0 record(s) in 0 pack(s); 0 reachable; no problems found\n"
    );
    s.write("keep.txt", b"kept");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "keep"]);
    // Staged, then replaced before any commit: the first version is garbage.
    s.write("draft.bin", &noise(200_000, 1));
    s.run(&["add", "draft.bin"]);
    s.write("draft.bin", &noise(100, 2));
    s.run(&["add", "draft.bin"]);
    let before = s.json(&["fsck", "--json"]);
    let records = before["records"].as_u64().unwrap();
    let reachable = before["reachable"].as_u64().unwrap();
    assert!(reachable < records, "{before}");
    assert_eq!(
        s.run(&["fsck"]),
        format!(
            "checked {records} record(s) in {} pack(s); {reachable} reachable; no problems found\n",
            before["packs"]
        )
    );
    let gc = s.run(&["gc"]);
    let removed = records - reachable;
    assert!(
        gc.starts_with(&format!("removed {removed} unreachable record(s) (")),
        "{gc}"
    );
    assert!(
        gc.contains(&format!(
            ", kept {reachable}; expired 0 reflog entries; packs "
        )),
        "{gc}"
    );
    assert!(gc.contains(" KiB -> ") && gc.ends_with(" B\n"), "{gc}");
    assert!(s
        .run(&["gc"])
        .starts_with("removed 0 unreachable record(s)"));
    assert_eq!(s.run(&["-q", "gc"]), "");
    assert_eq!(s.run(&["-q", "fsck"]), s.run(&["fsck"]));

    // A ref to an object that is not there: fsck names it, gc refuses to run.
    let ghost = gadn::store::ObjectId::of_chunk(b"ghost");
    {
        let store = gadn::store::Store::open(&s.path(".gadn")).unwrap();
        store
            .db()
            .update_ref(
                "refs/heads/ghost",
                gadn::store::db::Expect::Absent,
                ghost,
                &gadn::store::db::ReflogInfo::now("test", "dangling"),
            )
            .unwrap();
    }
    let (code, out, _) = outcome(&s, &["fsck"]);
    assert_eq!(code, 3, "exit 3: damage found");
    assert!(
        out.contains(&format!("broken link: object {ghost} (from ")),
        "{out}"
    );
    assert!(out.contains("): missing\n"), "{out}");
    assert!(out.ends_with("; PROBLEMS FOUND\n"), "{out}");
    let (code, out, err) = outcome(&s, &["gc"]);
    assert_eq!((code, out.as_str()), (3, ""), "gc refused: damage");
    assert!(
        err.starts_with(
            "error: refusing to gc: 1 reference(s) point at missing or damaged objects (first: "
        ),
        "{err}"
    );
    assert!(err.ends_with("run `gadn fsck` and repair first\n"), "{err}");
    assert!(err.contains(&ghost.to_hex()), "{err}");
}

#[test]
fn checkout_reports_files_written_removed_and_where_head_is() {
    let s = Scratch::init();
    s.write("a.txt", b"one");
    s.write("b.txt", b"bee");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "first"]);
    let first = head_id(&s);
    s.write("a.txt", b"two!");
    std::fs::remove_file(s.path("b.txt")).unwrap();
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "second"]);
    assert_eq!(
        s.run(&["checkout", "HEAD~1"]),
        format!("2 file(s) written (6 B), 0 removed; HEAD is {first}\n")
    );
    assert_eq!(
        s.run(&["checkout", "main"]),
        "1 file(s) written (4 B), 1 removed; HEAD is main\n"
    );
    // Discarding local changes with `checkout --force HEAD` keeps HEAD on its branch.
    s.write("a.txt", b"local");
    let out = s.run(&["checkout", "--force", "HEAD"]);
    assert!(out.ends_with("; HEAD is main\n"), "{out}");
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"two!");
    assert!(s.run(&["status"]).starts_with("On branch main\n"));
    // Restoring a path from another commit leaves HEAD where it is.
    assert_eq!(
        s.run(&["checkout", "HEAD~1", "--", "b.txt"]),
        "1 file(s) written (3 B), 0 removed; HEAD is main\n"
    );
    s.run(&["checkout", "--force", &first]);
    assert_eq!(
        s.run(&["checkout", "HEAD", "--", "a.txt"]),
        format!("1 file(s) written (3 B), 0 removed; HEAD is {first}\n")
    );
    assert_eq!(s.run(&["-q", "checkout", "main"]), "");

    // Refused: the message lists what would be lost and what to do.
    s.write("a.txt", b"precious");
    let err = s.fail(&["checkout", "HEAD~1"]);
    assert_eq!(
        err,
        "error: checkout would overwrite local changes to:\n  a.txt\n\
         hint: commit them, or pass --force to discard them\n"
    );
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"precious");
}

/// `gadn CMD | head` ends quietly as git does: a closed stdout is never a panic
/// (exit 101, "failed printing to stdout: Broken pipe"), for every printing command.
#[test]
fn a_closed_stdout_ends_every_printing_command_quietly() {
    use std::process::Stdio;
    let s = Scratch::init();
    for i in 0..30 {
        s.write(&format!("dir/f{i}.txt"), format!("file {i}\n").as_bytes());
        s.run(&["add", "."]);
        s.run(&["commit", "-m", &format!("commit {i}")]);
    }
    s.run(&["tag", "v1"]);
    s.write("untracked.txt", b"new\n");
    let commands: &[&[&str]] = &[
        &["status"],
        &["log"],
        &["history", "dir/f1.txt"],
        &["locks"],
        &["tag"],
        &["meta", "show", "dir/f1.txt"],
        &["branch"],
        &["stats"],
        &["fsck"],
        &["find", "--type", "text"],
        &["config", "list"],
        &["show", "HEAD:dir"],
        &["id"],
        &["gc"],
        &["log", "--json"],
        &["log", "--json-lines"],
    ];
    // `id` makes a machine key: in a home of its own, or the other tests of this
    // process (which share one) would sign their commits.
    let home = tempfile::tempdir().unwrap();
    for args in commands {
        let mut child = s
            .std(args)
            .env("GADN_HOME", home.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gadn");
        // Close the reading end before gadn writes: its first write meets a closed pipe.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait for gadn");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "gadn {args:?} complained about the closed pipe: {stderr}"
        );
        assert_ne!(
            out.status.code(),
            Some(101),
            "gadn {args:?} panicked: {stderr}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
                "gadn {args:?} ended {:?}: {stderr}",
                out.status
            );
        }
    }
}

/// A name holding a newline, a tab, a double quote or a backslash is printed in
/// git's C quoting in every human listing, so it cannot fake a line; JSON keeps the
/// raw name.
#[test]
fn paths_with_control_characters_are_quoted_in_every_listing() {
    let s = Scratch::init();
    // (A backslash is quoted too, but names may not hold one: see the unit test.)
    let (nl, tab, dq) = ("a\nb.txt", "t\tab.txt", "say\"hi\".txt");
    let (qnl, qtab, qdq) = (r#""a\nb.txt""#, r#""t\tab.txt""#, r#""say\"hi\".txt""#);
    for name in [nl, tab, dq] {
        s.write(name, b"one\n");
    }
    s.write("plain.txt", b"plain\n");
    let st = s.run(&["status"]);
    for q in [qnl, qtab, qdq] {
        assert!(st.contains(&format!("\n  {q}\n")), "untracked {q}:\n{st}");
    }
    assert!(
        st.contains("\n  plain.txt\n"),
        "plain names stay bare:\n{st}"
    );
    assert!(!st.contains("a\nb"), "{st}");
    s.run(&["add", "."]);
    let st = s.run(&["status"]);
    assert!(st.contains(&format!("  A  {qnl} (4 B)\n")), "{st}");
    let (json, staged) = s.status_staged();
    assert!(
        staged.contains(&nl.to_string()),
        "JSON keeps raw names: {json}"
    );
    s.run(&["commit", "-m", "odd names"]);
    let show = s.run(&["show"]);
    assert!(show.contains(&format!(" A {qtab} (4 B)\n")), "{show}");
    let ls = s.run(&["show", "HEAD:"]);
    assert!(ls.lines().any(|l| l.ends_with(&format!("  {qdq}"))), "{ls}");
    let find = s.run(&["find"]);
    assert!(find.lines().any(|l| l.starts_with(qdq)), "{find}");
    let history = s.run(&["history", nl]);
    assert!(
        history.contains(qnl) && !history.contains("a\nb"),
        "{history}"
    );
    s.write(nl, b"two\n");
    let st = s.run(&["status"]);
    assert!(st.contains(&format!("  M  {qnl}")), "{st}");
    let stat = s.run(&["diff", "--stat"]);
    assert!(stat.contains(&format!(" {qnl} | +1 -1")), "{stat}");
    let patch = s.run(&["diff"]);
    assert!(patch.contains(&format!("M {qnl} (")), "{patch}");
    assert!(patch.contains(r#"--- "a/a\nb.txt""#), "{patch}");
    assert!(patch.contains(r#"+++ "b/a\nb.txt""#), "{patch}");
    s.run(&["commit", "-a", "-m", "two"]);
    s.run(&["mv", nl, "c\nd.txt"]);
    let st = s.run(&["status"]);
    assert!(st.contains(&format!(r#"  R  {qnl} -> "c\nd.txt""#)), "{st}");
    s.run(&["commit", "-m", "renamed"]);
    // A lock makes a machine key: in a home of its own, not the one other tests
    // of this process share (their commits would be signed).
    let ana = User::new("Ana");
    ana.ok(&s, &["lock", tab]);
    let locks = ana.ok(&s, &["locks"]);
    assert!(locks.starts_with(&format!("{qtab}  ")), "{locks}");
    let json = ana.json(&s, &["locks", "--json"]);
    assert_eq!(json[0]["path"], tab, "JSON keeps the raw name");
}
