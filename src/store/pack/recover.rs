//! Crash recovery of unsealed packs (`store-format.md` § 9).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::path::Path;

use crate::store::id::ObjectId;

use super::codec::decode_payload_into;
use super::error::PackError;
use super::format::{check_pack_header, PACK_HEADER_LEN, PACK_MAGIC, RECORD_HEADER_LEN};
use super::index::{IndexEntry, PackIndex};
use super::io::{fsync_dir, remove_file};
use super::record::RecordHeader;
use super::set::PackSet;
use super::write::seal;

/// What [`PackSet::recover_unsealed`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// One line per unsealed pack.
    pub packs: Vec<RecoveredPack>,
    /// Number of stray `*.idx.tmp` files removed.
    pub stray_tmp_removed: usize,
}

/// What happened to one unsealed pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredPack {
    /// The pack's name, `pack-<16 hex>`.
    pub name: String,
    /// Complete, verified records kept.
    pub records_kept: usize,
    /// Bytes cut off the end (the whole file if it was removed).
    pub bytes_dropped: u64,
    /// The outcome.
    pub outcome: RecoveryOutcome,
}

/// Outcome of recovering one pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryOutcome {
    /// Truncated to its valid prefix, sealed, and loaded.
    Sealed,
    /// Deleted: its header was torn or it held no complete record.
    Removed,
    /// Not touched, because it is not safe to: e.g. the header of a newer pack
    /// version. It stays in [`PackSet::unsealed`].
    LeftAlone {
        /// Why.
        reason: String,
    },
}

impl PackSet {
    /// Recovers every unsealed pack: scans its records from the header on, verifying
    /// each (header sane, fits in the file, payload decodes, content hashes to the id),
    /// stops at the first bad one, truncates the file there, fsyncs it, seals it and
    /// loads it. A pack whose header is torn, or that keeps no record, is removed.
    /// Stray `*.idx.tmp` files are removed too.
    ///
    /// The caller must hold the store's write lock: a pack being written by another
    /// writer looks exactly like an unsealed one. An I/O error while reading a pack
    /// aborts recovery without truncating it.
    pub fn recover_unsealed(&mut self) -> Result<RecoveryReport, PackError> {
        let mut report = RecoveryReport::default();
        for tmp in std::mem::take(&mut self.stray_tmp) {
            remove_file(&tmp)?;
            report.stray_tmp_removed += 1;
        }
        let unsealed = std::mem::take(&mut self.unsealed);
        let mut left = Vec::new();
        let mut result = Ok(());
        for path in unsealed {
            if result.is_err() {
                left.push(path);
                continue;
            }
            match self.recover_one(&path) {
                Ok(r) => {
                    if matches!(r.outcome, RecoveryOutcome::LeftAlone { .. }) {
                        left.push(path);
                    }
                    report.packs.push(r);
                }
                Err(e) => {
                    left.push(path);
                    result = Err(e);
                }
            }
        }
        self.unsealed = left;
        fsync_dir(&self.dir)?;
        result.map(|()| report)
    }

