//! Trees as flat path lists: every file, executable and symlink below a tree with its
//! full path, the shape diffs, checkouts and preview batches work on.

use super::object::EntryKind;
use super::{ObjectId, Store, StoreError};

/// A file, executable or symlink at a repository path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatEntry {
    /// `/`-separated repository path.
    pub path: String,
    /// Never [`EntryKind::Dir`].
    pub kind: EntryKind,
    /// File object id.
    pub id: ObjectId,
    /// Content bytes.
    pub size: u64,
    /// Optional asset-metadata object.
    pub meta: Option<ObjectId>,
}

/// Every non-directory entry below `tree`, sorted by path bytes.
pub fn flatten(store: &Store, tree: &ObjectId) -> Result<Vec<FlatEntry>, StoreError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), *tree)];
    while let Some((prefix, id)) = stack.pop() {
        for e in store.tree(&id)?.entries {
            let path = if prefix.is_empty() {
                e.name
            } else {
                format!("{prefix}/{}", e.name)
            };
            if e.kind == EntryKind::Dir {
                stack.push((path, e.id));
            } else {
                out.push(FlatEntry {
                    path,
                    kind: e.kind,
                    id: e.id,
                    size: e.size,
                    meta: e.meta,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
