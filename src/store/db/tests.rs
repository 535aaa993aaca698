//! Tests of opening (new, damaged, foreign, newer files), transactions and
//! concurrency. Refs, index, config/state and ref names are tested beside their
//! code.

use std::path::Path;
use std::sync::{Arc, Barrier};

use super::*;
use crate::store::object::EntryKind;
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

fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("gadn.db")).unwrap();
    (dir, db)
}

/// A plain connection to the same file, to damage it the way a bug, a disk or a
/// hand edit could.
fn raw(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch("PRAGMA ignore_check_constraints = ON;")
        .unwrap();
    c
}

fn entry(path: &str) -> IndexEntry {
    IndexEntry {
        path: path.into(),
        kind: EntryKind::File,
        file_id: id(9),
        size: 1,
        mtime_ns: 2,
        ctime_ns: 3,
        ino: 4,
        dev: 5,
        meta: None,
    }
}

#[test]
fn db_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Db>();
    check::<DbError>();
}

#[test]
fn open_creates_schema_and_sets_pragmas() {
    let (dir, db) = temp_db();
    {
        let c = db.lock();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = c
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }
    db.config_set("k", "v").unwrap();
    drop(db);
    let db = Db::open(&dir.path().join("gadn.db")).unwrap();
    assert_eq!(db.config_get("k").unwrap().as_deref(), Some("v"));
    assert_eq!(db.path(), dir.path().join("gadn.db"));
    // An empty file is a new database.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    Db::open(&empty).unwrap().config_set("k", "v").unwrap();
}

