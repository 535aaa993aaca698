//! `merge` and `resolve`: joining another line of history into the current branch.
//!
//! The merge base is computed on the commit DAG: every common ancestor, then the
//! best ones (those that are not an ancestor of another common ancestor). When a
//! criss-cross history leaves several best bases, the one with the newest committer
//! time is used (ties broken by the smaller id), so the choice is deterministic; a
//! recursive merge of the bases is later work.
//!
//! The tree merge is three-way over flattened trees, path by path: a side that
//! changed wins; identical changes are taken once; different changes (edit/edit,
//! edit/delete, add/add) are conflicts. Assets are never merged by content. During a
//! conflict the working tree and the index keep *ours* at the conflicted path; the
//! merge state lives in the database `state` table under [`MERGE_HEAD_KEY`] and
//! [`MERGE_CONFLICTS_KEY`] until `commit` or `merge --abort` clears it.
//!
//! Not handled yet: renames (rename/edit, rename/rename), sidecar pairs as a unit,
//! text line merges and asset-metadata merges.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use super::checkout::{materialize, CheckoutOptions};
use super::path::abs;
use super::treeops::{build, flatten, FlatEntry};
use super::{Repo, VcsError};
use crate::store::db::{Expect, IndexEntry};
use crate::store::object::Commit;
use crate::store::{ObjectId, Store};

/// State key: the commit being merged in (hex).
pub const MERGE_HEAD_KEY: &str = "merge.head";
/// State key: the unresolved conflicts, one `KIND\tPATH` per line.
pub const MERGE_CONFLICTS_KEY: &str = "merge.conflicts";

/// How a path conflicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictKind {
    /// Both sides changed the content differently.
    Content,
    /// Both sides added the path with different content.
    AddAdd,
    /// We modified it, they deleted it.
    ModifyDelete,
    /// We deleted it, they modified it.
    DeleteModify,
}

impl ConflictKind {
    /// The name used in the merge state and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictKind::Content => "content",
            ConflictKind::AddAdd => "add/add",
            ConflictKind::ModifyDelete => "modify/delete",
            ConflictKind::DeleteModify => "delete/modify",
        }
    }

    fn parse(s: &str) -> Option<ConflictKind> {
        [
            ConflictKind::Content,
            ConflictKind::AddAdd,
            ConflictKind::ModifyDelete,
            ConflictKind::DeleteModify,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One conflicted path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Conflict {
    /// Repository path.
    pub path: String,
    /// How it conflicts.
    pub kind: ConflictKind,
}

/// What [`Repo::merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum MergeOutcome {
    /// The other commit is already contained in `HEAD`.
    UpToDate,
    /// `HEAD` moved forward to the other commit.
    FastForward {
        /// The new `HEAD` (hex).
        commit: String,
    },
    /// A two-parent merge commit was made.
    Merged {
        /// The merge commit (hex).
        commit: String,
    },
    /// The merge stopped on conflicts; resolve them and commit.
    Conflicts {
        /// The conflicted paths.
        conflicts: Vec<Conflict>,
    },
}

/// How [`Repo::resolve`] settles a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Keep the current content.
    Ours,
    /// Take the other side's version.
    Theirs,
    /// Keep ours at the path and theirs beside it as `STEM.theirs.EXT`.
    Both,
}

/// All ancestors of `id`, itself included.
fn ancestors(store: &Store, id: ObjectId) -> Result<HashSet<ObjectId>, VcsError> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([id]);
    while let Some(c) = queue.pop_front() {
        if seen.insert(c) {
            queue.extend(store.commit(&c)?.parents);
        }
    }
    Ok(seen)
}

/// The best common ancestors of `a` and `b`: common ancestors that are not an
/// ancestor of another common ancestor. Sorted by id.
pub fn merge_bases(store: &Store, a: ObjectId, b: ObjectId) -> Result<Vec<ObjectId>, VcsError> {
    let of_a = ancestors(store, a)?;
    let of_b = ancestors(store, b)?;
    let common: BTreeSet<ObjectId> = of_a.intersection(&of_b).copied().collect();
    // Ancestors of a common ancestor's parents are common and dominated; one walk
    // from all those parents at once finds them.
    let mut dominated = HashSet::new();
    let mut queue = VecDeque::new();
    for c in &common {
        queue.extend(store.commit(c)?.parents);
    }
    while let Some(c) = queue.pop_front() {
        if dominated.insert(c) {
            queue.extend(store.commit(&c)?.parents);
        }
    }
    Ok(common
        .into_iter()
        .filter(|c| !dominated.contains(c))
        .collect())
}

