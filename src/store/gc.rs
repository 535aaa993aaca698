//! `gc`: expire old reflog entries, then drop every record no ref, surviving reflog
//! entry, index entry or lock reaches.
//!
//! Reflog expiry follows git's defaults: an entry whose new value is still in the
//! history of a current ref lives [`REFLOG_EXPIRE_DAYS`] days, any other (a deleted
//! branch, a commit dropped by a reset or a forced push) [`REFLOG_EXPIRE_UNREACHABLE_DAYS`].

use std::collections::HashSet;

use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::lock::StoreLock;
use super::walk::{reachable_from, roots_with_reflog};
use super::{Sha256, Store};

/// Days a reflog entry whose new value a current ref still reaches is kept
/// (git's `gc.reflogExpire`).
pub const REFLOG_EXPIRE_DAYS: i64 = 90;
/// Days any other reflog entry is kept (git's `gc.reflogExpireUnreachable`).
pub const REFLOG_EXPIRE_UNREACHABLE_DAYS: i64 = 30;

/// Seconds an LFS object stays by default after its content was stored even though
/// no Git commit or index entry names it yet (see [`Store::gc_keeping_lfs`]): one
/// hour.
pub const LFS_GRACE_SECS: u64 = 3600;

/// How [`Store::gc`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcOptions {
    /// Reflog entries still in a ref's history expire when older than this
    /// (seconds since the Unix epoch).
    pub expire_before: i64,
    /// Other reflog entries expire when older than this.
    pub expire_unreachable_before: i64,
    /// For [`Store::gc_keeping_lfs`]: LFS objects whose content was stored after
    /// this (seconds since the Unix epoch) stay even when unnamed.
    pub lfs_grace_after: i64,
    /// Only report what would go; change nothing.
    pub dry_run: bool,
}

impl GcOptions {
    /// git's defaults at time `now` (seconds since the Unix epoch): 90 and 30 days.
    pub fn defaults(now: i64) -> GcOptions {
        GcOptions {
            expire_before: now - REFLOG_EXPIRE_DAYS * 86_400,
            expire_unreachable_before: now - REFLOG_EXPIRE_UNREACHABLE_DAYS * 86_400,
            lfs_grace_after: now - LFS_GRACE_SECS as i64,
            dry_run: false,
        }
    }

    /// [`GcOptions::defaults`] at the current time.
    pub fn now() -> GcOptions {
        GcOptions::defaults(chrono::Utc::now().timestamp())
    }

    /// Every reflog entry older than `before` expires, and no unnamed LFS object
    /// stored before it stays (`gc --prune=now` passes now).
    pub fn prune_before(before: i64) -> GcOptions {
        GcOptions {
            expire_before: before,
            expire_unreachable_before: before,
            lfs_grace_after: before,
            dry_run: false,
        }
    }
}