#[test]
fn garbage_files_are_corrupt_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut noise = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..16_384 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.push(x as u8);
    }
    let mut header_then_noise = b"SQLite format 3\0".to_vec();
    header_then_noise.extend_from_slice(&noise[..4096]);
    for (name, bytes) in [
        ("short", b"hello, not a database".to_vec()),
        ("noise", noise),
        ("header", header_then_noise),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        match Db::open(&p) {
            Err(e @ DbError::Corrupt { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("Restore it from a backup"), "{msg}");
                assert!(msg.contains(name), "{msg}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        // Nothing was written to it.
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{name}");
    }
}

#[test]
fn foreign_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.db");
    Connection::open(&p)
        .unwrap()
        .execute_batch("CREATE TABLE songs (title TEXT);")
        .unwrap();
    let err = Db::open(&p).unwrap_err();
    assert!(matches!(err, DbError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("not one written by gadn"), "{err}");
    // Versioned, but not ours.
    Connection::open(&p)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1;")
        .unwrap();
    assert!(matches!(Db::open(&p), Err(DbError::Corrupt { .. })));
}

#[test]
fn version_1_schema_is_upgraded_in_place() {
    let (dir, db) = temp_db();
    db.config_set("k", "v").unwrap();
    drop(db);
    let p = dir.path().join("gadn.db");
    raw(&p).execute_batch("PRAGMA user_version = 1;").unwrap();
    let db = Db::open(&p).unwrap();
    assert_eq!(db.config_get("k").unwrap().as_deref(), Some("v"));
    drop(db);
    let v: i64 = raw(&p)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_refused() {
    let (dir, db) = temp_db();
    drop(db);
    let p = dir.path().join("gadn.db");
    raw(&p)
        .execute_batch(&format!("PRAGMA user_version = {};", SCHEMA_VERSION + 1))
        .unwrap();
    let err = Db::open(&p).unwrap_err();
    assert!(
        matches!(
            err,
            DbError::TooNew {
                found: 6,
                supported: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("store was written by a newer gadn"));
}

#[test]
fn damaged_values_are_reported_not_panics() {
    let (dir, db) = temp_db();
    let p = dir.path().join("gadn.db");
    db.update_ref("refs/heads/ok", Expect::Absent, id(1), &log("x"))
        .unwrap();
    let c = raw(&p);
    c.execute_batch(
        "INSERT INTO refs (name, target) VALUES ('refs/heads/short', x'0102030405');
         INSERT INTO refs (name, target) VALUES ('refs/heads/text', 'abc');
         INSERT INTO refs (name, target, symbolic) VALUES ('refs/heads/both', NULL, NULL);
         INSERT INTO refs (name, symbolic) VALUES ('refs/heads/badsym', 'a..b');",
    )
    .unwrap();
    for name in [
        "refs/heads/short",
        "refs/heads/text",
        "refs/heads/both",
        "refs/heads/badsym",
    ] {
        let err = db.read_ref(name).unwrap_err();
        match &err {
            DbError::BadStoredValue { table, key, .. } => {
                assert_eq!(*table, "refs");
                assert_eq!(key, name);
            }
            other => panic!("{name}: {other:?}"),
        }
        assert!(matches!(
            db.resolve_ref(name),
            Err(DbError::BadStoredValue { .. })
        ));
    }
    let err = db.read_ref("refs/heads/short").unwrap_err().to_string();
    assert!(err.contains("5 bytes, not 32"), "{err}");
    assert!(matches!(
        db.list_refs("refs/heads/s"),
        Err(DbError::BadStoredValue { .. })
    ));
    assert_eq!(db.list_refs("refs/heads/o").unwrap().len(), 1);

    db.write_index(&[entry("a")]).unwrap();
    // Entry layout after the 9-byte header: path_len u16, path "a", kind u8,
    // file_id [32], size, mtime, ctime, ino, dev.
    let kind_at: i64 = 9 + 2 + 1 + 1; // 1-based for SQLite's substr
    let patch = |sql: &str| c.execute_batch(sql).unwrap();
    patch(&format!(
        "UPDATE index_blob SET data = CAST(substr(data, 1, {}) || x'09' || substr(data, {}) AS BLOB);",
        kind_at - 1,
        kind_at + 1
    ));
    let err = db.load_index().unwrap_err();
    assert!(matches!(err, DbError::BadStoredValue { table: "index", ref key, .. } if key == "a"));
    assert!(err.to_string().contains("unknown entry kind 9"), "{err}");
    // Truncated inside the entry.
    patch("UPDATE index_blob SET data = CAST(substr(data, 1, 40) AS BLOB);");
    let err = db.load_index().unwrap_err();
    assert!(
        err.to_string().contains("claims 1 entries in 40 bytes"),
        "{err}"
    );
    // One entry whose path length runs past the end.
    patch("UPDATE index_blob SET data = CAST(x'474944580101000000c800' || zeroblob(80) AS BLOB);");
    let err = db.load_index().unwrap_err();
    assert!(err.to_string().contains("ends inside an entry"), "{err}");
    // Wrong magic, and a count that cannot fit.
    patch("UPDATE index_blob SET data = x'00000000';");
    assert!(matches!(
        db.index_get("a"),
        Err(DbError::BadStoredValue { .. })
    ));
    patch("UPDATE index_blob SET data = x'4749445801ffffffff';");
    let err = db.load_index().unwrap_err();
    assert!(
        err.to_string().contains("claims 4294967295 entries"),
        "{err}"
    );
    assert!(db.index_len().is_ok());
    patch("UPDATE index_blob SET data = x'47494458';");
    assert!(matches!(
        db.index_len(),
        Err(DbError::BadStoredValue { .. })
    ));
    patch("UPDATE index_blob SET data = 'text';");
    let err = db.load_index().unwrap_err();
    assert!(err.to_string().contains("not a blob"), "{err}");
    patch("DELETE FROM index_blob;");
    assert_eq!(db.load_index().unwrap(), vec![]);

    c.execute_batch(
        "INSERT INTO reflog (name, old, new, who, time, tz_offset_min, message)
         VALUES ('refs/heads/ok', x'01', NULL, 'w', 0, 99999, 'm');",
    )
    .unwrap();
    assert!(matches!(
        db.reflog_ids(),
        Err(DbError::BadStoredValue { .. })
    ));
    assert!(matches!(
        db.reflog("refs/heads/ok"),
        Err(DbError::BadStoredValue { .. })
    ));
}

#[test]
fn transaction_commits_together_or_not_at_all() {
    let mut db = Db::open_in_memory().unwrap();
    db.set_symbolic("HEAD", "refs/heads/main").unwrap();
    // Checkout-like: index and HEAD in one go.
    db.transaction(|tx| {
        tx.write_index(&[entry("a"), entry("b")])?;
        tx.update_ref("HEAD", Expect::Absent, id(1), &log("c"))?;
        tx.state_set("index-written", "1")?;
        // Reads inside see the writes.
        assert_eq!(tx.index_len()?, 2);
        assert_eq!(tx.resolve_ref("HEAD")?.unwrap().1, Some(id(1)));
        Ok::<_, DbError>(())
    })
    .unwrap();
    assert_eq!(db.index_len().unwrap(), 2);

    // A failure after some writes rolls all of them back, with the caller's error
    // type.
    #[derive(Debug)]
    enum MyError {
        Db(DbError),
        Mine,
    }
    impl From<DbError> for MyError {
        fn from(e: DbError) -> Self {
            MyError::Db(e)
        }
    }
    let r: Result<(), MyError> = db.transaction(|tx| {
        tx.write_index(&[entry("z")])?;
        tx.update_ref("HEAD", Expect::Value(id(1)), id(2), &log("c"))?;
        tx.config_set("k", "v")?;
        Err(MyError::Mine)
    });
    assert!(matches!(r, Err(MyError::Mine)));
    // A conflict inside is the caller's to handle; it aborts everything too.
    let r = db.transaction(|tx| {
        tx.remove_index(&["a"])?;
        tx.update_ref("HEAD", Expect::Value(id(9)), id(2), &log("c"))
    });
    assert!(matches!(r, Err(DbError::RefConflict { .. })));
    let r: Result<(), MyError> = db.transaction(|tx| {
        tx.update_ref("HEAD", Expect::Absent, id(2), &log("c"))?;
        Ok(())
    });
    assert!(matches!(r, Err(MyError::Db(DbError::RefConflict { .. }))));

    assert_eq!(db.index_len().unwrap(), 2);
    assert_eq!(db.resolve_ref("HEAD").unwrap().unwrap().1, Some(id(1)));
    assert_eq!(db.config_get("k").unwrap(), None);
    assert_eq!(db.reflog("HEAD").unwrap().len(), 1);

    // A panic inside rolls back too, and the handle stays usable.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.transaction(|tx| {
            tx.config_set("k", "v")?;
            if tx.index_len()? > 0 {
                panic!("boom");
            }
            Ok::<_, DbError>(())
        });
    }));
    assert!(caught.is_err());
    assert_eq!(db.config_get("k").unwrap(), None);
}

