//! `gadn merge` and `gadn resolve` through the real binary.
#![cfg(feature = "cli")]

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

// ---------------------------------------------------------------------------------
// One test per concurrent-edit scenario: the conflict is reported by `merge` and
// `status`, every resolution gives the expected committed tree and working tree, and
// `merge --abort` restores the pre-merge state.

use std::collections::BTreeMap;

type Files = BTreeMap<String, Vec<u8>>;

/// Every file of the working tree (the store excluded).
fn work_files(s: &Scratch) -> Files {
    fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Files) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if rel == ".gadn" {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = Files::new();
    walk(&s.repo(), &s.repo(), &mut out);
    out
}

/// Every file of a commit, read back through `gadn show --json` and `gadn cat`.
fn tree_files(s: &Scratch, rev: &str) -> Files {
    fn walk(s: &Scratch, rev: &str, dir: &str, out: &mut Files) {
        let v = s.json(&["show", &format!("{rev}:{dir}"), "--json"]);
        for e in v["entries"].as_array().cloned().unwrap_or_default() {
            let name = e["name"].as_str().unwrap();
            let path = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            if e["kind"] == "dir" {
                walk(s, rev, &path, out);
            } else {
                let got = s.output(&["cat", &format!("{rev}:{path}")]);
                assert!(got.status.success());
                out.insert(path, got.stdout);
            }
        }
    }
    let mut out = Files::new();
    walk(s, rev, "", &mut out);
    out
}

fn files(list: &[(&str, &[u8])]) -> Files {
    list.iter()
        .map(|(p, c)| (p.to_string(), c.to_vec()))
        .collect()
}

fn mv(s: &Scratch, from: &str, to: &str) {
    let to_abs = s.path(to);
    std::fs::create_dir_all(to_abs.parent().unwrap()).unwrap();
    std::fs::rename(s.path(from), to_abs).unwrap();
}

fn rm(s: &Scratch, p: &str) {
    std::fs::remove_file(s.path(p)).unwrap();
}

/// A repository whose `main` (after `ours`) and `topic` (after `theirs`) fork from a
/// base holding `base`; HEAD on `main`, nothing merged yet.
fn diverge(base: &Files, ours: &dyn Fn(&Scratch), theirs: &dyn Fn(&Scratch)) -> Scratch {
    let s = Scratch::init();
    for (p, c) in base {
        s.write(p, c);
    }
    commit(&s, "base");
    s.run(&["branch", "topic"]);
    ours(&s);
    commit(&s, "ours");
    s.run(&["switch", "topic"]);
    theirs(&s);
    commit(&s, "theirs");
    s.run(&["switch", "main"]);
    s
}

