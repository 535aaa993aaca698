//! Store maintenance: [`gc`] (reflog expiry, then dropping what nothing reaches) and
//! [`reflog`] (where refs were, to recover a deleted branch or a reset commit).

use serde::Serialize;

use super::Error;
use crate::store::db::ReflogEntry;
pub use crate::store::{GcOptions, GcReport, REFLOG_EXPIRE_DAYS, REFLOG_EXPIRE_UNREACHABLE_DAYS};
use crate::vcs::Repo;

/// Expires old reflog entries and drops every record nothing reaches, under the
/// store's write lock (see [`GcOptions`] for the expiry rule; `dry_run` reports
/// without changing anything). A store with broken references is
/// [`Error::GcRefused`]: deleting could destroy what a repair needs.
pub fn gc(repo: &mut Repo, opts: &GcOptions) -> Result<GcReport, Error> {
    let store = repo.store_mut();
    let (lock, _) = store.lock()?;
    Ok(store.gc(&lock, opts)??)
}

/// [`gc`] for the gadn store of the Git repository around `cwd` (`.git/gadn`):
/// keeps the content of every LFS pointer Git can reach (all refs, reflogs, the
/// index; see [`crate::git::history::pointed_objects`]), plus content stored in the
/// last hour that Git may not name yet, and forgets the rest. Takes the store lock
/// before asking Git, so no filter stores anything meanwhile.
#[cfg(feature = "git")]
pub fn git_gc(cwd: &std::path::Path, opts: &GcOptions) -> Result<GcReport, Error> {
    let mut store = super::inspect::open_git_store(cwd)?;
    let (lock, _) = store.lock()?;
    let keep = crate::git::history::pointed_objects(cwd)?;
    Ok(store.gc_keeping_lfs(&lock, opts, Some(&keep))??)
}

/// One reflog entry with the name of its ref.
#[derive(Debug, Clone, Serialize)]
pub struct ReflogLine {
    /// The ref (`HEAD`, `refs/heads/main`, …; deleted refs keep their log).
    pub name: String,
    /// The entry.
    #[serde(flatten)]
    pub entry: ReflogEntry,
}

/// The reflog of `name` (a full ref name, or a branch name; `None`: every ref's),
/// newest first within each ref; refs in name order.
pub fn reflog(repo: &Repo, name: Option<&str>) -> Result<Vec<ReflogLine>, Error> {
    let db = repo.store().db();
    let names = match name {
        None => db.reflog_names()?,
        Some(n) if n == "HEAD" || n.starts_with("refs/") => vec![n.to_string()],
        Some(n) => vec![format!("refs/heads/{n}")],
    };
    let mut out = Vec::new();
    for n in names {
        for entry in db.reflog(&n)? {
            out.push(ReflogLine {
                name: n.clone(),
                entry,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcs::testutil::{commit_all, put, repo};

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// A repository whose deleted branch `big` held a 300 KB file no other commit has.
    fn with_deleted_branch() -> (tempfile::TempDir, Repo) {
        let (d, mut r) = repo();
        put(&r, "a.txt", b"base");
        commit_all(&mut r, "base");
        r.create_branch("big", None).unwrap();
        r.switch("big", false, false).unwrap();
        put(
            &r,
            "big.bin",
            &crate::store::pack::testutil::random_bytes(9, 300_000),
        );
        commit_all(&mut r, "big");
        r.switch("main", false, false).unwrap();
        r.delete_branch("big", true).unwrap();
        (d, r)
    }

    #[test]
    fn the_reflog_keeps_a_deleted_branch_until_it_expires() {
        let (_d, mut r) = with_deleted_branch();
        let log = reflog(&r, Some("big")).unwrap();
        assert!(
            log.iter().any(|l| l.entry.new.is_none()),
            "deletion logged: {log:?}"
        );
        let all = reflog(&r, None).unwrap();
        assert!(all.iter().any(|l| l.name == "HEAD"));
        // Default expiry: everything is minutes old, nothing goes.
        let before = r.store().pack_bytes();
        let kept = gc(&mut r, &GcOptions::now()).unwrap();
        assert_eq!((kept.reflog_expired, kept.removed), (0, 0), "{kept:?}");
        assert_eq!(r.store().pack_bytes(), before);
        // Thirty-one days on, the deleted branch's entries that name its own commit
        // or its deletion expire (its creation at main's commit stays); HEAD's entry
        // of the switch back still names the big commit as its old value (a root, as
        // in git), and that entry is in main's history: 90 days.
        let month = GcOptions::defaults(now() + 31 * 86_400);
        let dry = gc(
            &mut r,
            &GcOptions {
                dry_run: true,
                ..month
            },
        )
        .unwrap();
        assert!(dry.dry_run && dry.reflog_expired > 0, "{dry:?}");
        assert_eq!(
            reflog(&r, Some("big")).unwrap().len(),
            log.len(),
            "a dry run changes nothing"
        );
        let done = gc(&mut r, &month).unwrap();
        assert_eq!(done.reflog_expired, dry.reflog_expired);
        let left = reflog(&r, Some("big")).unwrap();
        assert!(left.len() < log.len(), "{left:?}");
        let base = r.resolve_commit("main").unwrap();
        assert!(left.iter().all(|l| l.entry.new == Some(base)), "{left:?}");
        assert!(!reflog(&r, Some("main")).unwrap().is_empty());
        // A quarter on, every entry has expired, and the big file goes.
        let quarter = GcOptions::defaults(now() + 91 * 86_400);
        let dry = gc(
            &mut r,
            &GcOptions {
                dry_run: true,
                ..quarter
            },
        )
        .unwrap();
        assert!(dry.removed > 0 && dry.removed_bytes >= 250_000, "{dry:?}");
        assert_eq!(r.store().pack_bytes(), before, "a dry run changes nothing");
        let done = gc(&mut r, &quarter).unwrap();
        assert_eq!(done.removed, dry.removed);
        assert!(done.bytes_after + 250_000 <= done.bytes_before, "{done:?}");
        assert!(reflog(&r, None).unwrap().is_empty());
        assert!(r.store().fsck(&mut |_| {}).unwrap().is_ok());
    }

    #[test]
    fn prune_now_drops_every_entry_but_keeps_what_refs_reach() {
        let (_d, mut r) = with_deleted_branch();
        let now = now() + 1;
        let done = gc(&mut r, &GcOptions::prune_before(now)).unwrap();
        assert!(done.reflog_expired > 0 && done.removed > 0, "{done:?}");
        assert!(reflog(&r, None).unwrap().is_empty());
        let crate::vcs::Resolved::Entry { entry, .. } = r.resolve("HEAD:a.txt").unwrap() else {
            panic!("a file")
        };
        assert_eq!(r.store().read_file_bytes(&entry.id).unwrap(), b"base");
        assert!(r.store().fsck(&mut |_| {}).unwrap().is_ok());
    }
}
