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
    ///
    /// Local changes (staged or not) to paths that `HEAD` and `rev` hold alike are
    /// carried over untouched, as git does; a local change to a path the switch
    /// would write or remove fails with [`VcsError::DirtyTree`] naming those paths,
    /// unless `opts.force`. While a merge is in progress nothing is carried.
    pub fn checkout(
        &mut self,
        rev: &str,
        opts: &CheckoutOptions,
    ) -> Result<CheckoutReport, VcsError> {
        self.checkout_with_progress(rev, opts, &|_, _| {})
    }

    /// [`Repo::checkout`], calling `progress(bytes written, bytes to write)` as files
    /// are written.
    pub fn checkout_with_progress(
        &mut self,
        rev: &str,
        opts: &CheckoutOptions,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CheckoutReport, VcsError> {
        let commit = self.resolve_commit(rev)?;
        let target_tree = self.store().commit(&commit)?.tree;
        let target = flatten(self.store(), &target_tree)?;
        if !opts.paths.is_empty() {
            return self.checkout_paths(&target, &opts.paths, rev, progress);
        }
        let status = self.status()?;
        let index = self.store().db().load_index()?;
        let current = index_as_flat(&index);
        let changed = changed_paths(&current, &target);
        // Paths with local changes: staged (both names of a rename), unstaged, or
        // untracked where the target has a file.
        let mut dirty: Vec<String> = status
            .staged
            .iter()
            .flat_map(|c| std::iter::once(&c.path).chain(&c.from))
            .chain(status.unstaged.iter().map(|c| &c.path))
            .cloned()
            .collect();
        dirty.extend(
            status
                .untracked
                .iter()
                .filter(|u| target.binary_search_by(|e| e.path.as_str().cmp(u)).is_ok())
                .cloned(),
        );
        dirty.sort();
        dirty.dedup();
        // A local change where HEAD and the target agree needs no change to the
        // working tree: it is carried over, staged or not, as git does. During a
        // merge nothing is carried: its state belongs to the branch it started on.
        let merging = self.merge_head()?.is_some();
        let moving = changed_paths(&self.head_flat()?, &target);
        let carry = |p: &str| {
            !opts.force
                && !merging
                && dirty.binary_search_by(|d| d.as_str().cmp(p)).is_ok()
                && moving.binary_search_by(|m| m.as_str().cmp(p)).is_err()
        };
        if !opts.force {
            let mut endangered = dirty.clone();
            let refuse = if merging {
                !endangered.is_empty()
                    && (changed.iter().any(|p| endangered.binary_search(p).is_ok())
                        || !status.is_clean())
            } else {
                endangered.retain(|p| !carry(p));
                !endangered.is_empty()
            };
            if refuse {
                return Err(VcsError::DirtyTree {
                    operation: "checkout",
                    paths: endangered,
                });
            }
        }
        // Staged changes carried over leave the index unlike the target's tree.
        let carried_staged = status
            .staged
            .iter()
            .any(|c| carry(&c.path) || c.from.as_deref().is_some_and(&carry));
        // Decided before anything is written: untracked files that would block a
        // write are never removed, even with --force.
        let in_the_way = in_the_way(self.root(), &current, &target);
        if !in_the_way.is_empty() {
            return Err(VcsError::InTheWay {
                operation: "checkout",
                paths: in_the_way,
            });
        }
        let (lock, _) = self.store_mut().lock()?;
        let root = self.root().to_path_buf();
        let mut report = CheckoutReport::default();
        // Remove what the target does not have (what HEAD does not have either was
        // added here, and is carried).
        let mut carried: Vec<IndexEntry> = Vec::new();
        for (e, entry) in current.iter().zip(&index) {
            if target
                .binary_search_by(|t| t.path.as_str().cmp(&e.path))
                .is_err()
            {
                if carry(&e.path) {
                    carried.push(entry.clone());
                    continue;
                }
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
        // Carried entries stay as they are; their stat data is kept only where it
        // proves the file clean under the index's old write time, else it is cleared
        // so the next status re-reads the file (the write time moves forward).
        let target: Vec<&FlatEntry> = target
            .iter()
            .filter(|t| {
                if !carry(&t.path) {
                    return true;
                }
                if let Some(old) = by_path.get(t.path.as_str()) {
                    let clean = std::fs::symlink_metadata(abs(&root, &t.path))
                        .ok()
                        .and_then(|m| WorkFile::from_meta(t.path.clone(), &m))
                        .and_then(|w| Repo::quick_unchanged(&w, old, written));
                    let mut e = (*old).clone();
                    if clean != Some(true) {
                        e.mtime_ns = 0;
                    }
                    carried.push(e);
                }
                false
            })
            .collect();
        // First decide, in parallel, which entries the working tree already holds
        // (same content, stat data proving it); then write the rest, so progress
        // knows the true total.
        let kept: Vec<Option<IndexEntry>> = target
            .par_iter()
            .map(|t| {
                let old = by_path.get(t.path.as_str())?;
                if opts.force || old.file_id != t.id || old.kind != t.kind {
                    return None;
                }
                let m = std::fs::symlink_metadata(abs(&root, &t.path)).ok()?;
                let w = WorkFile::from_meta(t.path.clone(), &m)?;
                // Same content: keep the stat data, but take the target's metadata,
                // which may differ while the content does not.
                (Repo::quick_unchanged(&w, old, written) == Some(true)).then(|| IndexEntry {
                    meta: t.meta,
                    ..(*old).clone()
                })
            })
            .collect();
        let to_write: u64 = target
            .iter()
            .zip(&kept)
            .filter(|(_, k)| k.is_none())
            .map(|(t, _)| t.size)
            .sum();
        let meter = Meter::new(to_write, progress);
        let results: Vec<Result<(IndexEntry, u64), VcsError>> = target
            .par_iter()
            .zip(kept)
            .map(|(t, kept)| match kept {
                Some(old) => Ok((old, 0)),
                None => Ok((materialize_metered(store, &root, t, &meter)?, t.size.max(1))),
            })
            .collect();
        let mut entries = Vec::with_capacity(results.len() + carried.len());
        entries.append(&mut carried);
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
        // `HEAD` (or `@`) stays where it is, on its branch if it is on one, as in git.
        let branch = match rev {
            "HEAD" | "@" => self.head()?.0.unwrap_or_default(),
            _ => format!("refs/heads/{rev}"),
        };
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
                if carried_staged {
                    tx.state_delete(super::scan::INDEX_COMMIT_KEY)?;
                } else {
                    tx.state_set(super::scan::INDEX_COMMIT_KEY, &commit.to_hex())?;
                }
                if is_branch {
                    tx.set_symbolic_logged("HEAD", &branch, &log)
                } else {
                    tx.detach_head(commit, &log)
                }
            })?;
        report.head = if is_branch {
            short_branch(&branch)
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
        progress: &(dyn Fn(u64, u64) + Sync),
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
        let meter = Meter::new(chosen.iter().map(|t| t.size).sum(), progress);
        let entries: Vec<IndexEntry> = chosen
            .par_iter()
            .map(|t| materialize_metered(store, &root, t, &meter))
            .collect::<Result<_, _>>()?;
        let head = match self.head()? {
            (Some(branch), _) => short_branch(&branch),
            (None, id) => id.map(|id| id.to_hex()).unwrap_or_default(),
        };
        let report = CheckoutReport {
            written: entries.len(),
            bytes: entries.iter().map(|e| e.size).sum(),
            head,
            ..Default::default()
        };
        self.write_index_entries(&entries, &[])?;
        drop(lock);
        Ok(report)
    }
}

/// `main` for `refs/heads/main`.
fn short_branch(full: &str) -> String {
    full.strip_prefix("refs/heads/").unwrap_or(full).to_string()
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

/// Untracked paths that would stop `target` from being written over `current` (both
/// sorted by path): an untracked file (or symlink) where a directory must go, or a
/// directory holding anything untracked where a file must go. Sorted.
pub(crate) fn in_the_way(root: &Path, current: &[FlatEntry], target: &[FlatEntry]) -> Vec<String> {
    let tracked = |p: &str| current.binary_search_by(|e| e.path.as_str().cmp(p)).is_ok();
    let mut out = Vec::new();
    let mut seen_dirs = std::collections::HashSet::new();
    for t in target {
        if !tracked(&t.path) {
            let a = abs(root, &t.path);
            if std::fs::symlink_metadata(&a).is_ok_and(|m| m.is_dir()) {
                for e in walkdir::WalkDir::new(&a).min_depth(1).into_iter().flatten() {
                    if e.file_type().is_dir() {
                        continue;
                    }
                    if let Ok(rel) = e.path().strip_prefix(root) {
                        let rel = rel.to_string_lossy().into_owned();
                        if !tracked(&rel) {
                            out.push(rel);
                        }
                    }
                }
            }
        }
        let mut end = 0;
        while let Some(i) = t.path[end..].find('/') {
            end += i;
            let dir = &t.path[..end];
            end += 1;
            if !seen_dirs.insert(dir.to_string()) {
                continue;
            }
            match std::fs::symlink_metadata(abs(root, dir)) {
                Ok(m) if m.is_dir() => {}
                Ok(_) if tracked(dir) => {}
                Ok(_) => out.push(dir.to_string()),
                Err(_) => break,
            }
        }
    }
    out.sort();
    out.dedup();
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
            // Files are written in parallel: another thread may create the same
            // parent between the check and here, which is fine if it is a directory.
            Err(_) => match std::fs::create_dir(&dir) {
                Err(e) if !(e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir()) => {
                    return Err(VcsError::Io {
                        path: dir,
                        source: e,
                    })
                }
                _ => {}
            },
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

/// Moves the prefilled copy of `t` ([`crate::store::prefill`], written from
/// verified chunks as a clone received them) to `a` with `t`'s mode; false if there
/// is no such copy or it cannot be moved there (another file system): the caller
/// then writes the file itself.
fn place_prefilled(store: &Store, a: &Path, t: &FlatEntry) -> bool {
    let Some(p) = crate::store::prefill::take(store.dir(), &t.id, t.size) else {
        return false;
    };
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(file_mode(t.kind)))
        .and_then(|()| std::fs::rename(&p, a))
        .is_ok()
}

/// The permission bits a checked-out file of `kind` gets.
fn file_mode(kind: EntryKind) -> u32 {
    if kind == EntryKind::Executable {
        0o755
    } else {
        0o644
    }
}

/// Counts bytes written across the files of one checkout, for a progress display.
struct Meter<'a> {
    done: std::sync::atomic::AtomicU64,
    total: u64,
    report: &'a (dyn Fn(u64, u64) + Sync),
}

impl<'a> Meter<'a> {
    fn new(total: u64, report: &'a (dyn Fn(u64, u64) + Sync)) -> Self {
        Meter {
            done: std::sync::atomic::AtomicU64::new(0),
            total,
            report,
        }
    }

    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        (self.report)(done, self.total);
    }
}

