//! Advisory locks: `lock`, `unlock`, `locks`, and the check `commit` runs
//! (`store-format.md` § *Lock*).
//!
//! A lock is a signed [`Lock`] record stored in the packs and named by the `locks`
//! table. "Me" is this machine's identity key ([`MachineKey`]); the owner's name and
//! e-mail recorded come from [`Identity::configured`] (else the member's name in the
//! member list) and are informational only. Listings and messages name a holder by
//! their name in the member list when the signing key is in it, else by the name the
//! record carries.
//!
//! Rules:
//!
//! * in a repository with a member list, only a key that may write
//!   ([`may_write`], the rule pushes follow: owners and members, not readers) takes
//!   or releases locks; a refusal creates nothing, not even a key;
//! * only a file tracked in `HEAD` can be locked, and only at its latest revision:
//!   `HEAD` is a branch, the staged and working copies equal `HEAD`'s, and no ref in
//!   [`NEWER_REFS`] whose tip descends from `HEAD` has a different version of it;
//! * a path held by another key cannot be locked; locking one's own again is a no-op;
//! * only the holder unlocks, unless `force`;
//! * a commit that changes a file held by another key is refused unless `force`;
//!   with no lock held anywhere, the check is one SQL lookup.

use std::borrow::Borrow;
use std::collections::HashSet;

use super::ident::{format_time, Identity};
use super::path::{abs, validate_repo_path};
use super::scan::{hash_work_file, WorkFile};
use super::treeops::lookup;
use super::{Repo, VcsError};
use crate::identity::{IdentityError, MachineKey, PublicKey};
use crate::store::db::IndexEntry;
use crate::store::members::may_write;
use crate::store::object::{Lock, Members, TreeEntry};
use crate::store::{ObjectId, ObjectKind};

/// Ref namespaces whose tips count as newer revisions when they descend from
/// `HEAD`. Remote-tracking refs join here once sync exists.
pub const NEWER_REFS: &[&str] = &["refs/heads/"];

/// One held lock, as listed by [`Repo::locks`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockInfo {
    /// Repository path.
    pub path: String,
    /// Holder's name: their name in the member list when their key is in it, else
    /// the name the record carries.
    pub owner: String,
    /// Holder's e-mail address, as the record carries it (may be empty).
    pub email: String,
    /// Holder's public key (`gadn1…`).
    pub key: String,
    /// Branch the lock was taken on.
    pub branch: String,
    /// Commit the lock was taken on (hex).
    pub revision: String,
    /// The file object at that revision (hex).
    pub file: String,
    /// When it was taken, seconds since the epoch.
    pub time: i64,
    /// When it was taken, as `2026-11-21 14:03:00 +0100`.
    pub since: String,
    /// True if this machine's key holds it.
    pub mine: bool,
    /// The lock record's id (hex).
    pub record: String,
}

/// What [`Repo::lock`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockReport {
    /// The id of the hold record now in force.
    pub record: ObjectId,
    /// True if this key already held the lock (nothing changed).
    pub already_mine: bool,
}

/// What [`Repo::unlock`] did. Both fields `None`: this key's own hold was released.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct UnlockReport {
    /// With `force`: the former holder of the lock that was broken.
    pub broken_from: Option<String>,
    /// With `force`: why the damaged lock row that was removed was damaged.
    pub cleared: Option<String>,
}

