//! `merge` and `resolve`: joining another line of history into the current branch.
//!
//! * [`base`]: merge bases on the commit DAG (criss-cross histories handled).
//! * [`tree`]: the three-way tree merge — renames, sidecar pairs, line merges of
//!   small text files, field-by-field metadata merges, file/directory clashes.
//! * [`text`]: the line merge (diff3) and conflict markers.
//! * [`conflict`]: conflict kinds and the merge-state encoding.
//! * `resolve`: settling one conflict (and its sidecar partners).
//!
//! Order of work, so no failure leaves a silent half-merge: every decision (the
//! merged tree, the conflicts, the marker texts) is made before anything is written;
//! untracked files in the way stop the merge up front; then objects are stored, the
//! branch is moved (clean merge, fast-forward) or the merge state recorded
//! (conflicts), and only then are the working tree and index updated. During a
//! conflict the working tree and the index keep *ours* at the conflicted path (a
//! `text` conflict's working file holds conflict markers); the merge state lives in
//! the database `state` table under [`MERGE_HEAD_KEY`] and [`MERGE_CONFLICTS_KEY`]
//! until `commit` or `merge --abort` clears it.

mod base;
mod conflict;
mod resolve;
mod text;
mod tree;

pub use base::{base_tree, merge_base, merge_bases};
#[cfg(test)]
pub(crate) use conflict::ALL_KINDS;
pub use conflict::{theirs_name, Conflict, ConflictKind};
pub use text::{merge_text, TextMerge};
pub use tree::{merge_trees, MergeObjects, TreeMerge};

use super::checkout::{in_the_way, materialize, CheckoutOptions};
use super::path::abs;
use super::treeops::{build, diff, flatten, FlatEntry};
use super::{Repo, VcsError};
use crate::store::db::{Expect, IndexEntry};
use crate::store::object::Commit;
use crate::store::ObjectId;

/// State key: the commit being merged in (hex).
pub const MERGE_HEAD_KEY: &str = "merge.head";
/// State key: the unresolved conflicts, a JSON array of [`Conflict`] records.
pub const MERGE_CONFLICTS_KEY: &str = "merge.conflicts";

/// What [`Repo::merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum MergeOutcome {
    /// The other commit is already contained in `HEAD`.
    UpToDate,
    /// `HEAD` moved forward to the other commit.
    FastForward {
        /// The new `HEAD` (hex).
        commit: String,
    },
    /// A two-parent merge commit was made.
    Merged {
        /// The merge commit (hex).
        commit: String,
    },
    /// The merge stopped on conflicts; resolve them and commit.
    Conflicts {
        /// The conflicted paths.
        conflicts: Vec<Conflict>,
    },
}

/// How [`Repo::resolve_conflict`] settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Keep the current content.
    Ours,
    /// Take the other side's version.
    Theirs,
    /// Keep ours at the path and theirs beside it as `STEM.theirs.EXT` (their name,
    /// for a rename/rename).
    Both,
    /// Take the edited working file of a `text` conflict (refused while conflict
    /// markers remain).
    Merged,
}

impl Repo {
    /// The commit being merged in, when a merge is in progress.
    pub fn merge_head(&self) -> Result<Option<ObjectId>, VcsError> {
        match self.store().db().state_get(MERGE_HEAD_KEY)? {
            Some(h) => Ok(Some(h.parse::<ObjectId>().map_err(|_| {
                VcsError::BadMergeState {
                    reason: format!("{MERGE_HEAD_KEY} holds a bad commit id '{h}'"),
                }
            })?)),
            None => Ok(None),
        }
    }

    /// The unresolved conflicts of the merge in progress (empty when none).
    pub fn merge_conflicts(&self) -> Result<Vec<Conflict>, VcsError> {
        match self.store().db().state_get(MERGE_CONFLICTS_KEY)? {
            None => Ok(Vec::new()),
            Some(s) => conflict::decode_conflicts(&s).ok_or_else(|| VcsError::BadMergeState {
                reason: format!("{MERGE_CONFLICTS_KEY} cannot be read"),
            }),
        }
    }

