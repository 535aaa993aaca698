//! The `peers` table: where this store last found other peers (`store-format.md`
//! § *SQLite state*, schema version 4).
//!
//! One row per peer key: a cached display name, the addresses it was reached at or
//! announced (most recent first, at most [`MAX_PEER_ADDRS`]), when it was last seen,
//! and how the row was learned ([`PeerSource`]). The table is local knowledge, not
//! shared state: membership is decided by the signed member list
//! (`refs/gadn/members`), and the `name` column is only a cache of the name there.
//!
//! Every read checks the row: a key that is not 32 bytes, an address list that is
//! not a JSON array of strings, or an unknown source is reported as
//! [`DbError::BadStoredValue`] naming the key, never used.

use rusqlite::{params, OptionalExtension};

use super::error::bad_value;
use super::{Db, DbError, Tx};
use crate::identity::PublicKey;

/// `CREATE TABLE IF NOT EXISTS …` statement for this module's table (schema v4).
pub(super) const SCHEMA: &str = "
-- Known addresses of peers (see peers.rs); the member list decides membership.
CREATE TABLE IF NOT EXISTS peers (
    key       BLOB PRIMARY KEY NOT NULL CHECK (length(key) = 32),
    name      TEXT,
    addrs     TEXT NOT NULL DEFAULT '[]',
    last_seen INTEGER,
    source    TEXT NOT NULL CHECK (source IN ('config', 'lan', 'exchange'))
) WITHOUT ROWID;
";

const TABLE: &str = "peers";

/// Most addresses kept per peer; older ones fall off the end.
pub const MAX_PEER_ADDRS: usize = 16;

/// How a peer row was learned. `Config` (given by a user) is sticky: a row first
/// configured by hand stays `Config` when discovery later adds addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PeerSource {
    /// Given by a user (`gadn peer add`, `gadn peer addr`).
    Config,
    /// Found by LAN discovery.
    Lan,
    /// Announced by another peer (peer exchange).
    Exchange,
}

impl PeerSource {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerSource::Config => "config",
            PeerSource::Lan => "lan",
            PeerSource::Exchange => "exchange",
        }
    }

    fn parse(s: &str) -> Option<PeerSource> {
        match s {
            "config" => Some(PeerSource::Config),
            "lan" => Some(PeerSource::Lan),
            "exchange" => Some(PeerSource::Exchange),
            _ => None,
        }
    }

    /// The source of a row learned from `self` that was earlier learned from
    /// `old`: `Config` wins, otherwise the newer source.
    fn then(old: Option<PeerSource>, new: PeerSource) -> PeerSource {
        if old == Some(PeerSource::Config) {
            PeerSource::Config
        } else {
            new
        }
    }
}

/// One row of the `peers` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRow {
    /// The peer's public key.
    pub key: PublicKey,
    /// Cached display name (the member list is the truth).
    pub name: Option<String>,
    /// `host:port` addresses, most recent first, at most [`MAX_PEER_ADDRS`].
    pub addrs: Vec<String>,
    /// When the peer was last reached, Unix seconds; `None` if never.
    pub last_seen: Option<i64>,
    /// How the row was learned.
    pub source: PeerSource,
}

/// A row as stored: key, name, addrs JSON, last_seen, source.
type Raw = (Vec<u8>, Option<String>, String, Option<i64>, String);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

