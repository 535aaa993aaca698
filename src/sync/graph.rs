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
