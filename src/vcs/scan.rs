//! Comparing the working tree, the index and `HEAD`: [`Status`].
//!
//! The working tree is walked in parallel and every file is `lstat`ed; a file whose
//! stat data (size, mtime, ctime, inode, device, kind) matches its index entry is taken
//! as unchanged and **never re-read**. The one exception is git's "racy clean" case: an
//! entry whose mtime is not older than the index write itself may have been modified
//! within the same timestamp tick, so it is re-hashed. Re-hashing runs in parallel and
//! refreshes the index stat data when the store lock is free.

use std::path::Path;

use rayon::prelude::*;

pub use super::change::{Change, ChangeKind};
use super::path::{under, validate_repo_path};
use super::treeops::{diff, flatten, FlatEntry};
pub use super::workfile::WorkFile;
use super::{Repo, VcsError};
use crate::store::db::IndexEntry;
use crate::store::object::EntryKind;
use crate::store::{ObjectId, StoreLock};

/// State key holding the time (ns since the epoch) the index was last written.
pub const INDEX_WRITTEN_KEY: &str = "index.written-ns";
/// State key holding the id of a commit whose tree the index is known to equal
/// exactly (written by commit and checkout, removed by any other index change).
pub const INDEX_COMMIT_KEY: &str = "index.commit";

/// The result of [`Repo::status`].
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// Current branch, `None` when `HEAD` is detached.
    pub branch: Option<String>,
    /// Commit `HEAD` points at, `None` before the first commit.
    pub head: Option<String>,
    /// Index versus `HEAD`: what the next commit records.
    pub staged: Vec<Change>,
    /// Working tree versus index: not yet added.
    pub unstaged: Vec<Change>,
    /// Files not in the index and not ignored.
    pub untracked: Vec<String>,
    /// Paths that cannot be tracked (not UTF-8, unsupported file type), with the reason.
    pub skipped: Vec<(String, String)>,
    /// Files whose content had to be re-read because their stat data did not settle
    /// the question (0 when nothing changed since the index was written).
    pub rehashed: usize,
    /// Paths with unresolved merge conflicts, as `PATH (KIND)`.
    pub conflicts: Vec<String>,
    /// The same conflicts in full: partner paths, and for a metadata conflict the
    /// keys that conflict (`fields`).
    pub unmerged: Vec<super::Conflict>,
}

impl Status {
    /// True when there is nothing staged or unstaged (untracked files do not count).
    pub fn is_clean(&self) -> bool {
        self.staged.is_empty() && self.unstaged.is_empty()
    }
}

/// Paths that cannot be tracked, with the reason.
pub type Skipped = Vec<(String, String)>;

/// Walks the working tree below the given specs (repository paths; empty = all),
/// returning files sorted by path and the entries that cannot be tracked.
pub fn scan(root: &Path, specs: &[String]) -> Result<(Vec<WorkFile>, Skipped), VcsError> {
    let keep_dir = |d: &str| specs.is_empty() || specs.iter().any(|s| under(d, s) || under(s, d));
    let mut w = super::walk::walk(root, &keep_dir)?;
    if !specs.is_empty() {
        w.files.retain(|f| specs.iter().any(|s| under(&f.path, s)));
    }
    w.files.par_sort_unstable_by(|a, b| a.path.cmp(&b.path));
    w.skipped.sort();
    Ok((w.files, w.skipped))
}

/// Converts index entries to flat tree entries.
pub fn index_as_flat(index: &[IndexEntry]) -> Vec<FlatEntry> {
    index
        .iter()
        .map(|e| FlatEntry {
            path: e.path.clone(),
            kind: e.kind,
            id: e.file_id,
            size: e.size,
            meta: e.meta,
        })
        .collect()
}

