//! Branches: `refs/heads/NAME` refs listed, created, deleted, renamed and switched to.
//!
//! Every ref write is a compare-and-swap against the value read, so a concurrent
//! writer makes the operation fail with [`VcsError::Raced`] (or
//! [`VcsError::BranchExists`]) instead of being silently overwritten.

use std::collections::HashSet;

use super::checkout::{CheckoutOptions, CheckoutReport};
use super::ident::Identity;
use super::{Repo, VcsError};
use crate::store::db::{check_ref_name, DbError, Expect, RefTarget, ReflogInfo};
use crate::store::ObjectId;

/// Where branch refs live.
pub(crate) const HEADS: &str = "refs/heads/";

/// One branch, as listed by [`Repo::branches`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BranchInfo {
    /// Short name (`main`, not `refs/heads/main`).
    pub name: String,
    /// The commit it points at (hex in JSON).
    pub commit: ObjectId,
    /// True if `HEAD` is attached to it.
    pub current: bool,
}

/// Checks `name` as the short name of a ref under `prefix` (`refs/heads/` or
/// `refs/tags/`) and returns the full ref name.
pub(crate) fn full_name(what: &'static str, prefix: &str, name: &str) -> Result<String, VcsError> {
    let bad = |reason: &str| VcsError::BadName {
        what,
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.starts_with('-') {
        return Err(bad("begins with '-'"));
    }
    if name == "HEAD" || name == "@" {
        return Err(bad("is reserved for HEAD"));
    }
    if name.starts_with("refs/") {
        return Err(bad("begins with 'refs/' (give the short name)"));
    }
    let full = format!("{prefix}{name}");
    match check_ref_name(&full) {
        Ok(()) => Ok(full),
        Err(DbError::BadRefName { reason, .. }) => Err(bad(&reason)),
        Err(e) => Err(e.into()),
    }
}

/// A reflog entry for the current identity, now.
pub(crate) fn reflog(repo: &Repo, message: String) -> ReflogInfo {
    let me = Identity::from_env(repo.store()).now();
    ReflogInfo {
        who: me.ident(),
        time: me.time,
        tz_offset_min: me.tz_offset_min,
        message,
    }
}

/// A lost compare-and-swap as [`VcsError::Raced`]; other errors unchanged.
pub(crate) fn raced(e: DbError) -> VcsError {
    match e {
        DbError::RefConflict { name, actual, .. } => VcsError::Raced {
            name,
            actual: actual.map_or_else(|| "nothing".into(), |a| a.to_hex()),
        },
        other => other.into(),
    }
}

impl Repo {
    /// Every branch, sorted by name, with the current one marked.
    pub fn branches(&self) -> Result<Vec<BranchInfo>, VcsError> {
        let current = self.head()?.0;
        Ok(self
            .store()
            .db()
            .list_refs(HEADS)?
            .into_iter()
            .map(|(full, commit)| BranchInfo {
                current: current.as_deref() == Some(full.as_str()),
                name: full[HEADS.len()..].to_string(),
                commit,
            })
            .collect())
    }

    /// The commit branch `name` points at.
    fn branch_tip(&self, name: &str) -> Result<(String, ObjectId), VcsError> {
        let full = full_name("branch", HEADS, name)?;
        match self.store().db().read_ref(&full)? {
            Some(RefTarget::Id(id)) => Ok((full, id)),
            _ => Err(VcsError::NoSuchBranch { name: name.into() }),
        }
    }

    /// Creates branch `name` at `start` (a revision; `HEAD` when `None`) and returns
    /// the commit it points at. Fails if the branch exists.
    pub fn create_branch(&self, name: &str, start: Option<&str>) -> Result<ObjectId, VcsError> {
        let full = full_name("branch", HEADS, name)?;
        let commit = match start {
            Some(rev) => self.resolve_commit(rev)?,
            None => self.head()?.1.ok_or_else(|| VcsError::NoCommitsYet {
                what: "branch",
                name: name.into(),
            })?,
        };
        let log = reflog(
            self,
            format!("branch: created from {}", start.unwrap_or("HEAD")),
        );
        match self
            .store()
            .db()
            .update_ref(&full, Expect::Absent, commit, &log)
        {
            Ok(()) => Ok(commit),
            Err(DbError::RefConflict { .. }) => Err(VcsError::BranchExists { name: name.into() }),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes branch `name` and returns the commit it pointed at. Refuses the
    /// current branch, and (unless `force`) a branch whose tip no other branch and
    /// not `HEAD` reaches. The reflog keeps the commits recoverable.
    pub fn delete_branch(&self, name: &str, force: bool) -> Result<ObjectId, VcsError> {
        let (full, tip) = self.branch_tip(name)?;
        let (current, head) = self.head()?;
        if current.as_deref() == Some(full.as_str()) {
            return Err(VcsError::CurrentBranch { name: name.into() });
        }
        if !force {
            let mut roots: Vec<ObjectId> = head.into_iter().collect();
            roots.extend(
                self.store()
                    .db()
                    .list_refs(HEADS)?
                    .into_iter()
                    .filter(|(n, _)| *n != full)
                    .map(|(_, id)| id),
            );
            if !self.reaches(&roots, tip)? {
                return Err(VcsError::NotMerged {
                    name: name.into(),
                    tip: tip.to_hex(),
                });
            }
        }
        let log = reflog(self, format!("branch: deleted {name}"));
        self.store()
            .db()
            .delete_ref(&full, Expect::Value(tip), &log)
            .map_err(raced)?;
        Ok(tip)
    }

    /// True if `target` is one of `roots` or an ancestor of one.
    fn reaches(&self, roots: &[ObjectId], target: ObjectId) -> Result<bool, VcsError> {
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut todo: Vec<ObjectId> = roots.to_vec();
        while let Some(id) = todo.pop() {
            if id == target {
                return Ok(true);
            }
            if !seen.insert(id) {
                continue;
            }
            todo.extend(self.store().commit(&id)?.parents);
        }
        Ok(false)
    }

    /// Renames branch `old` to `new` (which must not exist). If `HEAD` is on `old`
    /// it follows. The current branch may be renamed before its first commit.
    pub fn rename_branch(&mut self, old: &str, new: &str) -> Result<(), VcsError> {
        let old_full = full_name("branch", HEADS, old)?;
        let new_full = full_name("branch", HEADS, new)?;
        let tip = match self.store().db().read_ref(&old_full)? {
            Some(RefTarget::Id(id)) => Some(id),
            _ => None,
        };
        let (current, head) = self.head()?;
        let on_old = current.as_deref() == Some(old_full.as_str());
        if tip.is_none() && !(on_old && head.is_none()) {
            return Err(VcsError::NoSuchBranch { name: old.into() });
        }
        if old_full == new_full {
            return Ok(());
        }
        if self.store().db().read_ref(&new_full)?.is_some() {
            return Err(VcsError::BranchExists { name: new.into() });
        }
        let log = reflog(self, format!("branch: renamed {old_full} to {new_full}"));
        let result = self.store_mut().db_mut().transaction(|tx| {
            if let Some(tip) = tip {
                tx.update_ref(&new_full, Expect::Absent, tip, &log)?;
                tx.delete_ref(&old_full, Expect::Value(tip), &log)?;
            }
            // Re-read HEAD inside the transaction: it moves only if still on `old`.
            if tx.read_ref("HEAD")? == Some(RefTarget::Symbolic(old_full.clone())) {
                tx.set_symbolic_logged("HEAD", &new_full, &log)?;
            }
            Ok::<(), DbError>(())
        });
        match result {
            Err(DbError::RefConflict { name, .. }) if name == new_full => {
                Err(VcsError::BranchExists { name: new.into() })
            }
            other => other.map_err(raced),
        }
    }

    /// Attaches `HEAD` to branch `name` and makes the working tree and index match
    /// it. With `create`, the branch is first made at `HEAD` (and the working tree,
    /// local changes included, is kept as it is). Local changes that would be lost
    /// fail with [`VcsError::DirtyTree`] and change nothing, unless `force`.
    pub fn switch(
        &mut self,
        name: &str,
        create: bool,
        force: bool,
    ) -> Result<CheckoutReport, VcsError> {
        self.switch_with_progress(name, create, force, &|_, _| {})
    }

    /// [`Repo::switch`], reporting bytes written as [`Repo::checkout_with_progress`]
    /// does.
    pub fn switch_with_progress(
        &mut self,
        name: &str,
        create: bool,
        force: bool,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> Result<CheckoutReport, VcsError> {
        let full = full_name("branch", HEADS, name)?;
        let (current, head) = self.head()?;
        if create {
            return self.create_and_attach(name, &full, head);
        }
        self.branch_tip(name)?;
        if current.as_deref() == Some(full.as_str()) && !force {
            return Ok(CheckoutReport {
                head: name.into(),
                ..Default::default()
            });
        }
        let opts = CheckoutOptions {
            force,
            paths: Vec::new(),
        };
        self.checkout_with_progress(name, &opts, progress)
            .map_err(|e| match e {
                // Name the command the user ran.
                VcsError::DirtyTree { paths, .. } => VcsError::DirtyTree {
                    operation: "switch",
                    paths,
                },
                other => other,
            })
    }

    /// `switch -c`: the new branch starts at `HEAD`, so the working tree and index
    /// already match it; only the refs change, together.
    fn create_and_attach(
        &mut self,
        name: &str,
        full: &str,
        head: Option<ObjectId>,
    ) -> Result<CheckoutReport, VcsError> {
        if self.store().db().read_ref(full)?.is_some() {
            return Err(VcsError::BranchExists { name: name.into() });
        }
        let log = reflog(self, format!("switch: creating and moving to {name}"));
        let result = self.store_mut().db_mut().transaction(|tx| {
            // HEAD must still be where it was read, or the tree would not match.
            let now = tx.resolve_ref("HEAD")?.and_then(|(_, id)| id);
            if now != head {
                return Err(DbError::RefConflict {
                    name: "HEAD".into(),
                    expected: head.into(),
                    actual: now,
                });
            }
            if let Some(head) = head {
                tx.update_ref(full, Expect::Absent, head, &log)?;
            } else if tx.read_ref(full)?.is_some() {
                return Err(DbError::RefConflict {
                    name: full.into(),
                    expected: Expect::Absent,
                    actual: None,
                });
            }
            tx.set_symbolic_logged("HEAD", full, &log)
        });
        match result {
            Err(DbError::RefConflict { name: n, .. }) if n == full => {
                return Err(VcsError::BranchExists { name: name.into() })
            }
            other => other.map_err(raced)?,
        }
        Ok(CheckoutReport {
            head: name.into(),
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::vcs::testutil::{commit_all, put, repo};

    fn names(repo: &Repo) -> Vec<(String, bool)> {
        repo.branches()
            .unwrap()
            .into_iter()
            .map(|b| (b.name, b.current))
            .collect()
    }

    #[test]
    fn names_are_checked() {
        for bad in [
            "a..b",
            "x.lock",
            "",
            "-x",
            "HEAD",
            "a b",
            "refs/heads/x",
            "a/",
        ] {
            let err = full_name("branch", HEADS, bad).unwrap_err();
            assert!(matches!(err, VcsError::BadName { .. }), "{bad}: {err:?}");
            assert!(
                err.to_string().contains("is not a valid branch name"),
                "{err}"
            );
        }
        assert_eq!(
            full_name("tag", "refs/tags/", "v1.0").unwrap(),
            "refs/tags/v1.0"
        );
        assert_eq!(
            full_name("branch", HEADS, "feature/x").unwrap(),
            "refs/heads/feature/x"
        );
    }

    #[test]
    fn create_list_delete_rename() {
        let (_d, mut repo) = repo();
        let err = repo.create_branch("early", None).unwrap_err();
        assert!(matches!(err, VcsError::NoCommitsYet { .. }), "{err:?}");
        put(&repo, "a.txt", b"one");
        let first = commit_all(&mut repo, "first");
        assert_eq!(repo.create_branch("topic", None).unwrap(), first);
        assert!(matches!(
            repo.create_branch("topic", None),
            Err(VcsError::BranchExists { .. })
        ));
        assert_eq!(
            names(&repo),
            [("main".to_string(), true), ("topic".to_string(), false)]
        );
        // Current branch refused.
        assert!(matches!(
            repo.delete_branch("main", true),
            Err(VcsError::CurrentBranch { .. })
        ));
        assert!(matches!(
            repo.delete_branch("nope", false),
            Err(VcsError::NoSuchBranch { .. })
        ));
        // Merged: deleted without force.
        assert_eq!(repo.delete_branch("topic", false).unwrap(), first);
        // Unmerged: refused without force.
        repo.switch("topic", true, false).unwrap();
        put(&repo, "a.txt", b"two");
        let second = commit_all(&mut repo, "second");
        repo.switch("main", false, false).unwrap();
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"one");
        let err = repo.delete_branch("topic", false).unwrap_err();
        assert!(matches!(err, VcsError::NotMerged { .. }), "{err:?}");
        // Renaming the current branch moves HEAD with it.
        repo.rename_branch("main", "trunk").unwrap();
        assert_eq!(
            repo.head().unwrap(),
            (Some("refs/heads/trunk".into()), Some(first))
        );
        assert!(matches!(
            repo.rename_branch("trunk", "topic"),
            Err(VcsError::BranchExists { .. })
        ));
        repo.rename_branch("topic", "work").unwrap();
        assert_eq!(repo.resolve_commit("work").unwrap(), second);
        assert!(repo.resolve_commit("topic").is_err());
        assert_eq!(repo.delete_branch("work", true).unwrap(), second);
        assert_eq!(names(&repo), [("trunk".to_string(), true)]);
    }

    #[test]
    fn switch_is_refused_on_a_dirty_tree_and_changes_nothing() {
        let (_d, mut repo) = repo();
        put(&repo, "a.txt", b"one");
        commit_all(&mut repo, "first");
        repo.create_branch("other", None).unwrap();
        repo.switch("other", false, false).unwrap();
        put(&repo, "a.txt", b"two");
        let second = commit_all(&mut repo, "second");
        put(&repo, "a.txt", b"dirty");
        let err = repo.switch("main", false, false).unwrap_err();
        assert!(matches!(err, VcsError::DirtyTree { .. }), "{err:?}");
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"dirty");
        assert_eq!(
            repo.head().unwrap(),
            (Some("refs/heads/other".into()), Some(second))
        );
        // `-c` keeps local changes: the new branch starts where HEAD is.
        repo.switch("keep", true, false).unwrap();
        assert_eq!(
            repo.head().unwrap(),
            (Some("refs/heads/keep".into()), Some(second))
        );
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"dirty");
        // Forced: the change is discarded.
        let report = repo.switch("main", false, true).unwrap();
        assert_eq!(report.head, "main");
        assert_eq!(std::fs::read(repo.root().join("a.txt")).unwrap(), b"one");
        assert!(repo.status().unwrap().is_clean());
        assert!(matches!(
            repo.switch("missing", false, false),
            Err(VcsError::NoSuchBranch { .. })
        ));
    }

    #[test]
    fn unborn_branch_can_be_renamed_and_switched_away_from() {
        let (_d, mut repo) = repo();
        repo.rename_branch("main", "trunk").unwrap();
        assert_eq!(
            repo.head().unwrap(),
            (Some("refs/heads/trunk".into()), None)
        );
        repo.switch("dev", true, false).unwrap();
        put(&repo, "a.txt", b"x");
        let c = commit_all(&mut repo, "first");
        assert_eq!(repo.resolve_commit("dev").unwrap(), c);
    }

    #[test]
    fn errors_say_what_to_do_next() {
        let cases = [
            (
                VcsError::BranchExists { name: "b".into() },
                "a branch named 'b' already exists\nhint: pick another name, or delete it first with `gadn branch -d b`",
            ),
            (
                VcsError::NotMerged {
                    name: "b".into(),
                    tip: "abc".into(),
                },
                "branch 'b' has commits not reachable from HEAD or any other branch (tip abc)\nhint: merge them first, or use `gadn branch -D b` to delete it anyway",
            ),
            (
                VcsError::CurrentBranch { name: "b".into() },
                "cannot delete branch 'b': it is the current branch\nhint: switch to another branch first",
            ),
            (
                VcsError::NoCommitsYet {
                    what: "tag",
                    name: "v1".into(),
                },
                "cannot create tag 'v1': there are no commits yet\nhint: make a first commit with `gadn commit`",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
        let err = full_name("branch", HEADS, "a..b").unwrap_err().to_string();
        assert!(
            err.starts_with("'a..b' is not a valid branch name: it "),
            "{err}"
        );
        assert!(err.contains("\nhint: "), "{err}");
        let conflict = DbError::RefConflict {
            name: "refs/heads/x".into(),
            expected: Expect::Absent,
            actual: None,
        };
        assert!(matches!(raced(conflict), VcsError::Raced { actual, .. } if actual == "nothing"));
    }
}