const COLUMNS: &str = "key, name, addrs, last_seen, source";

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl Tx<'_> {
    fn peer_checked(&self, (key, name, addrs, last_seen, source): Raw) -> Result<PeerRow, DbError> {
        let bad = |reason: String| bad_value(self.path, TABLE, hex(&key), reason);
        let k: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| bad(format!("stored key is {} bytes, not 32", key.len())))?;
        let addrs: Vec<String> = serde_json::from_str(&addrs)
            .map_err(|e| bad(format!("addresses are not a JSON array of strings: {e}")))?;
        let source =
            PeerSource::parse(&source).ok_or_else(|| bad(format!("unknown source {source:?}")))?;
        Ok(PeerRow {
            key: PublicKey(k),
            name,
            addrs,
            last_seen,
            source,
        })
    }

    /// See [`Db::peer_get`].
    pub fn peer_get(&self, key: &PublicKey) -> Result<Option<PeerRow>, DbError> {
        let r = self
            .conn()
            .prepare_cached(&format!("SELECT {COLUMNS} FROM peers WHERE key = ?1"))
            .and_then(|mut s| s.query_row([&key.0[..]], raw).optional())
            .map_err(self.err("read peer"))?;
        r.map(|r| self.peer_checked(r)).transpose()
    }

    /// See [`Db::peer_by_name`].
    pub fn peer_by_name(&self, name: &str) -> Result<Option<PeerRow>, DbError> {
        let r = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM peers WHERE name = ?1 ORDER BY key LIMIT 1"
            ))
            .and_then(|mut s| s.query_row([name], raw).optional())
            .map_err(self.err("read peer"))?;
        r.map(|r| self.peer_checked(r)).transpose()
    }

    /// See [`Db::peer_list`].
    pub fn peer_list(&self) -> Result<Vec<PeerRow>, DbError> {
        let rows: Vec<Raw> = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM peers ORDER BY name IS NULL, name, key"
            ))
            .and_then(|mut s| s.query_map([], raw)?.collect())
            .map_err(self.err("list peers"))?;
        rows.into_iter().map(|r| self.peer_checked(r)).collect()
    }

    fn peer_write(&self, row: &PeerRow) -> Result<(), DbError> {
        let addrs = serde_json::to_string(&row.addrs).map_err(|e| {
            bad_value(
                self.path,
                TABLE,
                hex(&row.key.0),
                format!("cannot encode addresses: {e}"),
            )
        })?;
        self.conn()
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO peers ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    &row.key.0[..],
                    row.name,
                    addrs,
                    row.last_seen,
                    row.source.as_str()
                ])
            })
            .map_err(self.err("write peer"))?;
        Ok(())
    }

    /// The row of `key`, or a new empty one learned from `source`.
    fn peer_or_new(&self, key: &PublicKey, source: PeerSource) -> Result<PeerRow, DbError> {
        Ok(match self.peer_get(key)? {
            Some(mut r) => {
                r.source = PeerSource::then(Some(r.source), source);
                r
            }
            None => PeerRow {
                key: *key,
                name: None,
                addrs: Vec::new(),
                last_seen: None,
                source,
            },
        })
    }

    /// See [`Db::peer_upsert`].
    pub fn peer_upsert(
        &self,
        key: &PublicKey,
        name: Option<&str>,
        source: PeerSource,
    ) -> Result<(), DbError> {
        let mut row = self.peer_or_new(key, source)?;
        if let Some(n) = name {
            row.name = Some(n.to_string());
        }
        self.peer_write(&row)
    }

    /// See [`Db::peer_set_addrs`].
    pub fn peer_set_addrs(
        &self,
        key: &PublicKey,
        addrs: &[String],
        source: PeerSource,
    ) -> Result<(), DbError> {
        let mut row = self.peer_or_new(key, source)?;
        row.addrs = Vec::new();
        for a in addrs {
            if !row.addrs.contains(a) && row.addrs.len() < MAX_PEER_ADDRS {
                row.addrs.push(a.clone());
            }
        }
        self.peer_write(&row)
    }

    /// See [`Db::peer_add_addr`].
    pub fn peer_add_addr(
        &self,
        key: &PublicKey,
        addr: &str,
        source: PeerSource,
        seen: Option<i64>,
    ) -> Result<(), DbError> {
        let mut row = self.peer_or_new(key, source)?;
        row.addrs.retain(|a| a != addr);
        row.addrs.insert(0, addr.to_string());
        row.addrs.truncate(MAX_PEER_ADDRS);
        if let Some(t) = seen {
            row.last_seen = Some(row.last_seen.map_or(t, |old| old.max(t)));
        }
        self.peer_write(&row)
    }

    /// See [`Db::peer_remove`].
    pub fn peer_remove(&self, key: &PublicKey) -> Result<bool, DbError> {
        self.conn()
            .prepare_cached("DELETE FROM peers WHERE key = ?1")
            .and_then(|mut s| s.execute([&key.0[..]]))
            .map(|n| n > 0)
            .map_err(self.err("delete peer"))
    }
}

