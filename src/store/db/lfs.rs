//! The `lfs_objects` table: SHA-256 (the Git LFS object id) → gadn file id, for
//! content that entered the store through Git (the filter or the LFS agent).
//! These file ids are gc roots: Git's history, not gadn's refs, refers to them.

use rusqlite::{params, OptionalExtension};

use super::error::{bad_value, stored_id};
use super::{Db, DbError, Tx};
use crate::store::{ObjectId, Sha256};

/// `CREATE TABLE IF NOT EXISTS …` for this module's table.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS lfs_objects (
    sha256  BLOB PRIMARY KEY NOT NULL CHECK (length(sha256) = 32),
    file_id BLOB NOT NULL CHECK (length(file_id) = 32),
    size    INTEGER NOT NULL CHECK (size >= 0)
) WITHOUT ROWID;
";

impl Tx<'_> {
    /// See [`Db::lfs_put`].
    pub fn lfs_put(&self, sha256: &Sha256, file: &ObjectId, size: u64) -> Result<(), DbError> {
        let size = i64::try_from(size).map_err(|_| {
            bad_value(
                self.path,
                "lfs_objects",
                "size",
                format!("{size} does not fit"),
            )
        })?;
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO lfs_objects (sha256, file_id, size) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut s| s.execute(params![&sha256.as_bytes()[..], file.as_bytes(), size]))
            .map_err(self.err("record LFS object"))?;
        Ok(())
    }

    /// See [`Db::lfs_get`].
    pub fn lfs_get(&self, sha256: &Sha256) -> Result<Option<(ObjectId, u64)>, DbError> {
        let row: Option<(Vec<u8>, i64)> = self
            .conn()
            .prepare_cached("SELECT file_id, size FROM lfs_objects WHERE sha256 = ?1")
            .and_then(|mut s| {
                s.query_row([&sha256.as_bytes()[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(self.err("look up LFS object"))?;
        let key = sha256.to_string();
        match row {
            None => Ok(None),
            Some((id, size)) => {
                let id = stored_id(self.path, "lfs_objects", &key, &id)?;
                let size = u64::try_from(size)
                    .map_err(|_| bad_value(self.path, "lfs_objects", &key, "negative size"))?;
                Ok(Some((id, size)))
            }
        }
    }

    /// See [`Db::lfs_roots`].
    pub fn lfs_roots(&self) -> Result<Vec<(String, ObjectId)>, DbError> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = self
            .conn()
            .prepare_cached("SELECT sha256, file_id FROM lfs_objects ORDER BY sha256")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()
            })
            .map_err(self.err("list LFS objects"))?;
        rows.into_iter()
            .map(|(sha, id)| {
                let key = hex(&sha);
                Ok((key.clone(), stored_id(self.path, "lfs_objects", &key, &id)?))
            })
            .collect()
    }

    /// See [`Db::lfs_retain`].
    pub fn lfs_retain(&self, keep: &std::collections::HashSet<String>) -> Result<usize, DbError> {
        let shas: Vec<Vec<u8>> = self
            .conn()
            .prepare_cached("SELECT sha256 FROM lfs_objects")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>())
            .map_err(self.err("list LFS objects"))?;
        let mut stmt = self
            .conn()
            .prepare_cached("DELETE FROM lfs_objects WHERE sha256 = ?1")
            .map_err(self.err("forget LFS objects"))?;
        let mut n = 0;
        for sha in shas.iter().filter(|sha| !keep.contains(&hex(sha))) {
            n += stmt
                .execute([sha])
                .map_err(self.err("forget LFS objects"))?;
        }
        Ok(n)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Db {
    /// Records that the content with this SHA-256 is the gadn file `file` of `size`
    /// bytes (replacing any earlier record).
    pub fn lfs_put(&self, sha256: &Sha256, file: &ObjectId, size: u64) -> Result<(), DbError> {
        self.write("record LFS object", |tx| tx.lfs_put(sha256, file, size))
    }

    /// The gadn file and size recorded for this SHA-256, if any.
    pub fn lfs_get(&self, sha256: &Sha256) -> Result<Option<(ObjectId, u64)>, DbError> {
        self.read(|tx| tx.lfs_get(sha256))
    }

    /// Forgets every recorded LFS object whose SHA-256 (lowercase hex) `keep` does
    /// not hold; returns how many rows went.
    pub fn lfs_retain(&self, keep: &std::collections::HashSet<String>) -> Result<usize, DbError> {
        self.write("forget LFS objects", |tx| tx.lfs_retain(keep))
    }

    /// Every recorded (SHA-256 hex, file id): gc and fsck roots.
    pub fn lfs_roots(&self) -> Result<Vec<(String, ObjectId)>, DbError> {
        self.read(|tx| tx.lfs_roots())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_forgets_exactly_the_rows_not_kept() {
        let db = Db::open_in_memory().unwrap();
        let a = ObjectId::of_chunk(b"a");
        let (keep, drop) = (Sha256([0xab; 32]), Sha256([0x01; 32]));
        db.lfs_put(&keep, &a, 1).unwrap();
        db.lfs_put(&drop, &a, 1).unwrap();
        let kept = std::collections::HashSet::from([keep.to_hex()]);
        assert_eq!(db.lfs_retain(&kept).unwrap(), 1);
        assert!(db.lfs_get(&keep).unwrap().is_some());
        assert_eq!(db.lfs_get(&drop).unwrap(), None);
        assert_eq!(db.lfs_retain(&kept).unwrap(), 0);
    }

    #[test]
    fn put_get_replace_and_roots() {
        let db = Db::open_in_memory().unwrap();
        let sha = Sha256([7u8; 32]);
        assert_eq!(db.lfs_get(&sha).unwrap(), None);
        let a = ObjectId::of_chunk(b"a");
        let b = ObjectId::of_chunk(b"b");
        db.lfs_put(&sha, &a, 5).unwrap();
        assert_eq!(db.lfs_get(&sha).unwrap(), Some((a, 5)));
        db.lfs_put(&sha, &b, 6).unwrap();
        assert_eq!(db.lfs_get(&sha).unwrap(), Some((b, 6)));
        db.lfs_put(&Sha256([1u8; 32]), &a, u64::from(u32::MAX) + 1)
            .unwrap();
        let roots = db.lfs_roots().unwrap();
        assert_eq!(roots.len(), 2);
        assert_eq!(roots[0], (hex(&[1u8; 32]), a));
        assert!(db.lfs_put(&sha, &a, u64::MAX).is_err());
    }
}
