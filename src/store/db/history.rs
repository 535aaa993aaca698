//! The history index: one row per indexed commit and one per path a commit changed
//! relative to each of its parents (`store-format.md` § *History index*).
//!
//! The index is derived data: everything in it can be recomputed from the commits
//! and trees in the packs. `hist_meta` records how many rows the maintainer wrote;
//! when the tables disagree with it (rows deleted or added by hand, a half-copied
//! file) the caller drops the index with [`Db::hist_clear`] and rebuilds it.
//!
//! Commit keys are SQLite rowids, assigned in insertion order; a commit is always
//! inserted after its parents, so every parent key is smaller than its child's.

use rusqlite::{params, OptionalExtension};

use super::error::{bad_value, stored_id};
use super::{Db, DbError, Tx};
use crate::store::ObjectId;

/// `CREATE TABLE IF NOT EXISTS …` statements for this module's tables (schema v2).
pub(super) const SCHEMA: &str = "
-- Indexed commits (derived, rebuildable). parents: the parents' keys, 8 bytes each,
-- little-endian, in commit order. Times are Unix seconds. notes: key NUL value,
-- pairs separated by newlines (for --grep). raw: the commit object's canonical
-- encoding (it hashes to id), so answers need no pack access.
CREATE TABLE IF NOT EXISTS hist_commits (
    key            INTEGER PRIMARY KEY,
    id             BLOB NOT NULL UNIQUE CHECK (length(id) = 32),
    parents        BLOB NOT NULL,
    author_name    TEXT NOT NULL,
    author_email   TEXT NOT NULL,
    author_time    INTEGER NOT NULL,
    committer_time INTEGER NOT NULL,
    message        TEXT NOT NULL,
    notes          TEXT NOT NULL,
    raw            BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS hist_commits_by_time ON hist_commits (committer_time);

-- Paths a commit changed relative to its parent number `parent` (0 = first; a root
-- commit is compared with the empty tree as parent 0). kind: A added, D deleted,
-- M modified, T type changed, R added by a rename from `src`. file/size/meta: the
-- entry after the change (NULL for D).
CREATE TABLE IF NOT EXISTS hist_changes (
    path       TEXT NOT NULL,
    commit_key INTEGER NOT NULL,
    parent     INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('A', 'D', 'M', 'T', 'R')),
    file       BLOB CHECK (file IS NULL OR length(file) = 32),
    size       INTEGER,
    meta       BLOB CHECK (meta IS NULL OR length(meta) = 32),
    src        TEXT,
    PRIMARY KEY (path, commit_key, parent)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hist_changes_by_commit ON hist_changes (commit_key, parent);

-- Row counts the maintainer wrote; a mismatch means the index was damaged.
CREATE TABLE IF NOT EXISTS hist_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    commits INTEGER NOT NULL,
    changes INTEGER NOT NULL
);
";

/// Statements naming every column of the three tables: they prepare only when the
/// tables have the shape [`SCHEMA`] gives them.
const COLUMNS: [&str; 3] = [
    "SELECT key, id, parents, author_name, author_email, author_time, committer_time,
     message, notes, raw FROM hist_commits LIMIT 0",
    "SELECT path, commit_key, parent, kind, file, size, meta, src FROM hist_changes LIMIT 0",
    "SELECT id, commits, changes FROM hist_meta LIMIT 0",
];

const COMMITS: &str = "hist_commits";
const CHANGES: &str = "hist_changes";

/// A commit to index, with what it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistCommit {
    /// The commit's id.
    pub id: ObjectId,
    /// Its parents' ids, in order; each must already be indexed or come earlier in
    /// the same [`Db::hist_insert`] batch.
    pub parents: Vec<ObjectId>,
    /// Author name.
    pub author_name: String,
    /// Author e-mail.
    pub author_email: String,
    /// Author time, Unix seconds.
    pub author_time: i64,
    /// Committer time, Unix seconds.
    pub committer_time: i64,
    /// Message.
    pub message: String,
    /// Notes, as in the commit.
    pub notes: Vec<(String, String)>,
    /// The commit object's canonical encoding.
    pub raw: Vec<u8>,
    /// The changed paths, against each parent.
    pub changes: Vec<HistChange>,
}

