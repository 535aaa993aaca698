//! Branches, switching and tags through the real binary.
#![cfg(feature = "cli")]

mod common;
use common::*;

/// A repository whose `main` has `a.txt` = "base", then a commit on `topic` that
/// changes it and adds a big file. Leaves `main` checked out.
fn two_branches() -> (Scratch, Vec<u8>) {
    let s = Scratch::init();
    s.write("a.txt", b"base");
    s.write("dir/keep.txt", b"keep");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "base"]);
    s.run(&["switch", "-c", "topic"]);
    let big = noise(2 << 20, 7);
    s.write("a.txt", b"topic version");
    s.write("art/big.bin", &big);
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "topic work"]);
    s.run(&["switch", "main"]);
    (s, big)
}

fn clean(s: &Scratch) {
    let st = s.json(&["status", "--json"]);
    assert!(st["staged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["untracked"].as_array().unwrap().is_empty(), "{st}");
}

#[test]
fn create_list_rename_delete() {
    let s = Scratch::init();
    let err = s.fail(&["branch", "early"]);
    assert!(err.contains("there are no commits yet"), "{err}");
    s.write("a.txt", b"a");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "first"]);
    let out = s.run(&["branch", "feature"]);
    assert!(out.starts_with("Created branch feature at "), "{out}");
    s.run(&["branch", "other", "HEAD"]);
    assert_eq!(s.run(&["branch"]), "  feature\n* main\n  other\n");
    let err = s.fail(&["branch", "feature"]);
    assert!(
        err.contains("a branch named 'feature' already exists"),
        "{err}"
    );

    let list = s.json(&["branch", "--json"]);
    let head = s.json(&["log", "--json"])[0]["id"].clone();
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list[1]["name"], "main");
    assert_eq!(list[1]["current"], true);
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[0]["commit"], head, "{list}");

    // Rename a branch, and the current one (HEAD follows).
    s.run(&["branch", "-m", "other", "renamed"]);
    s.run(&["branch", "-m", "main", "trunk"]);
    assert_eq!(s.run(&["branch"]), "  feature\n  renamed\n* trunk\n");
    assert_eq!(s.json(&["status", "--json"])["branch"], "trunk");
    let err = s.fail(&["branch", "-m", "feature", "renamed"]);
    assert!(err.contains("already exists"), "{err}");

    // Deleting the current branch is refused; a merged branch goes without -D.
    let err = s.fail(&["branch", "-d", "trunk"]);
    assert!(err.contains("it is the current branch"), "{err}");
    let out = s.run(&["branch", "-d", "renamed"]);
    assert!(out.starts_with("Deleted branch renamed (was "), "{out}");
    let err = s.fail(&["branch", "-d", "renamed"]);
    assert!(err.contains("no branch named 'renamed'"), "{err}");
    assert_eq!(s.run(&["branch"]), "  feature\n* trunk\n");
    // A new commit after the rename advances the renamed branch.
    s.write("a.txt", b"b");
    s.run(&["commit", "-a", "-m", "second"]);
    assert_eq!(
        s.json(&["log", "--json", "trunk"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn bad_names_are_refused() {
    let s = Scratch::init();
    s.write("a.txt", b"a");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "first"]);
    for bad in ["a..b", "x.lock", "has space", "HEAD"] {
        let err = s.fail(&["branch", bad]);
        assert!(err.contains("is not a valid branch name"), "{bad}: {err}");
        let err = s.fail(&["tag", bad]);
        assert!(err.contains("is not a valid tag name"), "{bad}: {err}");
        let err = s.fail(&["switch", "-c", bad]);
        assert!(err.contains("is not a valid branch name"), "{bad}: {err}");
    }
    assert_eq!(s.run(&["branch"]), "* main\n");
    assert_eq!(s.run(&["tag", "--list"]), "");
}

#[test]
fn switch_back_and_forth_restores_exact_bytes() {
    let (s, big) = two_branches();
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"base");
    assert!(!s.path("art").exists());
    clean(&s);
    for _ in 0..2 {
        let out = s.run(&["switch", "topic"]);
        assert!(out.starts_with("Switched to branch 'topic'"), "{out}");
        assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"topic version");
        assert_eq!(std::fs::read(s.path("art/big.bin")).unwrap(), big);
        assert_eq!(std::fs::read(s.path("dir/keep.txt")).unwrap(), b"keep");
        assert_eq!(s.json(&["status", "--json"])["branch"], "topic");
        clean(&s);
        s.run(&["switch", "main"]);
        assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"base");
        assert!(!s.path("art").exists(), "files and empty dirs removed");
        assert_eq!(s.json(&["status", "--json"])["branch"], "main");
        clean(&s);
    }
    // Switching to the current branch is a no-op.
    s.run(&["switch", "main"]);
    let err = s.fail(&["switch", "nope"]);
    assert!(err.contains("no branch named 'nope'"), "{err}");
}

#[test]
fn switch_refused_on_dirty_tree_changes_nothing() {
    let (s, _) = two_branches();
    s.write("a.txt", b"local edit");
    let err = s.fail(&["switch", "topic"]);
    assert!(
        err.contains("switch would overwrite local changes"),
        "{err}"
    );
    assert!(err.contains("a.txt"), "{err}");
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"local edit");
    assert!(!s.path("art").exists());
    assert_eq!(s.json(&["status", "--json"])["branch"], "main");
    // -c keeps the local change on the new branch.
    s.run(&["switch", "-c", "wip"]);
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"local edit");
    assert_eq!(s.json(&["status", "--json"])["branch"], "wip");
    let err = s.fail(&["switch", "-c", "topic"]);
    assert!(err.contains("already exists"), "{err}");
    // --force discards it.
    s.run(&["switch", "--force", "topic"]);
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"topic version");
    clean(&s);
}

