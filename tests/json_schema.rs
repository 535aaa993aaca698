//! `docs/json.md` is the schema of every command's `--json` output, and this test
//! keeps it true: it runs one scenario through the real binary (two peers on
//! loopback), and checks each command's output against the example documented
//! under its heading — the same keys at every level, the same JSON types (`null`
//! standing for "may be null"), arrays element by element.
//!
//! After a deliberate change of a report, regenerate the examples (the prose around
//! them is kept) and review the diff:
//!
//! ```sh
//! GADN_BLESS=1 cargo test --test json_schema
//! ```

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::std_cmd;
use serde_json::Value;

const DOC: &str = "docs/json.md";

/// How a command prints its report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// One JSON document (pretty-printed).
    Doc,
    /// JSON Lines: one object per line; the example is one line's object.
    Lines,
}

/// One person of the scenario: a `GADN_HOME` and an identity.
struct Who {
    name: &'static str,
    home: PathBuf,
}

impl Who {
    fn cmd(&self, dir: &Path, args: &[&str]) -> std::process::Command {
        let mut c = std_cmd(args, dir);
        c.env("GADN_HOME", &self.home)
            .env("GADN_AUTHOR_NAME", self.name)
            .env("GADN_AUTHOR_EMAIL", format!("{}@example.org", self.name))
            .env("GADN_IDLE_TIMEOUT", "5");
        c
    }

    fn run(&self, dir: &Path, args: &[&str]) -> String {
        let out: Output = self.cmd(dir, args).output().expect("run gadn");
        assert!(
            out.status.success(),
            "{} gadn {args:?} failed: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The outputs gathered, by heading name, in scenario order.
#[derive(Default)]
struct Seen(Vec<(String, Form, Vec<Value>)>);

impl Seen {
    fn record(&mut self, name: &str, form: Form, stdout: &str) {
        let values = match form {
            Form::Doc => vec![serde_json::from_str(stdout.trim())
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {stdout}"))],
            Form::Lines => stdout
                .lines()
                .filter(|l| l.trim_start().starts_with('{'))
                .map(|l| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("{name}: not a JSON line ({e}): {l}"))
                })
                .collect(),
        };
        assert!(!values.is_empty(), "{name}: no JSON in: {stdout}");
        self.0.push((name.to_string(), form, values));
    }
}

fn write(dir: &Path, rel: &str, data: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, data).expect("write");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name),
    )
    .expect("fixture")
}

/// `gadn serve` on a free loopback port, once it printed its line.
fn serve(who: &Who, repo: &Path) -> common::Served {
    common::spawn_serve(who.cmd(repo, &["serve", "--listen", "127.0.0.1:0", "--no-lan"]))
}

