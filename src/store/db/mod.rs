//! The store's mutable state, in SQLite (`.gadn/gadn.db`): config, refs with
//! compare-and-swap updates and a reflog, the index (staging area and stat cache),
//! and a small key/value table for operation state such as an in-progress merge.
//!
//! Everything immutable — chunks and objects — lives in pack files; this file only
//! ever points at them by [`ObjectId`](crate::store::ObjectId), stored as 32-byte
//! blobs.
//!
//! * The database runs in WAL mode with `synchronous=FULL`: once a write returns,
//!   it survives a crash, so pack bytes flushed before a ref update are never
//!   pointed at by a ref that is later lost, nor the other way round.
//! * Every write is one `BEGIN IMMEDIATE` transaction, so two processes never
//!   interleave inside one; a second writer waits up to [`BUSY_TIMEOUT`].
//! * [`Db::transaction`] gives a [`Tx`] on which several operations (say, write the
//!   index *and* move `HEAD`) commit together or not at all.
//! * The schema is versioned with `PRAGMA user_version` ([`SCHEMA_VERSION`]) and
//!   marked with `PRAGMA application_id`, so a newer store or a foreign file is
//!   refused with a clear message instead of misread.
//!
//! Reads and writes on [`Db`] take `&self` and each runs in its own transaction.
//! `Db` is `Send + Sync`: the connection sits behind a mutex, so threads sharing a
//! `&Db` take turns (the operations are short).

mod error;
mod expect;
mod facts;
mod history;
mod index;
mod kv;
mod lfs;
mod locks;
mod peers;
mod previews;
mod refname;
mod refs;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use error::DbError;
pub use expect::{Expect, MAX_SYMREF_DEPTH};
pub use history::{HistChange, HistCommit, HistFilter, HistNode};
pub use index::IndexEntry;
pub use peers::{PeerRow, PeerSource, MAX_PEER_ADDRS};
pub use previews::PreviewRow;
pub use refname::check_ref_name;
pub use refs::{RefTarget, ReflogEntry, ReflogInfo};
pub use schema::SCHEMA_VERSION;

use error::sql;

/// Bytes of the database SQLite may read through a memory map.
const MMAP_BYTES: u64 = 1 << 30;

/// How long an operation waits for another process's write transaction to finish
/// before failing with [`DbError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Upper bound on SQLite's page cache per connection.
const PAGE_CACHE_BYTES: usize = 32 << 20;

/// Handle on a store's state database.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// An open write transaction, handed to the closure given to [`Db::transaction`].
///
/// Its methods are those of [`Db`]; they all see each other's writes, and the
/// closure's `Ok` commits them together while an `Err` (or a panic) rolls them all
/// back.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    path: &'a Path,
}

