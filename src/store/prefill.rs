//! Prefilled work-tree files: whole files written from verified chunks while a
//! clone's chunks arrive, so the clone's checkout renames each into place instead of
//! reading every chunk back from the packs, hashing it again and writing it again.
//!
//! Layout (`store-format.md` § 2): `.gadn/prefill/HEX.part` while a file is being
//! written, renamed to `.gadn/prefill/HEX` (HEX: the file object's id) once every
//! byte of it has been written. Only complete files are ever used ([`take`]), and
//! only by size and id: the bytes were verified chunk by chunk before they were
//! written, exactly as a checkout verifies what it writes. Whatever did not complete
//! (a chunk that was already stored and so never arrived, an interrupted transfer, a
//! write error) is deleted when the [`Prefill`] is dropped; `gadn clone` removes
//! the directory before it fetches and after it checks out ([`clear`]).
//!
//! Writing a file here is a convenience, never a requirement: every failure drops
//! that one file (logged at debug level) and the checkout writes it the usual way.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::direct_io::write_at;
use super::id::ObjectId;

/// The directory under the store that holds prefilled files.
pub const PREFILL_DIR: &str = "prefill";

/// Files being prefilled, and where each awaited chunk goes.
#[derive(Debug)]
pub struct Prefill {
    /// The store's [`PREFILL_DIR`].
    dir: PathBuf,
    files: Vec<Slot>,
    /// Chunk id → (file slot, offset in bytes, length in bytes) for every place the
    /// chunk fills.
    places: HashMap<ObjectId, Vec<(usize, u64, u64)>>,
}

#[derive(Debug)]
struct Slot {
    id: ObjectId,
    /// `None` once finished or abandoned.
    file: Option<File>,
    /// Bytes not yet written.
    left: u64,
}

impl Prefill {
    /// An empty prefill for the store at `store_dir`; nothing is created on disk
    /// before the first [`Prefill::add`].
    pub fn new(store_dir: &Path) -> Prefill {
        Prefill {
            dir: store_dir.join(PREFILL_DIR),
            files: Vec::new(),
            places: HashMap::new(),
        }
    }

    /// Plans file `id` of `size` bytes, made of `chunks` (id, length in bytes) in
    /// order, and creates its part file. Skipped (nothing planned) for an empty
    /// file, chunk lengths that do not add up to `size`, a file already planned or
    /// already complete, or a part file that cannot be created.
    pub fn add(&mut self, id: ObjectId, size: u64, chunks: &[(ObjectId, u64)]) {
        let total = chunks
            .iter()
            .try_fold(0u64, |a, (_, len)| a.checked_add(*len));
        if size == 0 || total != Some(size) || self.files.iter().any(|s| s.id == id) {
            return;
        }
        if complete(self.done_path(&id), size).is_some() {
            return;
        }
        let part = self.part_path(&id);
        let created = std::fs::create_dir_all(&self.dir).and_then(|()| File::create(&part));
        let file = match created {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(path = %part.display(), error = %e, "cannot prefill");
                return;
            }
        };
        let slot = self.files.len();
        self.files.push(Slot {
            id,
            file: Some(file),
            left: size,
        });
        let mut offset = 0u64;
        for (chunk, len) in chunks {
            self.places
                .entry(*chunk)
                .or_default()
                .push((slot, offset, *len));
            offset += len;
        }
    }

    /// True if some planned file still awaits chunk `id`.
    pub fn wants(&self, id: &ObjectId) -> bool {
        self.places.contains_key(id)
    }

    /// Writes the verified bytes `raw` of chunk `id` wherever a planned file holds
    /// it, and finishes every file this completes.
    pub fn put(&mut self, id: &ObjectId, raw: &[u8]) {
        let Some(places) = self.places.remove(id) else {
            return;
        };
        for (slot, offset, len) in places {
            let written = match &self.files[slot].file {
                None => continue,
                Some(_) if len != raw.len() as u64 => {
                    Err("a chunk's length differs from its file's chunk list".to_string())
                }
                Some(f) => write_at(f, raw, offset).map_err(|e| e.to_string()),
            };
            if let Err(why) = written {
                self.abandon(slot, &why);
                continue;
            }
            let s = &mut self.files[slot];
            s.left -= len;
            if s.left == 0 {
                self.finish(slot);
            }
        }
    }

    /// Files completed so far.
    pub fn completed(&self) -> usize {
        self.files
            .iter()
            .filter(|s| s.file.is_none() && s.left == 0)
            .count()
    }

    fn part_path(&self, id: &ObjectId) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn done_path(&self, id: &ObjectId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    fn finish(&mut self, slot: usize) {
        let id = self.files[slot].id;
        self.files[slot].file = None;
        let part = self.part_path(&id);
        if let Err(e) = std::fs::rename(&part, self.done_path(&id)) {
            tracing::debug!(path = %part.display(), error = %e, "cannot finish a prefilled file");
            let _ = std::fs::remove_file(&part);
        }
    }

    fn abandon(&mut self, slot: usize, why: &str) {
        if self.files[slot].file.take().is_some() {
            let part = self.part_path(&self.files[slot].id);
            tracing::debug!(path = %part.display(), reason = why, "prefill abandoned");
            let _ = std::fs::remove_file(&part);
        }
    }
}

