//! `add` and `commit`: staging working files into the index and recording snapshots.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::facts::{detect, stored_head, SNIFF_LEN};
use super::ident::Identity;
use super::path::{abs, to_repo_path, under};
use super::scan::{index_as_flat, scan, WorkFile, INDEX_COMMIT_KEY, INDEX_WRITTEN_KEY};
use super::treeops::build;
use super::{Repo, VcsError};
use crate::store::db::{Expect, IndexEntry, ReflogInfo};
use crate::store::object::{Commit, EntryKind};
use crate::store::{Ingested, ObjectId, ObjectWriter};

/// Files up to this size are read whole and prepared in parallel; larger ones stream
/// through the pipelined ingest one at a time.
pub const SMALL_FILE: u64 = 4 << 20;
/// Bytes of small files prepared in parallel before appending (bounds memory).
const SMALL_BATCH_BYTES: u64 = 64 << 20;

/// What [`Repo::add`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AddReport {
    /// Paths whose content was (re)stored in the index.
    pub added: Vec<String>,
    /// Paths removed from the index because they are gone from the working tree.
    pub removed: Vec<String>,
    /// Bytes read from the working tree.
    pub bytes_read: u64,
    /// Raw bytes of chunks that were new to the store.
    pub new_bytes: u64,
}

/// Options of [`Repo::commit`].
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The message.
    pub message: String,
    /// Author; the committer when `None`. With no identity configured it is the
    /// committer too (see [`Identity::configured`]).
    pub author: Option<Identity>,
    /// Revision notes `KEY=VALUE`.
    pub notes: Vec<(String, String)>,
    /// Record a commit even if the tree did not change.
    pub allow_empty: bool,
    /// Stage changes to tracked files first (`commit -a`).
    pub all: bool,
    /// Commit even changes to files someone else has locked.
    pub force: bool,
}

