//! Creative metadata through the real binary: `gadn meta set/unset/show`, metadata
//! across content edits, moves and commits, field-by-field `diff`, content facts
//! recorded at ingest, and bad input refused with nothing changed.
#![cfg(feature = "cli")]

mod common;
use common::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("fixture")
}

/// A repository with a committed PNG, WAV and text file.
fn assets() -> Scratch {
    let s = Scratch::init();
    s.write("art/hero.png", &fixture("texture.png"));
    s.write("audio/tone.wav", &fixture("tone.wav"));
    s.write("notes.txt", b"notes v1\n");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "Import"]);
    s
}

fn status_clean(s: &Scratch) -> bool {
    let st = s.json(&["status", "--json"]);
    ["staged", "unstaged"]
        .iter()
        .all(|k| st[k].as_array().is_some_and(|a| a.is_empty()))
}

/// Runs `args`, asserts exit status `code`, returns stderr.
fn fails_with(s: &Scratch, args: &[&str], code: i32) -> String {
    let out = s.output(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "gadn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn set_show_and_json() {
    let s = assets();
    let out = s.run(&[
        "meta",
        "set",
        "art/hero.png",
        "author=Ana Lima",
        "tags=wip, hero",
        "notes=first pass",
        "created=2026-11-21",
    ]);
    assert!(out.contains("author:  Ana Lima"), "{out}");
    let shown = s.run(&["meta", "show", "art/hero.png"]);
    assert_eq!(shown, out, "set prints what show prints");
    assert!(shown.starts_with("art/hero.png (staged)\n"), "{shown}");
    assert!(
        shown.contains("  type:    png (image, image/png)\n"),
        "{shown}"
    );
    assert!(shown.contains("  tags:    hero, wip\n"), "{shown}");
    let j = s.json(&["meta", "show", "art/hero.png", "--json"]);
    assert_eq!(j["path"], "art/hero.png");
    assert_eq!(j["fields"]["author"], "Ana Lima");
    assert_eq!(j["fields"]["created"], "2026-11-21");
    assert!(
        j["fields"].get("tags").is_none(),
        "tags are listed separately"
    );
    assert_eq!(j["tags"], serde_json::json!(["hero", "wip"]));
    assert_eq!(j["facts"]["type"], "png");
    assert_eq!(j["facts"]["class"], "image");
    assert_eq!(j["size"], 49446);
    assert!(j.get("commit").is_none());
    assert_eq!(j["meta_id"].as_str().map(str::len), Some(64));
    // Paths are relative to the current directory.
    let from_art = s.ok(&["meta", "show", "hero.png", "--json"], &s.path("art"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&from_art).unwrap(),
        j
    );
    // Staged: status shows a modification; the commit records it.
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["staged"][0]["path"], "art/hero.png", "{st}");
    assert!(st["unstaged"].as_array().unwrap().is_empty());
    s.run(&["commit", "-m", "Tag hero"]);
    assert!(status_clean(&s));
    let at = s.json(&["meta", "show", "HEAD:art/hero.png", "--json"]);
    assert_eq!(at["fields"], j["fields"]);
    assert_eq!(at["commit"].as_str().map(str::len), Some(64));
    let old = s.run(&["meta", "show", "HEAD~1:art/hero.png"]);
    assert!(old.contains("(no metadata)"), "{old}");
    // Tag edits, unset, and a JSON result from set.
    let j = s.json(&[
        "meta",
        "set",
        "art/hero.png",
        "tags+=final,hero",
        "tags-=wip",
        "--json",
    ]);
    assert_eq!(j["tags"], serde_json::json!(["final", "hero"]));
    let j = s.json(&[
        "meta",
        "unset",
        "art/hero.png",
        "notes",
        "created",
        "--json",
    ]);
    assert_eq!(j["fields"], serde_json::json!({"author": "Ana Lima"}));
    // Removing everything leaves no metadata at all.
    let j = s.json(&[
        "meta",
        "set",
        "art/hero.png",
        "author=",
        "tags-=final,hero",
        "--json",
    ]);
    assert_eq!(j["meta_id"], serde_json::Value::Null);
    assert_eq!(j["fields"], serde_json::json!({}));
}

