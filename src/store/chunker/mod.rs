//! Content-defined chunking: FastCDC v2020 with normalisation level 1.
//!
//! Dedup only works when every peer cuts a file at the same places, so the cut
//! points produced here are *defined* as those of
//! `fastcdc::v2020::FastCDC::new(data, min, avg, max)` over the whole input (which
//! is the same as `StreamCDC::with_level(.., Normalization::Level1)`). The
//! parameters are part of a repository's config, fixed at init (`design.md`
//! § *Identity and objects*).
//!
//! [`Chunker`] streams any [`Read`]er without ever holding more than its read
//! buffer. It calls the public [`fastcdc::v2020::cut`] kernel itself rather than
//! wrapping `StreamCDC`, which shifts its whole `max`-sized buffer down after every
//! chunk (about four times the data in memory copies). Here the buffer is large
//! ([`READ_BUFFER`]) and is compacted only when fewer than `max` bytes remain past
//! the next cut start, so each byte is copied at most once more (into its
//! [`Chunk`]).
//!
//! **Why the cut points are identical.** `cut` looks at no more than `max` bytes
//! from the cut start, and the length of the slice it is given matters only when
//! that slice is shorter than `max`. The chunker therefore always hands it at
//! least `max` bytes unless the reader has reached end of file, at which point the
//! slice is the true rest of the input — exactly what `FastCDC` sees.

use std::fmt;
use std::io::{self, Read};

use fastcdc::v2020::{
    self, AVERAGE_MAX, AVERAGE_MIN, MASKS, MAXIMUM_MAX, MAXIMUM_MIN, MINIMUM_MAX, MINIMUM_MIN,
};

/// Size of [`Chunker`]'s read buffer. It is raised to twice the maximum chunk size
/// when that is larger, so a compaction never moves more than half the buffer.
/// With default params, 1–4 MiB measured fastest (on-CPU time; 8 MiB was ~5%
/// slower, falling out of cache).
pub const READ_BUFFER: usize = 4 << 20;

/// FastCDC normalisation level used by gadn. Part of the format: never change it.
const NORMALIZATION_BITS: u32 = 1;

const KIB: u32 = 1024;
const MIB: u32 = 1024 * 1024;

/// Returned by [`ChunkParams::new`], [`ChunkParams::from_avg`] and
/// [`ChunkParams::parse`]; [`Chunker`] wraps it in an `io::Error` for params built
/// by hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkerError {
    /// One size is outside the range FastCDC supports.
    #[error("{which} chunk size {value} is out of range: FastCDC accepts {low} to {high} bytes")]
    OutOfRange {
        /// Which size: "minimum", "average" or "maximum".
        which: &'static str,
        /// The size given.
        value: u64,
        /// Smallest accepted value.
        low: u32,
        /// Largest accepted value.
        high: u32,
    },
    /// The sizes are not strictly increasing.
    #[error("chunk sizes must satisfy min < avg < max, got {min}/{avg}/{max}")]
    NotOrdered {
        /// Minimum size given.
        min: u32,
        /// Average size given.
        avg: u32,
        /// Maximum size given.
        max: u32,
    },
    /// Text given for a size is not a number with an optional unit.
    #[error(
        "'{text}' is not a chunk size: write a number of bytes with an optional unit, \
         e.g. 65536, 64KiB, 64K or 1MiB"
    )]
    BadSize {
        /// The text as given.
        text: String,
    },
}

/// FastCDC chunk sizes in bytes: cuts fall at least `min` and at most `max` bytes
/// apart, `avg` apart on average.
///
/// Build one with [`ChunkParams::new`], [`ChunkParams::from_avg`] or
/// [`ChunkParams::parse`]; the fields are public for reading, and the chunker
/// re-validates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkParams {
    /// Minimum chunk size (only the last chunk of an input may be shorter).
    pub min: u32,
    /// Target average chunk size.
    pub avg: u32,
    /// Maximum chunk size.
    pub max: u32,
}

impl ChunkParams {
    /// gadn's default: 16 KiB / 64 KiB / 256 KiB.
    pub const DEFAULT: ChunkParams = ChunkParams {
        min: 16 * KIB,
        avg: 64 * KIB,
        max: 256 * KIB,
    };

    /// Checked constructor: each size within FastCDC's limits and `min < avg < max`.
    pub fn new(min: u32, avg: u32, max: u32) -> Result<Self, ChunkerError> {
        check_range("minimum", u64::from(min), MINIMUM_MIN, MINIMUM_MAX)?;
        check_range("average", u64::from(avg), AVERAGE_MIN, AVERAGE_MAX)?;
        check_range("maximum", u64::from(max), MAXIMUM_MIN, MAXIMUM_MAX)?;
        if !(min < avg && avg < max) {
            return Err(ChunkerError::NotOrdered { min, avg, max });
        }
        Ok(ChunkParams { min, avg, max })
    }