/// One merge base, chosen deterministically among the best ones: the newest by
/// committer time, then the smallest id. `None` for unrelated histories.
pub fn merge_base(store: &Store, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, VcsError> {
    let mut best: Option<(i64, ObjectId)> = None;
    for c in merge_bases(store, a, b)? {
        let t = store.commit(&c)?.committer.time;
        if best.is_none_or(|(bt, bid)| t > bt || (t == bt && c < bid)) {
            best = Some((t, c));
        }
    }
    Ok(best.map(|(_, c)| c))
}

/// The result of a three-way merge of flat trees.
#[derive(Debug, Default)]
pub struct TreeMerge {
    /// The merged entries (ours at conflicted paths), sorted by path.
    pub entries: Vec<FlatEntry>,
    /// Conflicted paths, sorted.
    pub conflicts: Vec<Conflict>,
}

fn same(a: Option<&FlatEntry>, b: Option<&FlatEntry>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.kind == b.kind && a.id == b.id && a.meta == b.meta,
        (None, None) => true,
        _ => false,
    }
}

/// Three-way merge by path: one side changed → take it; both changed identically →
/// take it; otherwise a conflict, keeping ours.
pub fn merge_flat(base: &[FlatEntry], ours: &[FlatEntry], theirs: &[FlatEntry]) -> TreeMerge {
    let mut paths: BTreeMap<&str, [Option<&FlatEntry>; 3]> = BTreeMap::new();
    for (i, side) in [base, ours, theirs].into_iter().enumerate() {
        for e in side {
            paths.entry(e.path.as_str()).or_default()[i] = Some(e);
        }
    }
    let mut out = TreeMerge::default();
    for (path, [b, o, t]) in paths {
        let take = if same(o, t) || same(b, t) {
            o
        } else if same(b, o) {
            t
        } else {
            let kind = match (b, o, t) {
                (None, _, _) => ConflictKind::AddAdd,
                (_, None, _) => ConflictKind::DeleteModify,
                (_, _, None) => ConflictKind::ModifyDelete,
                _ => ConflictKind::Content,
            };
            out.conflicts.push(Conflict {
                path: path.to_string(),
                kind,
            });
            o
        };
        out.entries.extend(take.cloned());
    }
    out
}

/// `hero.png` → `hero.theirs.png`; `dir/README` → `dir/README.theirs`.
pub fn theirs_name(path: &str) -> String {
    let (dir, name) = match path.rfind('/') {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{dir}{}.theirs{}", &name[..i], &name[i..]),
        _ => format!("{dir}{name}.theirs"),
    }
}

fn encode_conflicts(c: &[Conflict]) -> String {
    c.iter()
        .map(|c| format!("{}\t{}\n", c.kind.as_str(), c.path))
        .collect()
}

fn decode_conflicts(s: &str) -> Vec<Conflict> {
    s.lines()
        .filter_map(|l| {
            let (k, p) = l.split_once('\t')?;
            Some(Conflict {
                path: p.to_string(),
                kind: ConflictKind::parse(k)?,
            })
        })
        .collect()
}

impl Repo {
    /// The commit being merged in, when a merge is in progress.
    pub fn merge_head(&self) -> Result<Option<ObjectId>, VcsError> {
        match self.store().db().state_get(MERGE_HEAD_KEY)? {
            Some(h) => Ok(Some(h.parse::<ObjectId>().map_err(|_| {
                VcsError::BadPath {
                    path: MERGE_HEAD_KEY.into(),
                    reason: format!("the merge state holds a bad commit id '{h}'"),
                }
            })?)),
            None => Ok(None),
        }
    }

    /// The unresolved conflicts of the merge in progress (empty when none).
    pub fn merge_conflicts(&self) -> Result<Vec<Conflict>, VcsError> {
        Ok(self
            .store()
            .db()
            .state_get(MERGE_CONFLICTS_KEY)?
            .map(|s| decode_conflicts(&s))
            .unwrap_or_default())
    }

    /// Forgets the merge state.
    pub(crate) fn clear_merge_state(&mut self) -> Result<(), VcsError> {
        self.store_mut()
            .db_mut()
            .transaction(|tx| -> Result<(), crate::store::db::DbError> {
                tx.state_delete(MERGE_HEAD_KEY)?;
                tx.state_delete(MERGE_CONFLICTS_KEY)?;
                Ok(())
            })?;
        Ok(())
    }