impl Drop for Prefill {
    /// Deletes the part files that did not complete.
    fn drop(&mut self) {
        for slot in 0..self.files.len() {
            self.abandon(slot, "not complete");
        }
    }
}

/// The complete prefilled copy of file `id` (`size` bytes) in the store at
/// `store_dir`, if there is one. The caller takes it by renaming it.
pub fn take(store_dir: &Path, id: &ObjectId, size: u64) -> Option<PathBuf> {
    complete(store_dir.join(PREFILL_DIR).join(id.to_string()), size)
}

/// `path` if it is a regular file of `size` bytes.
fn complete(path: PathBuf, size: u64) -> Option<PathBuf> {
    let m = std::fs::symlink_metadata(&path).ok()?;
    (m.is_file() && m.len() == size).then_some(path)
}

/// Removes every prefilled file of the store at `store_dir`.
pub fn clear(store_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(store_dir.join(PREFILL_DIR)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> ObjectId {
        ObjectId::from_bytes([b; 32])
    }

    #[test]
    fn a_file_completes_when_its_last_chunk_arrives_in_any_order() {
        let d = tempfile::tempdir().unwrap();
        let mut p = Prefill::new(d.path());
        // Chunk 1 twice in file 10 and once in file 11; file 11 also holds chunk 3.
        p.add(id(10), 9, &[(id(1), 3), (id(2), 3), (id(1), 3)]);
        p.add(id(11), 5, &[(id(3), 2), (id(1), 3)]);
        assert!(p.wants(&id(1)) && p.wants(&id(2)) && p.wants(&id(3)));
        p.put(&id(2), b"bbb");
        assert_eq!(take(d.path(), &id(10), 9), None);
        p.put(&id(1), b"aaa");
        assert!(!p.wants(&id(1)));
        let ten = take(d.path(), &id(10), 9).unwrap();
        assert_eq!(std::fs::read(ten).unwrap(), b"aaabbbaaa");
        assert_eq!(take(d.path(), &id(11), 5), None);
        // A chunk nobody awaits is ignored.
        p.put(&id(9), b"zz");
        p.put(&id(3), b"cc");
        assert_eq!(p.completed(), 2);
        let eleven = take(d.path(), &id(11), 5).unwrap();
        assert_eq!(std::fs::read(eleven).unwrap(), b"ccaaa");
        // The wrong size is not taken.
        assert_eq!(take(d.path(), &id(11), 6), None);
        drop(p);
        // Complete files survive the drop; clear removes them.
        assert!(take(d.path(), &id(10), 9).is_some());
        clear(d.path()).unwrap();
        assert!(!d.path().join(PREFILL_DIR).exists());
        clear(d.path()).unwrap();
    }

    #[test]
    fn unfinished_and_inconsistent_files_are_dropped() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join(PREFILL_DIR);
        let mut p = Prefill::new(d.path());
        // Lengths that do not add up, an empty file: nothing planned.
        p.add(id(20), 7, &[(id(1), 3)]);
        p.add(id(21), 0, &[]);
        p.add(id(22), 7, &[(id(1), u64::MAX), (id(2), 8)]);
        assert!(!p.wants(&id(1)) && !dir.exists());
        // A chunk whose bytes do not have the planned length abandons its file.
        p.add(id(23), 4, &[(id(4), 2), (id(5), 2)]);
        p.add(id(23), 4, &[(id(6), 4)]);
        assert!(!p.wants(&id(6)), "a file is planned once");
        p.put(&id(4), b"abc");
        p.put(&id(5), b"de");
        assert_eq!(take(d.path(), &id(23), 4), None);
        assert!(!dir.join(format!("{}.part", id(23))).exists());
        // One that never completes leaves nothing once dropped.
        p.add(id(24), 4, &[(id(7), 2), (id(8), 2)]);
        p.put(&id(7), b"xy");
        assert!(dir.join(format!("{}.part", id(24))).exists());
        assert_eq!(p.completed(), 0);
        drop(p);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_file_already_complete_is_not_written_again_and_failures_are_quiet() {
        let d = tempfile::tempdir().unwrap();
        let mut p = Prefill::new(d.path());
        p.add(id(30), 2, &[(id(1), 2)]);
        p.put(&id(1), b"ok");
        let mut q = Prefill::new(d.path());
        q.add(id(30), 2, &[(id(1), 2)]);
        assert!(!q.wants(&id(1)));
        // The prefill directory cannot be created (a file is in its way).
        let e = tempfile::tempdir().unwrap();
        std::fs::write(e.path().join(PREFILL_DIR), b"in the way").unwrap();
        let mut r = Prefill::new(e.path());
        r.add(id(31), 2, &[(id(2), 2)]);
        assert!(!r.wants(&id(2)));
        assert!(clear(e.path()).is_err());
        // A part file removed under it: the rename fails and nothing is taken.
        let mut s = Prefill::new(d.path());
        s.add(id(32), 2, &[(id(3), 2)]);
        std::fs::remove_file(d.path().join(PREFILL_DIR).join(format!("{}.part", id(32)))).unwrap();
        s.put(&id(3), b"zz");
        assert_eq!(take(d.path(), &id(32), 2), None);
    }
}
