//! Repository-relative paths: `/`-separated, validated component by component.

use std::path::{Component, Path, PathBuf};

use super::VcsError;
use crate::store::object::validate_name;

/// Converts a path given by the user (relative to `cwd`, or absolute) to a
/// repository-relative `/`-separated path; `""` is the root.
pub fn to_repo_path(root: &Path, cwd: &Path, given: &Path) -> Result<String, VcsError> {
    let rel = resolve_lexically(root, cwd, given)?;
    for s in rel.split('/').filter(|_| !rel.is_empty()) {
        validate_name(s).map_err(|e| VcsError::BadPath {
            path: given.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    Ok(rel)
}

/// Like [`to_repo_path`], but for naming what the index already holds: a component no
/// tree may contain is accepted (the store directory itself at the top still is
/// not), so an entry an older version staged under such a name can be unstaged
/// (`rm --cached`, `restore --staged`). Only use it to match existing index entries.
pub fn to_index_path(root: &Path, cwd: &Path, given: &Path) -> Result<String, VcsError> {
    let rel = resolve_lexically(root, cwd, given)?;
    let top = rel.split('/').next().unwrap_or_default();
    if top.eq_ignore_ascii_case(crate::store::STORE_DIR) {
        return Err(VcsError::BadPath {
            path: given.display().to_string(),
            reason: "inside the store directory".into(),
        });
    }
    Ok(rel)
}

/// `given` resolved against `cwd` without touching the file system, relative to
/// `root`; refuses paths outside it and names that are not UTF-8.
fn resolve_lexically(root: &Path, cwd: &Path, given: &Path) -> Result<String, VcsError> {
    let abs = if given.is_absolute() {
        given.to_path_buf()
    } else {
        cwd.join(given)
    };
    let mut parts: Vec<String> = Vec::new();
    for c in abs.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => parts.clear(),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(s) => parts.push(
                s.to_str()
                    .ok_or_else(|| VcsError::BadPath {
                        path: given.display().to_string(),
                        reason: "not valid UTF-8".into(),
                    })?
                    .to_string(),
            ),
        }
    }
    let abs: PathBuf = std::iter::once("/".to_string()).chain(parts).collect();
    let rel = abs.strip_prefix(root).map_err(|_| VcsError::BadPath {
        path: given.display().to_string(),
        reason: format!("outside the working tree {}", root.display()),
    })?;
    let out: Vec<&str> = rel
        .components()
        .map(|c| c.as_os_str().to_str().unwrap_or_default())
        .collect();
    Ok(out.join("/"))
}

/// Checks every component of a repository-relative path.
pub fn validate_repo_path(path: &str) -> Result<(), VcsError> {
    if path.is_empty() {
        return Err(VcsError::BadPath {
            path: path.into(),
            reason: "empty path".into(),
        });
    }
    for part in path.split('/') {
        validate_name(part).map_err(|e| VcsError::BadPath {
            path: path.into(),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

/// True if `path` equals `spec` or lies below it (`""` matches everything).
pub fn under(path: &str, spec: &str) -> bool {
    spec.is_empty()
        || path == spec
        || (path.len() > spec.len()
            && path.starts_with(spec)
            && path.as_bytes()[spec.len()] == b'/')
}

/// The absolute working-tree path of a repository path.
pub fn abs(root: &Path, path: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    p.extend(path.split('/'));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_paths_become_repo_paths() {
        let root = Path::new("/w/repo");
        let cwd = Path::new("/w/repo/art");
        assert_eq!(
            to_repo_path(root, cwd, Path::new("tex/a.png")).unwrap(),
            "art/tex/a.png"
        );
        assert_eq!(
            to_repo_path(root, cwd, Path::new("../audio")).unwrap(),
            "audio"
        );
        assert_eq!(to_repo_path(root, cwd, Path::new("..")).unwrap(), "");
        assert_eq!(
            to_repo_path(root, cwd, Path::new("/w/repo/x/./y")).unwrap(),
            "x/y"
        );
        assert!(to_repo_path(root, cwd, Path::new("../../elsewhere")).is_err());
        assert!(to_repo_path(root, cwd, Path::new("../.gadn/gadn.db")).is_err());
        assert!(to_repo_path(root, cwd, Path::new("sub/.gadn/evil")).is_err());
    }

    #[test]
    fn index_paths_may_name_what_trees_refuse_but_not_the_store() {
        let root = Path::new("/w/repo");
        let cwd = Path::new("/w/repo/art");
        assert_eq!(
            to_index_path(root, cwd, Path::new("sub/.gadn/evil")).unwrap(),
            "art/sub/.gadn/evil"
        );
        assert_eq!(to_index_path(root, cwd, Path::new("..")).unwrap(), "");
        for bad in ["../.gadn/gadn.db", "../.GADN", "../../elsewhere"] {
            assert!(to_index_path(root, cwd, Path::new(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn repo_path_rules() {
        assert!(validate_repo_path("a/b.png").is_ok());
        for bad in ["", "a//b", "../x", "a/../b", ".gadn/x", "/abs"] {
            assert!(validate_repo_path(bad).is_err(), "{bad}");
        }
        assert!(under("a/b", "a"));
        assert!(under("a", "a"));
        assert!(under("a/b", ""));
        assert!(!under("ab", "a"));
        assert!(!under("a", "a/b"));
        assert_eq!(abs(Path::new("/r"), "a/b"), PathBuf::from("/r/a/b"));
    }
}