    /// Merges `rev` into the current branch (or detached `HEAD`).
    pub fn merge(&mut self, rev: &str) -> Result<MergeOutcome, VcsError> {
        if let Some(h) = self.merge_head()? {
            return Err(VcsError::MergeInProgress { other: h.short() });
        }
        let theirs = self.resolve_commit(rev)?;
        let (branch, head) = self.head()?;
        let Some(head) = head else {
            return Err(VcsError::NoCommitsYet {
                what: "merge into",
                name: branch.unwrap_or_else(|| "HEAD".into()),
            });
        };
        let st = self.status()?;
        if !st.is_clean() {
            let mut paths: Vec<String> = st
                .staged
                .iter()
                .chain(&st.unstaged)
                .map(|c| c.path.clone())
                .collect();
            paths.sort();
            paths.dedup();
            return Err(VcsError::DirtyTree {
                operation: "merge",
                paths,
            });
        }
        let base = merge_base(self.store(), head, theirs)?;
        if base == Some(theirs) {
            return Ok(MergeOutcome::UpToDate);
        }
        let ours_flat = flatten(self.store(), &self.store().commit(&head)?.tree)?;
        let theirs_flat = flatten(self.store(), &self.store().commit(&theirs)?.tree)?;
        let target = branch.clone().unwrap_or_else(|| "HEAD".to_string());
        if base == Some(head) {
            self.check_untracked(&st.untracked, &ours_flat, &theirs_flat)?;
            let (lock, _) = self.store_mut().lock()?;
            self.apply(&ours_flat, &theirs_flat)?;
            let log = super::branch::reflog(self, format!("merge {rev}: Fast-forward"));
            self.update_ref_checked(&target, Expect::Value(head), theirs, &log)?;
            self.set_index_commit(&theirs)?;
            drop(lock);
            return Ok(MergeOutcome::FastForward {
                commit: theirs.to_hex(),
            });
        }
        let base_flat = match base {
            Some(b) => flatten(self.store(), &self.store().commit(&b)?.tree)?,
            None => Vec::new(),
        };
        let merged = merge_flat(&base_flat, &ours_flat, &theirs_flat);
        self.check_untracked(&st.untracked, &ours_flat, &merged.entries)?;
        let (lock, _) = self.store_mut().lock()?;
        if !merged.conflicts.is_empty() {
            self.apply(&ours_flat, &merged.entries)?;
            let conflicts = encode_conflicts(&merged.conflicts);
            self.store_mut().db_mut().transaction(
                |tx| -> Result<(), crate::store::db::DbError> {
                    tx.state_set(MERGE_HEAD_KEY, &theirs.to_hex())?;
                    tx.state_set(MERGE_CONFLICTS_KEY, &conflicts)?;
                    Ok(())
                },
            )?;
            drop(lock);
            return Ok(MergeOutcome::Conflicts {
                conflicts: merged.conflicts,
            });
        }
        let me = super::ident::Identity::from_env(self.store()).now();
        let message = if self
            .store()
            .db()
            .read_ref(&format!("refs/heads/{rev}"))?
            .is_some()
        {
            format!("Merge branch '{rev}'")
        } else {
            format!("Merge commit '{rev}'")
        };
        let id = {
            let mut writer = self.store_mut().writer(&lock);
            let tree = build(&mut writer, &merged.entries)?;
            let id = writer.put_commit(&Commit {
                tree,
                parents: vec![head, theirs],
                author: me.clone(),
                committer: me,
                message: message.clone(),
                notes: Vec::new(),
                signature: None,
            })?;
            writer.finish()?;
            id
        };
        self.apply(&ours_flat, &merged.entries)?;
        let log = super::branch::reflog(self, format!("merge {rev}: {message}"));
        self.update_ref_checked(&target, Expect::Value(head), id, &log)?;
        self.set_index_commit(&id)?;
        drop(lock);
        Ok(MergeOutcome::Merged {
            commit: id.to_hex(),
        })
    }

