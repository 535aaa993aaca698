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
pub const READ_BUFFER: usize = 8 << 20;

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
        if n != 0 && n % MIB == 0 {
            write!(f, "{}MiB", n / MIB)
        } else if n != 0 && n % KIB == 0 {
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

fn parse_size(text: &str) -> Result<u32, ChunkerError> {
    let bad = || ChunkerError::BadSize {
        text: text.to_string(),
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let multiplier: u64 = match unit.trim_start().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => u64::from(KIB),
        "m" | "mb" | "mib" => u64::from(MIB),
        _ => return Err(bad()),
    };
    // Digits only, but possibly too many for u64.
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(multiplier).ok_or_else(bad)?;
    match u32::try_from(bytes) {
        Ok(b) => Ok(b),
        Err(_) => Err(ChunkerError::OutOfRange {
            which: "average",
            value: bytes,
            low: AVERAGE_MIN,
            high: AVERAGE_MAX,
        }),
    }
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
mod tests {
    use super::*;
    use fastcdc::v2020::{FastCDC, Normalization, StreamCDC};
    use proptest::prelude::*;

    /// The smallest sizes FastCDC allows, so tests see many chunks cheaply.
    const SMALL: ChunkParams = ChunkParams {
        min: 256,
        avg: 1024,
        max: 4096,
    };

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    /// The reference: fastcdc's own in-memory chunker over the whole input.
    fn reference(p: ChunkParams, data: &[u8]) -> Vec<(usize, usize)> {
        FastCDC::with_level(data, p.min, p.avg, p.max, Normalization::Level1)
            .map(|c| (c.offset, c.length))
            .collect()
    }

    fn stream<R: Read>(p: ChunkParams, r: R, buf: usize) -> Vec<(usize, usize)> {
        Chunker::with_buffer_size(r, p, buf)
            .map(|c| {
                let c = c.unwrap();
                (c.offset as usize, c.data.len())
            })
            .collect()
    }

    /// Returns 1–7 bytes per call, and `Interrupted` every fifth call.
    struct Trickle<'a> {
        data: &'a [u8],
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 5 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = (self.calls % 7 + 1).min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Yields `data`, then fails.
    struct Failing<'a> {
        data: &'a [u8],
    }

    impl Read for Failing<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.data.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn params_defaults_and_display() {
        assert_eq!(ChunkParams::default(), ChunkParams::DEFAULT);
        assert_eq!(ChunkParams::DEFAULT.to_string(), "16KiB/64KiB/256KiB");
        assert_eq!(ChunkParams::from_avg(64 * KIB), Ok(ChunkParams::DEFAULT));
        assert_eq!(
            ChunkParams::from_avg(4 * MIB).unwrap().to_string(),
            "1MiB/4MiB/16MiB"
        );
        assert_eq!(
            ChunkParams::new(100, 1000, 5000).unwrap().to_string(),
            "100B/1000B/5000B"
        );
        ChunkParams::DEFAULT.validate().unwrap();
    }

    #[test]
    fn params_are_validated() {
        use ChunkerError::*;
        assert!(matches!(
            ChunkParams::new(63, 1024, 4096),
            Err(OutOfRange {
                which: "minimum",
                value: 63,
                ..
            })
        ));
        assert!(matches!(
            ChunkParams::new(64, 255, 4096),
            Err(OutOfRange {
                which: "average",
                ..
            })
        ));
        assert!(matches!(
            ChunkParams::new(64, 256, MAXIMUM_MAX + 1),
            Err(OutOfRange {
                which: "maximum",
                ..
            })
        ));
        assert!(matches!(
            ChunkParams::new(2048, 1024, 4096),
            Err(NotOrdered { .. })
        ));
        assert!(matches!(
            ChunkParams::new(512, 1024, 1024),
            Err(NotOrdered { .. })
        ));
        assert!(ChunkParams::from_avg(AVERAGE_MIN).is_ok());
        assert!(ChunkParams::from_avg(AVERAGE_MAX).is_ok());
        assert!(ChunkParams::from_avg(AVERAGE_MAX + 1).is_err());
        assert!(ChunkParams::from_avg(u32::MAX).is_err());
        assert!(ChunkParams::from_avg(0).is_err());
        // Invalid public fields are caught where they would be used.
        let bad = ChunkParams {
            min: 0,
            avg: 0,
            max: 0,
        };
        let mut it = Chunker::new(&b"data"[..], bad);
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("minimum"), "{err}");
        assert!(it.next().is_none());
        assert!(std::panic::catch_unwind(|| chunk_slice(bad, b"").count()).is_err());
        let msg = ChunkParams::new(8, 1024, 4096).unwrap_err().to_string();
        assert!(msg.contains("64"), "{msg}");
    }

    #[test]
    fn parse_sizes() {
        for (text, avg) in [
            ("64KiB", 64 * KIB),
            ("65536", 65536),
            ("65536B", 65536),
            ("64K", 64 * KIB),
            ("64k", 64 * KIB),
            ("64 KiB", 64 * KIB),
            (" 64kb ", 64 * KIB),
            ("1MiB", MIB),
            ("1M", MIB),
            ("4MB", 4 * MIB),
        ] {
            assert_eq!(ChunkParams::parse(text).map(|p| p.avg), Ok(avg), "{text}");
        }
        for text in ["", "KiB", "64 GiB", "1.5M", "-64K", "64KiBx", "0x100"] {
            assert!(
                matches!(ChunkParams::parse(text), Err(ChunkerError::BadSize { .. })),
                "{text}"
            );
        }
        for text in ["1", "8M", "99999999999999999999K", "5000000000"] {
            assert!(
                matches!(
                    ChunkParams::parse(text),
                    Err(ChunkerError::OutOfRange { .. }) | Err(ChunkerError::BadSize { .. })
                ),
                "{text}"
            );
        }
        assert!(matches!(
            ChunkParams::parse("8MiB"),
            Err(ChunkerError::OutOfRange {
                which: "average",
                ..
            })
        ));
    }

    #[test]
    fn empty_input_yields_nothing() {
        assert_eq!(stream(SMALL, &b""[..], 0), vec![]);
        assert_eq!(chunk_slice(SMALL, b"").count(), 0);
    }

    #[test]
    fn matches_fastcdc_on_edge_lengths() {
        for p in [SMALL, ChunkParams::DEFAULT] {
            let (min, max) = (p.min as usize, p.max as usize);
            for len in [
                0,
                1,
                min - 1,
                min,
                min + 1,
                max - 1,
                max,
                max + 1,
                2 * max,
                2 * max + 1,
                3 * max - 1,
                3 << 20,
            ] {
                let data = noise(len, len as u64);
                let want = reference(p, &data);
                assert_eq!(stream(p, &data[..], 0), want, "len {len}");
                assert_eq!(stream(p, &data[..], READ_BUFFER), want, "len {len}");
                let slices: Vec<_> = chunk_slice(p, &data).collect();
                assert_eq!(slices, want, "len {len}");
            }
        }
    }

    #[test]
    fn matches_fastcdc_on_low_entropy_input() {
        // All zeros never hits the mask: every chunk is cut at max.
        let zeros = vec![0u8; 5 << 20];
        let want = reference(ChunkParams::DEFAULT, &zeros);
        assert_eq!(stream(ChunkParams::DEFAULT, &zeros[..], 0), want);
        assert!(want[..want.len() - 1]
            .iter()
            .all(|&(_, l)| l == ChunkParams::DEFAULT.max as usize));
        // Mixed: runs of zeros between noise, a repeating pattern.
        let mut mixed = noise(300_000, 7);
        mixed.extend(std::iter::repeat_n(0u8, 200_000));
        mixed.extend(noise(100_000, 8));
        mixed.extend((0..400_000u32).map(|i| (i % 251) as u8));
        for p in [SMALL, ChunkParams::DEFAULT] {
            assert_eq!(stream(p, &mixed[..], 0), reference(p, &mixed));
        }
    }

    #[test]
    fn matches_streamcdc() {
        let data = noise(1 << 20, 99);
        let p = SMALL;
        let theirs: Vec<_> =
            StreamCDC::with_level(&data[..], p.min, p.avg, p.max, Normalization::Level1)
                .map(|c| {
                    let c = c.unwrap();
                    (c.offset, c.data)
                })
                .collect();
        let ours: Vec<_> = Chunker::new(&data[..], p)
            .map(|c| {
                let c = c.unwrap();
                (c.offset, c.data)
            })
            .collect();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn short_reads_and_interrupts_give_the_same_chunks() {
        let data = noise(200_000, 3);
        let trickle = Trickle {
            data: &data,
            calls: 0,
        };
        let got: Vec<Chunk> = Chunker::with_buffer_size(trickle, SMALL, 0)
            .collect::<io::Result<_>>()
            .unwrap();
        let want = reference(SMALL, &data);
        assert_eq!(got.len(), want.len());
        for (c, (off, len)) in got.iter().zip(want) {
            assert_eq!(c.offset as usize, off);
            assert_eq!(c.data, data[off..off + len]);
        }
    }

    #[test]
    fn read_errors_pass_through_and_end_the_stream() {
        let data = noise(50_000, 5);
        let mut it = Chunker::with_buffer_size(Failing { data: &data }, SMALL, 0);
        let mut seen = 0;
        let err = loop {
            match it.next() {
                Some(Ok(c)) => seen += c.data.len(),
                Some(Err(e)) => break e,
                None => panic!("stream ended without the error"),
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::Other);
        assert_eq!(err.to_string(), "disk on fire");
        // Only chunks whose cut points were certain were produced.
        assert!(seen < data.len());
        assert!(it.next().is_none());
    }

    fn chunk_ids(p: ChunkParams, data: &[u8]) -> Vec<(usize, usize, [u8; 32])> {
        chunk_slice(p, data)
            .map(|(o, l)| (o, l, *blake3::hash(&data[o..o + l]).as_bytes()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn chunks_cover_input_within_bounds(
            seed in any::<u64>(),
            len in 0usize..60_000,
            zero_run in 0usize..20_000,
            buf in 0usize..20_000,
        ) {
            let mut data = noise(len, seed);
            // A low-entropy stretch forces cuts at max.
            let at = len / 2;
            data.splice(at..at, std::iter::repeat_n(0u8, zero_run));
            let chunks: Vec<Chunk> = Chunker::with_buffer_size(&data[..], SMALL, buf)
                .collect::<io::Result<_>>()
                .unwrap();
            let joined: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
            prop_assert_eq!(&joined, &data);
            let mut offset = 0u64;
            for (i, c) in chunks.iter().enumerate() {
                prop_assert_eq!(c.offset, offset);
                offset += c.data.len() as u64;
                prop_assert!(!c.data.is_empty());
                prop_assert!(c.data.len() <= SMALL.max as usize);
                if i + 1 < chunks.len() {
                    prop_assert!(c.data.len() >= SMALL.min as usize);
                }
            }
            let spans: Vec<_> = chunks.iter().map(|c| (c.offset as usize, c.data.len())).collect();
            prop_assert_eq!(spans, reference(SMALL, &data));
        }

        #[test]
        fn boundaries_survive_a_distant_edit(
            seed in any::<u64>(),
            pos in 0usize..100_000,
            removed in 0usize..3_000,
            inserted in proptest::collection::vec(any::<u8>(), 0..3_000),
        ) {
            let p = SMALL;
            let max = p.max as usize;
            let old = noise(120_000, seed);
            let end = (pos + removed).min(old.len());
            let mut new = old.clone();
            new.splice(pos..end, inserted.iter().copied());
            let a = chunk_ids(p, &old);
            let b = chunk_ids(p, &new);
            // Before the edit: every chunk ending more than `max` before it is kept.
            for c in a.iter().filter(|c| c.0 + c.1 + max < pos) {
                prop_assert!(b.contains(c), "chunk {:?} lost before the edit at {}", c.0, pos);
            }
            // After it the cut points re-synchronise: every chunk starting well past
            // the edit recurs, shifted.
            let shift = new.len() as i64 - old.len() as i64;
            let tail = end + 8 * max;
            for c in a.iter().filter(|c| c.0 >= tail) {
                let moved = ((c.0 as i64 + shift) as usize, c.1, c.2);
                prop_assert!(b.contains(&moved), "chunk at {} not re-found after edit at {}", c.0, pos);
            }
        }
    }

    /// Throughput against StreamCDC. Run with
    /// `cargo test --release --lib store::chunker -- --ignored --nocapture`.
    #[test]
    #[ignore = "measurement; run in release"]
    fn throughput_vs_streamcdc() {
        use std::time::Instant;
        let data = noise(256 << 20, 1);
        let p = ChunkParams::DEFAULT;
        let mib = data.len() as f64 / f64::from(MIB);
        for round in 0..3 {
            let t = Instant::now();
            let (mut n, mut bytes) = (0usize, 0usize);
            for c in Chunker::new(&data[..], p) {
                n += 1;
                bytes += c.unwrap().data.len();
            }
            let ours = t.elapsed();
            assert_eq!(bytes, data.len());
            let t = Instant::now();
            let mut m = 0usize;
            for c in StreamCDC::with_level(&data[..], p.min, p.avg, p.max, Normalization::Level1) {
                m += 1;
                std::hint::black_box(c.unwrap());
            }
            let theirs = t.elapsed();
            assert_eq!(n, m);
            let t = Instant::now();
            let k = chunk_slice(p, &data).count();
            let slice = t.elapsed();
            assert_eq!(k, n);
            println!(
                "round {round}: {n} chunks; Chunker {:.0} MiB/s, StreamCDC {:.0} MiB/s, \
                 chunk_slice {:.0} MiB/s",
                mib / ours.as_secs_f64(),
                mib / theirs.as_secs_f64(),
                mib / slice.as_secs_f64(),
            );
        }
    }
}
