//! `gc`: drop every record no ref, reflog entry or index entry reaches.

use super::error::StoreError;
use super::lock::StoreLock;
use super::walk::reachable;
use super::Store;

/// What [`Store::gc`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    /// Records kept.
    pub kept: u64,
    /// Records removed.
    pub removed: u64,
    /// Pack bytes before.
    pub bytes_before: u64,
    /// Pack bytes after.
    pub bytes_after: u64,
}

/// Returned when gc refuses to run.
#[derive(Debug, thiserror::Error)]
#[error("refusing to gc: {count} reference(s) point at missing or damaged objects (first: {first}); run `gadn fsck` and repair first")]
pub struct GcRefused {
    /// Number of problems.
    pub count: usize,
    /// The first problem, for the message.
    pub first: String,
}

impl Store {
    /// Rewrites packs without unreachable records. The write lock keeps other writers
    /// out for the whole mark-and-sweep, so nothing appended concurrently can be lost;
    /// new packs are sealed before old ones are removed. Refuses to run on a store with
    /// broken references, where deleting could destroy what a repair needs.
    pub fn gc(&mut self, lock: &StoreLock) -> Result<Result<GcReport, GcRefused>, StoreError> {
        let _ = lock;
        let bytes_before = self.pack_bytes();
        let live = reachable(self)?;
        if let Some(first) = live.problems.first() {
            return Ok(Err(GcRefused {
                count: live.problems.len(),
                first: format!(
                    "{} {} ({}, from {})",
                    first.expected, first.id, first.reason, first.referrer
                ),
            }));
        }
        let total = self.packs.entries().count() as u64;
        self.packs.rewrite(|id, _| live.ids.contains(id))?;
        // Previews of files no longer reachable went with the rewrite; so do their rows.
        self.db().previews_retain(|row| live.ids.contains(&row.3))?;
        let kept = self.packs.entries().count() as u64;
        // Work-tree files an interrupted clone wrote ahead of its checkout (§ 2):
        // nothing refers to them, and the next clone would clear them anyway.
        let dir = self.dir().to_path_buf();
        super::prefill::clear(&dir)
            .map_err(StoreError::io(dir.join(super::prefill::PREFILL_DIR)))?;
        Ok(Ok(GcReport {
            kept,
            removed: total - kept,
            bytes_before,
            bytes_after: self.pack_bytes(),
        }))
    }

    /// Merges small packs into one once there are many of them (see
    /// [`PackSet::consolidate`](super::pack::PackSet::consolidate)); true if it did.
    /// Run after writes, like git's automatic repack: every commit leaves a pack or
    /// two, and tens of thousands of tiny packs make every command list and open them.
    pub fn consolidate_packs(&mut self, lock: &StoreLock) -> Result<bool, StoreError> {
        let _ = lock;
        Ok(self.packs.consolidate()?.is_some())
    }

    /// Bytes of sealed pack files on disk.
    pub fn pack_bytes(&self) -> u64 {
        self.packs.packs().map(|p| p.pack_len).sum()
    }
}