/// What a commit did to one path relative to one of its parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistChange {
    /// `/`-separated repository path of a file (never a directory).
    pub path: String,
    /// Which parent (0 = first) the commit is compared with.
    pub parent: u32,
    /// `b'A'`, `b'D'`, `b'M'`, `b'T'` or `b'R'`.
    pub kind: u8,
    /// The entry after the change: file id, size in bytes, metadata id (`None` for a
    /// deletion).
    pub file: Option<(ObjectId, u64, Option<ObjectId>)>,
    /// For `R`: the path it was renamed from.
    pub src: Option<String>,
}

/// One node of the commit graph as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistNode {
    /// Commit key.
    pub key: i64,
    /// Commit id.
    pub id: ObjectId,
    /// Parent keys, in order.
    pub parents: Vec<i64>,
    /// Committer time, Unix seconds.
    pub time: i64,
}

/// Text filters for [`Db::hist_filter`]; each set field must match.
#[derive(Debug, Clone, Default)]
pub struct HistFilter<'a> {
    /// Lower-case ASCII substring of the author's name or e-mail (ASCII case folded).
    pub author: Option<&'a str>,
    /// Lower-case ASCII substring of the message or notes (ASCII case folded).
    pub grep: Option<&'a str>,
    /// Committer time at or after (Unix seconds).
    pub since: Option<i64>,
    /// Committer time at or before (Unix seconds).
    pub until: Option<i64>,
}

fn encode_keys(keys: &[i64]) -> Vec<u8> {
    keys.iter().flat_map(|k| k.to_le_bytes()).collect()
}

fn encode_notes(notes: &[(String, String)]) -> String {
    notes
        .iter()
        .map(|(k, v)| format!("{k}\0{v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Tx<'_> {
    /// See [`Db::hist_key`].
    pub fn hist_key(&self, id: &ObjectId) -> Result<Option<i64>, DbError> {
        self.conn()
            .prepare_cached("SELECT key FROM hist_commits WHERE id = ?1")
            .and_then(|mut s| s.query_row([&id.as_bytes()[..]], |r| r.get(0)).optional())
            .map_err(self.err("read history index"))
    }

    /// See [`Db::hist_insert`].
    pub fn hist_insert(&self, batch: &[HistCommit]) -> Result<usize, DbError> {
        let (mut commits, mut changes) = (0i64, 0i64);
        for c in batch {
            if self.hist_key(&c.id)?.is_some() {
                continue;
            }
            let mut parents = Vec::with_capacity(c.parents.len());
            for p in &c.parents {
                let key = self.hist_key(p)?.ok_or_else(|| {
                    bad_value(
                        self.path,
                        COMMITS,
                        c.id.to_hex(),
                        format!("parent {p} is not indexed"),
                    )
                })?;
                parents.push(key);
            }
            self.conn()
                .prepare_cached(
                    "INSERT INTO hist_commits (id, parents, author_name, author_email,
                     author_time, committer_time, message, notes, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        &c.id.as_bytes()[..],
                        encode_keys(&parents),
                        c.author_name,
                        c.author_email,
                        c.author_time,
                        c.committer_time,
                        c.message,
                        encode_notes(&c.notes),
                        c.raw,
                    ])
                })
                .map_err(self.err("write history index"))?;
            let key = self.conn().last_insert_rowid();
            commits += 1;
            let mut stmt = self
                .conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO hist_changes
                     (path, commit_key, parent, kind, file, size, meta, src)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(self.err("write history index"))?;
            for ch in &c.changes {
                let kind = char::from(ch.kind).to_string();
                let (file, size, meta) = match &ch.file {
                    Some((f, s, m)) => (
                        Some(f.as_bytes().to_vec()),
                        Some(i64::try_from(*s).unwrap_or(i64::MAX)),
                        m.map(|m| m.as_bytes().to_vec()),
                    ),
                    None => (None, None, None),
                };
                stmt.execute(params![
                    ch.path, key, ch.parent, kind, file, size, meta, ch.src
                ])
                .map_err(self.err("write history index"))?;
                changes += 1;
            }
        }
        self.conn()
            .prepare_cached(
                "INSERT INTO hist_meta (id, commits, changes) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET commits = commits + ?1, changes = changes + ?2",
            )
            .and_then(|mut s| s.execute(params![commits, changes]))
            .map_err(self.err("write history index"))?;
        Ok(commits as usize)
    }
}

