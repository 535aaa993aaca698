//! Garbage collection of packs: drop what is not kept, copying live records without
//! recompression (`store-format.md` § 9).

use std::collections::HashSet;

use crate::store::id::{ObjectId, ObjectKind};

use super::error::PackError;
use super::format::RECORD_HEADER_LEN;
use super::io::{fsync_dir, remove_file};
use super::set::PackSet;
use super::write::PackWriter;

/// A pack written by [`PackSet::rewrite`] is sealed once it reaches this size and the
/// copy continues in a new one.
pub const REWRITE_PACK_BYTES: u64 = 1 << 30;

/// Packs smaller than this count as small for [`PackSet::consolidate`].
pub const SMALL_PACK_BYTES: u64 = 16 << 20;

/// [`PackSet::consolidate`] merges the small packs once there are this many.
pub const SMALL_PACKS_MAX: usize = 32;

/// What [`PackSet::rewrite`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RewriteReport {
    /// Packs left untouched (every entry kept).
    pub packs_untouched: usize,
    /// Old packs deleted (nothing kept, or their live records copied).
    pub packs_deleted: usize,
    /// New packs written.
    pub packs_written: usize,
    /// Records dropped because `keep` rejected them.
    pub objects_removed: u64,
    /// Kept records dropped because another pack already holds the same id.
    pub duplicates_removed: u64,
    /// Records copied into new packs.
    pub objects_copied: u64,
    /// Total pack bytes before.
    pub bytes_before: u64,
    /// Total pack bytes after.
    pub bytes_after: u64,
}

impl PackSet {
    /// Keeps only the records for which `keep(id, kind)` is true. Packs whose entries
    /// are all kept are untouched; packs with no kept entry are deleted; the kept
    /// records of the others are copied (stored bytes, no recompression, header checked
    /// against the index) into new packs, skipping ids that an untouched pack or an
    /// earlier copy already holds. New packs are sealed and fsynced before any old pack
    /// is deleted, so a crash at any point loses nothing that is kept; at worst a dead
    /// pack survives (index deleted first, so it comes back as unsealed and is
    /// recovered, resurrecting dead records that the next gc drops again).
    ///
    /// Invalidates [`Location`](super::Location)s. The caller holds the write lock.
    /// On error, packs sealed so far are added to the set and no old pack is deleted.
    pub fn rewrite(
        &mut self,
        keep: impl Fn(&ObjectId, ObjectKind) -> bool,
    ) -> Result<RewriteReport, PackError> {
        let mut report = RewriteReport {
            bytes_before: self.pack_bytes_total(),
            ..RewriteReport::default()
        };
        // Decide per pack: untouched, delete, or copy its live records.
        let mut live: Vec<Vec<bool>> = Vec::with_capacity(self.loaded_mut().packs.len());
        let mut present: HashSet<ObjectId> = HashSet::new();
        for p in &self.loaded_mut().packs {
            let flags: Vec<bool> = p.index.iter().map(|e| keep(&e.id, e.kind)).collect();
            let kept = flags.iter().filter(|&&k| k).count();
            report.objects_removed += (flags.len() - kept) as u64;
            if kept == flags.len() {
                present.extend(p.index.iter().map(|e| e.id));
            }
            live.push(flags);
        }
        let old_count = self.loaded_mut().packs.len();
        let touched: Vec<usize> = (0..old_count)
            .filter(|&i| live[i].iter().any(|&k| !k))
            .collect();
        report.packs_untouched = old_count - touched.len();

        self.copy_and_drop(&touched, &live, &mut present, &mut report)?;
        report.bytes_after = self.pack_bytes_total();
        Ok(report)
    }

    /// Copies the records flagged in `live[i]` of each pack in `touched` (indexes into
    /// the loaded packs, ascending) into new packs, skipping ids in `present`, seals
    /// them, then deletes the touched packs.
    fn copy_and_drop(
        &mut self,
        touched: &[usize],
        live: &[Vec<bool>],
        present: &mut HashSet<ObjectId>,
        report: &mut RewriteReport,
    ) -> Result<(), PackError> {
        let mut writer: Option<PackWriter> = None;
        let mut buf = Vec::new();
        for &i in touched {
            let mut copies: Vec<_> = self.loaded_mut().packs[i]
                .index
                .iter()
                .zip(&live[i])
                .filter(|&(_, &k)| k)
                .map(|(e, _)| e)
                .collect();
            copies.sort_unstable_by_key(|e| e.offset);
            for e in copies {
                if !present.insert(e.id) {
                    report.duplicates_removed += 1;
                    continue;
                }
                self.loaded_mut().packs[i].read_record(&e, &mut buf)?;
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(PackWriter::create(&self.dir)?),
                };
                w.append(e.id, e.kind, e.codec, e.raw_len, &buf[RECORD_HEADER_LEN..])?;
                report.objects_copied += 1;
                if w.bytes() >= REWRITE_PACK_BYTES {
                    let full = writer.take().expect("writer was just used");
                    self.seal_new(full, report)?;
                }
            }
        }
        if let Some(w) = writer.take() {
            self.seal_new(w, report)?;
        }

        // Every kept record is now durable elsewhere: drop the touched packs.
        for &i in touched.iter().rev() {
            let pack = self.loaded_mut().packs.remove(i);
            let (idx, path) = (pack.idx_path.clone(), pack.pack_path.clone());
            drop(pack);
            remove_file(&idx)?;
            remove_file(&path)?;
            report.packs_deleted += 1;
        }
        if !touched.is_empty() {
            fsync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Merges small packs (under [`SMALL_PACK_BYTES`]) into one once there are at
    /// least [`SMALL_PACKS_MAX`] of them, so a history of many small commits does not
    /// leave tens of thousands of pack files to list and open. Same safety as
    /// [`PackSet::rewrite`]: the new pack is sealed before any old one is deleted, and
    /// every record is copied as stored (no recompression). `None` when there was
    /// nothing to do. The caller holds the write lock.
    pub fn consolidate(&mut self) -> Result<Option<RewriteReport>, PackError> {
        let small: Vec<usize> = (0..self.loaded_mut().packs.len())
            .filter(|&i| self.loaded_mut().packs[i].index.pack_len() < SMALL_PACK_BYTES)
            .collect();
        if small.len() < SMALL_PACKS_MAX {
            return Ok(None);
        }
        let mut report = RewriteReport {
            bytes_before: self.pack_bytes_total(),
            packs_untouched: self.loaded_mut().packs.len() - small.len(),
            ..RewriteReport::default()
        };
        let live: Vec<Vec<bool>> = (0..self.loaded_mut().packs.len())
            .map(|i| vec![small.binary_search(&i).is_ok(); self.loaded_mut().packs[i].index.len()])
            .collect();
        // Ids held by the packs left alone are not checked: a duplicate costs space
        // only, and the next gc drops it.
        let mut present = HashSet::new();
        self.copy_and_drop(&small, &live, &mut present, &mut report)?;
        report.bytes_after = self.pack_bytes_total();
        Ok(Some(report))
    }

    fn pack_bytes_total(&mut self) -> u64 {
        self.loaded_mut()
            .packs
            .iter()
            .map(|p| p.index.pack_len())
            .sum()
    }

    fn seal_new(&mut self, w: PackWriter, report: &mut RewriteReport) -> Result<(), PackError> {
        if let Some(sealed) = w.finish()? {
            self.add_sealed(sealed)?;
            report.packs_written += 1;
        }
        Ok(())
    }
}
