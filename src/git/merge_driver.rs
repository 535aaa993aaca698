//! `gadn git merge-driver`: the `merge=gadn` driver `gadn git install` defines, so a
//! Git merge never writes conflict markers into a pointer file.
//!
//! Git runs a merge driver only for a path both sides changed. The files it hands
//! over are the clean (pointer) versions: `%O` the merge base, `%A` ours (the result
//! goes there), `%B` theirs. Pointers name whole binary assets, which have no line
//! merge, so the rule is the one of Git's built-in `binary` driver, with the trivial
//! cases settled first:
//!
//! * ours and theirs identical, or theirs the same as the base: ours stands (clean);
//! * ours the same as the base: theirs is taken (clean);
//! * both changed differently: ours is kept untouched in `%A` and the merge reports a
//!   conflict, which the user settles with `git checkout --ours|--theirs PATH` (or a
//!   new version of the file) and `git add`.
//!
//! An input larger than a pointer can be ([`MAX_POINTER_LEN`]) is never read whole: it
//! is not a pointer, and the merge is a conflict with ours kept. Nothing is fetched or
//! stored; the smudge filter materialises whatever pointer ends up in `%A`.

use std::io::Read;
use std::path::Path;

use super::pointer::MAX_POINTER_LEN;
use super::GitError;

/// What [`merge_pointers`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriverOutcome {
    /// Ours stands (the file in `%A` is unchanged).
    KeptOurs,
    /// Theirs was written to `%A`.
    TookTheirs,
    /// Both sides changed the asset differently; ours is kept in `%A`.
    Conflict,
}

/// Reads `path` whole if it is at most a pointer's size; `None` when larger.
fn read_small(path: &Path) -> Result<Option<Vec<u8>>, GitError> {
    let io = |source| GitError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    file.take(MAX_POINTER_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    Ok((buf.len() <= MAX_POINTER_LEN).then_some(buf))
}

/// Merges the three versions of one path, leaving the result in `ours` (see the
/// module docs).
pub fn merge_pointers(base: &Path, ours: &Path, theirs: &Path) -> Result<DriverOutcome, GitError> {
    let (b, o, t) = (read_small(base)?, read_small(ours)?, read_small(theirs)?);
    let (Some(b), Some(o), Some(t)) = (b, o, t) else {
        return Ok(DriverOutcome::Conflict);
    };
    if o == t || t == b {
        return Ok(DriverOutcome::KeptOurs);
    }
    if o == b {
        std::fs::write(ours, &t).map_err(|source| GitError::Io {
            path: ours.to_path_buf(),
            source,
        })?;
        return Ok(DriverOutcome::TookTheirs);
    }
    Ok(DriverOutcome::Conflict)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three(b: &[u8], o: &[u8], t: &[u8]) -> (tempfile::TempDir, [std::path::PathBuf; 3]) {
        let d = tempfile::tempdir().unwrap();
        let paths = ["O", "A", "B"].map(|n| d.path().join(n));
        for (p, c) in paths.iter().zip([b, o, t]) {
            std::fs::write(p, c).unwrap();
        }
        (d, paths)
    }

    fn run(b: &[u8], o: &[u8], t: &[u8]) -> (DriverOutcome, Vec<u8>) {
        let (_d, [pb, po, pt]) = three(b, o, t);
        let out = merge_pointers(&pb, &po, &pt).unwrap();
        (out, std::fs::read(&po).unwrap())
    }

    #[test]
    fn trivial_cases_merge_cleanly_and_real_conflicts_keep_ours() {
        assert_eq!(
            run(b"base", b"same", b"same"),
            (DriverOutcome::KeptOurs, b"same".to_vec())
        );
        assert_eq!(
            run(b"base", b"ours", b"base"),
            (DriverOutcome::KeptOurs, b"ours".to_vec())
        );
        assert_eq!(
            run(b"base", b"base", b"theirs"),
            (DriverOutcome::TookTheirs, b"theirs".to_vec())
        );
        assert_eq!(
            run(b"base", b"ours", b"theirs"),
            (DriverOutcome::Conflict, b"ours".to_vec())
        );
    }

    #[test]
    fn an_input_bigger_than_a_pointer_is_a_conflict_and_never_read_whole() {
        let big = vec![b'x'; MAX_POINTER_LEN + 1];
        assert_eq!(
            run(b"base", b"base", &big),
            (DriverOutcome::Conflict, b"base".to_vec())
        );
        assert_eq!(run(&big, &big, &big).0, DriverOutcome::Conflict);
        let d = tempfile::tempdir().unwrap();
        let gone = d.path().join("gone");
        let e = merge_pointers(&gone, &gone, &gone).unwrap_err();
        assert!(e.to_string().contains("gone"), "{e}");
    }
}
