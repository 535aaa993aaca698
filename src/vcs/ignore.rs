//! `.gadnignore`: gitignore syntax, matched by the `ignore` crate (ripgrep's).
//!
//! The walker honours `.gadnignore` files in every directory, deeper files taking
//! precedence, exactly like `.gitignore`. The store directory is never walked.

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::VcsError;
use crate::store::STORE_DIR;

/// Name of the ignore file.
pub const IGNORE_FILE: &str = ".gadnignore";

/// A walker over the working tree below `root`, honouring ignore files, not following
/// symlinks, pruning `.gadn` and any directory `keep_dir` rejects (given its
/// repository-relative path).
pub fn walker(
    root: &Path,
    keep_dir: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> ignore::WalkBuilder {
    let mut wb = ignore::WalkBuilder::new(root);
    let root_owned = root.to_path_buf();
    wb.standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .min(8),
        )
        .filter_entry(move |e| {
            if e.file_name() == STORE_DIR && e.depth() == 1 {
                return false;
            }
            if e.file_type().is_some_and(|t| t.is_dir()) && e.depth() > 0 {
                let rel = e
                    .path()
                    .strip_prefix(&root_owned)
                    .ok()
                    .and_then(|p| p.to_str());
                return rel.is_some_and(|r| keep_dir(r));
            }
            true
        });
    wb
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
        let mut seen: Vec<String> = walker(root, |d| d != "b")
            .build()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .map(|e| {
                e.path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        seen.sort();
        assert_eq!(seen, vec![".gadnignore", "a/keep.txt"]);
    }

    #[test]
    fn bad_ignore_file_is_reported() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(IGNORE_FILE), "{a,b\n").unwrap();
        let err = is_ignored(d.path(), "x", false).unwrap_err();
        assert!(err.to_string().contains(".gadnignore"), "{err}");
    }
}