#[test]
fn unmerged_branch_needs_force_to_delete() {
    let (s, _) = two_branches();
    let err = s.fail(&["branch", "-d", "topic"]);
    assert!(
        err.contains("not reachable from HEAD or any other branch"),
        "{err}"
    );
    assert!(err.contains("gadn branch -D topic"), "{err}");
    assert_eq!(s.run(&["branch"]), "* main\n  topic\n");
    // Reachable from another branch: fine without force.
    s.run(&["branch", "copy", "topic"]);
    s.run(&["branch", "-d", "topic"]);
    let out = s.run(&["branch", "-D", "copy"]);
    assert!(out.starts_with("Deleted branch copy"), "{out}");
    assert_eq!(s.run(&["branch"]), "* main\n");
}

#[test]
fn lightweight_and_annotated_tags() {
    let (s, big) = two_branches();
    s.run(&["tag", "base"]);
    let out = s.run(&["tag", "v1.0", "-m", "first release", "topic"]);
    assert!(out.starts_with("Created annotated tag v1.0"), "{out}");
    let err = s.fail(&["tag", "v1.0"]);
    assert!(err.contains("tag 'v1.0' already exists"), "{err}");
    let err = s.fail(&["tag", "base", "-m", "again"]);
    assert!(err.contains("already exists"), "{err}");

    // show/log/cat through the tag and TAG~1.
    let show = s.json(&["show", "--json", "v1.0"]);
    assert_eq!(show["message"], "topic work");
    let show = s.json(&["show", "--json", "v1.0~1"]);
    assert_eq!(show["message"], "base");
    assert_eq!(s.json(&["show", "--json", "base"])["message"], "base");
    let log = s.json(&["log", "--json", "v1.0"]);
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    assert_eq!(s.output(&["cat", "v1.0:art/big.bin"]).stdout, big);
    assert_eq!(s.output(&["cat", "v1.0~1:a.txt"]).stdout, b"base");
    assert_eq!(s.output(&["cat", "base:a.txt"]).stdout, b"base");

    let tags = s.json(&["tag", "--list", "--json"]);
    let topic = s.json(&["log", "--json", "topic"])[0]["id"].clone();
    let main = s.json(&["log", "--json", "main"])[0]["id"].clone();
    assert_eq!(tags.as_array().unwrap().len(), 2, "{tags}");
    assert_eq!(tags[0]["name"], "base");
    assert_eq!(tags[0]["annotated"], false);
    assert_eq!(tags[0]["target_commit"], main);
    assert!(tags[0]["message"].is_null(), "{tags}");
    assert_eq!(tags[1]["name"], "v1.0");
    assert_eq!(tags[1]["annotated"], true);
    assert_eq!(tags[1]["target_commit"], topic);
    assert_eq!(tags[1]["message"], "first release");
    let text = s.run(&["tag"]);
    assert!(
        text.contains("v1.0  ") && text.contains("first release"),
        "{text}"
    );

    // A tag is not a branch to switch to.
    let err = s.fail(&["switch", "v1.0"]);
    assert!(err.contains("no branch named 'v1.0'"), "{err}");

    let out = s.run(&["tag", "--delete", "v1.0"]);
    assert!(out.starts_with("Deleted tag v1.0"), "{out}");
    let err = s.fail(&["tag", "--delete", "v1.0"]);
    assert!(err.contains("no tag named 'v1.0'"), "{err}");
    let err = s.fail(&["show", "v1.0"]);
    assert!(err.contains("unknown revision"), "{err}");
    assert_eq!(s.json(&["tag", "--json"]).as_array().unwrap().len(), 1);
    // The store is still consistent.
    s.run(&["fsck"]);
}

/// A dirty file does not stop a switch that would not touch it: to a branch on the
/// same commit, or one whose commit holds that file alike (git carries the change
/// over). Only a change the switch would overwrite refuses it.
#[test]
fn switch_keeps_local_changes_the_target_does_not_touch() {
    let (s, big) = two_branches();
    s.run(&["branch", "same"]);
    s.write("dir/keep.txt", b"local edit");
    s.write("new.txt", b"staged new file");
    s.run(&["add", "new.txt"]);
    let before = s.json(&["status", "--json"]);
    // The same commit: nothing to change.
    s.run(&["switch", "same"]);
    let after = s.json(&["status", "--json"]);
    assert_eq!(after["branch"], "same");
    assert_eq!(after["staged"], before["staged"], "{after}");
    assert_eq!(after["unstaged"], before["unstaged"], "{after}");
    // Another commit, which holds dir/keep.txt alike: the edit goes along.
    s.run(&["switch", "topic"]);
    assert_eq!(std::fs::read(s.path("art/big.bin")).unwrap(), big);
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"topic version");
    assert_eq!(
        std::fs::read(s.path("dir/keep.txt")).unwrap(),
        b"local edit"
    );
    let (st, staged) = s.status_staged();
    assert_eq!(staged, ["new.txt"], "{st}");
    // A change the switch would overwrite is refused, naming only it.
    s.write("a.txt", b"mine");
    let err = s.fail(&["switch", "main"]);
    assert!(
        err.contains("switch would overwrite local changes"),
        "{err}"
    );
    assert!(err.contains("a.txt") && !err.contains("keep.txt"), "{err}");
    assert_eq!(s.json(&["status", "--json"])["branch"], "topic");
}
