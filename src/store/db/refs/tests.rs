//! Tests of refs: resolution, compare-and-swap, reflog, symbolic refs.

use crate::store::db::{Db, DbError, Expect, RefTarget, ReflogInfo};
use crate::store::ObjectId;

fn id(n: u8) -> ObjectId {
    ObjectId::from_bytes([n; 32])
}

fn log(msg: &str) -> ReflogInfo {
    ReflogInfo {
        who: "Ada <ada@example.com>".into(),
        time: 1_700_000_000,
        tz_offset_min: 60,
        message: msg.into(),
    }
}

#[test]
fn unborn_branch_then_first_commit() {
    let db = Db::open_in_memory().unwrap();
    assert_eq!(db.resolve_ref("HEAD").unwrap(), None);
    db.set_symbolic("HEAD", "refs/heads/main").unwrap();
    assert_eq!(
        db.read_ref("HEAD").unwrap(),
        Some(RefTarget::Symbolic("refs/heads/main".into()))
    );
    assert_eq!(
        db.resolve_ref("HEAD").unwrap(),
        Some(("refs/heads/main".to_string(), None))
    );
    assert_eq!(db.resolve_ref("refs/heads/main").unwrap(), None);
    assert_eq!(db.read_ref("refs/heads/main").unwrap(), None);

    // Commit through HEAD creates the branch and logs on both.
    db.update_ref("HEAD", Expect::Absent, id(1), &log("commit (initial): a"))
        .unwrap();
    assert_eq!(
        db.resolve_ref("HEAD").unwrap(),
        Some(("refs/heads/main".to_string(), Some(id(1))))
    );
    assert_eq!(
        db.read_ref("refs/heads/main").unwrap(),
        Some(RefTarget::Id(id(1)))
    );
    db.update_ref("HEAD", Expect::Value(id(1)), id(2), &log("commit: b"))
        .unwrap();
    for name in ["HEAD", "refs/heads/main"] {
        let l = db.reflog(name).unwrap();
        assert_eq!(l.len(), 2, "{name}");
        assert_eq!((l[0].old, l[0].new), (Some(id(1)), Some(id(2))));
        assert_eq!((l[1].old, l[1].new), (None, Some(id(1))));
        assert_eq!(l[0].message, "commit: b");
        assert_eq!(l[0].who, "Ada <ada@example.com>");
        assert_eq!((l[0].time, l[0].tz_offset_min), (1_700_000_000, 60));
    }
    assert_eq!(
        db.list_refs("").unwrap(),
        vec![("refs/heads/main".into(), id(2))]
    );
}

