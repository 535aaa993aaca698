//! Pack files: many records per file, each sealed pack with an immutable sorted index,
//! so a 20 GB package is a few packs rather than 300,000 files and a lookup is a
//! binary search rather than a scan (`store-format.md` § 6, with
//! invariants in § 8 and crash recovery in § 9).
//!
//! # Terminology
//!
//! * *record*: one stored chunk or object: a header and its payload.
//! * *pack*: `pack-<16 lowercase hex>.pack`, a header followed by records.
//! * *index*: `pack-<same>.idx`, the sorted table of a pack's records.
//! * *sealed*: a pack with an index. *Unsealed*: a pack without one (a writer crashed,
//!   or is still writing).
//!
//! # Layout (all integers little-endian)
//!
//! ```text
//! .gadn/packs/
//! ├── pack-0123456789abcdef.pack
//! ├── pack-0123456789abcdef.idx
//! └── pack-fedcba9876543210.pack      unsealed: recovered under the write lock
//!
//! pack   = header || record*
//! header = "GADNPACK" || version u32 = 1 || reserved u32 = 0                    16 bytes
//! record = kind u8 || codec u8 || reserved u16 = 0 || raw_len u32 || stored_len u32
//!          || id [32]                                                     44 bytes
//!          || payload [stored_len]
//!
//! index  = "GADNIDX\0" || version u32 = 1 || count u32 || pack_len u64        24 bytes
//!          || fanout: 256 × u32, slot i = number of entries with id[0] <= i
//!          || entry × count, ascending by id, no duplicates:
//!             id [32] || offset u64 || stored_len u32 || raw_len u32
//!             || kind u8 || codec u8 || reserved [6] = 0                  56 bytes
//!          || BLAKE3 of everything before                                 32 bytes
//! ```
//!
//! `codec` 0 is raw (payload = raw bytes), 1 is zstd (payload = one zstd frame that
//! decompresses to exactly `raw_len` bytes). `id` is
//! [`ObjectId::compute`](crate::store::ObjectId::compute)`(kind, raw)`. Each size is a
//! named constant pinned by a test.
//!
//! # Invariants
//!
//! * *Must*: an index only describes pack bytes that were fsynced before the index
//!   was written; an index, once renamed into place, never changes.
//! * *Must*: every record's payload decodes to bytes hashing to its id; reads and
//!   `fsck` ([`PackSet::verify`]) check this every time, not just the checksum.
//! * *Should*: an id is in one pack only. Duplicates (two writers, recovery) are
//!   harmless; [`PackSet::rewrite`] drops them.
//!
//! # Write ordering and crash recovery
//!
//! [`PackWriter::finish`]: flush and fsync the pack; write the index to
//! `pack-….idx.tmp`, fsync, rename to `.idx`, fsync the directory. A crash before the
//! rename leaves an unsealed pack (and maybe a stray `.idx.tmp`);
//! [`PackSet::recover_unsealed`] keeps the longest prefix of complete, verified
//! records, truncates the torn tail and seals the pack. Readers never see an unsealed
//! pack, so nothing refers to its records before they are durable.
//!
//! # Damaged indexes
//!
//! [`PackSet::open`] never fails because of one bad index: it records the problem in
//! [`PackSet::damaged_indexes`] and serves the other packs, so `fsck` can always run
//! and name the file. While that list is non-empty, absence is not known, so
//! [`PackSet::read`] of an id found nowhere returns [`PackError::InDamagedPack`]
//! rather than `None`.
//!
//! # Example
//!
//! ```
//! use gadn::store::pack::{Compressor, PackSet, PackWriter, DEFAULT_LEVEL};
//! use gadn::store::{ObjectId, ObjectKind};
//!
//! let dir = tempfile::tempdir()?;
//! let raw = b"hello, packs".repeat(100);
//! let id = ObjectId::of_chunk(&raw);
//!
//! let mut compressor = Compressor::new(DEFAULT_LEVEL)?;
//! let mut scratch = Vec::new();
//! let codec = compressor.encode(&raw, &mut scratch);
//! let payload = if codec == gadn::store::pack::Codec::Zstd { &scratch[..] } else { &raw[..] };
//!
//! let mut writer = PackWriter::create(dir.path())?;
//! writer.append(id, ObjectKind::Chunk, codec, raw.len() as u32, payload)?;
//! let sealed = writer.finish()?.expect("one record");
//!
//! let mut packs = PackSet::open(dir.path())?;
//! packs.add_sealed(sealed)?;
//! assert_eq!(packs.read(&id)?, Some((ObjectKind::Chunk, raw)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bundle;
mod codec;
mod damage;
mod error;
mod format;
mod index;
mod io;
mod out;
mod record;
mod recover;
mod repair;
mod rewrite;
mod set;
mod verify;
mod write;

