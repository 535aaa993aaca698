//! What Git's history names: the LFS objects of every pointer blob reachable from
//! Git's refs, reflogs and index. `gadn git gc` keeps exactly these (and what the
//! gadn store's own roots reach) in `.git/gadn`.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use super::error::GitError;
use super::pointer::{Pointer, MAX_POINTER_LEN};
use super::run_git;
use crate::store::Sha256;

/// The SHA-256s of the LFS pointers in every blob Git can reach from `cwd`'s
/// repository: all refs, all reflog entries, the index (`git rev-list --objects
/// --all --reflog --indexed-objects`). Blobs larger than a pointer are skipped
/// without being read; blobs that do not parse as pointers are not content gadn
/// stores.
pub fn pointed_objects(cwd: &Path) -> Result<HashSet<Sha256>, GitError> {
    let listed = run_git(
        cwd,
        &[
            "rev-list",
            "--objects",
            "--all",
            "--reflog",
            "--indexed-objects",
        ],
    )?;
    let ids: Vec<&[u8]> = listed
        .split(|b| *b == b'\n')
        .filter_map(|l| l.split(|b| *b == b' ').next())
        .filter(|id| !id.is_empty())
        .collect();
    // Type and size of each; only blobs small enough to be pointers are read.
    let checked = cat_file(
        cwd,
        &["--batch-check=%(objectname) %(objecttype) %(objectsize)"],
        &ids,
    )?;
    let mut small = Vec::new();
    for line in checked.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let mut f = text.split(' ');
        if let (Some(id), Some("blob"), Some(size)) = (f.next(), f.next(), f.next()) {
            if size.parse::<usize>().is_ok_and(|n| n <= MAX_POINTER_LEN) {
                small.push(id.as_bytes().to_vec());
            }
        }
    }
    let small_refs: Vec<&[u8]> = small.iter().map(Vec::as_slice).collect();
    let batch = cat_file(cwd, &["--batch"], &small_refs)?;
    let mut out = HashSet::new();
    let mut r = BufReader::new(&batch[..]);
    let mut header = String::new();
    loop {
        header.clear();
        if r.read_line(&mut header).map_err(git_io)? == 0 {
            break;
        }
        // "<id> <type> <size>\n<content>\n"
        let size = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| GitError::GitFailed {
                args: "cat-file --batch".into(),
                stderr: format!("unexpected header {:?}", header.trim()),
            })?;
        let mut content = vec![0u8; size + 1];
        r.read_exact(&mut content).map_err(git_io)?;
        content.pop();
        if let Ok(p) = Pointer::parse(&content) {
            out.insert(p.sha256);
        }
    }
    Ok(out)
}

/// `git cat-file ARGS` with `ids` on stdin (one per line, written by a thread so a
/// full stdout pipe cannot deadlock it); its stdout.
fn cat_file(cwd: &Path, args: &[&str], ids: &[&[u8]]) -> Result<Vec<u8>, GitError> {
    let mut input = Vec::with_capacity(ids.len() * 41);
    for id in ids {
        input.extend_from_slice(id);
        input.push(b'\n');
    }
    let mut child = Command::new("git")
        .arg("cat-file")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| git_io(std::io::Error::other("no stdin")))?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|source| GitError::GitNotRunnable { source })?;
    let written = writer
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("writer panicked")));
    if !out.status.success() {
        return Err(GitError::GitFailed {
            args: format!("cat-file {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    written.map_err(git_io)?;
    Ok(out.stdout)
}

fn git_io(source: std::io::Error) -> GitError {
    GitError::GitNotRunnable { source }
}
