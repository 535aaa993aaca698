//! `.gadnignore`: gitignore syntax, matched by the `ignore` crate (ripgrep's).
//!
//! [`super::walk`] honours `.gadnignore` files in every directory, deeper files taking
//! precedence, exactly like `.gitignore`. The store directory is never walked.

use std::path::Path;
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use super::VcsError;

/// Name of the ignore file.
pub const IGNORE_FILE: &str = ".gadnignore";

/// Loads the `.gadnignore` of `dir`, if it has one.
pub fn load_dir_rules(dir: &Path) -> Result<Option<Gitignore>, VcsError> {
    let file = dir.join(IGNORE_FILE);
    if !file.is_file() {
        return Ok(None);
    }
    let mut b = GitignoreBuilder::new(dir);
    if let Some(e) = b.add(&file) {
        return Err(VcsError::IgnoreFile {
            path: file,
            reason: e.to_string(),
        });
    }
    b.build().map(Some).map_err(|e| VcsError::IgnoreFile {
        path: file,
        reason: e.to_string(),
    })
}

/// Decides with the matchers in force for a directory, innermost last: the deepest
/// file that has an opinion wins. Each matcher comes with the length of the
/// repository-path prefix of its directory (`dir/`, 0 at the root), and is asked
/// about the rest of `rel`: no path is built per entry.
pub fn is_ignored_by(matchers: &[(usize, Arc<Gitignore>)], rel: &str, is_dir: bool) -> bool {
    matchers
        .iter()
        .rev()
        .find_map(|(prefix, m)| {
            let r = m.matched(Path::new(&rel[*prefix..]), is_dir);
            if r.is_ignore() {
                Some(true)
            } else if r.is_whitelist() {
                Some(false)
            } else {
                None
            }
        })
        .unwrap_or(false)
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
    fn bad_ignore_file_is_reported() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(IGNORE_FILE), "{a,b\n").unwrap();
        let err = is_ignored(d.path(), "x", false).unwrap_err();
        assert!(err.to_string().contains(".gadnignore"), "{err}");
        let err = load_dir_rules(d.path()).unwrap_err();
        assert!(err.to_string().contains(".gadnignore"), "{err}");
    }
}
