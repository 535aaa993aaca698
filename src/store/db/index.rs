//! The index: the staging area and stat cache, one entry per tracked path (like
//! git's index), stored as one sorted binary blob in the `index_blob` table
//! (`store-format.md` § *SQLite state*). `status` loads all of it on every run, so
//! it is one read and a tight parse rather than 100,000 SQL rows; writes rewrite it
//! whole inside the caller's transaction, as git rewrites its index file.

use rusqlite::OptionalExtension;

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
    /// The staged asset-metadata object, if the entry has metadata.
    pub meta: Option<ObjectId>,
}

const TABLE: &str = "index";

/// First bytes of the index blob.
pub const INDEX_BLOB_MAGIC: [u8; 4] = *b"GIDX";
/// Version of the index blob layout written. Version 1 (no flags byte, no metadata)
/// is still read.
pub const INDEX_BLOB_VERSION: u8 = 2;
/// magic || version u8 || count u32.
pub const INDEX_BLOB_HEADER_LEN: usize = 4 + 1 + 4;
/// Bytes of an entry besides its path and optional metadata id: path_len u16, kind
/// u8, file_id [32], size u64, mtime_ns i64, ctime_ns i64, ino u64, dev u64, flags u8
/// (bit 0: a 32-byte metadata id follows).
pub const INDEX_ENTRY_FIXED_LEN: usize = 2 + 1 + 32 + 5 * 8 + 1;

/// Entry flag: a metadata id follows the fixed part.
const FLAG_META: u8 = 1;

/// Longest path an entry may hold (its length is stored as a u16).
pub const MAX_INDEX_PATH: usize = u16::MAX as usize;

/// Why `path` cannot be an index key, if it cannot.
fn path_rule_broken(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("it is empty");
    }
    if path.len() > MAX_INDEX_PATH {
        return Some("it is longer than 65535 bytes");
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

/// Serializes entries already sorted strictly by path.
fn encode(entries: &[&IndexEntry]) -> Vec<u8> {
    let bytes: usize = entries
        .iter()
        .map(|e| INDEX_ENTRY_FIXED_LEN + e.path.len() + if e.meta.is_some() { 32 } else { 0 })
        .sum();
    let mut out = Vec::with_capacity(INDEX_BLOB_HEADER_LEN + bytes);
    out.extend_from_slice(&INDEX_BLOB_MAGIC);
    out.push(INDEX_BLOB_VERSION);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&(e.path.len() as u16).to_le_bytes());
        out.extend_from_slice(e.path.as_bytes());
        out.push(e.kind as u8);
        out.extend_from_slice(e.file_id.as_bytes());
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(&e.mtime_ns.to_le_bytes());
        out.extend_from_slice(&e.ctime_ns.to_le_bytes());
        out.extend_from_slice(&e.ino.to_le_bytes());
        out.extend_from_slice(&e.dev.to_le_bytes());
        match &e.meta {
            Some(m) => {
                out.push(FLAG_META);
                out.extend_from_slice(m.as_bytes());
            }
            None => out.push(0),
        }
    }
    out
}

/// A cursor over the blob that turns a short read into an error naming the entry.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
}

