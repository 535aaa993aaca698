//! The index: the staging area and stat cache, one row per tracked path (like
//! git's index). Loaded and written whole in the common case, so both are single
//! passes over a `WITHOUT ROWID` table keyed by path, with cached statements in one
//! transaction.

use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension, Row};

use super::error::{bad_value, stored_id};
use super::{Db, DbError, Tx};
use crate::store::object::EntryKind;
use crate::store::ObjectId;

/// One index row: what is staged at `path`, and the stat data of the working file
/// it was last seen as, so an unchanged file need not be re-hashed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// Path relative to the working-tree root, `/`-separated, no `.` or `..`
    /// components.
    pub path: String,
    /// File, executable, directory or symlink.
    pub kind: EntryKind,
    /// The staged content: a file object (a tree for directories).
    pub file_id: ObjectId,
    /// Size in bytes of the working file.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status-change time, nanoseconds since the Unix epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

const TABLE: &str = "index";

const COLUMNS: &str = "path, kind, file_id, size, mtime_ns, ctime_ns, ino, dev";

/// Why `path` cannot be an index key, if it cannot.
fn path_rule_broken(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("it is empty");
    }
    if path.contains('\0') {
        return Some("it contains a NUL byte");
    }
    if path.starts_with('/') || path.ends_with('/') {
        return Some("it starts or ends with '/'");
    }
    for part in path.split('/') {
        match part {
            "" => return Some("it contains '//'"),
            "." | ".." => return Some("it has a '.' or '..' component"),
            _ => {}
        }
    }
    None
}

fn check_path(path: &str) -> Result<(), DbError> {
    match path_rule_broken(path) {
        None => Ok(()),
        Some(reason) => Err(DbError::BadIndexPath {
            path: path.to_string(),
            reason,
        }),
    }
}

impl Tx<'_> {
    /// See [`Db::load_index`].
    pub fn load_index(&self) -> Result<Vec<IndexEntry>, DbError> {
        let op = "load index";
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM index_entries ORDER BY path"
            ))
            .map_err(self.err(op))?;
        // Sized once: regrowing a 100k-entry vector costs page faults and copies.
        let mut out = Vec::with_capacity(self.index_len()?);
        let mut rows = stmt.query([]).map_err(self.err(op))?;
        while let Some(row) = rows.next().map_err(self.err(op))? {
            out.push(self.decode(row)?);
        }
        Ok(out)
    }

    /// See [`Db::index_get`].
    pub fn index_get(&self, path: &str) -> Result<Option<IndexEntry>, DbError> {
        let op = "read index entry";
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM index_entries WHERE path = ?1"
            ))
            .map_err(self.err(op))?;
        let mut rows = stmt.query([path]).map_err(self.err(op))?;
        match rows.next().map_err(self.err(op))? {
            Some(row) => self.decode(row).map(Some),
            None => Ok(None),
        }
    }

    fn decode(&self, row: &Row<'_>) -> Result<IndexEntry, DbError> {
        let col = |i: usize| -> Result<ValueRef<'_>, DbError> {
            row.get_ref(i)
                .map_err(|e| bad_value(self.path, TABLE, "?", e.to_string()))
        };
        let path = match col(0)? {
            ValueRef::Text(t) => std::str::from_utf8(t)
                .map_err(|_| bad_value(self.path, TABLE, "?", "path is not UTF-8"))?
                .to_string(),
            other => {
                return Err(bad_value(
                    self.path,
                    TABLE,
                    "?",
                    format!("path is {:?}, not text", other.data_type()),
                ))
            }
        };
        let int = |i: usize, what: &str| -> Result<i64, DbError> {
            match col(i)? {
                ValueRef::Integer(n) => Ok(n),
                other => Err(bad_value(
                    self.path,
                    TABLE,
                    &path,
                    format!("{what} is {:?}, not an integer", other.data_type()),
                )),
            }
        };
        let kind_n = int(1, "kind")?;
        let kind = u8::try_from(kind_n)
            .ok()
            .and_then(EntryKind::from_u8)
            .ok_or_else(|| {
                bad_value(
                    self.path,
                    TABLE,
                    &path,
                    format!("unknown entry kind {kind_n}"),
                )
            })?;
        let file_id = match col(2)? {
            ValueRef::Blob(b) => stored_id(self.path, TABLE, &path, b)?,
            other => {
                return Err(bad_value(
                    self.path,
                    TABLE,
                    &path,
                    format!("file id is {:?}, not a blob", other.data_type()),
                ))
            }
        };
        Ok(IndexEntry {
            kind,
            file_id,
            // u64 values are stored bit-cast to i64.
            size: int(3, "size")? as u64,
            mtime_ns: int(4, "mtime")?,
            ctime_ns: int(5, "ctime")?,
            ino: int(6, "inode")? as u64,
            dev: int(7, "device")? as u64,
            path,
        })
    }

    fn insert_all(
        &self,
        sql: &str,
        op: &'static str,
        entries: &[IndexEntry],
    ) -> Result<(), DbError> {
        for e in entries {
            check_path(&e.path)?;
        }
        // Inserting in key order appends to the B-tree instead of splitting pages
        // all over it: about twice as fast for 100k shuffled entries.
        let mut sorted: Vec<&IndexEntry> = entries.iter().collect();
        sorted.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        let mut stmt = self.conn().prepare_cached(sql).map_err(self.err(op))?;
        for e in sorted {
            stmt.execute(params![
                e.path,
                e.kind as u8,
                &e.file_id.as_bytes()[..],
                e.size as i64,
                e.mtime_ns,
                e.ctime_ns,
                e.ino as i64,
                e.dev as i64,
            ])
            .map_err(self.err(op))?;
        }
        Ok(())
    }

    /// See [`Db::write_index`].
    pub fn write_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        self.conn()
            .execute("DELETE FROM index_entries", [])
            .map_err(self.err("clear index"))?;
        self.insert_all(
            &format!(
                "INSERT INTO index_entries ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            "write index",
            entries,
        )
    }

    /// See [`Db::upsert_index`].
    pub fn upsert_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        self.insert_all(
            &format!(
                "INSERT OR REPLACE INTO index_entries ({COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            "update index",
            entries,
        )
    }

    /// See [`Db::remove_index`].
    pub fn remove_index(&self, paths: &[&str]) -> Result<usize, DbError> {
        let op = "remove from index";
        let mut stmt = self
            .conn()
            .prepare_cached("DELETE FROM index_entries WHERE path = ?1")
            .map_err(self.err(op))?;
        let mut removed = 0;
        for p in paths {
            removed += stmt.execute([p]).map_err(self.err(op))?;
        }
        Ok(removed)
    }

    /// See [`Db::index_len`].
    pub fn index_len(&self) -> Result<usize, DbError> {
        self.conn()
            .query_row("SELECT count(*) FROM index_entries", [], |r| r.get(0))
            .optional()
            .map(|n: Option<i64>| n.unwrap_or(0) as usize)
            .map_err(self.err("count index entries"))
    }
}

