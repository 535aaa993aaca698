//! `mv`: renaming in the working tree and the index together, sidecars included.
//! Index entries keep their file id, so nothing is re-read.

use std::collections::HashMap;
use std::path::Path;

use super::path::{abs, to_repo_path, under, validate_repo_path};
use super::rm::{check_parents, prune_empty_dirs};
use super::scan::WorkFile;
use super::sidecar::{moved_sidecar, sidecars_of};
use super::{Repo, VcsError};
use crate::store::db::IndexEntry;

/// What [`Repo::mv`] did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MvReport {
    /// Working-tree renames performed, `(from, to)`: the source first, then sidecars.
    pub moved: Vec<(String, String)>,
    /// The sidecars among them, `(from, to)`.
    pub sidecars: Vec<(String, String)>,
    /// Index entries renamed (files below a moved directory included).
    pub entries: usize,
}

impl Repo {
    /// Moves `src` to `dst` (both relative to `cwd`); into `dst` when it is an existing
    /// directory. Refuses to replace an existing destination unless `force`.
    pub fn mv(
        &mut self,
        cwd: &Path,
        src: &Path,
        dst: &Path,
        force: bool,
    ) -> Result<MvReport, VcsError> {
        let root = self.root().to_path_buf();
        let from = to_repo_path(&root, cwd, src)?;
        let mut to = to_repo_path(&root, cwd, dst)?;
        if from.is_empty() {
            return Err(VcsError::BadPath {
                path: src.display().to_string(),
                reason: "cannot move the working-tree root".into(),
            });
        }
        let index = self.store().db().load_index()?;
        let by_path: HashMap<&str, &IndexEntry> =
            index.iter().map(|e| (e.path.as_str(), e)).collect();
        check_parents(&root, &from)?;
        let from_abs = abs(&root, &from);
        let from_meta =
            std::fs::symlink_metadata(&from_abs).map_err(|_| VcsError::PathNotFound {
                path: src.display().to_string(),
                place: " in the working tree".into(),
            })?;
        let moving: Vec<&IndexEntry> = index.iter().filter(|e| under(&e.path, &from)).collect();
        if moving.is_empty() {
            return Err(VcsError::PathNotFound {
                path: src.display().to_string(),
                place: " in the index (add it first)".into(),
            });
        }
        let is_dir = from_meta.is_dir();
        let dst_is_dir = std::fs::symlink_metadata(abs(&root, &to)).is_ok_and(|m| m.is_dir());
        if to.is_empty() || dst_is_dir {
            let name = from.rsplit('/').next().unwrap_or(&from);
            to = if to.is_empty() {
                name.to_string()
            } else {
                format!("{to}/{name}")
            };
        }
        validate_repo_path(&to)?;
        if to == from || under(&to, &from) {
            return Err(VcsError::BadPath {
                path: dst.display().to_string(),
                reason: format!("cannot move '{from}' into itself"),
            });
        }
        // Everything that moves: the source, then its existing sidecars.
        let mut moves = vec![(from.clone(), to.clone())];
        let mut sidecars = Vec::new();
        for s in sidecars_of(&from, is_dir) {
            let tracked = by_path.contains_key(s.as_str());
            if tracked || std::fs::symlink_metadata(abs(&root, &s)).is_ok() {
                let pair = (s.clone(), moved_sidecar(&s, &from, &to));
                sidecars.push(pair.clone());
                moves.push(pair);
            }
        }
        for (_, t) in &moves {
            let exists = std::fs::symlink_metadata(abs(&root, t));
            check_parents(&root, t)?;
            let tracked = index.iter().any(|e| under(&e.path, t));
            let tracked_below = index.iter().any(|e| e.path != *t && under(&e.path, t));
            if exists.is_ok() || tracked {
                let replaceable =
                    !is_dir && !tracked_below && exists.as_ref().map_or(true, |m| !m.is_dir());
                if !force || !replaceable {
                    return Err(VcsError::DestinationExists { path: t.clone() });
                }
            }
        }
        let written = self.index_written_ns()?;
        let (lock, _) = self.store_mut().lock()?;
        let mut upsert = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        for (f, t) in &moves {
            let (fa, ta) = (abs(&root, f), abs(&root, t));
            if let Some(parent) = ta.parent() {
                std::fs::create_dir_all(parent).map_err(VcsError::io(parent))?;
            }
            // Only the source itself must exist; an untracked-but-listed sidecar may not.
            if std::fs::symlink_metadata(&fa).is_ok() {
                std::fs::rename(&fa, &ta).map_err(VcsError::io(&fa))?;
                prune_empty_dirs(&root, f);
            }
            for e in index.iter().filter(|e| under(&e.path, f)) {
                let new_path = format!("{t}{}", &e.path[f.len()..]);
                upsert.push(moved_entry(&root, e, new_path, written));
                remove.push(e.path.clone());
            }
        }
        let new_paths: std::collections::HashSet<&str> =
            upsert.iter().map(|e| e.path.as_str()).collect();
        let remove: Vec<&str> = remove
            .iter()
            .map(|s| s.as_str())
            .filter(|p| !new_paths.contains(p))
            .collect();
        self.write_index_entries(&upsert, &remove)?;
        drop(lock);
        Ok(MvReport {
            moved: moves,
            sidecars,
            entries: upsert.len(),
        })
    }
}