/// This machine's public key if it has one; `None` also when no home directory can
/// be found (then no lock is "mine"). Never creates a key.
fn existing_key() -> Result<Option<PublicKey>, VcsError> {
    match MachineKey::existing_from_env() {
        Ok(k) => Ok(k.map(|k| k.public())),
        Err(IdentityError::NoHome) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The name to show for the signer of `l`: their name in `list` when the key is in
/// it (also a removed member's), else the name the record carries.
fn owner_name(l: &Lock, list: Option<&Members>) -> String {
    list.and_then(|m| m.get(&l.owner))
        .map_or_else(|| l.owner_name.clone(), |e| e.name.clone())
}

/// `Name <email> (key)`, or `Name (key)` when the record has no e-mail.
fn holder(l: &Lock, list: Option<&Members>) -> String {
    let name = owner_name(l, list);
    if l.owner_email.is_empty() {
        format!("{name} ({})", l.owner.short())
    } else {
        format!("{name} <{}> ({})", l.owner_email, l.owner.short())
    }
}

/// Refuses to `action` (`lock`/`unlock`) `path` unless `me` may write by `list`
/// ([`may_write`]). `me = None` (no key yet) is never a member.
fn check_may_write(
    list: Option<&Members>,
    me: Option<&PublicKey>,
    action: &'static str,
    path: &str,
) -> Result<(), VcsError> {
    let Some(list) = list else { return Ok(()) };
    let refuse = |reason: String, key: String| VcsError::MayNotWrite {
        action,
        path: path.into(),
        reason,
        key,
    };
    match me {
        None => Err(refuse(
            "this machine has no identity key yet, so it is not a member of this repository, which has a member list".into(),
            "KEY (`gadn id` prints it)".into(),
        )),
        Some(k) if may_write(Some(list), k) => Ok(()),
        Some(k) => Err(refuse(
            match list.role_of(k) {
                Some(role) => format!(
                    "this machine's key is a {role} of this repository; a {role} may not take or release locks, as it may not push"
                ),
                None => "this machine's key is not a member of this repository".into(),
            },
            k.to_text(),
        )),
    }
}

fn since(l: &Lock) -> String {
    format_time(l.time, l.tz_offset_min)
}

fn same_entry(a: Option<&TreeEntry>, b: Option<&IndexEntry>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(t), Some(i)) => t.id == i.file_id && t.kind == i.kind,
        _ => false,
    }
}

impl Repo {
    /// Locks `path` (a repository path) with this machine's key, creating the key
    /// on first use.
    /// Nothing is created when the lock is refused.
    pub fn lock(&mut self, path: &str) -> Result<LockReport, VcsError> {
        let me = existing_key()?;
        self.lock_with(path, me, MachineKey::from_env)
    }

    /// Releases the lock on `path`; `force` breaks someone else's (or clears a
    /// damaged record).
    pub fn unlock(&mut self, path: &str, force: bool) -> Result<UnlockReport, VcsError> {
        let me = existing_key()?;
        self.unlock_with(path, force, me, MachineKey::from_env)
    }

    /// Every held lock, sorted by path; `mine` compares with this machine's key if
    /// it has one (none is created).
    pub fn locks(&self) -> Result<Vec<LockInfo>, VcsError> {
        self.locks_for(existing_key()?)
    }

    /// [`Repo::locks`] with "me" given.
    pub fn locks_for(&self, me: Option<PublicKey>) -> Result<Vec<LockInfo>, VcsError> {
        let list = self.store().members()?.map(|(_, m)| m);
        Ok(self
            .store()
            .db()
            .lock_records(true)?
            .into_iter()
            .map(|(id, l)| LockInfo {
                owner: owner_name(&l, list.as_ref()),
                mine: Some(l.owner) == me,
                since: since(&l),
                key: l.owner.to_text(),
                revision: l.revision.to_hex(),
                file: l.file.to_hex(),
                record: id.to_hex(),
                time: l.time,
                path: l.path,
                email: l.owner_email,
                branch: l.branch,
            })
            .collect())
    }

    /// [`Repo::lock`] with the key given.
    pub fn lock_as(&mut self, path: &str, key: &MachineKey) -> Result<LockReport, VcsError> {
        self.lock_with(path, Some(key.public()), || Ok(key))
    }