/// What [`Store::gc`] did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GcReport {
    /// Nothing was changed: the figures are what a real run would do.
    pub dry_run: bool,
    /// Reflog entries expired.
    pub reflog_expired: u64,
    /// Records kept.
    pub kept: u64,
    /// Records removed.
    pub removed: u64,
    /// Stored (compressed) payload bytes of the records removed.
    pub removed_bytes: u64,
    /// Pack bytes before.
    pub bytes_before: u64,
    /// Pack bytes after (with `dry_run`: before less `removed_bytes`, an estimate
    /// that leaves out record headers and index entries).
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
    /// Expires reflog entries as `opts` says, then rewrites packs without
    /// unreachable records. The write lock keeps other writers out for the whole
    /// mark-and-sweep, so nothing appended concurrently can be lost; new packs are
    /// sealed before old ones are removed. Refuses to run on a store with broken
    /// references, where deleting could destroy what a repair needs (and then
    /// expires nothing).
    pub fn gc(
        &mut self,
        lock: &StoreLock,
        opts: &GcOptions,
    ) -> Result<Result<GcReport, GcRefused>, StoreError> {
        self.gc_keeping_lfs(lock, opts, None)
    }

    /// [`Store::gc`] that keeps, of the LFS objects recorded in `lfs_objects`, only
    /// those whose SHA-256 `lfs_keep` holds (when given), and forgets the others'
    /// rows: the store of a Git repository, where Git's history, not a gadn ref,
    /// names the content. An LFS object whose file record was written after
    /// [`GcOptions::lfs_grace_after`] is kept whatever `lfs_keep` says: Git writes its
    /// index only after the filter has stored the content, so a `git add` in
    /// progress names nothing yet.
    pub fn gc_keeping_lfs(
        &mut self,
        lock: &StoreLock,
        opts: &GcOptions,
        lfs_keep: Option<&HashSet<Sha256>>,
    ) -> Result<Result<GcReport, GcRefused>, StoreError> {
        let _ = lock;
        let bytes_before = self.pack_bytes();
        let (expired, kept_ids) = self.reflog_expiry(opts)?;
        let keep_hex: Option<HashSet<String>> = match lfs_keep {
            None => None,
            Some(k) => {
                let mut hex: HashSet<String> = k.iter().map(Sha256::to_hex).collect();
                let recent = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(
                        u64::try_from(opts.lfs_grace_after).unwrap_or(0),
                    );
                for (sha, file) in self.db().lfs_roots()? {
                    if !hex.contains(&sha) && self.written_after(&file, recent) {
                        hex.insert(sha);
                    }
                }
                Some(hex)
            }
        };
        let live = reachable_from(self, roots_with_reflog(self, &kept_ids, keep_hex.as_ref())?)?;
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
        let (mut removed, mut removed_bytes) = (0u64, 0u64);
        for (_, e) in self.packs.entries() {
            if !live.ids.contains(&e.id) {
                removed += 1;
                removed_bytes += u64::from(e.stored_len);
            }
        }
        if opts.dry_run {
            return Ok(Ok(GcReport {
                dry_run: true,
                reflog_expired: expired.len() as u64,
                kept: total - removed,
                removed,
                removed_bytes,
                bytes_before,
                bytes_after: bytes_before.saturating_sub(removed_bytes),
            }));
        }
        self.db().delete_reflog_rows(&expired)?;
        if let Some(keep) = &keep_hex {
            self.db().lfs_retain(keep)?;
        }
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
            dry_run: false,
            reflog_expired: expired.len() as u64,
            kept,
            removed: total - kept,
            removed_bytes,
            bytes_before,
            bytes_after: self.pack_bytes(),
        }))
    }

    /// The reflog rows `opts` expires (their `seq`s), and the ids the surviving rows
    /// name (gc roots).
    fn reflog_expiry(&self, opts: &GcOptions) -> Result<(Vec<i64>, Vec<ObjectId>), StoreError> {
        let history = self.ref_history()?;
        let db = self.db();
        let (mut expired, mut kept) = (Vec::new(), Vec::new());
        for name in db.reflog_names()? {
            for e in db.reflog(&name)? {
                let in_history = e.new.is_some_and(|n| history.contains(&n));
                let cutoff = if in_history {
                    opts.expire_before
                } else {
                    opts.expire_unreachable_before
                };
                if e.time < cutoff {
                    expired.push(e.seq);
                } else {
                    kept.extend(e.old);
                    kept.extend(e.new);
                }
            }
        }
        kept.sort_unstable();
        kept.dedup();
        Ok((expired, kept))
    }

    /// Whether record `id` sits in a pack file modified after `t` (true when that
    /// cannot be told: keeping is the safe answer).
    fn written_after(&self, id: &ObjectId, t: std::time::SystemTime) -> bool {
        let Some(loc) = self.packs().locate(id) else {
            return false;
        };
        std::fs::metadata(self.packs().pack_path(loc.pack))
            .and_then(|m| m.modified())
            .map_or(true, |m| m > t)
    }

    /// Every commit and tag in the history of a current ref (tags peeled, parents
    /// followed). Unreadable objects end their branch of the walk: gc's own walk
    /// reports them.
    fn ref_history(&self) -> Result<HashSet<ObjectId>, StoreError> {
        let mut seen = HashSet::new();
        let mut stack: Vec<ObjectId> = self
            .db()
            .list_refs("")?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match self.packs().locate(&id).map(|l| l.entry.kind) {
                Some(ObjectKind::Commit) => {
                    if let Ok(c) = self.commit(&id) {
                        stack.extend(c.parents);
                    }
                }
                Some(ObjectKind::Tag) => {
                    if let Ok(t) = self.tag(&id) {
                        stack.push(t.target);
                    }
                }
                _ => {}
            }
        }
        Ok(seen)
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
