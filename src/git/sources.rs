//! Other gadn stores this repository may copy missing content from: the stores of
//! Git remotes on this machine (`git clone /path/to/repo` → `/path/to/repo/.git/gadn`)
//! and any store or repository named by the multi-valued Git config `gadn.source`
//! (a shared store on a network drive, a teammate's checkout).
//!
//! A fresh `git clone` of a local repository therefore checks out real content: the
//! filter finds each pointer's content in the origin's store and copies it (verified
//! record by record, never decompressed-and-recompressed) into this repository's
//! store before smudging. Peers over the network join as sources once sync exists.

use std::path::{Path, PathBuf};

use super::pointer::Pointer;
use super::run_git;
use crate::store::raw::{copy_file, link_packs, CopyStats};
use crate::store::{ObjectId, Store, StoreError, DB_FILE, STORE_DIR};

/// Git config key listing extra source stores (or repositories holding one).
pub const SOURCE_CONFIG_KEY: &str = "gadn.source";

/// The candidate source stores of one repository, opened on first use.
#[derive(Debug)]
pub struct Sources {
    candidates: Vec<PathBuf>,
    opened: Vec<(PathBuf, Option<Store>)>,
    /// The store directory of this repository itself (never a source of itself).
    own: PathBuf,
    /// Sources whose packs were offered for linking already (done once per source).
    linked: Vec<PathBuf>,
}

/// Where content came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The file in the local store now.
    pub id: ObjectId,
    /// The source store it was copied from.
    pub from: PathBuf,
    /// What was copied.
    pub stats: CopyStats,
}