    /// Sizes derived from the average alone: `avg / 4`, `avg`, `avg * 4`.
    pub fn from_avg(avg: u32) -> Result<Self, ChunkerError> {
        check_range("average", u64::from(avg), AVERAGE_MIN, AVERAGE_MAX)?;
        // In range, `avg * 4` is at most 16 MiB and cannot overflow.
        Self::new(avg / 4, avg, avg * 4)
    }

    /// Parses an average chunk size as given to `gadn init --chunk-size` and derives
    /// the rest with [`ChunkParams::from_avg`].
    ///
    /// Accepts a byte count with an optional binary unit, case-insensitive and
    /// optionally separated by a space: `65536`, `65536B`, `64K`, `64KiB`, `64KB`,
    /// `1M`, `1MiB`, `1MB` (`KB` and `MB` are read as 1024-based, as most tools do).
    pub fn parse(text: &str) -> Result<Self, ChunkerError> {
        Self::from_avg(parse_size(text)?)
    }

    /// Verifies the invariants [`ChunkParams::new`] establishes.
    pub fn validate(&self) -> Result<(), ChunkerError> {
        Self::new(self.min, self.avg, self.max).map(|_| ())
    }
}

impl Default for ChunkParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for ChunkParams {
    /// `16KiB/64KiB/256KiB`: each size in the largest binary unit dividing it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            HumanSize(self.min),
            HumanSize(self.avg),
            HumanSize(self.max)
        )
    }
}

struct HumanSize(u32);

impl fmt::Display for HumanSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(MIB) {
            write!(f, "{}MiB", n / MIB)
        } else if n != 0 && n.is_multiple_of(KIB) {
            write!(f, "{}KiB", n / KIB)
        } else {
            write!(f, "{n}B")
        }
    }
}

fn check_range(which: &'static str, value: u64, low: u32, high: u32) -> Result<(), ChunkerError> {
    if value < u64::from(low) || value > u64::from(high) {
        return Err(ChunkerError::OutOfRange {
            which,
            value,
            low,
            high,
        });
    }
    Ok(())
}

/// The average chunk size: the one size grammar of [`crate::store::size`], then the
/// range a `u32` holds.
fn parse_size(text: &str) -> Result<u32, ChunkerError> {
    let bytes = crate::store::size::parse_size(text).map_err(|_| ChunkerError::BadSize {
        text: text.to_string(),
    })?;
    u32::try_from(bytes).map_err(|_| ChunkerError::OutOfRange {
        which: "average",
        value: bytes,
        low: AVERAGE_MIN,
        high: AVERAGE_MAX,
    })
}

/// Validated sizes and the gear-hash masks derived from them, computed exactly as
/// `fastcdc::v2020::FastCDC::with_level_and_seed` does for level 1, seed 0.
#[derive(Debug, Clone, Copy)]
struct Cutter {
    min: usize,
    avg: usize,
    max: usize,
    mask_s: u64,
    mask_l: u64,
}

impl Cutter {
    fn new(params: ChunkParams) -> Result<Self, ChunkerError> {
        params.validate()?;
        // avg is in 256..=4 MiB, so bits is in 8..=22 and both indexes are in MASKS.
        let bits = v2020::logarithm2(params.avg);
        Ok(Cutter {
            min: params.min as usize,
            avg: params.avg as usize,
            max: params.max as usize,
            mask_s: MASKS[(bits + NORMALIZATION_BITS) as usize],
            mask_l: MASKS[(bits - NORMALIZATION_BITS) as usize],
        })
    }

    /// Length of the chunk starting at `data[0]`, where `data` is either at least
    /// `max` bytes long or the whole rest of the input. `data` must not be empty.
    #[inline]
    fn cut(&self, data: &[u8]) -> usize {
        let (_hash, len) = v2020::cut(
            data,
            self.min,
            self.avg,
            self.max,
            self.mask_s,
            self.mask_l,
            self.mask_s << 1,
            self.mask_l << 1,
        );
        len
    }
}

/// One chunk produced by [`Chunker`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position of the chunk's first byte in the input.
    pub offset: u64,
    /// The chunk's bytes (never empty).
    pub data: Vec<u8>,
}