/// Merges `topic`, expecting exactly `conflicts` (as `status --json` lists them).
fn merge_conflicting(s: &Scratch, conflicts: &[&str]) {
    let out = s.output(&["merge", "topic"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "merge must report the conflicts"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for c in conflicts {
        let path = c.split(' ').next().unwrap();
        assert!(text.contains(path), "{c} not in merge output:\n{text}");
    }
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["conflicts"], serde_json::json!(conflicts), "{st}");
    let human = s.run(&["status"]);
    assert!(human.contains("Unmerged paths"), "{human}");
    assert!(s
        .fail(&["commit", "-m", "too early"])
        .contains("still have merge conflicts"));
}

/// Runs the scenario once per resolution and once more for `merge --abort`.
fn check_scenario(
    make: &dyn Fn() -> Scratch,
    conflicts: &[&str],
    resolve_at: &str,
    outcomes: &[(&str, Files)],
) {
    for (flag, want) in outcomes {
        let s = make();
        merge_conflicting(&s, conflicts);
        s.run(&["resolve", resolve_at, flag]);
        let st = s.json(&["status", "--json"]);
        assert!(
            st["conflicts"].as_array().unwrap().is_empty(),
            "{flag}: {st}"
        );
        s.run(&["commit", "-m", "merged"]);
        assert_eq!(parents(&s), 2);
        assert_eq!(&tree_files(&s, "HEAD"), want, "committed tree after {flag}");
        assert_eq!(&work_files(&s), want, "working tree after {flag}");
        clean(&s);
    }
    let s = make();
    let before = work_files(&s);
    let head = head_commit(&s)["id"].clone();
    merge_conflicting(&s, conflicts);
    s.run(&["merge", "--abort"]);
    assert_eq!(work_files(&s), before, "abort restores the working tree");
    assert_eq!(head_commit(&s)["id"], head);
    clean(&s);
}

fn bin(seed: u64) -> Vec<u8> {
    noise(3000, seed)
}

#[test]
fn scenario_binary_edit_edit() {
    let make = || {
        diverge(
            &files(&[("hero.png", &bin(1))]),
            &|s| s.write("hero.png", &bin(2)),
            &|s| s.write("hero.png", &bin(3)),
        )
    };
    check_scenario(
        &make,
        &["hero.png (content)"],
        "hero.png",
        &[
            ("--ours", files(&[("hero.png", &bin(2))])),
            ("--theirs", files(&[("hero.png", &bin(3))])),
            (
                "--both",
                files(&[("hero.png", &bin(2)), ("hero.theirs.png", &bin(3))]),
            ),
        ],
    );
}

#[test]
fn scenario_edit_delete_and_delete_edit() {
    let base = files(&[("a.bin", &bin(1)), ("keep.txt", b"k")]);
    let edit_delete = || diverge(&base, &|s| s.write("a.bin", &bin(2)), &|s| rm(s, "a.bin"));
    check_scenario(
        &edit_delete,
        &["a.bin (modify/delete)"],
        "a.bin",
        &[
            ("--ours", files(&[("a.bin", &bin(2)), ("keep.txt", b"k")])),
            ("--theirs", files(&[("keep.txt", b"k")])),
            ("--both", files(&[("a.bin", &bin(2)), ("keep.txt", b"k")])),
        ],
    );
    let delete_edit = || diverge(&base, &|s| rm(s, "a.bin"), &|s| s.write("a.bin", &bin(3)));
    check_scenario(
        &delete_edit,
        &["a.bin (delete/modify)"],
        "a.bin",
        &[
            ("--ours", files(&[("keep.txt", b"k")])),
            ("--theirs", files(&[("a.bin", &bin(3)), ("keep.txt", b"k")])),
            (
                "--both",
                files(&[("a.theirs.bin", &bin(3)), ("keep.txt", b"k")]),
            ),
        ],
    );
}

#[test]
fn scenario_add_add() {
    let make = || {
        diverge(
            &files(&[("keep.txt", b"k")]),
            &|s| s.write("new.bin", &bin(2)),
            &|s| s.write("new.bin", &bin(3)),
        )
    };
    let k: (&str, &[u8]) = ("keep.txt", b"k");
    check_scenario(
        &make,
        &["new.bin (add/add)"],
        "new.bin",
        &[
            ("--ours", files(&[k, ("new.bin", &bin(2))])),
            ("--theirs", files(&[k, ("new.bin", &bin(3))])),
            (
                "--both",
                files(&[k, ("new.bin", &bin(2)), ("new.theirs.bin", &bin(3))]),
            ),
        ],
    );
}

#[test]
fn scenario_rename_edit_merges_cleanly_both_ways() {
    for ours_renames in [true, false] {
        let rename = |s: &Scratch| mv(s, "hero.png", "art/hero.png");
        let edit = |s: &Scratch| s.write("hero.png", &bin(2));
        let s = if ours_renames {
            diverge(&files(&[("hero.png", &bin(1))]), &rename, &edit)
        } else {
            diverge(&files(&[("hero.png", &bin(1))]), &edit, &rename)
        };
        let out = s.run(&["merge", "topic"]);
        assert!(out.starts_with("Merge made"), "{out}");
        let want = files(&[("art/hero.png", &bin(2))]);
        assert_eq!(
            tree_files(&s, "HEAD"),
            want,
            "the edit lands at the new name"
        );
        assert_eq!(work_files(&s), want);
        clean(&s);
    }
}

#[test]
fn scenario_rename_rename() {
    let make = || {
        diverge(
            &files(&[("hero.png", &bin(1))]),
            &|s| mv(s, "hero.png", "a/hero.png"),
            &|s| mv(s, "hero.png", "b/hero.png"),
        )
    };
    check_scenario(
        &make,
        &["a/hero.png (rename/rename)"],
        "a/hero.png",
        &[
            ("--ours", files(&[("a/hero.png", &bin(1))])),
            ("--theirs", files(&[("b/hero.png", &bin(1))])),
            (
                "--both",
                files(&[("a/hero.png", &bin(1)), ("b/hero.png", &bin(1))]),
            ),
        ],
    );
    let s = make();
    merge_conflicting(&s, &["a/hero.png (rename/rename)"]);
    let human = s.run(&["status"]);
    assert!(human.contains("theirs renamed it to b/hero.png"), "{human}");
    // The JSON outcome names both sides' names.
    let s = make();
    let out = s.output(&["merge", "topic", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "conflicts exit 4 in JSON mode too"
    );
    let out: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out["result"], "conflicts", "{out}");
    assert_eq!(
        out["conflicts"],
        serde_json::json!([{"path": "a/hero.png", "kind": "rename/rename", "theirs_path": "b/hero.png"}])
    );
}

#[test]
fn scenario_rename_delete_and_delete_rename() {
    let base = files(&[("hero.png", &bin(1))]);
    let make = || {
        diverge(&base, &|s| mv(s, "hero.png", "art/hero.png"), &|s| {
            rm(s, "hero.png")
        })
    };
    check_scenario(
        &make,
        &["art/hero.png (rename/delete)"],
        "art/hero.png",
        &[
            ("--ours", files(&[("art/hero.png", &bin(1))])),
            ("--theirs", Files::new()),
            ("--both", files(&[("art/hero.png", &bin(1))])),
        ],
    );
    let mirror = || {
        diverge(&base, &|s| rm(s, "hero.png"), &|s| {
            mv(s, "hero.png", "art/hero.png")
        })
    };
    check_scenario(
        &mirror,
        &["art/hero.png (delete/rename)"],
        "art/hero.png",
        &[
            ("--ours", Files::new()),
            ("--theirs", files(&[("art/hero.png", &bin(1))])),
        ],
    );
}

const META_BASE: &[u8] = b"fileFormatVersion: 2\nguid: 0001\nimporter: texture\n";
const META_OURS: &[u8] = b"fileFormatVersion: 2\nguid: 0001\nimporter: texture-hd\n";
const META_THEIRS: &[u8] = b"fileFormatVersion: 2\nguid: 0001\nimporter: sprite\n";

#[test]
fn scenario_sidecar_pair_conflicts_and_resolves_together() {
    let base = files(&[("hero.png", &bin(1)), ("hero.png.meta", META_BASE)]);
    let make = || {
        diverge(
            &base,
            &|s| {
                s.write("hero.png", &bin(2));
                s.write("hero.png.meta", META_OURS);
            },
            &|s| {
                s.write("hero.png", &bin(3));
                s.write("hero.png.meta", META_THEIRS);
            },
        )
    };
    let conflicts = ["hero.png (content)", "hero.png.meta (text)"];
    check_scenario(
        &make,
        &conflicts,
        "hero.png",
        &[
            (
                "--ours",
                files(&[("hero.png", &bin(2)), ("hero.png.meta", META_OURS)]),
            ),
            (
                "--theirs",
                files(&[("hero.png", &bin(3)), ("hero.png.meta", META_THEIRS)]),
            ),
            (
                "--both",
                files(&[
                    ("hero.png", &bin(2)),
                    ("hero.png.meta", META_OURS),
                    ("hero.theirs.png", &bin(3)),
                    ("hero.theirs.png.meta", META_THEIRS),
                ]),
            ),
        ],
    );
    let s = make();
    merge_conflicting(&s, &conflicts);
    let human = s.run(&["status"]);
    assert!(
        human.contains("hero.png.meta (text; sidecar of hero.png, resolved with it)"),
        "{human}"
    );
    // Resolving the sidecar resolves its asset with it.
    check_scenario(
        &make,
        &conflicts,
        "hero.png.meta",
        &[(
            "--theirs",
            files(&[("hero.png", &bin(3)), ("hero.png.meta", META_THEIRS)]),
        )],
    );
}

#[test]
fn scenario_sidecar_follows_its_conflicted_asset() {
    // Only theirs touched the sidecar: it merged, but the pair must stay consistent.
    let base = files(&[("hero.png", &bin(1)), ("hero.png.meta", META_BASE)]);
    let make = || {
        diverge(&base, &|s| s.write("hero.png", &bin(2)), &|s| {
            s.write("hero.png", &bin(3));
            s.write("hero.png.meta", META_THEIRS);
        })
    };
    check_scenario(
        &make,
        &["hero.png (content)", "hero.png.meta (sidecar)"],
        "hero.png",
        &[
            (
                "--ours",
                files(&[("hero.png", &bin(2)), ("hero.png.meta", META_BASE)]),
            ),
            (
                "--theirs",
                files(&[("hero.png", &bin(3)), ("hero.png.meta", META_THEIRS)]),
            ),
            (
                "--both",
                files(&[
                    ("hero.png", &bin(2)),
                    ("hero.png.meta", META_BASE),
                    ("hero.theirs.png", &bin(3)),
                    ("hero.theirs.png.meta", META_THEIRS),
                ]),
            ),
        ],
    );
}

#[test]
fn scenario_asset_renamed_on_one_side_takes_its_sidecar() {
    let base = files(&[
        ("hero.png", &bin(1)),
        ("hero.png.meta", META_BASE),
        ("icon.svg", b"<svg/>"),
        ("icon.svg.import", b"[remap]\nimporter=\"texture\"\n"),
    ]);
    // Theirs moved only the assets (the sidecars stayed behind); ours edited a
    // sidecar at the old place. Both sidecars follow their asset.
    let s = diverge(&base, &|s| s.write("hero.png.meta", META_OURS), &|s| {
        mv(s, "hero.png", "art/hero.png");
        mv(s, "icon.svg", "ui/icon.svg");
    });
    let out = s.run(&["merge", "topic"]);
    assert!(out.starts_with("Merge made"), "{out}");
    let want = files(&[
        ("art/hero.png", &bin(1)),
        ("art/hero.png.meta", META_OURS),
        ("ui/icon.svg", b"<svg/>"),
        ("ui/icon.svg.import", b"[remap]\nimporter=\"texture\"\n"),
    ]);
    assert_eq!(tree_files(&s, "HEAD"), want);
    assert_eq!(work_files(&s), want);
    clean(&s);
    // The pair moved together with `gadn mv` on one side, the sidecar edited on the
    // other: the edit lands at the new name.
    let s = diverge(
        &base,
        &|s| {
            s.run(&["mv", "hero.png", "art/hero.png"]);
        },
        &|s| s.write("hero.png.meta", META_THEIRS),
    );
    s.run(&["merge", "topic"]);
    let got = tree_files(&s, "HEAD");
    assert_eq!(
        got.get("art/hero.png.meta").map(Vec::as_slice),
        Some(META_THEIRS)
    );
    assert!(!got.contains_key("hero.png.meta") && !got.contains_key("hero.png"));
    clean(&s);
}

const TEXT_BASE: &[u8] = b"title\nline 2\nline 3\nline 4\nline 5\nend\n";

#[test]
fn scenario_text_non_overlapping_edits_merge_by_lines() {
    let s = diverge(
        &files(&[("notes.txt", TEXT_BASE)]),
        &|s| s.write("notes.txt", b"TITLE\nline 2\nline 3\nline 4\nline 5\nend\n"),
        &|s| {
            s.write(
                "notes.txt",
                b"title\nline 2\nline 3\nline 4\nline 5\nEND\nmore\n",
            )
        },
    );
    let out = s.run(&["merge", "topic"]);
    assert!(out.starts_with("Merge made"), "{out}");
    let want = files(&[(
        "notes.txt",
        b"TITLE\nline 2\nline 3\nline 4\nline 5\nEND\nmore\n",
    )]);
    assert_eq!(tree_files(&s, "HEAD"), want);
    assert_eq!(work_files(&s), want);
    clean(&s);
}

#[test]
fn scenario_text_overlapping_edits_conflict_with_markers() {
    let ours: &[u8] = b"title\nline 2 (ours)\nline 3\nline 4\nline 5\nend\n";
    let theirs: &[u8] = b"title\nline 2 (theirs)\nline 3\nline 4\nline 5\nend\n";
    let make = || {
        diverge(
            &files(&[("notes.txt", TEXT_BASE)]),
            &|s| s.write("notes.txt", ours),
            &|s| s.write("notes.txt", theirs),
        )
    };
    check_scenario(
        &make,
        &["notes.txt (text)"],
        "notes.txt",
        &[
            ("--ours", files(&[("notes.txt", ours)])),
            ("--theirs", files(&[("notes.txt", theirs)])),
            (
                "--both",
                files(&[("notes.txt", ours), ("notes.theirs.txt", theirs)]),
            ),
        ],
    );
    // The working file holds markers, the index keeps ours; --merged takes an edit.
    let s = make();
    merge_conflicting(&s, &["notes.txt (text)"]);
    let marked = String::from_utf8(read(&s, "notes.txt").unwrap()).unwrap();
    assert_eq!(
        marked,
        "title\n<<<<<<< ours\nline 2 (ours)\n||||||| base\nline 2\n=======\nline 2 (theirs)\n>>>>>>> theirs (topic)\nline 3\nline 4\nline 5\nend\n"
    );
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["unstaged"][0]["path"], "notes.txt", "{st}");
    assert_eq!(s.run(&["cat", ":notes.txt"]).as_bytes(), ours);
    let err = s.fail(&["resolve", "notes.txt", "--merged"]);
    assert!(
        err.contains("still has conflict markers (line 2, 4, 6, 8)"),
        "{err}"
    );
    assert_eq!(
        read(&s, "notes.txt").unwrap(),
        marked.as_bytes(),
        "unchanged"
    );
    let edited: &[u8] = b"title\nline 2 (both)\nline 3\nline 4\nline 5\nend\n";
    s.write("notes.txt", edited);
    s.run(&["resolve", "notes.txt", "--merged"]);
    s.run(&["commit", "-m", "merged"]);
    assert_eq!(tree_files(&s, "HEAD"), files(&[("notes.txt", edited)]));
    clean(&s);
}

