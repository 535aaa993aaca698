//! `restore`: working files from the index or a revision, or index entries from a
//! revision (`--staged`).

use std::collections::HashMap;

use super::path::under;
use super::scan::{hash_work_file, index_as_flat, WorkFile};
use super::treeops::{flatten, FlatEntry};
use super::{Repo, VcsError};
use crate::store::db::IndexEntry;

/// Options of [`Repo::restore`].
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Where the content comes from: a revision, or the index when `None` (for
    /// `staged`, `HEAD` when `None`).
    pub source: Option<String>,
    /// Reset the index entries (to the source's), leaving working files alone.
    pub staged: bool,
    /// Also restore the working files (implied when `staged` is false).
    pub worktree: bool,
}

/// What [`Repo::restore`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RestoreReport {
    /// Working files written.
    pub written: Vec<String>,
    /// Index entries reset to the source's.
    pub staged: Vec<String>,
    /// Index entries removed because the source lacks the path.
    pub unstaged: Vec<String>,
    /// Working files that already held the source's content: nothing was written.
    pub unchanged: Vec<String>,
    /// Bytes written to the working tree.
    pub bytes: u64,
}

impl Repo {
    /// Restores the repository paths `paths` (files or directories; `""` = all).
    pub fn restore(
        &mut self,
        paths: &[String],
        opts: &RestoreOptions,
    ) -> Result<RestoreReport, VcsError> {
        let index = self.store().db().load_index()?;
        let worktree = opts.worktree || !opts.staged;
        let mut report = RestoreReport::default();
        let (lock, _) = self.store_mut().lock()?;
        if opts.staged {
            let rev = opts.source.as_deref().unwrap_or("HEAD");
            let source = match (rev, self.head()?.1) {
                ("HEAD" | "@", None) => Vec::new(),
                _ => self.tree_of(rev)?,
            };
            let src: HashMap<&str, &FlatEntry> =
                source.iter().map(|e| (e.path.as_str(), e)).collect();
            let cur: HashMap<&str, &IndexEntry> =
                index.iter().map(|e| (e.path.as_str(), e)).collect();
            let mut upsert = Vec::new();
            let mut remove = Vec::new();
            for p in paths {
                let mut hit = false;
                for e in index.iter().filter(|e| under(&e.path, p)) {
                    hit = true;
                    match src.get(e.path.as_str()) {
                        None => remove.push(e.path.clone()),
                        Some(t) if t.id == e.file_id && t.kind == e.kind => {}
                        Some(t) => upsert.push(unstat_entry(t)),
                    }
                }
                for t in source.iter().filter(|t| under(&t.path, p)) {
                    hit = true;
                    if !cur.contains_key(t.path.as_str()) {
                        upsert.push(unstat_entry(t));
                    }
                }
                if !hit {
                    return Err(not_found(p, " in the index or the source"));
                }
            }
            let refs: Vec<&str> = remove.iter().map(|s| s.as_str()).collect();
            self.write_index_entries(&upsert, &refs)?;
            report.staged = upsert.iter().map(|e| e.path.clone()).collect();
            report.unstaged = remove;
        }
        if worktree {
            // With --staged the index now holds the source, so restore from it.
            let from_index = opts.source.is_none() || opts.staged;
            let source = if from_index {
                index_as_flat(&self.store().db().load_index()?)
            } else {
                self.tree_of(opts.source.as_deref().unwrap_or("HEAD"))?
            };
            let mut chosen: Vec<&FlatEntry> = Vec::new();
            for p in paths {
                let before = chosen.len();
                chosen.extend(source.iter().filter(|e| under(&e.path, p)));
                // After --staged a path may have left the index: nothing to write.
                if chosen.len() == before && !opts.staged {
                    let place = match &opts.source {
                        Some(r) if !from_index => format!(" in {r}"),
                        _ => " in the index".into(),
                    };
                    return Err(not_found(p, &place));
                }
            }
            chosen.sort_by(|a, b| a.path.cmp(&b.path));
            chosen.dedup_by(|a, b| a.path == b.path);
            let root = self.root().to_path_buf();
            let now: HashMap<String, IndexEntry> = self
                .store()
                .db()
                .load_index()?
                .into_iter()
                .map(|e| (e.path.clone(), e))
                .collect();
            let written = self.index_written_ns()?;
            let mut fresh = Vec::new();
            for t in chosen {
                if work_matches(self, t, now.get(&t.path), written)? {
                    report.unchanged.push(t.path.clone());
                    continue;
                }
                let entry = super::checkout::materialize(self.store(), &root, t)?;
                report.bytes += t.size;
                report.written.push(t.path.clone());
                if from_index {
                    fresh.push(entry);
                }
            }
            if !fresh.is_empty() {
                // Content unchanged, stat data new: status need not re-read them.
                self.refresh_index_stat(&fresh)?;
            }
        }
        drop(lock);
        Ok(report)
    }

