//! Where a [`PackWriter`](super::PackWriter)'s bytes go: an append-only file written
//! past the page cache where the file system allows (`store-format.md` § 6.1).
//!
//! A pack is written once, front to back, and read later — often much later, or by
//! another machine. Copying every byte into freshly allocated page-cache pages first
//! (what `write(2)` does) costs about as much CPU as producing the bytes did, and
//! leaves gigabytes of dirty pages for writeback to chase. So [`PackOut`] stages
//! appends in an [`ALIGN`]-aligned buffer of [`STAGE_LEN`] bytes and writes each full
//! buffer with `O_DIRECT`: the device reads it straight from the buffer.
//!
//! `O_DIRECT` needs offsets, lengths and memory aligned to the device's logical
//! block. The stage's file offset is always a multiple of [`ALIGN`]; when the bytes
//! appended so far must reach the file before the stage is full ([`PackOut::flush`],
//! sealing, a writer dropped unsealed), the aligned part goes direct and the partial
//! last block through a second, ordinary handle; those tail bytes stay at the front of
//! the stage and are written again, with what follows them, by the next direct write.
//! The kernel keeps the two handles coherent (a direct write first writes back and
//! drops cached pages in its range).
//!
//! Invariant: after [`PackOut::flush`] the file holds exactly the bytes appended, in
//! order. A file system that refuses `O_DIRECT` (at open, or at the first write)
//! gets ordinary buffered writes from the same stage, like a `BufWriter`, with
//! writeback started every [`WRITEBACK_STEP`] bytes.

use std::fs::File;
use std::path::Path;

pub use crate::store::direct_io::ALIGN;
use crate::store::direct_io::{is_refusal, open_direct, write_at, AlignedBuf};

/// Size of the stage, in bytes (4 MiB, a multiple of [`ALIGN`]): one direct write
/// per this many bytes appended.
pub const STAGE_LEN: usize = 4 << 20;

/// In buffered mode, every this many bytes written the output asks the kernel to
/// start writing them back to disk (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which
/// does not wait), so the fsync that seals the pack finds little left to do instead
/// of a gigabyte of dirty pages. Durability still comes from that fsync alone.
pub const WRITEBACK_STEP: u64 = 64 << 20;

/// An append-only output file with an aligned stage; see the module docs.
#[derive(Debug)]
pub struct PackOut {
    /// The ordinary handle: tails, buffered mode, fsync.
    file: File,
    /// The `O_DIRECT` handle on the same file, while direct writes work.
    direct: Option<File>,
    /// The stage, [`STAGE_LEN`] bytes.
    stage: AlignedBuf,
    /// Bytes staged (from the stage's start).
    staged: usize,
    /// File offset of the stage's first byte; a multiple of [`ALIGN`] while direct.
    base: u64,
    /// Bytes up to which writeback has been started (buffered mode).
    written_back: u64,
}

impl PackOut {
    /// Wraps `file`, just created empty at `path` (opened for writing), adding a
    /// direct handle when the file system allows one.
    pub fn new(file: File, path: &Path) -> PackOut {
        PackOut {
            file,
            direct: open_direct(path),
            stage: AlignedBuf::new(STAGE_LEN),
            staged: 0,
            base: 0,
            written_back: 0,
        }
    }

    /// True while writes go past the page cache.
    #[cfg(test)]
    pub(crate) fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends `data` (staged; written when the stage fills).
    pub fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let n = data.len().min(STAGE_LEN - self.staged);
            let from = self.staged;
            self.stage.as_mut_slice()[from..from + n].copy_from_slice(&data[..n]);
            self.staged += n;
            data = &data[n..];
            if self.staged == STAGE_LEN {
                self.write_stage(STAGE_LEN)?;
                self.base += STAGE_LEN as u64;
                self.staged = 0;
                if self.direct.is_none() {
                    self.start_writeback();
                }
            }
        }
        Ok(())
    }

    /// Writes every byte appended so far to the file (not to stable storage: see
    /// [`PackOut::sync_all`]).
    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.staged == 0 {
            return Ok(());
        }
        let whole = if self.direct.is_some() {
            self.staged & !(ALIGN - 1)
        } else {
            self.staged
        };
        if whole > 0 {
            // May meet a refusal and turn this output buffered.
            self.write_stage(whole)?;
        }
        let tail = self.staged - whole;
        if tail > 0 {
            // Direct mode only: the partial last block, written ordinarily.
            let bytes = &self.stage.as_slice()[whole..whole + tail];
            write_at(&self.file, bytes, self.base + whole as u64)?;
        }
        if self.direct.is_some() {
            // The tail stays staged, for the next direct write to cover again.
            self.stage.as_mut_slice().copy_within(whole..self.staged, 0);
            self.base += whole as u64;
            self.staged = tail;
        } else {
            self.base += self.staged as u64;
            self.staged = 0;
        }
        Ok(())
    }

    /// [`flush`](Self::flush), then `fsync`: every byte appended is on stable storage.
    pub fn sync_all(&mut self) -> std::io::Result<()> {
        self.flush()?;
        self.file.sync_all()
    }

    /// Writes the ordinary way from now on, as if the file system had refused
    /// `O_DIRECT`: lets tests exercise buffered mode on any file system.
    #[cfg(test)]
    pub(crate) fn buffered_for_test(&mut self) {
        self.direct = None;
    }

    /// Bytes up to which writeback has been started (see [`WRITEBACK_STEP`]).
    #[cfg(test)]
    pub(crate) fn written_back(&self) -> u64 {
        self.written_back
    }

    /// Starts (without waiting for) writeback of what was written since the last
    /// start, once that is [`WRITEBACK_STEP`] bytes. Best effort: where
    /// `sync_file_range` is unavailable nothing happens.
    fn start_writeback(&mut self) {
        if self.base - self.written_back < WRITEBACK_STEP {
            return;
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let from = self.written_back as libc::off64_t;
            let len = (self.base - self.written_back) as libc::off64_t;
            // SAFETY: the descriptor is owned by `self.file` for the whole call;
            // sync_file_range only reads its arguments.
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    from,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
        }
        self.written_back = self.base;
    }

    /// Writes the first `len` staged bytes at the stage's offset: direct when that
    /// works (`len` must then be a multiple of [`ALIGN`]), else through the
    /// ordinary handle, for good once a direct write has been refused.
    fn write_stage(&mut self, len: usize) -> std::io::Result<()> {
        let bytes = &self.stage.as_slice()[..len];
        if let Some(d) = &self.direct {
            match write_at(d, bytes, self.base) {
                Ok(()) => return Ok(()),
                // The file system took O_DIRECT at open but not this write (its
                // block is larger than ALIGN, or it does not really support it).
                Err(e) if is_refusal(&e) => {
                    tracing::debug!(error = %e, "direct pack writes refused; writing buffered");
                    self.direct = None;
                }
                Err(e) => return Err(e),
            }
        }
        write_at(&self.file, bytes, self.base)
    }
}