/// Streams a reader into content-defined chunks: an iterator of
/// `io::Result<Chunk>`.
///
/// Read errors are passed through (`ErrorKind::Interrupted` is retried); after an
/// error the iterator is finished. An empty input yields no chunks.
///
/// ```
/// use gadn::store::chunker::{ChunkParams, Chunker};
/// let data = vec![7u8; 300_000];
/// let chunks: Vec<_> = Chunker::new(&data[..], ChunkParams::DEFAULT)
///     .collect::<std::io::Result<_>>()?;
/// assert_eq!(chunks.iter().map(|c| c.data.len()).sum::<usize>(), data.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Chunker<R: Read> {
    reader: R,
    /// `Err` when the params were invalid: reported as the first item.
    cutter: Result<Cutter, ChunkerError>,
    /// Bytes read and not yet handed out live in `buf[start..]`; `buf.len()` is
    /// the end of valid data, never more than `capacity`.
    buf: Vec<u8>,
    capacity: usize,
    start: usize,
    /// Input offset of `buf[start]`.
    offset: u64,
    eof: bool,
    done: bool,
}

impl<R: Read> Chunker<R> {
    /// A chunker with a [`READ_BUFFER`]-sized buffer.
    ///
    /// Params built by hand that [`ChunkParams::new`] would reject are reported as
    /// an `ErrorKind::InvalidInput` error (wrapping [`ChunkerError`]) in place of
    /// the first chunk.
    pub fn new(reader: R, params: ChunkParams) -> Self {
        Self::with_buffer_size(reader, params, READ_BUFFER)
    }

    /// A chunker whose read buffer holds `size` bytes, raised to twice the maximum
    /// chunk size if smaller. The cut points do not depend on it.
    pub fn with_buffer_size(reader: R, params: ChunkParams, size: usize) -> Self {
        let cutter = Cutter::new(params);
        let capacity = match &cutter {
            Ok(c) => size.max(2 * c.max),
            Err(_) => 0,
        };
        Chunker {
            reader,
            cutter,
            // Not zero-filled: `fill` appends into the spare capacity.
            buf: Vec::with_capacity(capacity),
            capacity,
            start: 0,
            offset: 0,
            eof: false,
            done: false,
        }
    }

    /// Gives back the reader, positioned wherever buffering left it.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// Makes at least `max` bytes available from `start`, unless the input ends
    /// first. Compacts only when the tail is shorter than `max`, then reads until
    /// the buffer is full or the reader reports end of file.
    fn fill(&mut self, max: usize) -> io::Result<()> {
        if self.eof || self.buf.len() - self.start >= max {
            return Ok(());
        }
        // Move the tail (< max bytes) to the front.
        self.buf.drain(..self.start);
        self.start = 0;
        let want = self.capacity - self.buf.len();
        // `read_to_end` appends into spare capacity without zeroing it first for
        // readers such as `File`, retries `Interrupted`, and keeps bytes read before
        // an error. `take` stops it at a full buffer.
        let got = (&mut self.reader)
            .take(want as u64)
            .read_to_end(&mut self.buf)?;
        if got < want {
            self.eof = true;
        }
        Ok(())
    }
}

impl<R: Read> Iterator for Chunker<R> {
    type Item = io::Result<Chunk>;

    fn next(&mut self) -> Option<io::Result<Chunk>> {
        if self.done {
            return None;
        }
        let cutter = match &self.cutter {
            Ok(c) => *c,
            Err(e) => {
                self.done = true;
                return Some(Err(io::Error::new(io::ErrorKind::InvalidInput, e.clone())));
            }
        };
        if let Err(e) = self.fill(cutter.max) {
            self.done = true;
            return Some(Err(e));
        }
        let rest = &self.buf[self.start..];
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let len = cutter.cut(rest);
        let chunk = Chunk {
            offset: self.offset,
            data: rest[..len].to_vec(),
        };
        self.start += len;
        self.offset += len as u64;
        Some(Ok(chunk))
    }
}

/// Cut points of in-memory `data`: `(offset, len)` pairs covering it in order,
/// identical to [`Chunker`]'s over the same bytes. Empty data has none.
///
/// # Panics
///
/// If `params` was built by hand with values [`ChunkParams::new`] rejects (use
/// [`ChunkParams::validate`] first when in doubt). Params from the constructors
/// never panic.
pub fn chunk_slice(params: ChunkParams, data: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let cutter = match Cutter::new(params) {
        Ok(c) => c,
        Err(e) => panic!("chunk_slice called with invalid chunk params: {e}"),
    };
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = data.get(pos..).filter(|r| !r.is_empty())?;
        let len = cutter.cut(rest);
        let item = (pos, len);
        pos += len;
        Some(item)
    })
}

#[cfg(test)]
mod tests;
