//! Walking the working tree: every file and symlink not ignored, with its `lstat` data.
//!
//! On a large tree the cost is one stat call per file, so the walk runs on the rayon
//! pool, one task per directory, and stats each entry relative to its open directory
//! (`DirEntry::metadata` is `fstatat(dirfd, name)`), sparing a full path lookup per
//! file. `.gadnignore` rules are applied as directories are entered; an ignored
//! directory is not entered, `.gadn` never is (at any depth), names no tree could
//! hold are skipped with the reason, and symlinks are not followed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ignore::gitignore::Gitignore;

use super::ignore::{is_ignored_by, load_dir_rules, IGNORE_FILE};
use super::workfile::WorkFile;
use super::VcsError;
use crate::store::object::validate_name;
use crate::store::STORE_DIR;

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walked {
    /// Files and symlinks, in no particular order.
    pub files: Vec<WorkFile>,
    /// Per-directory batches of files, joined into `files` once at the end (one copy
    /// into a vector of the right size, instead of regrowing one shared vector).
    batches: Vec<Vec<WorkFile>>,
    /// Entries that cannot be tracked, with the reason.
    pub skipped: Vec<(String, String)>,
    /// The first ignore file that failed to parse.
    error: Option<VcsError>,
}

/// Walks below `root`, entering only directories `keep_dir` accepts (given their
/// repository path).
pub fn walk(root: &Path, keep_dir: &(dyn Fn(&str) -> bool + Sync)) -> Result<Walked, VcsError> {
    let out = Mutex::new(Walked::default());
    rayon::scope(|scope| {
        visit(
            scope,
            root.to_path_buf(),
            String::new(),
            Vec::new(),
            keep_dir,
            &out,
        )
    });
    let mut walked = out.into_inner().unwrap_or_else(|p| p.into_inner());
    let total = walked.batches.iter().map(Vec::len).sum();
    let mut files = Vec::with_capacity(total);
    for batch in walked.batches.drain(..) {
        files.extend(batch);
    }
    walked.files = files;
    match walked.error.take() {
        Some(e) => Err(e),
        None => Ok(walked),
    }
}

