//! [`StoreError`]: what can go wrong opening, reading or writing a store.

use std::path::PathBuf;

use super::chunker::ChunkerError;
use super::db::DbError;
use super::id::{ObjectId, ObjectKind};
use super::lock::LockError;
use super::object::ObjectError;
use super::pack::PackError;

/// Returned by the operations of [`super::Store`].
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No store at the expected place.
    #[error("no gadn store at {path} (run `gadn init` first)")]
    NotAStore {
        /// Where one was expected.
        path: PathBuf,
    },
    /// `init` found an existing store.
    #[error("a gadn store already exists at {path}")]
    AlreadyExists {
        /// Its directory.
        path: PathBuf,
    },
    /// An object that must exist is absent.
    #[error("object {id} not found in the store")]
    NotFound {
        /// The missing id.
        id: ObjectId,
    },
    /// An object exists but is of another kind than the caller needs.
    #[error("object {id} is a {actual}, not a {expected}")]
    WrongKind {
        /// The id.
        id: ObjectId,
        /// The kind wanted.
        expected: ObjectKind,
        /// The kind found.
        actual: ObjectKind,
    },
    /// A stored object failed to decode or broke a structural rule.
    #[error("object {id}: {source}")]
    BadObject {
        /// The id.
        id: ObjectId,
        /// Why.
        source: ObjectError,
    },
    /// A record received from elsewhere (a peer, another store) is not what it claims.
    #[error("record {id} received is invalid: {problem}")]
    BadRecord {
        /// The id it claims.
        id: ObjectId,
        /// What is wrong.
        problem: crate::store::pack::RecordProblem,
    },
    /// An object could not be encoded.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// A file's chunk-list tree does not add up to the size its file object states.
    #[error("file {id}: {reason}")]
    BadFile {
        /// The file object id.
        id: ObjectId,
        /// What does not add up.
        reason: String,
    },
    /// The repository config holds an unusable value.
    #[error("bad store config {key}={value:?}: {reason}")]
    BadConfig {
        /// Config key.
        key: String,
        /// Value found.
        value: String,
        /// Why it is unusable.
        reason: String,
    },
    /// The user's global settings file (`$GADN_HOME/config.toml`) is unreadable,
    /// malformed, or was asked for a key it cannot hold.
    #[error("global config {}: {reason}", path.display())]
    GlobalConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading a working file or writing an output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Pack files.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// SQLite state.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The store lock.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Chunking parameters.
    #[error(transparent)]
    Chunker(#[from] ChunkerError),
}

impl StoreError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_and_what_is_wrong() {
        let id = ObjectId::of_chunk(b"x");
        let cases = [
            (
                StoreError::NotFound { id },
                format!("object {id} not found in the store"),
            ),
            (
                StoreError::WrongKind {
                    id,
                    expected: ObjectKind::Commit,
                    actual: ObjectKind::Tree,
                },
                format!("object {id} is a tree, not a commit"),
            ),
            (
                StoreError::BadObject {
                    id,
                    source: ObjectError::NotCanonical {
                        kind: ObjectKind::Tag,
                    },
                },
                format!("object {id}: tag object is not canonically encoded"),
            ),
            (
                StoreError::BadFile {
                    id,
                    reason: "chunks add up to 3 bytes, not 4".into(),
                },
                format!("file {id}: chunks add up to 3 bytes, not 4"),
            ),
            (
                StoreError::BadConfig {
                    key: "chunk.avg".into(),
                    value: "x".into(),
                    reason: "not a number".into(),
                },
                r#"bad store config chunk.avg="x": not a number"#.to_string(),
            ),
            (
                StoreError::io("/s/packs")(std::io::Error::other("no space left")),
                "/s/packs: no space left".to_string(),
            ),
            (
                ChunkerError::NotOrdered {
                    min: 3,
                    avg: 2,
                    max: 1,
                }
                .into(),
                "chunk sizes must satisfy min < avg < max, got 3/2/1".to_string(),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
