//! The SQLite history index through the real binary: `log` filters and `history`
//! stay right as the repository grows (commits, branches, merges, tags), when the
//! index is damaged, and `find` with each of its filters.
#![cfg(feature = "cli")]

mod common;

use common::Scratch;
use serde_json::Value;

fn commit(s: &Scratch, msg: &str) -> String {
    s.run(&["add", "."]);
    s.run(&["commit", "-m", msg]);
    s.run(&["log", "-n", "1", "--oneline"])
        .split_whitespace()
        .next()
        .expect("a commit")
        .to_string()
}

/// `log --oneline` messages, newest first.
fn messages(s: &Scratch, args: &[&str]) -> Vec<String> {
    let mut full = vec!["log", "--oneline"];
    full.extend_from_slice(args);
    s.run(&full)
        .lines()
        .map(|l| l.split_once(' ').map_or("", |x| x.1).to_string())
        .collect()
}

/// `history --json` as (message, path, change) triples.
fn history(s: &Scratch, args: &[&str]) -> Vec<(String, String, String)> {
    let mut full = vec!["history", "--json"];
    full.extend_from_slice(args);
    s.json(&full)
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["message"].as_str().unwrap_or("").to_string(),
                e["path"].as_str().unwrap_or("").to_string(),
                e["change"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn db(s: &Scratch) -> rusqlite::Connection {
    rusqlite::Connection::open(s.path(".gadn/gadn.db")).expect("open the state database")
}

fn count(s: &Scratch, table: &str) -> i64 {
    db(s)
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

#[test]
fn index_catches_up_with_commits_branches_merges_and_tags() {
    let s = Scratch::init();
    s.write("art/hero.png", b"v1");
    s.write("notes.txt", b"n1");
    commit(&s, "first");
    assert_eq!(messages(&s, &["--path", "art"]), ["first"]);
    assert_eq!(count(&s, "hist_commits"), 1);

    s.write("art/hero.png", b"v2");
    commit(&s, "second");
    assert_eq!(
        messages(&s, &["--path", "art/hero.png"]),
        ["second", "first"]
    );
    assert_eq!(count(&s, "hist_commits"), 2);

    // A branch with a rename; main edits something else; then merge.
    s.run(&["switch", "-c", "topic"]);
    s.run(&["mv", "art/hero.png", "art/hero2.png"]);
    s.run(&["commit", "-m", "rename on topic"]);
    s.write("art/hero2.png", b"v3");
    commit(&s, "edit on topic");
    // Not yet queried from main: the branch tip is indexed anyway (every ref is a tip).
    assert_eq!(messages(&s, &["--path", "notes.txt"]), ["first"]);
    assert_eq!(count(&s, "hist_commits"), 4);
    s.run(&["switch", "main"]);
    s.write("notes.txt", b"n2");
    commit(&s, "notes on main");
    s.run(&["merge", "topic"]);
    let merge_msg = messages(&s, &["-n", "1"]).remove(0);
    assert!(merge_msg.to_lowercase().contains("merge"), "{merge_msg}");
    assert_eq!(
        history(&s, &["art/hero2.png"]),
        [
            (
                "edit on topic".into(),
                "art/hero2.png".into(),
                "modified".into()
            ),
            (
                "rename on topic".into(),
                "art/hero2.png".into(),
                "renamed".into()
            ),
            ("second".into(), "art/hero.png".into(), "modified".into()),
            ("first".into(), "art/hero.png".into(), "added".into()),
        ]
    );
    let art = messages(&s, &["--path", "art"]);
    assert!(art.contains(&merge_msg), "{art:?}");
    assert!(art.contains(&"rename on topic".to_string()), "{art:?}");
    assert!(!art.contains(&"notes on main".to_string()), "{art:?}");

    // A tag on a commit no branch reaches any more is a tip too.
    s.run(&["switch", "-c", "side"]);
    s.write("side.txt", b"s");
    commit(&s, "side only");
    s.run(&["tag", "v-side", "-m", "side tag"]);
    s.run(&["switch", "main"]);
    s.run(&["branch", "-D", "side"]);
    // A query from main indexes it through the tag alone.
    let before = count(&s, "hist_commits");
    assert!(messages(&s, &["--path", "nothing"]).is_empty());
    assert_eq!(count(&s, "hist_commits"), before + 1);
    assert_eq!(
        messages(&s, &["v-side", "--path", "side.txt"]),
        ["side only"]
    );
    assert_eq!(count(&s, "hist_commits"), before + 1);
    // Not reachable from main: never listed there.
    assert!(messages(&s, &["--path", "side.txt"]).is_empty());
    assert_eq!(
        history(&s, &["side.txt", "--rev", "v-side"]),
        [("side only".into(), "side.txt".into(), "added".into())]
    );
    // -n limits history too.
    assert_eq!(history(&s, &["art/hero2.png", "-n", "1"]).len(), 1);
}

#[test]
fn deleted_commits_do_not_show_up_after_gc() {
    let s = Scratch::init();
    s.write("a.txt", b"1");
    commit(&s, "base");
    s.run(&["switch", "-c", "doomed"]);
    s.write("a.txt", b"2");
    commit(&s, "doomed edit");
    assert_eq!(messages(&s, &["--path", "a.txt"]), ["doomed edit", "base"]);
    s.run(&["switch", "main"]);
    s.run(&["branch", "-D", "doomed"]);
    s.run(&["gc"]);
    assert_eq!(messages(&s, &["--path", "a.txt"]), ["base"]);
    assert_eq!(history(&s, &["a.txt"]).len(), 1);
    s.write("a.txt", b"3");
    commit(&s, "after gc");
    assert_eq!(messages(&s, &["--path", "a.txt"]), ["after gc", "base"]);
}

#[test]
fn a_damaged_or_emptied_index_is_rebuilt() {
    let s = Scratch::init();
    s.write("a.txt", b"1");
    s.write("d/b.txt", b"1");
    commit(&s, "one");
    s.write("a.txt", b"2");
    commit(&s, "two");
    s.write("d/b.txt", b"2");
    commit(&s, "three");
    let want_log = messages(&s, &["--path", "d"]);
    let want_hist = history(&s, &["a.txt"]);
    assert_eq!(want_log, ["three", "one"]);
    for sql in [
        "DELETE FROM hist_changes WHERE path = 'a.txt'",
        "DELETE FROM hist_commits",
        "DELETE FROM hist_meta",
        "DELETE FROM hist_changes; DELETE FROM hist_commits; DELETE FROM hist_meta;",
        "UPDATE hist_changes SET kind = 'D', file = NULL, size = NULL WHERE path = 'a.txt'",
    ] {
        db(&s).execute_batch(sql).expect("tamper");
        assert_eq!(messages(&s, &["--path", "d"]), want_log, "after {sql}");
        assert_eq!(history(&s, &["a.txt"]), want_hist, "after {sql}");
    }
    assert_eq!(count(&s, "hist_commits"), 3);
}

#[test]
fn log_filters_combine_with_the_index() {
    let s = Scratch::init();
    s.write("a.txt", b"1");
    commit(&s, "Retexture hero");
    s.write("b.txt", b"1");
    s.run(&["add", "."]);
    s.run(&[
        "commit",
        "-m",
        "sound pass",
        "--author",
        "Grace Hopper <grace@example.org>",
    ]);
    assert_eq!(messages(&s, &["--author", "GRACE"]), ["sound pass"]);
    assert_eq!(messages(&s, &["--grep", "retex"]), ["Retexture hero"]);
    assert_eq!(
        messages(&s, &["--since", "1 hour ago", "--path", "b.txt"]),
        ["sound pass"]
    );
    assert!(messages(&s, &["--since", "2999-01-01"]).is_empty());
    let json = s.json(&["log", "--json", "--path", "a.txt"]);
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["message"], "Retexture hero");
}

fn paths(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|a| a["path"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn find_filters_assets() {
    let s = Scratch::init();
    // A real PNG signature, a WAV header, plain text.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(3000, 0);
    s.write("art/hero.png", &png);
    s.write("art/small.png", &png[..100]);
    let mut wav = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    wav.resize(2 << 20, 1);
    s.write("sfx/boom.wav", &wav);
    s.write("docs/readme.txt", b"hello world\n");
    commit(&s, "import");
    s.run(&[
        "meta",
        "set",
        "art/hero.png",
        "tags+=hero,final",
        "author=Grace",
    ]);
    s.run(&[
        "commit",
        "-m",
        "tag hero",
        "--author",
        "Bob Builder <bob@example.org>",
    ]);

    let all = s.json(&["find", "--json"]);
    assert_eq!(
        paths(&all),
        [
            "art/hero.png",
            "art/small.png",
            "docs/readme.txt",
            "sfx/boom.wav"
        ]
    );
    let hero = &all[0];
    assert_eq!(hero["author"], "Grace");
    assert_eq!(hero["tags"], serde_json::json!(["final", "hero"]));
    assert_eq!(hero["size"], 3000);
    assert!(hero["modified"].as_i64().unwrap_or(0) > 0);
    assert_eq!(all[1]["author"], "Test Artist");

    let find = |args: &[&str]| {
        let mut full = vec!["find", "--json"];
        full.extend_from_slice(args);
        paths(&s.json(&full))
    };
    let kind = hero["type"].as_str().expect("type").to_string();
    let class = hero["class"].as_str().expect("class").to_string();
    let by_type = find(&["--type", &kind]);
    assert!(by_type.contains(&"art/hero.png".to_string()));
    assert!(!by_type.contains(&"docs/readme.txt".to_string()) || all[2]["type"] == kind.as_str());
    assert!(find(&["--class", &class]).contains(&"art/small.png".to_string()));
    assert!(find(&["--type", "no-such-type"]).is_empty());
    assert_eq!(find(&["--min-size", "1M"]), ["sfx/boom.wav"]);
    assert_eq!(
        find(&["--max-size", "100"]),
        ["art/small.png", "docs/readme.txt"]
    );
    assert_eq!(
        find(&["--min-size", "1KiB", "--max-size", "1.5MiB"]),
        ["art/hero.png"]
    );
    assert_eq!(find(&["--tag", "HERO"]), ["art/hero.png"]);
    assert!(find(&["--tag", "draft"]).is_empty());
    assert_eq!(find(&["--author", "grace"]), ["art/hero.png"]);
    assert_eq!(find(&["--author", "test artist"]).len(), 3);
    assert_eq!(find(&["--path-glob", "art/*"]).len(), 2);
    assert_eq!(find(&["--path-glob", "**/*.wav"]), ["sfx/boom.wav"]);
    assert_eq!(find(&["--since", "1 hour ago"]).len(), 4);
    assert!(find(&["--since", "2999-01-01"]).is_empty());
    // An older revision: before the metadata.
    let old = s.json(&["find", "HEAD~1", "--json", "--tag", "hero"]);
    assert!(paths(&old).is_empty());

    // The table.
    let table = s.run(&["find", "--tag", "hero"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    for h in ["PATH", "SIZE", "TYPE", "AUTHOR", "MODIFIED", "TAGS"] {
        assert!(lines[0].contains(h), "{table}");
    }
    assert!(lines[1].starts_with("art/hero.png"), "{table}");
    assert!(
        lines[1].contains("2.9 KiB") && lines[1].contains("final,hero"),
        "{table}"
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let s = Scratch::init();
    s.write("a.txt", b"1");
    commit(&s, "one");
    let fails = |args: &[&str], want: &str| {
        let out = s.output(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    fails(&["find", "--min-size", "10X"], "cannot read size '10X'");
    fails(&["find", "--max-size=-1"], "cannot read size");
    fails(
        &["find", "--since", "someday"],
        "cannot read date 'someday'",
    );
    fails(&["find", "no-such-rev"], "unknown revision 'no-such-rev'");
    fails(&["find", "--path-glob", "a/{b"], "not a valid glob");
    fails(
        &["log", "--path", "a.txt", "nope"],
        "unknown revision 'nope'",
    );
    fails(&["log", "--since", "soon"], "cannot read date 'soon'");
    fails(&["history", "missing.txt"], "did not match any file");
    fails(&["history", "a.txt", "--rev", "nope"], "unknown revision");
    // Nothing was written by the refused commands: the index holds just the commit.
    assert!(count(&s, "hist_commits") <= 1);
    // Bad usage is exit 2 (clap).
    assert_eq!(s.output(&["find", "--no-such-flag"]).status.code(), Some(2));
}

#[test]
fn find_on_an_empty_repository_fails_cleanly() {
    let s = Scratch::init();
    let out = s.output(&["find"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.is_empty());
}