#[test]
fn metadata_survives_edits_moves_and_shows_in_diff() {
    let s = assets();
    s.run(&[
        "meta",
        "set",
        "art/hero.png",
        "author=Ana",
        "notes=v1",
        "tags=hero,wip",
    ]);
    s.run(&["commit", "-m", "Describe hero"]);
    // A content edit keeps the metadata.
    s.write("art/hero.png", &fixture("texture.jpg"));
    s.run(&["commit", "-a", "-m", "Recompress"]);
    let j = s.json(&["meta", "show", "HEAD:art/hero.png", "--json"]);
    assert_eq!(j["fields"]["notes"], "v1");
    assert_eq!(j["facts"]["type"], "jpeg", "facts follow the content");
    // So does a move.
    s.run(&["mv", "art/hero.png", "chars/hero.png"]);
    s.run(&["commit", "-m", "Move hero"]);
    let j = s.json(&["meta", "show", "HEAD:chars/hero.png", "--json"]);
    assert_eq!(j["fields"]["author"], "Ana");
    assert_eq!(j["tags"], serde_json::json!(["hero", "wip"]));
    // A metadata-only change: diff against HEAD shows it field by field.
    s.run(&[
        "meta",
        "set",
        "chars/hero.png",
        "notes=v2",
        "tags+=final",
        "tags-=wip",
        "author=",
    ]);
    let d = s.run(&["diff", "HEAD"]);
    assert!(d.contains("M chars/hero.png"), "{d}");
    for line in [
        "  meta -author: \"Ana\"\n",
        "  meta notes: \"v1\" -> \"v2\"\n",
        "  meta -tags: wip\n",
        "  meta +tags: final\n",
    ] {
        assert!(d.contains(line), "{line:?} in\n{d}");
    }
    assert!(!d.contains("Binary files differ"), "same content: {d}");
    // Nothing differs between the working tree and the index.
    assert_eq!(s.run(&["diff"]), "");
    s.run(&["commit", "-m", "Final notes"]);
    let j = s.json(&["diff", "HEAD~1", "HEAD", "--json"]);
    let files = j["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{j}");
    assert_eq!(files[0]["path"], "chars/hero.png");
    assert_eq!(files[0]["kind"], j["files"][0]["kind"]);
    assert_eq!(
        files[0]["meta"],
        serde_json::json!([
            {"key": "author", "old": "Ana", "new": null},
            {"key": "notes", "old": "v1", "new": "v2"},
            {"key": "tags", "old": "wip", "new": null},
            {"key": "tags", "old": null, "new": "final"},
        ])
    );
    let stat = s.run(&["diff", "--stat", "HEAD~1", "HEAD"]);
    assert!(
        stat.contains(" chars/hero.png | metadata only, 4 metadata change(s)\n"),
        "{stat}"
    );
    // A change without metadata changes has no meta list in JSON.
    let j = s.json(&["diff", "HEAD~3", "HEAD~2", "--json"]);
    assert!(j["files"][0].get("meta").is_none(), "{j}");
    // log and show are unaffected by metadata.
    let log = s.json(&["log", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 5);
    let show = s.run(&["show", "HEAD"]);
    assert!(show.contains(" M chars/hero.png"), "{show}");
    assert!(status_clean(&s));
}

#[test]
fn facts_are_recorded_at_ingest_for_small_and_large_files() {
    let s = Scratch::init();
    for f in ["cube.gltf", "cube.obj", "texture_small.tga", "tone.wav"] {
        s.write(&format!("assets/{f}"), &fixture(f));
    }
    // Larger than the small-file limit (4 MiB): streamed, its head read back.
    let mut glb = b"glTF\x02\0\0\0".to_vec();
    glb.extend(noise(5 << 20, 9));
    s.write("assets/big.glb", &glb);
    s.run(&["add", "."]);
    let want = [
        ("cube.gltf", "gltf", "model"),
        ("cube.obj", "obj", "model"),
        ("texture_small.tga", "tga", "image"),
        ("tone.wav", "wav", "audio"),
        ("big.glb", "glb", "model"),
    ];
    for (f, kind, class) in want {
        let j = s.json(&["meta", "show", &format!("assets/{f}"), "--json"]);
        assert_eq!(
            (j["facts"]["type"].as_str(), j["facts"]["class"].as_str()),
            (Some(kind), Some(class)),
            "{f}"
        );
    }
    // Recorded by `add` itself: the rows exist before any `meta show` asks.
    let s2 = Scratch::init();
    s2.write("a.wav", &fixture("tone.wav"));
    s2.write("big.glb", &glb);
    s2.run(&["add", "."]);
    let db = gadn::store::db::Db::open(&s2.path(".gadn/gadn.db")).expect("open db");
    assert_eq!(db.facts_count().unwrap(), 2);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let s = assets();
    s.run(&["meta", "set", "notes.txt", "author=Bo"]);
    s.run(&["commit", "-m", "Describe notes"]);
    s.write("untracked.png", b"\x89PNG\r\n\x1a\n");
    let before = s.run(&["meta", "show", "notes.txt", "--json"]);
    let cases: [(&[&str], &str); 10] = [
        (
            &["meta", "set", "notes.txt", "Author=x"],
            "key \"Author\" must be",
        ),
        (&["meta", "set", "notes.txt", "author"], "is not KEY=VALUE"),
        (
            &["meta", "set", "notes.txt", "notes+=x"],
            "only for the tags field",
        ),
        (
            &["meta", "set", "notes.txt", "author=Cy", "created=last week"],
            "cannot read date 'last week'",
        ),
        (
            &["meta", "set", "untracked.png", "author=x"],
            "'untracked.png' is not tracked; gadn add it first",
        ),
        (
            &["meta", "set", "missing.png", "author=x"],
            "'missing.png' is not tracked",
        ),
        (&["meta", "set", "art", "author=x"], "'art' is a directory"),
        (&["meta", "set", "../outside", "author=x"], "bad path"),
        (&["meta", "show", "HEAD:art"], "'art' is a directory"),
        (&["meta", "show", "HEAD:nope.png"], "did not match any file"),
    ];
    for (args, want) in cases {
        let err = fails_with(&s, args, 1);
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(status_clean(&s), "{args:?} changed the index");
    }
    assert_eq!(s.run(&["meta", "show", "notes.txt", "--json"]), before);
    fails_with(&s, &["meta", "show", "untracked.png"], 1);
    fails_with(&s, &["meta", "show", "nope:x"], 1);
    // Usage errors: exit 2.
    fails_with(&s, &["meta", "set", "notes.txt"], 2);
    fails_with(&s, &["meta", "unset", "notes.txt"], 2);
    fails_with(&s, &["meta"], 2);
    let err = fails_with(&s, &["meta", "set", ".", "author=x"], 1);
    assert!(err.contains("'/' is a directory"), "{err}");
    let err = fails_with(&s, &["meta", "show", "HEAD"], 1);
    assert!(
        err.contains("'HEAD' is not tracked"),
        "a path without ':': {err}"
    );
    let err = fails_with(&s, &["meta", "show", "HEAD:"], 1);
    assert!(err.contains("'/' is a directory"), "{err}");
    assert!(status_clean(&s));
}

#[test]
fn a_tracked_name_with_a_colon_is_a_path_not_a_revision() {
    let s = Scratch::init();
    s.write("shot:01.txt", b"take one\n");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "Shot"]);
    s.run(&["meta", "set", "shot:01.txt", "notes=best take"]);
    let j = s.json(&["meta", "show", "shot:01.txt", "--json"]);
    assert_eq!(j["fields"]["notes"], "best take");
    assert!(j.get("commit").is_none(), "read from the index");
    s.run(&["commit", "-m", "Notes"]);
    let j = s.json(&["meta", "show", "HEAD:shot:01.txt", "--json"]);
    assert_eq!(j["fields"]["notes"], "best take");
    assert_eq!(j["facts"]["type"], "text");
}

/// Staged metadata is reachable from the index, so `gc` keeps it and the next commit
/// refers to a stored object.
#[test]
fn gc_keeps_staged_metadata() {
    let s = assets();
    s.run(&["meta", "set", "notes.txt", "author=Ana"]);
    s.run(&["gc"]);
    let j = s.json(&["meta", "show", "notes.txt", "--json"]);
    assert_eq!(j["fields"]["author"], "Ana");
    s.run(&["commit", "-m", "Describe notes"]);
    s.run(&["fsck"]);
}