impl Repo {
    /// When the index was last written (ns), for the racy-clean check.
    pub(crate) fn index_written_ns(&self) -> Result<i64, VcsError> {
        Ok(self
            .store()
            .db()
            .state_get(INDEX_WRITTEN_KEY)?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Compares a working file with its index entry without reading it when possible.
    /// `None` = must re-hash.
    pub(crate) fn quick_unchanged(w: &WorkFile, e: &IndexEntry, written_ns: i64) -> Option<bool> {
        if !w.stat_matches(e) {
            return if w.kind != e.kind || w.size != e.size {
                Some(false)
            } else {
                None
            };
        }
        if w.mtime_ns >= written_ns {
            return None; // racily clean: same tick as the index write
        }
        Some(true)
    }

    /// The current branch (full ref name) and commit.
    pub fn head(&self) -> Result<(Option<String>, Option<ObjectId>), VcsError> {
        match self.store().db().resolve_ref("HEAD")? {
            Some((name, id)) if name != "HEAD" => Ok((Some(name), id)),
            Some((_, id)) => Ok((None, id)),
            None => Ok((None, None)),
        }
    }

    /// Flat entries of the `HEAD` commit's tree (empty before the first commit).
    pub fn head_flat(&self) -> Result<Vec<FlatEntry>, VcsError> {
        match self.head()?.1 {
            Some(c) => flatten(self.store(), &self.store().commit(&c)?.tree),
            None => Ok(Vec::new()),
        }
    }

    /// Staged, unstaged and untracked changes.
    pub fn status(&mut self) -> Result<Status, VcsError> {
        let (branch, head) = self.head()?;
        // The walk is syscall-bound (one lstat per file); load the index and HEAD's
        // tree on this thread meanwhile.
        let root = self.root().to_path_buf();
        let (scanned, loaded) = std::thread::scope(|sc| {
            let walk = sc.spawn(|| scan(&root, &[]));
            let loaded = (|| -> Result<_, VcsError> {
                let index = self.store().db().load_index()?;
                let staged = if self.index_matches_head(head)? {
                    Vec::new()
                } else {
                    diff(&self.head_flat()?, &index_as_flat(&index), true).changes
                };
                Ok((index, staged))
            })();
            (walk.join(), loaded)
        });
        let (files, skipped) = scanned.map_err(|_| VcsError::BadPath {
            path: root.display().to_string(),
            reason: "the working-tree walk failed".into(),
        })??;
        let (index, staged) = loaded?;
        let written = self.index_written_ns()?;
        // Both lists are sorted by path bytes: a merge-join, no hashing.
        let mut unstaged = Vec::new();
        let mut untracked = Vec::new();
        let mut rehash = Vec::new();
        let (mut fi, mut ii) = (0, 0);
        while fi < files.len() || ii < index.len() {
            let ord = match (files.get(fi), index.get(ii)) {
                (Some(w), Some(e)) => w.path.as_str().cmp(e.path.as_str()),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    untracked.push(files[fi].path.clone());
                    fi += 1;
                }
                std::cmp::Ordering::Greater => {
                    let e = &index[ii];
                    unstaged.push(Change::new(&e.path, ChangeKind::Deleted, Some(e.size)));
                    ii += 1;
                }
                std::cmp::Ordering::Equal => {
                    let (w, e) = (&files[fi], &index[ii]);
                    match Self::quick_unchanged(w, e, written) {
                        Some(true) => {}
                        Some(false) if w.kind != e.kind => unstaged.push(Change::new(
                            &w.path,
                            ChangeKind::TypeChanged,
                            Some(w.size),
                        )),
                        Some(false) => {
                            unstaged.push(Change::new(&w.path, ChangeKind::Modified, Some(w.size)))
                        }
                        None => rehash.push((w, e)),
                    }
                    fi += 1;
                    ii += 1;
                }
            }
        }
        let params = self.store().params();
        let hashed: Vec<(&WorkFile, &IndexEntry, Result<ObjectId, VcsError>)> = rehash
            .into_par_iter()
            .map(|(w, e)| (w, e, hash_work_file(&root, w, params)))
            .collect();
        let mut refresh = Vec::new();
        let rehashed = hashed.len();
        for (w, e, id) in hashed {
            match id {
                Ok(id) if id == e.file_id => refresh.push(w.to_index(id, e.meta)),
                Ok(_) => unstaged.push(Change::new(&w.path, ChangeKind::Modified, Some(w.size))),
                Err(err) => return Err(err),
            }
        }
        unstaged.sort_by(|a, b| a.path.cmp(&b.path));
        if !refresh.is_empty() {
            // Opportunistic, like git: skip if another writer holds the lock.
            if let Ok(_lock) = StoreLock::acquire(self.store().dir(), std::time::Duration::ZERO) {
                self.refresh_index_stat(&refresh)?;
            }
        }
        let unmerged = self.merge_conflicts()?;
        Ok(Status {
            branch: branch.map(|b| b.strip_prefix("refs/heads/").unwrap_or(&b).to_string()),
            head: head.map(|h| h.to_hex()),
            staged,
            unstaged,
            untracked,
            skipped,
            rehashed,
            conflicts: unmerged
                .iter()
                .map(|c| format!("{} ({})", c.path, c.kind.as_str()))
                .collect(),
            unmerged,
        })
    }

    /// Upserts and removes index entries and records the write time (caller holds the
    /// lock). The index no longer provably equals a tree afterwards. An entry whose
    /// path a tree could not hold is refused (nothing is written), so the index never
    /// holds what `commit` would refuse.
    pub(crate) fn write_index_entries(
        &mut self,
        upsert: &[IndexEntry],
        remove: &[&str],
    ) -> Result<(), VcsError> {
        for e in upsert {
            validate_repo_path(&e.path)?;
        }
        let now = now_ns().to_string();
        self.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.upsert_index(upsert)?;
                tx.remove_index(remove)?;
                tx.state_delete(INDEX_COMMIT_KEY)?;
                tx.state_set(INDEX_WRITTEN_KEY, &now)?;
                Ok(())
            })?;
        Ok(())
    }

    /// Rewrites the stat data of entries whose content is unchanged (caller holds the
    /// lock); what the index records as content does not change.
    pub(crate) fn refresh_index_stat(&mut self, entries: &[IndexEntry]) -> Result<(), VcsError> {
        let now = now_ns().to_string();
        self.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.upsert_index(entries)?;
                tx.state_set(INDEX_WRITTEN_KEY, &now)?;
                Ok(())
            })?;
        Ok(())
    }

    /// Records that the index holds exactly `commit`'s tree (after a commit or
    /// checkout), so `status` need neither flatten `HEAD` nor read any object.
    pub(crate) fn set_index_commit(&mut self, commit: &ObjectId) -> Result<(), VcsError> {
        self.store()
            .db()
            .state_set(INDEX_COMMIT_KEY, &commit.to_hex())?;
        Ok(())
    }

    /// True when the index is recorded as equal to `head`'s tree.
    fn index_matches_head(&self, head: Option<ObjectId>) -> Result<bool, VcsError> {
        let Some(head) = head else { return Ok(false) };
        let recorded = self.store().db().state_get(INDEX_COMMIT_KEY)?;
        Ok(recorded.is_some_and(|r| r == head.to_hex()))
    }
}