impl Tx<'_> {
    fn bad(&self, key: &str, reason: impl Into<String>) -> DbError {
        bad_value(self.path, TABLE, key, reason)
    }

    /// Parses and validates the blob: layout, UTF-8 paths obeying the path rules,
    /// known kinds, strictly ascending paths.
    fn decode(&self, b: &[u8]) -> Result<Vec<IndexEntry>, DbError> {
        let mut r = Reader { b, at: 0 };
        let header = r
            .take(INDEX_BLOB_HEADER_LEN)
            .ok_or_else(|| self.bad("-", "index blob shorter than its header"))?;
        if header[..4] != INDEX_BLOB_MAGIC {
            return Err(self.bad("-", "index blob has a wrong magic number"));
        }
        let version = header[4];
        if version != INDEX_BLOB_VERSION && version != 1 {
            return Err(self.bad(
                "-",
                format!(
                    "index blob version {} is not {INDEX_BLOB_VERSION}",
                    header[4]
                ),
            ));
        }
        let count = u32::from_le_bytes(header[5..9].try_into().expect("4 bytes")) as usize;
        // Each entry needs at least its fixed part: a lying count cannot make us allocate.
        if count > b.len() / (INDEX_ENTRY_FIXED_LEN - 1) {
            return Err(self.bad(
                "-",
                format!("index blob claims {count} entries in {} bytes", b.len()),
            ));
        }
        let mut out: Vec<IndexEntry> = Vec::with_capacity(count);
        for n in 0..count {
            let short = || self.bad(&format!("entry {n}"), "index blob ends inside an entry");
            let len = r
                .take(2)
                .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
                .ok_or_else(short)?;
            let raw = r.take(len).ok_or_else(short)?;
            let path = std::str::from_utf8(raw)
                .map_err(|_| self.bad(&format!("entry {n}"), "path is not UTF-8"))?;
            if let Some(reason) = path_rule_broken(path) {
                return Err(self.bad(path, format!("stored path is invalid: {reason}")));
            }
            if out.last().is_some_and(|prev| prev.path.as_bytes() >= raw) {
                return Err(self.bad(path, "index paths out of order or repeated"));
            }
            let kind_b = r.take(1).ok_or_else(short)?[0];
            let kind = EntryKind::from_u8(kind_b)
                .ok_or_else(|| self.bad(path, format!("unknown entry kind {kind_b}")))?;
            let file_id = stored_id(self.path, TABLE, path, r.take(32).ok_or_else(short)?)?;
            let size = r.u64().ok_or_else(short)?;
            let mtime_ns = r.u64().ok_or_else(short)? as i64;
            let ctime_ns = r.u64().ok_or_else(short)? as i64;
            let ino = r.u64().ok_or_else(short)?;
            let dev = r.u64().ok_or_else(short)?;
            let flags = if version == 1 {
                0
            } else {
                r.take(1).ok_or_else(short)?[0]
            };
            let meta = match flags {
                0 => None,
                FLAG_META => Some(stored_id(
                    self.path,
                    TABLE,
                    path,
                    r.take(32).ok_or_else(short)?,
                )?),
                f => return Err(self.bad(path, format!("unknown entry flags {f:#04x}"))),
            };
            out.push(IndexEntry {
                path: path.to_string(),
                kind,
                file_id,
                size,
                mtime_ns,
                ctime_ns,
                ino,
                dev,
                meta,
            });
        }
        if r.at != b.len() {
            return Err(self.bad(
                "-",
                format!("{} stray bytes after the last index entry", b.len() - r.at),
            ));
        }
        Ok(out)
    }

    fn load_blob(&self) -> Result<Option<Vec<u8>>, DbError> {
        let op = "load index";
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT data FROM index_blob WHERE id = 1")
            .map_err(self.err(op))?;
        let value = stmt
            .query_row([], |r| {
                Ok(match r.get_ref(0)? {
                    rusqlite::types::ValueRef::Blob(b) => Ok(b.to_vec()),
                    other => Err(other.data_type()),
                })
            })
            .optional()
            .map_err(self.err(op))?;
        match value {
            None => Ok(None),
            Some(Ok(b)) => Ok(Some(b)),
            Some(Err(t)) => Err(self.bad("-", format!("index data is {t:?}, not a blob"))),
        }
    }

    fn store(&self, sorted: &[&IndexEntry]) -> Result<(), DbError> {
        let op = "write index";
        let blob = encode(sorted);
        self.conn()
            .prepare_cached("INSERT OR REPLACE INTO index_blob (id, data) VALUES (1, ?1)")
            .and_then(|mut st| st.execute([blob]))
            .map_err(self.err(op))?;
        Ok(())
    }

    /// See [`Db::load_index`].
    pub fn load_index(&self) -> Result<Vec<IndexEntry>, DbError> {
        match self.load_blob()? {
            Some(b) => self.decode(&b),
            None => Ok(Vec::new()),
        }
    }

    /// See [`Db::index_get`].
    pub fn index_get(&self, path: &str) -> Result<Option<IndexEntry>, DbError> {
        let all = self.load_index()?;
        Ok(all
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| all[i].clone()))
    }

    /// See [`Db::write_index`].
    pub fn write_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        for e in entries {
            check_path(&e.path)?;
        }
        let mut sorted: Vec<&IndexEntry> = entries.iter().collect();
        sorted.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        if let Some(w) = sorted.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(DbError::BadIndexPath {
                path: w[0].path.clone(),
                reason: "it is listed twice",
            });
        }
        self.store(&sorted)
    }

    /// See [`Db::upsert_index`].
    pub fn upsert_index(&self, entries: &[IndexEntry]) -> Result<(), DbError> {
        if entries.is_empty() {
            return Ok(());
        }
        for e in entries {
            check_path(&e.path)?;
        }
        let old = self.load_index()?;
        // Later entries for the same path win, as with repeated INSERT OR REPLACE.
        let mut new: Vec<&IndexEntry> = entries.iter().collect();
        new.sort_by(|a, b| a.path.cmp(&b.path));
        let mut dedup: Vec<&IndexEntry> = Vec::with_capacity(new.len());
        for e in new {
            match dedup.last_mut() {
                Some(last) if last.path == e.path => *last = e,
                _ => dedup.push(e),
            }
        }
        let mut merged: Vec<&IndexEntry> = Vec::with_capacity(old.len() + dedup.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < dedup.len() {
            match (old.get(i), dedup.get(j)) {
                (Some(a), Some(b)) if a.path < b.path => {
                    merged.push(a);
                    i += 1;
                }
                (Some(a), Some(b)) if a.path == b.path => {
                    merged.push(b);
                    i += 1;
                    j += 1;
                }
                (Some(a), None) => {
                    merged.push(a);
                    i += 1;
                }
                (_, Some(b)) => {
                    merged.push(b);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        self.store(&merged)
    }

    /// See [`Db::remove_index`].
    pub fn remove_index(&self, paths: &[&str]) -> Result<usize, DbError> {
        if paths.is_empty() {
            return Ok(0);
        }
        let gone: std::collections::HashSet<&str> = paths.iter().copied().collect();
        let old = self.load_index()?;
        let kept: Vec<&IndexEntry> = old
            .iter()
            .filter(|e| !gone.contains(e.path.as_str()))
            .collect();
        let removed = old.len() - kept.len();
        if removed > 0 {
            self.store(&kept)?;
        }
        Ok(removed)
    }

    /// See [`Db::index_len`]: the count in the header, without parsing entries.
    pub fn index_len(&self) -> Result<usize, DbError> {
        let op = "count index entries";
        let head: Option<Vec<u8>> = self
            .conn()
            .query_row(
                "SELECT substr(data, 1, 9) FROM index_blob WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err(op))?;
        match head {
            None => Ok(0),
            Some(h) if h.len() == INDEX_BLOB_HEADER_LEN && h[..4] == INDEX_BLOB_MAGIC => {
                Ok(u32::from_le_bytes(h[5..9].try_into().expect("4 bytes")) as usize)
            }
            Some(_) => Err(self.bad("-", "index blob has a wrong header")),
        }
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
            meta: (i % 3 == 2).then(|| ObjectId::of_chunk(&[i as u8])),
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
    fn damaged_blobs_are_reported_not_misread() {
        let db = Db::open_in_memory().unwrap();
        let es: Vec<IndexEntry> = (0..3).map(entry).collect();
        db.write_index(&es).unwrap();
        let good = db.read(|tx| tx.load_blob()).unwrap().unwrap();
        let check = |blob: Vec<u8>, want: &str| {
            db.write("damage", |tx| {
                tx.conn()
                    .execute("UPDATE index_blob SET data = ?1", [blob])
                    .map_err(tx.err("damage"))
            })
            .unwrap();
            let err = db.load_index().unwrap_err();
            assert!(
                matches!(err, DbError::BadStoredValue { table: "index", .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains(want), "{err} (wanted {want})");
        };
        let first_path_at = INDEX_BLOB_HEADER_LEN + 2;
        let mut b = good.clone();
        b[4] = 9;
        check(b, "version 9");
        let mut b = good.clone();
        b[first_path_at] = 0xff;
        check(b, "not UTF-8");
        let mut b = good.clone();
        b[first_path_at] = b'/';
        check(b, "stored path is invalid");
        // Swap the first two entries (equal lengths): out of order.
        let len = INDEX_ENTRY_FIXED_LEN + es[0].path.len();
        let mut b = good.clone();
        let (h, rest) = b.split_at_mut(INDEX_BLOB_HEADER_LEN);
        let _ = h;
        let (a, c) = rest.split_at_mut(len);
        a.swap_with_slice(&mut c[..len]);
        check(b, "out of order");
        let mut b = good.clone();
        b.push(0);
        check(b, "stray bytes");
        // The first entry's flags byte (it has no metadata): an unknown flag.
        let mut b = good.clone();
        b[INDEX_BLOB_HEADER_LEN + len - 1] = 0x80;
        check(b, "unknown entry flags");
        // Entry 2 carries metadata; cut inside its id.
        check(good[..good.len() - 5].to_vec(), "ends inside an entry");
        // A version-1 blob (no flags byte) still reads, without metadata.
        let mut v1 = good[..INDEX_BLOB_HEADER_LEN].to_vec();
        v1[4] = 1;
        v1[5..9].copy_from_slice(&1u32.to_le_bytes());
        v1.extend_from_slice(&good[INDEX_BLOB_HEADER_LEN..INDEX_BLOB_HEADER_LEN + len - 1]);
        db.write("v1", |tx| {
            tx.conn()
                .execute("UPDATE index_blob SET data = ?1", [v1])
                .map_err(tx.err("v1"))
        })
        .unwrap();
        assert_eq!(db.load_index().unwrap(), vec![es[0].clone()]);
        check(good[..5].to_vec(), "shorter than its header");
        // A well-formed blob reads back.
        db.write_index(&es).unwrap();
        assert_eq!(db.load_index().unwrap().len(), 3);
    }

    #[test]
    fn upserts_replace_and_later_duplicates_win() {
        let db = Db::open_in_memory().unwrap();
        db.write_index(&[entry(1), entry(2)]).unwrap();
        let newer = IndexEntry {
            size: 77,
            ..entry(2)
        };
        let newest = IndexEntry {
            size: 99,
            ..entry(2)
        };
        db.upsert_index(&[newer, entry(3), newest.clone()]).unwrap();
        let all = db.load_index().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(db.index_get(&entry(2).path).unwrap(), Some(newest));
        assert_eq!(db.index_len().unwrap(), 3);
        assert_eq!(
            db.remove_index(&[entry(1).path.as_str(), "nope"]).unwrap(),
            1
        );
        assert_eq!(db.remove_index(&[]).unwrap(), 0);
        assert_eq!(db.index_len().unwrap(), 2);
        let dup = db.write_index(&[entry(5), entry(5)]).unwrap_err();
        assert!(
            matches!(
                dup,
                DbError::BadIndexPath {
                    reason: "it is listed twice",
                    ..
                }
            ),
            "{dup}"
        );
        let long = IndexEntry {
            path: "x".repeat(70_000),
            ..entry(1)
        };
        assert!(matches!(
            db.upsert_index(&[long]),
            Err(DbError::BadIndexPath { .. })
        ));
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
