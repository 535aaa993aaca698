//! [`StoreLock`]: one writer at a time (`store-format.md` § *Locking*).
//!
//! Every command that writes packs, refs or the index holds an exclusive advisory lock
//! (`flock`) on `.gadn/lock` for its whole duration. The lock is released by the
//! kernel when the process dies, so a `kill -9` never leaves a stale lock behind.
//! Readers take no lock: packs are immutable once sealed and SQLite isolates readers.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File name of the lock inside the store directory.
pub const LOCK_FILE: &str = "lock";

/// How long a writer waits for another to finish, unless `GADN_LOCK_TIMEOUT` (seconds)
/// says otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// Returned by [`StoreLock::acquire`].
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock and did not release it in time.
    #[error("the store at {path} is locked by another gadn process{holder}; waited {waited:?}. Retry when it finishes (or set GADN_LOCK_TIMEOUT to wait longer)", holder = holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// Pid recorded by the holder, when readable.
        holder: Option<u32>,
        /// How long we waited.
        waited: Duration,
    },
    /// The lock file could not be opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// An exclusive write lock on a store, released on drop.
#[derive(Debug)]
pub struct StoreLock {
    file: File,
}

impl StoreLock {
    /// Takes the lock in `store_dir`, waiting up to `wait` for a current holder.
    pub fn acquire(store_dir: &Path, wait: Duration) -> Result<StoreLock, LockError> {
        let path = store_dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait {
                        let mut s = String::new();
                        let holder = file
                            .read_to_string(&mut s)
                            .ok()
                            .and_then(|_| s.trim().parse().ok());
                        return Err(LockError::Busy {
                            path,
                            holder,
                            waited: start.elapsed(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        // Record our pid for the message another writer shows; best effort.
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "{}", std::process::id());
        let _ = file.flush();
        Ok(StoreLock { file })
    }

    /// The wait configured by `GADN_LOCK_TIMEOUT` (seconds), else [`DEFAULT_WAIT`].
    pub fn configured_wait() -> Duration {
        std::env::var("GADN_LOCK_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_WAIT)
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_waits_then_gets_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let err = StoreLock::acquire(dir.path(), Duration::from_millis(60)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, LockError::Busy { holder: Some(p), .. } if p == std::process::id()),
            "{msg}"
        );
        assert!(msg.contains("locked by another gadn process"), "{msg}");
        drop(first);
        let again = StoreLock::acquire(dir.path(), Duration::ZERO);
        assert!(again.is_ok());
    }

    #[test]
    fn waiting_writer_gets_the_lock_when_released() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let p = dir.path().to_path_buf();
        let t = std::thread::spawn(move || StoreLock::acquire(&p, Duration::from_secs(5)).is_ok());
        std::thread::sleep(Duration::from_millis(100));
        drop(first);
        assert!(t.join().unwrap());
    }

    #[test]
    fn unopenable_lock_file_is_an_io_error() {
        let err = StoreLock::acquire(Path::new("/nonexistent/dir"), Duration::ZERO).unwrap_err();
        assert!(matches!(err, LockError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/dir/lock"));
    }

    #[test]
    fn timeout_from_environment() {
        // Only checks parsing of a value; the variable is process-global so restore it.
        let old = std::env::var("GADN_LOCK_TIMEOUT").ok();
        std::env::set_var("GADN_LOCK_TIMEOUT", "1.5");
        assert_eq!(StoreLock::configured_wait(), Duration::from_millis(1500));
        std::env::set_var("GADN_LOCK_TIMEOUT", "nonsense");
        assert_eq!(StoreLock::configured_wait(), DEFAULT_WAIT);
        match old {
            Some(v) => std::env::set_var("GADN_LOCK_TIMEOUT", v),
            None => std::env::remove_var("GADN_LOCK_TIMEOUT"),
        }
    }
}
