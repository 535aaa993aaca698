//! Pack indexes (`store-format.md` § 6.2): an immutable, sorted, checksummed
//! table from id to record, kept in memory as the file's bytes and searched in place.

use std::path::Path;

use crate::store::id::{ObjectId, ObjectKind, ID_LEN};

use super::error::{IndexProblem, PackError};
use super::format::{le_u32, le_u64, Codec, PACK_HEADER_LEN, RECORD_HEADER_LEN};

/// Magic bytes opening every index file.
pub const INDEX_MAGIC: [u8; 8] = *b"GADNIDX\0";
/// Index format version written and understood.
pub const INDEX_VERSION: u32 = 1;
/// Size of the index header: magic || version u32 || count u32 || pack_len u64.
pub const INDEX_HEADER_LEN: usize = 24;
/// Number of fanout slots, one per value of an id's first byte.
pub const FANOUT_SLOTS: usize = 256;
/// Size of the fanout table (256 × u32).
pub const FANOUT_LEN: usize = FANOUT_SLOTS * 4;
/// Size of one entry: id \[32\] || offset u64 || stored_len u32 || raw_len u32 ||
/// kind u8 || codec u8 || reserved \[6\].
pub const INDEX_ENTRY_LEN: usize = 56;
/// Size of the trailer: BLAKE3 of everything before it.
pub const INDEX_TRAILER_LEN: usize = 32;

const ENTRIES_START: usize = INDEX_HEADER_LEN + FANOUT_LEN;

/// Where a record lives in its pack and how to decode it: one row of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// The record's id.
    pub id: ObjectId,
    /// Offset of the record header in the pack file.
    pub offset: u64,
    /// Payload length in the pack.
    pub stored_len: u32,
    /// Length of the raw (decoded) bytes.
    pub raw_len: u32,
    /// Kind of the record.
    pub kind: ObjectKind,
    /// Encoding of the payload.
    pub codec: Codec,
}

impl IndexEntry {
    /// Length of the whole record (header and payload) in the pack.
    pub fn record_len(&self) -> u64 {
        RECORD_HEADER_LEN as u64 + u64::from(self.stored_len)
    }

    /// Offset just past the record in the pack.
    pub fn end(&self) -> u64 {
        self.offset + self.record_len()
    }

    fn encode(&self) -> [u8; INDEX_ENTRY_LEN] {
        let mut b = [0u8; INDEX_ENTRY_LEN];
        b[..32].copy_from_slice(self.id.as_bytes());
        b[32..40].copy_from_slice(&self.offset.to_le_bytes());
        b[40..44].copy_from_slice(&self.stored_len.to_le_bytes());
        b[44..48].copy_from_slice(&self.raw_len.to_le_bytes());
        b[48] = self.kind as u8;
        b[49] = self.codec as u8;
        b
    }

    /// Decodes an entry, `Err` naming the invalid field.
    fn decode(b: &[u8]) -> Result<Self, String> {
        let kind =
            ObjectKind::from_u8(b[48]).ok_or_else(|| format!("unknown kind byte {}", b[48]))?;
        let codec = Codec::from_u8(b[49]).ok_or_else(|| format!("unknown codec byte {}", b[49]))?;
        if b[50..56].iter().any(|&x| x != 0) {
            return Err("reserved bytes are not zero".into());
        }
        Ok(IndexEntry {
            id: ObjectId::from_slice(&b[..32]).expect("32 bytes"),
            offset: le_u64(&b[32..40]),
            stored_len: le_u32(&b[40..44]),
            raw_len: le_u32(&b[44..48]),
            kind,
            codec,
        })
    }
}

/// A loaded and verified index: the file's bytes, searched in place (no per-entry
/// structs), so loading costs one read and one hash, and lookups O(log n).
#[derive(Clone)]
pub struct PackIndex {
    bytes: Vec<u8>,
    count: usize,
    pack_len: u64,
}