impl Db {
    /// The row of `key`, checked; `None` if there is none.
    pub fn peer_get(&self, key: &PublicKey) -> Result<Option<PeerRow>, DbError> {
        self.read(|tx| tx.peer_get(key))
    }

    /// A row whose cached name is `name` (the lowest key if several are); `None` if
    /// there is none. The member list, not this cache, says who `name` is.
    pub fn peer_by_name(&self, name: &str) -> Result<Option<PeerRow>, DbError> {
        self.read(|tx| tx.peer_by_name(name))
    }

    /// Every row, by name (unnamed last), then key; checked.
    pub fn peer_list(&self) -> Result<Vec<PeerRow>, DbError> {
        self.read(|tx| tx.peer_list())
    }

    /// Creates the row of `key` if needed and, when `name` is given, sets its cached
    /// name. Addresses and last-seen time are kept.
    pub fn peer_upsert(
        &self,
        key: &PublicKey,
        name: Option<&str>,
        source: PeerSource,
    ) -> Result<(), DbError> {
        self.write("write peer", |tx| tx.peer_upsert(key, name, source))
    }

    /// Replaces the addresses of `key` (creating the row if needed) with `addrs`, in
    /// the order given, duplicates dropped, at most [`MAX_PEER_ADDRS`].
    pub fn peer_set_addrs(
        &self,
        key: &PublicKey,
        addrs: &[String],
        source: PeerSource,
    ) -> Result<(), DbError> {
        self.write("write peer", |tx| tx.peer_set_addrs(key, addrs, source))
    }

    /// Puts `addr` first in the addresses of `key` (creating the row if needed),
    /// dropping its older copy and any address beyond [`MAX_PEER_ADDRS`]; with
    /// `seen` (Unix seconds), moves `last_seen` forward to it.
    pub fn peer_add_addr(
        &self,
        key: &PublicKey,
        addr: &str,
        source: PeerSource,
        seen: Option<i64>,
    ) -> Result<(), DbError> {
        self.write("write peer", |tx| tx.peer_add_addr(key, addr, source, seen))
    }

