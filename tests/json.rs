//! `--json` on the commands that change things: commit, lock, unlock, config get and
//! list (push, pull and sync are in tests/sync.rs). Each prints what the library
//! call returned.
#![cfg(feature = "cli")]

mod common;

use common::{Scratch, User};

#[test]
fn commit_json_names_the_commit_branch_and_previews() {
    let s = Scratch::init();
    s.write("a.txt", b"a\n");
    s.run(&["add", "a.txt"]);
    let v = s.json(&["commit", "--json", "-m", "first line\n\nbody"]);
    let id = v["commit"].as_str().expect("commit id");
    assert_eq!(id.len(), 64, "{v}");
    assert_eq!(v["branch"], "main", "{v}");
    assert_eq!(v["summary"], "first line", "{v}");
    assert_eq!(v["previews"]["previews"], "off", "{v}");
    let log = s.json(&["log", "--json", "-n", "1"]);
    assert_eq!(log[0]["id"], id);
}

#[test]
fn config_get_and_list_json() {
    let s = Scratch::init();
    s.run(&["config", "set", "user.name", "Ada"]);
    let v = s.json(&["config", "get", "--json", "user.name"]);
    assert_eq!(v["key"], "user.name", "{v}");
    assert_eq!(v["value"], "Ada", "{v}");
    assert_eq!(v["origin"]["scope"], "repo", "{v}");
    assert!(
        v["origin"]["file"].as_str().unwrap().ends_with("gadn.db"),
        "{v}"
    );
    let out = s.output(&["config", "get", "--json", "user.email"]);
    assert_eq!(out.status.code(), Some(1), "unset is still status 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["value"].is_null(), "{v}");
    let all = s.json(&["config", "list", "--json"]);
    assert_eq!(all["user.name"], "Ada", "{all}");
}

#[test]
fn lock_and_unlock_json_one_line_per_path() {
    let s = Scratch::init();
    let ada = User::new("ada");
    s.write("hero.psd", b"layers");
    s.write("tree.fbx", b"mesh");
    ada.ok(&s, &["add", "."]);
    ada.ok(&s, &["commit", "-m", "art"]);
    let out = ada.ok(&s, &["lock", "--json", "hero.psd", "tree.fbx"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["path"], "hero.psd");
    assert_eq!(lines[0]["already_mine"], false);
    assert_eq!(lines[0]["record"].as_str().unwrap().len(), 64);
    let again = ada.ok(&s, &["lock", "--json", "hero.psd"]);
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(again["already_mine"], true);
    let out = ada.ok(&s, &["unlock", "--json", "hero.psd"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["path"], "hero.psd");
    assert!(v["broken_from"].is_null() && v["cleared"].is_null(), "{v}");
}

#[test]
fn log_json_lines_is_one_commit_object_per_line_newest_first() {
    let s = Scratch::init();
    for n in 0..3 {
        s.write("a.txt", format!("{n}\n").as_bytes());
        s.run(&["add", "a.txt"]);
        s.run(&["commit", "-m", &format!("commit {n}")]);
    }
    let array = s.json(&["log", "--json"]);
    let text = s.run(&["log", "--json-lines"]);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        serde_json::Value::Array(lines),
        array,
        "the same objects as --json"
    );
    assert_eq!(
        s.run(&["log", "--json-lines", "-n", "1"]).lines().count(),
        1
    );
    let err = s.fail(&["log", "--json", "--json-lines"]);
    assert!(err.contains("cannot be used with"), "{err}");
}