    /// Locks `path` for `me`, asking `key` for the signing key only once the lock
    /// is granted.
    fn lock_with<K: Borrow<MachineKey>>(
        &mut self,
        path: &str,
        me: Option<PublicKey>,
        key: impl FnOnce() -> Result<K, IdentityError>,
    ) -> Result<LockReport, VcsError> {
        validate_repo_path(path)?;
        let list = self.store().members()?.map(|(_, m)| m);
        check_may_write(list.as_ref(), me.as_ref(), "lock", path)?;
        let cannot = |reason: String| VcsError::CannotLock {
            path: path.into(),
            reason,
        };
        let (branch, head) = self.head()?;
        let head = head.ok_or_else(|| cannot("there are no commits yet".into()))?;
        let branch = branch.ok_or_else(|| {
            cannot(format!(
                "HEAD is detached at {}; a lock names a branch\nhint: switch to a branch first",
                head.short()
            ))
        })?;
        let tree = self.store().commit(&head)?.tree;
        let entry = lookup(self.store(), &tree, path)?.ok_or_else(|| {
            cannot("it is not a tracked file in HEAD\nhint: commit it first".into())
        })?;
        if !entry.kind.is_blob() {
            return Err(cannot(
                "it is a directory; lock the files in it one by one".into(),
            ));
        }
        self.check_latest(path, &branch, head, &entry)
            .map_err(|e| match e {
                Stale::Reason(r) => cannot(r),
                Stale::Err(e) => e,
            })?;
        let (lock, _) = self.store_mut().lock()?;
        let counter = match self.store().db().lock_record(path)? {
            Some((id, cur)) if cur.is_held() && Some(cur.owner) == me => {
                return Ok(LockReport {
                    record: id,
                    already_mine: true,
                })
            }
            Some((_, cur)) if cur.is_held() => {
                return Err(VcsError::LockedByOther {
                    path: path.into(),
                    owner: holder(&cur, list.as_ref()),
                    since: since(&cur),
                    hint: "\nhint: ask them to unlock it".into(),
                })
            }
            Some((_, cur)) => cur.counter + 1,
            None => 1,
        };
        let who = self.lock_identity(list.as_ref(), me.as_ref())?.now();
        let short = branch.strip_prefix("refs/heads/").unwrap_or(&branch);
        let mut record = Lock::hold(path.into(), &who, short.into(), head, entry.id, counter);
        record.sign(key()?.borrow())?;
        let id = self.store_lock_record(&lock, &record)?;
        drop(lock);
        Ok(LockReport {
            record: id,
            already_mine: false,
        })
    }

    /// [`Repo::unlock`] with the key given.
    pub fn unlock_as(
        &mut self,
        path: &str,
        force: bool,
        key: &MachineKey,
    ) -> Result<UnlockReport, VcsError> {
        self.unlock_with(path, force, Some(key.public()), || Ok(key))
    }

    /// Unlocks `path` for `me`, asking `key` for the signing key only once the
    /// release is allowed.
    fn unlock_with<K: Borrow<MachineKey>>(
        &mut self,
        path: &str,
        force: bool,
        me: Option<PublicKey>,
        key: impl FnOnce() -> Result<K, IdentityError>,
    ) -> Result<UnlockReport, VcsError> {
        validate_repo_path(path)?;
        let list = self.store().members()?.map(|(_, m)| m);
        check_may_write(list.as_ref(), me.as_ref(), "unlock", path)?;
        let (lock, _) = self.store_mut().lock()?;
        let (id, cur) = match self.store().db().lock_record(path) {
            Ok(Some((id, cur))) if cur.is_held() => (id, cur),
            Ok(_) => return Err(VcsError::NotLocked { path: path.into() }),
            Err(e) if force && matches!(e, crate::store::db::DbError::BadStoredValue { .. }) => {
                self.store().db().lock_delete(path)?;
                return Ok(UnlockReport {
                    cleared: Some(e.to_string()),
                    ..Default::default()
                });
            }
            Err(e) => return Err(e.into()),
        };
        let mine = Some(cur.owner) == me;
        if !mine && !force {
            return Err(VcsError::LockedByOther {
                path: path.into(),
                owner: holder(&cur, list.as_ref()),
                since: since(&cur),
                hint: "\nhint: only the holder unlocks it; pass --force to break the lock".into(),
            });
        }
        let who = self.lock_identity(list.as_ref(), me.as_ref())?.now();
        let mut release = cur.release(id, &who);
        release.sign(key()?.borrow())?;
        self.store_lock_record(&lock, &release)?;
        drop(lock);
        Ok(UnlockReport {
            broken_from: (!mine).then(|| holder(&cur, list.as_ref())),
            cleared: None,
        })
    }

    /// The name and e-mail a lock record carries: the configured identity; without
    /// one, a member's name in the member list (and no e-mail), since that is how
    /// the team knows them; else [`VcsError::NoIdentity`].
    fn lock_identity(
        &self,
        list: Option<&Members>,
        me: Option<&PublicKey>,
    ) -> Result<Identity, VcsError> {
        match Identity::configured(self.store()) {
            Err(VcsError::NoIdentity { missing }) => {
                let member = list.zip(me).and_then(|(l, k)| l.get(k));
                match member {
                    Some(e) => Ok(Identity {
                        name: e.name.clone(),
                        email: String::new(),
                    }),
                    None => Err(VcsError::NoIdentity { missing }),
                }
            }
            other => other,
        }
    }

