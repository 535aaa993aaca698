//! `checkout`: materialising a commit (or some of its paths) in the working tree.
//!
//! Files are written to a temporary name in their directory and renamed into place,
//! so a crash leaves either the old or the new file, never a torn one. No write ever
//! passes through a symbolic link: every parent directory is checked with `lstat`.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rayon::prelude::*;

use super::path::{abs, under};
use super::scan::{index_as_flat, WorkFile};
use super::treeops::{flatten, FlatEntry};
use super::{Repo, VcsError};
use crate::store::db::{IndexEntry, ReflogInfo};
use crate::store::object::EntryKind;
use crate::store::Store;

/// Options of [`Repo::checkout`].
#[derive(Debug, Clone, Default)]
pub struct CheckoutOptions {
    /// Discard local changes that would be overwritten.
    pub force: bool,
    /// Only these repository paths (files or directories); `HEAD` does not move.
    pub paths: Vec<String>,
}

/// What [`Repo::checkout`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckoutReport {
    /// Files written.
    pub written: usize,
    /// Files removed.
    pub removed: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Where `HEAD` now points (branch name or commit id).
    pub head: String,
}

impl Repo {
    /// Switches the working tree, index and `HEAD` to `rev` (a branch name attaches
    /// `HEAD` to it; anything else detaches), or restores `opts.paths` from `rev`.
    pub fn checkout(
        &mut self,
        rev: &str,
        opts: &CheckoutOptions,
    ) -> Result<CheckoutReport, VcsError> {
        let commit = self.resolve_commit(rev)?;
        let target_tree = self.store().commit(&commit)?.tree;
        let target = flatten(self.store(), &target_tree)?;
        if !opts.paths.is_empty() {
            return self.checkout_paths(&target, &opts.paths, rev);
        }
        let status = self.status()?;
        let index = self.store().db().load_index()?;
        let current = index_as_flat(&index);
        let changed = changed_paths(&current, &target);
        if !opts.force {
            let mut endangered: Vec<String> = status
                .staged
                .iter()
                .chain(&status.unstaged)
                .map(|c| c.path.clone())
                .collect();
            endangered.extend(
                status
                    .untracked
                    .iter()
                    .filter(|u| target.binary_search_by(|e| e.path.as_str().cmp(u)).is_ok())
                    .cloned(),
            );
            endangered.sort();
            endangered.dedup();
            if !endangered.is_empty()
                && (changed.iter().any(|p| endangered.binary_search(p).is_ok())
                    || !status.is_clean())
            {
                return Err(VcsError::DirtyTree {
                    operation: "checkout",
                    paths: endangered,
                });
            }
        }
        let (lock, _) = self.store_mut().lock()?;
        let root = self.root().to_path_buf();
        let mut report = CheckoutReport::default();
        // Remove what the target does not have.
        for e in &current {
            if target
                .binary_search_by(|t| t.path.as_str().cmp(&e.path))
                .is_err()
            {
                let a = abs(&root, &e.path);
                match std::fs::remove_file(&a) {
                    Ok(()) => report.removed += 1,
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(VcsError::Io {
                            path: a,
                            source: err,
                        })
                    }
                }
                prune_empty_dirs(&root, &e.path);
            }
        }
        let by_path: std::collections::HashMap<&str, &IndexEntry> =
            index.iter().map(|e| (e.path.as_str(), e)).collect();
        let written = self.index_written_ns()?;
        let store = self.store();
        let results: Vec<Result<(IndexEntry, u64), VcsError>> = target
            .par_iter()
            .map(|t| {
                if !opts.force {
                    if let Some(old) = by_path.get(t.path.as_str()) {
                        if old.file_id == t.id && old.kind == t.kind {
                            let a = abs(&root, &t.path);
                            if let Some(w) = std::fs::symlink_metadata(&a)
                                .ok()
                                .and_then(|m| WorkFile::from_meta(t.path.clone(), &m))
                            {
                                if Repo::quick_unchanged(&w, old, written) == Some(true) {
                                    return Ok(((*old).clone(), 0));
                                }
                            }
                        }
                    }
                }
                let entry = materialize(store, &root, t)?;
                Ok((entry, t.size.max(1)))
            })
            .collect();
        let mut entries = Vec::with_capacity(results.len());
        for r in results {
            let (e, bytes) = r?;
            if bytes > 0 {
                report.written += 1;
                report.bytes += e.size;
            }
            entries.push(e);
        }
        let me = super::ident::Identity::from_env(self.store()).now();
        let log = ReflogInfo {
            who: me.ident(),
            time: me.time,
            tz_offset_min: me.tz_offset_min,
            message: format!("checkout: moving to {rev}"),
        };
        let branch = format!("refs/heads/{rev}");
        let is_branch = matches!(
            self.store().db().resolve_ref(&branch),
            Ok(Some((_, Some(_))))
        );
        let written = super::scan::now_ns().to_string();
        // The index and HEAD change together or not at all.
        self.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.write_index(&entries)?;
                tx.state_set(super::scan::INDEX_WRITTEN_KEY, &written)?;
                tx.state_set(super::scan::INDEX_TREE_KEY, &target_tree.to_hex())?;
                if is_branch {
                    tx.set_symbolic_logged("HEAD", &branch, &log)
                } else {
                    tx.detach_head(commit, &log)
                }
            })?;
        report.head = if is_branch {
            rev.to_string()
        } else {
            commit.to_hex()
        };
        drop(lock);
        Ok(report)
    }

    fn checkout_paths(
        &mut self,
        target: &[FlatEntry],
        paths: &[String],
        rev: &str,
    ) -> Result<CheckoutReport, VcsError> {
        let mut chosen = Vec::new();
        for p in paths {
            let before = chosen.len();
            chosen.extend(target.iter().filter(|e| under(&e.path, p)).cloned());
            if chosen.len() == before {
                return Err(VcsError::PathNotFound {
                    path: p.clone(),
                    place: format!(" in {rev}"),
                });
            }
        }
        let (lock, _) = self.store_mut().lock()?;
        let root = self.root().to_path_buf();
        let store = self.store();
        let entries: Vec<IndexEntry> = chosen
            .par_iter()
            .map(|t| materialize(store, &root, t))
            .collect::<Result<_, _>>()?;
        let report = CheckoutReport {
            written: entries.len(),
            bytes: entries.iter().map(|e| e.size).sum(),
            head: self.head()?.0.unwrap_or_default(),
            ..Default::default()
        };
        self.write_index_entries(&entries, &[])?;
        drop(lock);
        Ok(report)
    }
}