#[test]
fn scenario_file_dir_clash() {
    let k: (&str, &[u8]) = ("keep.txt", b"k");
    let ours_file = || {
        diverge(&files(&[k]), &|s| s.write("x", b"ours file"), &|s| {
            s.write("x/a.bin", &bin(3))
        })
    };
    check_scenario(
        &ours_file,
        &["x (file/dir)"],
        "x",
        &[
            ("--ours", files(&[k, ("x", b"ours file")])),
            ("--theirs", files(&[k, ("x/a.bin", &bin(3))])),
            (
                "--both",
                files(&[k, ("x", b"ours file"), ("x.theirs/a.bin", &bin(3))]),
            ),
        ],
    );
    let ours_dir = || {
        diverge(&files(&[k]), &|s| s.write("x/a.bin", &bin(3)), &|s| {
            s.write("x", b"theirs file")
        })
    };
    check_scenario(
        &ours_dir,
        &["x (dir/file)"],
        "x",
        &[
            ("--ours", files(&[k, ("x/a.bin", &bin(3))])),
            ("--theirs", files(&[k, ("x", b"theirs file")])),
            (
                "--both",
                files(&[k, ("x/a.bin", &bin(3)), ("x.theirs", b"theirs file")]),
            ),
        ],
    );
}

fn meta_fields(s: &Scratch, spec: &str) -> serde_json::Value {
    s.json(&["meta", "show", spec, "--json"])["fields"].clone()
}