impl Db {
    /// The key of indexed commit `id`, `None` if it is not indexed.
    pub fn hist_key(&self, id: &ObjectId) -> Result<Option<i64>, DbError> {
        self.read(|tx| tx.hist_key(id))
    }

    /// Indexes `batch` (parents before children) in one transaction and returns how
    /// many commits were new; commits already indexed (by another process, say) are
    /// skipped. Fails with [`DbError::BadStoredValue`], writing nothing, if a parent
    /// is neither indexed nor earlier in the batch.
    pub fn hist_insert(&self, batch: &[HistCommit]) -> Result<usize, DbError> {
        self.write("write history index", |tx| tx.hist_insert(batch))
    }

    /// True when the tables hold exactly the rows the maintainer recorded writing
    /// (an empty index with no record is consistent too). Tables of another shape
    /// (written by an earlier development build, or altered by hand) are dropped and
    /// re-created empty, and the answer is false.
    pub fn hist_consistent(&self) -> Result<bool, DbError> {
        let shaped = self.read(|tx| {
            Ok(COLUMNS
                .iter()
                .all(|sql| tx.conn().prepare_cached(sql).is_ok()))
        })?;
        if !shaped {
            self.write("re-create history index", |tx| {
                tx.conn()
                    .execute_batch(&format!(
                        "DROP TABLE IF EXISTS hist_changes; DROP TABLE IF EXISTS hist_commits;
                         DROP TABLE IF EXISTS hist_meta; {SCHEMA}"
                    ))
                    .map_err(tx.err("re-create history index"))
            })?;
            return Ok(false);
        }
        self.read(|tx| {
            let c = tx.conn();
            let recorded: Option<(i64, i64)> = c
                .query_row(
                    "SELECT commits, changes FROM hist_meta WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(tx.err("read history index"))?;
            let count = |sql: &str| -> Result<i64, DbError> {
                c.query_row(sql, [], |r| r.get(0))
                    .map_err(tx.err("read history index"))
            };
            let commits = count("SELECT count(*) FROM hist_commits")?;
            let changes = count("SELECT count(*) FROM hist_changes")?;
            Ok(recorded.unwrap_or((0, 0)) == (commits, changes))
        })
    }

    /// Empties the history index (it is rebuilt from the store on next use).
    pub fn hist_clear(&self) -> Result<(), DbError> {
        self.write("clear history index", |tx| {
            tx.conn()
                .execute_batch(
                    "DELETE FROM hist_changes; DELETE FROM hist_commits; DELETE FROM hist_meta;",
                )
                .map_err(tx.err("clear history index"))
        })
    }

    /// Every indexed commit: key, id, parent keys and committer time, by key.
    pub fn hist_graph(&self) -> Result<Vec<HistNode>, DbError> {
        self.read(|tx| {
            let mut stmt = tx
                .conn()
                .prepare_cached(
                    "SELECT key, id, parents, committer_time FROM hist_commits ORDER BY key",
                )
                .map_err(tx.err("read history index"))?;
            let mut rows = stmt.query([]).map_err(tx.err("read history index"))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(tx.err("read history index"))? {
                let key: i64 = r.get(0).map_err(tx.err("read history index"))?;
                let id = r
                    .get_ref(1)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(|e| bad_value(tx.path, COMMITS, key.to_string(), e.to_string()))?;
                let id = stored_id(tx.path, COMMITS, &key.to_string(), id)?;
                let parents = r
                    .get_ref(2)
                    .and_then(|v| Ok(v.as_blob()?))
                    .map_err(|e| bad_value(tx.path, COMMITS, key.to_string(), e.to_string()))?;
                if parents.len() % 8 != 0 {
                    return Err(bad_value(
                        tx.path,
                        COMMITS,
                        key.to_string(),
                        "parent list is not a multiple of 8 bytes",
                    ));
                }
                let parents = parents
                    .chunks_exact(8)
                    .map(|b| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(b);
                        i64::from_le_bytes(a)
                    })
                    .collect();
                let time: i64 = r.get(3).map_err(tx.err("read history index"))?;
                out.push(HistNode {
                    key,
                    id,
                    parents,
                    time,
                });
            }
            Ok(out)
        })
    }