    /// Forgets the merge state.
    pub(crate) fn clear_merge_state(&mut self) -> Result<(), VcsError> {
        self.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.state_delete(MERGE_HEAD_KEY)?;
                tx.state_delete(MERGE_CONFLICTS_KEY)?;
                Ok(())
            })?;
        Ok(())
    }

    /// Merges `rev` into the current branch (or detached `HEAD`).
    pub fn merge(&mut self, rev: &str) -> Result<MergeOutcome, VcsError> {
        if let Some(h) = self.merge_head()? {
            return Err(VcsError::MergeInProgress { other: h.short() });
        }
        let theirs = self.resolve_commit(rev)?;
        let (branch, head) = self.head()?;
        let Some(head) = head else {
            return Err(VcsError::NoCommitsYet {
                what: "merge into",
                name: branch.unwrap_or_else(|| "HEAD".into()),
            });
        };
        let st = self.status()?;
        if !st.is_clean() {
            let mut paths: Vec<String> = st
                .staged
                .iter()
                .chain(&st.unstaged)
                .map(|c| c.path.clone())
                .collect();
            paths.sort();
            paths.dedup();
            return Err(VcsError::DirtyTree {
                operation: "merge",
                paths,
            });
        }
        // The DAG is walked once: the best bases decide "up to date" and
        // fast-forward (through the one `merge_base` picks) and the tree merge's base.
        let bases = merge_bases(self.store(), head, theirs)?;
        let base = base::pick_base(self.store(), &bases)?;
        if base == Some(theirs) {
            return Ok(MergeOutcome::UpToDate);
        }
        let ours_flat = flatten(self.store(), &self.store().commit(&head)?.tree)?;
        let theirs_flat = flatten(self.store(), &self.store().commit(&theirs)?.tree)?;
        let target = branch.clone().unwrap_or_else(|| "HEAD".to_string());
        if base == Some(head) {
            self.check_untracked(&st.untracked, &ours_flat, &theirs_flat)?;
            let (lock, _) = self.store_mut().lock()?;
            // The ref moves first: should writing the working tree fail afterwards,
            // HEAD already names the result and `status` shows what is left
            // (`checkout --force HEAD` finishes it). The other order could leave a
            // merged working tree under a branch that never moved.
            let log = super::branch::reflog(self, format!("merge {rev}: Fast-forward"));
            self.update_ref_checked(&target, Expect::Value(head), theirs, &log)?;
            self.apply(&ours_flat, &theirs_flat)?;
            self.set_index_commit(&theirs)?;
            drop(lock);
            return Ok(MergeOutcome::FastForward {
                commit: theirs.to_hex(),
            });
        }
        // One best base: its tree; several (criss-cross): their virtual merge.
        let base_flat = base::base_tree_of(self.store(), bases)?;
        let merged = merge_trees(self.store(), &base_flat, &ours_flat, &theirs_flat, rev)?;
        self.check_untracked(&st.untracked, &ours_flat, &merged.entries)?;
        let message = if self
            .store()
            .db()
            .read_ref(&format!("refs/heads/{rev}"))?
            .is_some()
        {
            format!("Merge branch '{rev}'")
        } else {
            format!("Merge commit '{rev}'")
        };
        let me = super::ident::Identity::configured(self.store())?.now();
        let signing_key = super::signing::existing_key()?;
        let (lock, _) = self.store_mut().lock()?;
        let commit = {
            let mut writer = self.store_mut().writer(&lock);
            for (id, bytes) in &merged.new_files {
                let prepared = writer.prepare_bytes(bytes.clone())?;
                let stored = writer.append_prepared(prepared)?.id;
                if stored != *id {
                    return Err(VcsError::BadMergeState {
                        reason: format!("merged file stored as {stored}, expected {id}"),
                    });
                }
            }
            for m in &merged.new_metas {
                writer.put_meta(m)?;
            }
            let commit = if merged.conflicts.is_empty() {
                let tree = build(&mut writer, &merged.entries)?;
                let mut c = Commit {
                    tree,
                    parents: vec![head, theirs],
                    author: me.clone(),
                    committer: me,
                    message: message.clone(),
                    notes: Vec::new(),
                    signature: None,
                };
                if let Some(key) = &signing_key {
                    super::signing::sign_commit(&mut c, key)?;
                }
                Some(writer.put_commit(&c)?)
            } else {
                None
            };
            writer.finish()?;
            commit
        };
        let Some(id) = commit else {
            // The state is recorded before the working tree changes, so a failure
            // while writing it leaves a merge that `merge --abort` can undo.
            let conflicts = conflict::encode_conflicts(&merged.conflicts);
            self.store_mut().db_mut().transaction(
                |tx| -> Result<(), crate::store::db::DbError> {
                    tx.state_set(MERGE_HEAD_KEY, &theirs.to_hex())?;
                    tx.state_set(MERGE_CONFLICTS_KEY, &conflicts)?;
                    Ok(())
                },
            )?;
            self.apply(&ours_flat, &merged.entries)?;
            for (path, bytes) in &merged.markers {
                write_work_file(self.root(), path, bytes)?;
            }
            drop(lock);
            return Ok(MergeOutcome::Conflicts {
                conflicts: merged.conflicts,
            });
        };
        // As for a fast-forward: the branch moves before the working tree does.
        let log = super::branch::reflog(self, format!("merge {rev}: {message}"));
        self.update_ref_checked(&target, Expect::Value(head), id, &log)?;
        self.apply(&ours_flat, &merged.entries)?;
        self.set_index_commit(&id)?;
        drop(lock);
        Ok(MergeOutcome::Merged {
            commit: id.to_hex(),
        })
    }

    /// Refuses when an untracked file sits where the merge would write a file, or
    /// blocks one (a file where a directory goes, a directory with untracked
    /// content where a file goes).
    fn check_untracked(
        &self,
        untracked: &[String],
        old: &[FlatEntry],
        new: &[FlatEntry],
    ) -> Result<(), VcsError> {
        let has = |l: &[FlatEntry], p: &str| l.binary_search_by(|e| e.path.as_str().cmp(p)).is_ok();
        let paths: Vec<String> = untracked
            .iter()
            .filter(|u| has(new, u) && !has(old, u))
            .cloned()
            .collect();
        if !paths.is_empty() {
            return Err(VcsError::DirtyTree {
                operation: "merge",
                paths,
            });
        }
        let paths = in_the_way(self.root(), old, new);
        if !paths.is_empty() {
            return Err(VcsError::InTheWay {
                operation: "merge",
                paths,
            });
        }
        Ok(())
    }

    /// Makes the working tree and index go from `old` to `new` (both sorted by path),
    /// touching only the paths that differ. The caller holds the lock.
    fn apply(&mut self, old: &[FlatEntry], new: &[FlatEntry]) -> Result<(), VcsError> {
        let root = self.root().to_path_buf();
        let changes = diff(old, new, false).changes;
        let mut upsert: Vec<IndexEntry> = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        // Removals first, so a file can replace a directory and the reverse.
        for c in &changes {
            if new
                .binary_search_by(|e| e.path.as_str().cmp(&c.path))
                .is_err()
            {
                remove_work_file(&root, &c.path)?;
                remove.push(c.path.clone());
            }
        }
        for c in &changes {
            if let Ok(i) = new.binary_search_by(|e| e.path.as_str().cmp(&c.path)) {
                upsert.push(materialize(self.store(), &root, &new[i])?);
            }
        }
        let remove: Vec<&str> = remove.iter().map(|s| s.as_str()).collect();
        self.write_index_entries(&upsert, &remove)
    }

    /// Ends a merge in progress: the working tree and index go back to `HEAD`, and
    /// the merge state is cleared.
    pub fn merge_abort(&mut self) -> Result<(), VcsError> {
        if self.merge_head()?.is_none() {
            return Err(VcsError::NoMergeInProgress);
        }
        self.checkout(
            "HEAD",
            &CheckoutOptions {
                force: true,
                paths: Vec::new(),
            },
        )?;
        // Everything the merge staged, `resolve --both` copies included, is in the
        // index, so the forced checkout removes it; untracked files are left alone.
        self.clear_merge_state()
    }
}

