//! Errors of the pack layer. Every variant names the file, and where it applies the
//! offset and id, that broke a rule, so a message alone says where to look.

use std::io;
use std::path::{Path, PathBuf};

use crate::store::id::ObjectId;

/// Returned by the operations of [`PackWriter`](super::PackWriter) and
/// [`PackSet`](super::PackSet).
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// An I/O operation on a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An index file is not a valid index.
    #[error("index {}: {problem}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// What is wrong with it.
        problem: IndexProblem,
    },
    /// A pack file's 16-byte header is missing or wrong.
    #[error("pack {}: {problem}", path.display())]
    PackHeader {
        /// The pack file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored record does not match its index entry or its id.
    #[error("object {id} in pack {} at offset {offset}: {problem}", path.display())]
    Record {
        /// The id the index (or the record header, during recovery) names.
        id: ObjectId,
        /// The pack file.
        path: PathBuf,
        /// Offset of the record header in the pack.
        offset: u64,
        /// What is wrong.
        problem: RecordProblem,
    },
    /// A read found the id in no readable pack while an index is damaged, so the
    /// object may well be stored, in the pack that index describes.
    #[error("object {id} is in no readable pack, and index {index} is damaged ({reason}); run `gadn fsck`")]
    InDamagedPack {
        /// The id asked for.
        id: ObjectId,
        /// File name of the (first) damaged index.
        index: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`PackSet::add_sealed`](super::PackSet::add_sealed) refused a pack.
    #[error("cannot add pack {}: {reason}", path.display())]
    AddSealed {
        /// The pack file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A record handed to [`PackWriter::append`](super::PackWriter::append) is not
    /// well formed (a payload over 4 GiB, or a raw payload whose length is not raw_len).
    #[error("cannot append object {id}: {problem}")]
    InvalidAppend {
        /// The id of the rejected record.
        id: ObjectId,
        /// What is wrong with it.
        problem: RecordProblem,
    },
}

impl PackError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(io::Error) -> PackError + '_ {
        move |source| PackError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What is wrong with an index file (see [`PackError::Index`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexProblem {
    /// Shorter than a header, fanout and trailer.
    #[error("file is {len} bytes, too short for an index")]
    TooShort {
        /// Actual length.
        len: u64,
    },
    /// The first 8 bytes are not `GADNIDX\0`.
    #[error("bad magic, not a gadn index")]
    BadMagic,
    /// A version this build does not read.
    #[error("unsupported index version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// The length does not follow from the entry count.
    #[error("file is {actual} bytes but {count} entries need exactly {expected}")]
    WrongLength {
        /// Entry count from the header.
        count: u32,
        /// Length the count implies.
        expected: u64,
        /// Actual length.
        actual: u64,
    },
    /// The BLAKE3 trailer does not match the contents.
    #[error("checksum mismatch (trailer does not match contents)")]
    ChecksumMismatch,
    /// A fanout entry is smaller than the one before it.
    #[error("fanout not monotonic at byte {byte:#04x}: {value} < {previous}")]
    FanoutNotMonotonic {
        /// First-byte value whose fanout entry decreases.
        byte: u8,
        /// Its fanout value.
        value: u32,
        /// The previous fanout value.
        previous: u32,
    },
    /// The last fanout entry is not the entry count.
    #[error("fanout ends at {last} but the header says {count} entries")]
    FanoutCount {
        /// Last fanout value.
        last: u32,
        /// Entry count from the header.
        count: u32,
    },
    /// An entry sits in the wrong fanout bucket.
    #[error("entry {position} is outside the fanout bucket of its first byte")]
    FanoutMismatch {
        /// Entry position.
        position: u32,
    },
    /// Entries are not strictly ascending by id (unsorted or duplicated).
    #[error("entry {position} is not strictly greater than the one before it")]
    Unsorted {
        /// Entry position.
        position: u32,
    },
    /// An entry's kind, codec or reserved bytes are invalid.
    #[error("entry {position}: {what}")]
    BadEntry {
        /// Entry position.
        position: u32,
        /// What is invalid.
        what: String,
    },
}

/// What is wrong with one record (see [`PackError::Record`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    /// The record's kind byte is not a known [`ObjectKind`](crate::store::ObjectKind).
    #[error("unknown kind byte {kind}")]
    UnknownKind {
        /// The byte found.
        kind: u8,
    },
    /// The record's codec byte is not a known [`Codec`](super::Codec).
    #[error("unknown codec byte {codec}")]
    UnknownCodec {
        /// The byte found.
        codec: u8,
    },
    /// The reserved header field is not zero.
    #[error("reserved header bytes are not zero")]
    NonZeroReserved,
    /// A raw record whose stored length differs from its raw length.
    #[error("raw record with raw_len {raw_len} but stored_len {stored_len}")]
    RawLengthMismatch {
        /// Raw length.
        raw_len: u32,
        /// Stored length.
        stored_len: u32,
    },
    /// A payload longer than a record can describe.
    #[error("payload of {len} bytes exceeds the 4 GiB record limit")]
    TooLarge {
        /// Payload length.
        len: usize,
    },
    /// The record extends past the end of the pack file.
    #[error("record ends at byte {end} but the pack has only {pack_len} bytes (truncated)")]
    Truncated {
        /// Where the record would end.
        end: u64,
        /// Actual pack length.
        pack_len: u64,
    },
    /// A record's bytes are not as long as its index entry says.
    #[error("record is {actual} bytes, its index entry says {expected}")]
    RecordLength {
        /// Length per the index entry.
        expected: u64,
        /// Length given.
        actual: u64,
    },
    /// The record header disagrees with the index entry.
    #[error("record header says {field} = {in_pack}, index says {in_index}")]
    HeaderMismatch {
        /// Name of the disagreeing field.
        field: &'static str,
        /// Value in the pack.
        in_pack: Box<str>,
        /// Value in the index.
        in_index: Box<str>,
    },
    /// The payload does not decode.
    #[error("payload does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// The decoded bytes hash to another id.
    #[error("content hashes to {actual}, not to its id")]
    HashMismatch {
        /// The id the bytes actually have.
        actual: ObjectId,
    },
}

/// Returned by [`decode_payload`](super::decode_payload).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A raw payload whose length is not raw_len.
    #[error("raw payload is {actual} bytes, expected {expected}")]
    RawLength {
        /// raw_len.
        expected: u32,
        /// Payload length.
        actual: usize,
    },
    /// The zstd frame header declares another content size.
    #[error("zstd frame declares {declared} bytes, expected {expected}")]
    DeclaredLength {
        /// Size declared by the frame.
        declared: u64,
        /// raw_len.
        expected: u32,
    },
    /// The payload is not exactly one zstd frame.
    #[error("payload is not exactly one zstd frame ({frame} of {payload} bytes)")]
    NotOneFrame {
        /// Size of the first frame, 0 if none could be found.
        frame: usize,
        /// Payload length.
        payload: usize,
    },
    /// zstd failed (corrupt data, or output longer than raw_len).
    #[error("zstd: {message}")]
    Zstd {
        /// zstd's message.
        message: String,
    },
    /// The frame decompressed to fewer bytes than raw_len.
    #[error("decompressed to {actual} bytes, expected {expected}")]
    Length {
        /// raw_len.
        expected: u32,
        /// Bytes produced.
        actual: usize,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_stay_small() {
        // Results of every pack operation carry this; keep it within clippy's
        // `result_large_err` limit.
        assert!(std::mem::size_of::<super::PackError>() <= 128);
    }
}
