//! The `previews` table: which preview object holds the previews of a file made by
//! a generator version (`store-format.md` § *SQLite state*, schema version 5).
//!
//! The table is an index over preview objects (each names its file, generator and
//! version), so it can be rebuilt from the packs. A row is replaced when a preview
//! is made again (e.g. after a failure that depended on missing content).

use rusqlite::{params, OptionalExtension};

use super::error::stored_id;
use super::{Db, DbError, Tx};
use crate::store::ObjectId;

/// `CREATE TABLE IF NOT EXISTS …` for this module's table (schema v5).
pub(super) const SCHEMA: &str = "
-- Preview objects by (file id, generator, generator version); see previews.rs.
CREATE TABLE IF NOT EXISTS previews (
    file_id    BLOB NOT NULL CHECK (length(file_id) = 32),
    generator  TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 0),
    preview_id BLOB NOT NULL CHECK (length(preview_id) = 32),
    PRIMARY KEY (file_id, generator, version)
) WITHOUT ROWID;
";

const TABLE: &str = "previews";

/// One row: file, generator name, generator version, preview object.
pub type PreviewRow = (ObjectId, String, u32, ObjectId);

fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tx<'_> {
    /// See [`Db::previews_put`].
    pub fn previews_put(&self, row: &PreviewRow) -> Result<(), DbError> {
        let (file, generator, version, preview) = row;
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO previews (file_id, generator, version, preview_id)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    file.as_bytes(),
                    generator,
                    i64::from(*version),
                    preview.as_bytes()
                ])
            })
            .map_err(self.err("record preview"))?;
        Ok(())
    }

    /// See [`Db::previews_get`].
    pub fn previews_get(
        &self,
        file: &ObjectId,
        generator: &str,
        version: u32,
    ) -> Result<Option<ObjectId>, DbError> {
        let row: Option<Vec<u8>> = self
            .conn()
            .prepare_cached(
                "SELECT preview_id FROM previews
                 WHERE file_id = ?1 AND generator = ?2 AND version = ?3",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![file.as_bytes(), generator, i64::from(version)],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(self.err("look up preview"))?;
        row.map(|id| stored_id(self.path, TABLE, &file.to_hex(), &id))
            .transpose()
    }

    /// See [`Db::previews_all`].
    pub fn previews_all(&self) -> Result<Vec<PreviewRow>, DbError> {
        let rows: Vec<(Vec<u8>, String, i64, Vec<u8>)> = self
            .conn()
            .prepare_cached(
                "SELECT file_id, generator, version, preview_id FROM previews
                 ORDER BY file_id, generator, version",
            )
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                    .collect::<Result<_, _>>()
            })
            .map_err(self.err("list previews"))?;
        rows.into_iter()
            .map(|(file, generator, version, preview)| {
                let key = hex(&file);
                let file = stored_id(self.path, TABLE, &key, &file)?;
                let preview = stored_id(self.path, TABLE, &key, &preview)?;
                let version = u32::try_from(version).map_err(|_| {
                    super::error::bad_value(self.path, TABLE, &key, "version out of range")
                })?;
                Ok((file, generator, version, preview))
            })
            .collect()
    }

    /// See [`Db::previews_of`].
    pub fn previews_of(&self, file: &ObjectId) -> Result<Vec<ObjectId>, DbError> {
        let rows: Vec<Vec<u8>> = self
            .conn()
            .prepare_cached(
                "SELECT preview_id FROM previews WHERE file_id = ?1 ORDER BY generator, version",
            )
            .and_then(|mut s| {
                s.query_map([file.as_bytes()], |r| r.get(0))?
                    .collect::<Result<_, _>>()
            })
            .map_err(self.err("list previews of a file"))?;
        rows.iter()
            .map(|id| stored_id(self.path, TABLE, &file.to_hex(), id))
            .collect()
    }

    /// See [`Db::previews_delete`].
    pub fn previews_delete(
        &self,
        file: &ObjectId,
        generator: &str,
        version: u32,
    ) -> Result<(), DbError> {
        self.conn()
            .prepare_cached(
                "DELETE FROM previews WHERE file_id = ?1 AND generator = ?2 AND version = ?3",
            )
            .and_then(|mut s| s.execute(params![file.as_bytes(), generator, i64::from(version)]))
            .map_err(self.err("delete preview row"))?;
        Ok(())
    }
}

impl Db {
    /// Records that `row.3` is the preview of file `row.0` by generator `row.1` at
    /// version `row.2` (replacing an earlier row for the same three).
    pub fn previews_put(&self, row: &PreviewRow) -> Result<(), DbError> {
        self.write("record preview", |tx| tx.previews_put(row))
    }

    /// The preview object recorded for a file, generator and version.
    pub fn previews_get(
        &self,
        file: &ObjectId,
        generator: &str,
        version: u32,
    ) -> Result<Option<ObjectId>, DbError> {
        self.read(|tx| tx.previews_get(file, generator, version))
    }

    /// The preview objects recorded for `file`, any generator and version.
    pub fn previews_of(&self, file: &ObjectId) -> Result<Vec<ObjectId>, DbError> {
        self.read(|tx| tx.previews_of(file))
    }

    /// Every row, ordered by file id.
    pub fn previews_all(&self) -> Result<Vec<PreviewRow>, DbError> {
        self.read(|tx| tx.previews_all())
    }

    /// Forgets rows whose preview object `keep` rejects (after gc dropped them);
    /// returns how many went.
    pub fn previews_retain(&self, keep: impl Fn(&PreviewRow) -> bool) -> Result<usize, DbError> {
        let gone: Vec<PreviewRow> = self
            .previews_all()?
            .into_iter()
            .filter(|r| !keep(r))
            .collect();
        if gone.is_empty() {
            return Ok(0);
        }
        self.write("forget previews", |tx| {
            for (file, generator, version, _) in &gone {
                tx.previews_delete(file, generator, *version)?;
            }
            Ok(())
        })?;
        Ok(gone.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_replace_list_and_retain() {
        let db = Db::open_in_memory().unwrap();
        let f = ObjectId::of_chunk(b"file");
        let p1 = ObjectId::of_chunk(b"p1");
        let p2 = ObjectId::of_chunk(b"p2");
        assert_eq!(db.previews_get(&f, "texture", 1).unwrap(), None);
        db.previews_put(&(f, "texture".into(), 1, p1)).unwrap();
        assert_eq!(db.previews_get(&f, "texture", 1).unwrap(), Some(p1));
        db.previews_put(&(f, "texture".into(), 1, p2)).unwrap();
        assert_eq!(db.previews_get(&f, "texture", 1).unwrap(), Some(p2));
        db.previews_put(&(f, "texture".into(), 2, p1)).unwrap();
        assert_eq!(db.previews_get(&f, "card", 1).unwrap(), None);
        assert_eq!(db.previews_all().unwrap().len(), 2);
        assert_eq!(db.previews_of(&f).unwrap(), vec![p2, p1]);
        assert_eq!(db.previews_of(&p1).unwrap(), vec![]);
        assert_eq!(db.previews_retain(|r| r.2 == 2).unwrap(), 1);
        assert_eq!(db.previews_retain(|_| true).unwrap(), 0);
        assert_eq!(
            db.previews_all().unwrap(),
            vec![(f, "texture".to_string(), 2, p1)]
        );
    }
}