    fn recover_one(&mut self, path: &Path) -> Result<RecoveredPack, PackError> {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("unsealed packs are listed by valid name")
            .to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(PackError::io(path))?;
        let len = file.metadata().map_err(PackError::io(path))?.len();
        let mut report = RecoveredPack {
            name: stem.clone(),
            records_kept: 0,
            bytes_dropped: len,
            outcome: RecoveryOutcome::Removed,
        };
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut header = [0u8; PACK_HEADER_LEN];
        let whole_header = read_full(&mut reader, &mut header).map_err(PackError::io(path))?;
        if whole_header {
            if let Err(reason) = check_pack_header(&header) {
                if header[..8] == PACK_MAGIC {
                    // Our magic with an unknown version or flags: not a torn write.
                    report.outcome = RecoveryOutcome::LeftAlone { reason };
                    report.bytes_dropped = 0;
                    return Ok(report);
                }
            } else {
                let (entries, valid_end) = scan(&mut reader, len).map_err(PackError::io(path))?;
                if !entries.is_empty() {
                    drop(reader);
                    if valid_end < len {
                        file.set_len(valid_end).map_err(PackError::io(path))?;
                    }
                    // Also makes durable bytes a crashed process left in the page cache.
                    file.sync_all().map_err(PackError::io(path))?;
                    drop(file);
                    report.records_kept = entries.len();
                    report.bytes_dropped = len - valid_end;
                    report.outcome = RecoveryOutcome::Sealed;
                    let index = PackIndex::build(entries, valid_end);
                    let pack = seal(&self.dir, &stem, index)?;
                    self.loaded_mut().packs.push(pack);
                    return Ok(report);
                }
            }
        }
        drop(reader);
        drop(file);
        remove_file(path)?;
        Ok(report)
    }
}

/// Reads the records after the pack header; returns the valid ones and where the
/// valid prefix ends. Only I/O errors other than end-of-file are errors.
fn scan(reader: &mut BufReader<&File>, len: u64) -> std::io::Result<(Vec<IndexEntry>, u64)> {
    let mut entries = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut offset = PACK_HEADER_LEN as u64;
    let mut payload = Vec::new();
    let mut raw = Vec::new();
    loop {
        let mut head = [0u8; RECORD_HEADER_LEN];
        if !read_full(reader, &mut head)? {
            break;
        }
        let Ok(h) = RecordHeader::decode(&head) else {
            break;
        };
        let end = offset + h.record_len();
        if end > len {
            break;
        }
        payload.resize(h.stored_len as usize, 0);
        if !read_full(reader, &mut payload)? {
            break;
        }
        if decode_payload_into(h.codec, &payload, h.raw_len, &mut raw).is_err()
            || ObjectId::compute(h.kind, &raw) != h.id
        {
            break;
        }
        // A duplicate id keeps its bytes but not a second index entry.
        if seen.insert(h.id) {
            entries.push(IndexEntry {
                id: h.id,
                offset,
                stored_len: h.stored_len,
                raw_len: h.raw_len,
                kind: h.kind,
                codec: h.codec,
            });
        }
        offset = end;
    }
    Ok((entries, offset))
}

/// Fills `buf`; false if the input ends first.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<bool> {
    match reader.read_exact(buf) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::id::ObjectKind;
    use crate::store::pack::format::Codec;
    use crate::store::pack::write::PackWriter;

    #[test]
    fn read_full_tells_end_of_input_from_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        let mut buf = [0u8; 4];
        assert!(read_full(&mut &b"abcdef"[..], &mut buf).unwrap());
        assert_eq!(&buf, b"abcd");
        assert!(!read_full(&mut &b"ab"[..], &mut buf).unwrap());
        let err = read_full(&mut Failing, &mut buf).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }

    /// A file shorter than the length scanning was told (it shrank while being
    /// read): the scan stops at the record it cannot read whole, without an error.
    #[test]
    fn scan_stops_where_the_file_ends_early() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::create(dir.path()).unwrap();
        let raw = b"some bytes".to_vec();
        let id = ObjectId::compute(ObjectKind::Chunk, &raw);
        w.append(id, ObjectKind::Chunk, Codec::Raw, raw.len() as u32, &raw)
            .unwrap();
        let path = w.path().to_path_buf();
        drop(w);
        let len = std::fs::metadata(&path).unwrap().len();
        let file = File::open(&path).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let mut reader = BufReader::new(&file);
        let mut header = [0u8; PACK_HEADER_LEN];
        assert!(read_full(&mut reader, &mut header).unwrap());
        let (entries, end) = scan(&mut reader, len).unwrap();
        assert!(entries.is_empty());
        assert_eq!(end, PACK_HEADER_LEN as u64);
    }
}
