//! Small file-system helpers that attach the path to every error.

use std::fs::File;
use std::path::Path;

use super::error::PackError;

/// Reads exactly `buf.len()` bytes at `offset` without moving a cursor, so one handle
/// serves reads from several threads.
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
                Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Makes renames and removals in `dir` durable. A no-op where directories cannot be
/// opened (Windows, where metadata updates are journaled by the file system).
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), PackError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(PackError::io(dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Removes a file; one that is already gone counts as removed.
pub(crate) fn remove_file(path: &Path) -> Result<(), PackError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PackError::io(path)(e)),
        _ => Ok(()),
    }
}
