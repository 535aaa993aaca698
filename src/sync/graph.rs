//! The history difference a fetch asks the serving side for: the commits and
//! annotated tags reachable from the asker's wants and not from its haves
//! (`store-format.md` § 15, *Commits*).
//!
//! The haves are the asker's ref tips. A ref only ever names an object whose whole
//! closure is stored (refs move after a fetch completes), so everything reachable
//! from a have is known to be on the asker's side; haves the server does not know are
//! ignored.

use std::collections::{HashSet, VecDeque};

use crate::store::object::{Commit, Tag};
use crate::store::{ObjectId, ObjectKind, Store, StoreError};

/// What [`missing_history`] refuses.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// A wanted id is not in this store.
    #[error("{id} is not here")]
    UnknownWant {
        /// The id.
        id: ObjectId,
    },
    /// A wanted id is neither a commit nor a tag.
    #[error("{id} is a {kind}, not a commit or tag")]
    NotHistory {
        /// The id.
        id: ObjectId,
        /// What it is.
        kind: ObjectKind,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A commit's or tag's links to more history: parents, or a tag's target when it is a
/// commit or tag.
fn history_links(store: &Store, id: &ObjectId) -> Result<Vec<ObjectId>, StoreError> {
    let (kind, bytes) = store.read(id)?;
    let bad = |source| StoreError::BadObject { id: *id, source };
    Ok(match kind {
        ObjectKind::Commit => Commit::decode(&bytes).map_err(bad)?.parents,
        ObjectKind::Tag => {
            let t = Tag::decode(&bytes).map_err(bad)?;
            match t.target_kind {
                ObjectKind::Commit | ObjectKind::Tag => vec![t.target],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    })
}

/// Everything reachable from the `haves` this store knows (commits and tags).
pub fn closure(store: &Store, haves: &[ObjectId]) -> Result<HashSet<ObjectId>, StoreError> {
    let mut seen = HashSet::new();
    let mut queue: VecDeque<ObjectId> = haves
        .iter()
        .filter(|id| store.contains(id))
        .copied()
        .collect();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        for next in history_links(store, &id)? {
            if store.contains(&next) && !seen.contains(&next) {
                queue.push_back(next);
            }
        }
    }
    Ok(seen)
}

/// Commits and tags reachable from `wants` and not from `haves`, breadth-first from
/// the wants (so children come before their parents), at most `limit` of them.
/// Every want must be a commit or tag stored here.
pub fn missing_history(
    store: &Store,
    wants: &[ObjectId],
    haves: &[ObjectId],
    limit: usize,
) -> Result<Vec<ObjectId>, GraphError> {
    for id in wants {
        match store.packs().locate(id) {
            None => return Err(GraphError::UnknownWant { id: *id }),
            Some(loc) if !matches!(loc.entry.kind, ObjectKind::Commit | ObjectKind::Tag) => {
                return Err(GraphError::NotHistory {
                    id: *id,
                    kind: loc.entry.kind,
                })
            }
            Some(_) => {}
        }
    }
    let known = closure(store, haves)?;
    let mut out = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut queue: VecDeque<ObjectId> = wants.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        if known.contains(&id) || !seen.insert(id) {
            continue;
        }
        if out.len() == limit {
            break;
        }
        out.push(id);
        for next in history_links(store, &id)? {
            if !known.contains(&next) && !seen.contains(&next) {
                queue.push_back(next);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::object::Person;
    use crate::vcs::testutil::{commit_all, put, repo};

    fn tag(store: &mut Store, target: ObjectId, target_kind: ObjectKind, name: &str) -> ObjectId {
        let (lock, _) = store.lock().expect("lock");
        let mut w = store.writer(&lock);
        let id = w
            .put_tag(&Tag {
                target,
                target_kind,
                name: name.into(),
                tagger: Person {
                    name: "t".into(),
                    email: "t@x".into(),
                    time: 0,
                    tz_offset_min: 0,
                },
                message: "m".into(),
                signature: None,
            })
            .expect("tag");
        w.finish().expect("finish");
        drop(lock);
        *store = Store::open(store.dir()).expect("reopen");
        id
    }

    #[test]
    fn wants_must_be_stored_history() {
        let (_d, mut r) = repo();
        put(&r, "a.txt", b"a");
        let c = commit_all(&mut r, "one");
        let s = r.store();
        let unknown = ObjectId::of_chunk(b"nowhere");
        assert!(matches!(
            missing_history(s, &[unknown], &[], 10),
            Err(GraphError::UnknownWant { id }) if id == unknown
        ));
        let tree = s.commit(&c).expect("commit").tree;
        let e = missing_history(s, &[tree], &[], 10).expect_err("a tree");
        assert!(
            matches!(
                e,
                GraphError::NotHistory {
                    kind: ObjectKind::Tree,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("not a commit or tag"), "{e}");
        // Unknown haves are ignored.
        assert_eq!(
            missing_history(s, &[c], &[unknown], 10).expect("history"),
            vec![c]
        );
    }

    #[test]
    fn tags_lead_to_their_targets_and_the_limit_is_kept() {
        let (_d, mut r) = repo();
        put(&r, "a.txt", b"a");
        let c1 = commit_all(&mut r, "one");
        put(&r, "a.txt", b"b");
        let c2 = commit_all(&mut r, "two");
        put(&r, "a.txt", b"c");
        let c3 = commit_all(&mut r, "three");
        let tree = r.store().commit(&c1).expect("commit").tree;
        let on_commit = tag(r.store_mut(), c2, ObjectKind::Commit, "v2");
        let on_tag = tag(r.store_mut(), on_commit, ObjectKind::Tag, "v2b");
        let on_tree = tag(r.store_mut(), tree, ObjectKind::Tree, "t");
        let s = r.store();
        assert_eq!(
            missing_history(s, &[on_tag], &[], 100).expect("history"),
            vec![on_tag, on_commit, c2, c1]
        );
        // A tag of a tree has no further history.
        assert_eq!(
            missing_history(s, &[on_tree], &[], 100).expect("history"),
            vec![on_tree]
        );
        // Haves cut the walk, through tags too.
        assert_eq!(
            missing_history(s, &[c3], &[on_tag], 100).expect("history"),
            vec![c3]
        );
        let known = closure(s, &[on_tag, on_tree]).expect("closure");
        assert!(known.contains(&c1) && known.contains(&on_tree) && !known.contains(&c3));
        // The limit.
        assert_eq!(
            missing_history(s, &[c3], &[], 2).expect("history"),
            vec![c3, c2]
        );
        assert_eq!(
            missing_history(s, &[c3, c3], &[], 0).expect("history"),
            Vec::<ObjectId>::new()
        );
    }
}