impl Db {
    /// The whole index, sorted bytewise by path.
    pub fn load_index(&self) -> Result<Vec<IndexEntry>, DbError> {
        self.read(|tx| tx.load_index())
    }

    /// The entry for `path`, if staged.
    pub fn index_get(&self, path: &str) -> Result<Option<IndexEntry>, DbError> {
        self.read(|tx| tx.index_get(path))
    }

    /// Replaces the whole index with `entries` (in any order; paths must be
    /// distinct). Fails with [`DbError::BadIndexPath`] for a path that is empty,
    /// absolute, has a trailing `/`, `//`, a `.` or `..` component, or a NUL.
    pub fn write_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        self.write("write index", |tx| tx.write_index(entries))
    }

    /// Adds `entries`, replacing those already staged at the same paths. Paths are
    /// checked as by [`Db::write_index`].
    pub fn upsert_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        self.write("update index", |tx| tx.upsert_index(entries))
    }

    /// Removes the entries at `paths`; returns how many there were.
    pub fn remove_index(&self, paths: &[&str]) -> Result<usize, DbError> {
        self.write("remove from index", |tx| tx.remove_index(paths))
    }

    /// Number of index entries.
    pub fn index_len(&self) -> Result<usize, DbError> {
        self.read(|tx| tx.index_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn entry(i: u64) -> IndexEntry {
        IndexEntry {
            path: format!("assets/dir{:03}/file{i:06}.png", i % 997),
            kind: match i % 4 {
                0 => EntryKind::File,
                1 => EntryKind::Executable,
                2 => EntryKind::Symlink,
                _ => EntryKind::Dir,
            },
            file_id: ObjectId::of_chunk(&i.to_le_bytes()),
            size: i * 1000,
            mtime_ns: 1_700_000_000_000_000_000 + i as i64,
            ctime_ns: -(i as i64),
            ino: u64::MAX - i,
            dev: i << 40,
        }
    }

    #[test]
    fn round_trip_sorted_bytewise_with_full_u64_range() {
        let db = Db::open_in_memory().unwrap();
        let mut es: Vec<IndexEntry> = (0..50).map(entry).collect();
        es.push(IndexEntry {
            path: "B/upper".into(),
            ..entry(1)
        });
        es.push(IndexEntry {
            path: "a/ü".into(),
            ..entry(2)
        });
        es.push(IndexEntry {
            path: "a/z".into(),
            size: u64::MAX,
            ino: u64::MAX,
            dev: 1 << 63,
            ..entry(3)
        });
        db.write_index(&es).unwrap();
        let back = db.load_index().unwrap();
        let mut want = es.clone();
        want.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
        assert_eq!(back, want);
        assert_eq!(back[0].path, "B/upper");
        assert_eq!(db.index_len().unwrap(), es.len());
        assert_eq!(db.index_get("a/z").unwrap().unwrap().size, u64::MAX);
        assert_eq!(db.index_get("nope").unwrap(), None);
    }

    #[test]
    fn write_replaces_upsert_merges_remove_deletes() {
        let db = Db::open_in_memory().unwrap();
        db.write_index(&[entry(1), entry(2), entry(3)]).unwrap();
        db.write_index(&[entry(4)]).unwrap();
        assert_eq!(db.load_index().unwrap(), vec![entry(4)]);
        let changed = IndexEntry {
            size: 7,
            ..entry(4)
        };
        db.upsert_index(&[changed.clone(), entry(5)]).unwrap();
        assert_eq!(db.index_len().unwrap(), 2);
        assert_eq!(db.index_get(&changed.path).unwrap(), Some(changed.clone()));
        let p5 = entry(5).path;
        assert_eq!(db.remove_index(&[&p5, "not/there"]).unwrap(), 1);
        assert_eq!(db.load_index().unwrap(), vec![changed]);
        db.write_index(&[]).unwrap();
        assert_eq!(db.index_len().unwrap(), 0);
    }

    #[test]
    fn bad_paths_are_refused_and_nothing_is_written() {
        let db = Db::open_in_memory().unwrap();
        db.write_index(&[entry(1)]).unwrap();
        for bad in [
            "", "/abs", "dir/", "a//b", "./a", "a/../b", "..", "a/.", "a\0b",
        ] {
            let e = IndexEntry {
                path: bad.into(),
                ..entry(9)
            };
            let err = db.write_index(&[entry(2), e.clone()]).unwrap_err();
            assert!(
                matches!(err, DbError::BadIndexPath { .. }),
                "{bad:?}: {err}"
            );
            assert!(matches!(
                db.upsert_index(&[e]),
                Err(DbError::BadIndexPath { .. })
            ));
        }
        // Duplicates in a full write are an error too, and roll back.
        assert!(db.write_index(&[entry(2), entry(2)]).is_err());
        assert_eq!(db.load_index().unwrap(), vec![entry(1)]);
        for ok in [".gadnignore", "a/.hidden", "a/..b", "a b/c"] {
            let e = IndexEntry {
                path: ok.into(),
                ..entry(9)
            };
            db.upsert_index(&[e]).unwrap();
        }
    }

    #[test]
    fn rows_of_the_wrong_type_are_reported_not_misread() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gadn.db");
        let db = Db::open(&path).unwrap();
        db.write_index(&[entry(1)]).unwrap();
        // Damage the way a bug or a hand edit could, past the CHECK constraints.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("PRAGMA ignore_check_constraints = ON;")
            .unwrap();
        // Rows whose path is not the text 'p' are only reached by a full load.
        let damage = |sql: &str, by_key: bool, want: &str| {
            raw.execute_batch(&format!("DELETE FROM index_entries; {sql}"))
                .unwrap();
            let mut errs = vec![db.load_index().unwrap_err()];
            if by_key {
                errs.push(db.index_get("p").unwrap_err());
            }
            for err in errs {
                assert!(
                    matches!(err, DbError::BadStoredValue { table: "index", .. }),
                    "{err:?}"
                );
                assert!(err.to_string().contains(want), "{err}");
            }
        };
        let good = "0, zeroblob(32), 1, 2, 3, 4, 5";
        damage(
            &format!("INSERT INTO index_entries VALUES (CAST('p' AS BLOB), {good});"),
            false,
            "path is Blob, not text",
        );
        damage(
            &format!("INSERT INTO index_entries VALUES (CAST(x'70ff' AS TEXT), {good});"),
            false,
            "path is not UTF-8",
        );
        damage(
            "INSERT INTO index_entries VALUES ('p', 0, 'an id as text', 1, 2, 3, 4, 5);",
            true,
            "file id is Text, not a blob",
        );
        damage(
            "INSERT INTO index_entries VALUES ('p', 0, zeroblob(32), 1, 2.5, 3, 4, 5);",
            true,
            "mtime is Real, not an integer",
        );
        raw.execute_batch("DELETE FROM index_entries;").unwrap();
        assert_eq!(db.load_index().unwrap(), vec![]);
    }

    #[test]
    fn hundred_thousand_entries_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("gadn.db")).unwrap();
        let es: Vec<IndexEntry> = (0..100_000).map(entry).collect();
        let t = Instant::now();
        db.write_index(&es).unwrap();
        let write = t.elapsed();
        let t = Instant::now();
        let back = db.load_index().unwrap();
        let load = t.elapsed();
        let mut want = es;
        want.sort_by(|a, b| a.path.cmp(&b.path));
        assert!(back == want);
        // Loose guards that hold on a busy machine; they catch a lost transaction
        // (one fsync per row) or a per-row query, not small regressions. See
        // `index_throughput` for the figures.
        if !cfg!(debug_assertions) {
            assert!(load.as_millis() < 1000, "load took {load:?}");
            assert!(write.as_millis() < 5000, "write took {write:?}");
        }
    }
}
