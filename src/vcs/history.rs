//! `history`: every revision of one asset, following renames.

use super::scan::ChangeKind;
use super::treeops::lookup;
#[cfg(test)]
use super::treeops::{diff, flatten};
use super::{Repo, VcsError};
#[cfg(test)]
use crate::store::object::TreeEntry;
use crate::store::object::{Commit, EntryKind};
use crate::store::ObjectId;

/// One revision of an asset: a commit that added, changed or renamed it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The commit.
    pub id: ObjectId,
    /// Its contents.
    pub commit: Commit,
    /// The asset's path at this commit.
    pub path: String,
    /// What the commit did to it: added, modified, type-changed or renamed.
    pub change: ChangeKind,
    /// The path before this commit, when it renamed the asset.
    pub renamed_from: Option<String>,
    /// The file object id at this commit.
    pub file: ObjectId,
    /// Content bytes at this commit.
    pub size: u64,
}

/// Fails unless `path` is a file (not a directory) in `commit` (whose id is `id`).
fn check_file(repo: &Repo, commit: &Commit, id: ObjectId, path: &str) -> Result<(), VcsError> {
    match lookup(repo.store(), &commit.tree, path)? {
        None => Err(VcsError::PathNotFound {
            path: path.to_string(),
            place: format!(" in {}", id.short()),
        }),
        Some(e) if e.kind == EntryKind::Dir => Err(VcsError::BadPath {
            path: path.to_string(),
            reason: "it is a directory; history follows one file \
                     (use `gadn log --path` for a directory)"
                .into(),
        }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
fn same(a: &TreeEntry, b: &TreeEntry) -> bool {
    a.kind == b.kind && a.id == b.id && a.meta == b.meta
}

impl Repo {
    /// The revisions of the file at `path` in `start`, newest first, walking first
    /// parents; at a merge whose asset equals one parent's, the walk continues on that
    /// parent (so changes made on a merged branch are listed), while a merge that
    /// differs from every parent is listed itself (compared with its first parent). When the path does not exist in a parent but the commit's diff pairs
    /// it as a rename (same content), the walk continues with the old path. The walk
    /// ends at the commit that added the asset.
    ///
    /// Answered from the history index (brought up to date first).
    pub fn history(&self, start: ObjectId, path: &str) -> Result<Vec<HistoryEntry>, VcsError> {
        self.history_limited(start, path, None)
    }

    /// [`Repo::history`], at most `limit` entries (the newest).
    pub fn history_limited(
        &self,
        start: ObjectId,
        path: &str,
        limit: Option<usize>,
    ) -> Result<Vec<HistoryEntry>, VcsError> {
        self.history_indexed(start, path, limit, || {
            let commit = self.store().commit(&start)?;
            check_file(self, &commit, start, path)
        })
    }

    /// [`Repo::history`] by walking commits and trees: the oracle the index is
    /// tested against.
    #[cfg(test)]
    pub(crate) fn history_walk(
        &self,
        start: ObjectId,
        path: &str,
    ) -> Result<Vec<HistoryEntry>, VcsError> {
        let store = self.store();
        let mut path = path.to_string();
        let mut id = start;
        let mut commit = store.commit(&id)?;
        check_file(self, &commit, start, &path)?;
        let mut out = Vec::new();
        loop {
            let Some(entry) = lookup(store, &commit.tree, &path)? else {
                break;
            };
            if commit.parents.len() > 1 {
                // A merge that took the asset unchanged from one side: follow that side
                // (the first such parent), so the merged branch's revisions are listed.
                let mut side = None;
                for p in &commit.parents {
                    let pc = store.commit(p)?;
                    if lookup(store, &pc.tree, &path)?.is_some_and(|b| same(&b, &entry)) {
                        side = Some((*p, pc));
                        break;
                    }
                }
                if let Some((pid, pc)) = side {
                    id = pid;
                    commit = pc;
                    continue;
                }
            }
            let parent = match commit.parents.first() {
                Some(p) => Some((*p, store.commit(p)?)),
                None => None,
            };
            let before = match &parent {
                Some((_, pc)) => lookup(store, &pc.tree, &path)?,
                None => None,
            };
            let (change, from) = match &before {
                Some(b) if same(b, &entry) => (None, None),
                Some(b) if b.kind != entry.kind => (Some(ChangeKind::TypeChanged), None),
                Some(_) => (Some(ChangeKind::Modified), None),
                None => match &parent {
                    Some((_, pc)) => match self.renamed_from(&pc.tree, &commit.tree, &path)? {
                        Some(old) => (Some(ChangeKind::Renamed), Some(old)),
                        None => (Some(ChangeKind::Added), None),
                    },
                    None => (Some(ChangeKind::Added), None),
                },
            };
            let next_path = from.clone();
            if let Some(change) = change {
                out.push(HistoryEntry {
                    id,
                    commit,
                    path: path.clone(),
                    change,
                    renamed_from: from,
                    file: entry.id,
                    size: entry.size,
                });
            }
            if change == Some(ChangeKind::Added) {
                break;
            }
            let Some((pid, pc)) = parent else {
                break;
            };
            if let Some(old) = next_path {
                path = old;
            }
            id = pid;
            commit = pc;
        }
        Ok(out)
    }

    /// The old path of `path` if the diff from `old_tree` to `new_tree` pairs it as a
    /// rename.
    #[cfg(test)]
    fn renamed_from(
        &self,
        old_tree: &ObjectId,
        new_tree: &ObjectId,
        path: &str,
    ) -> Result<Option<String>, VcsError> {
        let old = flatten(self.store(), old_tree)?;
        let new = flatten(self.store(), new_tree)?;
        Ok(diff(&old, &new, true)
            .changes
            .into_iter()
            .find(|c| c.kind == ChangeKind::Renamed && c.path == path)
            .and_then(|c| c.from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcs::testutil::{put, repo};
    use crate::vcs::CommitOptions;

    fn commit(r: &mut Repo, msg: &str) -> ObjectId {
        let root = r.root().to_path_buf();
        r.add(&root, std::slice::from_ref(&root), false, &|_, _| {})
            .unwrap();
        r.commit(&CommitOptions {
            message: msg.into(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn history_lists_changes_and_follows_renames() {
        let (_d, mut r) = repo();
        put(&r, "art/a.png", b"one");
        put(&r, "other.txt", b"x");
        let c1 = commit(&mut r, "add a");
        put(&r, "other.txt", b"y");
        let _c2 = commit(&mut r, "only other");
        put(&r, "art/a.png", b"two!");
        let c3 = commit(&mut r, "change a");
        std::fs::create_dir_all(r.root().join("moved")).unwrap();
        std::fs::rename(r.root().join("art/a.png"), r.root().join("moved/b.png")).unwrap();
        let c4 = commit(&mut r, "move a");
        put(&r, "moved/b.png", b"three");
        let c5 = commit(&mut r, "change b");

        let h = r.history(c5, "moved/b.png").unwrap();
        let got: Vec<(ObjectId, &str, ChangeKind, u64)> = h
            .iter()
            .map(|e| (e.id, e.path.as_str(), e.change, e.size))
            .collect();
        assert_eq!(
            got,
            vec![
                (c5, "moved/b.png", ChangeKind::Modified, 5),
                (c4, "moved/b.png", ChangeKind::Renamed, 4),
                (c3, "art/a.png", ChangeKind::Modified, 4),
                (c1, "art/a.png", ChangeKind::Added, 3),
            ]
        );
        assert_eq!(h[1].renamed_from.as_deref(), Some("art/a.png"));
        assert_eq!(h[0].commit.message, "change b");

        // From an older start, under the old name.
        let h = r.history(c3, "art/a.png").unwrap();
        assert_eq!(h.len(), 2);

        assert!(matches!(
            r.history(c5, "art/a.png"),
            Err(VcsError::PathNotFound { .. })
        ));
        assert!(matches!(
            r.history(c5, "moved"),
            Err(VcsError::BadPath { .. })
        ));
    }

    #[test]
    fn history_stops_where_the_asset_was_added_again() {
        let (_d, mut r) = repo();
        put(&r, "a", b"old");
        put(&r, "keep", b"k");
        commit(&mut r, "first");
        std::fs::remove_file(r.root().join("a")).unwrap();
        commit(&mut r, "delete");
        put(&r, "a", b"new");
        let c3 = commit(&mut r, "re-add");
        let h = r.history(c3, "a").unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].change, ChangeKind::Added);
    }

    #[test]
    fn history_follows_the_merged_side() {
        use crate::store::object::Person;
        use crate::vcs::treeops::{build, FlatEntry};
        let (_d, mut r) = repo();
        let fe = |path: &str, content: &[u8]| FlatEntry {
            path: path.into(),
            kind: EntryKind::File,
            id: ObjectId::of_chunk(content),
            size: content.len() as u64,
            meta: None,
        };
        let who = |t: i64| Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time: t,
            tz_offset_min: 0,
        };
        let (lock, _) = r.store_mut().lock().unwrap();
        let mut w = r.store_mut().writer(&lock);
        let mut put = |files: &[FlatEntry], parents: Vec<ObjectId>, msg: &str, t: i64| {
            let tree = build(&mut w, files).unwrap();
            w.put_commit(&Commit {
                tree,
                parents,
                author: who(t),
                committer: who(t),
                message: msg.into(),
                notes: Vec::new(),
                signature: None,
            })
            .unwrap()
        };
        // base: a=1, o=1. main: o=2. side: a=2, then renamed to b. merge: main + side.
        // merge2: differs from both parents (b=3).
        let base = put(&[fe("a", b"1"), fe("o", b"1")], vec![], "base", 1);
        let main = put(&[fe("a", b"1"), fe("o", b"2")], vec![base], "main", 2);
        let side1 = put(&[fe("a", b"2"), fe("o", b"1")], vec![base], "side edit", 3);
        let side2 = put(&[fe("b", b"2"), fe("o", b"1")], vec![side1], "side mv", 4);
        let merge = put(
            &[fe("b", b"2"), fe("o", b"2")],
            vec![main, side2],
            "merge",
            5,
        );
        let main2 = put(&[fe("b", b"2"), fe("o", b"3")], vec![merge], "main2", 6);
        let other = put(&[fe("b", b"9"), fe("o", b"3")], vec![main2], "other", 7);
        let merge2 = put(&[fe("b", b"3"), fe("o", b"3")], vec![main2, other], "m2", 8);
        w.finish().unwrap();
        drop(lock);
        let h = r.history(merge2, "b").unwrap();
        let got: Vec<(ObjectId, &str, ChangeKind)> = h
            .iter()
            .map(|e| (e.id, e.path.as_str(), e.change))
            .collect();
        assert_eq!(
            got,
            vec![
                (merge2, "b", ChangeKind::Modified),
                (side2, "b", ChangeKind::Renamed),
                (side1, "a", ChangeKind::Modified),
                (base, "a", ChangeKind::Added),
            ]
        );
    }
}