/// Removes a working file (a missing one is fine) and its now-empty parents.
fn remove_work_file(root: &std::path::Path, rel: &str) -> Result<(), VcsError> {
    let a = abs(root, rel);
    match std::fs::remove_file(&a) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(VcsError::io(&a)(e)),
    }
    prune_empty_parents(root, rel);
    Ok(())
}

/// Replaces the tracked working file `rel` with `bytes` (a temporary file renamed
/// into place, so a reader never sees half a file).
fn write_work_file(root: &std::path::Path, rel: &str, bytes: &[u8]) -> Result<(), VcsError> {
    use std::io::Write;
    let a = abs(root, rel);
    let dir = a.parent().unwrap_or(root);
    let mut tmp = tempfile::Builder::new()
        .prefix(".gadn-tmp-")
        .tempfile_in(dir)
        .map_err(VcsError::io(dir))?;
    tmp.write_all(bytes).map_err(VcsError::io(&a))?;
    if let Ok(m) = std::fs::metadata(&a) {
        // Keep the mode (an executable stays executable).
        std::fs::set_permissions(tmp.path(), m.permissions()).map_err(VcsError::io(&a))?;
    }
    tmp.persist(&a).map_err(|e| VcsError::io(&a)(e.error))?;
    Ok(())
}

/// Removes now-empty parent directories of `rel`, up to the root.
fn prune_empty_parents(root: &std::path::Path, rel: &str) {
    let mut p = std::path::Path::new(rel).parent();
    while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::remove_dir(root.join(d)).is_err() {
            break;
        }
        p = d.parent();
    }
}

#[cfg(test)]
mod tests;