/// A writer that tells a [`Meter`] how much went through it.
struct Metered<'m, 'a, W> {
    inner: W,
    meter: &'m Meter<'a>,
}

impl<W: Write> Write for Metered<'_, '_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one entry into the working tree (temporary file renamed into place, never
/// through a symbolic link) and returns its fresh index entry.
pub(crate) fn materialize(
    store: &Store,
    root: &Path,
    t: &FlatEntry,
) -> Result<IndexEntry, VcsError> {
    materialize_metered(store, root, t, &Meter::new(t.size, &|_, _| {}))
}

/// [`materialize`], counting the bytes written on `meter`.
fn materialize_metered(
    store: &Store,
    root: &Path,
    t: &FlatEntry,
    meter: &Meter<'_>,
) -> Result<IndexEntry, VcsError> {
    super::path::validate_repo_path(&t.path)?;
    ensure_parent(root, &t.path)?;
    let a = abs(root, &t.path);
    if std::fs::symlink_metadata(&a).is_ok_and(|m| m.is_dir()) {
        // An empty directory may give way; one with anything in it (untracked work)
        // is never deleted to make room.
        std::fs::remove_dir(&a).map_err(|_| VcsError::BadPath {
            path: t.path.clone(),
            reason: "a directory with files in it is in the way".into(),
        })?;
    }
    if t.kind != EntryKind::Symlink && place_prefilled(store, &a, t) {
        meter.add(t.size);
    } else {
        write_new(store, &a, a.parent().unwrap_or(root), t, meter)?;
    }
    let m = std::fs::symlink_metadata(&a).map_err(VcsError::io(&a))?;
    let w = WorkFile::from_meta(t.path.clone(), &m).ok_or_else(|| VcsError::BadPath {
        path: t.path.clone(),
        reason: "not a file after checkout".into(),
    })?;
    Ok(w.to_index(t.id, t.meta))
}

/// Writes entry `t` at `a` from the store: through a temporary file in `dir`
/// renamed into place, never through a symbolic link.
fn write_new(
    store: &Store,
    a: &Path,
    dir: &Path,
    t: &FlatEntry,
    meter: &Meter<'_>,
) -> Result<(), VcsError> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".gadn-tmp-")
        .tempfile_in(dir)
        .map_err(VcsError::io(dir))?;
    if t.kind == EntryKind::Symlink {
        let target = store.read_file_bytes(&t.id)?;
        let target: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(&target[..]);
        let link = tmp.path().with_extension("lnk");
        std::os::unix::fs::symlink(target, &link).map_err(VcsError::io(&link))?;
        return std::fs::rename(&link, a).map_err(VcsError::io(a));
    }
    {
        let metered = Metered {
            inner: tmp.as_file_mut(),
            meter,
        };
        let mut w = std::io::BufWriter::with_capacity(1 << 20, metered);
        store.write_file(&t.id, &mut w).map_err(|e| match e {
            crate::store::StoreError::Io { source, .. } => VcsError::Io {
                path: a.to_path_buf(),
                source,
            },
            other => other.into(),
        })?;
        w.flush().map_err(VcsError::io(a))?;
    }
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(file_mode(t.kind)))
        .map_err(VcsError::io(a))?;
    tmp.persist(a).map_err(|e| VcsError::Io {
        path: a.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::store::{ObjectId, StoreError};

    use crate::vcs::testutil::{commit_all, put, repo};

    fn paths(p: &[&str]) -> CheckoutOptions {
        CheckoutOptions {
            force: false,
            paths: p.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn force() -> CheckoutOptions {
        CheckoutOptions {
            force: true,
            paths: Vec::new(),
        }
    }

    #[test]
    fn checkout_of_head_stays_on_the_branch() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"one");
        let first = commit_all(&mut repo, "first");
        put(&repo, "a.txt", b"local edit");
        let report = repo.checkout("HEAD", &force()).unwrap();
        assert_eq!(report.head, "main");
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"one");
        assert_eq!(repo.head().unwrap().0.as_deref(), Some("refs/heads/main"));
        let report = repo.checkout("@", &force()).unwrap();
        assert_eq!(report.head, "main");
        // The next commit still advances the branch.
        put(&repo, "a.txt", b"two");
        let second = commit_all(&mut repo, "second");
        assert_eq!(repo.resolve_commit("main").unwrap(), second);

        // Detached, `HEAD` stays detached at the same commit.
        let report = repo
            .checkout(&first.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!(report.head, first.to_hex());
        let report = repo.checkout("HEAD", &force()).unwrap();
        assert_eq!(report.head, first.to_hex());
        assert_eq!(repo.head().unwrap(), (None, Some(first)));
        let report = repo.checkout("HEAD", &paths(&["a.txt"])).unwrap();
        assert_eq!(report.head, first.to_hex());
        let report = repo.checkout("main", &CheckoutOptions::default()).unwrap();
        assert_eq!(report.head, "main");
        // Restoring paths names the branch the same way a full checkout does.
        let report = repo.checkout("HEAD~1", &paths(&["a.txt"])).unwrap();
        assert_eq!((report.written, report.bytes), (1, 3));
        assert_eq!(report.head, "main");
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"one");
    }

    #[test]
    fn writes_never_pass_through_a_symlink_or_a_file() {
        let (d, mut repo) = repo();
        put(&repo, "d/f.txt", b"content");
        commit_all(&mut repo, "c");
        let outside = d.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::remove_dir_all(repo.root().join("d")).unwrap();
        std::os::unix::fs::symlink(&outside, repo.root().join("d")).unwrap();
        let err = repo.checkout("HEAD", &paths(&["d"])).unwrap_err();
        assert!(matches!(err, VcsError::BadPath { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("bad path 'd/f.txt': "), "{msg}");
        assert!(
            msg.ends_with("/d is a symbolic link; refusing to write through it"),
            "{msg}"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

        std::fs::remove_file(repo.root().join("d")).unwrap();
        put(&repo, "d", b"now a file");
        let err = repo.checkout("HEAD", &paths(&["d/f.txt"])).unwrap_err();
        assert!(
            err.to_string().ends_with("/d is a file, not a directory"),
            "{err}"
        );
        assert_eq!(std::fs::read(repo.root().join("d")).unwrap(), b"now a file");

        // Missing parents are created; an empty directory in the way of a file gives
        // way, one holding untracked files is never deleted.
        std::fs::remove_file(repo.root().join("d")).unwrap();
        repo.checkout("HEAD", &paths(&["d"])).unwrap();
        assert_eq!(
            std::fs::read(repo.root().join("d/f.txt")).unwrap(),
            b"content"
        );
        std::fs::remove_file(repo.root().join("d/f.txt")).unwrap();
        put(&repo, "d/f.txt/junk", b"junk");
        let err = repo.checkout("HEAD", &paths(&["d/f.txt"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("directory with files in it is in the way"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(repo.root().join("d/f.txt/junk")).unwrap(),
            b"junk"
        );
        std::fs::remove_file(repo.root().join("d/f.txt/junk")).unwrap();
        repo.checkout("HEAD", &paths(&["d/f.txt"])).unwrap();
        assert_eq!(
            std::fs::read(repo.root().join("d/f.txt")).unwrap(),
            b"content"
        );
    }

    #[test]
    fn switching_removes_files_and_prunes_only_empty_directories() {
        let (_d, mut repo) = repo();
        put(&repo, "d/keep.txt", b"keep");
        put(&repo, "d/drop.txt", b"drop");
        put(&repo, "e/deep/only.txt", b"only");
        put(&repo, "same.txt", b"same");
        let first = commit_all(&mut repo, "first");
        std::fs::remove_file(repo.root().join("d/drop.txt")).unwrap();
        std::fs::remove_dir_all(repo.root().join("e")).unwrap();
        put(&repo, "same.txt", b"changed");
        commit_all(&mut repo, "second");
        let report = repo
            .checkout(&first.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!((report.written, report.removed), (3, 0));
        let report = repo.checkout("main", &CheckoutOptions::default()).unwrap();
        assert_eq!((report.written, report.removed), (1, 2));
        assert!(repo.root().join("d/keep.txt").is_file());
        assert!(!repo.root().join("d/drop.txt").exists());
        assert!(
            !repo.root().join("e").exists(),
            "empty directories are pruned"
        );
        assert!(repo.status().unwrap().is_clean());
    }

    #[test]
    fn files_whose_stat_data_cannot_be_trusted_are_rewritten() {
        let (_d, mut repo) = repo();
        put(&repo, "same.txt", b"same");
        put(&repo, "other.txt", b"1");
        let first = commit_all(&mut repo, "first");
        put(&repo, "other.txt", b"2");
        commit_all(&mut repo, "second");
        // Settled stat data: only the file that differs is written.
        let report = repo
            .checkout(&first.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!(report.written, 1);
        // An mtime in the future is never older than the index write, so the file is
        // "racily clean" and rewritten (with the same content) rather than trusted.
        let future = SystemTime::now() + Duration::from_secs(100 * 365 * 86_400);
        let f = std::fs::File::options()
            .write(true)
            .open(repo.root().join("same.txt"))
            .unwrap();
        f.set_modified(future).unwrap();
        drop(f);
        let report = repo.checkout("main", &CheckoutOptions::default()).unwrap();
        assert_eq!(report.written, 2);
        let m = std::fs::metadata(repo.root().join("same.txt")).unwrap();
        assert!(m.modified().unwrap() < future);
        assert_eq!(
            std::fs::read(repo.root().join("same.txt")).unwrap(),
            b"same"
        );
    }

    type Lettered = Vec<(String, char)>;

    /// Staged and unstaged paths of a status, with their letters.
    fn changes(st: &crate::vcs::Status) -> (Lettered, Lettered) {
        let list = |v: &[crate::vcs::Change]| -> Lettered {
            v.iter()
                .map(|c| (c.path.clone(), c.kind.letter()))
                .collect()
        };
        (list(&st.staged), list(&st.unstaged))
    }

    #[test]
    fn switch_to_a_branch_on_the_same_commit_keeps_local_changes() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a");
        put(&repo, "b.txt", b"b");
        put(&repo, "gone.txt", b"g");
        commit_all(&mut repo, "first");
        repo.create_branch("other", None).unwrap();
        // Unstaged, staged, a staged new file, a staged deletion.
        put(&repo, "a.txt", b"a, edited");
        put(&repo, "b.txt", b"b, staged");
        put(&repo, "new.txt", b"new");
        let root = repo.root().to_path_buf();
        repo.add(
            &root,
            &[PathBuf::from("b.txt"), PathBuf::from("new.txt")],
            false,
            &|_, _| {},
        )
        .unwrap();
        repo.rm(
            &root,
            &[PathBuf::from("gone.txt")],
            crate::vcs::RmOptions::default(),
        )
        .unwrap();
        let before = changes(&repo.status().unwrap());
        assert!(!before.0.is_empty() && !before.1.is_empty(), "{before:?}");
        let report = repo.switch("other", false, false).unwrap();
        assert_eq!(
            (report.written, report.removed),
            (0, 0),
            "nothing to change"
        );
        assert_eq!(repo.head().unwrap().0.as_deref(), Some("refs/heads/other"));
        let st = repo.status().unwrap();
        assert_eq!(changes(&st), before, "the same changes, staged and not");
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"a, edited");
        assert!(!root.join("gone.txt").exists());
        // And back.
        repo.switch("main", false, false).unwrap();
        assert_eq!(changes(&repo.status().unwrap()), before);
    }

    #[test]
    fn switch_carries_changes_to_files_both_commits_agree_on() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a");
        put(&repo, "b.txt", b"b");
        commit_all(&mut repo, "first");
        repo.create_branch("other", None).unwrap();
        repo.switch("other", false, false).unwrap();
        put(&repo, "b.txt", b"b on other");
        commit_all(&mut repo, "other changes b");
        repo.switch("main", false, false).unwrap();
        // A dirty a.txt, which both commits hold alike, goes along.
        put(&repo, "a.txt", b"a, edited");
        let report = repo.switch("other", false, false).unwrap();
        assert_eq!(report.written, 1);
        let root = repo.root().to_path_buf();
        assert_eq!(std::fs::read(root.join("b.txt")).unwrap(), b"b on other");
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"a, edited");
        let st = repo.status().unwrap();
        assert_eq!(changes(&st), (vec![], vec![("a.txt".into(), 'M')]));
        // A dirty b.txt, which the switch would overwrite, is refused alone.
        put(&repo, "b.txt", b"b, edited");
        match repo.switch("main", false, false).unwrap_err() {
            VcsError::DirtyTree { operation, paths } => {
                assert_eq!((operation, paths), ("switch", vec!["b.txt".to_string()]))
            }
            other => panic!("expected DirtyTree, got {other:?}"),
        }
        assert_eq!(repo.head().unwrap().0.as_deref(), Some("refs/heads/other"));
    }

    #[test]
    fn switch_carries_nothing_while_a_merge_is_in_progress() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a");
        commit_all(&mut repo, "first");
        repo.create_branch("other", None).unwrap();
        repo.store()
            .db()
            .state_set(
                crate::vcs::merge::MERGE_HEAD_KEY,
                &repo.head().unwrap().1.unwrap().to_hex(),
            )
            .unwrap();
        put(&repo, "a.txt", b"a, edited");
        assert!(matches!(
            repo.switch("other", false, false),
            Err(VcsError::DirtyTree { .. })
        ));
    }

    #[test]
    fn forced_switch_that_cannot_remove_a_path_fails_before_moving_head() {
        let (_d, mut repo) = repo();
        put(&repo, "keep.txt", b"k");
        let first = commit_all(&mut repo, "first");
        put(&repo, "gone.txt", b"g");
        let second = commit_all(&mut repo, "second");
        std::fs::remove_file(repo.root().join("gone.txt")).unwrap();
        put(&repo, "gone.txt/inner", b"a directory now");
        let err = repo
            .checkout(&first.to_hex(), &CheckoutOptions::default())
            .unwrap_err();
        assert!(matches!(err, VcsError::DirtyTree { .. }), "{err}");
        let err = repo.checkout(&first.to_hex(), &force()).unwrap_err();
        match &err {
            VcsError::Io { path, .. } => assert!(path.ends_with("gone.txt"), "{err}"),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert_eq!(repo.head().unwrap().1, Some(second));
        assert!(repo.root().join("gone.txt/inner").is_file());
    }

    #[test]
    fn untracked_files_in_the_way_stop_a_switch_before_anything_is_written() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a1");
        let first = commit_all(&mut repo, "first");
        put(&repo, "a.txt", b"a2");
        put(&repo, "x", b"x is a file here");
        put(&repo, "y/deep/f", b"y holds a directory here");
        let second = commit_all(&mut repo, "second");
        repo.checkout(&first.to_hex(), &CheckoutOptions::default())
            .unwrap();
        // Untracked: a file where `y/` must go, a directory with a file where `x` goes.
        put(&repo, "y", b"untracked file");
        put(&repo, "x/untracked", b"untracked in a dir");
        for opts in [CheckoutOptions::default(), force()] {
            let err = repo.checkout(&second.to_hex(), &opts).unwrap_err();
            assert!(
                matches!(&err, VcsError::InTheWay { paths, .. } if paths == &["x/untracked", "y"]),
                "{err:?}"
            );
            assert!(
                err.to_string().contains("untracked files are in the way"),
                "{err}"
            );
            assert_eq!(
                std::fs::read(repo.root().join("a.txt")).unwrap(),
                b"a1",
                "nothing written"
            );
            assert_eq!(repo.head().unwrap(), (None, Some(first)));
        }
        std::fs::remove_file(repo.root().join("y")).unwrap();
        std::fs::remove_dir_all(repo.root().join("x")).unwrap();
        // An empty directory is not in the way.
        std::fs::create_dir(repo.root().join("x")).unwrap();
        repo.checkout(&second.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!(
            std::fs::read(repo.root().join("x")).unwrap(),
            b"x is a file here"
        );
        assert!(repo.status().unwrap().is_clean());
    }

    #[test]
    fn switching_between_commits_that_differ_only_in_metadata_updates_the_index() {
        let (_d, mut repo) = repo();
        put(&repo, "hero.png", b"pixels");
        let plain = commit_all(&mut repo, "plain");
        repo.meta_edit(
            "hero.png",
            &[crate::vcs::MetaEdit::parse("author=Ana").unwrap()],
        )
        .unwrap();
        let tagged = commit_all(&mut repo, "with metadata");
        let meta_of = |r: &Repo| r.store().db().index_get("hero.png").unwrap().unwrap().meta;
        let with = meta_of(&repo);
        assert!(with.is_some());
        let report = repo
            .checkout(&plain.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!(
            report.written, 0,
            "the content is the same: nothing rewritten"
        );
        assert_eq!(meta_of(&repo), None);
        assert!(repo.status().unwrap().is_clean());
        repo.checkout(&tagged.to_hex(), &CheckoutOptions::default())
            .unwrap();
        assert_eq!(meta_of(&repo), with);
        assert!(repo.status().unwrap().is_clean());
    }

    #[test]
    fn unknown_paths_and_missing_content_are_errors() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a");
        commit_all(&mut repo, "c");
        let err = repo
            .checkout("HEAD", &paths(&["a.txt", "nope"]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "path 'nope' did not match any file in HEAD"
        );
        // Content that is not in the store: an error, and no temporary file is left.
        let ghost = FlatEntry {
            path: "sub/ghost.bin".into(),
            kind: EntryKind::File,
            id: ObjectId::of_chunk(b"not stored"),
            size: 3,
            meta: None,
        };
        let err = materialize(repo.store(), repo.root(), &ghost).unwrap_err();
        assert!(
            matches!(err, VcsError::Store(StoreError::NotFound { .. })),
            "{err:?}"
        );
        let left: Vec<_> = std::fs::read_dir(repo.root().join("sub"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let bad = FlatEntry {
            path: "../escape".into(),
            ..ghost
        };
        assert!(matches!(
            materialize(repo.store(), repo.root(), &bad),
            Err(VcsError::BadPath { .. })
        ));
    }

    #[test]
    fn progress_counts_every_byte_written() {
        let (_d, mut repo) = repo();
        put(&repo, "a.bin", &vec![1u8; 300_000]);
        put(&repo, "b/c.bin", &vec![2u8; 5_000]);
        commit_all(&mut repo, "one");
        std::fs::remove_file(repo.root().join("a.bin")).unwrap();
        std::fs::remove_file(repo.root().join("b/c.bin")).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        let report = repo
            .checkout_with_progress("HEAD", &force(), &|done, total| {
                seen.lock().unwrap().push((done, total))
            })
            .unwrap();
        let seen = seen.into_inner().unwrap();
        let last = seen.iter().map(|p| p.0).max().unwrap();
        assert_eq!(last, 305_000);
        assert!(
            seen.iter()
                .all(|&(done, total)| total == 305_000 && done <= total),
            "{seen:?}"
        );
        assert_eq!(report.bytes, 305_000);
        // Restoring one path reports that path's bytes only.
        std::fs::remove_file(repo.root().join("b/c.bin")).unwrap();
        let seen = std::sync::Mutex::new(Vec::new());
        repo.checkout_with_progress("HEAD", &paths(&["b"]), &|done, total| {
            seen.lock().unwrap().push((done, total))
        })
        .unwrap();
        assert_eq!(seen.into_inner().unwrap().last(), Some(&(5_000, 5_000)));
    }
}
