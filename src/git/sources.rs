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

use super::content::{consolidate, record, Stored};
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
                    // Seen by lookups anyway (a miss refreshes); refreshed now so the
                    // writer below, which does not look again, dedups against them.
                    dst.packs().refresh();
                }
            }
            if !dst.contains(&id) || !complete(dst, &id) {
                let mut w = dst.writer(&lock);
                stats = copy_file(src, &mut w, &id)?;
                w.finish()?;
            }
            if recorded.is_some_and(|(r, s)| r == id && s == pointer.size) {
                let stored = Stored {
                    id,
                    sha256: pointer.sha256,
                    size: pointer.size,
                };
                record(dst, &lock, &stored)?;
            } else {
                consolidate(dst, &lock);
            }
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
    store
        .file_chunks(id, &file)
        .all(|c| c.is_ok_and(|c| store.contains(&c.id)))
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

    use crate::store::chunker::ChunkParams;

    fn git(dir: &Path, args: &[&str]) {
        run_git(dir, args).expect("git");
    }

    fn new_store(dir: &Path) -> Store {
        std::fs::create_dir_all(dir).expect("mkdir");
        Store::init(dir, ChunkParams::new(256, 1024, 4096).expect("params")).expect("init")
    }

    fn ingest(s: &mut Store, data: &[u8]) -> ObjectId {
        let (lock, _) = s.lock().expect("lock");
        let mut w = s.writer(&lock);
        let id = w.ingest(data).expect("ingest").id;
        w.finish().expect("finish");
        drop(lock);
        *s = Store::open(s.dir()).expect("reopen");
        id
    }

    fn canon(p: PathBuf) -> PathBuf {
        p.canonicalize().expect("canonical")
    }

    #[test]
    fn sources_are_found_in_config_and_local_remotes() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        let repo = root.join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        git(&repo, &["init", "-q"]);
        let git_dir = repo.join(".git");
        new_store(&super::super::store_dir(&git_dir));
        // A plain store, a plain gadn repository, a bare repository and a working
        // tree with a store.
        new_store(&root.join("shared"));
        new_store(&root.join("plain").join(STORE_DIR));
        new_store(&root.join("bare.git").join("gadn"));
        new_store(&root.join("other").join(".git").join("gadn"));
        std::fs::create_dir_all(root.join("empty")).expect("mkdir");
        let add = |v: &str| git(&repo, &["config", "--add", SOURCE_CONFIG_KEY, v]);
        add(&root.join("shared").to_string_lossy());
        add("../../plain"); // relative to the Git directory
        add(&root.join("empty").to_string_lossy());
        add(&repo.to_string_lossy()); // itself: never a source
        add(&root.join("shared").to_string_lossy()); // listed twice
        let remote = |name: &str, url: &str| git(&repo, &["remote", "add", name, url]);
        remote(
            "bare",
            &format!("file://{}", root.join("bare.git").display()),
        );
        remote("other", &root.join("other").to_string_lossy());
        remote("web", "https://example.org/r.git");
        remote("scp", "host:team/r.git");
        let s = Sources::discover(&git_dir);
        assert_eq!(
            s.dirs(),
            &[
                canon(root.join("shared")),
                canon(root.join("plain").join(STORE_DIR)),
                canon(root.join("bare.git").join("gadn")),
                canon(root.join("other").join(".git").join("gadn")),
            ],
            "{:?}",
            s.dirs()
        );
        // Not a Git directory: no sources.
        assert!(Sources::discover(&root.join("empty")).dirs().is_empty());
    }

    #[test]
    fn content_comes_from_the_first_source_that_has_it() {
        let d = tempfile::tempdir().expect("tmp");
        let root = d.path();
        let mut src = new_store(&root.join("src"));
        let mut dst = new_store(&root.join("dst"));
        let own = dst.dir().to_path_buf();
        let data = crate::store::pack::testutil::random_bytes(1, 20_000);
        let id = ingest(&mut src, &data);
        let sha = crate::store::Sha256([7u8; 32]);
        src.db().lfs_put(&sha, &id, data.len() as u64).expect("lfs");
        let mut sources = Sources::from_dirs(
            vec![
                root.join("not-a-store"),
                own.clone(),
                src.dir().to_path_buf(),
            ],
            own,
        );
        // Unknown content: no source has it.
        let nothing = Pointer {
            sha256: crate::store::Sha256([1; 32]),
            size: 3,
            gadn: Some(ObjectId::of_chunk(b"nowhere")),
        };
        assert_eq!(sources.fetch(&nothing, &mut dst).expect("fetch"), None);
        // A recorded SHA-256 with another size is not the content either.
        let wrong_size = Pointer {
            sha256: sha,
            size: 1,
            gadn: None,
        };
        assert_eq!(sources.fetch(&wrong_size, &mut dst).expect("fetch"), None);

        // By SHA-256: the packs are linked on first use, nothing copied.
        let by_sha = Pointer {
            sha256: sha,
            size: data.len() as u64,
            gadn: None,
        };
        let got = sources
            .fetch(&by_sha, &mut dst)
            .expect("fetch")
            .expect("found");
        assert_eq!((got.id, got.stats), (id, CopyStats::default()));
        assert_eq!(got.from, src.dir().to_path_buf());
        assert_eq!(dst.read_file_bytes(&id).expect("read"), data);
        assert_eq!(
            dst.db().lfs_get(&sha).expect("lfs"),
            Some((id, data.len() as u64))
        );

        // Content added to the source later is copied (packs are linked once per
        // source).
        let more = crate::store::pack::testutil::random_bytes(2, 20_000);
        let id2 = ingest(&mut src, &more);
        let by_id = Pointer {
            sha256: crate::store::Sha256([9; 32]),
            size: more.len() as u64,
            gadn: Some(id2),
        };
        // The sources opened before it was written see it too (the source's pack set
        // looks again on a miss); its packs were linked already, so it is copied.
        let got = sources
            .fetch(&by_id, &mut dst)
            .expect("fetch")
            .expect("found");
        assert_eq!(got.id, id2);
        assert!(
            got.stats.records > 0 && got.stats.chunk_bytes == more.len() as u64,
            "{got:?}"
        );
        assert_eq!(dst.read_file_bytes(&id2).expect("read"), more);
        assert_eq!(
            dst.db()
                .lfs_get(&crate::store::Sha256([9; 32]))
                .expect("lfs"),
            None,
            "only a gadn id: no record"
        );
        // Again: already complete here, nothing copied.
        let again = sources
            .fetch(&by_id, &mut dst)
            .expect("fetch")
            .expect("found");
        assert_eq!(again.stats, CopyStats::default());
        assert!(dst.fsck(&mut |_| {}).expect("fsck").is_ok());
    }

    #[test]
    fn an_incomplete_file_is_not_complete() {
        let d = tempfile::tempdir().expect("tmp");
        let mut s = new_store(&d.path().join("s"));
        let data = crate::store::pack::testutil::random_bytes(3, 50_000);
        let id = ingest(&mut s, &data);
        assert!(complete(&s, &id));
        assert!(!complete(&s, &ObjectId::of_chunk(b"absent")));
        // A file object whose chunks are elsewhere.
        let file = s.file(&id).expect("file");
        let mut t = new_store(&d.path().join("t"));
        let (lock, _) = t.lock().expect("lock");
        let mut w = t.writer(&lock);
        let rec = s.read_raw(&id).expect("read").expect("present");
        w.put_raw(rec).expect("put");
        w.finish().expect("finish");
        drop(lock);
        let t = Store::open(t.dir()).expect("reopen");
        assert!(file.height > 0);
        assert!(!complete(&t, &id), "the root node is missing");
    }
}
