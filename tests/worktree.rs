//! Working-tree commands through the real binary: rm, mv, restore, diff, and engine
//! sidecars following their assets.
#![cfg(feature = "cli")]

mod common;
use common::*;

fn committed() -> Scratch {
    let s = Scratch::init();
    s.write("art/hero.png", &noise(5000, 1));
    s.write("art/hero.png.meta", b"guid: 1234\n");
    s.write("art/sky.png", &noise(3000, 2));
    s.write("notes.txt", b"one\ntwo\nthree\n");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "first"]);
    s
}

fn staged(s: &Scratch) -> Vec<String> {
    // What is staged against HEAD, as "kind:path", with nothing unstaged.
    let st = s.json(&["status", "--json"]);
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    let mut out = Vec::new();
    for c in st["staged"].as_array().unwrap() {
        out.push(format!(
            "{}:{}",
            c["kind"].as_str().unwrap(),
            c["path"].as_str().unwrap()
        ));
    }
    out
}

#[test]
fn rm_clean_modified_cached_force_and_recursive() {
    let s = committed();
    // A clean file goes, with its sidecar, and says so.
    let out = s.run(&["rm", "art/hero.png"]);
    assert!(out.contains("sidecar of art/hero.png"), "{out}");
    assert!(!s.path("art/hero.png").exists());
    assert!(!s.path("art/hero.png.meta").exists());
    assert_eq!(
        staged(&s),
        vec!["deleted:art/hero.png", "deleted:art/hero.png.meta"]
    );
    // A modified file is refused, then removed with -f.
    s.write("notes.txt", b"changed\n");
    let err = s.fail(&["rm", "notes.txt"]);
    assert!(
        err.contains("not committed") && err.contains("notes.txt"),
        "{err}"
    );
    assert!(s.path("notes.txt").exists());
    s.run(&["rm", "-f", "notes.txt"]);
    assert!(!s.path("notes.txt").exists());
    // --cached keeps the working file, now untracked.
    s.run(&["rm", "--cached", "art/sky.png"]);
    assert!(s.path("art/sky.png").exists());
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["untracked"][0], "art/sky.png", "{st}");
    // Directories need -r.
    s.run(&["commit", "-m", "rm"]);
    s.write("lvl/a.txt", b"a");
    s.write("lvl/b/c.txt", b"c");
    s.write("lvl.meta", b"dir guid");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "lvl"]);
    let err = s.fail(&["rm", "lvl"]);
    assert!(err.contains("-r"), "{err}");
    let out = s.run(&["rm", "-r", "lvl"]);
    assert!(out.contains("lvl.meta"), "{out}");
    assert!(!s.path("lvl").exists());
    assert!(!s.path("lvl.meta").exists());
    let err = s.fail(&["rm", "nothing-here"]);
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn mv_renames_with_sidecar_and_into_directories() {
    let s = committed();
    let out = s.run(&["mv", "art/hero.png", "art/hero2.png"]);
    assert!(
        out.contains("art/hero.png.meta -> art/hero2.png.meta"),
        "{out}"
    );
    assert!(s.path("art/hero2.png").exists() && s.path("art/hero2.png.meta").exists());
    assert!(!s.path("art/hero.png").exists() && !s.path("art/hero.png.meta").exists());
    let st = s.json(&["status", "--json"]);
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["untracked"].as_array().unwrap().is_empty(), "{st}");
    // Before the commit, diff against HEAD pairs the rename too.
    let j = s.json(&["diff", "--json", "HEAD"]);
    assert_eq!(j["files"][0]["kind"], "renamed", "{j}");
    assert_eq!(j["files"][0]["from"], "art/hero.png", "{j}");
    let stat = s.run(&["diff", "--stat", "HEAD"]);
    assert!(stat.contains("art/hero.png -> art/hero2.png"), "{stat}");
    assert!(stat.contains("renamed, same content"), "{stat}");
    s.run(&["commit", "-m", "rename"]);
    let show = s.json(&["show", "--json", "HEAD"]);
    let changes = show["changes"].as_array().unwrap();
    assert!(
        changes.iter().any(|c| c["kind"] == "renamed"
            && c["from"] == "art/hero.png"
            && c["path"] == "art/hero2.png"),
        "{show}"
    );

    // Refuses to overwrite; -f does.
    let err = s.fail(&["mv", "notes.txt", "art/sky.png"]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read(s.path("art/sky.png")).unwrap(),
        noise(3000, 2)
    );

    // Into an existing directory.
    std::fs::create_dir_all(s.path("docs")).unwrap();
    s.run(&["mv", "notes.txt", "docs"]);
    assert_eq!(
        std::fs::read(s.path("docs/notes.txt")).unwrap(),
        b"one\ntwo\nthree\n"
    );
    s.run(&["mv", "-f", "docs/notes.txt", "art/sky.png"]);
    assert_eq!(
        std::fs::read(s.path("art/sky.png")).unwrap(),
        b"one\ntwo\nthree\n"
    );
    let st = s.json(&["status", "--json"]);
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    let err = s.fail(&["mv", "missing.png", "x.png"]);
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn restore_from_index_source_and_staged() {
    let s = committed();
    s.write("notes.txt", b"staged\n");
    s.run(&["add", "notes.txt"]);
    s.write("notes.txt", b"scribbled\n");
    s.run(&["restore", "notes.txt"]);
    assert_eq!(std::fs::read(s.path("notes.txt")).unwrap(), b"staged\n");
    s.run(&["restore", "--source", "HEAD", "notes.txt"]);
    assert_eq!(
        std::fs::read(s.path("notes.txt")).unwrap(),
        b"one\ntwo\nthree\n"
    );
    let st = s.json(&["status", "--json"]);
    assert_eq!(
        st["staged"][0]["path"], "notes.txt",
        "index untouched: {st}"
    );
    s.run(&["restore", "--staged", "notes.txt"]);
    let st = s.json(&["status", "--json"]);
    assert!(st["staged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["unstaged"].as_array().unwrap().is_empty(), "{st}");
    // A deleted directory comes back from the index.
    std::fs::remove_dir_all(s.path("art")).unwrap();
    s.run(&["restore", "art"]);
    assert_eq!(
        std::fs::read(s.path("art/hero.png")).unwrap(),
        noise(5000, 1)
    );
    assert!(s.path("art/hero.png.meta").exists());
    // --staged on a new file unstages it and keeps it.
    s.write("new.txt", b"n");
    s.run(&["add", "new.txt"]);
    s.run(&["restore", "--staged", "new.txt"]);
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["untracked"][0], "new.txt", "{st}");
    let err = s.fail(&["restore", "--source", "HEAD", "new.txt"]);
    assert!(err.contains("did not match"), "{err}");
}

#[test]
fn diff_text_binary_added_removed_stat_and_json() {
    let s = committed();
    s.write("notes.txt", b"one\nTWO\nthree\n");
    let mut hero = noise(5000, 1);
    hero.extend_from_slice(b"more");
    s.write("art/hero.png", &hero);
    let out = s.run(&["diff"]);
    assert!(out.contains("--- a/notes.txt\n+++ b/notes.txt\n"), "{out}");
    assert!(out.contains("-two\n+TWO\n"), "{out}");
    assert!(
        out.contains("Binary files differ (4.9 KiB → 4.9 KiB)"),
        "{out}"
    );
    let stat = s.run(&["diff", "--stat"]);
    let line = |name: &str| {
        stat.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name}: {stat}"))
            .to_string()
    };
    assert!(line("notes.txt").ends_with("| +1 -1"), "{stat}");
    assert!(
        line("art/hero.png").contains("| Bin 4.9 KiB → 4.9 KiB"),
        "{stat}"
    );
    assert!(
        stat.contains("2 file(s) changed, 1 insertion(s)(+), 1 deletion(s)(-)"),
        "{stat}"
    );
    let only = s.run(&["diff", "--", "notes.txt"]);
    assert!(!only.contains("hero"), "{only}");

    // Added and removed, between two revisions.
    s.write("added.txt", b"fresh\n");
    s.run(&["add", "."]);
    s.run(&["rm", "art/sky.png"]);
    s.run(&["commit", "-m", "second"]);
    let j = s.json(&["diff", "--json", "HEAD~1", "HEAD"]);
    let files = j["files"].as_array().unwrap();
    let find = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p}: {j}"))
    };
    assert_eq!(find("added.txt")["kind"], "added");
    let patch = find("added.txt")["patch"].as_str().unwrap().to_string();
    assert!(patch.contains("+fresh"), "{patch}");
    assert_eq!(find("art/sky.png")["kind"], "deleted");
    assert_eq!(find("art/sky.png")["binary"], true);
    assert_eq!(find("art/sky.png")["old_size"], 3000);
    assert_eq!(find("notes.txt")["insertions"], 1);
    assert_eq!(find("art/hero.png")["new_size"], 5004);
    // Working tree against a revision.
    let j = s.json(&["diff", "--json", "HEAD~1"]);
    assert_eq!(j["files"].as_array().unwrap().len(), 4, "{j}");
    assert!(s.json(&["diff", "--json"])["files"]
        .as_array()
        .unwrap()
        .is_empty());
    let err = s.fail(&["diff", "nosuchrev"]);
    assert!(err.contains("unknown revision"), "{err}");
}

