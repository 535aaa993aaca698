//! `gadn lock`, `gadn unlock`, `gadn locks` through the real binary, with two users
//! (two `GADN_HOME` directories, so two identity keys) sharing one repository.
//! Every command here sets `GADN_HOME` to a temporary directory, so nothing is
//! written to the real home.
#![cfg(feature = "cli")]

mod common;
use common::*;

use std::os::unix::fs::PermissionsExt;

fn head(u: &User, s: &Scratch) -> String {
    u.json(s, &["log", "--json"])[0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// A repository with `hero.psd`, `notes.txt` and `art/tree.fbx`, committed by Ada.
fn setup() -> (Scratch, User, User) {
    let s = Scratch::init();
    let (ada, bo) = (User::new("Ada"), User::new("Bo"));
    s.write("hero.psd", &noise(50_000, 1));
    s.write("notes.txt", b"notes");
    s.write("art/tree.fbx", &noise(3000, 2));
    ada.ok(&s, &["add", "."]);
    ada.ok(&s, &["commit", "-m", "base"]);
    (s, ada, bo)
}

#[test]
fn two_users_lock_commit_and_unlock() {
    let (s, ada, bo) = setup();
    assert!(!ada.key_file().exists());
    let out = ada.ok(&s, &["lock", "hero.psd"]);
    assert!(out.starts_with("Locked hero.psd ("), "{out}");
    // The key was created on first use, private to its owner.
    let mode = std::fs::metadata(ada.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(std::fs::metadata(ada.key_file()).unwrap().len(), 32);
    // Locking again is a no-op.
    let again = ada.ok(&s, &["lock", "hero.psd"]);
    assert_eq!(again, "hero.psd: already locked by you\n");

    let locks = ada.json(&s, &["locks", "--json"]);
    let list = locks.as_array().unwrap();
    assert_eq!(list.len(), 1, "{locks}");
    let l = &list[0];
    assert_eq!(l["path"], "hero.psd");
    assert_eq!(l["owner"], "Ada");
    assert_eq!(l["email"], "ada@example.org");
    assert_eq!(l["branch"], "main");
    assert_eq!(l["revision"], head(&ada, &s));
    assert_eq!(l["mine"], true);
    assert!(l["key"].as_str().unwrap().starts_with("gadn1"));
    assert!(l["since"].as_str().unwrap().len() >= 19);
    assert_eq!(bo.json(&s, &["locks", "--json"])[0]["mine"], false);
    // Listing, and refusals, create no key.
    assert!(!bo.key_file().exists());
    let text = bo.ok(&s, &["locks"]);
    let rev = head(&ada, &s);
    assert!(
        text.starts_with(&format!(
            "hero.psd  Ada <ada@example.org>  main  {}  ",
            &rev[..12]
        )),
        "{text}"
    );
    assert!(ada.ok(&s, &["locks"]).contains("(you)"));

    // Bo cannot take it, nor commit a change to it; nothing is recorded.
    let err = bo.fails_with(&s, &["lock", "hero.psd"], 11);
    assert!(
        err.contains("'hero.psd' is locked by Ada <ada@example.org>"),
        "{err}"
    );
    let err = bo.fails(&s, &["unlock", "hero.psd"]);
    assert!(err.contains("only the holder unlocks it"), "{err}");
    assert!(!bo.key_file().exists());
    s.write("hero.psd", &noise(50_000, 3));
    bo.ok(&s, &["add", "hero.psd"]);
    let err = bo.fails_with(&s, &["commit", "-m", "bo edits"], 11);
    assert!(err.contains("locked by someone else"), "{err}");
    assert!(err.contains("hero.psd (locked by Ada"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(head(&bo, &s), rev);
    // Files nobody locked commit as usual; --force commits the locked one.
    s.write("notes.txt", b"bo's notes");
    bo.ok(&s, &["commit", "-m", "forced", "--force", "-a"]);
    assert_ne!(head(&bo, &s), rev);
    // Ada's own commit of her locked file is fine.
    s.write("hero.psd", &noise(50_000, 4));
    ada.ok(&s, &["commit", "-a", "-m", "ada edits"]);

    // Only the holder unlocks, unless --force.
    let err = bo.fails(&s, &["unlock", "hero.psd"]);
    assert!(err.contains("only the holder unlocks it"), "{err}");
    assert_eq!(
        bo.json(&s, &["locks", "--json"]).as_array().unwrap().len(),
        1
    );
    assert_eq!(ada.ok(&s, &["unlock", "hero.psd"]), "Unlocked hero.psd\n");
    assert_eq!(ada.json(&s, &["locks", "--json"]), serde_json::json!([]));
    let err = ada.fails(&s, &["unlock", "hero.psd"]);
    assert!(err.contains("'hero.psd' is not locked"), "{err}");
    // Once released, Bo may take it; Ada breaks his lock with --force.
    bo.ok(&s, &["lock", "hero.psd", "notes.txt"]);
    assert_eq!(
        ada.json(&s, &["locks", "--json"]).as_array().unwrap().len(),
        2
    );
    let out = ada.ok(&s, &["unlock", "--force", "hero.psd"]);
    assert!(
        out.contains("broke the lock of Bo <bo@example.org>"),
        "{out}"
    );
    let left = ada.json(&s, &["locks", "--json"]);
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["path"], "notes.txt");
    assert!(ada.ok(&s, &["-q", "lock", "hero.psd"]).is_empty());
}

#[test]
fn stale_untracked_directory_and_detached_are_refused() {
    let (s, ada, bo) = setup();
    ada.ok(&s, &["branch", "old"]);
    s.write("hero.psd", &noise(50_000, 9));
    ada.ok(&s, &["commit", "-a", "-m", "newer hero"]);
    let newer = head(&ada, &s);
    ada.ok(&s, &["switch", "old"]);
    let err = ada.fails(&s, &["lock", "hero.psd"]);
    assert!(err.contains("cannot lock 'hero.psd'"), "{err}");
    assert!(err.contains("stale") && err.contains(&newer[..12]), "{err}");
    // A file the newer branch did not change is at its latest revision.
    ada.ok(&s, &["lock", "notes.txt"]);
    for (path, why) in [
        ("art", "is a directory"),
        ("nothing.bin", "not a tracked file in HEAD"),
    ] {
        let err = ada.fails(&s, &["lock", path]);
        assert!(err.contains(why), "{path}: {err}");
    }
    s.write("new.bin", b"untracked");
    assert!(bo
        .fails(&s, &["lock", "new.bin"])
        .contains("not a tracked file"));
    assert!(!bo.key_file().exists(), "a refused lock creates no key");
    assert!(ada
        .fails(&s, &["lock", "new.bin"])
        .contains("not a tracked file"));
    s.write("art/tree.fbx", b"edited");
    assert!(ada
        .fails(&s, &["lock", "art/tree.fbx"])
        .contains("working copy differs"));
    let err = ada.fails(&s, &["lock", "../outside"]);
    assert!(err.contains("outside the working tree"), "{err}");
    ada.ok(&s, &["checkout", "--force", &newer]);
    let err = ada.fails(&s, &["lock", "hero.psd"]);
    assert!(err.contains("HEAD is detached"), "{err}");
    // Nothing but notes.txt was locked.
    let locks = ada.json(&s, &["locks", "--json"]);
    assert_eq!(locks.as_array().unwrap().len(), 1, "{locks}");
    // No path is bad usage.
    assert_eq!(ada.output_in(&s.repo(), &["lock"]).status.code(), Some(2));
    assert_eq!(ada.output_in(&s.repo(), &["unlock"]).status.code(), Some(2));
}

#[test]
fn fsck_and_gc_keep_lock_records_and_tampering_is_detected() {
    let (s, ada, bo) = setup();
    ada.ok(&s, &["lock", "hero.psd"]);
    ada.ok(&s, &["lock", "notes.txt"]);
    ada.ok(&s, &["unlock", "notes.txt"]);
    ada.ok(&s, &["fsck"]);
    ada.ok(&s, &["gc"]);
    // gc kept both current records (a missing one would fail fsck), and they verify.
    ada.ok(&s, &["fsck"]);
    assert_eq!(ada.json(&s, &["locks", "--json"])[0]["path"], "hero.psd");

    // Alter the stored hold: a consistent id, but the signature no longer matches.
    let db = rusqlite::Connection::open(s.path(".gadn/gadn.db")).unwrap();
    let bytes: Vec<u8> = db
        .query_row(
            "SELECT record FROM locks WHERE path = 'hero.psd'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut forged = gadn::store::object::Lock::decode_verified(&bytes).unwrap();
    forged.owner_name = "Mallory".into();
    let fb = forged.encode().unwrap();
    let fid = forged.id().unwrap();
    db.execute(
        "UPDATE locks SET record = ?1, record_id = ?2 WHERE path = 'hero.psd'",
        rusqlite::params![fb, fid.as_bytes().to_vec()],
    )
    .unwrap();
    drop(db);
    let err = ada.fails(&s, &["locks"]);
    assert!(
        err.contains("hero.psd") && err.contains("does not verify"),
        "{err}"
    );
    s.write("hero.psd", &noise(50_000, 7));
    let before = head(&bo, &s);
    assert!(bo
        .fails(&s, &["commit", "-a", "-m", "x"])
        .contains("does not verify"));
    assert_eq!(head(&bo, &s), before);
    // fsck names the forged record, which is not in any pack.
    let out = ada.output_in(&s.repo(), &["fsck"]);
    assert_eq!(out.status.code(), Some(3), "fsck exits 3 on damage");
    assert!(String::from_utf8_lossy(&out.stdout).contains("lock:hero.psd"));
    assert!(ada
        .fails(&s, &["unlock", "hero.psd"])
        .contains("does not verify"));
    let out = ada.ok(&s, &["unlock", "--force", "hero.psd"]);
    assert!(
        out.starts_with("Cleared the damaged lock record of hero.psd"),
        "{out}"
    );
    assert_eq!(ada.json(&s, &["locks", "--json"]), serde_json::json!([]));
    ada.ok(&s, &["fsck"]);
}

#[test]
fn an_unsafe_or_damaged_identity_key_is_refused() {
    let (s, ada, bo) = setup();
    ada.ok(&s, &["lock", "hero.psd"]);
    let key = ada.key_file();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = ada.fails(&s, &["unlock", "hero.psd"]);
    assert!(
        err.contains("not safe to use") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(ada.fails(&s, &["locks"]).contains("not safe"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&key, b"short").unwrap();
    let err = ada.fails(&s, &["lock", "notes.txt"]);
    assert!(err.contains("5 bytes, expected 32"), "{err}");
    assert_eq!(std::fs::read(&key).unwrap(), b"short");
    // Nothing changed: hero.psd is still the only lock, and still Ada's.
    let locks = bo.json(&s, &["locks", "--json"]);
    assert_eq!(locks.as_array().unwrap().len(), 1, "{locks}");
    assert_eq!(locks[0]["path"], "hero.psd");
    assert_eq!(locks[0]["owner"], "Ada");
}

#[test]
fn a_refused_commit_leaves_the_index_as_it_was() {
    // Issue 15, item 6: a `commit -a` refused by someone else's lock left the edits
    // staged, and `restore PATH` then claimed success while changing nothing.
    let (s, ada, bo) = setup();
    ada.ok(&s, &["lock", "hero.psd"]);
    // Something Bo staged himself stays staged; the rest of the index is untouched.
    s.write("notes.txt", b"bo's staged notes");
    bo.ok(&s, &["add", "notes.txt"]);
    let before = bo.json(&s, &["status", "--json"]);
    s.write("hero.psd", &noise(50_000, 7));
    s.write("art/tree.fbx", &noise(3000, 8));
    let err = bo.fails_with(&s, &["commit", "-a", "-m", "bo edits"], 11);
    assert!(err.contains("hero.psd (locked by Ada"), "{err}");
    let after = bo.json(&s, &["status", "--json"]);
    assert_eq!(after["staged"], before["staged"], "{after}");
    let mut unstaged: Vec<&str> = after["unstaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    unstaged.sort();
    assert_eq!(unstaged, vec!["art/tree.fbx", "hero.psd"], "{after}");
    // `restore` now really restores the committed file.
    let out = bo.ok(&s, &["restore", "hero.psd"]);
    assert_eq!(out, "1 file(s) restored (48.8 KiB)\n");
    assert_eq!(std::fs::read(s.path("hero.psd")).unwrap(), noise(50_000, 1));
    // And says so when there was nothing to restore.
    let out = bo.ok(&s, &["restore", "hero.psd"]);
    assert!(out.starts_with("0 file(s) restored"), "{out}");
    assert!(out.contains("1 already up to date"), "{out}");
}

#[test]
fn a_reader_cannot_take_a_lock() {
    // Issue 15, item 4: a reader could take locks, and the lock blocked writers.
    // Roles apply to locks as to pushes, once the repository has a member list.
    let (s, ada, bo) = setup();
    let cy = User::new("Cy");
    ada.ok(
        &s,
        &["peer", "add", "bo-laptop", &bo.key(), "--role", "reader"],
    );
    let err = bo.fails_with(&s, &["lock", "hero.psd"], 1);
    assert!(
        err.contains("cannot lock 'hero.psd'") && err.contains("reader"),
        "{err}"
    );
    assert!(
        err.contains("--role member"),
        "the hint says what to do: {err}"
    );
    // Nothing was recorded, so writers are not blocked.
    assert_eq!(ada.json(&s, &["locks", "--json"]), serde_json::json!([]));
    ada.ok(&s, &["lock", "hero.psd"]);
    // A reader cannot break a lock either.
    let err = bo.fails_with(&s, &["unlock", "--force", "hero.psd"], 1);
    assert!(err.contains("cannot unlock 'hero.psd'"), "{err}");
    assert_eq!(ada.json(&s, &["locks", "--json"])[0]["owner"], "Ada");
    // Someone not in the list is refused, and no key is made for them.
    let err = cy.fails_with(&s, &["lock", "notes.txt"], 1);
    assert!(err.contains("not a member"), "{err}");
    assert!(!cy.key_file().exists());
    // Once a member, Bo may lock.
    ada.ok(
        &s,
        &["peer", "add", "bo-laptop", &bo.key(), "--role", "member"],
    );
    bo.ok(&s, &["lock", "notes.txt"]);
}

#[test]
fn locks_show_the_members_name() {
    // Issue 15, item 4: a lock's owner showed as `unknown <>`, not the member's
    // name. The member list names a signer it knows; a member without a configured
    // identity locks under that name.
    let (s, ada, bo) = setup();
    ada.ok(&s, &["peer", "add", "bo-laptop", &bo.key()]);
    bo.ok(&s, &["lock", "hero.psd"]);
    let locks = ada.json(&s, &["locks", "--json"]);
    assert_eq!(locks[0]["owner"], "bo-laptop", "{locks}");
    assert_eq!(locks[0]["email"], "bo@example.org", "{locks}");
    let text = ada.ok(&s, &["locks"]);
    assert!(
        text.starts_with("hero.psd  bo-laptop <bo@example.org>  main  "),
        "{text}"
    );
    let err = ada.fails_with(&s, &["lock", "hero.psd"], 11);
    assert!(
        err.contains("is locked by bo-laptop <bo@example.org>"),
        "{err}"
    );
    // No user.name / user.email anywhere: the member's name, and no `<>`.
    let out = std_cmd(&["lock", "notes.txt"], &s.repo())
        .env("GADN_HOME", bo.home.path().join("gadn"))
        .env_remove("GADN_AUTHOR_NAME")
        .env_remove("GADN_AUTHOR_EMAIL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = ada.ok(&s, &["locks"]);
    let line = text.lines().find(|l| l.starts_with("notes.txt")).unwrap();
    assert!(line.starts_with("notes.txt  bo-laptop  main  "), "{text}");
    assert!(!text.contains("unknown") && !text.contains("<>"), "{text}");
}