impl Sources {
    /// The sources of the repository whose Git directory is `git_dir`: `gadn.source`
    /// entries first (in config order), then remotes whose URL is a local path.
    /// Config that cannot be read yields no sources (content then stays missing,
    /// with the usual message).
    pub fn discover(git_dir: &Path) -> Sources {
        let own = super::store_dir(git_dir);
        let own = own.canonicalize().unwrap_or(own);
        let mut candidates = Vec::new();
        let lines = |args: &[&str]| -> Vec<String> {
            run_git(git_dir, args)
                .map(|out| {
                    String::from_utf8_lossy(&out)
                        .lines()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for v in lines(&["config", "--get-all", SOURCE_CONFIG_KEY]) {
            candidates.push(PathBuf::from(v));
        }
        for line in lines(&["config", "--get-regexp", r"^remote\..*\.url$"]) {
            if let Some((_, url)) = line.split_once(' ') {
                if let Some(p) = local_path(url) {
                    candidates.push(p);
                }
            }
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        for c in candidates {
            let c = if c.is_relative() { git_dir.join(c) } else { c };
            for d in store_dirs_of(&c) {
                if d != own && !dirs.contains(&d) {
                    dirs.push(d);
                }
            }
        }
        Sources {
            candidates: dirs,
            opened: Vec::new(),
            own,
            linked: Vec::new(),
        }
    }

    /// Sources given explicitly (tests, the LFS agent).
    pub fn from_dirs(dirs: Vec<PathBuf>, own: PathBuf) -> Sources {
        Sources {
            candidates: dirs,
            opened: Vec::new(),
            own,
            linked: Vec::new(),
        }
    }

    /// The candidate store directories, in the order they are tried.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.candidates
    }

    /// Copies the pointer's content from the first source that has it into `dst`.
    /// `Ok(None)` if no source has it. The copied file is recorded under the
    /// pointer's SHA-256 only when the source recorded the same (its SHA-256 was
    /// computed over that content); otherwise smudge checks the SHA-256 as it streams.
    pub fn fetch(
        &mut self,
        pointer: &Pointer,
        dst: &mut Store,
    ) -> Result<Option<Fetched>, StoreError> {
        self.open_all();
        for (dir, store) in &self.opened {
            let Some(src) = store else { continue };
            let recorded = src.db().lfs_get(&pointer.sha256).ok().flatten();
            let id = match (recorded, pointer.gadn) {
                (Some((id, size)), _) if size == pointer.size => id,
                (_, Some(id)) if src.contains(&id) => id,
                _ => continue,
            };
            let (lock, _) = dst.lock()?;
            // First use of this source: share its packs by hard links (a local clone
            // then costs no copying at all, like git's); across filesystems, or for
            // what linking did not bring, copy the file's records.
            let mut stats = CopyStats::default();
            if !self.linked.contains(dir) {
                self.linked.push(dir.clone());
                if matches!(link_packs(src, dst, &lock), Ok(n) if n > 0) {
                    let fresh = Store::open(dst.dir())?;
                    *dst = fresh;
                }
            }
            if !dst.contains(&id) || !complete(dst, &id) {
                let mut w = dst.writer(&lock);
                stats = copy_file(src, &mut w, &id)?;
                w.finish()?;
            }
            if recorded.is_some_and(|(r, s)| r == id && s == pointer.size) {
                dst.db().lfs_put(&pointer.sha256, &id, pointer.size)?;
            }
            let _ = dst.consolidate_packs(&lock);
            return Ok(Some(Fetched {
                id,
                from: dir.clone(),
                stats,
            }));
        }
        Ok(None)
    }

    fn open_all(&mut self) {
        if self.opened.len() == self.candidates.len() {
            return;
        }
        for dir in &self.candidates[self.opened.len()..] {
            // A source that cannot be opened (moved, not a store, damaged) is skipped.
            let store = if *dir == self.own {
                None
            } else {
                Store::open(dir).ok()
            };
            self.opened.push((dir.clone(), store));
        }
    }
}

/// True if every record of file `id` is stored (its chunk-list tree walks whole).
fn complete(store: &Store, id: &ObjectId) -> bool {
    let Ok(file) = store.file(id) else {
        return false;
    };
    let mut stack = vec![(file.root, file.height)];
    while let Some((node, level)) = stack.pop() {
        if level == 0 {
            if !store.contains(&node) {
                return false;
            }
            continue;
        }
        let Ok(n) = store.chunk_list(&node) else {
            return false;
        };
        stack.extend(n.entries.iter().map(|e| (e.id, level - 1)));
    }
    true
}

/// The local path a Git remote URL names, if it names one: an absolute or relative
/// path, or a `file://` URL. `host:path` (scp-like) and other schemes are not local.
fn local_path(url: &str) -> Option<PathBuf> {
    if let Some(rest) = url.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if url.contains("://") {
        return None;
    }
    // scp-like "host:path" has a colon before any slash.
    match (url.find(':'), url.find('/')) {
        (Some(c), Some(s)) if c < s => None,
        (Some(_), None) => None,
        _ => Some(PathBuf::from(url)),
    }
}

/// The store directories a path may hold: a gadn store itself, a bare Git repository
/// (`P/gadn`), a Git directory, or a working tree (`P/.git/gadn`); also a plain gadn
/// repository (`P/.gadn`).
fn store_dirs_of(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if p.join(DB_FILE).is_file() {
        out.push(p.to_path_buf());
    }
    for d in [
        super::store_dir(&p.join(".git")),
        super::store_dir(p),
        p.join(STORE_DIR),
    ] {
        if d.join(DB_FILE).is_file() {
            out.push(d.canonicalize().unwrap_or(d));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_told_from_remote_urls() {
        assert_eq!(local_path("/srv/repo"), Some(PathBuf::from("/srv/repo")));
        assert_eq!(local_path("../repo"), Some(PathBuf::from("../repo")));
        assert_eq!(
            local_path("file:///srv/r.git"),
            Some(PathBuf::from("/srv/r.git"))
        );
        assert_eq!(local_path("https://example.org/r.git"), None);
        assert_eq!(local_path("git@host:team/r.git"), None);
        assert_eq!(local_path("host:r"), None);
        assert_eq!(local_path("./a:b/c"), Some(PathBuf::from("./a:b/c")));
    }
}