impl Db {
    /// Opens the state database at `path`, creating it and its schema if the file
    /// does not exist or is empty.
    ///
    /// Fails with [`DbError::Corrupt`] if the file is not SQLite, is damaged, or is
    /// some other program's database, and with [`DbError::TooNew`] if a newer gadn
    /// wrote it.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(sql(path, "open"))?;
        Self::setup(conn, path.to_path_buf(), true)
    }

    /// A fresh database in memory, for tests.
    pub fn open_in_memory() -> Result<Db, DbError> {
        let path = Path::new(":memory:");
        let conn = Connection::open_in_memory().map_err(sql(path, "open"))?;
        Self::setup(conn, path.to_path_buf(), false)
    }

    fn setup(conn: Connection, path: PathBuf, on_disk: bool) -> Result<Db, DbError> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sql(&path, "set busy timeout"))?;
        // Reading the header first turns a garbage file into `Corrupt` before
        // anything is written to it.
        let version = schema::read_version(&conn, &path)?;
        schema::check_version(&conn, &path, version)?;
        if on_disk {
            enable_wal(&conn, &path)?;
        }
        // A page cache big enough for a 100k-entry index (the default is 2 MiB);
        // it grows only as pages are used. Reads go through a memory map (one page
        // fault instead of one pread per page: loading a 100k-entry index reads
        // ~2,000 pages).
        conn.execute_batch(&format!(
            "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{}; PRAGMA mmap_size = {};",
            PAGE_CACHE_BYTES / 1024,
            MMAP_BYTES
        ))
        .map_err(sql(&path, "set pragmas"))?;
        conn.set_prepared_statement_cache_capacity(64);
        if version == 0 {
            let tx = begin(
                &conn,
                &path,
                TransactionBehavior::Immediate,
                "create schema",
            )?;
            schema::create(&tx.tx, tx.path)?;
            tx.commit()?;
        } else if version < SCHEMA_VERSION {
            let tx = begin(
                &conn,
                &path,
                TransactionBehavior::Immediate,
                "upgrade schema",
            )?;
            // Another process may have upgraded it meanwhile; the statements are
            // idempotent either way.
            schema::upgrade(&tx.tx, tx.path)?;
            tx.commit()?;
        }
        Ok(Db {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The file this database lives in (`:memory:` for [`Db::open_in_memory`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write (`IMMEDIATE`) transaction: everything it does through
    /// the [`Tx`] commits together if it returns `Ok`, and nothing does otherwise.
    ///
    /// ```
    /// use gadn::store::db::{Db, DbError, Expect, IndexEntry, ReflogInfo};
    /// # use gadn::store::ObjectId;
    /// # let mut db = Db::open_in_memory()?;
    /// # let commit = ObjectId::of_chunk(b"commit");
    /// # let entries: Vec<IndexEntry> = Vec::new();
    /// let log = ReflogInfo::now("Ada <ada@example.com>", "checkout: moving to v1");
    /// db.transaction(|tx| {
    ///     tx.write_index(&entries)?;
    ///     tx.update_ref("refs/heads/main", Expect::Absent, commit, &log)
    /// })?;
    /// # Ok::<(), DbError>(())
    /// ```
    pub fn transaction<T, E>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<DbError>,
    {
        // A panic inside an earlier transaction rolled it back while unwinding, so
        // a poisoned connection is still consistent.
        let conn = self.conn.get_mut().unwrap_or_else(PoisonError::into_inner);
        let tx = begin(
            conn,
            &self.path,
            TransactionBehavior::Immediate,
            "begin transaction",
        )?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One read in a deferred transaction, so multi-statement reads see one
    /// snapshot.
    fn read<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T, DbError>) -> Result<T, DbError> {
        let conn = self.lock();
        let tx = begin(
            &conn,
            &self.path,
            TransactionBehavior::Deferred,
            "begin read",
        )?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// One write in its own immediate transaction.
    fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Tx<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let conn = self.lock();
        let tx = begin(&conn, &self.path, TransactionBehavior::Immediate, op)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Starts a transaction. `new_unchecked` only because it takes `&Connection`:
/// nesting cannot happen, since each caller holds the connection exclusively
/// (through `&mut Db` or the mutex) until its `Tx` is gone.
fn begin<'a>(
    conn: &'a Connection,
    path: &'a Path,
    behavior: TransactionBehavior,
    op: &'static str,
) -> Result<Tx<'a>, DbError> {
    let tx = rusqlite::Transaction::new_unchecked(conn, behavior).map_err(sql(path, op))?;
    Ok(Tx { tx, path })
}

impl Tx<'_> {
    fn commit(self) -> Result<(), DbError> {
        self.tx.commit().map_err(sql(self.path, "commit"))
    }

    fn conn(&self) -> &Connection {
        &self.tx
    }

    /// Maps a rusqlite error for operation `op` on this database.
    fn err(&self, op: &'static str) -> impl FnOnce(rusqlite::Error) -> DbError + '_ {
        sql(self.path, op)
    }
}

/// Switches a database file to WAL mode. Once a file is in WAL mode it stays so, and
/// the check is a plain read. The switch itself takes an exclusive lock for which
/// SQLite may answer `SQLITE_BUSY` at once, without its busy handler, when several
/// processes open a new store together; it is retried until [`BUSY_TIMEOUT`].
fn enable_wal(conn: &Connection, path: &Path) -> Result<(), DbError> {
    let start = std::time::Instant::now();
    loop {
        let mode = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    Ok(mode)
                } else {
                    conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                }
            });
        match mode {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => return Err(sql(path, "enable WAL")(e)),
        }
    }
}

#[cfg(test)]
mod tests;
