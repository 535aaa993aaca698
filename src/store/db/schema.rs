//! The schema, its version and its creation.

use std::path::Path;

use rusqlite::Connection;

use super::error::sql;
use super::DbError;

/// Schema version this build writes and reads (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 5;

/// `PRAGMA application_id` of a gadn state database: "gadn" in ASCII.
const APPLICATION_ID: i64 = 0x6761_646e;

/// Version 1. Ids are 32-byte blobs; paths and ref names are compared bytewise
/// (SQLite's default BINARY collation on UTF-8 text).
const SCHEMA_V1: &str = "
CREATE TABLE config (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- A ref holds either an id (target) or the name of another ref (symbolic).
CREATE TABLE refs (
    name     TEXT PRIMARY KEY NOT NULL,
    target   BLOB CHECK (target IS NULL OR length(target) = 32),
    symbolic TEXT,
    CHECK ((target IS NULL) <> (symbolic IS NULL))
) WITHOUT ROWID;

-- Append-only history of ref values; seq orders it.
CREATE TABLE reflog (
    seq           INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    old           BLOB CHECK (old IS NULL OR length(old) = 32),
    new           BLOB CHECK (new IS NULL OR length(new) = 32),
    who           TEXT NOT NULL,
    time          INTEGER NOT NULL,
    tz_offset_min INTEGER NOT NULL,
    message       TEXT NOT NULL
);
CREATE INDEX reflog_by_name ON reflog (name, seq);

-- The staging area and stat cache: one row holding the whole index as a sorted
-- binary blob (see index.rs), read in one go by every `status`.
CREATE TABLE index_blob (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    data BLOB NOT NULL
);

-- Operation state, e.g. an in-progress merge.
CREATE TABLE state (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;
";

/// Versions 2 to 5 add tables, each owned by one module: the history and metadata
/// index (derived, rebuildable), content facts (derived), advisory locks (v2), the
/// Git LFS object map (v3), the peer address table (v4) and the preview index (v5). Every statement is
/// `CREATE … IF NOT EXISTS`, so an older database is upgraded in place.
fn schema_v2() -> String {
    [
        super::history::SCHEMA,
        super::facts::SCHEMA,
        super::locks::SCHEMA,
        super::lfs::SCHEMA,
        super::peers::SCHEMA,
        super::previews::SCHEMA,
    ]
    .concat()
}

/// Brings a version-1 to -4 database up to [`SCHEMA_VERSION`], inside the caller's write
/// transaction.
pub(super) fn upgrade(conn: &Connection, path: &Path) -> Result<(), DbError> {
    conn.execute_batch(&schema_v2())
        .map_err(sql(path, "upgrade schema"))?;
    conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
        .map_err(sql(path, "set schema version"))
}

/// Reads `user_version`; the first read of the file, so a garbage file fails here.
pub(super) fn read_version(conn: &Connection, path: &Path) -> Result<i64, DbError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql(path, "read schema version"))
}

fn application_id(conn: &Connection, path: &Path) -> Result<i64, DbError> {
    conn.query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(sql(path, "read application id"))
}

/// Refuses versions this build cannot read and files that are not ours.
pub(super) fn check_version(conn: &Connection, path: &Path, version: i64) -> Result<(), DbError> {
    if version > SCHEMA_VERSION {
        return Err(DbError::TooNew {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(DbError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("negative schema version {version}"),
        });
    }
    if version > 0 && application_id(conn, path)? != APPLICATION_ID {
        return Err(not_ours(path));
    }
    Ok(())
}

fn not_ours(path: &Path) -> DbError {
    DbError::Corrupt {
        path: path.to_path_buf(),
        reason: "it is an SQLite database, but not one written by gadn".into(),
    }
}

/// Creates the schema on an empty database, inside the caller's write transaction.
/// Another process may have created it since we looked; then this does nothing.
pub(super) fn create(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let version = read_version(conn, path)?;
    if version != 0 {
        return check_version(conn, path, version);
    }
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(sql(path, "inspect schema"))?;
    if objects != 0 {
        return Err(not_ours(path));
    }
    conn.execute_batch(SCHEMA_V1)
        .map_err(sql(path, "create schema"))?;
    conn.execute_batch(&schema_v2())
        .map_err(sql(path, "create schema"))?;
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
    ))
    .map_err(sql(path, "set schema version"))
}