    /// Writes `record` to a pack, then makes it the path's current record.
    fn store_lock_record(
        &mut self,
        lock: &crate::store::StoreLock,
        record: &Lock,
    ) -> Result<ObjectId, VcsError> {
        let mut w = self.store_mut().writer(lock);
        let id = w.put_object(ObjectKind::Lock, record.encode()?)?;
        w.finish()?;
        self.store().db().lock_put(&id, record)?;
        Ok(id)
    }

    /// Checks that `entry` (at `path` in `head`, on `branch`) is the latest revision.
    fn check_latest(
        &self,
        path: &str,
        branch: &str,
        head: ObjectId,
        entry: &TreeEntry,
    ) -> Result<(), Stale> {
        let index = self.store().db().load_index().map_err(VcsError::from)?;
        let staged = index
            .binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|i| &index[i]);
        let Some(staged) = staged.filter(|s| same_entry(Some(entry), Some(s))) else {
            return Err(Stale::Reason(format!(
                "its staged version differs from HEAD ({})\nhint: commit it, or `gadn restore --staged {path}`",
                head.short()
            )));
        };
        let file = abs(self.root(), path);
        let work = std::fs::symlink_metadata(&file)
            .ok()
            .and_then(|m| WorkFile::from_meta(path.into(), &m));
        let unchanged = match work {
            None => false,
            Some(w) => match Repo::quick_unchanged(&w, staged, self.index_written_ns()?) {
                Some(same) => same,
                None => hash_work_file(self.root(), &w, self.store().params())? == staged.file_id,
            },
        };
        if !unchanged {
            return Err(Stale::Reason(format!(
                "your working copy differs from HEAD ({})\nhint: lock before editing; commit the change, or `gadn restore {path}`",
                head.short()
            )));
        }
        for prefix in NEWER_REFS {
            for (name, tip) in self
                .store()
                .db()
                .list_refs(prefix)
                .map_err(VcsError::from)?
            {
                if name == branch || tip == head || !self.descends(tip, head)? {
                    continue;
                }
                let tree = self.store().commit(&tip)?.tree;
                let there = lookup(self.store(), &tree, path)?;
                if there.as_ref().map(|t| (t.id, t.kind)) != Some((entry.id, entry.kind)) {
                    let short = name.strip_prefix("refs/heads/").unwrap_or(&name);
                    return Err(Stale::Reason(format!(
                        "HEAD's revision is stale: {short} has a newer revision of it ({})\nhint: merge or switch to {short} first",
                        tip.short()
                    )));
                }
            }
        }
        Ok(())
    }

    /// True if `ancestor` is a proper ancestor of `tip`.
    fn descends(&self, tip: ObjectId, ancestor: ObjectId) -> Result<bool, VcsError> {
        let mut seen = HashSet::new();
        let mut todo = self.store().commit(&tip)?.parents;
        while let Some(id) = todo.pop() {
            if id == ancestor {
                return Ok(true);
            }
            if seen.insert(id) {
                todo.extend(self.store().commit(&id)?.parents);
            }
        }
        Ok(false)
    }

    /// Refuses a commit that changes (relative to `parent_tree`) a file someone else
    /// has locked, unless `force`. Costs one SQL lookup when nothing is locked.
    pub(crate) fn check_locks(
        &self,
        parent_tree: Option<&ObjectId>,
        index: &[IndexEntry],
        force: bool,
    ) -> Result<(), VcsError> {
        if force || !self.store().db().lock_any_held()? {
            return Ok(());
        }
        self.check_locks_for(parent_tree, index, existing_key()?)
    }

    /// [`Repo::check_locks`] (without `force`) with "me" given.
    fn check_locks_for(
        &self,
        parent_tree: Option<&ObjectId>,
        index: &[IndexEntry],
        me: Option<PublicKey>,
    ) -> Result<(), VcsError> {
        let mut files = Vec::new();
        let list = self.store().members()?.map(|(_, m)| m);
        for (_, l) in self.store().db().lock_records(true)? {
            if Some(l.owner) == me {
                continue;
            }
            let before = match parent_tree {
                Some(t) => lookup(self.store(), t, &l.path)?,
                None => None,
            };
            let now = index
                .binary_search_by(|e| e.path.as_str().cmp(&l.path))
                .ok()
                .map(|i| &index[i]);
            if !same_entry(before.as_ref(), now) {
                files.push(format!(
                    "{} (locked by {} since {})",
                    l.path,
                    holder(&l, list.as_ref()),
                    since(&l)
                ));
            }
        }
        if files.is_empty() {
            Ok(())
        } else {
            Err(VcsError::Locked { files })
        }
    }
}

