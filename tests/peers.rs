//! `gadn id` and `gadn peer` through the real binary, with two users (two
//! `GADN_HOME` directories, so two identity keys). Every command here sets
//! `GADN_HOME` to a temporary directory, so nothing is written to the real home.
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

/// The members listed by `peer list --json`, as (name, role, you, founder).
fn members(u: &User, s: &Scratch) -> Vec<(String, String, bool, bool)> {
    let v = u.json(s, &["peer", "list", "--json"]);
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().expect("name").to_string(),
                p["role"].as_str().expect("role").to_string(),
                p["you"].as_bool().expect("you"),
                p["founder"].as_bool().expect("founder"),
            )
        })
        .collect()
}

#[test]
fn id_creates_the_key_once_and_prints_it_alone() {
    let ada = User::new("Ada");
    let outside = tempfile::tempdir().unwrap();
    assert!(!ada.key_file().exists());
    let first = ada.output_in(outside.path(), &["id"]);
    assert!(first.status.success());
    let key = String::from_utf8(first.stdout).unwrap();
    // Standard output is the key and a newline, nothing else.
    let k = key.strip_suffix('\n').expect("one line");
    assert!(k.starts_with("gadn1") && k.len() == 5 + 64, "{k}");
    assert!(k[5..]
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains("Created a new identity"), "{stderr}");
    let meta = std::fs::metadata(ada.key_file()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    let bytes = std::fs::read(ada.key_file()).unwrap();
    // The second run loads the same key and says nothing more.
    let second = ada.output_in(outside.path(), &["id"]);
    assert_eq!(String::from_utf8(second.stdout).unwrap(), key);
    assert!(second.stderr.is_empty(), "{:?}", second.stderr);
    assert_eq!(std::fs::read(ada.key_file()).unwrap(), bytes);
    let j: serde_json::Value =
        serde_json::from_str(&ada.ok_in(outside.path(), &["id", "--json"])).unwrap();
    assert_eq!(j["key"], k);
    assert_eq!(j["created"], false);
    assert!(j["file"].as_str().unwrap().ends_with("identity.key"));
    // Another home, another key.
    assert_ne!(User::new("Bo").key(), k);
}

#[test]
fn peer_add_list_addr_remove_round_trip() {
    let s = Scratch::init();
    let (ada, bo, cy) = (User::new("Ada"), User::new("Bo"), User::new("Cy"));
    let (bo_key, cy_key) = (bo.key(), cy.key());
    // No list yet.
    assert!(members(&ada, &s).is_empty());
    let out = ada.ok(&s, &["peer", "add", "bo", &bo_key, "127.0.0.1:7420"]);
    assert!(
        out.contains("Founded the member list with you (Ada"),
        "{out}"
    );
    assert!(out.contains("Added bo ("), "{out}");
    ada.ok(&s, &["peer", "add", "cy", &cy_key, "--role", "reader"]);
    assert_eq!(
        members(&ada, &s),
        [
            ("Ada".into(), "owner".into(), true, true),
            ("bo".into(), "member".into(), false, false),
            ("cy".into(), "reader".into(), false, false),
        ]
    );
    let list = ada.json(&s, &["peer", "list", "--json"]);
    let bo_row = &list[1];
    assert_eq!(bo_row["key"], bo_key.as_str());
    assert_eq!(bo_row["addrs"], serde_json::json!(["127.0.0.1:7420"]));
    assert_eq!(bo_row["last_seen"], serde_json::Value::Null);
    assert_eq!(list[2]["addrs"], serde_json::json!([]));
    // Others see the same list; "you" follows the key.
    let seen_by_bo = members(&bo, &s);
    assert_eq!(seen_by_bo[1], ("bo".into(), "member".into(), true, false));
    // The text listing: short keys, addresses, "(you)".
    let text = ada.ok(&s, &["peer", "list"]);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.contains("Ada (you)") && text.contains("127.0.0.1:7420"),
        "{text}"
    );
    assert!(
        text.contains(&bo_key[..17]) && !text.contains(&bo_key),
        "{text}"
    );
    // Addresses are set by name; the same add again changes nothing.
    ada.ok(&s, &["peer", "addr", "cy", "studio-pc.local:9000"]);
    let list = ada.json(&s, &["peer", "list", "--json"]);
    assert_eq!(
        list[2]["addrs"],
        serde_json::json!(["studio-pc.local:9000"])
    );
    let again = ada.ok(&s, &["peer", "add", "bo", &bo_key]);
    assert!(again.contains("already a member"), "{again}");
    // A role change, then removal by name and by key.
    let out = ada.ok(&s, &["peer", "add", "bo", &bo_key, "--role", "owner"]);
    assert!(out.contains("Updated bo"), "{out}");
    let out = ada.ok(&s, &["peer", "remove", "bo"]);
    assert!(out.contains("Removed bo"), "{out}");
    ada.ok(&s, &["peer", "remove", &cy_key]);
    assert_eq!(
        members(&ada, &s),
        [("Ada".into(), "owner".into(), true, true)]
    );
    // A removed member can be added again.
    ada.ok(&s, &["peer", "add", "bo", &bo_key]);
    assert_eq!(members(&ada, &s).len(), 2);
}

