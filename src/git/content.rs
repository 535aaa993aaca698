//! The one way content arriving through Git enters the store: [`store_content`] takes
//! the bytes (the clean filter's pipe, a file git-lfs uploads), streams them into the
//! store through a [`ShaTee`] that computes the LFS oid on the way (never a second
//! pass), and [`record`]s SHA-256 → file id in `lfs_objects` (store-format.md
//! § *Git pointer files and the filter process*), then merges small packs. Content
//! copied from another store ([`super::sources`]) skips the ingest and calls
//! [`record`] alone.

use std::io::{self, Read, Write};

use sha2::Digest;

use crate::store::{ObjectId, Sha256, Store, StoreError, StoreLock};

/// Hashes (SHA-256) and counts the bytes read from or written to the inner reader or
/// writer, and remembers whether the inner side failed (to tell a broken input from a
/// store failure).
pub struct ShaTee<T> {
    inner: T,
    sha: sha2::Sha256,
    size: u64,
    failed: bool,
}

impl<T> ShaTee<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> ShaTee<T> {
        ShaTee {
            inner,
            sha: sha2::Sha256::new(),
            size: 0,
            failed: false,
        }
    }

    /// SHA-256 of the bytes so far.
    pub fn digest(&self) -> Sha256 {
        Sha256(self.sha.clone().finalize().into())
    }

    /// Number of bytes so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True once the inner reader or writer returned an error.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The inner reader or writer.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    fn pass(&mut self, r: io::Result<usize>, buf: &[u8]) -> io::Result<usize> {
        match r {
            Ok(n) => {
                self.sha.update(&buf[..n]);
                self.size += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

impl<R: Read> Read for ShaTee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.inner.read(buf);
        self.pass(r, buf)
    }
}

impl<W: Write> Write for ShaTee<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.pass(r, buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Content now in the store and recorded: its gadn file id, SHA-256 and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The gadn file id.
    pub id: ObjectId,
    /// SHA-256 of the content (the LFS oid).
    pub sha256: Sha256,
    /// Content size in bytes.
    pub size: u64,
}

/// Returned by [`store_content`].
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The input failed while being read (the store is as it was, plus unreferenced
    /// chunks gc removes).
    #[error("{0}")]
    Read(#[source] StoreError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The content is not what the caller expected; nothing was recorded.
    #[error("expected sha256 {expected} ({expected_size} bytes), got {got} ({got_size} bytes); nothing recorded")]
    Mismatch {
        /// The expected SHA-256.
        expected: Sha256,
        /// The expected size.
        expected_size: u64,
        /// The content's SHA-256.
        got: Sha256,
        /// The content's size.
        got_size: u64,
    },
}

/// Streams `reader` into the store under `lock`, computing its SHA-256 on the way, and
/// records it (see [`record`]). With `expect`, content whose SHA-256 or size differs is
/// not recorded ([`ContentError::Mismatch`]). The writer is sealed whatever happens:
/// a failed or mismatching ingest leaves only unreferenced chunks, never a torn pack.
pub fn store_content(
    store: &mut Store,
    lock: &StoreLock,
    reader: impl Read + Send,
    expect: Option<(Sha256, u64)>,
) -> Result<Stored, ContentError> {
    let mut tee = ShaTee::new(reader);
    let mut writer = store.writer(lock);
    let ingested = writer.ingest(&mut tee);
    let sealed = writer.finish();
    let ingested = match ingested {
        Err(e) if tee.failed() => return Err(ContentError::Read(e)),
        other => other?,
    };
    sealed?;
    let stored = Stored {
        id: ingested.id,
        sha256: tee.digest(),
        size: tee.size(),
    };
    if let Some((expected, expected_size)) = expect {
        if (expected, expected_size) != (stored.sha256, stored.size) {
            return Err(ContentError::Mismatch {
                expected,
                expected_size,
                got: stored.sha256,
                got_size: stored.size,
            });
        }
    }
    record(store, lock, &stored)?;
    Ok(stored)
}

/// Records that the content with `stored.sha256` is file `stored.id` (`lfs_objects`, a
/// gc root), then merges small packs ([`consolidate`]).
pub fn record(store: &mut Store, lock: &StoreLock, stored: &Stored) -> Result<(), StoreError> {
    store
        .db()
        .lfs_put(&stored.sha256, &stored.id, stored.size)?;
    consolidate(store, lock);
    Ok(())
}

/// Each way in seals a pack; merge the small ones as commits do. Housekeeping: a
/// failure loses nothing and is retried after the next file.
pub fn consolidate(store: &mut Store, lock: &StoreLock) {
    let _ = store.consolidate_packs(lock);
}