#[test]
fn scenario_metadata_merges_field_by_field() {
    let base = files(&[("hero.png", &bin(1))]);
    let with_author = |s: &Scratch| {
        s.run(&["meta", "set", "hero.png", "author=Ana"]);
    };
    let make = |ours: &'static [&'static str], theirs: &'static [&'static str]| {
        let s = Scratch::init();
        s.write("hero.png", &bin(1));
        s.run(&["add", "."]);
        with_author(&s);
        s.run(&["commit", "-m", "base"]);
        s.run(&["branch", "topic"]);
        let mut args = vec!["meta", "set", "hero.png"];
        args.extend(ours);
        s.run(&args);
        s.run(&["commit", "-m", "ours"]);
        s.run(&["switch", "topic"]);
        let mut args = vec!["meta", "set", "hero.png"];
        args.extend(theirs);
        s.run(&args);
        s.write("hero.png", &bin(3)); // content edited on one side only
        commit(&s, "theirs");
        s.run(&["switch", "main"]);
        s
    };
    let _ = base;
    // Different keys: clean, and the content edit comes along.
    let s = make(&["author=Bo"], &["notes=retouched"]);
    let out = s.run(&["merge", "topic"]);
    assert!(out.starts_with("Merge made"), "{out}");
    assert_eq!(
        meta_fields(&s, "HEAD:hero.png"),
        serde_json::json!({"author": "Bo", "notes": "retouched"})
    );
    assert_eq!(tree_files(&s, "HEAD"), files(&[("hero.png", &bin(3))]));
    clean(&s);
    // The same key: a metadata conflict; ours kept until resolved.
    for (flag, author) in [("--ours", "Bo"), ("--theirs", "Cy")] {
        let s = make(&["author=Bo"], &["author=Cy"]);
        merge_conflicting(&s, &["hero.png (metadata)"]);
        assert_eq!(meta_fields(&s, "hero.png")["author"], "Bo");
        let err = s.fail(&["resolve", "hero.png", "--both"]);
        assert!(
            err.contains("does not apply to a metadata conflict"),
            "{err}"
        );
        let err = s.fail(&["resolve", "hero.png", "--merged"]);
        assert!(err.contains("--merged takes an edited text file"), "{err}");
        s.run(&["resolve", "hero.png", flag]);
        s.run(&["commit", "-m", "merged"]);
        assert_eq!(meta_fields(&s, "HEAD:hero.png")["author"], author, "{flag}");
        // The content merged cleanly either way (only theirs changed it).
        assert_eq!(tree_files(&s, "HEAD"), files(&[("hero.png", &bin(3))]));
        clean(&s);
    }
    let s = make(&["author=Bo"], &["author=Cy"]);
    let before = head_commit(&s)["id"].clone();
    merge_conflicting(&s, &["hero.png (metadata)"]);
    s.run(&["merge", "--abort"]);
    assert_eq!(head_commit(&s)["id"], before);
    assert_eq!(meta_fields(&s, "hero.png")["author"], "Bo");
    assert_eq!(read(&s, "hero.png").unwrap(), bin(1));
    clean(&s);
}