/// Why a revision is not the latest: a reason to show, or a failure to find out.
enum Stale {
    Reason(String),
    Err(VcsError),
}

impl From<VcsError> for Stale {
    fn from(e: VcsError) -> Self {
        Stale::Err(e)
    }
}

impl From<crate::store::StoreError> for Stale {
    fn from(e: crate::store::StoreError) -> Self {
        Stale::Err(e.into())
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::store::db::{Expect, ReflogInfo};
    use crate::store::members::MEMBERS_REF;
    use crate::store::object::{MemberEntry, Role};
    use crate::vcs::testutil::{commit_all, put, repo};
    use crate::vcs::{CheckoutOptions, CommitOptions};

    fn ada() -> MachineKey {
        MachineKey::from_seed([1; 32])
    }

    fn bo() -> MachineKey {
        MachineKey::from_seed([2; 32])
    }

    /// `a.bin` and `dir/b.bin`, committed on `main`.
    fn committed() -> (tempfile::TempDir, Repo) {
        let (dir, mut repo) = repo();
        put(&repo, "a.bin", b"alpha");
        put(&repo, "dir/b.bin", b"beta");
        commit_all(&mut repo, "base");
        (dir, repo)
    }

    fn reason(e: VcsError) -> String {
        match e {
            VcsError::CannotLock { reason, .. } => reason,
            other => panic!("expected CannotLock, got {other}"),
        }
    }

    fn stage(repo: &mut Repo, rel: &str) {
        let root = repo.root().to_path_buf();
        repo.add(&root, &[PathBuf::from(rel)], false, &|_, _| {})
            .unwrap();
    }

    fn head(repo: &Repo) -> ObjectId {
        repo.head().unwrap().1.unwrap()
    }

    #[test]
    fn lock_list_and_lock_again() {
        let (_d, mut repo) = committed();
        let r = repo.lock_as("a.bin", &ada()).unwrap();
        assert!(!r.already_mine);
        let again = repo.lock_as("a.bin", &ada()).unwrap();
        assert_eq!(
            again,
            LockReport {
                record: r.record,
                already_mine: true
            }
        );
        let mine = repo.locks_for(Some(ada().public())).unwrap();
        assert_eq!(mine.len(), 1);
        let l = &mine[0];
        assert_eq!((l.path.as_str(), l.branch.as_str()), ("a.bin", "main"));
        assert!(l.mine);
        assert_eq!(l.key, ada().public().to_text());
        assert_eq!(l.revision, head(&repo).to_hex());
        assert_eq!(l.record, r.record.to_hex());
        let tree = repo.store().commit(&head(&repo)).unwrap().tree;
        let file = lookup(repo.store(), &tree, "a.bin").unwrap().unwrap().id;
        assert_eq!(l.file, file.to_hex());
        let (_, rec) = repo.store().db().lock_record("a.bin").unwrap().unwrap();
        assert_eq!(l.since, format_time(rec.time, rec.tz_offset_min));
        assert!(!repo.locks_for(Some(bo().public())).unwrap()[0].mine);
        assert!(!repo.locks_for(None).unwrap()[0].mine);
        // The record is in a pack, as a verified lock object.
        let bytes = repo.store().read_kind(&r.record, ObjectKind::Lock).unwrap();
        assert_eq!(Lock::decode_verified(&bytes).unwrap().counter, 1);
    }

    #[test]
    fn only_tracked_files_at_their_latest_revision_can_be_locked() {
        let (_d, mut empty) = repo();
        assert!(reason(empty.lock_as("a", &ada()).unwrap_err()).contains("no commits yet"));
        let (_d, mut repo) = committed();
        assert!(matches!(
            repo.lock_as("../x", &ada()).unwrap_err(),
            VcsError::BadPath { .. }
        ));
        let r = reason(repo.lock_as("dir", &ada()).unwrap_err());
        assert!(r.contains("is a directory"), "{r}");
        put(&repo, "new.bin", b"new");
        let r = reason(repo.lock_as("new.bin", &ada()).unwrap_err());
        assert!(r.contains("not a tracked file in HEAD"), "{r}");
        assert!(reason(repo.lock_as("nope", &ada()).unwrap_err()).contains("not a tracked"));
        // A working copy edited, then staged, then gone.
        put(&repo, "a.bin", b"edited");
        let r = reason(repo.lock_as("a.bin", &ada()).unwrap_err());
        assert!(r.contains("working copy differs from HEAD"), "{r}");
        stage(&mut repo, "a.bin");
        let r = reason(repo.lock_as("a.bin", &ada()).unwrap_err());
        assert!(r.contains("staged version differs"), "{r}");
        std::fs::remove_file(repo.root().join("dir/b.bin")).unwrap();
        let r = reason(repo.lock_as("dir/b.bin", &ada()).unwrap_err());
        assert!(r.contains("working copy differs"), "{r}");
        // Same size, same mtime tick is re-hashed: an equal rewrite is still fine.
        put(&repo, "dir/b.bin", b"beta");
        repo.lock_as("dir/b.bin", &ada()).unwrap();
        // Detached HEAD.
        let c = head(&repo);
        repo.checkout(
            &c.to_hex(),
            &CheckoutOptions {
                force: true,
                ..Default::default()
            },
        )
        .unwrap();
        let r = reason(repo.lock_as("dir/b.bin", &ada()).unwrap_err());
        assert!(r.contains("HEAD is detached"), "{r}");
        // Nothing but the one successful lock was recorded.
        assert_eq!(repo.store().db().lock_records(false).unwrap().len(), 1);
    }

    #[test]
    fn a_newer_revision_on_a_descendant_branch_makes_head_stale() {
        let (_d, mut repo) = committed();
        let base = head(&repo);
        repo.create_branch("old", None).unwrap();
        put(&repo, "a.bin", b"newer");
        commit_all(&mut repo, "newer a");
        // The newer revision is two commits ahead of the old branch.
        put(&repo, "c.txt", b"c");
        let newer = commit_all(&mut repo, "more");
        // On main, HEAD is the newest: fine.
        repo.lock_as("a.bin", &ada()).unwrap();
        repo.unlock_as("a.bin", false, &ada()).unwrap();
        repo.switch("old", false, false).unwrap();
        assert_eq!(head(&repo), base);
        let r = reason(repo.lock_as("a.bin", &ada()).unwrap_err());
        assert!(r.contains("stale") && r.contains("main"), "{r}");
        assert!(r.contains(&newer.short()), "{r}");
        // Files the newer branch did not change are at their latest revision.
        repo.lock_as("dir/b.bin", &ada()).unwrap();
        // A branch that does not descend from HEAD does not count.
        repo.switch("main", false, false).unwrap();
        repo.lock_as("a.bin", &bo()).unwrap();
    }

    #[test]
    fn someone_elses_lock_is_refused_and_only_force_breaks_it() {
        let (_d, mut repo) = committed();
        let hold = repo.lock_as("a.bin", &ada()).unwrap().record;
        let err = repo.lock_as("a.bin", &bo()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, VcsError::LockedByOther { .. }), "{text}");
        assert!(
            text.contains("'a.bin' is locked by") && text.contains("ask them"),
            "{text}"
        );
        let err = repo.unlock_as("a.bin", false, &bo()).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(
            repo.store().db().lock_record("a.bin").unwrap().unwrap().0,
            hold
        );
        let r = repo.unlock_as("a.bin", true, &bo()).unwrap();
        assert!(r.broken_from.unwrap().contains(&ada().public().short()));
        let (_, rel) = repo.store().db().lock_record("a.bin").unwrap().unwrap();
        assert_eq!(
            (rel.is_held(), rel.ends, rel.owner),
            (false, Some(hold), bo().public())
        );
        assert!(repo.locks_for(None).unwrap().is_empty());
        let err = repo.unlock_as("a.bin", false, &ada()).unwrap_err();
        assert!(matches!(err, VcsError::NotLocked { .. }), "{err}");
        // The next hold counts past the released one.
        repo.lock_as("a.bin", &bo()).unwrap();
        let (_, next) = repo.store().db().lock_record("a.bin").unwrap().unwrap();
        assert_eq!(next.counter, 2);
        assert_eq!(
            repo.unlock_as("a.bin", false, &bo()).unwrap(),
            UnlockReport::default()
        );
        let err = repo.unlock_as("never", false, &bo()).unwrap_err();
        assert!(err.to_string().contains("'never' is not locked"), "{err}");
    }