fn visit<'s>(
    scope: &rayon::Scope<'s>,
    dir: PathBuf,
    rel: String,
    mut matchers: Vec<(usize, Arc<Gitignore>)>,
    keep_dir: &'s (dyn Fn(&str) -> bool + Sync),
    out: &'s Mutex<Walked>,
) {
    let mut local = Walked::default();
    let mut entries = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(list) => {
            for entry in list {
                match entry {
                    Ok(e) => entries.push(e),
                    Err(e) => local.skipped.push((rel.clone(), e.to_string())),
                }
            }
        }
        Err(e) => local.skipped.push((rel.clone(), e.to_string())),
    }
    // The listing says whether this directory has rules; no probe per directory.
    if entries.iter().any(|e| e.file_name() == IGNORE_FILE) {
        match load_dir_rules(&dir) {
            // Rules match paths relative to their directory: remember where that
            // directory's part of a repository path ends.
            Ok(Some(m)) => {
                matchers.push((if rel.is_empty() { 0 } else { rel.len() + 1 }, Arc::new(m)))
            }
            Ok(None) => {}
            Err(e) => local.error = Some(e),
        }
    }
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            // Shown relative to the repository, like every other path in `status`.
            let lossy = name.to_string_lossy();
            let shown = if rel.is_empty() {
                lossy.into_owned()
            } else {
                format!("{rel}/{lossy}")
            };
            local
                .skipped
                .push((shown, "name is not valid UTF-8".into()));
            continue;
        };
        // The one name rule trees are written under: what it refuses can never be
        // staged, so `commit` never meets a name it cannot record. A store directory
        // at any depth (a nested repository, or a copy of one) is passed over
        // silently, as git passes over a nested `.git`.
        if let Err(e) = validate_name(name) {
            if !name.eq_ignore_ascii_case(STORE_DIR) {
                let shown = if rel.is_empty() {
                    name.to_string()
                } else {
                    format!("{rel}/{name}")
                };
                local.skipped.push((shown, e.to_string()));
            }
            continue;
        }
        let mut child = String::with_capacity(rel.len() + 1 + name.len());
        if !rel.is_empty() {
            child.push_str(&rel);
            child.push('/');
        }
        child.push_str(name);
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !matchers.is_empty() && is_ignored_by(&matchers, &child, is_dir) {
            continue;
        }
        if is_dir {
            if keep_dir(&child) {
                let matchers = matchers.clone();
                scope.spawn(move |s| visit(s, entry.path(), child, matchers, keep_dir, out));
            }
            continue;
        }
        match entry.metadata() {
            Ok(m) => match WorkFile::from_meta(child.clone(), &m) {
                Some(w) => local.files.push(w),
                None => local
                    .skipped
                    .push((child, "not a regular file or symlink".into())),
            },
            // Deleted between readdir and stat: simply not there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => local.skipped.push((child, e.to_string())),
        }
    }
    let mut shared = out.lock().unwrap_or_else(|p| p.into_inner());
    if !local.files.is_empty() {
        shared.batches.push(local.files);
    }
    shared.skipped.append(&mut local.skipped);
    if shared.error.is_none() {
        shared.error = local.error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(w: &Walked) -> Vec<String> {
        let mut v: Vec<String> = w.files.iter().map(|f| f.path.clone()).collect();
        v.sort();
        v
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
        let w = walk(root, &|d| d != "b").unwrap();
        assert_eq!(paths(&w), vec![".gadnignore", "a/keep.txt"]);
        assert!(w.skipped.is_empty());
        // Nested files take precedence and `!` re-includes; ignored directories are
        // not entered.
        std::fs::write(root.join("a/.gadnignore"), "!skip.tmp\n").unwrap();
        std::fs::create_dir_all(root.join("gone/deep")).unwrap();
        std::fs::write(root.join("gone/deep/x.txt"), b"x").unwrap();
        std::fs::write(root.join(IGNORE_FILE), "*.tmp\ngone/\n").unwrap();
        let w = walk(root, &|_| true).unwrap();
        assert_eq!(
            paths(&w),
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
    fn nested_stores_are_passed_over_and_names_no_tree_holds_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for p in ["a/.gadn/evil", "b/.Gadn/x", "c/back\\slash", "c/ok"] {
            let f = root.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, b"x").unwrap();
        }
        let w = walk(root, &|_| true).unwrap();
        assert_eq!(paths(&w), vec!["c/ok"]);
        assert_eq!(w.skipped.len(), 1, "{:?}", w.skipped);
        assert_eq!(w.skipped[0].0, "c/back\\slash");
        let tree_says = validate_name("back\\slash").unwrap_err().to_string();
        assert_eq!(w.skipped[0].1, tree_says);
    }

    #[test]
    fn special_files_and_bad_rules_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let fifo = root.join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .is_ok_and(|s| s.success());
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/.gadnignore"), "{a,b\n").unwrap();
        let err = walk(root, &|_| true).unwrap_err();
        assert!(err.to_string().contains("sub/.gadnignore"), "{err}");
        std::fs::remove_file(root.join("sub/.gadnignore")).unwrap();
        let w = walk(root, &|_| true).unwrap();
        if made {
            assert_eq!(
                w.skipped,
                vec![(
                    "pipe".to_string(),
                    "not a regular file or symlink".to_string()
                )]
            );
        }
    }

    #[test]
    fn names_that_are_not_utf8_and_unreadable_directories_are_skipped_with_a_reason() {
        use std::os::unix::ffi::OsStrExt;
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("ok.txt"), b"x").unwrap();
        std::fs::write(root.join(std::ffi::OsStr::from_bytes(b"bad\xff")), b"x").unwrap();
        std::fs::write(
            root.join("sub").join(std::ffi::OsStr::from_bytes(b"b\xfe")),
            b"x",
        )
        .unwrap();
        let w = walk(root, &|_| true).unwrap();
        assert_eq!(paths(&w), vec!["ok.txt"]);
        let mut skipped = w.skipped.clone();
        skipped.sort();
        assert_eq!(
            skipped,
            vec![
                (
                    "bad\u{fffd}".to_string(),
                    "name is not valid UTF-8".to_string()
                ),
                (
                    "sub/b\u{fffd}".to_string(),
                    "name is not valid UTF-8".to_string()
                ),
            ]
        );
        // A directory that cannot be listed is reported, not fatal.
        let gone = walk(&root.join("no-such-dir"), &|_| true).unwrap();
        assert!(gone.files.is_empty());
        assert_eq!(gone.skipped.len(), 1, "{:?}", gone.skipped);
    }
}