/// Nanoseconds since the epoch, now.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The file id a working file would get, computed without storing anything.
pub fn hash_work_file(
    root: &Path,
    w: &WorkFile,
    params: crate::store::chunker::ChunkParams,
) -> Result<ObjectId, VcsError> {
    let abs = super::path::abs(root, &w.path);
    if w.kind == EntryKind::Symlink {
        let target = std::fs::read_link(&abs).map_err(VcsError::io(&abs))?;
        let bytes = target.as_os_str().as_encoded_bytes();
        return Ok(crate::store::hash_file(params, bytes)?);
    }
    let f = std::fs::File::open(&abs).map_err(VcsError::io(&abs))?;
    crate::store::hash_file(params, f).map_err(|e| match e {
        crate::store::StoreError::Io { source, .. } => VcsError::Io {
            path: abs.clone(),
            source,
        },
        other => other.into(),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::store::db::{Expect, ReflogInfo};
    use crate::vcs::CommitOptions;

    use crate::vcs::testutil::{put, repo};

    fn add_all(repo: &mut Repo) {
        let root = repo.root().to_path_buf();
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
    }

    fn commit_all(repo: &mut Repo) -> ObjectId {
        add_all(repo);
        repo.commit(&CommitOptions {
            message: "c".into(),
            ..Default::default()
        })
        .unwrap()
    }

    fn set_mtime(path: &Path, t: SystemTime) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(t).unwrap();
    }

    fn kinds(changes: &[Change]) -> Vec<(&str, char)> {
        changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind.letter()))
            .collect()
    }

    #[test]
    fn letters_match_git_status_short() {
        let all = [
            ChangeKind::Added,
            ChangeKind::Modified,
            ChangeKind::Deleted,
            ChangeKind::TypeChanged,
            ChangeKind::Renamed,
        ];
        let letters: String = all.iter().map(|k| k.letter()).collect();
        assert_eq!(letters, "AMDTR");
    }

    #[test]
    fn unstaged_changes_of_every_kind_and_untracked_files() {
        let (_d, mut repo) = repo();
        put(&repo, "b/exec.sh", b"#!/bin/sh\n");
        put(&repo, "b/gone.txt", b"gone");
        put(&repo, "b/grow.txt", b"1");
        put(&repo, "b/same-size.txt", b"aaaa");
        put(&repo, "b/to-link.txt", b"x");
        std::os::unix::fs::symlink("aaaa", repo.root().join("b/link")).unwrap();
        let head = commit_all(&mut repo);
        let st = repo.status().unwrap();
        assert!(st.is_clean() && st.untracked.is_empty(), "{st:?}");
        assert_eq!(st.branch.as_deref(), Some("main"));
        assert_eq!(st.head, Some(head.to_hex()));

        let b = repo.root().join("b");
        std::fs::set_permissions(b.join("exec.sh"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::fs::remove_file(b.join("gone.txt")).unwrap();
        put(&repo, "b/grow.txt", b"12");
        // Same size, other content: only re-hashing can tell, and it must.
        put(&repo, "b/same-size.txt", b"bbbb");
        set_mtime(
            &b.join("same-size.txt"),
            UNIX_EPOCH + Duration::from_secs(1_000_000),
        );
        std::fs::remove_file(b.join("to-link.txt")).unwrap();
        std::os::unix::fs::symlink("y", b.join("to-link.txt")).unwrap();
        std::fs::remove_file(b.join("link")).unwrap();
        std::os::unix::fs::symlink("bbbb", b.join("link")).unwrap();
        put(&repo, "a-new.txt", b"before every index entry");
        put(&repo, "z/new.txt", b"after every index entry");
        let st = repo.status().unwrap();
        assert!(st.staged.is_empty(), "{st:?}");
        assert_eq!(
            kinds(&st.unstaged),
            vec![
                ("b/exec.sh", 'T'),
                ("b/gone.txt", 'D'),
                ("b/grow.txt", 'M'),
                ("b/link", 'M'),
                ("b/same-size.txt", 'M'),
                ("b/to-link.txt", 'T'),
            ]
        );
        assert_eq!(
            st.unstaged[1].size,
            Some(4),
            "deletions report the old size"
        );
        assert_eq!(st.untracked, vec!["a-new.txt", "z/new.txt"]);
        assert_eq!(st.rehashed, 2, "the symlink and the same-size file");
        assert!(!st.is_clean());

        // Staged: the index against HEAD.
        add_all(&mut repo);
        let st = repo.status().unwrap();
        assert!(st.unstaged.is_empty() && st.untracked.is_empty(), "{st:?}");
        assert_eq!(
            kinds(&st.staged),
            vec![
                ("a-new.txt", 'A'),
                ("b/exec.sh", 'T'),
                ("b/gone.txt", 'D'),
                ("b/grow.txt", 'M'),
                ("b/link", 'M'),
                ("b/same-size.txt", 'M'),
                ("b/to-link.txt", 'T'),
                ("z/new.txt", 'A'),
            ]
        );
    }

    #[test]
    fn racily_clean_files_are_rehashed_and_refreshed_only_under_a_free_lock() {
        let (_d, mut repo) = repo();
        put(&repo, "f.txt", b"content");
        commit_all(&mut repo);
        let f = repo.root().join("f.txt");
        // New stat data, same content: re-hashed once, then the index is refreshed.
        set_mtime(&f, UNIX_EPOCH + Duration::from_secs(1_000_000));
        // ...but not while another writer holds the lock.
        let lock = StoreLock::acquire(repo.store().dir(), Duration::ZERO).unwrap();
        for _ in 0..2 {
            let st = repo.status().unwrap();
            assert!(st.is_clean(), "{st:?}");
            assert_eq!(st.rehashed, 1);
        }
        drop(lock);
        assert_eq!(repo.status().unwrap().rehashed, 1);
        assert_eq!(repo.status().unwrap().rehashed, 0);
        // An mtime not older than the index write cannot be trusted: always re-hashed.
        set_mtime(&f, SystemTime::now() + Duration::from_secs(3600));
        for _ in 0..2 {
            let st = repo.status().unwrap();
            assert!(st.is_clean(), "{st:?}");
            assert_eq!(st.rehashed, 1);
        }
    }

    #[test]
    fn status_without_head_or_commits() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"a");
        let st = repo.status().unwrap();
        assert_eq!(
            (st.branch.as_deref(), st.head.as_deref()),
            (Some("main"), None)
        );
        assert_eq!(st.untracked, vec!["a.txt"]);
        add_all(&mut repo);
        let st = repo.status().unwrap();
        assert_eq!(kinds(&st.staged), vec![("a.txt", 'A')]);
        // A store whose HEAD is gone altogether reads as no branch and no commit.
        repo.store()
            .db()
            .delete_ref("HEAD", Expect::Any, &ReflogInfo::now("test", "delete"))
            .unwrap();
        assert_eq!(repo.head().unwrap(), (None, None));
        let st = repo.status().unwrap();
        assert_eq!((st.branch, st.head), (None, None));
        assert_eq!(kinds(&st.staged), vec![("a.txt", 'A')]);
    }

    #[test]
    fn hashing_errors_name_the_working_file() {
        let (_d, repo) = repo();
        std::fs::create_dir(repo.root().join("dir")).unwrap();
        let m = std::fs::symlink_metadata(repo.root().join("dir")).unwrap();
        assert!(WorkFile::from_meta("dir".into(), &m).is_none());
        let w = WorkFile {
            path: "dir".into(),
            kind: EntryKind::File,
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            dev: 0,
        };
        let err = hash_work_file(repo.root(), &w, repo.store().params()).unwrap_err();
        match &err {
            VcsError::Io { path, .. } => assert_eq!(path, &repo.root().join("dir")),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        let missing = WorkFile {
            path: "missing".into(),
            kind: EntryKind::Symlink,
            ..w
        };
        let err = hash_work_file(repo.root(), &missing, repo.store().params()).unwrap_err();
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", repo.root().join("missing").display())));
    }
}