#[test]
fn two_handles_racing_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gadn.db");
    let main = "refs/heads/main";
    Db::open(&path)
        .unwrap()
        .update_ref(main, Expect::Absent, id(0), &log("init"))
        .unwrap();
    for round in 0..10u8 {
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2u8)
            .map(|who| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let db = Db::open(&path).unwrap();
                    barrier.wait();
                    let new = id(100 + round * 2 + who);
                    db.update_ref(main, Expect::Value(id(round)), new, &log("race"))
                        .map(|()| new)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<ObjectId> = results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(DbError::RefConflict { actual: Some(a), .. }) if *a == winners[0])),
            "{results:?}"
        );
        // Reset for the next round, through a third handle.
        let db = Db::open(&path).unwrap();
        assert_eq!(db.resolve_ref(main).unwrap().unwrap().1, Some(winners[0]));
        db.update_ref(main, Expect::Value(winners[0]), id(round + 1), &log("next"))
            .unwrap();
    }
    let db = Db::open(&path).unwrap();
    // init + one winner and one reset per round; the losers left nothing.
    assert_eq!(db.reflog(main).unwrap().len(), 1 + 2 * 10);
}

#[test]
fn one_handle_shared_by_threads() {
    let (_dir, db) = temp_db();
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let db = &db;
            s.spawn(move || {
                for i in 0..25u8 {
                    let name = format!("refs/heads/t{t}-{i}");
                    db.update_ref(&name, Expect::Absent, id(i), &log("x"))
                        .unwrap();
                    assert_eq!(db.resolve_ref(&name).unwrap().unwrap().1, Some(id(i)));
                }
            });
        }
    });
    assert_eq!(db.list_refs("refs/heads/").unwrap().len(), 100);
}

#[test]
fn concurrent_first_opens_create_the_schema_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gadn.db");
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let db = Db::open(&path)?;
                db.config_set(&format!("k{i}"), "v")
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(Db::open(&path).unwrap().config_list().unwrap().len(), 4);
}

#[test]
fn truncated_file_is_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gadn.db");
    let db = Db::open(&path).unwrap();
    let entries: Vec<IndexEntry> = (0..5000)
        .map(|i| entry(&format!("dir/file{i:05}")))
        .collect();
    db.write_index(&entries).unwrap();
    db.update_ref("refs/heads/main", Expect::Absent, id(1), &log("c"))
        .unwrap();
    drop(db); // the last connection checkpoints the WAL into the file
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let result = Db::open(&path).and_then(|db| {
        db.load_index()?;
        db.list_refs("")
    });
    match result {
        Err(DbError::Corrupt { reason, .. }) => assert!(!reason.is_empty()),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
