//! `rm`: removing files from the working tree and the index, with their sidecars.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::path::{abs, to_index_path, under};
use super::scan::{hash_work_file, WorkFile};
use super::sidecar::sidecars_of;
use super::{Repo, VcsError};
use crate::store::db::IndexEntry;

/// Options of [`Repo::rm`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RmOptions {
    /// Keep the working files; only the index entries go.
    pub cached: bool,
    /// Remove even files with uncommitted changes.
    pub force: bool,
    /// Directories: remove everything tracked below them.
    pub recursive: bool,
}

/// What [`Repo::rm`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RmReport {
    /// Paths removed from the index (and the working tree unless `cached`), sidecars
    /// included.
    pub removed: Vec<String>,
    /// The sidecars among them that went with their asset, as `(sidecar, asset)`.
    pub sidecars: Vec<(String, String)>,
}

impl Repo {
    /// Removes `paths` (relative to `cwd`) from the index and, unless
    /// `opts.cached`, from the working tree. Tracked engine sidecars of removed files
    /// and directories go too.
    pub fn rm(
        &mut self,
        cwd: &Path,
        paths: &[PathBuf],
        opts: RmOptions,
    ) -> Result<RmReport, VcsError> {
        let root = self.root().to_path_buf();
        let index = self.store().db().load_index()?;
        let by_path: HashMap<&str, &IndexEntry> =
            index.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut targets = BTreeSet::new();
        let mut sidecars = Vec::new();
        for p in paths {
            // Only index entries are matched, so an entry staged under a name no tree
            // may hold (by an older version) can still be removed.
            let rel = to_index_path(&root, cwd, p)?;
            let is_file = by_path.contains_key(rel.as_str());
            let below: Vec<&str> = index
                .iter()
                .map(|e| e.path.as_str())
                .filter(|e| under(e, &rel))
                .collect();
            if below.is_empty() {
                return Err(VcsError::PathNotFound {
                    path: p.display().to_string(),
                    place: " in the index".into(),
                });
            }
            if !is_file && !opts.recursive {
                return Err(VcsError::NotRecursive {
                    path: p.display().to_string(),
                });
            }
            targets.extend(below.iter().map(|s| s.to_string()));
            for s in sidecars_of(&rel, !is_file) {
                if by_path.contains_key(s.as_str()) && !targets.contains(&s) {
                    sidecars.push((s, rel.clone()));
                }
            }
        }
        // Sidecars of files inside removed directories are removed with the directory;
        // sidecars of named files are added here.
        for t in targets.clone() {
            for s in sidecars_of(&t, false) {
                if by_path.contains_key(s.as_str()) && !targets.contains(&s) {
                    sidecars.push((s, t.clone()));
                }
            }
        }
        sidecars.sort();
        sidecars.dedup();
        for (s, _) in &sidecars {
            targets.insert(s.clone());
        }
        if !opts.force {
            let head: HashMap<String, (crate::store::object::EntryKind, crate::store::ObjectId)> =
                self.head_flat()?
                    .into_iter()
                    .map(|e| (e.path, (e.kind, e.id)))
                    .collect();
            let written = self.index_written_ns()?;
            let mut endangered = Vec::new();
            for t in &targets {
                let e = by_path[t.as_str()];
                let staged = head.get(t) != Some(&(e.kind, e.file_id));
                let unstaged = work_differs(&root, e, written, self.store().params())?;
                let lose = if opts.cached {
                    staged && unstaged
                } else {
                    staged || unstaged
                };
                if lose {
                    endangered.push(t.clone());
                }
            }
            if !endangered.is_empty() {
                return Err(VcsError::LocalChanges {
                    operation: "rm",
                    paths: endangered,
                });
            }
        }
        let removed: Vec<String> = targets.into_iter().collect();
        let (lock, _) = self.store_mut().lock()?;
        let refs: Vec<&str> = removed.iter().map(|s| s.as_str()).collect();
        self.write_index_entries(&[], &refs)?;
        if !opts.cached {
            for r in &removed {
                check_parents(&root, r)?;
                let a = abs(&root, r);
                match std::fs::remove_file(&a) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => {
                        return Err(VcsError::Io {
                            path: a,
                            source: err,
                        })
                    }
                }
                prune_empty_dirs(&root, r);
            }
        }
        drop(lock);
        Ok(RmReport { removed, sidecars })
    }
}