    /// The stored encodings of the commits with these keys, in order (`None` for a
    /// key not indexed), read in one snapshot.
    pub fn hist_raw(&self, keys: &[i64]) -> Result<Vec<Option<Vec<u8>>>, DbError> {
        self.read(|tx| {
            let mut stmt = tx
                .conn()
                .prepare_cached("SELECT raw FROM hist_commits WHERE key = ?1")
                .map_err(tx.err("read history index"))?;
            keys.iter()
                .map(|k| {
                    stmt.query_row([k], |r| r.get(0))
                        .optional()
                        .map_err(tx.err("read history index"))
                })
                .collect()
        })
    }

    /// Keys of the commits accepted by `f` (the text filters fold ASCII case only;
    /// callers re-check exactly). All commits when `f` sets nothing.
    pub fn hist_filter(&self, f: &HistFilter<'_>) -> Result<Vec<i64>, DbError> {
        self.read(|tx| {
            let mut stmt = tx
                .conn()
                .prepare_cached(
                    "SELECT key FROM hist_commits
                     WHERE (?1 IS NULL OR instr(lower(author_name), ?1) > 0
                                       OR instr(lower(author_email), ?1) > 0)
                       AND (?2 IS NULL OR instr(lower(message), ?2) > 0
                                       OR instr(lower(notes), ?2) > 0)
                       AND (?3 IS NULL OR committer_time >= ?3)
                       AND (?4 IS NULL OR committer_time <= ?4)
                     ORDER BY key",
                )
                .map_err(tx.err("read history index"))?;
            let keys = stmt
                .query_map(params![f.author, f.grep, f.since, f.until], |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
                .map_err(tx.err("read history index"))?;
            Ok(keys)
        })
    }

    /// Keys of commits that changed `path` or anything below it relative to their
    /// first parent (`""`: any path).
    pub fn hist_touching(&self, path: &str) -> Result<Vec<i64>, DbError> {
        self.read(|tx| {
            let c = tx.conn();
            let mut out = Vec::new();
            if path.is_empty() {
                let mut s = c
                    .prepare_cached("SELECT DISTINCT commit_key FROM hist_changes WHERE parent = 0")
                    .map_err(tx.err("read history index"))?;
                out = s
                    .query_map([], |r| r.get(0))
                    .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
                    .map_err(tx.err("read history index"))?;
                return Ok(out);
            }
            let mut exact = c
                .prepare_cached(
                    "SELECT commit_key FROM hist_changes WHERE path = ?1 AND parent = 0",
                )
                .map_err(tx.err("read history index"))?;
            out.extend(
                exact
                    .query_map([path], |r| r.get::<_, i64>(0))
                    .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
                    .map_err(tx.err("read history index"))?,
            );
            // Below the directory: paths in ["path/", "path0"), '0' following '/'.
            let mut below = c
                .prepare_cached(
                    "SELECT commit_key FROM hist_changes
                     WHERE path >= ?1 AND path < ?2 AND parent = 0",
                )
                .map_err(tx.err("read history index"))?;
            out.extend(
                below
                    .query_map(params![format!("{path}/"), format!("{path}0")], |r| {
                        r.get::<_, i64>(0)
                    })
                    .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
                    .map_err(tx.err("read history index"))?,
            );
            out.sort_unstable();
            out.dedup();
            Ok(out)
        })
    }

    /// Every change recorded at exactly `path`: `(commit key, change)`.
    pub fn hist_changes_at(&self, path: &str) -> Result<Vec<(i64, HistChange)>, DbError> {
        self.read(|tx| {
            let mut stmt = tx
                .conn()
                .prepare_cached(
                    "SELECT commit_key, parent, kind, file, size, meta, src
                     FROM hist_changes WHERE path = ?1",
                )
                .map_err(tx.err("read history index"))?;
            let mut rows = stmt.query([path]).map_err(tx.err("read history index"))?;
            let mut out = Vec::new();
            let bad = |e: rusqlite::Error| bad_value(tx.path, CHANGES, path, e.to_string());
            while let Some(r) = rows.next().map_err(tx.err("read history index"))? {
                let key: i64 = r.get(0).map_err(bad)?;
                let parent: u32 = r.get(1).map_err(bad)?;
                let kind: String = r.get(2).map_err(bad)?;
                let kind = match kind.as_bytes() {
                    [k @ (b'A' | b'D' | b'M' | b'T' | b'R')] => *k,
                    _ => return Err(bad_value(tx.path, CHANGES, path, "unknown change kind")),
                };
                let file: Option<Vec<u8>> = r.get(3).map_err(bad)?;
                let size: Option<i64> = r.get(4).map_err(bad)?;
                let meta: Option<Vec<u8>> = r.get(5).map_err(bad)?;
                let src: Option<String> = r.get(6).map_err(bad)?;
                let file = match file {
                    Some(f) => {
                        let meta = match meta {
                            Some(m) => Some(stored_id(tx.path, CHANGES, path, &m)?),
                            None => None,
                        };
                        let size = u64::try_from(size.unwrap_or(-1)).map_err(|_| {
                            bad_value(tx.path, CHANGES, path, "missing or negative size")
                        })?;
                        Some((stored_id(tx.path, CHANGES, path, &f)?, size, meta))
                    }
                    None => None,
                };
                out.push((
                    key,
                    HistChange {
                        path: path.to_string(),
                        parent,
                        kind,
                        file,
                        src,
                    },
                ));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::of_chunk(&[n])
    }

    fn commit(n: u8, parents: &[u8], changes: Vec<HistChange>) -> HistCommit {
        HistCommit {
            id: id(n),
            parents: parents.iter().map(|p| id(*p)).collect(),
            author_name: format!("Ada {n}"),
            author_email: "ada@example.org".into(),
            author_time: i64::from(n) * 10,
            committer_time: i64::from(n) * 10,
            message: format!("Message {n}"),
            notes: vec![("ticket".into(), format!("T-{n}"))],
            raw: vec![n],
            changes,
        }
    }

    fn change(path: &str, kind: u8, n: u8) -> HistChange {
        HistChange {
            path: path.into(),
            parent: 0,
            kind,
            file: (kind != b'D').then(|| (id(100 + n), u64::from(n), Some(id(200)))),
            src: (kind == b'R').then(|| "old".to_string()),
        }
    }

    #[test]
    fn insert_query_and_consistency() {
        let db = Db::open_in_memory().unwrap();
        assert!(db.hist_consistent().unwrap());
        assert!(db.hist_graph().unwrap().is_empty());
        let batch = vec![
            commit(
                1,
                &[],
                vec![change("art/a.png", b'A', 1), change("old", b'A', 1)],
            ),
            commit(2, &[1], vec![change("art/a.png", b'M', 2)]),
            commit(
                3,
                &[2],
                vec![
                    change("art", b'A', 3),
                    change("new", b'R', 3),
                    change("old", b'D', 3),
                ],
            ),
        ];
        assert_eq!(db.hist_insert(&batch).unwrap(), 3);
        // Idempotent: a second insert of the same commits writes nothing.
        assert_eq!(db.hist_insert(&batch).unwrap(), 0);
        assert!(db.hist_consistent().unwrap());
        let g = db.hist_graph().unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[2].parents, vec![g[1].key]);
        assert_eq!(g[0].id, id(1));
        assert_eq!(g[1].time, 20);
        let k = |n: usize| g[n].key;
        assert_eq!(db.hist_key(&id(2)).unwrap(), Some(k(1)));
        assert_eq!(db.hist_key(&id(9)).unwrap(), None);
        assert_eq!(
            db.hist_raw(&[k(2), 999, k(0)]).unwrap(),
            vec![Some(vec![3]), None, Some(vec![1])]
        );
        // "art" names both a file and a directory's prefix; "art.png" is not below.
        assert_eq!(db.hist_touching("art").unwrap(), vec![k(0), k(1), k(2)]);
        assert_eq!(db.hist_touching("art/a.png").unwrap(), vec![k(0), k(1)]);
        assert_eq!(db.hist_touching("ar").unwrap(), Vec::<i64>::new());
        assert_eq!(db.hist_touching("").unwrap(), vec![k(0), k(1), k(2)]);
        let at = db.hist_changes_at("new").unwrap();
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].0, k(2));
        assert_eq!(at[0].1, change("new", b'R', 3));
        let old = db.hist_changes_at("old").unwrap();
        assert_eq!(old.len(), 2);
        assert!(old.iter().any(|(_, c)| c.kind == b'D' && c.file.is_none()));

        let f = |f: HistFilter| db.hist_filter(&f).unwrap();
        assert_eq!(f(HistFilter::default()).len(), 3);
        let by_author = f(HistFilter {
            author: Some("ada 2"),
            ..Default::default()
        });
        assert_eq!(by_author, vec![k(1)]);
        assert_eq!(
            f(HistFilter {
                grep: Some("t-3"),
                ..Default::default()
            }),
            vec![k(2)]
        );
        assert_eq!(
            f(HistFilter {
                since: Some(15),
                until: Some(25),
                ..Default::default()
            }),
            vec![k(1)]
        );

        // Deleting a row by hand makes the index inconsistent; clearing fixes it.
        db.write("test", |tx| {
            tx.conn()
                .execute("DELETE FROM hist_changes WHERE path = 'old'", [])
                .map_err(tx.err("test"))
        })
        .unwrap();
        assert!(!db.hist_consistent().unwrap());
        db.hist_clear().unwrap();
        assert!(db.hist_consistent().unwrap());
        assert!(db.hist_graph().unwrap().is_empty());
    }

    #[test]
    fn tables_of_another_shape_are_recreated() {
        let db = Db::open_in_memory().unwrap();
        db.hist_insert(&[commit(1, &[], vec![change("a", b'A', 1)])])
            .unwrap();
        db.write("test", |tx| {
            tx.conn()
                .execute_batch("ALTER TABLE hist_commits DROP COLUMN raw")
                .map_err(tx.err("test"))
        })
        .unwrap();
        assert!(!db.hist_consistent().unwrap());
        assert!(db.hist_consistent().unwrap());
        assert!(db.hist_graph().unwrap().is_empty());
        assert_eq!(db.hist_insert(&[commit(1, &[], vec![])]).unwrap(), 1);
    }

    #[test]
    fn a_missing_parent_writes_nothing() {
        let db = Db::open_in_memory().unwrap();
        let e = db
            .hist_insert(&[commit(1, &[], vec![]), commit(2, &[7], vec![])])
            .unwrap_err();
        assert!(matches!(e, DbError::BadStoredValue { .. }), "{e}");
        assert!(db.hist_graph().unwrap().is_empty());
        assert!(db.hist_consistent().unwrap());
    }

    #[test]
    fn damaged_rows_are_reported() {
        let db = Db::open_in_memory().unwrap();
        db.hist_insert(&[commit(1, &[], vec![change("a", b'A', 1)])])
            .unwrap();
        db.write("test", |tx| {
            tx.conn()
                .execute_batch(
                    "UPDATE hist_commits SET parents = x'0102';
                     INSERT INTO hist_changes (path, commit_key, parent, kind, file, size)
                     VALUES ('b', 1, 0, 'M', zeroblob(32), NULL);
                     INSERT INTO hist_changes (path, commit_key, parent, kind, file, size)
                     VALUES ('c', 1, 0, 'M', zeroblob(32), -1);",
                )
                .map_err(tx.err("test"))
        })
        .unwrap();
        assert!(matches!(
            db.hist_graph(),
            Err(DbError::BadStoredValue { .. })
        ));
        assert!(matches!(
            db.hist_changes_at("b"),
            Err(DbError::BadStoredValue { .. })
        ));
        assert!(matches!(
            db.hist_changes_at("c"),
            Err(DbError::BadStoredValue { .. })
        ));
    }
}
