//! `gadn merge` and `gadn resolve` through the real binary.

mod common;
use common::*;

fn commit(s: &Scratch, msg: &str) {
    s.run(&["add", "."]);
    s.run(&["commit", "-m", msg]);
}

fn head_commit(s: &Scratch) -> serde_json::Value {
    s.json(&["log", "--json"])[0].clone()
}

fn parents(s: &Scratch) -> usize {
    let c = head_commit(s);
    c["parents"].as_array().map_or(0, |p| p.len())
}

fn read(s: &Scratch, rel: &str) -> Option<Vec<u8>> {
    std::fs::read(s.path(rel)).ok()
}

fn clean(s: &Scratch) {
    let st = s.json(&["status", "--json"]);
    for k in ["staged", "unstaged", "untracked", "conflicts"] {
        assert!(st[k].as_array().unwrap().is_empty(), "{k}: {st}");
    }
}

/// `main` and `topic` fork from a base with `hero.png` and `notes.txt`.
fn forked() -> Scratch {
    let s = Scratch::init();
    s.write("hero.png", &noise(4096, 1));
    s.write("notes.txt", b"base");
    s.write("gone.txt", b"to delete");
    commit(&s, "base");
    s.run(&["branch", "topic"]);
    s
}

/// Both branches edit `hero.png` differently: a binary edit/edit conflict.
fn conflicted() -> Scratch {
    let s = forked();
    s.write("hero.png", &noise(4096, 2));
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    s.write("hero.png", &noise(4096, 3));
    s.write("extra.txt", b"from topic");
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    let out = s.output(&["merge", "topic"]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hero.png (content)"), "{text}");
    s
}

#[test]
fn fast_forward_moves_the_branch_and_the_tree() {
    let s = forked();
    s.run(&["switch", "topic"]);
    s.write("notes.txt", b"topic");
    s.write("new/file.bin", &noise(10000, 9));
    std::fs::remove_file(s.path("gone.txt")).unwrap();
    commit(&s, "topic work");
    let tip = head_commit(&s)["id"].clone();
    s.run(&["switch", "main"]);
    let out = s.run(&["merge", "topic"]);
    assert!(out.starts_with("Fast-forward"), "{out}");
    assert_eq!(head_commit(&s)["id"], tip);
    assert_eq!(s.json(&["status", "--json"])["branch"], "main");
    assert_eq!(read(&s, "notes.txt").unwrap(), b"topic");
    assert_eq!(read(&s, "new/file.bin").unwrap(), noise(10000, 9));
    assert!(read(&s, "gone.txt").is_none());
    clean(&s);
    // Merging it again, or an ancestor, changes nothing.
    assert_eq!(s.run(&["merge", "topic"]), "Already up to date.\n");
    assert_eq!(s.run(&["merge", "HEAD~1"]), "Already up to date.\n");
    assert_eq!(head_commit(&s)["id"], tip);
}

#[test]
fn disjoint_edits_merge_cleanly_into_a_two_parent_commit() {
    let s = forked();
    s.write("notes.txt", b"ours");
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    s.write("hero.png", &noise(4096, 5));
    std::fs::remove_file(s.path("gone.txt")).unwrap();
    s.write("art/new.png", &noise(3000, 6));
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    let out = s.run(&["merge", "topic"]);
    assert!(out.starts_with("Merge made: "), "{out}");
    let c = head_commit(&s);
    assert_eq!(parents(&s), 2, "{c}");
    assert_eq!(c["message"], "Merge branch 'topic'", "{c}");
    assert_eq!(read(&s, "notes.txt").unwrap(), b"ours");
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 5));
    assert_eq!(read(&s, "art/new.png").unwrap(), noise(3000, 6));
    assert!(read(&s, "gone.txt").is_none());
    clean(&s);
    assert_eq!(s.run(&["cat", "HEAD:notes.txt"]).as_bytes(), b"ours");
    // topic is now an ancestor: nothing to do.
    assert_eq!(s.run(&["merge", "topic"]), "Already up to date.\n");
}

#[test]
fn binary_conflict_is_recorded_and_shown_and_blocks_commit() {
    let s = conflicted();
    // Ours stays in place; the clean part of the merge is applied and staged.
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 2));
    assert_eq!(read(&s, "extra.txt").unwrap(), b"from topic");
    assert!(read(&s, "hero.theirs.png").is_none());
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["conflicts"], serde_json::json!(["hero.png (content)"]));
    let text = s.run(&["status"]);
    assert!(text.contains("Unmerged paths"), "{text}");
    assert!(text.contains("hero.png (content)"), "{text}");
    assert!(!text.contains("nothing to commit"), "{text}");
    let err = s.fail(&["commit", "-m", "too early"]);
    assert!(err.contains("still have merge conflicts"), "{err}");
    assert!(err.contains("hero.png"), "{err}");
    // A second merge is refused while this one is open.
    let err = s.fail(&["merge", "topic"]);
    assert!(err.contains("already in progress"), "{err}");
    let err = s.fail(&["resolve", "notes.txt", "--ours"]);
    assert!(err.contains("no unresolved merge conflict"), "{err}");
}