/// True when the working file of index entry `e` holds other content than the entry
/// (a missing file holds nothing to lose and counts as unchanged).
pub(crate) fn work_differs(
    root: &Path,
    e: &IndexEntry,
    written_ns: i64,
    params: crate::store::chunker::ChunkParams,
) -> Result<bool, VcsError> {
    let a = abs(root, &e.path);
    let m = match std::fs::symlink_metadata(&a) {
        Ok(m) => m,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(err) => {
            return Err(VcsError::Io {
                path: a,
                source: err,
            })
        }
    };
    let Some(w) = WorkFile::from_meta(e.path.clone(), &m) else {
        return Ok(true);
    };
    match Repo::quick_unchanged(&w, e, written_ns) {
        Some(same) => Ok(!same),
        None => Ok(hash_work_file(root, &w, params)? != e.file_id),
    }
}

/// Refuses a path whose parent directories are not all real directories (a symbolic
/// link there would let a write or delete escape the working tree).
pub(crate) fn check_parents(root: &Path, rel: &str) -> Result<(), VcsError> {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(VcsError::BadPath {
                    path: rel.into(),
                    reason: format!(
                        "{} is a symbolic link; refusing to work through it",
                        dir.display()
                    ),
                })
            }
            _ => {}
        }
    }
    Ok(())
}

/// Removes the now-empty parent directories of `rel`, up to the root.
pub(crate) fn prune_empty_dirs(root: &Path, rel: &str) {
    let mut p = abs(root, rel);
    while p.pop() && p != root {
        if std::fs::remove_dir(&p).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcs::testutil::{put, repo};
    use crate::vcs::CommitOptions;

    fn commit_all(repo: &mut Repo) {
        let root = repo.root().to_path_buf();
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "c".into(),
            ..Default::default()
        })
        .unwrap();
    }

    #[test]
    fn removes_file_and_sidecar_and_refuses_changes() {
        let (_d, mut repo) = repo();
        put(&repo, "a/hero.png", b"png");
        put(&repo, "a/hero.png.meta", b"guid: 1");
        put(&repo, "a/other.txt", b"x");
        commit_all(&mut repo);
        let root = repo.root().to_path_buf();
        let r = repo
            .rm(&root, &[PathBuf::from("a/hero.png")], RmOptions::default())
            .unwrap();
        assert_eq!(r.removed, vec!["a/hero.png", "a/hero.png.meta"]);
        assert_eq!(
            r.sidecars,
            vec![("a/hero.png.meta".to_string(), "a/hero.png".to_string())]
        );
        assert!(!root.join("a/hero.png.meta").exists());
        assert!(root.join("a/other.txt").exists());

        put(&repo, "a/other.txt", b"changed!");
        let err = repo
            .rm(&root, &[PathBuf::from("a/other.txt")], RmOptions::default())
            .unwrap_err();
        assert!(matches!(err, VcsError::LocalChanges { .. }), "{err}");
        let err = repo
            .rm(&root, &[PathBuf::from("a")], RmOptions::default())
            .unwrap_err();
        assert!(matches!(err, VcsError::NotRecursive { .. }), "{err}");
        let err = repo
            .rm(&root, &[PathBuf::from("nope")], RmOptions::default())
            .unwrap_err();
        assert!(matches!(err, VcsError::PathNotFound { .. }), "{err}");
        // --cached keeps a modified working file: nothing is lost.
        repo.rm(
            &root,
            &[PathBuf::from("a/other.txt")],
            RmOptions {
                cached: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            std::fs::read(root.join("a/other.txt")).unwrap(),
            b"changed!"
        );
        assert!(repo.store().db().load_index().unwrap().is_empty());
    }

    #[test]
    fn messages_and_symlinked_parents() {
        let e = VcsError::LocalChanges {
            operation: "rm",
            paths: vec!["a".into(), "b/c".into()],
        };
        assert_eq!(
            e.to_string(),
            "rm: these files have changes that are not committed:\n  a\n  b/c\nhint: commit them, or pass -f/--force to rm them anyway"
        );
        let e = VcsError::NotRecursive { path: "lvl".into() };
        assert_eq!(
            e.to_string(),
            "not removing directory 'lvl' recursively without -r"
        );
        let e = VcsError::DestinationExists { path: "x".into() };
        assert_eq!(
            e.to_string(),
            "destination 'x' already exists; use -f to overwrite it"
        );

        let (d, repo) = repo();
        let root = repo.root().to_path_buf();
        std::fs::create_dir(d.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(d.path().join("outside"), root.join("link")).unwrap();
        assert!(check_parents(&root, "link/x").is_err());
        assert!(check_parents(&root, "link").is_ok());
        assert!(check_parents(&root, "dir/x").is_ok());
    }
}