#[test]
fn resolve_rejects_bad_input_and_changes_nothing() {
    let s = Scratch::init();
    let err = s.fail(&["resolve", "x", "--ours"]);
    assert!(err.contains("no merge is in progress"), "{err}");
    let out = s.output(&["resolve", "x"]);
    assert_eq!(out.status.code(), Some(2), "a choice is required");
    let out = s.output(&["resolve", "x", "--ours", "--merged"]);
    assert_eq!(out.status.code(), Some(2));
    // A `--both` copy never overwrites an untracked file.
    let s = conflicted();
    s.write("hero.theirs.png", b"mine");
    let err = s.fail(&["resolve", "hero.png", "--both"]);
    assert!(err.contains("untracked files are in the way"), "{err}");
    assert_eq!(read(&s, "hero.theirs.png").unwrap(), b"mine");
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["conflicts"], serde_json::json!(["hero.png (content)"]));
    // --merged applies to text conflicts only.
    let err = s.fail(&["resolve", "hero.png", "--merged"]);
    assert!(err.contains("--merged takes an edited text file"), "{err}");
}

#[test]
fn untracked_directory_in_the_way_stops_a_merge_before_anything_is_written() {
    let s = diverge(
        &files(&[("keep.txt", b"k")]),
        &|s| s.write("ours.txt", b"o"),
        &|s| s.write("x", b"theirs file"),
    );
    s.write("x/untracked.txt", b"mine");
    let head = head_commit(&s)["id"].clone();
    let err = s.fail(&["merge", "topic"]);
    assert!(err.contains("untracked files are in the way"), "{err}");
    assert!(err.contains("x/untracked.txt"), "{err}");
    assert_eq!(head_commit(&s)["id"], head);
    assert_eq!(read(&s, "x/untracked.txt").unwrap(), b"mine");
    let st = s.json(&["status", "--json"]);
    assert!(st["conflicts"].as_array().unwrap().is_empty());
}

