//! The `locks` table: the current advisory-lock record of each path
//! (`store-format.md` § *SQLite state*, § *Lock*).
//!
//! One row per path that ever had a lock: the id and the canonical bytes of the
//! record that currently wins the merge for that path (a hold or a release), and
//! whether it is a hold. Releases stay, because the next hold's Lamport counter
//! follows them. The same record is also stored in the packs as a `lock` object (so
//! sync can ship it), and the ids here are reachability roots for gc and fsck.
//!
//! Every read that returns a record checks it: the bytes hash to the stored id,
//! decode canonically, carry a valid signature by their owner, and agree with the
//! row's path and `held` flag. A row failing any check is reported as
//! [`DbError::BadStoredValue`] naming the path, never used.

use rusqlite::{params, OptionalExtension};

use super::error::{bad_value, stored_id};
use super::{Db, DbError, Tx};
use crate::store::object::Lock;
use crate::store::{ObjectId, ObjectKind};

/// `CREATE TABLE IF NOT EXISTS …` statements for this module's tables (schema v2).
pub(super) const SCHEMA: &str = "
-- Current advisory-lock record per path (see locks.rs): a hold or a release.
CREATE TABLE IF NOT EXISTS locks (
    path      TEXT PRIMARY KEY NOT NULL,
    record_id BLOB NOT NULL CHECK (length(record_id) = 32),
    held      INTEGER NOT NULL CHECK (held IN (0, 1)),
    record    BLOB NOT NULL
) WITHOUT ROWID;
";

const TABLE: &str = "locks";

/// A row as stored: path, id, held flag, record bytes.
type Row = (String, Vec<u8>, bool, Vec<u8>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

impl Tx<'_> {
    /// Checks a stored row and returns its id and record.
    fn checked(&self, (path, id, held, bytes): Row) -> Result<(ObjectId, Lock), DbError> {
        let bad = |reason: String| bad_value(self.path, TABLE, &path, reason);
        let id = stored_id(self.path, TABLE, &path, &id)?;
        if ObjectId::compute(ObjectKind::Lock, &bytes) != id {
            return Err(bad(format!(
                "the lock record does not hash to its id {}: it was altered",
                id.short()
            )));
        }
        let lock = Lock::decode_verified(&bytes).map_err(|e| bad(e.to_string()))?;
        if lock.path != path {
            return Err(bad(format!("the lock record is for '{}'", lock.path)));
        }
        if lock.is_held() != held {
            return Err(bad("the held flag disagrees with the lock record".into()));
        }
        Ok((id, lock))
    }

    /// See [`Db::lock_record`].
    pub fn lock_record(&self, path: &str) -> Result<Option<(ObjectId, Lock)>, DbError> {
        let r = self
            .conn()
            .prepare_cached("SELECT path, record_id, held, record FROM locks WHERE path = ?1")
            .and_then(|mut s| s.query_row([path], row).optional())
            .map_err(self.err("read lock"))?;
        r.map(|r| self.checked(r)).transpose()
    }

    /// See [`Db::lock_records`].
    pub fn lock_records(&self, held_only: bool) -> Result<Vec<(ObjectId, Lock)>, DbError> {
        let rows: Vec<Row> = self
            .conn()
            .prepare_cached(
                "SELECT path, record_id, held, record FROM locks \
                 WHERE held >= ?1 ORDER BY path",
            )
            .and_then(|mut s| s.query_map([held_only], row)?.collect())
            .map_err(self.err("list locks"))?;
        rows.into_iter().map(|r| self.checked(r)).collect()
    }

    /// See [`Db::lock_any_held`].
    pub fn lock_any_held(&self) -> Result<bool, DbError> {
        self.conn()
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM locks WHERE held = 1)")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(self.err("read locks"))
    }

    /// See [`Db::lock_roots`].
    pub fn lock_roots(&self) -> Result<Vec<(String, ObjectId)>, DbError> {
        let rows: Vec<(String, Vec<u8>)> = self
            .conn()
            .prepare_cached("SELECT path, record_id FROM locks ORDER BY path")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(self.err("list locks"))?;
        rows.into_iter()
            .map(|(path, id)| Ok((path.clone(), stored_id(self.path, TABLE, &path, &id)?)))
            .collect()
    }

    /// Makes `lock` (whose canonical encoding has id `id`) the current record of its
    /// path, replacing any earlier one. The caller has stored it in a pack and
    /// decided, by the merge rule, that it wins.
    pub fn lock_put(&self, id: &ObjectId, lock: &Lock) -> Result<(), DbError> {
        let bytes = lock
            .encode()
            .map_err(|e| bad_value(self.path, TABLE, &lock.path, format!("cannot encode: {e}")))?;
        if ObjectId::compute(ObjectKind::Lock, &bytes) != *id {
            return Err(bad_value(
                self.path,
                TABLE,
                &lock.path,
                format!("id {} is not the record's id", id.short()),
            ));
        }
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO locks (path, record_id, held, record) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| s.execute(params![lock.path, id.as_bytes(), lock.is_held(), bytes]))
            .map_err(self.err("write lock"))?;
        Ok(())
    }

    /// See [`Db::lock_delete`].
    pub fn lock_delete(&self, path: &str) -> Result<bool, DbError> {
        self.conn()
            .prepare_cached("DELETE FROM locks WHERE path = ?1")
            .and_then(|mut s| s.execute([path]))
            .map(|n| n > 0)
            .map_err(self.err("delete lock"))
    }
}