    /// Refuses when an untracked file sits where the merge would write a file.
    fn check_untracked(
        &self,
        untracked: &[String],
        old: &[FlatEntry],
        new: &[FlatEntry],
    ) -> Result<(), VcsError> {
        let has = |l: &[FlatEntry], p: &str| l.binary_search_by(|e| e.path.as_str().cmp(p)).is_ok();
        let paths: Vec<String> = untracked
            .iter()
            .filter(|u| has(new, u) && !has(old, u))
            .cloned()
            .collect();
        if paths.is_empty() {
            Ok(())
        } else {
            Err(VcsError::DirtyTree {
                operation: "merge",
                paths,
            })
        }
    }

    /// Makes the working tree and index go from `old` to `new` (both sorted by path),
    /// touching only the paths that differ. The caller holds the lock.
    fn apply(&mut self, old: &[FlatEntry], new: &[FlatEntry]) -> Result<(), VcsError> {
        let root = self.root().to_path_buf();
        let changes = super::treeops::diff(old, new, false).changes;
        let mut upsert: Vec<IndexEntry> = Vec::new();
        let mut remove: Vec<String> = Vec::new();
        for c in &changes {
            match new.binary_search_by(|e| e.path.as_str().cmp(&c.path)) {
                Ok(i) => upsert.push(materialize(self.store(), &root, &new[i])?),
                Err(_) => {
                    let a = abs(&root, &c.path);
                    match std::fs::remove_file(&a) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(VcsError::io(&a)(e)),
                    }
                    prune_empty_parents(&root, &c.path);
                    remove.push(c.path.clone());
                }
            }
        }
        let remove: Vec<&str> = remove.iter().map(|s| s.as_str()).collect();
        self.write_index_entries(&upsert, &remove)
    }

    /// Ends a merge in progress: the working tree and index go back to `HEAD`, and
    /// the merge state is cleared.
    pub fn merge_abort(&mut self) -> Result<(), VcsError> {
        if self.merge_head()?.is_none() {
            return Err(VcsError::NoMergeInProgress);
        }
        self.checkout(
            "HEAD",
            &CheckoutOptions {
                force: true,
                paths: Vec::new(),
            },
        )?;
        // Everything the merge staged, `resolve --both` copies included, is in the
        // index, so the forced checkout removes it; untracked files are left alone.
        self.clear_merge_state()
    }

    /// Settles one conflicted path and removes it from the conflict list. Returns the
    /// paths staged.
    pub fn resolve_conflict(
        &mut self,
        path: &str,
        how: Resolution,
    ) -> Result<Vec<String>, VcsError> {
        let Some(theirs) = self.merge_head()? else {
            return Err(VcsError::NoMergeInProgress);
        };
        let mut conflicts = self.merge_conflicts()?;
        let Some(pos) = conflicts.iter().position(|c| c.path == path) else {
            return Err(VcsError::NotConflicted { path: path.into() });
        };
        let theirs_tree = self.store().commit(&theirs)?.tree;
        let theirs_entry = flatten(self.store(), &theirs_tree)?
            .into_iter()
            .find(|e| e.path == path);
        let root = self.root().to_path_buf();
        let (lock, _) = self.store_mut().lock()?;
        let mut upsert = Vec::new();
        let mut remove = Vec::new();
        let mut staged = Vec::new();
        match (how, theirs_entry) {
            (Resolution::Ours, _) => {}
            (Resolution::Theirs, Some(t)) => {
                upsert.push(materialize(self.store(), &root, &t)?);
                staged.push(path.to_string());
            }
            (Resolution::Theirs, None) => {
                let a = abs(&root, path);
                match std::fs::remove_file(&a) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(VcsError::io(&a)(e)),
                }
                prune_empty_parents(&root, path);
                remove.push(path);
                staged.push(path.to_string());
            }
            (Resolution::Both, Some(mut t)) => {
                t.path = theirs_name(path);
                upsert.push(materialize(self.store(), &root, &t)?);
                staged.push(t.path);
            }
            (Resolution::Both, None) => {}
        }
        self.write_index_entries(&upsert, &remove)?;
        conflicts.remove(pos);
        self.store()
            .db()
            .state_set(MERGE_CONFLICTS_KEY, &encode_conflicts(&conflicts))?;
        drop(lock);
        Ok(staged)
    }
}