#[test]
fn cas_conflict_changes_nothing() {
    let db = Db::open_in_memory().unwrap();
    let main = "refs/heads/main";
    db.update_ref(main, Expect::Absent, id(1), &log("create"))
        .unwrap();
    for (expect, actual) in [
        (Expect::Absent, Some(id(1))),
        (Expect::Value(id(7)), Some(id(1))),
    ] {
        match db.update_ref(main, expect, id(3), &log("lost")) {
            Err(DbError::RefConflict {
                name,
                expected,
                actual: a,
            }) => {
                assert_eq!(name, main);
                assert_eq!(expected, expect);
                assert_eq!(a, actual);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(db.read_ref(main).unwrap(), Some(RefTarget::Id(id(1))));
    assert_eq!(db.reflog(main).unwrap().len(), 1);
    let err = db
        .update_ref("refs/heads/new", Expect::Value(id(1)), id(2), &log("x"))
        .unwrap_err();
    assert!(matches!(err, DbError::RefConflict { actual: None, .. }));
    assert!(err.to_string().contains("found no ref"), "{err}");
    assert_eq!(db.read_ref("refs/heads/new").unwrap(), None);
    assert!(db.reflog("refs/heads/new").unwrap().is_empty());
    // Any always matches.
    db.update_ref(main, Expect::Any, id(4), &log("force"))
        .unwrap();
    assert_eq!(db.resolve_ref(main).unwrap().unwrap().1, Some(id(4)));
}

#[test]
fn expect_matches_and_displays() {
    assert!(Expect::Any.matches(None) && Expect::Any.matches(Some(id(1))));
    assert!(Expect::Absent.matches(None) && !Expect::Absent.matches(Some(id(1))));
    assert!(Expect::Value(id(1)).matches(Some(id(1))));
    assert!(!Expect::Value(id(1)).matches(Some(id(2))) && !Expect::Value(id(1)).matches(None));
    assert_eq!(Expect::from(None), Expect::Absent);
    assert_eq!(Expect::from(Some(id(1))), Expect::Value(id(1)));
    assert_eq!(Expect::Value(id(1)).to_string(), id(1).to_hex());
    let now = ReflogInfo::now("me", "why");
    assert!(now.time > 1_600_000_000);
    assert_eq!((now.who.as_str(), now.message.as_str()), ("me", "why"));
}

#[test]
fn detached_head_and_no_deref_updates() {
    let db = Db::open_in_memory().unwrap();
    db.set_symbolic("HEAD", "refs/heads/main").unwrap();
    db.update_ref("HEAD", Expect::Absent, id(1), &log("c1"))
        .unwrap();
    db.detach_head(id(5), &log("checkout: moving to 0505"))
        .unwrap();
    assert_eq!(db.read_ref("HEAD").unwrap(), Some(RefTarget::Id(id(5))));
    assert_eq!(
        db.resolve_ref("HEAD").unwrap(),
        Some(("HEAD".to_string(), Some(id(5))))
    );
    assert_eq!(
        db.resolve_ref("refs/heads/main").unwrap().unwrap().1,
        Some(id(1))
    );
    assert_eq!(db.reflog("refs/heads/main").unwrap().len(), 1);
    let head_log = db.reflog("HEAD").unwrap();
    assert_eq!(
        (head_log[0].old, head_log[0].new),
        (Some(id(1)), Some(id(5)))
    );
    // Commit on a detached HEAD moves HEAD only.
    db.update_ref("HEAD", Expect::Value(id(5)), id(6), &log("c"))
        .unwrap();
    assert_eq!(
        db.resolve_ref("refs/heads/main").unwrap().unwrap().1,
        Some(id(1))
    );
    // no-deref CAS compares against what the name resolves to.
    db.set_symbolic_logged("HEAD", "refs/heads/main", &log("checkout: moving to main"))
        .unwrap();
    assert_eq!(db.reflog("HEAD").unwrap()[0].old, Some(id(6)));
    assert_eq!(db.reflog("HEAD").unwrap()[0].new, Some(id(1)));
    assert!(matches!(
        db.update_ref_no_deref("HEAD", Expect::Value(id(6)), id(7), &log("x")),
        Err(DbError::RefConflict { .. })
    ));
    db.update_ref_no_deref("HEAD", Expect::Value(id(1)), id(7), &log("x"))
        .unwrap();
    assert_eq!(db.read_ref("HEAD").unwrap(), Some(RefTarget::Id(id(7))));
    assert_eq!(
        db.resolve_ref("refs/heads/main").unwrap().unwrap().1,
        Some(id(1))
    );
}

#[test]
fn symref_loops_and_depth() {
    let db = Db::open_in_memory().unwrap();
    db.set_symbolic("refs/a", "refs/b").unwrap();
    let err = db.set_symbolic("refs/b", "refs/a").unwrap_err();
    match &err {
        DbError::SymrefLoop { name, chain } => {
            assert_eq!(name, "refs/b");
            assert_eq!(chain, &["refs/b", "refs/a", "refs/b"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("refs/b -> refs/a -> refs/b"),
        "{err}"
    );
    assert!(matches!(
        db.set_symbolic("refs/c", "refs/c"),
        Err(DbError::SymrefLoop { .. })
    ));
    // A loop written behind our back is detected on resolution...
    db.lock()
        .execute_batch("INSERT INTO refs (name, symbolic) VALUES ('refs/b', 'refs/a');")
        .unwrap();
    for name in ["refs/a", "refs/b"] {
        assert!(matches!(
            db.resolve_ref(name),
            Err(DbError::SymrefLoop { .. })
        ));
        assert!(matches!(
            db.update_ref(name, Expect::Any, id(1), &log("x")),
            Err(DbError::SymrefLoop { .. })
        ));
    }
    // ...and can be repaired.
    assert!(db.delete_ref("refs/b", Expect::Any, &log("fix")).unwrap());
    assert_eq!(
        db.resolve_ref("refs/a").unwrap(),
        Some(("refs/b".to_string(), None))
    );

    // Five symbolic hops are allowed, six are not.
    let db = Db::open_in_memory().unwrap();
    for i in 0..5 {
        db.set_symbolic(&format!("refs/s{i}"), &format!("refs/s{}", i + 1))
            .unwrap();
    }
    db.update_ref("refs/s5", Expect::Absent, id(1), &log("x"))
        .unwrap();
    assert_eq!(
        db.resolve_ref("refs/s0").unwrap(),
        Some(("refs/s5".to_string(), Some(id(1))))
    );
    assert!(matches!(
        db.set_symbolic("refs/top", "refs/s0"),
        Err(DbError::SymrefLoop { .. })
    ));
    db.lock()
        .execute_batch("INSERT INTO refs (name, symbolic) VALUES ('refs/top', 'refs/s0');")
        .unwrap();
    assert!(matches!(
        db.resolve_ref("refs/top"),
        Err(DbError::SymrefLoop { .. })
    ));
}

#[test]
fn delete_ref_checks_and_keeps_history() {
    let db = Db::open_in_memory().unwrap();
    let b = "refs/heads/topic";
    db.update_ref(b, Expect::Absent, id(1), &log("branch"))
        .unwrap();
    assert!(matches!(
        db.delete_ref(b, Expect::Value(id(2)), &log("rm")),
        Err(DbError::RefConflict { .. })
    ));
    assert!(db.read_ref(b).unwrap().is_some());
    assert!(db.delete_ref(b, Expect::Value(id(1)), &log("rm")).unwrap());
    assert_eq!(db.read_ref(b).unwrap(), None);
    assert!(!db.delete_ref(b, Expect::Any, &log("rm")).unwrap());
    assert!(!db.delete_ref(b, Expect::Absent, &log("rm")).unwrap());
    let l = db.reflog(b).unwrap();
    assert_eq!(l.len(), 2);
    assert_eq!((l[0].old, l[0].new), (Some(id(1)), None));
    assert_eq!(db.reflog_ids().unwrap(), vec![id(1)]);
    // Deleting a symbolic ref leaves its target alone.
    db.update_ref("refs/heads/main", Expect::Absent, id(3), &log("c"))
        .unwrap();
    db.set_symbolic("HEAD", "refs/heads/main").unwrap();
    assert!(db
        .delete_ref("HEAD", Expect::Value(id(3)), &log("rm"))
        .unwrap());
    assert_eq!(
        db.resolve_ref("refs/heads/main").unwrap().unwrap().1,
        Some(id(3))
    );
}

#[test]
fn list_refs_reflog_ids_and_expiry() {
    let db = Db::open_in_memory().unwrap();
    let mut l = log("x");
    for (name, n) in [
        ("refs/tags/v1", 5),
        ("refs/heads/main", 1),
        ("refs/heads/feature/x", 2),
        ("refs/heads/Main", 3),
        ("refs/headsx", 4),
    ] {
        l.time = i64::from(n);
        db.update_ref(name, Expect::Absent, id(n), &l).unwrap();
    }
    db.update_ref("refs/heads/main", Expect::Any, id(6), &l)
        .unwrap();
    db.set_symbolic("HEAD", "refs/heads/main").unwrap();
    let heads: Vec<String> = db
        .list_refs("refs/heads/")
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        heads,
        ["refs/heads/Main", "refs/heads/feature/x", "refs/heads/main"]
    );
    assert_eq!(db.list_refs("").unwrap().len(), 5);
    assert!(db.list_refs("refs/nope").unwrap().is_empty());
    assert_eq!(
        db.reflog_ids().unwrap(),
        (1..=6).map(id).collect::<Vec<_>>()
    );
    assert_eq!(db.expire_reflog(3).unwrap(), 2);
    assert_eq!(db.reflog("refs/heads/main").unwrap().len(), 1);
    assert!(!db.reflog_ids().unwrap().contains(&id(2)));
}

#[test]
fn bad_ref_names_are_refused_everywhere() {
    let db = Db::open_in_memory().unwrap();
    let bad = "refs/heads/a..b";
    let is_bad = |r: Result<(), DbError>| matches!(r, Err(DbError::BadRefName { .. }));
    assert!(is_bad(db.update_ref(bad, Expect::Any, id(1), &log("x"))));
    assert!(is_bad(db.set_symbolic(bad, "refs/heads/main")));
    assert!(is_bad(db.set_symbolic("HEAD", bad)));
    assert!(is_bad(
        db.delete_ref(bad, Expect::Any, &log("x")).map(|_| ())
    ));
    assert!(is_bad(db.read_ref(bad).map(|_| ())));
    assert!(is_bad(db.resolve_ref(bad).map(|_| ())));
    assert!(is_bad(db.reflog(bad).map(|_| ())));
    assert!(db.list_refs("").unwrap().is_empty());
}
