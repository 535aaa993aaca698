//! The byte stream of a `.blend` file: plain, gzip (Blender before 3.0) or zstd
//! (Blender 3.0 on, seekable frames), read front to back through a [`Source`] and
//! decompressed on the fly, so reading the head never touches the rest of the file.

use std::cell::Cell;
use std::io::{BufReader, Read};

use super::FORMAT;
use crate::preview::{Ctx, PreviewError, Source};

/// The gzip magic.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The zstd frame magic (little endian 0xFD2FB528).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest read asked of the source at once, in bytes.
const READ_MAX: usize = 64 * 1024;
/// Largest zstd window accepted (log2 of bytes): zstd's own default limit (128 MiB),
/// lowered to `ctx.max_alloc`.
/// Blender compresses in frames of 1 MiB, far below it.
const ZSTD_WINDOW_LOG_MAX: u32 = 27;
/// Smallest window limit zstd accepts (log2 of bytes): 1 KiB.
const ZSTD_WINDOW_LOG_MIN: u32 = 10;

/// How the file's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain: the file starts with `BLENDER`.
    None,
    /// A gzip stream.
    Gzip,
    /// zstd frames.
    Zstd,
}

impl Compression {
    /// The fact value: `none`, `gzip` or `zstd`.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// `Read` over a [`Source`] from offset 0. A failure of the source is kept in
/// `failure` (the `io::Error` handed to decoders loses its type), so the caller can
/// report the original error, notably [`PreviewError::NotPresent`].
struct SourceRead<'a> {
    src: &'a dyn Source,
    pos: u64,
    failure: &'a Cell<Option<PreviewError>>,
}

impl Read for SourceRead<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let left = self.src.len().saturating_sub(self.pos);
        let n = (out.len() as u64).min(left).min(READ_MAX as u64) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = match self.src.read_exact_at(self.pos, &mut out[..n]) {
            Ok(()) => n,
            // Serve the present part; the next read reports the gap.
            Err(PreviewError::NotPresent { offset, .. }) if offset > self.pos => {
                let m = (offset - self.pos) as usize;
                self.src
                    .read_exact_at(self.pos, &mut out[..m])
                    .map_err(|e| self.fail(e))?;
                m
            }
            Err(e) => return Err(self.fail(e)),
        };
        self.pos += got as u64;
        Ok(got)
    }
}

impl SourceRead<'_> {
    fn fail(&self, e: PreviewError) -> std::io::Error {
        let io = std::io::Error::other(e.to_string());
        self.failure.set(Some(e));
        io
    }
}

/// The decompressed bytes of a `.blend` file, read in order.
pub struct Stream<'a> {
    inner: Box<dyn Read + 'a>,
    failure: &'a Cell<Option<PreviewError>>,
    /// How the file is compressed.
    pub compression: Compression,
    /// Decompressed bytes consumed so far.
    pub pos: u64,
}

impl<'a> Stream<'a> {
    /// Opens `src`, telling its compression from the first bytes. `failure` is the
    /// slot where source errors are kept; it must outlive the stream.
    pub fn open(
        src: &'a dyn Source,
        failure: &'a Cell<Option<PreviewError>>,
        ctx: &Ctx,
    ) -> Result<Stream<'a>, PreviewError> {
        let mut magic = [0u8; 4];
        let n = (src.len() as usize).min(magic.len());
        src.read_exact_at(0, &mut magic[..n])?;
        let raw = SourceRead {
            src,
            pos: 0,
            failure,
        };
        let (compression, inner): (Compression, Box<dyn Read + 'a>) = if magic[..n] == ZSTD_MAGIC {
            let mut d =
                zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(READ_MAX, raw))
                    .map_err(|e| PreviewError::corrupt(FORMAT, format!("zstd decoder: {e}")))?;
            let window_log = (63 - ctx.max_alloc.max(1).leading_zeros())
                .clamp(ZSTD_WINDOW_LOG_MIN, ZSTD_WINDOW_LOG_MAX);
            d.window_log_max(window_log)
                .map_err(|e| PreviewError::corrupt(FORMAT, format!("zstd decoder: {e}")))?;
            (Compression::Zstd, Box::new(d))
        } else if n >= 2 && magic[..2] == GZIP_MAGIC {
            (
                Compression::Gzip,
                Box::new(flate2::read::GzDecoder::new(raw)),
            )
        } else {
            (Compression::None, Box::new(raw))
        };
        Ok(Stream {
            inner,
            failure,
            compression,
            pos: 0,
        })
    }

    /// Fills `buf` with the next bytes; `what` names them in errors. The stream
    /// ending early is [`PreviewError::Truncated`].
    pub fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<(), PreviewError> {
        let got = self.fill_up_to(buf, what)?;
        if got < buf.len() {
            return Err(PreviewError::truncated(
                FORMAT,
                format!(
                    "the file ends inside {what}: {got} of {} bytes at offset {}",
                    buf.len(),
                    self.pos - got as u64
                ),
            ));
        }
        Ok(())
    }

    /// Reads into `buf` until it is full or the stream ends; returns the bytes read.
    pub fn fill_up_to(&mut self, buf: &mut [u8], what: &str) -> Result<usize, PreviewError> {
        let mut got = 0;
        while got < buf.len() {
            match self.inner.read(&mut buf[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.error(e, what)),
            }
        }
        self.pos += got as u64;
        Ok(got)
    }

    /// The next `len` bytes in a new buffer, which grows only as data arrives (a
    /// hostile length cannot allocate more than the stream really holds).
    pub fn read_vec(&mut self, len: u64, what: &str) -> Result<Vec<u8>, PreviewError> {
        let mut out = Vec::with_capacity(len.min(READ_MAX as u64 * 16) as usize);
        let got = (&mut self.inner)
            .take(len)
            .read_to_end(&mut out)
            .map_err(|e| self.error(e, what))?;
        self.pos += got as u64;
        if (got as u64) < len {
            return Err(PreviewError::truncated(
                FORMAT,
                format!("the file ends inside {what}: {got} of {len} bytes"),
            ));
        }
        Ok(out)
    }

    /// The error behind `e`: the source's own if it failed, else a decoding error.
    fn error(&self, e: std::io::Error, what: &str) -> PreviewError {
        if let Some(original) = self.failure.take() {
            return original;
        }
        let stream = self.compression.name();
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            PreviewError::truncated(
                FORMAT,
                format!("the {stream} stream ends inside {what}: {e}"),
            )
        } else {
            PreviewError::corrupt(FORMAT, format!("{stream} stream, reading {what}: {e}"))
        }
    }
}
