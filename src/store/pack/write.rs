//! Writing packs: append records, then seal (`store-format.md` § 6.1, § 9).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::store::id::{ObjectId, ObjectKind};

use super::bundle::LoadedPack;
use super::error::{PackError, RecordProblem};
use super::format::{
    pack_header, random_pack_stem, Codec, INDEX_EXT, INDEX_TMP_SUFFIX, PACK_EXT, PACK_HEADER_LEN,
};
use super::index::{IndexEntry, PackIndex};
use super::io::fsync_dir;
use super::out::PackOut;
use super::record::RecordHeader;

/// Appends records to a new pack file, then seals it with an index.
///
/// Until [`finish`](Self::finish) the pack has no index and is *unsealed*: if the
/// process dies, [`PackSet::recover_unsealed`](super::PackSet::recover_unsealed) keeps
/// its valid prefix. Dropping a writer without finishing leaves exactly that state.
#[derive(Debug)]
pub struct PackWriter {
    dir: PathBuf,
    stem: String,
    path: PathBuf,
    out: PackOut,
    len: u64,
    entries: Vec<IndexEntry>,
    ids: HashSet<ObjectId>,
    failed: bool,
}

impl PackWriter {
    /// Creates `pack-<random>.pack` in `dir` (which must exist) and writes its header.
    pub fn create(dir: &Path) -> Result<Self, PackError> {
        let (stem, path, file) = loop {
            let stem = random_pack_stem();
            let path = dir.join(format!("{stem}.{PACK_EXT}"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (stem, path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(PackError::io(&path)(e)),
            }
        };
        let mut out = PackOut::new(file, &path);
        out.write_all(&pack_header())
            .map_err(PackError::io(&path))?;
        Ok(PackWriter {
            dir: dir.to_path_buf(),
            stem,
            path,
            out,
            len: PACK_HEADER_LEN as u64,
            entries: Vec::new(),
            ids: HashSet::new(),
            failed: false,
        })
    }

    /// Appends a record whose raw bytes have id `id` (the caller computed it with
    /// [`ObjectId::compute`]) and are encoded as `payload` with `codec`. Returns false,
    /// writing nothing, if this writer already holds `id`.
    ///
    /// After an error the writer refuses further appends; drop it and the pack is
    /// recovered as unsealed.
    pub fn append(
        &mut self,
        id: ObjectId,
        kind: ObjectKind,
        codec: Codec,
        raw_len: u32,
        payload: &[u8],
    ) -> Result<bool, PackError> {
        self.check_usable()?;
        if self.ids.contains(&id) {
            return Ok(false);
        }
        let stored_len = u32::try_from(payload.len()).map_err(|_| PackError::InvalidAppend {
            id,
            problem: RecordProblem::TooLarge { len: payload.len() },
        })?;
        if codec == Codec::Raw && stored_len != raw_len {
            return Err(PackError::InvalidAppend {
                id,
                problem: RecordProblem::RawLengthMismatch {
                    raw_len,
                    stored_len,
                },
            });
        }
        let header = RecordHeader {
            kind,
            codec,
            raw_len,
            stored_len,
            id,
        };
        let written = self
            .out
            .write_all(&header.encode())
            .and_then(|()| self.out.write_all(payload));
        if let Err(e) = written {
            self.failed = true;
            return Err(PackError::io(&self.path)(e));
        }
        self.entries.push(IndexEntry {
            id,
            offset: self.len,
            stored_len,
            raw_len,
            kind,
            codec,
        });
        self.ids.insert(id);
        self.len += header.record_len();
        Ok(true)
    }

    /// True if this writer already holds `id`.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.ids.contains(id)
    }

    /// Length of the pack so far (header included), to decide when to start another.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Number of records appended.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The pack's name, `pack-<16 hex>`.
    pub fn name(&self) -> &str {
        &self.stem
    }

    /// Path of the pack file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seals the pack: flushes and fsyncs the pack bytes, then writes the index to a
    /// temporary name, fsyncs it, renames it into place and fsyncs the directory. An
    /// empty writer deletes its file and returns `None`.
    pub fn finish(self) -> Result<Option<SealedPack>, PackError> {
        self.check_usable()?;
        let PackWriter {
            dir,
            stem,
            path,
            mut out,
            len,
            entries,
            ..
        } = self;
        if entries.is_empty() {
            drop(out);
            super::io::remove_file(&path)?;
            return Ok(None);
        }
        out.sync_all().map_err(PackError::io(&path))?;
        drop(out);
        let index = PackIndex::build(entries, len);
        let pack = seal(&dir, &stem, index)?;
        Ok(Some(SealedPack(pack)))
    }

    fn check_usable(&self) -> Result<(), PackError> {
        if self.failed {
            return Err(PackError::io(&self.path)(std::io::Error::other(
                "an earlier write to this pack failed",
            )));
        }
        Ok(())
    }
}

/// A pack just sealed by [`PackWriter::finish`], ready for
/// [`PackSet::add_sealed`](super::PackSet::add_sealed).
#[derive(Debug)]
pub struct SealedPack(pub(crate) LoadedPack);

impl SealedPack {
    /// The pack's name, `pack-<16 hex>`.
    pub fn name(&self) -> &str {
        &self.0.stem
    }