impl Repo {
    /// Stages `paths` (files or directories, relative to `cwd`): new and modified
    /// files are stored, vanished ones are removed from the index. Files whose stat
    /// data matches the index are not read. `progress` receives bytes read.
    pub fn add(
        &mut self,
        cwd: &Path,
        paths: &[PathBuf],
        force: bool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<AddReport, VcsError> {
        let root = self.root().to_path_buf();
        let mut specs = Vec::new();
        let mut explicit = Vec::new();
        for p in paths {
            let rel = to_repo_path(&root, cwd, p)?;
            let a = abs(&root, &rel);
            let meta = std::fs::symlink_metadata(&a).ok();
            if let Some(m) = &meta {
                if !m.is_dir() && super::ignore::is_ignored(&root, &rel, false)? {
                    if !force {
                        return Err(VcsError::Ignored { path: rel });
                    }
                    if let Some(w) = WorkFile::from_meta(rel.clone(), m) {
                        explicit.push(w);
                    }
                }
            } else if !self.index_has_under(&rel)? {
                return Err(VcsError::PathNotFound {
                    path: p.display().to_string(),
                    place: " in the working tree or the index".into(),
                });
            }
            specs.push(rel);
        }
        let (mut files, _skipped) = scan(&root, &specs)?;
        files.extend(explicit);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        files.dedup_by(|a, b| a.path == b.path);
        self.stage(files, &specs, false, progress)
    }

    fn index_has_under(&self, rel: &str) -> Result<bool, VcsError> {
        Ok(self
            .store()
            .db()
            .load_index()?
            .iter()
            .any(|e| under(&e.path, rel)))
    }

    /// Stages the given working files; index entries under `specs` that are not among
    /// them are removed. With `tracked_only`, untracked files are left alone.
    fn stage(
        &mut self,
        files: Vec<WorkFile>,
        specs: &[String],
        tracked_only: bool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<AddReport, VcsError> {
        let index = self.store().db().load_index()?;
        let written = self.index_written_ns()?;
        let by_path: std::collections::HashMap<&str, &IndexEntry> =
            index.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut todo = Vec::new();
        for w in &files {
            match by_path.get(w.path.as_str()) {
                Some(e) if Self::quick_unchanged(w, e, written) == Some(true) => {}
                None if tracked_only => {}
                _ => todo.push(w.clone()),
            }
        }
        let present: std::collections::HashSet<&str> =
            files.iter().map(|w| w.path.as_str()).collect();
        let removed: Vec<String> = index
            .iter()
            .filter(|e| {
                specs.iter().any(|s| under(&e.path, s)) && !present.contains(e.path.as_str())
            })
            .map(|e| e.path.clone())
            .collect();
        let mut report = AddReport {
            removed: removed.clone(),
            ..Default::default()
        };
        if todo.is_empty() && removed.is_empty() {
            return Ok(report);
        }
        let total: u64 = todo.iter().map(|w| w.size).sum();
        let root = self.root().to_path_buf();
        let (lock, _) = self.store_mut().lock()?;
        let mut entries = Vec::with_capacity(todo.len());
        // Content facts, recorded in one batch once the content is sealed.
        let mut facts: Vec<(ObjectId, [String; 3])> = Vec::with_capacity(todo.len());
        let mut large_ids = Vec::new();
        let meta_of = |w: &WorkFile| by_path.get(w.path.as_str()).and_then(|e| e.meta);
        {
            let mut writer = self.store_mut().writer(&lock);
            let done = std::sync::atomic::AtomicU64::new(0);
            let (small, large): (Vec<&WorkFile>, Vec<&WorkFile>) = todo
                .iter()
                .partition(|w| w.size <= SMALL_FILE || w.kind == EntryKind::Symlink);
            let mut start = 0;
            while start < small.len() {
                let mut end = start;
                let mut bytes = 0;
                while end < small.len() && (end == start || bytes < SMALL_BATCH_BYTES) {
                    bytes += small[end].size;
                    end += 1;
                }
                let w_ref = &writer;
                let prepared: Vec<Result<_, VcsError>> = small[start..end]
                    .par_iter()
                    .map(|w| {
                        let data = read_small(&root, w)?;
                        let n = data.len() as u64;
                        let f = detect(&data[..data.len().min(SNIFF_LEN)], &w.path);
                        let p = w_ref.prepare_bytes(data)?;
                        progress(
                            done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n,
                            total,
                        );
                        Ok((*w, p, f))
                    })
                    .collect();
                for r in prepared {
                    let (w, p, f) = r?;
                    let ing = writer.append_prepared(p)?;
                    facts.push((ing.id, f.to_row()));
                    report.new_bytes += ing.new_bytes;
                    entries.push(staged_entry(w, &ing, meta_of(w)));
                }
                start = end;
            }
            for w in large {
                let ing = ingest_large(&mut writer, &root, w, &done, total, progress)?;
                large_ids.push((ing.id, w.path.as_str()));
                report.new_bytes += ing.new_bytes;
                entries.push(staged_entry(w, &ing, meta_of(w)));
            }
            report.bytes_read = done.into_inner();
            writer.finish()?;
        }
        // A large file's head is read back from what was stored (its first chunk), so
        // the facts describe exactly the content the id names, even if the working
        // file changed while it was ingested.
        for (id, path) in large_ids {
            let head = stored_head(self.store(), &id)?;
            facts.push((id, detect(&head, path).to_row()));
        }
        self.store().db().facts_put(&facts)?;
        let removed_refs: Vec<&str> = removed.iter().map(|s| s.as_str()).collect();
        self.write_index_entries(&entries, &removed_refs)?;
        drop(lock);
        report.added = entries.into_iter().map(|e| e.path).collect();
        Ok(report)
    }

    /// Records the index as a new commit on the current branch (or detached `HEAD`).
    ///
    /// With `opts.all` the tracked files are staged first; a commit that is then
    /// refused (a lock, unresolved conflicts, nothing to commit, a lost race) puts the
    /// index back exactly as it was, so a refusal never leaves edits staged.
    pub fn commit(&mut self, opts: &CommitOptions) -> Result<ObjectId, VcsError> {
        if !opts.all {
            return self.commit_index(opts);
        }
        let before = IndexSnapshot::take(self)?;
        let index = &before.entries;
        let specs: Vec<String> = index.iter().map(|e| e.path.clone()).collect();
        let (files, _) = scan(self.root(), &[])?;
        let files: Vec<WorkFile> = files
            .into_iter()
            .filter(|f| specs.binary_search(&f.path).is_ok())
            .collect();
        let staged = self.stage(files, &specs, true, &|_, _| {})?;
        if staged.added.is_empty() && staged.removed.is_empty() {
            return self.commit_index(opts);
        }
        match self.commit_index(opts) {
            Ok(id) => Ok(id),
            Err(refused) => {
                before.put_back(self)?;
                Err(refused)
            }
        }
    }

    /// [`Repo::commit`] of the index as it stands.
    fn commit_index(&mut self, opts: &CommitOptions) -> Result<ObjectId, VcsError> {
        let (branch, parent) = self.head()?;
        let merging = self.merge_head()?;
        if merging.is_some() {
            let conflicts = self.merge_conflicts()?;
            if !conflicts.is_empty() {
                return Err(VcsError::UnresolvedConflicts {
                    paths: conflicts.into_iter().map(|c| c.summary()).collect(),
                });
            }
        }
        // The committer is who is configured here; with none, the author given
        // (`--author`) commits too; with neither, the commit is refused.
        let committer = match (Identity::configured(self.store()), &opts.author) {
            (Ok(me), _) => me.now(),
            (Err(VcsError::NoIdentity { .. }), Some(author)) => author.now(),
            (Err(e), _) => return Err(e),
        };
        let author = match &opts.author {
            Some(a) => Person {
                name: a.name.clone(),
                email: a.email.clone(),
                ..committer.clone()
            },
            None => committer.clone(),
        };
        let mut notes = opts.notes.clone();
        notes.sort();
        notes.dedup_by(|a, b| a.0 == b.0);
        let index = self.store().db().load_index()?;
        let parent_tree = match parent {
            Some(p) => Some(self.store().commit(&p)?.tree),
            None => None,
        };
        self.check_locks(parent_tree.as_ref(), &index, opts.force)?;
        let signing_key = super::signing::existing_key()?;
        let (lock, _) = self.store_mut().lock()?;
        let (_tree, id) = {
            let mut writer = self.store_mut().writer(&lock);
            let tree = build(&mut writer, &index_as_flat(&index))?;
            if Some(tree) == parent_tree && !opts.allow_empty && merging.is_none() {
                writer.finish()?;
                return Err(VcsError::NothingToCommit {
                    head: parent
                        .map(|p| p.short())
                        .unwrap_or_else(|| "the empty tree".into()),
                });
            }
            let mut commit = Commit {
                tree,
                parents: parent.into_iter().chain(merging).collect(),
                author,
                committer: committer.clone(),
                message: opts.message.clone(),
                notes,
                signature: None,
            };
            if let Some(key) = &signing_key {
                super::signing::sign_commit(&mut commit, key)?;
            }
            let id = writer.put_commit(&commit)?;
            writer.finish()?;
            (tree, id)
        };
        let target = branch.unwrap_or_else(|| "HEAD".to_string());
        let expect = match parent {
            Some(p) => Expect::Value(p),
            None => Expect::Absent,
        };
        let log = ReflogInfo {
            who: committer.ident(),
            time: committer.time,
            tz_offset_min: committer.tz_offset_min,
            message: format!(
                "commit{}: {}",
                if parent.is_none() { " (initial)" } else { "" },
                opts.message.lines().next().unwrap_or("")
            ),
        };
        self.update_ref_checked(&target, expect, id, &log)?;
        self.set_index_commit(&id)?;
        if merging.is_some() {
            self.clear_merge_state()?;
        }
        // The commit is recorded; merging small packs is housekeeping whose failure
        // loses nothing (old packs are deleted only after the new one is sealed), so
        // it must not turn a successful commit into an error. It is retried next time.
        let _ = self.store_mut().consolidate_packs(&lock);
        drop(lock);
        Ok(id)
    }

    /// `update_ref` with a conflict turned into [`VcsError::Raced`].
    pub(crate) fn update_ref_checked(
        &mut self,
        name: &str,
        expect: Expect,
        id: ObjectId,
        log: &ReflogInfo,
    ) -> Result<(), VcsError> {
        match self.store_mut().db_mut().update_ref(name, expect, id, log) {
            Err(crate::store::db::DbError::RefConflict { actual, .. }) => Err(VcsError::Raced {
                name: name.into(),
                actual: actual
                    .map(|a| a.to_hex())
                    .unwrap_or_else(|| "nothing".into()),
            }),
            other => Ok(other?),
        }
    }
}

use crate::store::object::Person;

/// The index and its bookkeeping as they were, to put back when a commit that staged
/// first (`commit -a`) is refused.
struct IndexSnapshot {
    entries: Vec<IndexEntry>,
    /// `(key, value)` of the index's state keys; `None` where the key was absent.
    state: Vec<(&'static str, Option<String>)>,
}

impl IndexSnapshot {
    fn take(repo: &Repo) -> Result<IndexSnapshot, VcsError> {
        let db = repo.store().db();
        let mut state = Vec::new();
        for key in [INDEX_COMMIT_KEY, INDEX_WRITTEN_KEY] {
            state.push((key, db.state_get(key)?));
        }
        Ok(IndexSnapshot {
            entries: db.load_index()?,
            state,
        })
    }

    /// Writes the snapshot back in one transaction, under the store lock.
    fn put_back(self, repo: &mut Repo) -> Result<(), VcsError> {
        let (lock, _) = repo.store_mut().lock()?;
        repo.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.write_index(&self.entries)?;
                for (key, value) in &self.state {
                    match value {
                        Some(v) => tx.state_set(key, v)?,
                        None => {
                            tx.state_delete(key)?;
                        }
                    }
                }
                Ok(())
            })?;
        drop(lock);
        Ok(())
    }
}

/// The index entry for a staged file: stat data from before it was read (so a change
/// during the read shows up as a stat mismatch later), size from what was stored (so a
/// tree never states a size its content does not have).
/// Metadata stays with the path across content edits.
fn staged_entry(w: &WorkFile, ing: &Ingested, meta: Option<ObjectId>) -> IndexEntry {
    let mut e = w.to_index(ing.id, meta);
    e.size = ing.file.size;
    e
}

fn read_small(root: &Path, w: &WorkFile) -> Result<Vec<u8>, VcsError> {
    let a = abs(root, &w.path);
    if w.kind == EntryKind::Symlink {
        let t = std::fs::read_link(&a).map_err(VcsError::io(&a))?;
        return Ok(t.as_os_str().as_encoded_bytes().to_vec());
    }
    std::fs::read(&a).map_err(VcsError::io(&a))
}

fn ingest_large(
    writer: &mut ObjectWriter<'_>,
    root: &Path,
    w: &WorkFile,
    done: &std::sync::atomic::AtomicU64,
    total: u64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Ingested, VcsError> {
    let a = abs(root, &w.path);
    let f = std::fs::File::open(&a).map_err(VcsError::io(&a))?;
    let base = done.load(std::sync::atomic::Ordering::Relaxed);
    let reader = ProgressReader {
        inner: f,
        base,
        read: 0,
        total,
        progress,
    };
    let ing = writer.ingest(reader).map_err(|e| match e {
        crate::store::StoreError::Io { source, .. } => VcsError::Io {
            path: a.clone(),
            source,
        },
        other => other.into(),
    })?;
    done.fetch_add(ing.file.size, std::sync::atomic::Ordering::Relaxed);
    Ok(ing)
}

struct ProgressReader<'a, R> {
    inner: R,
    base: u64,
    read: u64,
    total: u64,
    progress: &'a (dyn Fn(u64, u64) + Sync),
}

impl<R: std::io::Read> std::io::Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.base + self.read, self.total);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::pack::SMALL_PACKS_MAX;
    use crate::vcs::testutil::{commit_all, put, repo};

    #[test]
    fn many_small_commits_do_not_pile_up_packs() {
        let (_d, mut r) = repo();
        let mut commits = Vec::new();
        for i in 0..SMALL_PACKS_MAX + 8 {
            put(&r, "notes.txt", format!("revision {i}").as_bytes());
            commits.push(commit_all(&mut r, &format!("c{i}")));
        }
        // Each commit writes two packs (staged content, then trees and the commit):
        // without consolidation there would be twice as many as commits.
        let packs = std::fs::read_dir(r.store().dir().join("packs"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "pack")
            })
            .count();
        assert!(
            packs <= SMALL_PACKS_MAX,
            "{packs} packs after {} commits",
            commits.len()
        );
        for (i, c) in commits.iter().enumerate() {
            let tree = r.store().commit(c).unwrap().tree;
            let e = crate::vcs::treeops::lookup(r.store(), &tree, "notes.txt")
                .unwrap()
                .unwrap();
            let mut out = Vec::new();
            r.store().write_file(&e.id, &mut out).unwrap();
            assert_eq!(out, format!("revision {i}").as_bytes());
        }
        assert!(r.store().fsck(&mut |_| {}).unwrap().is_ok());
    }
}