    #[test]
    fn commits_changing_files_others_hold_are_refused() {
        let (_d, mut repo) = committed();
        let parent = repo.store().commit(&head(&repo)).unwrap().tree;
        // Nothing locked: no tree is even read (this one does not exist).
        let missing = ObjectId::of_chunk(b"no such tree");
        let index = repo.store().db().load_index().unwrap();
        repo.check_locks(Some(&missing), &index, false).unwrap();
        repo.lock_as("a.bin", &ada()).unwrap();
        // Unchanged: fine for anyone.
        repo.check_locks_for(Some(&parent), &index, Some(bo().public()))
            .unwrap();
        put(&repo, "a.bin", b"bo's edit");
        stage(&mut repo, "a.bin");
        let index = repo.store().db().load_index().unwrap();
        let err = repo
            .check_locks_for(Some(&parent), &index, Some(bo().public()))
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, VcsError::Locked { .. }), "{text}");
        assert!(
            text.contains("  a.bin (locked by Ada") || text.contains("  a.bin (locked by"),
            "{text}"
        );
        assert!(text.contains("--force"), "{text}");
        repo.check_locks_for(Some(&parent), &index, Some(ada().public()))
            .unwrap();
        repo.check_locks(Some(&parent), &index, true).unwrap();
        // Deleting the file is a change too; a root commit has no parent tree.
        let without: Vec<IndexEntry> = index
            .iter()
            .filter(|e| e.path != "a.bin")
            .cloned()
            .collect();
        assert!(repo.check_locks_for(Some(&parent), &without, None).is_err());
        assert!(repo.check_locks_for(None, &index, None).is_err());
        // Through commit: refused, nothing recorded; --force records it.
        let before = head(&repo);
        let opts = CommitOptions {
            message: "edit".into(),
            ..Default::default()
        };
        let err = repo.commit(&opts).unwrap_err();
        assert!(matches!(err, VcsError::Locked { .. }), "{err}");
        assert_eq!(head(&repo), before);
        let forced = repo
            .commit(&CommitOptions {
                force: true,
                ..opts
            })
            .unwrap();
        assert_ne!(forced, before);
    }

    /// Founds a member list in `repo`'s store with Ada as owner, and `others`.
    fn with_members(repo: &mut Repo, others: &[(&MachineKey, &str, Role)]) {
        let rid = repo.store().repository_id().unwrap();
        let mut list = Members::found(&rid, &ada(), "ada").unwrap();
        for (k, name, role) in others {
            let mut e = MemberEntry::new(k.public(), (*name).into(), *role, 1);
            e.sign(&rid, &ada()).unwrap();
            list.put(e);
        }
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let id = w
            .put_object(ObjectKind::Members, list.encode().unwrap())
            .unwrap();
        w.finish().unwrap();
        let log = ReflogInfo {
            who: "t".into(),
            time: 0,
            tz_offset_min: 0,
            message: "t".into(),
        };
        repo.store()
            .db()
            .update_ref(MEMBERS_REF, Expect::Any, id, &log)
            .unwrap();
    }

    fn cy() -> MachineKey {
        MachineKey::from_seed([3; 32])
    }

    #[test]
    fn a_reader_cannot_take_a_lock() {
        // Issue 15, item 4: a reader's lock blocked writers.
        let (_d, mut repo) = committed();
        // Without a member list, anyone locks (a repository nobody shared).
        repo.lock_as("dir/b.bin", &cy()).unwrap();
        repo.unlock_as("dir/b.bin", false, &cy()).unwrap();
        with_members(
            &mut repo,
            &[(&bo(), "bo", Role::Member), (&cy(), "cy", Role::Reader)],
        );
        let err = repo.lock_as("a.bin", &cy()).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, VcsError::MayNotWrite { .. }), "{text}");
        assert!(
            text.contains("cannot lock 'a.bin'") && text.contains("reader"),
            "{text}"
        );
        assert!(text.contains(&cy().public().to_text()), "{text}");
        // Not a member at all: refused alike.
        let stranger = MachineKey::from_seed([4; 32]);
        let text = repo.lock_as("a.bin", &stranger).unwrap_err().to_string();
        assert!(text.contains("not a member"), "{text}");
        // No lock was recorded, so writers are not blocked.
        assert!(repo.store().db().lock_record("a.bin").unwrap().is_none());
        repo.lock_as("a.bin", &bo()).unwrap();
        // A reader cannot release or break locks either.
        let err = repo.unlock_as("a.bin", true, &cy()).unwrap_err();
        assert!(matches!(err, VcsError::MayNotWrite { .. }), "{err}");
        assert!(err.to_string().contains("cannot unlock 'a.bin'"), "{err}");
        assert!(repo
            .store()
            .db()
            .lock_record("a.bin")
            .unwrap()
            .unwrap()
            .1
            .is_held());
        // Owners and members may.
        repo.lock_as("dir/b.bin", &ada()).unwrap();
        repo.unlock_as("a.bin", true, &ada()).unwrap();
    }

    #[test]
    fn locks_show_the_members_name() {
        // Issue 15, item 4: a lock's owner showed as `unknown <>`, the name the
        // record carried, though the signer was a known member.
        let (_d, mut repo) = committed();
        with_members(&mut repo, &[(&bo(), "bo", Role::Member)]);
        let head = head(&repo);
        let tree = repo.store().commit(&head).unwrap().tree;
        let file = lookup(repo.store(), &tree, "a.bin").unwrap().unwrap().id;
        let nobody = crate::store::object::Person {
            name: "unknown".into(),
            email: String::new(),
            time: 1_700_000_000,
            tz_offset_min: 0,
        };
        let mut rec = Lock::hold("a.bin".into(), &nobody, "main".into(), head, file, 1);
        rec.sign(&bo()).unwrap();
        let (lock, _) = repo.store_mut().lock().unwrap();
        repo.store_lock_record(&lock, &rec).unwrap();
        drop(lock);
        let listed = repo.locks_for(None).unwrap();
        assert_eq!(
            (listed[0].owner.as_str(), listed[0].email.as_str()),
            ("bo", "")
        );
        let text = repo.lock_as("a.bin", &ada()).unwrap_err().to_string();
        assert!(text.contains("is locked by bo ("), "{text}");
        assert!(!text.contains("unknown"), "{text}");
        // A key not in the list is shown by the name its record carries.
        let (_d, mut plain) = committed();
        plain.lock_as("a.bin", &bo()).unwrap();
        assert_eq!(plain.locks_for(None).unwrap()[0].owner, "Test Artist");
    }

    #[test]
    fn damaged_lock_rows_are_reported_and_only_force_clears_them() {
        let (_d, mut repo) = committed();
        let hold = repo.lock_as("a.bin", &ada()).unwrap().record;
        let (_, mut forged) = repo.store().db().lock_record("a.bin").unwrap().unwrap();
        forged.owner_name = "Mallory".into();
        let fid = forged.id().unwrap();
        repo.store().db().lock_put(&fid, &forged).unwrap();
        let err = repo.locks_for(None).unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        assert!(repo.unlock_as("a.bin", false, &ada()).is_err());
        assert!(repo.lock_as("a.bin", &ada()).is_err());
        let index = repo.store().db().load_index().unwrap();
        assert!(repo.check_locks(None, &index, false).is_err());
        let r = repo.unlock_as("a.bin", true, &ada()).unwrap();
        assert!(r.cleared.unwrap().contains("a.bin"));
        assert!(repo.store().db().lock_record("a.bin").unwrap().is_none());
        assert!(repo.locks_for(None).unwrap().is_empty());
        // The genuine hold is still in the packs.
        assert!(repo.store().contains(&hold));
    }
}