#[test]
fn scenario_asset_edit_delete_brings_its_sidecar_back_with_it() {
    // Theirs deleted the pair; ours edited the asset: keeping ours keeps a valid
    // pair (the sidecar comes back), taking theirs deletes both.
    let base = files(&[("hero.png", &bin(1)), ("hero.png.meta", META_BASE)]);
    let make = || {
        diverge(&base, &|s| s.write("hero.png", &bin(2)), &|s| {
            rm(s, "hero.png");
            rm(s, "hero.png.meta");
        })
    };
    check_scenario(
        &make,
        &["hero.png (modify/delete)", "hero.png.meta (sidecar)"],
        "hero.png",
        &[
            (
                "--ours",
                files(&[("hero.png", &bin(2)), ("hero.png.meta", META_BASE)]),
            ),
            ("--theirs", Files::new()),
        ],
    );
}

/// The `guid:` value of a Unity `.meta` text.
fn guid_of(meta: &[u8]) -> String {
    let text = String::from_utf8(meta.to_vec()).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("guid: "))
        .expect("a guid line")
        .to_string()
}

#[test]
fn keeping_both_sides_of_a_unity_asset_gives_the_copy_a_fresh_guid() {
    // Issue 15, item 7: `--both` wrote `X.theirs.png.meta` with `X.png.meta`'s GUID.
    const GUID: &str = "0123456789abcdef0123456789abcdef";
    let meta = |importer: &str| {
        format!("fileFormatVersion: 2\nguid: {GUID}\nTextureImporter:\n  importer: {importer}\n")
            .into_bytes()
    };
    let base = files(&[("hero.png", &bin(1)), ("hero.png.meta", &meta("base"))]);
    let s = diverge(&base, &|s| s.write("hero.png", &bin(2)), &|s| {
        s.write("hero.png", &bin(3));
        s.write("hero.png.meta", &meta("sprite"));
    });
    merge_conflicting(&s, &["hero.png (content)", "hero.png.meta (sidecar)"]);
    s.run(&["resolve", "hero.png", "--both"]);
    s.run(&["commit", "-m", "merged"]);
    let tree = tree_files(&s, "HEAD");
    assert_eq!(tree["hero.png.meta"], meta("base"));
    let copy = &tree["hero.theirs.png.meta"];
    let fresh = guid_of(copy);
    assert_ne!(fresh, GUID);
    assert_eq!(fresh.len(), 32, "{fresh}");
    assert!(
        fresh
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{fresh}"
    );
    // Everything but the GUID is theirs, in the commit and in the working tree.
    assert_eq!(
        String::from_utf8(copy.clone()).unwrap(),
        String::from_utf8(meta("sprite"))
            .unwrap()
            .replace(GUID, &fresh)
    );
    assert_eq!(&work_files(&s)["hero.theirs.png.meta"], copy);
    assert_eq!(tree["hero.theirs.png"], bin(3));
    clean(&s);
}

