//! Trees as flat path lists: flattening, building, diffing.

use std::collections::{BTreeMap, HashMap};

use super::change::{Change, ChangeKind};
use super::VcsError;
pub use crate::store::flat::FlatEntry;
use crate::store::object::{EntryKind, Tree, TreeEntry};
use crate::store::{ObjectId, ObjectWriter, Store};

/// Every non-directory entry below `tree`, sorted by path bytes
/// ([`crate::store::flat::flatten`] with the vcs error type).
pub fn flatten(store: &Store, tree: &ObjectId) -> Result<Vec<FlatEntry>, VcsError> {
    Ok(crate::store::flat::flatten(store, tree)?)
}

/// Looks up one path in a tree without flattening it. `""` is the tree itself.
pub fn lookup(store: &Store, tree: &ObjectId, path: &str) -> Result<Option<TreeEntry>, VcsError> {
    let mut cur = TreeEntry {
        name: String::new(),
        kind: EntryKind::Dir,
        id: *tree,
        size: 0,
        meta: None,
    };
    if path.is_empty() {
        return Ok(Some(cur));
    }
    for part in path.split('/') {
        if cur.kind != EntryKind::Dir {
            return Ok(None);
        }
        match store.tree(&cur.id)?.get(part) {
            Some(e) => cur = e.clone(),
            None => return Ok(None),
        }
    }
    Ok(Some(cur))
}

enum Node<'a> {
    Leaf(&'a FlatEntry),
    Dir(BTreeMap<&'a str, Node<'a>>),
}

/// Writes the trees for a set of entries and returns the root tree id.
pub fn build(writer: &mut ObjectWriter<'_>, entries: &[FlatEntry]) -> Result<ObjectId, VcsError> {
    let mut root: BTreeMap<&str, Node> = BTreeMap::new();
    for e in entries {
        let mut parts = e.path.split('/').peekable();
        let mut dir = &mut root;
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                if dir.insert(part, Node::Leaf(e)).is_some() {
                    return Err(VcsError::BadPath {
                        path: e.path.clone(),
                        reason: "a file and a directory share this path".into(),
                    });
                }
                break;
            }
            let slot = dir
                .entry(part)
                .or_insert_with(|| Node::Dir(BTreeMap::new()));
            dir = match slot {
                Node::Dir(d) => d,
                Node::Leaf(_) => {
                    return Err(VcsError::BadPath {
                        path: e.path.clone(),
                        reason: "a file and a directory share this path".into(),
                    })
                }
            };
        }
    }
    Ok(write_dir(writer, &root)?.0)
}

fn write_dir(
    writer: &mut ObjectWriter<'_>,
    dir: &BTreeMap<&str, Node>,
) -> Result<(ObjectId, u64), VcsError> {
    let mut tree = Tree::default();
    let mut total = 0;
    for (name, node) in dir {
        let entry = match node {
            Node::Leaf(e) => TreeEntry {
                name: name.to_string(),
                kind: e.kind,
                id: e.id,
                size: e.size,
                meta: e.meta,
            },
            Node::Dir(d) => {
                let (id, size) = write_dir(writer, d)?;
                TreeEntry {
                    name: name.to_string(),
                    kind: EntryKind::Dir,
                    id,
                    size,
                    meta: None,
                }
            }
        };
        total += entry.size;
        tree.entries.push(entry);
    }
    // BTreeMap<&str> iterates in byte order, which is the canonical tree order.
    Ok((writer.put_tree(&tree)?, total))
}

/// The difference between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct TreeDiff {
    /// Changes sorted by path.
    pub changes: Vec<Change>,
}

/// Compares two sorted flat lists; a deleted and an added path with the same content
/// are reported as one rename when `renames` is set.
pub fn diff(old: &[FlatEntry], new: &[FlatEntry], renames: bool) -> TreeDiff {
    let mut changes = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.path.cmp(&b.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        match ord {
            std::cmp::Ordering::Less => {
                changes.push(Change::new(
                    &old[i].path,
                    ChangeKind::Deleted,
                    Some(old[i].size),
                ));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                changes.push(Change::new(
                    &new[j].path,
                    ChangeKind::Added,
                    Some(new[j].size),
                ));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&old[i], &new[j]);
                if a.kind != b.kind {
                    changes.push(Change::new(&b.path, ChangeKind::TypeChanged, Some(b.size)));
                } else if a.id != b.id || a.meta != b.meta {
                    changes.push(Change::new(&b.path, ChangeKind::Modified, Some(b.size)));
                }
                i += 1;
                j += 1;
            }
        }
    }
    if renames {
        pair_renames(&mut changes, old, new);
    }
    TreeDiff { changes }
}

fn pair_renames(changes: &mut Vec<Change>, old: &[FlatEntry], new: &[FlatEntry]) {
    let id_of = |list: &[FlatEntry], path: &str| {
        list.binary_search_by(|e| e.path.as_str().cmp(path))
            .ok()
            .map(|k| list[k].id)
    };
    let mut deleted: HashMap<ObjectId, Vec<String>> = HashMap::new();
    for c in changes.iter().filter(|c| c.kind == ChangeKind::Deleted) {
        if let Some(id) = id_of(old, &c.path) {
            deleted.entry(id).or_default().push(c.path.clone());
        }
    }
    let mut consumed = Vec::new();
    for c in changes.iter_mut().filter(|c| c.kind == ChangeKind::Added) {
        let Some(id) = id_of(new, &c.path) else {
            continue;
        };
        if let Some(from) = deleted.get_mut(&id).and_then(|v| v.pop()) {
            consumed.push(from.clone());
            c.kind = ChangeKind::Renamed;
            c.from = Some(from);
        }
    }
    changes.retain(|c| !(c.kind == ChangeKind::Deleted && consumed.contains(&c.path)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fe(path: &str, content: &[u8]) -> FlatEntry {
        FlatEntry {
            path: path.into(),
            kind: EntryKind::File,
            id: ObjectId::of_chunk(content),
            size: content.len() as u64,
            meta: None,
        }
    }

    #[test]
    fn diff_reports_each_kind_and_renames() {
        let old = vec![
            fe("a", b"1"),
            fe("b", b"2"),
            fe("c", b"3"),
            fe("moved", b"m"),
        ];
        let mut exec = fe("c", b"3");
        exec.kind = EntryKind::Executable;
        let new = vec![
            fe("a", b"1"),
            fe("b", b"22"),
            exec,
            fe("d", b"4"),
            fe("z/moved", b"m"),
        ];
        let d = diff(&old, &new, true);
        let got: Vec<(String, ChangeKind)> =
            d.changes.iter().map(|c| (c.path.clone(), c.kind)).collect();
        assert_eq!(
            got,
            vec![
                ("b".into(), ChangeKind::Modified),
                ("c".into(), ChangeKind::TypeChanged),
                ("d".into(), ChangeKind::Added),
                ("z/moved".into(), ChangeKind::Renamed),
            ]
        );
        assert_eq!(d.changes[3].from.as_deref(), Some("moved"));
        let plain = diff(&old, &new, false);
        assert!(plain.changes.iter().any(|c| c.kind == ChangeKind::Deleted));
    }
}
