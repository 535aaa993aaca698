//! `.gadnignore`: gitignore syntax, matched by the `ignore` crate (ripgrep's).
//!
//! [`walk`] honours `.gadnignore` files in every directory, deeper files taking
//! precedence, exactly like `.gitignore`. The store directory is never walked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::VcsError;
use crate::store::STORE_DIR;

/// Name of the ignore file.
pub const IGNORE_FILE: &str = ".gadnignore";

/// Every file and symlink below `root` that is not ignored, as repository paths, plus
/// the entries that cannot be tracked (with the reason). Directories `keep_dir`
/// rejects (given their repository path) are not entered; `.gadn` never is; symlinks
/// are not followed. Only `readdir` is used here: no file is `stat`ed.
///
/// `.gadnignore` files apply to their directory and below, deeper files taking
/// precedence and `!` re-including, exactly like `.gitignore`; an ignored directory is
/// not entered.
pub fn walk(
    root: &Path,
    keep_dir: &dyn Fn(&str) -> bool,
) -> Result<(Vec<String>, Vec<(String, String)>), VcsError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut stack: Vec<(PathBuf, String, Vec<Arc<Gitignore>>)> =
        vec![(root.to_path_buf(), String::new(), Vec::new())];
    while let Some((dir, rel, mut matchers)) = stack.pop() {
        let ignore_file = dir.join(IGNORE_FILE);
        if ignore_file.is_file() {
            let mut b = GitignoreBuilder::new(&dir);
            if let Some(e) = b.add(&ignore_file) {
                return Err(VcsError::IgnoreFile {
                    path: ignore_file,
                    reason: e.to_string(),
                });
            }
            let m = b.build().map_err(|e| VcsError::IgnoreFile {
                path: ignore_file.clone(),
                reason: e.to_string(),
            })?;
            matchers.push(Arc::new(m));
        }
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                skipped.push((rel.clone(), e.to_string()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    skipped.push((rel.clone(), e.to_string()));
                    continue;
                }
            };
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                skipped.push((
                    entry.path().to_string_lossy().into_owned(),
                    "name is not valid UTF-8".into(),
                ));
                continue;
            };
            if rel.is_empty() && name == STORE_DIR {
                continue;
            }
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            let ft = match entry.file_type() {
                Ok(ft) => ft,
                Err(e) => {
                    skipped.push((child, e.to_string()));
                    continue;
                }
            };
            let is_dir = ft.is_dir();
            let path = entry.path();
            let ignored = matchers.iter().rev().find_map(|m| {
                let r = m.matched(&path, is_dir);
                if r.is_ignore() {
                    Some(true)
                } else if r.is_whitelist() {
                    Some(false)
                } else {
                    None
                }
            });
            if ignored == Some(true) {
                continue;
            }
            if is_dir {
                if keep_dir(&child) {
                    stack.push((path, child, matchers.clone()));
                }
            } else if ft.is_file() || ft.is_symlink() {
                files.push(child);
            } else {
                skipped.push((child, "not a regular file or symlink".into()));
            }
        }
    }
    Ok((files, skipped))
}

/// The root `.gadnignore` and those on the way to a path, for checking paths named
/// explicitly on the command line.
pub fn matcher_for(root: &Path, rel: &str) -> Result<Gitignore, VcsError> {
    let mut b = GitignoreBuilder::new(root);
    let mut dir = root.to_path_buf();
    let mut files = vec![dir.join(IGNORE_FILE)];
    let parts: Vec<&str> = rel.split('/').collect();
    for p in &parts[..parts.len().saturating_sub(1)] {
        dir.push(p);
        files.push(dir.join(IGNORE_FILE));
    }
    for f in files {
        if f.is_file() {
            if let Some(e) = b.add(&f) {
                return Err(VcsError::IgnoreFile {
                    path: f,
                    reason: e.to_string(),
                });
            }
        }
    }
    b.build().map_err(|e| VcsError::IgnoreFile {
        path: root.join(IGNORE_FILE),
        reason: e.to_string(),
    })
}

/// True if `rel` (a file, or a directory when `is_dir`) is ignored.
pub fn is_ignored(root: &Path, rel: &str, is_dir: bool) -> Result<bool, VcsError> {
    let m = matcher_for(root, rel)?;
    Ok(m.matched_path_or_any_parents(root.join(rel), is_dir)
        .is_ignore())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_semantics() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::write(root.join(IGNORE_FILE), "*.tmp\n/build/\n!keep.tmp\n").unwrap();
        std::fs::create_dir_all(root.join("art/build")).unwrap();
        std::fs::write(root.join("art/.gadnignore"), "*.psd\n").unwrap();
        assert!(is_ignored(root, "x.tmp", false).unwrap());
        assert!(is_ignored(root, "a/b/x.tmp", false).unwrap());
        assert!(!is_ignored(root, "keep.tmp", false).unwrap());
        assert!(is_ignored(root, "build/out.bin", false).unwrap());
        assert!(!is_ignored(root, "art/build/out.bin", false).unwrap());
        assert!(is_ignored(root, "art/hero.psd", false).unwrap());
        assert!(!is_ignored(root, "hero.psd", false).unwrap());
    }

    #[test]
    fn walker_prunes_store_and_ignored() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for p in [".gadn/packs/x", "a/keep.txt", "a/skip.tmp", "b/c/d.txt"] {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, b"x").unwrap();
        }
        std::fs::write(root.join(IGNORE_FILE), "*.tmp\n").unwrap();
        let (mut seen, skipped) = walk(root, &|d| d != "b").unwrap();
        seen.sort();
        assert_eq!(seen, vec![".gadnignore", "a/keep.txt"]);
        assert!(skipped.is_empty());
        // Nested files take precedence and `!` re-includes; ignored directories are
        // not entered.
        std::fs::write(root.join("a/.gadnignore"), "!skip.tmp\n").unwrap();
        std::fs::create_dir_all(root.join("gone/deep")).unwrap();
        std::fs::write(root.join("gone/deep/x.txt"), b"x").unwrap();
        std::fs::write(root.join(IGNORE_FILE), "*.tmp\ngone/\n").unwrap();
        let (mut seen, _) = walk(root, &|_| true).unwrap();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ".gadnignore",
                "a/.gadnignore",
                "a/keep.txt",
                "a/skip.tmp",
                "b/c/d.txt"
            ]
        );
    }

    #[test]
    fn bad_ignore_file_is_reported() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(IGNORE_FILE), "{a,b\n").unwrap();
        let err = is_ignored(d.path(), "x", false).unwrap_err();
        assert!(err.to_string().contains(".gadnignore"), "{err}");
        let err = walk(d.path(), &|_| true).unwrap_err();
        assert!(err.to_string().contains(".gadnignore"), "{err}");
    }
}
