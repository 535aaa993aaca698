//! History and metadata through the real binary: `log` filters (path, author,
//! dates, text) and `history` of one asset across renames.
#![cfg(feature = "cli")]

mod common;
use common::*;

/// Day 0 of the test history: 2023-11-14 22:13:20 UTC.
const T0: i64 = 1_700_000_000;
const DAY: i64 = 86_400;

/// Commits everything staged at time `t`, as `author`, with optional notes.
fn commit_at(s: &Scratch, t: i64, author: &str, msg: &str, notes: &[&str]) {
    let mut args = vec!["commit", "-a", "-m", msg];
    for n in notes {
        args.push("--note");
        args.push(n);
    }
    let out = s
        .cmd(&args)
        .env("GADN_DATE", t.to_string())
        .env("GADN_AUTHOR_NAME", author)
        .env(
            "GADN_AUTHOR_EMAIL",
            format!("{}@studio.example", author.to_lowercase()),
        )
        .output()
        .expect("run gadn");
    assert!(
        out.status.success(),
        "commit {msg}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Five commits three days apart:
/// 0 Ada    "Initial import"  art/hero.png, art/sky.png, notes.txt  (ticket=ART-1)
/// 1 Brian  "Brighter sky"    art/sky.png changed
/// 2 Ada    "Move hero"       art/hero.png -> chars/hero.png        (ticket=ART-9)
/// 3 Chloe  "Update notes"    notes.txt changed
/// 4 Brian  "Hero pose"       chars/hero.png changed
fn studio() -> Scratch {
    let s = Scratch::init();
    s.write("art/hero.png", &noise(5000, 1));
    s.write("art/sky.png", b"sky v1");
    s.write("notes.txt", b"notes v1\n");
    s.run(&["add", "."]);
    commit_at(&s, T0, "Ada", "Initial import", &["ticket=ART-1"]);
    s.write("art/sky.png", b"sky v2, brighter");
    commit_at(&s, T0 + 3 * DAY, "Brian", "Brighter sky", &[]);
    s.run(&["mv", "art/hero.png", "chars/hero.png"]);
    commit_at(&s, T0 + 6 * DAY, "Ada", "Move hero", &["ticket=ART-9"]);
    s.write("notes.txt", b"notes v2\n");
    commit_at(&s, T0 + 9 * DAY, "Chloe", "Update notes", &[]);
    s.write("chars/hero.png", &noise(7000, 2));
    commit_at(&s, T0 + 12 * DAY, "Brian", "Hero pose\n\nArms up.", &[]);
    s
}

/// The messages' first lines of `log --json` with extra arguments, newest first.
fn log_msgs(s: &Scratch, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["log", "--json"];
    args.extend_from_slice(extra);
    let j = s.json(&args);
    j.as_array()
        .expect("array")
        .iter()
        .map(|c| {
            c["message"]
                .as_str()
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn log_path_selects_files_directories_and_renames() {
    let s = studio();
    assert_eq!(log_msgs(&s, &[]).len(), 5);
    assert_eq!(
        log_msgs(&s, &["--path", "art"]),
        ["Move hero", "Brighter sky", "Initial import"]
    );
    assert_eq!(
        log_msgs(&s, &["--path", "art/sky.png"]),
        ["Brighter sky", "Initial import"]
    );
    assert_eq!(
        log_msgs(&s, &["--path", "notes.txt"]),
        ["Update notes", "Initial import"]
    );
    // Under its new name the file exists from the move on (history follows renames).
    assert_eq!(
        log_msgs(&s, &["--path", "chars/hero.png"]),
        ["Hero pose", "Move hero"]
    );
    assert_eq!(
        log_msgs(&s, &["--path", "chars"]),
        ["Hero pose", "Move hero"]
    );
    assert!(log_msgs(&s, &["--path", "nothing/here"]).is_empty());
    // Relative to the current directory, like every path argument.
    let out = s.ok(&["log", "--oneline", "--path", "sky.png"], &s.path("art"));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].ends_with(" Brighter sky"), "{out}");
    // Only filtered commits count towards -n.
    assert_eq!(
        log_msgs(&s, &["--path", "art", "-n", "2"]),
        ["Move hero", "Brighter sky"]
    );
}

#[test]
fn log_author_and_text_filters_ignore_case() {
    let s = studio();
    assert_eq!(
        log_msgs(&s, &["--author", "brian"]),
        ["Hero pose", "Brighter sky"]
    );
    assert_eq!(
        log_msgs(&s, &["--author", "ADA@STUDIO"]),
        ["Move hero", "Initial import"]
    );
    assert!(log_msgs(&s, &["--author", "Dmitri"]).is_empty());
    // Message text, including the body.
    assert_eq!(
        log_msgs(&s, &["--grep", "HERO"]),
        ["Hero pose", "Move hero"]
    );
    assert_eq!(log_msgs(&s, &["--grep", "arms up"]), ["Hero pose"]);
    // Notes: value and key.
    assert_eq!(log_msgs(&s, &["--grep", "art-9"]), ["Move hero"]);
    assert_eq!(
        log_msgs(&s, &["--grep", "ticket"]),
        ["Move hero", "Initial import"]
    );
}

#[test]
fn log_date_filters_and_combinations() {
    let s = studio();
    // Whole days: at least a day away from every commit, in any time zone.
    assert_eq!(
        log_msgs(&s, &["--since", "2023-11-22"]),
        ["Hero pose", "Update notes"]
    );
    assert_eq!(log_msgs(&s, &["--until", "2023-11-16"]), ["Initial import"]);
    assert_eq!(
        log_msgs(&s, &["--since", "2023-11-16", "--until", "2023-11-22"]),
        ["Move hero", "Brighter sky"]
    );
    // Exact times with an offset; bounds are inclusive.
    assert_eq!(
        log_msgs(&s, &["--since", "2023-11-20T22:13:20Z"]),
        ["Hero pose", "Update notes", "Move hero"]
    );
    assert_eq!(
        log_msgs(&s, &["--until", "2023-11-20T23:13:19+01:00"]),
        ["Brighter sky", "Initial import"]
    );
    // Relative to now: the commits are from 2023.
    assert_eq!(log_msgs(&s, &["--since", "30 days ago"]).len(), 0);
    assert_eq!(log_msgs(&s, &["--until", "2 hours ago"]).len(), 5);
    // Everything together: AND, then -n. (Chloe's e-mail contains an "a" too, but
    // her commit is outside `art`.)
    assert_eq!(
        log_msgs(
            &s,
            &[
                "--author",
                "a",
                "--path",
                "art",
                "--since",
                "2023-11-16",
                "--grep",
                "E"
            ]
        ),
        ["Move hero", "Brighter sky"]
    );
    assert_eq!(
        log_msgs(
            &s,
            &[
                "--author",
                "a",
                "--path",
                "art",
                "--since",
                "2023-11-16",
                "-n",
                "1"
            ]
        ),
        ["Move hero"]
    );
    // Human output stays git-like.
    let out = s.run(&["log", "--author", "chloe"]);
    assert!(out.starts_with("commit "), "{out}");
    assert!(
        out.contains("Author: Chloe <chloe@studio.example>"),
        "{out}"
    );
    assert!(out.contains("    Update notes"), "{out}");
    assert_eq!(out.matches("commit ").count(), 1, "{out}");
}

#[test]
fn bad_dates_are_reported_clearly() {
    let s = studio();
    for bad in ["yesterdayish", "2023-02-30", "3 fortnights ago"] {
        let err = s.fail(&["log", "--since", bad]);
        assert!(err.contains(&format!("cannot read date '{bad}'")), "{err}");
        assert!(err.contains("YYYY-MM-DD") || err.contains("unit"), "{err}");
    }
    let err = s.fail(&["log", "--until", "soon"]);
    assert!(err.contains("cannot read date 'soon'"), "{err}");
}

#[test]
fn history_follows_a_renamed_asset() {
    let s = studio();
    let log = s.json(&["log", "--json"]);
    let id = |i: usize| log[i]["id"].as_str().unwrap().to_string();
    let h = s.json(&["history", "chars/hero.png", "--json"]);
    let h = h.as_array().expect("array");
    let got: Vec<(&str, &str, &str, u64)> = h
        .iter()
        .map(|e| {
            (
                e["commit"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
                e["change"].as_str().unwrap(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (id(0).as_str(), "chars/hero.png", "modified", 7000),
            (id(2).as_str(), "chars/hero.png", "renamed", 5000),
            (id(4).as_str(), "art/hero.png", "added", 5000),
        ]
    );
    assert_eq!(h[1]["renamed_from"], "art/hero.png");
    assert_eq!(h[0]["renamed_from"], serde_json::Value::Null);
    assert_eq!(h[1]["author"]["name"], "Ada");
    assert_eq!(h[1]["author"]["time"], T0 + 6 * DAY);
    assert_eq!(h[1]["notes"][0][0], "ticket");
    assert_eq!(h[1]["notes"][0][1], "ART-9");
    assert_eq!(h[0]["message"], "Hero pose\n\nArms up.");
    assert_eq!(
        h[0]["file"],
        h[0]["file"].as_str().map(|f| f.to_string()).unwrap()
    );

    // The table: one header and one row per revision, the rename marked.
    let out = s.run(&["history", "chars/hero.png"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("COMMIT"), "{out}");
    assert!(lines[1].starts_with(&id(0)[..12]), "{out}");
    assert!(
        lines[1].contains("Brian") && lines[1].ends_with("Hero pose"),
        "{out}"
    );
    assert!(
        lines[2].contains("chars/hero.png (renamed from art/hero.png)"),
        "{out}"
    );
    assert!(lines[2].contains("ticket=ART-9"), "{out}");
    assert!(
        lines[3].contains("art/hero.png") && lines[3].contains("4.9 KiB"),
        "{out}"
    );
    assert!(lines[3].contains("2023-11-14"), "{out}");

    // Relative paths, -n, an older start under the old name.
    let out = s.ok(
        &["history", "hero.png", "--json", "-n", "1"],
        &s.path("chars"),
    );
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 1);
    let old = s.json(&["history", "art/hero.png", "--rev", &id(3), "--json"]);
    assert_eq!(old.as_array().unwrap().len(), 1);
    let sky = s.json(&["history", "art/sky.png", "--json"]);
    assert_eq!(sky.as_array().unwrap().len(), 2);

    // Errors: gone from HEAD, a directory.
    let err = s.fail(&["history", "art/hero.png"]);
    assert!(err.contains("did not match"), "{err}");
    let err = s.fail(&["history", "chars"]);
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn history_across_several_renames() {
    let s = Scratch::init();
    s.write("a.bin", &noise(100, 3));
    s.run(&["add", "."]);
    commit_at(&s, T0, "Ada", "add", &[]);
    s.run(&["mv", "a.bin", "b.bin"]);
    commit_at(&s, T0 + DAY, "Ada", "a to b", &[]);
    s.write("b.bin", &noise(200, 4));
    commit_at(&s, T0 + 2 * DAY, "Ada", "edit b", &[]);
    s.run(&["mv", "b.bin", "dir/c.bin"]);
    commit_at(&s, T0 + 3 * DAY, "Ada", "b to c", &[]);
    let h = s.json(&["history", "dir/c.bin", "--json"]);
    let paths: Vec<(&str, &str)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["path"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            ("dir/c.bin", "b to c"),
            ("b.bin", "edit b"),
            ("b.bin", "a to b"),
            ("a.bin", "add"),
        ]
    );
}
