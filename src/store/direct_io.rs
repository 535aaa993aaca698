//! Writing past the page cache: the `O_DIRECT` primitives of pack writing
//! ([`super::pack`]'s `PackOut`).
//!
//! Bulk data gadn writes once — packs — is not read back soon by the process
//! writing it. Written the ordinary
//! way, every byte is first copied into newly allocated page-cache pages; on the
//! machines measured that costs as much CPU as receiving the bytes did, and the
//! dirty pages then keep writeback busy. `O_DIRECT` has the device read the bytes
//! straight from memory, which must then be aligned: file offset, length and buffer
//! address all multiples of the logical block size, for which [`ALIGN`] is used.
//!
//! Everything here is best effort by design: [`open_direct`] answers `None` where the
//! platform or file system has no `O_DIRECT`, and callers treat `EINVAL` from a direct
//! write ([`is_refusal`]) as "write this the ordinary way from now on".

use std::fs::File;
use std::path::Path;

/// Alignment of direct writes, in bytes: offsets, lengths and buffer addresses are
/// multiples of it. 4 KiB covers every logical block size Linux file systems use for
/// `O_DIRECT` (512 and 4096).
pub const ALIGN: usize = 4096;

/// A zeroed buffer whose first byte sits at an [`ALIGN`]-aligned address.
#[derive(Debug)]
pub struct AlignedBuf {
    /// `len + ALIGN` bytes; the usable part starts at `at`.
    mem: Box<[u8]>,
    at: usize,
    len: usize,
}

impl AlignedBuf {
    /// `len` usable bytes, aligned.
    pub fn new(len: usize) -> AlignedBuf {
        let mem = vec![0u8; len + ALIGN].into_boxed_slice();
        let at = mem.as_ptr().align_offset(ALIGN);
        AlignedBuf { mem, at, len }
    }

    /// The usable bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.mem[self.at..self.at + self.len]
    }

    /// The usable bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.mem[self.at..self.at + self.len]
    }

    /// Shifts the usable part one byte off alignment, so the next direct write from
    /// it is refused: lets tests exercise the fallback on any file system.
    #[cfg(test)]
    pub(crate) fn misalign_for_test(&mut self) {
        // `at` is the first aligned offset (< ALIGN), so `at + 1` is not aligned and
        // still leaves `len` bytes before the end of `mem`. Once only.
        assert!(self.at < ALIGN, "misaligned already");
        let bytes = self.as_slice().to_vec();
        self.at += 1;
        self.as_mut_slice().copy_from_slice(&bytes);
    }
}

/// A second, write-only handle on the existing file `path` with `O_DIRECT`, where
/// the platform and file system offer one.
pub fn open_direct(path: &Path) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .map_err(|e| tracing::debug!(path = %path.display(), error = %e, "no O_DIRECT"))
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// True for the error a file system gives a direct write it does not take (its
/// block is larger than [`ALIGN`], or it accepted `O_DIRECT` at open only).
pub fn is_refusal(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

/// Writes all of `buf` at `offset` (positioned; the file's cursor is not used), on a
/// direct handle or an ordinary one (also [`super::prefill`]'s scattered writes).
pub fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(file, buf, offset) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_tests_can_misalign_them() {
        let mut b = AlignedBuf::new(3 * ALIGN);
        assert_eq!(b.as_slice().len(), 3 * ALIGN);
        assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        b.as_mut_slice()[0] = 1;
        b.misalign_for_test();
        assert_ne!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.as_slice()[0], 1, "contents kept");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn direct_handles_write_aligned_blocks_and_refuse_misaligned_ones() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("f");
        std::fs::write(&path, b"").unwrap();
        assert!(open_direct(&d.path().join("missing")).is_none());
        let Some(f) = open_direct(&path) else {
            return; // this file system has no O_DIRECT: callers write ordinarily
        };
        let mut b = AlignedBuf::new(ALIGN);
        b.as_mut_slice().fill(3);
        write_at(&f, b.as_slice(), 0).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![3u8; ALIGN]);
        let e = write_at(&f, &b.as_slice()[..100], 0).unwrap_err();
        assert!(is_refusal(&e), "{e}");
        assert!(!is_refusal(&std::io::Error::other("x")));
    }
}