/// `e` under its new path: the same content; fresh stat data when the file was
/// provably unchanged before the move (a rename changes its ctime), the old stat data
/// otherwise (so `status` still sees the change).
fn moved_entry(root: &Path, e: &IndexEntry, path: String, written_ns: i64) -> IndexEntry {
    let mut out = e.clone();
    out.path = path;
    if let Ok(m) = std::fs::symlink_metadata(abs(root, &out.path)) {
        if let Some(w) = WorkFile::from_meta(out.path.clone(), &m) {
            let mut before = e.clone();
            before.ctime_ns = w.ctime_ns;
            if Repo::quick_unchanged(&w, &before, written_ns) == Some(true) {
                out = w.to_index(e.file_id, e.meta);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::vcs::testutil::{put, repo};
    use crate::vcs::CommitOptions;

    #[test]
    fn renames_with_sidecar_and_into_directories() {
        let (_d, mut repo) = repo();
        put(&repo, "hero.png", b"png");
        put(&repo, "hero.png.meta", b"guid");
        put(&repo, "other.txt", b"x");
        put(&repo, "dir/keep.txt", b"k");
        let root = repo.root().to_path_buf();
        repo.add(&root, &[PathBuf::from(".")], false, &|_, _| {})
            .unwrap();
        repo.commit(&CommitOptions {
            message: "c".into(),
            ..Default::default()
        })
        .unwrap();
        let r = repo
            .mv(&root, Path::new("hero.png"), Path::new("hero2.png"), false)
            .unwrap();
        assert_eq!(
            r.sidecars,
            vec![("hero.png.meta".to_string(), "hero2.png.meta".to_string())]
        );
        assert!(root.join("hero2.png.meta").exists() && !root.join("hero.png").exists());
        let st = repo.status().unwrap();
        assert!(st.unstaged.is_empty(), "{st:?}");
        assert!(st.untracked.is_empty(), "{st:?}");
        let err = repo
            .mv(&root, Path::new("other.txt"), Path::new("hero2.png"), false)
            .unwrap_err();
        assert!(matches!(err, VcsError::DestinationExists { .. }), "{err}");
        repo.mv(&root, Path::new("other.txt"), Path::new("dir"), false)
            .unwrap();
        assert!(root.join("dir/other.txt").exists());
        repo.mv(&root, Path::new("dir"), Path::new("moved"), false)
            .unwrap();
        let paths: Vec<String> = repo
            .store()
            .db()
            .load_index()
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            vec![
                "hero2.png",
                "hero2.png.meta",
                "moved/keep.txt",
                "moved/other.txt"
            ]
        );
        let err = repo
            .mv(&root, Path::new("moved"), Path::new("moved/x"), false)
            .unwrap_err();
        assert!(matches!(err, VcsError::BadPath { .. }), "{err}");
    }
}