impl Drop for PackOut {
    /// Like a `BufWriter`, a dropped output writes what it holds (errors ignored): an
    /// unsealed pack keeps every record appended, for recovery.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(seed: u8, n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn create(dir: &Path) -> (PackOut, std::path::PathBuf) {
        let path = dir.join("out.pack");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
        (PackOut::new(f, &path), path)
    }

    /// Appends of every size across stage and block boundaries, with flushes in
    /// between (tails written ordinarily, then rewritten direct): the file is always
    /// exactly what was appended.
    #[test]
    fn the_file_holds_exactly_what_was_appended_at_every_flush() {
        let d = tempfile::tempdir().unwrap();
        let (mut out, path) = create(d.path());
        let mut want = Vec::new();
        let sizes = [
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            70_000,
            STAGE_LEN - 3,
            5,
            STAGE_LEN + ALIGN,
            2 * STAGE_LEN + 17,
            12,
        ];
        for (i, n) in sizes.into_iter().enumerate() {
            let data = pattern(i as u8, n);
            out.write_all(&data).unwrap();
            want.extend_from_slice(&data);
            if i % 2 == 1 {
                out.flush().unwrap();
                assert_eq!(std::fs::read(&path).unwrap(), want, "after append {i}");
            }
        }
        out.sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want);
        // Flushing twice writes nothing new; dropping writes what is staged.
        out.flush().unwrap();
        out.write_all(b"last words").unwrap();
        want.extend_from_slice(b"last words");
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    /// Where the file system does not take O_DIRECT the same calls write buffered.
    #[test]
    fn without_a_direct_handle_writes_are_buffered_and_complete() {
        let d = tempfile::tempdir().unwrap();
        let (mut out, path) = create(d.path());
        out.direct = None;
        assert!(!out.is_direct());
        let a = pattern(1, STAGE_LEN + 100);
        out.write_all(&a).unwrap();
        out.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), a);
        out.write_all(b"xyz").unwrap();
        out.sync_all().unwrap();
        let mut want = a;
        want.extend_from_slice(b"xyz");
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    /// A direct write the file system refuses (EINVAL: a block larger than ALIGN)
    /// falls back to buffered writes for good, losing nothing.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_refused_direct_write_falls_back_to_buffered() {
        let d = tempfile::tempdir().unwrap();
        let (mut out, path) = create(d.path());
        if !out.is_direct() {
            return; // this file system refuses O_DIRECT at open: covered above
        }
        out.write_all(b"abc").unwrap();
        // Misalign the stage in memory: the next direct write gets EINVAL.
        out.stage.misalign_for_test();
        let big = pattern(7, STAGE_LEN);
        out.write_all(&big).unwrap();
        assert!(!out.is_direct());
        out.sync_all().unwrap();
        let mut want = b"abc".to_vec();
        want.extend_from_slice(&big);
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    /// A refusal met while flushing (the aligned part refused, the partial last block
    /// written ordinarily) leaves nothing staged that is already in the file: bytes
    /// appended afterwards land after it, not over it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_refusal_during_a_flush_keeps_later_appends_in_place() {
        let d = tempfile::tempdir().unwrap();
        let (mut out, path) = create(d.path());
        if !out.is_direct() {
            return;
        }
        let first = pattern(2, ALIGN + 904);
        out.write_all(&first).unwrap();
        out.stage.misalign_for_test();
        out.flush().unwrap();
        assert!(!out.is_direct());
        out.write_all(b"after").unwrap();
        out.flush().unwrap();
        let mut want = first;
        want.extend_from_slice(b"after");
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }

    /// Errors other than EINVAL are the caller's: here the file is closed for writing.
    #[cfg(target_os = "linux")]
    #[test]
    fn other_write_errors_are_returned() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("ro.pack");
        std::fs::write(&path, b"").unwrap();
        let ro = File::open(&path).unwrap();
        let mut out = PackOut::new(ro, &path);
        out.direct = None;
        out.write_all(b"abc").unwrap();
        assert!(out.flush().is_err());
        assert!(out.sync_all().is_err());
        let big = pattern(3, STAGE_LEN);
        assert!(out.write_all(&big).is_err());
    }
}
