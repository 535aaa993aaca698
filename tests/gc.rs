//! `gc` frees what a deleted branch held once its reflog entries go; `reflog` shows
//! where refs were, so a deleted branch can be recovered first (issue 15, item 9).
#![cfg(feature = "cli")]

mod common;

use common::{noise, Scratch};

fn store_bytes(s: &Scratch) -> u64 {
    s.json(&["stats", "--json"])["stored_bytes"]
        .as_u64()
        .expect("stored_bytes")
}

#[test]
fn a_deleted_branch_is_recoverable_from_the_reflog_and_freed_by_gc_prune_now() {
    let s = Scratch::init();
    s.write("a.txt", b"base\n");
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "base"]);
    s.run(&["switch", "-c", "big"]);
    s.write("big.bin", &noise(8 << 20, 5));
    s.run(&["add", "."]);
    s.run(&["commit", "-m", "big asset"]);
    let big_tip = s.json(&["log", "--json", "-n", "1"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    s.run(&["switch", "main"]);
    s.run(&["branch", "-D", "big"]);
    let with_big = store_bytes(&s);
    assert!(with_big > 8 << 20, "{with_big}");

    // The reflog names the lost commit; a branch brings it back.
    let log = s.json(&["reflog", "--json", "big"]);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["new"] == big_tip.as_str()),
        "{log}"
    );
    let text = s.run(&["reflog", "--all"]);
    assert!(text.contains("big@{"), "{text}");
    s.run(&["branch", "rescued", &big_tip]);
    s.run(&["branch", "-D", "rescued"]);

    // Default gc keeps it (entries are minutes old), and says how to drop them.
    let out = s.run(&["gc"]);
    assert!(out.contains("--prune=now"), "{out}");
    assert_eq!(store_bytes(&s), with_big);
    // A dry run says what would go and changes nothing.
    let dry = s.json(&["gc", "--dry-run", "--prune=now", "--json"]);
    assert_eq!(dry["dry_run"], true);
    assert!(dry["removed_bytes"].as_u64().unwrap() >= 8 << 20, "{dry}");
    assert!(dry["reflog_expired"].as_u64().unwrap() > 0, "{dry}");
    assert_eq!(store_bytes(&s), with_big);
    assert!(!s
        .json(&["reflog", "--json", "--all"])
        .as_array()
        .unwrap()
        .is_empty());
    // --prune=now drops every reflog entry, then the big file.
    let done = s.json(&["gc", "--prune=now", "--json"]);
    assert_eq!(done["dry_run"], false);
    assert!(store_bytes(&s) < with_big - (8 << 20), "{done}");
    assert!(s
        .json(&["reflog", "--json", "--all"])
        .as_array()
        .unwrap()
        .is_empty());
    s.run(&["fsck"]);
    assert_eq!(std::fs::read(s.path("a.txt")).unwrap(), b"base\n");
    let err = s.fail(&["gc", "--prune=someday"]);
    assert!(err.contains("someday"), "{err}");
}
