//! Dropping damaged records once a healthy copy is sealed elsewhere, for
//! `gadn fsck --repair` (`store-format.md` § 9, *Repair*).
//!
//! Lookups take the first pack that holds an id, so a verified replacement sealed
//! in a new pack would stay hidden behind the damaged copy. The damaged pack is
//! therefore rewritten without the records that now have a healthy copy: every
//! other record is copied as stored (damaged ones no copy replaces included, so
//! nothing is lost that was there), the new pack is sealed and fsynced, and only
//! then is the old pack deleted, index first. A crash at any point leaves every
//! record that was there, at worst twice.

use std::collections::{BTreeMap, BTreeSet};

use crate::store::id::ObjectId;

use super::error::PackError;
use super::format::RECORD_HEADER_LEN;
use super::io::{fsync_dir, read_exact_at, remove_file};
use super::set::PackSet;
use super::write::PackWriter;

/// A record to drop: the pack it is in (its stem, `pack-<16 hex>`), its offset there
/// and its id, as fsck located it. The pack and the id name the record (a pack
/// holds an id once); the offset is for humans.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DamagedAt {
    /// The pack's stem.
    pub pack: String,
    /// Byte offset of the record's header in the pack.
    pub offset: u64,
    /// The record's id.
    pub id: ObjectId,
}

/// What [`PackSet::drop_superseded`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DropReport {
    /// Records dropped: another pack holds a verified copy.
    pub dropped: Vec<DamagedAt>,
    /// Records kept: no other pack holds a verified copy, the record is not where
    /// it was said to be, or its pack could not be rewritten (see `left`).
    pub kept: Vec<DamagedAt>,
    /// Packs rewritten without the dropped records, as `(old stem, new stem)`; the
    /// new stem is `None` when nothing else was left in the pack.
    pub rewritten: Vec<(String, Option<String>)>,
    /// Packs left as they were, with the reason: a record to keep could not be read.
    pub left: Vec<(String, String)>,
}

impl PackSet {
    /// Drops each record of `damaged` for which another pack holds a copy that reads
    /// and verifies now, by rewriting its pack without it (see the module docs for
    /// the order that keeps every record). Records without such a copy are kept,
    /// untouched. The caller holds the write lock; [`Location`](super::Location)s
    /// are invalidated.
    pub fn drop_superseded(&mut self, damaged: &[DamagedAt]) -> Result<DropReport, PackError> {
        let mut report = DropReport::default();
        // Pack position -> offsets to drop there.
        let mut doomed: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for d in damaged {
            let Some(i) = self.all_packs().position(|p| p.stem == d.pack) else {
                report.kept.push(d.clone());
                continue;
            };
            let pack = self.all_packs().nth(i).expect("position just found");
            // A pack holds an id once: the id finds the record (the offset given
            // may be from before the pack was rewritten by an earlier call).
            let Some(here) = pack.index.lookup(&d.id) else {
                report.kept.push(d.clone());
                continue;
            };
            let healthy_elsewhere = self.all_packs().enumerate().any(|(j, p)| {
                j != i
                    && p.index
                        .lookup(&d.id)
                        .is_some_and(|e| p.read_verified(&e, &mut buf, &mut out).is_ok())
            });
            if healthy_elsewhere {
                doomed.entry(i).or_default().insert(here.offset);
                report.dropped.push(d.clone());
            } else {
                report.kept.push(d.clone());
            }
        }
        // Rewrite from the last position down, so earlier positions stay valid.
        let mut changed = false;
        for (&i, offsets) in doomed.iter().rev() {
            match self.rewrite_without(i, offsets)? {
                Ok(new) => {
                    let old = self.loaded_mut().packs.remove(i);
                    let (stem, idx, path) = (
                        old.stem.clone(),
                        old.idx_path.clone(),
                        old.pack_path.clone(),
                    );
                    drop(old);
                    remove_file(&idx)?;
                    remove_file(&path)?;
                    report.rewritten.push((stem, new));
                    changed = true;
                }
                Err(reason) => {
                    let stem = self.loaded_mut().packs[i].stem.clone();
                    report.dropped.retain(|d| {
                        let keep_it = d.pack == stem;
                        if keep_it {
                            report.kept.push(d.clone());
                        }
                        !keep_it
                    });
                    report.left.push((stem, reason));
                }
            }
        }
        if changed {
            fsync_dir(&self.dir)?;
        }
        report.rewritten.reverse();
        report.kept.sort();
        Ok(report)
    }

    /// Copies every record of the loaded pack at `i` except those at `offsets` into
    /// a new pack, sealed and added to the set. `Ok(Ok(stem))` names the new pack
    /// (`None`: nothing was left to copy); `Ok(Err(reason))` means a record to keep
    /// could not be read, and nothing was written. Errors are the new pack's.
    fn rewrite_without(
        &mut self,
        i: usize,
        offsets: &BTreeSet<u64>,
    ) -> Result<Result<Option<String>, String>, PackError> {
        let pack = &self.loaded_mut().packs[i];
        let mut keep: Vec<_> = pack
            .index
            .iter()
            .filter(|e| !offsets.contains(&e.offset))
            .collect();
        keep.sort_unstable_by_key(|e| e.offset);
        if keep.is_empty() {
            return Ok(Ok(None));
        }
        let mut w = PackWriter::create(&self.dir)?;
        let mut buf = Vec::new();
        for e in &keep {
            buf.resize(e.stored_len as usize, 0);
            let at = e.offset + RECORD_HEADER_LEN as u64;
            if let Err(err) = read_exact_at(&self.loaded_mut().packs[i].file, &mut buf, at) {
                let path = w.path().to_path_buf();
                drop(w);
                remove_file(&path)?;
                let name = &self.loaded_mut().packs[i].stem;
                return Ok(Err(format!(
                    "cannot read the {} {} at offset {} of {name}, which must be kept: {err}",
                    e.kind, e.id, e.offset
                )));
            }
            // The header is written from the index entry; the payload as stored.
            w.append(e.id, e.kind, e.codec, e.raw_len, &buf)?;
        }
        let sealed = w.finish()?.expect("at least one record was appended");
        let stem = sealed.name().to_string();
        self.add_sealed(sealed)?;
        Ok(Ok(Some(stem)))
    }
}