/// Removes now-empty parent directories of `rel`, up to the root.
fn prune_empty_parents(root: &std::path::Path, rel: &str) {
    let mut p = std::path::Path::new(rel).parent();
    while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
        if std::fs::remove_dir(root.join(d)).is_err() {
            break;
        }
        p = d.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::{EntryKind, Person};
    use crate::vcs::testutil::repo;

    /// A commit with an empty tree, these parents and this committer time.
    fn mk(repo: &mut Repo, parents: &[ObjectId], time: i64) -> ObjectId {
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let tree = build(&mut w, &[]).unwrap();
        let who = Person {
            name: "T".into(),
            email: "t@x".into(),
            time,
            tz_offset_min: 0,
        };
        let id = w
            .put_commit(&Commit {
                tree,
                parents: parents.to_vec(),
                author: who.clone(),
                committer: who,
                message: format!("c{time}"),
                notes: Vec::new(),
                signature: None,
            })
            .unwrap();
        w.finish().unwrap();
        id
    }

    #[test]
    fn diamond_has_one_base_and_ancestors_merge_to_themselves() {
        let (_d, mut r) = repo();
        let root = mk(&mut r, &[], 1);
        let a = mk(&mut r, &[root], 2);
        let b = mk(&mut r, &[a], 3);
        let c = mk(&mut r, &[a], 4);
        let c2 = mk(&mut r, &[c], 5);
        let s = r.store();
        assert_eq!(merge_bases(s, b, c2).unwrap(), vec![a]);
        assert_eq!(merge_bases(s, c2, b).unwrap(), vec![a]);
        assert_eq!(merge_base(s, b, c2).unwrap(), Some(a));
        // An ancestor is its own base with a descendant.
        assert_eq!(merge_bases(s, root, c2).unwrap(), vec![root]);
        assert_eq!(merge_bases(s, c2, c2).unwrap(), vec![c2]);
        // A merge commit joining both sides is their descendant.
        let m = mk(&mut r, &[b, c2], 6);
        assert_eq!(merge_bases(r.store(), m, b).unwrap(), vec![b]);
        // Unrelated histories have none.
        let other = mk(&mut r, &[], 7);
        assert_eq!(merge_bases(r.store(), other, b).unwrap(), vec![]);
        assert_eq!(merge_base(r.store(), other, b).unwrap(), None);
    }

    #[test]
    fn criss_cross_has_two_bases_and_picks_the_newest() {
        let (_d, mut r) = repo();
        let root = mk(&mut r, &[], 1);
        let x = mk(&mut r, &[root], 2);
        let y = mk(&mut r, &[root], 3);
        // Each side merges the other: two best common ancestors, x and y.
        let p = mk(&mut r, &[x, y], 4);
        let q = mk(&mut r, &[y, x], 5);
        let mut want = vec![x, y];
        want.sort();
        assert_eq!(merge_bases(r.store(), p, q).unwrap(), want);
        assert_eq!(merge_base(r.store(), p, q).unwrap(), Some(y), "newest");
        assert_eq!(merge_base(r.store(), q, p).unwrap(), Some(y), "symmetric");
    }

    fn fe(path: &str, n: u8) -> FlatEntry {
        FlatEntry {
            path: path.into(),
            kind: EntryKind::File,
            id: ObjectId::of_chunk(&[n]),
            size: 1,
            meta: None,
        }
    }

    #[test]
    fn three_way_rules_by_path() {
        let base = vec![
            fe("both-same", 1),
            fe("edit-edit", 1),
            fe("edit-del", 1),
            fe("del-edit", 1),
            fe("ours-only", 1),
            fe("theirs-del", 1),
            fe("untouched", 1),
        ];
        let ours = vec![
            fe("add-add", 2),
            fe("add-same", 5),
            fe("both-same", 2),
            fe("edit-del", 2),
            fe("edit-edit", 2),
            fe("ours-only", 2),
            fe("theirs-del", 1),
            fe("untouched", 1),
        ];
        let theirs = vec![
            fe("add-add", 3),
            fe("add-same", 5),
            fe("both-same", 2),
            fe("del-edit", 3),
            fe("edit-edit", 3),
            fe("new-theirs", 4),
            fe("ours-only", 1),
            fe("untouched", 1),
        ];
        let m = merge_flat(&base, &ours, &theirs);
        let got: Vec<(&str, ConflictKind)> = m
            .conflicts
            .iter()
            .map(|c| (c.path.as_str(), c.kind))
            .collect();
        assert_eq!(
            got,
            vec![
                ("add-add", ConflictKind::AddAdd),
                ("del-edit", ConflictKind::DeleteModify),
                ("edit-del", ConflictKind::ModifyDelete),
                ("edit-edit", ConflictKind::Content),
            ]
        );
        let entries: Vec<(&str, ObjectId)> =
            m.entries.iter().map(|e| (e.path.as_str(), e.id)).collect();
        let id = |n: u8| ObjectId::of_chunk(&[n]);
        assert_eq!(
            entries,
            vec![
                ("add-add", id(2)),
                ("add-same", id(5)),
                ("both-same", id(2)),
                ("edit-del", id(2)),
                ("edit-edit", id(2)),
                ("new-theirs", id(4)),
                ("ours-only", id(2)),
                ("untouched", id(1)),
            ],
            "ours kept at conflicts, theirs-del removed, del-edit stays deleted"
        );
    }

    #[test]
    fn theirs_names_and_state_round_trip() {
        assert_eq!(theirs_name("hero.png"), "hero.theirs.png");
        assert_eq!(theirs_name("a/b/hero.tar.gz"), "a/b/hero.tar.theirs.gz");
        assert_eq!(theirs_name("dir/README"), "dir/README.theirs");
        assert_eq!(theirs_name(".gadnignore"), ".gadnignore.theirs");
        let c = vec![
            Conflict {
                path: "a b/x.png".into(),
                kind: ConflictKind::AddAdd,
            },
            Conflict {
                path: "y".into(),
                kind: ConflictKind::DeleteModify,
            },
        ];
        assert_eq!(decode_conflicts(&encode_conflicts(&c)), c);
    }

    fn commit_all(r: &mut Repo, msg: &str) -> ObjectId {
        let root = r.root().to_path_buf();
        r.add(&root, std::slice::from_ref(&root), false, &|_, _| {})
            .unwrap();
        r.commit(&crate::vcs::CommitOptions {
            message: msg.into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn merging_a_commit_id_and_committing_after_resolution() {
        let (_d, mut r) = repo();
        crate::vcs::testutil::put(&r, "a.txt", b"a");
        crate::vcs::testutil::put(&r, "b.txt", b"b");
        let base = commit_all(&mut r, "base");
        crate::vcs::testutil::put(&r, "a.txt", b"a2");
        let theirs = commit_all(&mut r, "theirs");
        r.checkout(&base.to_hex(), &CheckoutOptions::default())
            .unwrap();
        crate::vcs::testutil::put(&r, "b.txt", b"b2");
        let ours = commit_all(&mut r, "ours (detached)");
        let out = r.merge(&theirs.to_hex()).unwrap();
        let MergeOutcome::Merged { commit } = out else {
            panic!("{out:?}")
        };
        let id: ObjectId = commit.parse().unwrap();
        let c = r.store().commit(&id).unwrap();
        assert_eq!(c.parents, vec![ours, theirs]);
        assert_eq!(c.message, format!("Merge commit '{}'", theirs.to_hex()));
        assert_eq!(r.head().unwrap(), (None, Some(id)), "detached HEAD moved");
        assert!(r.status().unwrap().is_clean());

        // A conflict, resolved, then committed: two parents, state cleared.
        crate::vcs::testutil::put(&r, "a.txt", b"ours again");
        let ours2 = commit_all(&mut r, "ours 2");
        r.checkout(&theirs.to_hex(), &CheckoutOptions::default())
            .unwrap();
        crate::vcs::testutil::put(&r, "a.txt", b"theirs again");
        let theirs2 = commit_all(&mut r, "theirs 2");
        r.checkout(&ours2.to_hex(), &CheckoutOptions::default())
            .unwrap();
        let out = r.merge(&theirs2.to_hex()).unwrap();
        assert!(matches!(out, MergeOutcome::Conflicts { .. }), "{out:?}");
        assert_eq!(r.status().unwrap().conflicts, vec!["a.txt (content)"]);
        assert!(matches!(
            r.merge(&theirs2.to_hex()),
            Err(VcsError::MergeInProgress { .. })
        ));
        assert_eq!(
            r.resolve_conflict("a.txt", Resolution::Ours).unwrap(),
            Vec::<String>::new()
        );
        let m = r
            .commit(&crate::vcs::CommitOptions {
                message: "merged".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(r.store().commit(&m).unwrap().parents, vec![ours2, theirs2]);
        assert_eq!(r.merge_head().unwrap(), None);
        assert!(r.merge_conflicts().unwrap().is_empty());
        assert!(matches!(r.merge_abort(), Err(VcsError::NoMergeInProgress)));
    }
}