#[test]
fn add_never_stages_what_commit_refuses() {
    // Issue 15, item 3: a nested store directory was staged and then jammed commit.
    let s = Scratch::init();
    s.write("ok.txt", b"fine\n");
    s.write("sub/.gadn/evil", b"x\n");
    s.write("deep/er/.GADN/packs/p", b"x\n");
    s.write("back\\slash.txt", b"x\n");
    s.run(&["add", "."]);
    let (st, staged) = s.status_staged();
    assert_eq!(staged, ["ok.txt"], "{st}");
    // A nested store is passed over silently, as git passes over a nested `.git`; a
    // name no tree can hold is reported with the reason the tree would give.
    let skipped = st["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{st}");
    assert_eq!(skipped[0][0], "back\\slash.txt", "{st}");
    assert!(
        skipped[0][1].as_str().unwrap().contains("separator"),
        "{st}"
    );
    // Naming the path does not stage it either, and commit goes through.
    s.run(&["add", "sub"]);
    s.run(&["commit", "-m", "first"]);
    let st = s.json(&["status", "--json"]);
    assert!(st["staged"].as_array().unwrap().is_empty(), "{st}");
    assert!(st["untracked"].as_array().unwrap().is_empty(), "{st}");
}

/// Puts an entry at `bad` into the index the way an older version's `add` did,
/// copying the entry of `like`.
fn jam_index(s: &Scratch, like: &str, bad: &str) {
    let repo = gadn::vcs::Repo::open(&s.repo()).unwrap();
    let mut e = repo.store().db().index_get(like).unwrap().unwrap();
    e.path = bad.to_string();
    repo.store().db().upsert_index(&[e]).unwrap();
}

