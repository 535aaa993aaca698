//! [`DbError`], and the mapping of SQLite errors onto it.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

use super::expect::{Expect, MAX_SYMREF_DEPTH};
use super::BUSY_TIMEOUT;
use crate::store::ObjectId;

/// Returned by every [`Db`](super::Db) and [`Tx`](super::Tx) operation.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite failed for a reason not covered by a more specific variant.
    #[error("{op} failed in {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done, e.g. "update ref".
        op: &'static str,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another process kept the database locked for longer than the busy timeout.
    #[error(
        "{op} failed: {} stayed locked by another gadn process for {}s; \
         wait for it to finish, then retry",
        path.display(),
        BUSY_TIMEOUT.as_secs()
    )]
    Busy {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
    },
    /// A compare-and-swap ref update found a value other than the one expected:
    /// someone else moved the ref. Nothing was written.
    #[error(
        "ref {name} was changed by someone else: expected {expected}, found {}; \
         look at it again and retry",
        Shown(actual)
    )]
    RefConflict {
        /// The ref that was checked (after following symbolic refs).
        name: String,
        /// What the caller expected.
        expected: Expect,
        /// What the ref held (`None`: it did not exist).
        actual: Option<ObjectId>,
    },
    /// A ref name breaks the `git check-ref-format` rules.
    #[error("'{name}' is not a valid ref name: it {reason}")]
    BadRefName {
        /// The name as given.
        name: String,
        /// The rule broken.
        reason: String,
    },
    /// Symbolic refs loop, or nest deeper than [`MAX_SYMREF_DEPTH`].
    #[error(
        "symbolic ref {name} loops or nests more than {MAX_SYMREF_DEPTH} deep ({}); \
         point it at a branch directly",
        chain.join(" -> ")
    )]
    SymrefLoop {
        /// The ref being resolved or set.
        name: String,
        /// The refs followed, in order.
        chain: Vec<String>,
    },
    /// An index path is not a normalised relative `/`-separated path.
    #[error("'{path}' cannot be stored in the index: {reason}")]
    BadIndexPath {
        /// The path as given.
        path: String,
        /// The rule broken.
        reason: &'static str,
    },
    /// The file is not SQLite, is damaged, or is some other program's database.
    #[error(
        "{} is not a usable gadn state database: {reason}. Restore it from a backup, or \
         move it aside and re-create it (pack files are not affected, but refs, config \
         and the index live in this file)",
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The database was written by a newer gadn with a schema this one cannot read.
    #[error(
        "store was written by a newer gadn: {} has schema version {found}, this gadn \
         understands up to {supported}; upgrade gadn to use this store",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version found.
        found: i64,
        /// The newest schema version this build understands.
        supported: i64,
    },
    /// A stored value cannot be decoded (an id blob that is not 32 bytes, an
    /// unknown entry kind, ...): the database was damaged or edited by hand.
    #[error(
        "{}: table {table}, row {key}: {reason}; the state database is damaged",
        path.display()
    )]
    BadStoredValue {
        /// The database file.
        path: PathBuf,
        /// The table holding the value.
        table: &'static str,
        /// The row's key (ref name, index path, ...).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Shows an optional id as its hex or "no ref".
struct Shown<'a>(&'a Option<ObjectId>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, "{id}"),
            None => f.write_str("no ref"),
        }
    }
}

/// Maps a rusqlite error raised while doing `op` on the database at `path`.
pub(super) fn sql<'a>(
    path: &'a Path,
    op: &'static str,
) -> impl FnOnce(rusqlite::Error) -> DbError + 'a {
    move |e| {
        let code = match &e {
            rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
            _ => None,
        };
        match code {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => DbError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            },
            Some(ErrorCode::DatabaseBusy) | Some(ErrorCode::DatabaseLocked) => DbError::Busy {
                path: path.to_path_buf(),
                op,
            },
            _ => DbError::Sqlite {
                path: path.to_path_buf(),
                op,
                source: e,
            },
        }
    }
}

/// A [`DbError::BadStoredValue`].
pub(super) fn bad_value(
    path: &Path,
    table: &'static str,
    key: impl Into<String>,
    reason: impl Into<String>,
) -> DbError {
    DbError::BadStoredValue {
        path: path.to_path_buf(),
        table,
        key: key.into(),
        reason: reason.into(),
    }
}

/// Decodes a stored id blob.
pub(super) fn stored_id(
    path: &Path,
    table: &'static str,
    key: &str,
    blob: &[u8],
) -> Result<ObjectId, DbError> {
    ObjectId::from_slice(blob).ok_or_else(|| {
        bad_value(
            path,
            table,
            key,
            format!("stored id is {} bytes, not 32", blob.len()),
        )
    })
}