impl Db {
    /// The current lock record of `path` and its id, checked (see the module
    /// docs); `None` if the path never had one.
    pub fn lock_record(&self, path: &str) -> Result<Option<(ObjectId, Lock)>, DbError> {
        self.read(|tx| tx.lock_record(path))
    }

    /// Every current lock record (only holds with `held_only`), sorted by path,
    /// checked.
    pub fn lock_records(&self, held_only: bool) -> Result<Vec<(ObjectId, Lock)>, DbError> {
        self.read(|tx| tx.lock_records(held_only))
    }

    /// True if any path is currently held: one indexed lookup, so commits pay
    /// nothing for locks when there are none.
    pub fn lock_any_held(&self) -> Result<bool, DbError> {
        self.read(|tx| tx.lock_any_held())
    }

    /// Path and record id of every row, unchecked: the reachability roots.
    pub fn lock_roots(&self) -> Result<Vec<(String, ObjectId)>, DbError> {
        self.read(|tx| tx.lock_roots())
    }

    /// See [`Tx::lock_put`].
    pub fn lock_put(&self, id: &ObjectId, lock: &Lock) -> Result<(), DbError> {
        self.write("write lock", |tx| tx.lock_put(id, lock))
    }

    /// Removes the row of `path` (the record itself stays in the packs until gc);
    /// returns whether there was one. Used to clear a damaged row.
    pub fn lock_delete(&self, path: &str) -> Result<bool, DbError> {
        self.write("delete lock", |tx| tx.lock_delete(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::MachineKey;
    use crate::store::object::Person;

    fn signed(path: &str, counter: u64) -> (ObjectId, Lock) {
        let who = Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time: 1_700_000_000,
            tz_offset_min: 0,
        };
        let mut l = Lock::hold(
            path.into(),
            &who,
            "main".into(),
            ObjectId::of_chunk(b"r"),
            ObjectId::of_chunk(b"f"),
            counter,
        );
        l.sign(&MachineKey::from_seed([9; 32])).unwrap();
        (l.id().unwrap(), l)
    }

    fn raw(db: &Db, sql: &str, p: impl rusqlite::Params) {
        db.lock().execute(sql, p).unwrap();
    }

    #[test]
    fn put_get_list_release_and_delete() {
        let db = Db::open_in_memory().unwrap();
        assert!(!db.lock_any_held().unwrap());
        assert!(db.lock_record("a").unwrap().is_none());
        let (ida, a) = signed("a", 1);
        let (idb, b) = signed("dir/b", 1);
        db.lock_put(&ida, &a).unwrap();
        db.lock_put(&idb, &b).unwrap();
        assert!(db.lock_any_held().unwrap());
        assert_eq!(db.lock_record("a").unwrap(), Some((ida, a.clone())));
        let all = db.lock_records(true).unwrap();
        assert_eq!(all, vec![(ida, a.clone()), (idb, b.clone())]);
        assert_eq!(
            db.lock_roots().unwrap(),
            vec![("a".to_string(), ida), ("dir/b".to_string(), idb)]
        );
        // A release replaces the hold; it stays listed among all records only.
        let mut r = a.release(
            ida,
            &Person {
                name: "Bo".into(),
                email: String::new(),
                time: 2,
                tz_offset_min: 0,
            },
        );
        r.sign(&MachineKey::from_seed([8; 32])).unwrap();
        let idr = r.id().unwrap();
        db.lock_put(&idr, &r).unwrap();
        assert_eq!(db.lock_records(true).unwrap(), vec![(idb, b.clone())]);
        assert_eq!(db.lock_records(false).unwrap().len(), 2);
        assert!(db.lock_delete("dir/b").unwrap());
        assert!(!db.lock_delete("dir/b").unwrap());
        assert!(!db.lock_any_held().unwrap());
        // The wrong id is refused and changes nothing.
        let err = db.lock_put(&idb, &a).unwrap_err();
        assert!(err.to_string().contains("is not the record's id"), "{err}");
        let mut bad = a.clone();
        bad.counter = 0;
        let err = db.lock_put(&ida, &bad).unwrap_err();
        assert!(err.to_string().contains("cannot encode"), "{err}");
        assert_eq!(db.lock_record("a").unwrap(), Some((idr, r)));
    }

    #[test]
    fn tampered_rows_are_reported_by_path() {
        let db = Db::open_in_memory().unwrap();
        let (id, l) = signed("art/x.psd", 1);
        db.lock_put(&id, &l).unwrap();
        let expect_bad = |want: &str| {
            let err = db.lock_record("art/x.psd").unwrap_err();
            assert!(matches!(err, DbError::BadStoredValue { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("art/x.psd") && text.contains(want), "{text}");
            assert!(db.lock_records(false).is_err());
        };
        // Flip the held flag.
        raw(&db, "UPDATE locks SET held = 0", []);
        expect_bad("held flag");
        raw(&db, "UPDATE locks SET held = 1", []);
        // Change the bytes without the id: no longer the stored record.
        let (_, other) = signed("art/x.psd", 2);
        let other_bytes = other.encode().unwrap();
        raw(&db, "UPDATE locks SET record = ?1", [&other_bytes]);
        expect_bad("does not hash to its id");
        // Change both consistently, but the signature no longer matches.
        let mut forged = l.clone();
        forged.owner_name = "Mallory".into();
        let fb = forged.encode().unwrap();
        let fid = ObjectId::compute(ObjectKind::Lock, &fb);
        raw(
            &db,
            "UPDATE locks SET record = ?1, record_id = ?2",
            params![fb, fid.as_bytes()],
        );
        expect_bad("does not verify");
        // A valid record under another path's row.
        let (oid, o) = signed("elsewhere", 1);
        let ob = o.encode().unwrap();
        raw(
            &db,
            "UPDATE locks SET record = ?1, record_id = ?2",
            params![ob, oid.as_bytes()],
        );
        expect_bad("is for 'elsewhere'");
        // A short id.
        raw(&db, "DELETE FROM locks", []);
        let err = db
            .lock()
            .execute("INSERT INTO locks VALUES ('p', x'00', 1, x'00')", [])
            .unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{err}");
        assert!(db.lock_roots().unwrap().is_empty());
    }
}
