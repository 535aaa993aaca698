//! Reachability: every record a ref, a reflog entry or the index leads to.
//!
//! Used by `gc` (what to keep) and `fsck` (what must exist and decode). The walk reads
//! commits, trees, tags, file objects and chunk-list nodes, but never chunk payloads:
//! a chunk's presence, kind and length come from the pack indexes.

use std::collections::HashSet;

use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::object::{ChunkListNode, Commit, EntryKind, FileObject, Tag, Tree};
use super::Store;

/// Something wrong found while walking.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WalkProblem {
    /// The object that is missing or bad.
    pub id: String,
    /// The kind it should have.
    pub expected: &'static str,
    /// Who points at it (a ref name, `index:PATH`, or `KIND ID`).
    pub referrer: String,
    /// What is wrong.
    pub reason: String,
}

/// The result of a walk.
#[derive(Debug, Default)]
pub struct Reachable {
    /// Every id reached (present or not).
    pub ids: HashSet<ObjectId>,
    /// Missing, mistyped or undecodable records.
    pub problems: Vec<WalkProblem>,
}

/// The starting points: every ref, every id in any reflog, every index entry.
pub fn roots(store: &Store) -> Result<Vec<(String, ObjectId, Option<ObjectKind>)>, StoreError> {
    let db = store.db();
    let mut out = Vec::new();
    for (name, id) in db.list_refs("")? {
        out.push((name, id, None));
    }
    for id in db.reflog_ids()? {
        out.push(("reflog".to_string(), id, None));
    }
    for e in db.load_index()? {
        let kind = if e.kind == EntryKind::Dir {
            ObjectKind::Tree
        } else {
            ObjectKind::File
        };
        out.push((format!("index:{}", e.path), e.file_id, Some(kind)));
    }
    Ok(out)
}

/// Walks everything reachable from [`roots`].
pub fn reachable(store: &Store) -> Result<Reachable, StoreError> {
    let mut r = Reachable::default();
    let mut stack: Vec<(ObjectId, Option<ObjectKind>, Option<u64>, String)> = roots(store)?
        .into_iter()
        .map(|(label, id, kind)| (id, kind, None, label))
        .collect();
    while let Some((id, expected, len, referrer)) = stack.pop() {
        if !r.ids.insert(id) {
            continue;
        }
        let problem = |reason: String| WalkProblem {
            id: id.to_hex(),
            expected: expected.map(|k| k.name()).unwrap_or("object"),
            referrer: referrer.clone(),
            reason,
        };
        let Some(loc) = store.packs().locate(&id) else {
            r.problems.push(problem("missing".into()));
            continue;
        };
        let kind = loc.entry.kind;
        if let Some(want) = expected {
            if want != kind {
                r.problems.push(problem(format!("is a {kind}")));
                continue;
            }
        }
        if kind == ObjectKind::Chunk {
            if let Some(len) = len {
                if u64::from(loc.entry.raw_len) != len {
                    r.problems.push(problem(format!(
                        "holds {} bytes, its parent says {len}",
                        loc.entry.raw_len
                    )));
                }
            }
            continue;
        }
        let data = match store.read(&id) {
            Ok((_, d)) => d,
            Err(e) => {
                r.problems.push(problem(e.to_string()));
                continue;
            }
        };
        let me = format!("{kind} {}", id.short());
        let decoded: Result<(), super::object::ObjectError> = (|| {
            match kind {
                ObjectKind::Commit => {
                    let c = Commit::decode(&data)?;
                    stack.push((c.tree, Some(ObjectKind::Tree), None, me.clone()));
                    for p in c.parents {
                        stack.push((p, Some(ObjectKind::Commit), None, me.clone()));
                    }
                }
                ObjectKind::Tag => {
                    let t = Tag::decode(&data)?;
                    stack.push((t.target, Some(t.target_kind), None, me.clone()));
                }
                ObjectKind::Tree => {
                    for e in Tree::decode(&data)?.entries {
                        let k = if e.kind == EntryKind::Dir {
                            ObjectKind::Tree
                        } else {
                            ObjectKind::File
                        };
                        stack.push((e.id, Some(k), None, format!("{me} entry {:?}", e.name)));
                        if let Some(m) = e.meta {
                            stack.push((
                                m,
                                None,
                                None,
                                format!("{me} entry {:?} metadata", e.name),
                            ));
                        }
                    }
                }
                ObjectKind::File => {
                    let f = FileObject::decode(&data)?;
                    let k = if f.height == 0 {
                        ObjectKind::Chunk
                    } else {
                        ObjectKind::ChunkList
                    };
                    stack.push((f.root, Some(k), Some(f.size), me.clone()));
                }
                ObjectKind::ChunkList => {
                    let n = ChunkListNode::decode(&data)?;
                    if let Some(len) = len {
                        if n.total_len() != len {
                            r.problems.push(problem(format!(
                                "covers {} bytes, its parent says {len}",
                                n.total_len()
                            )));
                        }
                    }
                    let k = if n.level == 1 {
                        ObjectKind::Chunk
                    } else {
                        ObjectKind::ChunkList
                    };
                    for e in n.entries {
                        stack.push((e.id, Some(k), Some(e.len), me.clone()));
                    }
                }
                ObjectKind::Chunk => {}
            }
            Ok(())
        })();
        if let Err(e) = decoded {
            r.problems.push(problem(e.to_string()));
        }
    }
    Ok(r)
}