/// Paths whose entry differs between two flat lists.
fn changed_paths(a: &[FlatEntry], b: &[FlatEntry]) -> Vec<String> {
    let mut out: Vec<String> = super::treeops::diff(a, b, false)
        .changes
        .into_iter()
        .map(|c| c.path)
        .collect();
    out.sort();
    out
}

/// Creates the parent directories of `rel`, refusing to pass through a symlink or to
/// replace a file.
fn ensure_parent(root: &Path, rel: &str) -> Result<(), VcsError> {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(VcsError::BadPath {
                    path: rel.into(),
                    reason: format!(
                        "{} is a symbolic link; refusing to write through it",
                        dir.display()
                    ),
                })
            }
            Ok(_) => {
                return Err(VcsError::BadPath {
                    path: rel.into(),
                    reason: format!("{} is a file, not a directory", dir.display()),
                })
            }
            Err(_) => std::fs::create_dir(&dir).map_err(VcsError::io(&dir))?,
        }
    }
    Ok(())
}

fn prune_empty_dirs(root: &Path, rel: &str) {
    let mut p = abs(root, rel);
    while p.pop() && p != root {
        if std::fs::remove_dir(&p).is_err() {
            break;
        }
    }
}

/// Writes one entry into the working tree and returns its fresh index entry.
pub(crate) fn materialize(
    store: &Store,
    root: &Path,
    t: &FlatEntry,
) -> Result<IndexEntry, VcsError> {
    super::path::validate_repo_path(&t.path)?;
    ensure_parent(root, &t.path)?;
    let a = abs(root, &t.path);
    if let Ok(m) = std::fs::symlink_metadata(&a) {
        if m.is_dir() {
            std::fs::remove_dir_all(&a).map_err(VcsError::io(&a))?;
        }
    }
    let dir = a.parent().unwrap_or(root);
    let mut tmp = tempfile::Builder::new()
        .prefix(".gadn-tmp-")
        .tempfile_in(dir)
        .map_err(VcsError::io(dir))?;
    if t.kind == EntryKind::Symlink {
        let target = store.read_file_bytes(&t.id)?;
        let target: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(&target[..]);
        let link = tmp.path().with_extension("lnk");
        std::os::unix::fs::symlink(target, &link).map_err(VcsError::io(&link))?;
        std::fs::rename(&link, &a).map_err(VcsError::io(&a))?;
    } else {
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
            store.write_file(&t.id, &mut w).map_err(|e| match e {
                crate::store::StoreError::Io { source, .. } => VcsError::Io {
                    path: a.clone(),
                    source,
                },
                other => other.into(),
            })?;
            w.flush().map_err(VcsError::io(&a))?;
        }
        let mode = if t.kind == EntryKind::Executable {
            0o755
        } else {
            0o644
        };
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(VcsError::io(&a))?;
        tmp.persist(&a).map_err(|e| VcsError::Io {
            path: a.clone(),
            source: e.error,
        })?;
    }
    let m = std::fs::symlink_metadata(&a).map_err(VcsError::io(&a))?;
    let w = WorkFile::from_meta(t.path.clone(), &m).ok_or_else(|| VcsError::BadPath {
        path: t.path.clone(),
        reason: "not a file after checkout".into(),
    })?;
    Ok(w.to_index(t.id))
}