/// Runs the scenario; every command that prints JSON is recorded under the name its
/// section in docs/json.md has.
fn scenario(root: &Path) -> Seen {
    let mut seen = Seen::default();
    let alice = Who {
        name: "alice",
        home: root.join("home-alice"),
    };
    let bob = Who {
        name: "bob",
        home: root.join("home-bob"),
    };
    alice.run(root, &["init", "a"]);
    let a = root.join("a");
    let mut j = |who: &Who, dir: &Path, name: &str, form: Form, args: &[&str]| {
        let out = who.run(dir, args);
        seen.record(name, form, &out);
    };
    write(&a, "notes.txt", b"hello\n");
    write(&a, "art/texture.png", &fixture("texture.png"));
    write(&a, "sfx/tone.wav", &fixture("tone.wav"));
    j(&alice, &a, "add", Form::Doc, &["add", "--json", "."]);
    write(&a, "draft.txt", b"not yet\n");
    j(&alice, &a, "status", Form::Doc, &["status", "--json"]);
    j(
        &alice,
        &a,
        "commit",
        Form::Doc,
        &["commit", "--json", "-m", "first"],
    );
    write(&a, "notes.txt", b"hello\nmore\n");
    j(&alice, &a, "diff", Form::Doc, &["diff", "--json"]);
    alice.run(
        &a,
        &[
            "commit",
            "-a",
            "-m",
            "second\n\nwith a body",
            "--note",
            "ticket=T-12",
        ],
    );
    j(&alice, &a, "log", Form::Doc, &["log", "--json", "-n", "2"]);
    j(
        &alice,
        &a,
        "log --json-lines",
        Form::Lines,
        &["log", "--json-lines", "-n", "2"],
    );
    j(
        &alice,
        &a,
        "show REV",
        Form::Doc,
        &["show", "--json", "HEAD"],
    );
    j(
        &alice,
        &a,
        "show REV:FILE",
        Form::Doc,
        &["show", "--json", "HEAD:notes.txt"],
    );
    j(
        &alice,
        &a,
        "show REV:DIR",
        Form::Doc,
        &["show", "--json", "HEAD:art"],
    );
    alice.run(&a, &["branch", "side"]);
    j(&alice, &a, "branch", Form::Doc, &["branch", "--json"]);
    alice.run(&a, &["tag", "v1", "-m", "first release"]);
    alice.run(&a, &["tag", "v0"]);
    j(&alice, &a, "tag", Form::Doc, &["tag", "--json"]);
    alice.run(
        &a,
        &[
            "meta",
            "set",
            "art/texture.png",
            "author=Ada",
            "tags+=hero",
            "notes=v3 UVs",
        ],
    );
    alice.run(&a, &["commit", "-m", "metadata"]);
    j(
        &alice,
        &a,
        "preview",
        Form::Doc,
        &["preview", "--json", "art/texture.png"],
    );
    j(
        &alice,
        &a,
        "meta show",
        Form::Doc,
        &["meta", "show", "--json", "art/texture.png"],
    );
    j(
        &alice,
        &a,
        "find",
        Form::Doc,
        &["find", "--json", "--class", "image"],
    );
    j(
        &alice,
        &a,
        "history",
        Form::Doc,
        &["history", "--json", "notes.txt"],
    );
    j(
        &alice,
        &a,
        "lock",
        Form::Lines,
        &["lock", "--json", "art/texture.png"],
    );
    j(&alice, &a, "locks", Form::Doc, &["locks", "--json"]);
    j(
        &alice,
        &a,
        "unlock",
        Form::Lines,
        &["unlock", "--json", "art/texture.png"],
    );
    j(&alice, &a, "stats", Form::Doc, &["stats", "--json"]);
    j(&alice, &a, "fsck", Form::Doc, &["fsck", "--json"]);
    j(&alice, &a, "gc", Form::Doc, &["gc", "--json", "--dry-run"]);
    j(
        &alice,
        &a,
        "reflog",
        Form::Doc,
        &["reflog", "--json", "--all"],
    );
    j(&alice, root, "id", Form::Doc, &["id", "--json"]);
    alice.run(&a, &["config", "set", "user.name", "Ada"]);
    j(
        &alice,
        &a,
        "config get",
        Form::Doc,
        &["config", "get", "--json", "user.name"],
    );
    j(
        &alice,
        &a,
        "config list",
        Form::Doc,
        &["config", "list", "--json"],
    );
    j(
        &alice,
        &a,
        "config list --show-origin",
        Form::Doc,
        &["config", "list", "--json", "--show-origin"],
    );
    alice.run(&a, &["switch", "side"]);
    write(&a, "side.txt", b"from the side\n");
    alice.run(&a, &["add", "side.txt"]);
    alice.run(&a, &["commit", "-m", "side work"]);
    alice.run(&a, &["switch", "main"]);
    j(&alice, &a, "merge", Form::Doc, &["merge", "--json", "side"]);

    let bob_key = bob.run(root, &["id"]).trim().to_string();
    alice.run(&a, &["peer", "add", "bob", &bob_key]);
    j(
        &alice,
        &a,
        "peer list",
        Form::Doc,
        &["peer", "list", "--json"],
    );
    let server = serve(&alice, &a);
    j(
        &bob,
        root,
        "clone",
        Form::Lines,
        &["clone", &server.source, "b", "--json"],
    );
    let b = root.join("b");
    write(&a, "third.txt", b"third\n");
    alice.run(&a, &["add", "third.txt"]);
    alice.run(&a, &["commit", "-m", "third"]);
    j(&bob, &b, "fetch", Form::Lines, &["fetch", "--json"]);
    j(&bob, &b, "pull", Form::Lines, &["pull", "--json"]);
    write(&b, "bob.txt", b"bob was here\n");
    bob.run(&b, &["add", "bob.txt"]);
    bob.run(&b, &["commit", "-m", "bob's"]);
    j(
        &bob,
        &b,
        "push",
        Form::Lines,
        &["push", "--json", "alice", "main:from-bob"],
    );
    j(&bob, &b, "sync", Form::Lines, &["sync", "--json"]);
    // A byte flipped in bob's biggest pack (inside a chunk), mended from alice.
    let pack = std::fs::read_dir(b.join(".gadn/packs"))
        .expect("packs")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .expect("a pack");
    let mut bytes = std::fs::read(&pack).expect("read pack");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x21;
    std::fs::write(&pack, bytes).expect("write pack");
    j(
        &bob,
        &b,
        "fsck --repair",
        Form::Doc,
        &["fsck", "--repair", "--from", "alice", "--json"],
    );
    drop(server);
    seen
}