    /// Its index.
    pub fn index(&self) -> &PackIndex {
        &self.0.index
    }
}

/// Writes the index of the (already fsynced) pack `dir/<stem>.pack` crash-safely and
/// opens the pack for reading.
pub(crate) fn seal(dir: &Path, stem: &str, index: PackIndex) -> Result<LoadedPack, PackError> {
    let tmp = dir.join(format!("{stem}{INDEX_TMP_SUFFIX}"));
    let idx = dir.join(format!("{stem}.{INDEX_EXT}"));
    let mut f = File::create(&tmp).map_err(PackError::io(&tmp))?;
    f.write_all(index.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(PackError::io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &idx).map_err(PackError::io(&idx))?;
    fsync_dir(dir)?;
    LoadedPack::open(dir, stem, index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pack::testutil::random_bytes;
    use crate::store::pack::{PackSet, STAGE_LEN, WRITEBACK_STEP};

    fn append(w: &mut PackWriter, seed: u64, len: usize) -> Result<bool, PackError> {
        let data = random_bytes(seed, len);
        let id = ObjectId::compute(ObjectKind::Chunk, &data);
        w.append(id, ObjectKind::Chunk, Codec::Raw, len as u32, &data)
    }

    /// Where the file system refuses `O_DIRECT` the writer buffers, hands the kernel
    /// a writeback hint every [`WRITEBACK_STEP`] bytes, and seals the same pack.
    #[test]
    fn buffered_writers_start_writeback_and_seal_the_same_pack() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::create(dir.path()).unwrap();
        w.out.buffered_for_test();
        assert!(w.is_empty());
        let chunk = 1 << 20;
        let n = WRITEBACK_STEP as usize / chunk + 2;
        for i in 0..n {
            assert!(append(&mut w, i as u64, chunk).unwrap());
        }
        assert!(!append(&mut w, 0, chunk).unwrap(), "held already");
        assert_eq!(w.len(), n);
        assert!(w.out.written_back() >= WRITEBACK_STEP);
        let on_disk = std::fs::metadata(w.path()).unwrap().len();
        assert!(on_disk >= WRITEBACK_STEP, "{on_disk}");
        let sealed = w.finish().unwrap().unwrap();
        let mut set = PackSet::open(dir.path()).unwrap();
        set.add_sealed(sealed).unwrap();
        assert_eq!(set.entries().count(), n);
        assert!(set.verify(|_| {}).unwrap().is_empty());
    }

    /// A write that fails marks the writer failed: later appends and sealing are
    /// refused, and the pack stays unsealed for recovery.
    #[test]
    fn a_failed_write_refuses_everything_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = PackWriter::create(dir.path()).unwrap();
        assert!(append(&mut w, 1, 100).unwrap());
        // Swap in a read-only handle on the same file: the next stage write fails.
        let path = w.path().to_path_buf();
        let ro = File::open(&path).unwrap();
        let mut out = PackOut::new(ro, &path);
        out.buffered_for_test();
        w.out = out;
        let e = append(&mut w, 2, STAGE_LEN).unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let again = append(&mut w, 3, 10).unwrap_err();
        assert!(again.to_string().contains("earlier write"), "{again}");
        assert!(w.finish().is_err());
        assert!(!dir
            .path()
            .join(format!(
                "{}.idx",
                path.file_stem().unwrap().to_string_lossy()
            ))
            .exists());
    }
}
