//! Inspecting a store: [`fsck`] and [`stats`], on a repository's store or on the
//! store of a Git repository (`.git/gadn`).

#[cfg(feature = "git")]
use std::path::Path;

use super::{Error, Progress, Unit};
use crate::store::{FsckReport, Store, StoreStats};
use crate::vcs::Repo;

/// The store an inspection reads.
#[derive(Debug, Clone, Copy)]
pub enum StoreOf<'a> {
    /// An open repository's store.
    Repo(&'a Repo),
    /// The gadn store of the Git repository around this directory
    /// (`gadn git install` made it).
    #[cfg(feature = "git")]
    Git(&'a Path),
}

/// State key holding the number of problems the last fsck of this store found
/// (records damaged, links broken); absent when it found none. Set by [`fsck`] and
/// `fsck_repair`, read by `fetch`, which cannot see damage to chunks it does not
/// read and so says what fsck found (`store-format.md` § 7).
pub const FSCK_DAMAGED_KEY: &str = "fsck.damaged";

/// Verifies every record, object and reference of the store, reporting the pack
/// bytes read to `progress`. Damage is in the report (`is_ok()` false), not an
/// error: an error means the check itself could not run. The outcome is recorded
/// under [`FSCK_DAMAGED_KEY`].
pub fn fsck(of: StoreOf<'_>, progress: &dyn Progress) -> Result<FsckReport, Error> {
    with_store(of, |store| {
        let total = store.pack_bytes();
        progress.start("verifying", Unit::Bytes, total);
        let report = store.fsck(&mut |n| progress.advance(n, total));
        progress.finish();
        let report = report?;
        mark_damage(store, &report);
        Ok(report)
    })
}

/// Records `report`'s problem count under [`FSCK_DAMAGED_KEY`] (removes the key when
/// there is none). Best effort: a database that cannot take it must not hide what
/// fsck found.
pub(super) fn mark_damage(store: &Store, report: &FsckReport) {
    let problems = report.damaged.len() + report.broken_links.len();
    let _ = if problems == 0 {
        store.db().state_delete(FSCK_DAMAGED_KEY).map(|_| ())
    } else {
        store
            .db()
            .state_set(FSCK_DAMAGED_KEY, &problems.to_string())
    };
}

/// The problem count the last fsck of `store` recorded, if it found any.
pub fn last_fsck_problems(store: &Store) -> Result<Option<u64>, Error> {
    Ok(store
        .db()
        .state_get(FSCK_DAMAGED_KEY)?
        .and_then(|v| v.parse().ok()))
}

/// Sizes, counts and ratios of the store.
pub fn stats(of: StoreOf<'_>) -> Result<StoreStats, Error> {
    with_store(of, |store| Ok(store.stats()?))
}

/// Runs `f` on the store `of` names, opening it when it is a Git repository's.
fn with_store<T>(of: StoreOf<'_>, f: impl FnOnce(&Store) -> Result<T, Error>) -> Result<T, Error> {
    match of {
        StoreOf::Repo(repo) => f(repo.store()),
        #[cfg(feature = "git")]
        StoreOf::Git(cwd) => f(&open_git_store(cwd)?),
    }
}

/// The gadn store of the Git repository around `cwd`.
#[cfg(feature = "git")]
pub(super) fn open_git_store(cwd: &Path) -> Result<Store, Error> {
    let dir = crate::git::store_dir(&crate::git::git_dir(cwd)?);
    if !dir.is_dir() {
        return Err(Error::NoGitStore(dir));
    }
    Ok(Store::open(&dir)?)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::ops::NoProgress;
    use crate::vcs::testutil::{commit_all, put, repo};

    /// Records the last `advance` seen.
    #[derive(Default)]
    struct Last(AtomicU64, AtomicU64);

    impl Progress for Last {
        fn advance(&self, done: u64, total: u64) {
            self.0.store(done, Ordering::Relaxed);
            self.1.store(total, Ordering::Relaxed);
        }
    }

    #[test]
    fn fsck_and_stats_read_a_repositorys_store_and_report_progress() {
        let (_d, mut r) = repo();
        put(&r, "a.bin", &[7u8; 100_000]);
        commit_all(&mut r, "one");
        let seen = Last::default();
        let report = fsck(StoreOf::Repo(&r), &seen).expect("fsck");
        assert!(report.is_ok(), "{report:?}");
        assert!(report.records > 0);
        let total = seen.1.load(Ordering::Relaxed);
        assert_eq!(total, r.store().pack_bytes());
        let done = seen.0.load(Ordering::Relaxed);
        assert!(done > 0 && done <= total, "{done} of {total}");
        let s = stats(StoreOf::Repo(&r)).expect("stats");
        assert_eq!(s.files, 1);
        assert_eq!(s.logical_bytes, 100_000);
    }

    #[cfg(feature = "git")]
    #[test]
    fn a_git_repository_without_a_gadn_store_says_how_to_make_one() {
        let d = tempfile::tempdir().expect("tmp");
        let ok = std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(d.path())
            .status()
            .expect("git")
            .success();
        assert!(ok);
        let e = fsck(StoreOf::Git(d.path()), &NoProgress).expect_err("no store");
        assert!(matches!(e, Error::NoGitStore(_)), "{e}");
        assert!(e.to_string().contains("gadn git install"), "{e}");
        assert!(matches!(
            stats(StoreOf::Git(d.path())),
            Err(Error::NoGitStore(_))
        ));
    }
}