fn finish(s: &Scratch) {
    s.run(&["commit", "-m", "merged"]);
    assert_eq!(parents(s), 2);
    clean(s);
    let st = s.json(&["status", "--json"]);
    assert!(st["conflicts"].as_array().unwrap().is_empty());
    // The merge state is gone: a new merge is possible again.
    assert_eq!(s.run(&["merge", "topic"]), "Already up to date.\n");
}

#[test]
fn resolve_ours() {
    let s = conflicted();
    s.run(&["resolve", "hero.png", "--ours"]);
    finish(&s);
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 2));
    assert_eq!(read(&s, "extra.txt").unwrap(), b"from topic");
}

#[test]
fn resolve_theirs() {
    let s = conflicted();
    s.run(&["resolve", "hero.png", "--theirs"]);
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 3));
    finish(&s);
    s.run(&["checkout", "HEAD~1"]); // and back: the commit holds theirs
    s.run(&["switch", "main"]);
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 3));
}

#[test]
fn resolve_both() {
    let s = conflicted();
    let out = s.run(&["resolve", "hero.png", "--both"]);
    assert!(out.contains("staged hero.theirs.png"), "{out}");
    finish(&s);
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 2));
    assert_eq!(read(&s, "hero.theirs.png").unwrap(), noise(4096, 3));
    let shown = s.cmd(&["cat", "HEAD:hero.theirs.png"]).output().unwrap();
    assert_eq!(shown.stdout, noise(4096, 3));
}

#[test]
fn edit_delete_and_add_add_conflicts() {
    let s = forked();
    s.write("notes.txt", b"ours edit");
    std::fs::remove_file(s.path("gone.txt")).unwrap();
    s.write("both.bin", b"ours add");
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    std::fs::remove_file(s.path("notes.txt")).unwrap();
    s.write("gone.txt", b"theirs edit");
    s.write("both.bin", b"theirs add");
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    let out = s.output(&["merge", "topic"]);
    assert!(!out.status.success());
    let st = s.json(&["status", "--json"]);
    assert_eq!(
        st["conflicts"],
        serde_json::json!([
            "both.bin (add/add)",
            "gone.txt (delete/modify)",
            "notes.txt (modify/delete)"
        ]),
        "{st}"
    );
    s.run(&["resolve", "notes.txt", "--theirs"]); // accept the deletion
    s.run(&["resolve", "gone.txt", "--theirs"]); // bring the edited file back
    s.run(&["resolve", "both.bin", "--ours"]);
    s.run(&["commit", "-m", "merged"]);
    assert_eq!(parents(&s), 2);
    assert!(read(&s, "notes.txt").is_none());
    assert_eq!(read(&s, "gone.txt").unwrap(), b"theirs edit");
    assert_eq!(read(&s, "both.bin").unwrap(), b"ours add");
    clean(&s);
}

#[test]
fn abort_restores_the_pre_merge_state() {
    let s = conflicted();
    let before = head_commit(&s)["id"].clone();
    s.run(&["resolve", "hero.png", "--both"]);
    s.run(&["merge", "--abort"]);
    assert_eq!(head_commit(&s)["id"], before);
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 2));
    assert!(read(&s, "extra.txt").is_none());
    // What the merge staged (the --both copy included) is gone with it.
    assert!(read(&s, "hero.theirs.png").is_none());
    clean(&s);
    let err = s.fail(&["merge", "--abort"]);
    assert!(err.contains("no merge is in progress"), "{err}");
    // A fresh merge is possible again.
    assert!(!s.output(&["merge", "topic"]).status.success());
}

#[test]
fn dirty_tree_is_refused_and_nothing_changes() {
    let s = forked();
    s.write("notes.txt", b"ours");
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    s.write("hero.png", &noise(4096, 5));
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    let before = head_commit(&s)["id"].clone();
    s.write("notes.txt", b"uncommitted");
    let err = s.fail(&["merge", "topic"]);
    assert!(err.contains("merge would overwrite local changes"), "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(head_commit(&s)["id"], before);
    assert_eq!(read(&s, "notes.txt").unwrap(), b"uncommitted");
    assert_eq!(read(&s, "hero.png").unwrap(), noise(4096, 1));
    let st = s.json(&["status", "--json"]);
    assert!(st["conflicts"].as_array().unwrap().is_empty());
    assert!(st["staged"].as_array().unwrap().is_empty());
    // An untracked file where the merge would write one is refused too.
    s.write("notes.txt", b"ours");
    s.run(&["switch", "topic"]);
    s.write("fresh.txt", b"theirs");
    commit(&s, "adds fresh");
    s.run(&["switch", "main"]);
    s.write("fresh.txt", b"mine, untracked");
    let err = s.fail(&["merge", "topic"]);
    assert!(err.contains("fresh.txt"), "{err}");
    assert_eq!(read(&s, "fresh.txt").unwrap(), b"mine, untracked");
}
