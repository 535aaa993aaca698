//! `gadn git get` / `gadn git drop`: materialise files that partial smudge left as
//! pointers, or turn materialised files back into pointers, without Git seeing a
//! change (`git status` stays clean: the filter cleans content to the same pointer
//! and passes a pointer through unchanged).
//!
//! Invariants:
//! * A working file is only ever replaced whole (temporary file in the same directory,
//!   then rename), keeping its permission bits; a failure leaves it as it was.
//! * `get` verifies the SHA-256 and size of the restored content against the pointer
//!   while streaming, before the rename.
//! * `drop` replaces a file only when its content (SHA-256 computed by streaming it)
//!   is recorded in the store with every chunk present.
//! * Paths are tracked files (`git ls-files`), relative to the current directory;
//!   directories recurse. One failing file does not stop the others; each failure is
//!   reported with its path.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::content::ShaTee;
use super::pointer::{looks_like_pointer, Pointer, MAX_POINTER_LEN};
use super::sources::Sources;
use super::GitError;
use crate::store::{ObjectId, Store, StoreError};

/// What `get` or `drop` did.
#[derive(Debug, Default)]
pub struct GetDropReport {
    /// Files replaced (repository-relative paths).
    pub changed: Vec<String>,
    /// Content bytes of those files.
    pub bytes: u64,
    /// Files already in the wanted state (or not pointers / not gadn content).
    pub unchanged: Vec<String>,
    /// Files that could not be processed, each error naming its path.
    pub failed: Vec<GitError>,
}

/// The repository a command runs in.
struct Repo {
    top: PathBuf,
    git_dir: PathBuf,
    store: Store,
}

impl Repo {
    fn open(cwd: &Path) -> Result<Repo, GitError> {
        let git_dir = super::git_dir(cwd)?;
        let top = super::install::work_tree(cwd)?;
        let dir = super::store_dir(&git_dir);
        if !dir.join(crate::store::DB_FILE).is_file() {
            return Err(GitError::NotInstalled { store: dir });
        }
        Ok(Repo {
            top,
            store: Store::open(&dir)?,
            git_dir,
        })
    }
}

/// Runs git in `dir`; returns stdout bytes.
fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    super::run_git(dir, args)
}

/// One index entry (stage 0) of a file `get`/`drop` may replace.
#[derive(Debug, Clone)]
struct Entry {
    /// Octal mode as Git prints it (`100644`).
    mode: String,
    /// The blob id (the pointer Git stores).
    blob: String,
    /// Repository-relative path.
    path: String,
}