    fn tree_of(&self, rev: &str) -> Result<Vec<FlatEntry>, VcsError> {
        let c = self.resolve_commit(rev)?;
        flatten(self.store(), &self.store().commit(&c)?.tree)
    }
}

/// True when the working file at `t.path` already holds `t` (kind and content), so
/// restoring it would change nothing. `staged` is its index entry, whose stat data
/// settles the question without reading the file when it names the same content.
fn work_matches(
    repo: &Repo,
    t: &FlatEntry,
    staged: Option<&IndexEntry>,
    written_ns: i64,
) -> Result<bool, VcsError> {
    let a = super::path::abs(repo.root(), &t.path);
    let Ok(m) = std::fs::symlink_metadata(&a) else {
        return Ok(false);
    };
    let Some(w) = WorkFile::from_meta(t.path.clone(), &m) else {
        return Ok(false);
    };
    if w.kind != t.kind {
        return Ok(false);
    }
    if let Some(e) = staged.filter(|e| e.file_id == t.id && e.kind == t.kind) {
        if let Some(same) = Repo::quick_unchanged(&w, e, written_ns) {
            return Ok(same);
        }
    }
    Ok(hash_work_file(repo.root(), &w, repo.store().params())? == t.id)
}

fn not_found(p: &str, place: &str) -> VcsError {
    VcsError::PathNotFound {
        path: if p.is_empty() { ".".into() } else { p.into() },
        place: place.into(),
    }
}

/// An index entry for `t` with no stat data: `status` re-reads the working file.
fn unstat_entry(t: &FlatEntry) -> IndexEntry {
    IndexEntry {
        path: t.path.clone(),
        kind: t.kind,
        file_id: t.id,
        size: t.size,
        mtime_ns: 0,
        ctime_ns: 0,
        ino: 0,
        dev: 0,
        meta: t.meta,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::vcs::testutil::{put, repo};
    use crate::vcs::CommitOptions;

    #[test]
    fn restores_from_index_revision_and_unstages() {
        let (_d, mut repo) = repo();
        let root = repo.root().to_path_buf();
        put(&repo, "a/x.txt", b"one");
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "c".into(),
            ..Default::default()
        })
        .unwrap();
        put(&repo, "a/x.txt", b"two");
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        put(&repo, "a/x.txt", b"three");
        let paths = vec!["a".to_string()];
        let r = repo.restore(&paths, &RestoreOptions::default()).unwrap();
        assert_eq!(std::fs::read(root.join("a/x.txt")).unwrap(), b"two");
        assert_eq!((r.written.len(), r.unchanged.len()), (1, 0));
        // Restoring again changes nothing, and says so.
        let r = repo.restore(&paths, &RestoreOptions::default()).unwrap();
        assert_eq!(r.written, Vec::<String>::new());
        assert_eq!(r.unchanged, vec!["a/x.txt"]);
        let st = repo.status().unwrap();
        assert!(st.unstaged.is_empty(), "{st:?}");
        let src = RestoreOptions {
            source: Some("HEAD".into()),
            ..Default::default()
        };
        repo.restore(&paths, &src).unwrap();
        assert_eq!(std::fs::read(root.join("a/x.txt")).unwrap(), b"one");
        // The index still holds "two": staged and unstaged changes both show.
        let st = repo.status().unwrap();
        assert_eq!(st.staged.len(), 1, "{st:?}");
        assert_eq!(st.unstaged.len(), 1, "{st:?}");
        let staged = RestoreOptions {
            staged: true,
            ..Default::default()
        };
        let r = repo.restore(&paths, &staged).unwrap();
        assert_eq!(r.staged, vec!["a/x.txt"]);
        let st = repo.status().unwrap();
        assert!(st.is_clean(), "{st:?}");
        put(&repo, "new.txt", b"n");
        repo.add(&root, &[PathBuf::from("new.txt")], false, &|_, _| {})
            .unwrap();
        let r = repo.restore(&["new.txt".to_string()], &staged).unwrap();
        assert_eq!(r.unstaged, vec!["new.txt"]);
        assert!(root.join("new.txt").exists());
        assert!(repo
            .restore(&["zzz".to_string()], &RestoreOptions::default())
            .is_err());
    }
}
