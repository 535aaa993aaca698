//! A sealed pack and its index as one unit, with a read handle (`store-format.md` § 6),
//! as gitoxide's `Bundle`. The bottom of the pack folder's reading side: the set
//! ([`super::set`]), the writer ([`super::write`]) and verification
//! ([`super::verify`]) all build on it and it imports none of them.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::store::id::ObjectId;

use super::error::{PackError, RecordProblem};
use super::format::{Codec, INDEX_EXT, PACK_EXT, RECORD_HEADER_LEN};
use super::index::{IndexEntry, PackIndex};
use super::io::read_exact_at;
use super::record::{check_record_header, decode_record};

/// A sealed pack with its verified index and a read handle.
#[derive(Debug)]
pub(crate) struct LoadedPack {
    pub stem: String,
    pub pack_path: PathBuf,
    pub idx_path: PathBuf,
    pub index: PackIndex,
    pub file: File,
}

impl LoadedPack {
    /// Opens `dir/<stem>.pack` for reading, with an already loaded index.
    pub fn open(dir: &Path, stem: &str, index: PackIndex) -> Result<Self, PackError> {
        let pack_path = dir.join(format!("{stem}.{PACK_EXT}"));
        let file = File::open(&pack_path).map_err(PackError::io(&pack_path))?;
        Ok(LoadedPack {
            stem: stem.to_string(),
            idx_path: dir.join(format!("{stem}.{INDEX_EXT}")),
            pack_path,
            index,
            file,
        })
    }

    pub fn record_error(&self, e: &IndexEntry, problem: RecordProblem) -> PackError {
        PackError::Record {
            id: e.id,
            path: self.pack_path.clone(),
            offset: e.offset,
            problem,
        }
    }

    /// Reads the record of `e` (header and payload) into `buf` and checks that its
    /// header agrees with the index entry. Does not decode or hash.
    pub fn read_record(&self, e: &IndexEntry, buf: &mut Vec<u8>) -> Result<(), PackError> {
        buf.clear();
        self.read_record_at(e, buf, 0)
    }

    /// Like [`read_record`](Self::read_record), but keeps `buf[..at]` and reads the
    /// record into `buf[at..]` (which is resized to fit): a caller framing the record
    /// for the network reads it straight behind its own header, with no copy.
    pub fn read_record_at(
        &self,
        e: &IndexEntry,
        buf: &mut Vec<u8>,
        at: usize,
    ) -> Result<(), PackError> {
        let len = usize::try_from(e.record_len()).map_err(|_| {
            PackError::io(&self.pack_path)(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                format!("record of {} bytes does not fit in memory", e.record_len()),
            ))
        })?;
        buf.resize(at, 0);
        buf.resize(at + len, 0);
        if let Err(err) = read_exact_at(&self.file, &mut buf[at..], e.offset) {
            if err.kind() != std::io::ErrorKind::UnexpectedEof {
                return Err(PackError::io(&self.pack_path)(err));
            }
            let pack_len = self
                .file
                .metadata()
                .map_err(PackError::io(&self.pack_path))?
                .len();
            let problem = RecordProblem::Truncated {
                end: e.end(),
                pack_len,
            };
            return Err(self.record_error(e, problem));
        }
        check_record_header(e, &buf[at..]).map_err(|p| self.record_error(e, p))?;
        Ok(())
    }

    /// Reads, decodes and re-hashes the record of `e` into `out`; `buf` is scratch.
    pub fn read_verified(
        &self,
        e: &IndexEntry,
        buf: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), PackError> {
        if e.codec == Codec::Raw {
            // Stored as is: read the record into `out`, hash the payload where it
            // lies and drop the header — no second buffer, no copy to fresh memory.
            self.read_record(e, out)?;
            let actual = ObjectId::compute(e.kind, &out[RECORD_HEADER_LEN..]);
            if actual != e.id {
                return Err(self.record_error(e, RecordProblem::HashMismatch { actual }));
            }
            out.drain(..RECORD_HEADER_LEN);
            return Ok(());
        }
        self.read_record(e, buf)?;
        decode_record(e, buf, out).map_err(|p| self.record_error(e, p))
    }
}