impl std::fmt::Debug for PackIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackIndex")
            .field("count", &self.count)
            .field("pack_len", &self.pack_len)
            .finish()
    }
}

/// Interpolation probes [`PackIndex::lower_bound`] makes before binary search.
const INTERPOLATION_ROUNDS: usize = 4;

impl PackIndex {
    /// Reads and verifies an index file.
    pub fn load(path: &Path) -> Result<Self, PackError> {
        let bytes = std::fs::read(path).map_err(PackError::io(path))?;
        Self::parse(bytes).map_err(|problem| PackError::Index {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// Verifies index bytes: magic, version, exact length, trailer checksum, fanout
    /// monotonic and ending at the count, entries strictly ascending, in their fanout
    /// bucket, with known kind and codec, inside the pack after its header.
    pub fn parse(bytes: Vec<u8>) -> Result<Self, IndexProblem> {
        let len = bytes.len() as u64;
        if bytes.len() < ENTRIES_START + INDEX_TRAILER_LEN {
            return Err(IndexProblem::TooShort { len });
        }
        if bytes[..8] != INDEX_MAGIC {
            return Err(IndexProblem::BadMagic);
        }
        let version = le_u32(&bytes[8..12]);
        if version != INDEX_VERSION {
            return Err(IndexProblem::UnsupportedVersion { version });
        }
        let count = le_u32(&bytes[12..16]);
        let pack_len = le_u64(&bytes[16..24]);
        let expected = index_len(count as usize) as u64;
        if len != expected {
            return Err(IndexProblem::WrongLength {
                count,
                expected,
                actual: len,
            });
        }
        let (body, trailer) = bytes.split_at(bytes.len() - INDEX_TRAILER_LEN);
        if blake3::hash(body).as_bytes() != trailer {
            return Err(IndexProblem::ChecksumMismatch);
        }
        let index = PackIndex {
            bytes,
            count: count as usize,
            pack_len,
        };
        let mut previous = 0;
        for byte in 0..FANOUT_SLOTS {
            let value = index.fanout(byte);
            if value < previous {
                return Err(IndexProblem::FanoutNotMonotonic {
                    byte: byte as u8,
                    value,
                    previous,
                });
            }
            previous = value;
        }
        if previous != count {
            return Err(IndexProblem::FanoutCount {
                last: previous,
                count,
            });
        }
        for p in 0..index.count {
            let position = p as u32;
            let key = index.key(p);
            if p > 0 && index.key(p - 1) >= key {
                return Err(IndexProblem::Unsorted { position });
            }
            if !index.bucket(key[0]).contains(&p) {
                return Err(IndexProblem::FanoutMismatch { position });
            }
            let e = IndexEntry::decode(index.entry_bytes(p))
                .map_err(|what| IndexProblem::BadEntry { position, what })?;
            if e.codec == Codec::Raw && e.raw_len != e.stored_len {
                return Err(IndexProblem::BadEntry {
                    position,
                    what: format!(
                        "raw record with raw_len {} but stored_len {}",
                        e.raw_len, e.stored_len
                    ),
                });
            }
            if e.offset < PACK_HEADER_LEN as u64
                || e.offset
                    .checked_add(e.record_len())
                    .is_none_or(|end| end > pack_len)
            {
                return Err(IndexProblem::BadEntry {
                    position,
                    what: format!(
                        "record at offset {} ({} bytes) lies outside the pack's {pack_len} bytes",
                        e.offset,
                        e.record_len()
                    ),
                });
            }
        }
        Ok(index)
    }

    /// Builds the index of `entries` for a pack of `pack_len` bytes. Entries are sorted
    /// by id; of several entries with one id the first is kept.
    pub fn build(mut entries: Vec<IndexEntry>, pack_len: u64) -> Self {
        entries.sort_by_key(|e| e.id);
        entries.dedup_by(|later, first| later.id == first.id);
        let count = entries.len();
        let mut bytes = Vec::with_capacity(index_len(count));
        bytes.extend_from_slice(&INDEX_MAGIC);
        bytes.extend_from_slice(&INDEX_VERSION.to_le_bytes());
        bytes.extend_from_slice(
            &u32::try_from(count)
                .expect("fewer than 2^32 records in a pack")
                .to_le_bytes(),
        );
        bytes.extend_from_slice(&pack_len.to_le_bytes());
        let mut fanout = [0u32; FANOUT_SLOTS];
        for e in &entries {
            fanout[e.id.as_bytes()[0] as usize] += 1;
        }
        let mut total = 0u32;
        for slot in fanout {
            total += slot;
            bytes.extend_from_slice(&total.to_le_bytes());
        }
        for e in &entries {
            bytes.extend_from_slice(&e.encode());
        }
        let trailer = blake3::hash(&bytes);
        bytes.extend_from_slice(trailer.as_bytes());
        PackIndex {
            bytes,
            count,
            pack_len,
        }
    }

    /// The index file's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Byte length of the pack file this index covers.
    pub fn pack_len(&self) -> u64 {
        self.pack_len
    }

    /// The entry at `position` (0-based, in id order). Panics if out of range.
    pub fn entry(&self, position: usize) -> IndexEntry {
        IndexEntry::decode(self.entry_bytes(position))
            .expect("entries are checked when the index is parsed")
    }

    /// The id at `position`. Panics if out of range.
    pub fn id(&self, position: usize) -> ObjectId {
        ObjectId::from_bytes(*self.key(position))
    }

    /// All entries in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = IndexEntry> + '_ {
        (0..self.count).map(|p| self.entry(p))
    }

    /// Position of `id`, found through the fanout and a binary search.
    pub fn position(&self, id: &ObjectId) -> Option<usize> {
        let p = self.lower_bound(id);
        (p < self.count && self.key(p) == id.as_bytes()).then_some(p)
    }

    /// The entry for `id`, if this index has one.
    #[inline]
    pub fn lookup(&self, id: &ObjectId) -> Option<IndexEntry> {
        self.position(id).map(|p| self.entry(p))
    }

    /// Position of the first entry whose id is `>= id` (`len()` if none), searched
    /// within the fanout bucket of the id's first byte, since every entry of an earlier
    /// bucket is smaller and every entry of a later one larger.
    ///
    /// Ids are hashes, so uniformly spread: a few rounds of interpolation (probing
    /// where the id's leading 8 bytes say it should be) narrow the range in ~2 probes
    /// instead of ~log2(n) cache misses, then a binary search finishes. Every probe is
    /// an ordinary lower-bound step, so skewed ids are still found, only slower.
    pub fn lower_bound(&self, id: &ObjectId) -> usize {
        let key = id.as_bytes();
        let bucket = self.bucket(key[0]);
        let (mut lo, mut hi) = (bucket.start, bucket.end);
        let lead = |k: &[u8]| u64::from_be_bytes(k[..8].try_into().expect("ids are 32 bytes"));
        let target = lead(key);
        // Values of the leading 8 bytes bracketing [lo, hi): first known from the
        // bucket's first byte alone, then from each probe, so a round costs one read.
        let base = u64::from(key[0]) << 56;
        let (mut lo_v, mut hi_v) = (base, base | (u64::MAX >> 8));
        for _ in 0..INTERPOLATION_ROUNDS {
            if hi - lo <= 8 || target < lo_v || target > hi_v || hi_v <= lo_v {
                break;
            }
            let span = (hi - lo) as u128;
            let est =
                lo + ((u128::from(target - lo_v) * span) / u128::from(hi_v - lo_v + 1)) as usize;
            let est = est.min(hi - 1);
            let probe = self.key(est);
            if probe < key {
                lo = est + 1;
                lo_v = lead(probe);
            } else {
                hi = est;
                hi_v = lead(probe);
            }
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn fanout(&self, byte: usize) -> u32 {
        let at = INDEX_HEADER_LEN + byte * 4;
        le_u32(&self.bytes[at..at + 4])
    }

    /// Positions of the entries whose id starts with `first`.
    fn bucket(&self, first: u8) -> std::ops::Range<usize> {
        let lo = if first == 0 {
            0
        } else {
            self.fanout(first as usize - 1) as usize
        };
        lo..self.fanout(first as usize) as usize
    }

    fn entry_bytes(&self, position: usize) -> &[u8] {
        let at = ENTRIES_START + position * INDEX_ENTRY_LEN;
        &self.bytes[at..at + INDEX_ENTRY_LEN]
    }

    fn key(&self, position: usize) -> &[u8; ID_LEN] {
        self.entry_bytes(position)[..ID_LEN]
            .try_into()
            .expect("ID_LEN bytes")
    }
}

/// Length of an index with `count` entries.
pub fn index_len(count: usize) -> usize {
    ENTRIES_START + count * INDEX_ENTRY_LEN + INDEX_TRAILER_LEN
}

#[cfg(test)]
mod tests {
    use super::super::testutil::Rng;
    use super::*;

    fn random_id(rng: &mut Rng) -> ObjectId {
        let mut b = [0u8; ID_LEN];
        rng.fill(&mut b);
        ObjectId::from_bytes(b)
    }

    fn entries(n: usize, seed: u64) -> Vec<IndexEntry> {
        let mut rng = Rng(seed);
        let mut offset = PACK_HEADER_LEN as u64;
        (0..n)
            .map(|i| {
                let stored_len = rng.below(5000) as u32;
                let e = IndexEntry {
                    id: random_id(&mut rng),
                    offset,
                    stored_len,
                    raw_len: if i % 2 == 0 {
                        stored_len
                    } else {
                        stored_len * 3
                    },
                    kind: ObjectKind::ALL[i % ObjectKind::ALL.len()],
                    codec: if i % 2 == 0 { Codec::Raw } else { Codec::Zstd },
                };
                offset = e.end();
                e
            })
            .collect()
    }

    fn pack_len(entries: &[IndexEntry]) -> u64 {
        entries
            .iter()
            .map(|e| e.end())
            .max()
            .unwrap_or(PACK_HEADER_LEN as u64)
    }

    /// Rewrites the trailer so a deliberate change is seen by the structural checks.
    fn reseal(bytes: &mut [u8]) {
        let n = bytes.len() - INDEX_TRAILER_LEN;
        let h = blake3::hash(&bytes[..n]);
        bytes[n..].copy_from_slice(h.as_bytes());
    }

    #[test]
    fn sizes_are_pinned() {
        assert_eq!(INDEX_HEADER_LEN, 8 + 4 + 4 + 8);
        assert_eq!(INDEX_HEADER_LEN, 24);
        assert_eq!(FANOUT_LEN, 1024);
        assert_eq!(INDEX_ENTRY_LEN, 32 + 8 + 4 + 4 + 1 + 1 + 6);
        assert_eq!(INDEX_ENTRY_LEN, 56);
        assert_eq!(INDEX_TRAILER_LEN, 32);
        assert_eq!(index_len(0), 24 + 1024 + 32);
        assert_eq!(index_len(3), 24 + 1024 + 3 * 56 + 32);
        assert_eq!(&INDEX_MAGIC, b"GADNIDX\0");
    }

    #[test]
    fn layout_of_a_built_index() {
        let es = entries(3, 1);
        let idx = PackIndex::build(es.clone(), 12345);
        let b = idx.as_bytes();
        assert_eq!(b.len(), index_len(3));
        assert_eq!(&b[..8], b"GADNIDX\0");
        assert_eq!(le_u32(&b[8..]), 1);
        assert_eq!(le_u32(&b[12..]), 3);
        assert_eq!(le_u64(&b[16..]), 12345);
        assert_eq!(le_u32(&b[24 + 255 * 4..]), 3);
        let mut sorted = es.clone();
        sorted.sort_by_key(|e| e.id);
        let first = &b[ENTRIES_START..ENTRIES_START + INDEX_ENTRY_LEN];
        assert_eq!(&first[..32], sorted[0].id.as_bytes());
        assert_eq!(le_u64(&first[32..]), sorted[0].offset);
        assert_eq!(le_u32(&first[40..]), sorted[0].stored_len);
        assert_eq!(le_u32(&first[44..]), sorted[0].raw_len);
        assert_eq!(first[48], sorted[0].kind as u8);
        assert_eq!(first[49], sorted[0].codec as u8);
        assert_eq!(&first[50..], &[0; 6]);
        assert_eq!(
            &b[b.len() - 32..],
            blake3::hash(&b[..b.len() - 32]).as_bytes()
        );
        let back = PackIndex::parse(b.to_vec()).unwrap();
        assert_eq!(back.iter().collect::<Vec<_>>(), sorted);
        assert_eq!(back.pack_len(), 12345);
    }

    /// Interpolation assumes uniformly spread ids; clustered ones (shared long
    /// prefixes, runs of neighbours, extremes of a bucket) must still be found, and
    /// every lower bound must agree with a plain search.
    #[test]
    fn skewed_ids_are_found_and_lower_bounds_are_exact() {
        let mut rng = Rng(11);
        let mut ids = Vec::new();
        for i in 0..3000u32 {
            let mut b = [0u8; ID_LEN];
            b[0] = 7;
            b[1..5].copy_from_slice(&(i / 1000).to_be_bytes()); // three dense clusters
            b[28..].copy_from_slice(&i.to_be_bytes());
            ids.push(b);
        }
        for last in [[7u8; ID_LEN], [0u8; ID_LEN], [255u8; ID_LEN]] {
            ids.push(last);
        }
        let mut b = [0u8; ID_LEN];
        b[0] = 7;
        b[1..].fill(0xff);
        ids.push(b);
        for _ in 0..500 {
            let mut b = [0u8; ID_LEN];
            rng.fill(&mut b);
            ids.push(b);
        }
        ids.sort();
        ids.dedup();
        let es: Vec<IndexEntry> = ids
            .iter()
            .enumerate()
            .map(|(i, b)| IndexEntry {
                id: ObjectId::from_bytes(*b),
                offset: PACK_HEADER_LEN as u64 + i as u64 * 100,
                stored_len: 56,
                raw_len: 56,
                kind: ObjectKind::Chunk,
                codec: Codec::Raw,
            })
            .collect();
        let idx = PackIndex::build(es.clone(), pack_len(&es));
        for (i, e) in es.iter().enumerate() {
            assert_eq!(idx.position(&e.id), Some(i), "{:?}", e.id);
        }
        // Probes between and around every id: the lower bound is exact.
        for (i, b) in ids.iter().enumerate() {
            let mut below = *b;
            if let Some(p) = below.iter().rposition(|&x| x > 0) {
                below[p] -= 1;
                below[p + 1..].fill(0xff);
                let expect = ids.partition_point(|x| x < &below);
                assert_eq!(idx.lower_bound(&ObjectId::from_bytes(below)), expect, "{i}");
                assert!(expect == i || ids[expect] == below);
            }
            let mut above = *b;
            if let Some(p) = above.iter().rposition(|&x| x < 0xff) {
                above[p] += 1;
                above[p + 1..].fill(0);
                let expect = ids.partition_point(|x| x < &above);
                assert_eq!(idx.lower_bound(&ObjectId::from_bytes(above)), expect, "{i}");
            }
        }
    }

    #[test]
    fn hundred_thousand_ids_are_all_found_and_absent_ones_not() {
        let es = entries(100_000, 7);
        let idx = PackIndex::build(es.clone(), pack_len(&es));
        let idx = PackIndex::parse(idx.as_bytes().to_vec()).unwrap();
        assert_eq!(idx.len(), 100_000);
        for e in &es {
            assert_eq!(idx.lookup(&e.id), Some(*e));
        }
        let mut rng = Rng(99);
        for _ in 0..100_000 {
            let id = random_id(&mut rng);
            assert_eq!(idx.lookup(&id), None);
            // lower_bound agrees with a linear definition at a few points.
            let lb = idx.lower_bound(&id);
            assert!(lb == idx.len() || idx.id(lb) > id);
            assert!(lb == 0 || idx.id(lb - 1) < id);
        }
        // Extremes of the id space and of the fanout.
        for b in [[0u8; 32], [0xff; 32]] {
            assert_eq!(idx.lookup(&ObjectId::from_bytes(b)), None);
        }
    }

    #[test]
    fn empty_and_duplicate_entries() {
        let empty = PackIndex::build(Vec::new(), 16);
        let empty = PackIndex::parse(empty.as_bytes().to_vec()).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.lookup(&ObjectId::from_bytes([0; 32])), None);
        assert_eq!(empty.lower_bound(&ObjectId::from_bytes([9; 32])), 0);
        let mut es = entries(5, 3);
        es.push(IndexEntry {
            offset: es[4].end(),
            ..es[0]
        });
        let idx = PackIndex::build(es.clone(), pack_len(&es));
        assert_eq!(idx.len(), 5);
        assert_eq!(idx.lookup(&es[0].id).unwrap().offset, es[0].offset);
    }

    #[test]
    fn corruption_is_a_clear_error() {
        let es = entries(50, 5);
        let good = PackIndex::build(es.clone(), pack_len(&es))
            .as_bytes()
            .to_vec();
        let parse = |b: &[u8]| PackIndex::parse(b.to_vec()).unwrap_err();

        // Any flipped byte is caught by the trailer, wherever it is.
        for at in [
            0,
            13,
            17,
            INDEX_HEADER_LEN + 40,
            ENTRIES_START + 5,
            ENTRIES_START + 60,
            good.len() - 1,
        ] {
            let mut b = good.clone();
            b[at] ^= 0x10;
            let p = parse(&b);
            let caught = matches!(
                p,
                IndexProblem::ChecksumMismatch
                    | IndexProblem::BadMagic
                    | IndexProblem::UnsupportedVersion { .. }
                    | IndexProblem::WrongLength { .. }
            );
            assert!(caught, "byte {at}: {p:?}");
        }
        assert_eq!(
            parse(&good[..good.len() - 1]),
            IndexProblem::WrongLength {
                count: 50,
                expected: good.len() as u64,
                actual: good.len() as u64 - 1
            }
        );
        assert_eq!(parse(&good[..100]), IndexProblem::TooShort { len: 100 });
        let mut b = good.clone();
        b[8] = 2;
        assert_eq!(parse(&b), IndexProblem::UnsupportedVersion { version: 2 });
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(parse(&b), IndexProblem::BadMagic);

        // Structural checks, with the trailer forged to match.
        let mut b = good.clone();
        let slot = INDEX_HEADER_LEN + 200 * 4;
        b[slot..slot + 4].copy_from_slice(&0u32.to_le_bytes());
        reseal(&mut b);
        let previous = le_u32(&b[slot - 4..slot]);
        assert!(previous > 0);
        assert_eq!(
            parse(&b),
            IndexProblem::FanoutNotMonotonic {
                byte: 200,
                value: 0,
                previous
            }
        );
        let mut b = good.clone();
        let last = INDEX_HEADER_LEN + 255 * 4;
        b[last..last + 4].copy_from_slice(&51u32.to_le_bytes());
        reseal(&mut b);
        assert_eq!(
            parse(&b),
            IndexProblem::FanoutCount {
                last: 51,
                count: 50
            }
        );
        let mut b = good.clone();
        let (e0, e1) = (ENTRIES_START, ENTRIES_START + INDEX_ENTRY_LEN);
        let first: Vec<u8> = b[e0..e1].to_vec();
        b.copy_within(e1..e1 + INDEX_ENTRY_LEN, e0);
        b[e1..e1 + INDEX_ENTRY_LEN].copy_from_slice(&first);
        reseal(&mut b);
        assert!(matches!(
            parse(&b),
            IndexProblem::Unsorted { position: 1 } | IndexProblem::FanoutMismatch { .. }
        ));
        let mut b = good.clone();
        b[e0] = 0xff; // first id now belongs in the last bucket
        reseal(&mut b);
        assert!(matches!(
            parse(&b),
            IndexProblem::Unsorted { position: 1 } | IndexProblem::FanoutMismatch { position: 0 }
        ));
        let mut b = good.clone();
        b[e0 + 48] = 17;
        reseal(&mut b);
        assert!(
            matches!(parse(&b), IndexProblem::BadEntry { position: 0, ref what } if what.contains("kind"))
        );
        let mut b = good.clone();
        b[e0 + 32..e0 + 40].copy_from_slice(&u64::MAX.to_le_bytes());
        reseal(&mut b);
        assert!(
            matches!(parse(&b), IndexProblem::BadEntry { position: 0, ref what } if what.contains("outside"))
        );
        let mut b = good.clone();
        b[16..24].copy_from_slice(&100u64.to_le_bytes()); // pack_len too small for the entries
        reseal(&mut b);
        assert!(matches!(parse(&b), IndexProblem::BadEntry { .. }));
    }

    #[test]
    fn entries_are_checked_one_by_one() {
        let es = entries(50, 6);
        let good = PackIndex::build(es.clone(), pack_len(&es));
        assert_eq!(
            format!("{good:?}"),
            format!("PackIndex {{ count: 50, pack_len: {} }}", pack_len(&es))
        );
        let good = good.as_bytes().to_vec();
        let parse = |b: &[u8]| PackIndex::parse(b.to_vec()).unwrap_err();
        let at = |p: usize| ENTRIES_START + p * INDEX_ENTRY_LEN;
        let raw = (0..50)
            .find(|&p| good[at(p) + 49] == Codec::Raw as u8 && p > 0)
            .unwrap();
        let bad_entry = |p: usize, what: &str| IndexProblem::BadEntry {
            position: p as u32,
            what: what.into(),
        };

        // A duplicate id: not strictly ascending.
        let mut b = good.clone();
        b.copy_within(at(raw - 1)..at(raw), at(raw));
        reseal(&mut b);
        assert_eq!(
            parse(&b),
            IndexProblem::Unsorted {
                position: raw as u32
            }
        );
        // Reserved bytes, codec, and a raw entry whose lengths differ.
        let mut b = good.clone();
        b[at(raw) + 55] = 1;
        reseal(&mut b);
        assert_eq!(parse(&b), bad_entry(raw, "reserved bytes are not zero"));
        let mut b = good.clone();
        b[at(raw) + 49] = 9;
        reseal(&mut b);
        assert_eq!(parse(&b), bad_entry(raw, "unknown codec byte 9"));
        let mut b = good.clone();
        let stored = le_u32(&b[at(raw) + 40..]);
        b[at(raw) + 44..at(raw) + 48].copy_from_slice(&(stored + 1).to_le_bytes());
        reseal(&mut b);
        let what = format!(
            "raw record with raw_len {} but stored_len {stored}",
            stored + 1
        );
        assert_eq!(parse(&b), bad_entry(raw, &what));
        // A record that would overlap the pack header.
        let mut b = good.clone();
        b[at(raw) + 32..at(raw) + 40].copy_from_slice(&15u64.to_le_bytes());
        reseal(&mut b);
        assert!(
            matches!(parse(&b), IndexProblem::BadEntry { ref what, .. } if what.contains("offset 15")),
        );
    }
}