#[test]
fn a_jammed_index_entry_can_be_unstaged() {
    // Issue 15, item 3: an index jammed by an older version refused every way out.
    let s = Scratch::init();
    s.write("ok.txt", b"fine\n");
    s.write("sub/.gadn/evil", b"fine\n");
    s.run(&["add", "ok.txt"]);
    jam_index(&s, "ok.txt", "sub/.gadn/evil");
    let err = s.fail(&["commit", "-m", "jammed"]);
    assert!(err.contains(".gadn"), "{err}");
    // rm --cached takes it out of the index and leaves the file alone.
    let out = s.run(&["rm", "--cached", "sub/.gadn/evil"]);
    assert!(out.contains("sub/.gadn/evil"), "{out}");
    assert!(s.path("sub/.gadn/evil").exists());
    s.run(&["commit", "-m", "first"]);
    // restore --staged does too, for a directory spec as for the file.
    jam_index(&s, "ok.txt", "sub/.gadn/evil");
    let out = s.run(&["restore", "--staged", "sub"]);
    assert!(out.contains("1 unstaged"), "{out}");
    let st = s.json(&["status", "--json"]);
    assert!(st["staged"].as_array().unwrap().is_empty(), "{st}");
    // The store directory itself is still out of bounds.
    let err = s.fail(&["rm", "--cached", ".gadn/gadn.db"]);
    assert!(err.contains("bad path"), "{err}");
}
