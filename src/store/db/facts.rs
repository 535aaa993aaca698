//! The `facts` table: cheap facts about a file's content (its type, class and MIME
//! type, detected from the first bytes), keyed by file id (`store-format.md` §
//! *SQLite state*).
//!
//! Facts are a function of the file id alone, so a row never changes once written:
//! inserts are `INSERT OR IGNORE`, and the table is derived data that can be dropped
//! and rebuilt from the packs at any time.

use rusqlite::{params, OptionalExtension};

use super::{Db, DbError, Tx};
use crate::store::ObjectId;

/// `CREATE TABLE IF NOT EXISTS …` statements for this module's tables (schema v2).
pub(super) const SCHEMA: &str = "
-- Content facts of file objects, detected at ingest (derived, rebuildable).
CREATE TABLE IF NOT EXISTS facts (
    file_id BLOB PRIMARY KEY NOT NULL CHECK (length(file_id) = 32),
    type    TEXT NOT NULL,
    class   TEXT NOT NULL,
    mime    TEXT NOT NULL
) WITHOUT ROWID;
";

/// One row's values, in column order: `[type, class, mime]`.
pub type FactValues = [String; 3];

impl Tx<'_> {
    /// See [`Db::facts_put`].
    pub fn facts_put(&self, rows: &[(ObjectId, FactValues)]) -> Result<(), DbError> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "INSERT OR IGNORE INTO facts (file_id, type, class, mime) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(self.err("write facts"))?;
        // In key order: B-tree inserts then touch each page once (about a third
        // faster for a first `add` of many files than random order).
        let mut sorted: Vec<&(ObjectId, FactValues)> = rows.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (id, [kind, class, mime]) in sorted {
            stmt.execute(params![&id.as_bytes()[..], kind, class, mime])
                .map_err(self.err("write facts"))?;
        }
        Ok(())
    }

    /// See [`Db::facts_get`].
    pub fn facts_get(&self, id: &ObjectId) -> Result<Option<FactValues>, DbError> {
        self.conn()
            .prepare_cached("SELECT type, class, mime FROM facts WHERE file_id = ?1")
            .and_then(|mut s| {
                s.query_row([&id.as_bytes()[..]], |r| {
                    Ok([r.get(0)?, r.get(1)?, r.get(2)?])
                })
                .optional()
            })
            .map_err(self.err("read facts"))
    }

    /// See [`Db::facts_count`].
    pub fn facts_count(&self) -> Result<u64, DbError> {
        self.conn()
            .prepare_cached("SELECT count(*) FROM facts")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
            .map_err(self.err("count facts"))
    }
}

impl Db {
    /// Records the facts of several file objects in one transaction. A file id that
    /// already has facts keeps them (facts depend on the content only, so they agree).
    pub fn facts_put(&self, rows: &[(ObjectId, FactValues)]) -> Result<(), DbError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.write("write facts", |tx| tx.facts_put(rows))
    }

    /// The recorded facts (`[type, class, mime]`) of file object `id`, `None` if none
    /// are recorded.
    pub fn facts_get(&self, id: &ObjectId) -> Result<Option<FactValues>, DbError> {
        self.read(|tx| tx.facts_get(id))
    }

    /// How many file objects have recorded facts.
    pub fn facts_count(&self) -> Result<u64, DbError> {
        self.read(|tx| tx.facts_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(k: &str, c: &str, m: &str) -> FactValues {
        [k.into(), c.into(), m.into()]
    }

    #[test]
    fn put_get_and_first_write_wins() {
        let db = Db::open_in_memory().unwrap();
        let a = ObjectId::of_chunk(b"a");
        let b = ObjectId::of_chunk(b"b");
        assert_eq!(db.facts_get(&a).unwrap(), None);
        db.facts_put(&[]).unwrap();
        assert_eq!(db.facts_count().unwrap(), 0);
        db.facts_put(&[
            (a, row("png", "image", "image/png")),
            (b, row("text", "text", "text/plain")),
        ])
        .unwrap();
        assert_eq!(
            db.facts_get(&a).unwrap(),
            Some(row("png", "image", "image/png"))
        );
        db.facts_put(&[(a, row("jpeg", "image", "image/jpeg"))])
            .unwrap();
        assert_eq!(
            db.facts_get(&a).unwrap(),
            Some(row("png", "image", "image/png")),
            "facts are a function of the id; the first row stays"
        );
        assert_eq!(db.facts_count().unwrap(), 2);
    }

    #[test]
    fn a_batch_is_one_transaction() {
        let mut db = Db::open_in_memory().unwrap();
        let a = ObjectId::of_chunk(b"a");
        let r: Result<(), DbError> = db.transaction(|tx| {
            tx.facts_put(&[(a, row("png", "image", "image/png"))])?;
            assert!(tx.facts_get(&a)?.is_some());
            Err(DbError::Corrupt {
                path: ":memory:".into(),
                reason: "test rollback".into(),
            })
        });
        assert!(r.is_err());
        assert_eq!(db.facts_get(&a).unwrap(), None, "rolled back");
    }
}