#[test]
fn refusals_are_clear_and_change_nothing() {
    let s = Scratch::init();
    let (ada, bo, cy) = (User::new("Ada"), User::new("Bo"), User::new("Cy"));
    let (ada_key, bo_key, cy_key) = (ada.key(), bo.key(), cy.key());
    ada.ok(&s, &["peer", "add", "bo", &bo_key]);
    let before = ada.ok(&s, &["peer", "list", "--json"]);
    // A member who is not an owner cannot change the list.
    let err = bo.fails(&s, &["peer", "add", "cy", &cy_key]);
    assert!(err.contains("is not an owner of this repository"), "{err}");
    assert!(err.contains(&bo_key), "{err}");
    let err = bo.fails(&s, &["peer", "remove", "Ada"]);
    assert!(err.contains("is not an owner"), "{err}");
    // Nor can a stranger found a second list.
    let err = cy.fails(&s, &["peer", "add", "cy", &cy_key]);
    assert!(err.contains("is not an owner"), "{err}");
    // Bad keys, names, addresses and roles.
    let err = ada.fails(&s, &["peer", "add", "x", "gadn1abc"]);
    assert!(err.contains("not a gadn public key"), "{err}");
    let err = ada.fails(&s, &["peer", "add", "x", &bo_key[..60]]);
    assert!(err.contains("not a gadn public key"), "{err}");
    let err = ada.fails(&s, &["peer", "add", "bad name", &cy_key]);
    assert!(err.contains("cannot be a member name"), "{err}");
    let err = ada.fails(&s, &["peer", "add", "x.lock", &cy_key]);
    assert!(err.contains("cannot be a member name"), "{err}");
    let err = ada.fails(&s, &["peer", "add", "cy", &cy_key, "no-port"]);
    assert!(err.contains("not a HOST:PORT address"), "{err}");
    let out = ada.output_in(&s.repo(), &["peer", "add", "cy", &cy_key, "--role", "boss"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("owner, member or reader"));
    // Duplicate name, unknown member, last owner.
    let err = ada.fails(&s, &["peer", "add", "bo", &cy_key]);
    assert!(err.contains("'bo' is already used by"), "{err}");
    let err = ada.fails(&s, &["peer", "remove", "nobody"]);
    assert!(err.contains("'nobody' is not a current member"), "{err}");
    let err = ada.fails(&s, &["peer", "addr", "nobody", "h:1"]);
    assert!(err.contains("not a current member"), "{err}");
    let err = ada.fails(&s, &["peer", "remove", &ada_key]);
    assert!(err.contains("last owner"), "{err}");
    assert_eq!(ada.ok(&s, &["peer", "list", "--json"]), before);
    // Outside a repository, peer commands say so; `id` works anywhere.
    let outside = tempfile::tempdir().unwrap();
    let out = ada.output_in(outside.path(), &["peer", "list"]);
    assert_eq!(out.status.code(), Some(10), "exit 10: not a repository");
}

#[test]
fn history_commands_ignore_the_member_list_ref() {
    let s = Scratch::init();
    let (ada, bo) = (User::new("Ada"), User::new("Bo"));
    s.write("a.bin", &noise(20_000, 3));
    ada.ok(&s, &["add", "."]);
    ada.ok(&s, &["commit", "-m", "first"]);
    ada.ok(&s, &["peer", "add", "bo", &bo.key(), "10.1.2.3:7420"]);
    s.write("b.txt", b"second");
    ada.ok(&s, &["add", "."]);
    ada.ok(&s, &["commit", "-m", "second"]);
    let branches = ada.ok(&s, &["branch"]);
    assert!(
        branches.contains("main") && !branches.contains("members"),
        "{branches}"
    );
    let log = ada.json(&s, &["log", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 2, "{log}");
    let fsck = ada.ok(&s, &["fsck"]);
    assert!(fsck.contains("no problems found"), "{fsck}");
    ada.ok(&s, &["gc"]);
    // The list survives gc (its ref is a root) and still verifies.
    assert_eq!(members(&ada, &s).len(), 2);
    let fsck = ada.ok(&s, &["fsck"]);
    assert!(fsck.contains("no problems found"), "{fsck}");
    let log = ada.ok(&s, &["log"]);
    assert!(log.contains("second") && log.contains("first"), "{log}");
    let out = ada.ok(&s, &["history", "a.bin"]);
    assert!(!out.is_empty());
}