/// Where a section's example block is in the document: the byte range of the
/// JSON between its fences.
struct Section {
    name: String,
    body: std::ops::Range<usize>,
}

/// The sections of the document: a heading "### `NAME`" and the first ```json block
/// after it.
fn sections(doc: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(h) = doc[pos..].find("\n### `") {
        let start = pos + h + "\n### `".len();
        let end = start + doc[start..].find('`').expect("closing backtick");
        let name = doc[start..end].to_string();
        let fence = end + doc[end..].find("```json\n").expect("a json block") + "```json\n".len();
        let close = fence + doc[fence..].find("```").expect("closing fence");
        out.push(Section {
            name,
            body: fence..close,
        });
        pos = close;
    }
    out
}

/// Differences between `got` and the documented `want`, as `PATH: what` lines.
fn shape_diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(w), Value::Object(g)) => {
            for k in w.keys().filter(|k| !g.contains_key(*k)) {
                out.push(format!("{path}.{k}: documented, not printed"));
            }
            for (k, gv) in g {
                match w.get(k) {
                    None => out.push(format!("{path}.{k}: printed, not documented")),
                    Some(wv) => shape_diff(&format!("{path}.{k}"), wv, gv, out),
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if let Some(last) = w.last() {
                for (i, gv) in g.iter().enumerate() {
                    shape_diff(&format!("{path}[{i}]"), w.get(i).unwrap_or(last), gv, out);
                }
            }
        }
        (Value::Bool(_), Value::Bool(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_)) => {}
        (w, g) => out.push(format!(
            "{path}: documented {}, printed {}",
            kind(w),
            kind(g)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[test]
fn every_commands_json_matches_its_documented_schema() {
    let d = tempfile::tempdir().expect("tmp");
    let seen = scenario(d.path());
    let doc_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DOC);
    let mut doc = std::fs::read_to_string(&doc_path).expect("docs/json.md");
    let secs = sections(&doc);

    if std::env::var_os("GADN_BLESS").is_some() {
        // Replace examples from the last section up, so earlier ranges stay valid.
        for s in secs.iter().rev() {
            let Some((_, _, values)) = seen.0.iter().find(|(n, _, _)| *n == s.name) else {
                continue;
            };
            let mut text = serde_json::to_string_pretty(&values[0]).expect("json");
            text.push('\n');
            doc.replace_range(s.body.clone(), &text);
        }
        std::fs::write(&doc_path, doc).expect("write docs/json.md");
        return;
    }

    let mut problems = Vec::new();
    for (name, _, values) in &seen.0 {
        let Some(s) = secs.iter().find(|s| s.name == *name) else {
            problems.push(format!("`{name}`: not documented in {DOC}"));
            continue;
        };
        let want: Value = serde_json::from_str(&doc[s.body.clone()])
            .unwrap_or_else(|e| panic!("{DOC}, `{name}`: the example is not JSON: {e}"));
        for got in values {
            let mut diff = Vec::new();
            shape_diff("", &want, got, &mut diff);
            problems.extend(diff.into_iter().map(|d| format!("`{name}` {d}")));
        }
    }
    for s in &secs {
        if !seen.0.iter().any(|(n, _, _)| *n == s.name) {
            problems.push(format!("`{}`: documented, not run by this test", s.name));
        }
    }
    assert!(
        problems.is_empty(),
        "{DOC} is out of step with the output (rerun with GADN_BLESS=1 after a deliberate change):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_shape_check_finds_missing_extra_and_mistyped_fields() {
    let want = serde_json::json!({"a": 1, "b": [{"c": "x"}], "n": null, "gone": true});
    let got = serde_json::json!({"a": "1", "b": [{"c": "y", "d": 2}], "n": [1], "new": 0});
    let mut diff = Vec::new();
    shape_diff("", &want, &got, &mut diff);
    diff.sort();
    assert_eq!(
        diff,
        [
            ".a: documented a number, printed a string",
            ".b[0].d: printed, not documented",
            ".gone: documented, not printed",
            ".new: printed, not documented",
        ]
    );
}
