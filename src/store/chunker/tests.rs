//! Tests of the chunker: identical cut points to fastcdc's, streaming edge cases,
//! parameter parsing.

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
        if self.calls.is_multiple_of(5) {
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
        ("1.5M", 3 * MIB / 2),
    ] {
        assert_eq!(ChunkParams::parse(text).map(|p| p.avg), Ok(avg), "{text}");
    }
    // One size grammar for every option (crate::store::size): a fraction or a unit
    // past MiB parses, and the range check refuses what does not fit.
    for text in ["", "KiB", "-64K", "64KiBx", "0x100"] {
        assert!(
            matches!(ChunkParams::parse(text), Err(ChunkerError::BadSize { .. })),
            "{text}"
        );
    }
    for text in ["1", "8M", "99999999999999999999K", "5000000000", "64 GiB"] {
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