    /// Removes the row of `key`; returns whether there was one.
    pub fn peer_remove(&self, key: &PublicKey) -> Result<bool, DbError> {
        self.write("delete peer", |tx| tx.peer_remove(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn k(seed: u8) -> PublicKey {
        PublicKey([seed; 32])
    }

    #[test]
    fn rows_are_created_updated_listed_and_removed() {
        let db = Db::open_in_memory().unwrap();
        assert!(db.peer_list().unwrap().is_empty());
        assert!(db.peer_get(&k(1)).unwrap().is_none());
        db.peer_upsert(&k(1), Some("bo"), PeerSource::Config)
            .unwrap();
        db.peer_upsert(&k(2), Some("ada"), PeerSource::Exchange)
            .unwrap();
        db.peer_add_addr(&k(3), "10.0.0.3:7000", PeerSource::Lan, Some(50))
            .unwrap();
        let list = db.peer_list().unwrap();
        let names: Vec<_> = list.iter().map(|r| r.name.clone()).collect();
        assert_eq!(names, [Some("ada".into()), Some("bo".into()), None]);
        assert_eq!(
            db.peer_get(&k(3)).unwrap().unwrap(),
            PeerRow {
                key: k(3),
                name: None,
                addrs: vec!["10.0.0.3:7000".into()],
                last_seen: Some(50),
                source: PeerSource::Lan,
            }
        );
        assert_eq!(db.peer_by_name("bo").unwrap().unwrap().key, k(1));
        assert!(db.peer_by_name("nobody").unwrap().is_none());
        // Addresses: most recent first, no duplicates, at most 16; last_seen only
        // moves forward; a configured row stays configured.
        for i in 0..20 {
            db.peer_add_addr(
                &k(1),
                &format!("h{i}:1"),
                PeerSource::Exchange,
                Some(100 - i),
            )
            .unwrap();
        }
        db.peer_add_addr(&k(1), "h18:1", PeerSource::Lan, None)
            .unwrap();
        let r = db.peer_get(&k(1)).unwrap().unwrap();
        assert_eq!(r.addrs.len(), MAX_PEER_ADDRS);
        assert_eq!(&r.addrs[..3], ["h18:1", "h19:1", "h17:1"]);
        assert_eq!(r.last_seen, Some(100));
        assert_eq!(r.source, PeerSource::Config);
        assert_eq!(r.name.as_deref(), Some("bo"));
        // Renaming keeps the addresses; setting them replaces them.
        db.peer_upsert(&k(1), Some("bob"), PeerSource::Exchange)
            .unwrap();
        db.peer_upsert(&k(1), None, PeerSource::Exchange).unwrap();
        let r = db.peer_get(&k(1)).unwrap().unwrap();
        assert_eq!((r.name.as_deref(), r.addrs.len()), (Some("bob"), 16));
        let many: Vec<String> = (0..20).map(|i| format!("x{}:2", i % 18)).collect();
        db.peer_set_addrs(&k(1), &many, PeerSource::Config).unwrap();
        let r = db.peer_get(&k(1)).unwrap().unwrap();
        assert_eq!(r.addrs, many[..16].to_vec());
        db.peer_set_addrs(&k(4), &["a:1".into(), "a:1".into()], PeerSource::Lan)
            .unwrap();
        assert_eq!(db.peer_get(&k(4)).unwrap().unwrap().addrs, ["a:1"]);
        // Sources other than config follow the latest.
        db.peer_upsert(&k(2), None, PeerSource::Lan).unwrap();
        assert_eq!(db.peer_get(&k(2)).unwrap().unwrap().source, PeerSource::Lan);
        assert!(db.peer_remove(&k(1)).unwrap());
        assert!(!db.peer_remove(&k(1)).unwrap());
        assert_eq!(db.peer_list().unwrap().len(), 3);
    }

    #[test]
    fn damaged_rows_are_reported_by_key() {
        let db = Db::open_in_memory().unwrap();
        db.peer_upsert(&k(7), Some("x"), PeerSource::Config)
            .unwrap();
        let set = |sql: &str| db.lock().execute(sql, []).unwrap();
        let expect_bad = |want: &str| {
            let err = db.peer_get(&k(7)).unwrap_err();
            assert!(matches!(err, DbError::BadStoredValue { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&"07".repeat(32)) && text.contains(want),
                "{text}"
            );
            assert!(db.peer_list().is_err());
        };
        set("UPDATE peers SET addrs = '[1, 2]'");
        expect_bad("not a JSON array of strings");
        set("UPDATE peers SET addrs = 'nonsense'");
        expect_bad("not a JSON array of strings");
        set("UPDATE peers SET addrs = '[]'");
        db.peer_get(&k(7)).unwrap().unwrap();
        // The schema refuses short keys and unknown sources outright.
        let conn = db.lock();
        for bad in [
            "INSERT INTO peers (key, source) VALUES (x'00', 'lan')",
            "INSERT INTO peers (key, source) VALUES (zeroblob(32), 'carrier pigeon')",
        ] {
            let err = conn.execute(bad, []).unwrap_err();
            assert!(err.to_string().contains("CHECK"), "{err}");
        }
    }

    #[test]
    fn a_version_3_database_gains_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gadn.db");
        let db = Db::open(&p).unwrap();
        db.config_set("k", "v").unwrap();
        drop(db);
        // Make it a version-3 database: as written before the peers table existed.
        let conn = Connection::open(&p).unwrap();
        conn.execute_batch("DROP TABLE peers; PRAGMA user_version = 3;")
            .unwrap();
        drop(conn);
        let db = Db::open(&p).unwrap();
        assert_eq!(db.config_get("k").unwrap().as_deref(), Some("v"));
        db.peer_add_addr(&k(1), "h:1", PeerSource::Config, None)
            .unwrap();
        assert_eq!(db.peer_list().unwrap().len(), 1);
        drop(db);
        let v: i64 = Connection::open(&p)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, super::super::SCHEMA_VERSION);
    }
}