#[test]
fn a_metadata_conflict_names_its_fields_and_keeps_what_merged() {
    // Issue 15, item 8: the conflict did not name the key, and `--ours` dropped the
    // other side's tag.
    let make = || {
        let s = Scratch::init();
        s.write("tex.png", &bin(1));
        s.run(&["add", "."]);
        s.run(&["meta", "set", "tex.png", "author=Ana", "tags=base"]);
        s.run(&["commit", "-m", "base"]);
        s.run(&["branch", "topic"]);
        s.run(&["meta", "set", "tex.png", "notes=ours", "tags=base,hero"]);
        s.run(&["commit", "-m", "ours"]);
        s.run(&["switch", "topic"]);
        s.run(&["meta", "set", "tex.png", "notes=theirs", "tags=base,wip"]);
        s.run(&["meta", "set", "tex.png", "created=2026-01-02"]);
        s.run(&["commit", "-m", "theirs"]);
        s.run(&["switch", "main"]);
        s
    };
    let s = make();
    let out = s.output(&["merge", "topic"]);
    assert_eq!(out.status.code(), Some(4));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tex.png (metadata: notes)"), "{text}");
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["unmerged"][0]["path"], "tex.png", "{st}");
    assert_eq!(st["unmerged"][0]["kind"], "metadata", "{st}");
    assert_eq!(st["unmerged"][0]["fields"], serde_json::json!(["notes"]));
    assert!(s.run(&["status"]).contains("tex.png (metadata: notes)"));
    s.run(&["merge", "--abort"]);
    let out = s.output(&["merge", "topic", "--json"]);
    assert_eq!(out.status.code(), Some(4));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let conflicts = json["conflicts"].as_array().expect("conflicts");
    assert_eq!(
        conflicts[0]["fields"],
        serde_json::json!(["notes"]),
        "{json}"
    );
    // Whichever side wins `notes`, the tags merge as a set and theirs' new key stays.
    for (flag, notes) in [("--ours", "ours"), ("--theirs", "theirs")] {
        let s = make();
        merge_conflicting(&s, &["tex.png (metadata)"]);
        s.run(&["resolve", "tex.png", flag]);
        s.run(&["commit", "-m", "merged"]);
        assert_eq!(
            meta_fields(&s, "HEAD:tex.png"),
            serde_json::json!({
                "author": "Ana",
                "created": "2026-01-02",
                "notes": notes,
            }),
            "{flag}"
        );
        let tags = s.json(&["meta", "show", "HEAD:tex.png", "--json"])["tags"].clone();
        assert_eq!(tags, serde_json::json!(["base", "hero", "wip"]), "{flag}");
        clean(&s);
    }
}