pub use codec::{
    decode_payload, decode_payload_into, CompressStats, Compressor, DEFAULT_LEVEL, KEEP_PERMILLE,
    MIN_COMPRESS_LEN, PROBE_KEEP_PERMILLE, PROBE_LEVEL, PROBE_MIN_LEN, PROBE_WINDOWS,
    PROBE_WINDOW_MAX, PROBE_WINDOW_MIN,
};
pub use damage::Damage;
pub use error::{DecodeError, IndexProblem, PackError, RecordProblem};
pub use format::{
    Codec, INDEX_EXT, INDEX_TMP_SUFFIX, PACK_EXT, PACK_HEADER_LEN, PACK_MAGIC, PACK_NAME_HEX_LEN,
    PACK_PREFIX, PACK_VERSION, RECORD_HEADER_LEN,
};
pub use index::{
    index_len, IndexEntry, PackIndex, FANOUT_LEN, FANOUT_SLOTS, INDEX_ENTRY_LEN, INDEX_HEADER_LEN,
    INDEX_MAGIC, INDEX_TRAILER_LEN, INDEX_VERSION,
};
pub use out::{ALIGN, STAGE_LEN, WRITEBACK_STEP};
pub use record::{check_record, check_record_header, decode_record, RecordHeader};
pub use recover::{RecoveredPack, RecoveryOutcome, RecoveryReport};
pub use repair::{DamagedAt, DropReport};
pub use rewrite::{RewriteReport, REWRITE_PACK_BYTES, SMALL_PACKS_MAX, SMALL_PACK_BYTES};
pub use set::{Location, PackInfo, PackSet};
pub use write::{PackWriter, SealedPack};

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod testutil {
    //! Deterministic data for tests, without a `rand` dependency.

    /// SplitMix64.
    pub struct Rng(pub u64);

    impl Rng {
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        pub fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }

        pub fn fill(&mut self, buf: &mut [u8]) {
            for chunk in buf.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
        }
    }

    /// `len` incompressible bytes.
    pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        Rng(seed).fill(&mut v);
        v
    }

    /// Flips one payload byte (the middle one) of the record of `id` in the store at
    /// `store_dir`, as a failing disk would; returns the pack's file name.
    pub fn flip_record_byte(store_dir: &std::path::Path, id: &crate::store::ObjectId) -> String {
        use std::io::{Read, Seek, SeekFrom, Write};
        let s = crate::store::Store::open(store_dir).expect("open");
        let loc = s.packs().locate(id).expect("the record is stored");
        let path = s.packs().pack_path(loc.pack).to_path_buf();
        let e = loc.entry;
        let at = e.offset + super::RECORD_HEADER_LEN as u64 + u64::from(e.stored_len) / 2;
        drop(s);
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .expect("pack");
        let mut b = [0u8; 1];
        f.seek(SeekFrom::Start(at)).expect("seek");
        f.read_exact(&mut b).expect("read");
        b[0] ^= 0x5a;
        f.seek(SeekFrom::Start(at)).expect("seek");
        f.write_all(&b).expect("write");
        f.sync_all().expect("sync");
        super::damage::file_name(&path)
    }

    /// `len` bytes of text-like data: words from a small vocabulary.
    pub fn text_like(seed: u64, len: usize) -> Vec<u8> {
        const WORDS: &[&str] = &[
            "the", "pack", "index", "record", "chunk", "store", "commit", "tree", "level", "zstd",
            "offset", "length", "sorted", "fanout", "crash", "recover", "seal", "texture", "mesh",
            "audio", "asset", "version", "branch", "merge",
        ];
        let mut rng = Rng(seed);
        let mut v = Vec::with_capacity(len + 16);
        while v.len() < len {
            v.extend_from_slice(WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes());
            v.push(if rng.below(12) == 0 { b'\n' } else { b' ' });
        }
        v.truncate(len);
        v
    }
}
