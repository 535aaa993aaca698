//! `gadn config`: the user's global file (`$GADN_HOME/config.toml`) under the
//! repository's own settings, driven through the real binary.

mod common;

use std::path::Path;
use std::process::Output;

use common::std_cmd;

/// Runs gadn in `dir` with `home` as `GADN_HOME` and no identity in the environment.
fn gadn(home: &Path, dir: &Path, args: &[&str]) -> Output {
    std_cmd(args, dir)
        .env("GADN_HOME", home)
        .env_remove("GADN_AUTHOR_NAME")
        .env_remove("GADN_AUTHOR_EMAIL")
        .output()
        .expect("run gadn")
}

fn ok(home: &Path, dir: &Path, args: &[&str]) -> String {
    let out = gadn(home, dir, args);
    assert!(
        out.status.success(),
        "gadn {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn global_settings_name_the_committer_until_the_repository_overrides_them() {
    let d = tempfile::tempdir().expect("tmp");
    let home = d.path().join("home");
    // Outside any repository, --global works and creates the file.
    ok(
        &home,
        d.path(),
        &["config", "set", "--global", "user.name", "Global Ada"],
    );
    ok(
        &home,
        d.path(),
        &["config", "set", "--global", "user.email", "ada@example.org"],
    );
    let text = std::fs::read_to_string(home.join("config.toml")).expect("file");
    assert!(
        text.contains("[user]") && text.contains("Global Ada"),
        "{text}"
    );
    ok(&home, d.path(), &["init", "r"]);
    let repo = d.path().join("r");
    std::fs::write(repo.join("a.txt"), b"a").expect("write");
    ok(&home, &repo, &["add", "a.txt"]);
    ok(&home, &repo, &["commit", "-m", "first"]);
    let log = ok(&home, &repo, &["log", "--json"]);
    assert!(
        log.contains("Global Ada") && log.contains("ada@example.org"),
        "{log}"
    );

    ok(&home, &repo, &["config", "set", "user.name", "Repo Ada"]);
    let shown = ok(&home, &repo, &["config", "list", "--show-origin"]);
    let lines: Vec<&str> = shown.lines().filter(|l| l.contains("user.name=")).collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].starts_with("repo:") && lines[0].ends_with("user.name=Repo Ada"));
    assert!(lines[1].starts_with("global:") && lines[1].ends_with("user.name=Global Ada"));
    assert!(lines[1].contains("config.toml"));
    let in_force = ok(&home, &repo, &["config", "list"]);
    assert!(in_force.contains("user.name=Repo Ada") && !in_force.contains("Global Ada"));
    assert!(
        in_force.contains("user.email=ada@example.org"),
        "{in_force}"
    );
    let got: serde_json::Value = serde_json::from_str(&ok(
        &home,
        &repo,
        &["config", "get", "user.email", "--json"],
    ))
    .expect("json");
    assert_eq!(got["value"], "ada@example.org");
    assert_eq!(got["origin"]["scope"], "global");
    assert_eq!(
        ok(&home, &repo, &["config", "get", "--global", "user.name"]).trim(),
        "Global Ada"
    );
    std::fs::write(repo.join("b.txt"), b"b").expect("write");
    ok(&home, &repo, &["add", "b.txt"]);
    ok(&home, &repo, &["commit", "-m", "second"]);
    let log = ok(&home, &repo, &["log", "-n", "1", "--json"]);
    assert!(
        log.contains("Repo Ada") && log.contains("ada@example.org"),
        "{log}"
    );

    // Unset is per layer: the global value shows again.
    ok(&home, &repo, &["config", "unset", "user.name"]);
    assert_eq!(
        ok(&home, &repo, &["config", "get", "user.name"]).trim(),
        "Global Ada"
    );
    let out = gadn(&home, &repo, &["config", "unset", "--global", "user.nope"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_malformed_global_file_is_named_instead_of_ignored() {
    let d = tempfile::tempdir().expect("tmp");
    let home = d.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::write(home.join("config.toml"), "[user\nname = \"x\"\n").expect("write");
    ok(&home, d.path(), &["init", "r"]);
    let repo = d.path().join("r");
    std::fs::write(repo.join("a.txt"), b"a").expect("write");
    ok(&home, &repo, &["add", "a.txt"]);
    let out = gadn(&home, &repo, &["commit", "-m", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("config.toml") && err.contains("line 1"),
        "{err}"
    );
    let out = gadn(&home, &repo, &["config", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.toml"));
    // Nothing was committed, and the staged file is still staged.
    let st = ok(&home, &repo, &["status", "--json"]);
    assert!(st.contains("a.txt"), "{st}");
}

#[test]
fn without_any_identity_the_refusal_points_at_the_global_setting() {
    let d = tempfile::tempdir().expect("tmp");
    let home = d.path().join("home");
    ok(&home, d.path(), &["init", "r"]);
    let repo = d.path().join("r");
    std::fs::write(repo.join("a.txt"), b"a").expect("write");
    ok(&home, &repo, &["add", "a.txt"]);
    let out = gadn(&home, &repo, &["commit", "-m", "x"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gadn config set --global user.name"), "{err}");
}