/// The tracked files under `paths` (relative to `cwd`) that go through the gadn filter
/// (`filter=gadn`), unmerged ones left out. A path matching no tracked file is an
/// error.
fn tracked_files(cwd: &Path, top: &Path, paths: &[PathBuf]) -> Result<Vec<Entry>, GitError> {
    let mut args = vec![
        "ls-files",
        "-s",
        "-z",
        "--full-name",
        "--error-unmatch",
        "--",
    ];
    let strs: Vec<&str> = paths
        .iter()
        .map(|p| {
            p.to_str().ok_or_else(|| GitError::GetDrop {
                path: p.clone(),
                reason: "path is not UTF-8".into(),
            })
        })
        .collect::<Result<_, _>>()?;
    args.extend(strs);
    let out = git(cwd, &args)?;
    let mut entries = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let rec = String::from_utf8_lossy(rec);
        // "<mode> <blob> <stage>\t<path>"
        let Some((head, path)) = rec.split_once('\t') else {
            continue;
        };
        let mut f = head.split(' ');
        let (Some(mode), Some(blob), Some("0")) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        entries.push(Entry {
            mode: mode.into(),
            blob: blob.into(),
            path: path.into(),
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries.dedup_by(|a, b| a.path == b.path);
    // Keep the files whose `filter` attribute is gadn.
    let mut child = Command::new("git")
        .args(["check-attr", "-z", "--stdin", "filter"])
        .current_dir(top)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    let input: Vec<u8> = entries
        .iter()
        .flat_map(|e| e.path.bytes().chain(std::iter::once(0)))
        .collect();
    let mut stdin = child.stdin.take().ok_or_else(|| GitError::GitFailed {
        args: "check-attr".into(),
        stderr: "no stdin".into(),
    })?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(GitError::GitFailed {
            args: "check-attr -z --stdin filter".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let fields: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    let gadn: std::collections::HashSet<String> = fields
        .chunks(3)
        .filter(|c| c.len() == 3 && c[2] == b"gadn")
        .map(|c| String::from_utf8_lossy(c[0]).into_owned())
        .collect();
    entries.retain(|e| gadn.contains(&e.path));
    Ok(entries)
}

/// Makes Git re-check the files about to be replaced so `git status` stays clean:
/// their index entries are re-recorded with the same blob and empty stat data
/// (which makes Git compare content instead of trusting the changed size); [`refresh`]
/// then re-records their stat data. Nothing new is ever staged: a file whose content
/// no longer cleans to its blob stays modified.
///
/// This runs *before* any file is replaced: when it ran after, a locked index
/// (another git running) failed the command with the files already replaced and
/// their stale stat data making Git report them modified, with no command of gadn's
/// to recover (a rerun saw nothing left to replace).
fn mark_for_recheck(top: &Path, changed: &[Entry]) -> Result<(), GitError> {
    if changed.is_empty() {
        return Ok(());
    }
    let info: Vec<u8> = changed
        .iter()
        .flat_map(|e| format!("{} {}\t{}\0", e.mode, e.blob, e.path).into_bytes())
        .collect();
    let mut child = Command::new("git")
        .args(["update-index", "-z", "--index-info"])
        .current_dir(top)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(&info)
            .map_err(|source| GitError::GitNotRunnable { source })?;
    }
    let out = child
        .wait_with_output()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    if !out.status.success() {
        return Err(GitError::GitFailed {
            args: "update-index -z --index-info".into(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// `git update-index --refresh`: records the stat data of the re-checked files.
/// It exits non-zero when some file is modified; that is not an error here, and
/// if it cannot run, Git compares content on its next look (the stat data is empty).
fn refresh(top: &Path) -> Result<(), GitError> {
    Command::new("git")
        .args(["update-index", "-q", "--refresh"])
        .current_dir(top)
        .output()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    Ok(())
}

/// True when `abs` is a regular file (not a symlink).
fn is_regular(abs: &Path) -> bool {
    std::fs::symlink_metadata(abs).is_ok_and(|m| m.is_file())
}

fn fail(path: &Path, reason: impl Into<String>) -> GitError {
    GitError::GetDrop {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The pointer in the working file at `abs`, or `None` when it holds content.
fn read_pointer(abs: &Path) -> Result<Option<Pointer>, GitError> {
    let meta = std::fs::symlink_metadata(abs).map_err(|e| fail(abs, e.to_string()))?;
    if !meta.is_file() || meta.len() > MAX_POINTER_LEN as u64 {
        return Ok(None);
    }
    let bytes = std::fs::read(abs).map_err(|e| fail(abs, e.to_string()))?;
    if !looks_like_pointer(&bytes) {
        return Ok(None);
    }
    Pointer::parse(&bytes)
        .map(Some)
        .map_err(|e| fail(abs, format!("corrupt pointer: {e}")))
}

/// Replaces `abs` with what `fill` writes to a temporary file beside it, keeping the
/// permission bits; the file is untouched when `fill` fails.
fn replace_with(
    abs: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> Result<(), GitError>,
) -> Result<(), GitError> {
    let perms = std::fs::metadata(abs)
        .map_err(|e| fail(abs, e.to_string()))?
        .permissions();
    let parent = abs.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".gadn-tmp-")
        .tempfile_in(parent)
        .map_err(|e| fail(abs, format!("cannot create a temporary file: {e}")))?;
    fill(tmp.as_file_mut())?;
    tmp.as_file()
        .set_permissions(perms)
        .map_err(|e| fail(abs, format!("cannot set permissions: {e}")))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail(abs, format!("cannot sync: {e}")))?;
    tmp.persist(abs)
        .map_err(|e| fail(abs, format!("cannot replace the file: {}", e.error)))?;
    Ok(())
}

/// The stored file holding the pointer's content, if the store has it.
fn stored_file(store: &Store, p: &Pointer) -> Result<Option<ObjectId>, GitError> {
    if let Some((id, size)) = store.db().lfs_get(&p.sha256).map_err(StoreError::from)? {
        if size == p.size && store.contains(&id) {
            return Ok(Some(id));
        }
    }
    Ok(p.gadn.filter(|id| store.contains(id)))
}

/// Materialises the pointer files among the tracked files under `paths`.
pub fn get(cwd: &Path, paths: &[PathBuf]) -> Result<GetDropReport, GitError> {
    let mut repo = Repo::open(cwd)?;
    let entries = tracked_files(cwd, &repo.top, paths)?;
    let candidates: Vec<Entry> = entries
        .iter()
        .filter(|e| matches!(read_pointer(&repo.top.join(&e.path)), Ok(Some(_))))
        .cloned()
        .collect();
    fetch_missing(&mut repo, &candidates);
    replace_each(&repo, entries, &candidates, get_one)
}

/// Copies the content of pointer files that is not in this store from the other
/// stores on this machine that have it ([`Sources`]). A failure here is not reported:
/// the file then fails in [`get_one`] with the missing-content message.
fn fetch_missing(repo: &mut Repo, candidates: &[Entry]) {
    let mut sources: Option<Sources> = None;
    for e in candidates {
        let Ok(Some(p)) = read_pointer(&repo.top.join(&e.path)) else {
            continue;
        };
        if matches!(stored_file(&repo.store, &p), Ok(Some(_))) {
            continue;
        }
        let sources = sources.get_or_insert_with(|| Sources::discover(&repo.git_dir));
        let _ = sources.fetch(&p, &mut repo.store);
    }
}

/// Materialises one file; `None` when it is not a pointer.
fn get_one(store: &Store, abs: &Path) -> Result<Option<u64>, GitError> {
    let Some(p) = read_pointer(abs)? else {
        return Ok(None);
    };
    let Some(id) = stored_file(store, &p)? else {
        return Err(fail(
            abs,
            format!(
                "content sha256:{} ({} bytes) is not in the gadn store {}; nothing changed",
                p.sha256,
                p.size,
                store.dir().display()
            ),
        ));
    };
    replace_with(abs, |f| {
        let mut w = ShaTee::new(std::io::BufWriter::with_capacity(1 << 20, f));
        store
            .write_file(&id, &mut w)
            .map_err(|e| fail(abs, format!("cannot restore the content: {e}")))?;
        w.flush().map_err(|e| fail(abs, e.to_string()))?;
        let got = w.digest();
        if got != p.sha256 || w.size() != p.size {
            return Err(fail(
                abs,
                format!(
                    "stored content does not match the pointer (sha256:{} {} bytes, expected sha256:{} {} bytes); nothing changed",
                    got,
                    w.size(),
                    p.sha256,
                    p.size
                ),
            ));
        }
        Ok(())
    })?;
    Ok(Some(p.size))
}

/// Turns the materialised files among the tracked files under `paths` back into
/// pointers, each only after checking its content is in the store.
pub fn drop(cwd: &Path, paths: &[PathBuf]) -> Result<GetDropReport, GitError> {
    let repo = Repo::open(cwd)?;
    let entries = tracked_files(cwd, &repo.top, paths)?;
    let candidates: Vec<Entry> = entries
        .iter()
        .filter(|e| {
            is_regular(&repo.top.join(&e.path))
                && matches!(read_pointer(&repo.top.join(&e.path)), Ok(None))
        })
        .cloned()
        .collect();
    replace_each(&repo, entries, &candidates, drop_one)
}

/// Marks `candidates` for a content re-check in Git's index (before anything is
/// replaced, so a locked index changes nothing), applies `one` to every entry
/// (changed: `Some(bytes)`, left alone: `None`), then lets Git refresh its index.
fn replace_each(
    repo: &Repo,
    entries: Vec<Entry>,
    candidates: &[Entry],
    one: fn(&Store, &Path) -> Result<Option<u64>, GitError>,
) -> Result<GetDropReport, GitError> {
    let mut report = GetDropReport::default();
    mark_for_recheck(&repo.top, candidates)?;
    for e in entries {
        let abs = repo.top.join(&e.path);
        match one(&repo.store, &abs) {
            Ok(Some(n)) => {
                report.bytes += n;
                report.changed.push(e.path);
            }
            Ok(None) => report.unchanged.push(e.path),
            Err(e) => report.failed.push(e),
        }
    }
    if !candidates.is_empty() {
        refresh(&repo.top)?;
    }
    Ok(report)
}

/// Replaces one file by its pointer; `None` when it already is a pointer (or is not
/// a regular file).
fn drop_one(store: &Store, abs: &Path) -> Result<Option<u64>, GitError> {
    let meta = std::fs::symlink_metadata(abs).map_err(|e| fail(abs, e.to_string()))?;
    if !meta.is_file() || read_pointer(abs)?.is_some() {
        return Ok(None);
    }
    let file = std::fs::File::open(abs).map_err(|e| fail(abs, e.to_string()))?;
    let mut r = ShaTee::new(BufReader::with_capacity(1 << 20, file));
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| fail(abs, e.to_string()))?;
    let (sha256, size) = (r.digest(), r.size());
    let not_stored = |why: &str| {
        fail(
            abs,
            format!(
                "{why} (sha256:{sha256}); commit it through the gadn filter first; nothing changed"
            ),
        )
    };
    let Some((id, stored_size)) = store.db().lfs_get(&sha256).map_err(StoreError::from)? else {
        return Err(not_stored("this content is not in the gadn store"));
    };
    if stored_size != size || !store.contains(&id) {
        return Err(not_stored(
            "the gadn store's record of this content is incomplete",
        ));
    }
    // Every chunk must be present: the pointer will be the only copy in the tree.
    let fobj = store.file(&id)?;
    for c in store.file_chunks(&id, &fobj) {
        let c = c.map_err(|e| fail(abs, format!("stored content is damaged: {e}")))?;
        if !store.contains(&c.id) {
            return Err(not_stored(
                "a chunk of this content is missing from the gadn store",
            ));
        }
    }
    let pointer = Pointer {
        sha256,
        size,
        gadn: Some(id),
    }
    .encode();
    replace_with(abs, |f| {
        f.write_all(&pointer).map_err(|e| fail(abs, e.to_string()))
    })?;
    Ok(Some(size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_failed_replacement_leaves_the_file_and_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a.png");
        std::fs::write(&f, b"original").unwrap();
        let e = replace_with(&f, |out| {
            out.write_all(b"partial").unwrap();
            Err(fail(&f, "boom"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("a.png: boom"), "{e}");
        assert_eq!(std::fs::read(&f).unwrap(), b"original");
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "temporary removed"
        );

        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o750)).unwrap();
        replace_with(&f, |out| {
            out.write_all(b"new").map_err(|e| fail(&f, e.to_string()))
        })
        .unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"new");
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn pointers_and_content_are_told_apart() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x");
        let p = Pointer {
            sha256: crate::store::Sha256([1; 32]),
            size: 9,
            gadn: None,
        };
        std::fs::write(&f, p.encode()).unwrap();
        assert_eq!(read_pointer(&f).unwrap(), Some(p));
        std::fs::write(&f, b"just content").unwrap();
        assert_eq!(read_pointer(&f).unwrap(), None);
        std::fs::write(&f, vec![b'v'; MAX_POINTER_LEN + 1]).unwrap();
        assert_eq!(read_pointer(&f).unwrap(), None);
        std::fs::write(
            &f,
            format!(
                "version {}\noid sha256:zz\n",
                super::super::pointer::LFS_SPEC_V1
            ),
        )
        .unwrap();
        let e = read_pointer(&f).unwrap_err();
        assert!(e.to_string().contains("corrupt pointer"), "{e}");
    }
}
