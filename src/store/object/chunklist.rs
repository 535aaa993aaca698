//! Chunk-list trees: how a file object reaches its chunks (`store-format.md` §
//! *Chunk-list node*).
//!
//! A file's chunks, in order, are the leaves of a tree whose interior nodes are
//! [`ChunkListNode`]s. Nodes are closed at *content-defined* boundaries: after a child
//! whose id has its low [`BOUNDARY_BITS`] bits zero (or when [`MAX_FANOUT`] children are
//! reached). The shape of the tree therefore depends only on the sequence of chunk ids,
//! so an edit that changes one chunk rewrites one node per level — O(log n) small
//! objects — and unchanged regions of two versions share their nodes.

use super::{check_version, decode, encode, FileObject, ObjectError, ObjectSink, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// A node is closed after a child whose id's first two bytes, read little-endian, have
/// these many low bits zero: 6 gives an average fan-out of 64.
pub const BOUNDARY_BITS: u32 = 6;

/// A node is closed unconditionally at this many children, bounding node size
/// (1024 × 41 bytes ≈ 42 KiB).
pub const MAX_FANOUT: usize = 1024;

/// One child of a chunk-list node: a chunk (at level 1) or a lower node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkEntry {
    /// Id of the chunk or node.
    pub id: ObjectId,
    /// Bytes of file content below this child (> 0).
    pub len: u64,
}

/// An interior node of a chunk-list tree.
///
/// Invariants: `level >= 1`; at level 1 the children are chunks, at level n > 1 they
/// are nodes of level n-1; 1 ≤ `entries.len()` ≤ [`MAX_FANOUT`]; every `len > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkListNode {
    /// Height of this node above the chunks.
    pub level: u8,
    /// Children in file order.
    pub entries: Vec<ChunkEntry>,
}

type Repr = (u8, u8, Vec<(ObjectId, u64)>);

impl ChunkListNode {
    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let entries: Vec<(ObjectId, u64)> = self.entries.iter().map(|e| (e.id, e.len)).collect();
        encode(
            ObjectKind::ChunkList,
            &(FORMAT_VERSION, self.level, entries),
        )
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, level, entries): Repr = decode(ObjectKind::ChunkList, bytes)?;
        check_version(ObjectKind::ChunkList, v)?;
        let invalid = |reason: String| ObjectError::Invalid {
            kind: ObjectKind::ChunkList,
            reason,
        };
        if level == 0 || level > super::file::MAX_HEIGHT {
            return Err(invalid(format!("level {level} out of range")));
        }
        if entries.is_empty() || entries.len() > MAX_FANOUT {
            return Err(invalid(format!("{} children", entries.len())));
        }
        if entries.iter().any(|e| e.1 == 0) {
            return Err(invalid("a child of zero length".into()));
        }
        let mut total: u64 = 0;
        for e in &entries {
            total = total
                .checked_add(e.1)
                .ok_or_else(|| invalid("lengths overflow".into()))?;
        }
        Ok(ChunkListNode {
            level,
            entries: entries
                .into_iter()
                .map(|(id, len)| ChunkEntry { id, len })
                .collect(),
        })
    }

    /// Sum of the children's lengths.
    pub fn total_len(&self) -> u64 {
        self.entries.iter().map(|e| e.len).sum()
    }
}

fn is_boundary(id: &ObjectId) -> bool {
    let b = id.as_bytes();
    u16::from_le_bytes([b[0], b[1]]) & ((1u16 << BOUNDARY_BITS) - 1) == 0
}

/// Builds a chunk-list tree from a stream of chunks, writing nodes to a sink as they
/// close; memory stays O(fan-out × height) whatever the file size.
#[derive(Debug, Default)]
pub struct ChunkTreeBuilder {
    levels: Vec<Vec<ChunkEntry>>,
    total: u64,
}

impl ChunkTreeBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes pushed so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Appends the next chunk of the file.
    pub fn push<S: ObjectSink>(
        &mut self,
        sink: &mut S,
        id: ObjectId,
        len: u64,
    ) -> Result<(), S::Error> {
        self.total += len;
        self.push_at(sink, 0, ChunkEntry { id, len })
    }

    fn push_at<S: ObjectSink>(
        &mut self,
        sink: &mut S,
        level: usize,
        e: ChunkEntry,
    ) -> Result<(), S::Error> {
        if self.levels.len() <= level {
            self.levels.push(Vec::new());
        }
        self.levels[level].push(e);
        if is_boundary(&e.id) || self.levels[level].len() >= MAX_FANOUT {
            self.flush(sink, level)?;
        }
        Ok(())
    }

    fn flush<S: ObjectSink>(&mut self, sink: &mut S, level: usize) -> Result<(), S::Error> {
        let entries = std::mem::take(&mut self.levels[level]);
        let node = ChunkListNode {
            level: (level + 1) as u8,
            entries,
        };
        let bytes = node.encode()?;
        let id = ObjectId::compute(ObjectKind::ChunkList, &bytes);
        sink.put(id, ObjectKind::ChunkList, &bytes)?;
        let len = node.total_len();
        self.push_at(sink, level + 1, ChunkEntry { id, len })
    }

    /// Closes every open node and returns the file object. A file must have at least
    /// one chunk: callers push the empty chunk for an empty file.
    pub fn finish<S: ObjectSink>(mut self, sink: &mut S) -> Result<FileObject, S::Error> {
        let mut level = 0;
        loop {
            let top = self.levels.iter().rposition(|l| !l.is_empty());
            let Some(top) = top else {
                return Err(ObjectError::Invalid {
                    kind: ObjectKind::File,
                    reason: "a file needs at least one chunk".into(),
                }
                .into());
            };
            if level == top && self.levels[level].len() == 1 {
                let root = self.levels[level][0];
                return Ok(FileObject {
                    size: self.total,
                    height: level as u8,
                    root: root.id,
                });
            }
            if !self.levels[level].is_empty() {
                self.flush(sink, level)?;
            }
            level += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct MemSink(HashMap<ObjectId, Vec<u8>>);
    impl ObjectSink for MemSink {
        type Error = ObjectError;
        fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), ObjectError> {
            assert_eq!(kind, ObjectKind::ChunkList);
            assert_eq!(ObjectId::compute(kind, bytes), id);
            self.0.insert(id, bytes.to_vec());
            Ok(())
        }
    }

    fn chunk_ids(n: usize, salt: u64) -> Vec<(ObjectId, u64)> {
        (0..n)
            .map(|i| {
                let seed = if i == n / 2 { salt } else { 0 };
                (
                    ObjectId::of_chunk(format!("{i}-{seed}").as_bytes()),
                    1000 + i as u64 % 7,
                )
            })
            .collect()
    }

    fn build(sink: &mut MemSink, chunks: &[(ObjectId, u64)]) -> FileObject {
        let mut b = ChunkTreeBuilder::new();
        for &(id, len) in chunks {
            b.push(sink, id, len).unwrap();
        }
        b.finish(sink).unwrap()
    }

    /// Walks the tree back to its leaves.
    fn leaves(sink: &MemSink, f: &FileObject) -> Vec<(ObjectId, u64)> {
        fn walk(sink: &MemSink, id: ObjectId, level: u8, out: &mut Vec<(ObjectId, u64)>) {
            let node = ChunkListNode::decode(&sink.0[&id]).unwrap();
            assert_eq!(node.level, level);
            for e in node.entries {
                if level == 1 {
                    out.push((e.id, e.len));
                } else {
                    walk(sink, e.id, level - 1, out);
                }
            }
        }
        let mut out = Vec::new();
        if f.height == 0 {
            out.push((f.root, f.size));
        } else {
            walk(sink, f.root, f.height, &mut out);
        }
        out
    }

    #[test]
    fn single_chunk_file_has_no_nodes() {
        let mut sink = MemSink::default();
        let c = chunk_ids(1, 0);
        let f = build(&mut sink, &c);
        assert_eq!(f.height, 0);
        assert_eq!(f.root, c[0].0);
        assert!(sink.0.is_empty());
        assert!(ChunkTreeBuilder::new().finish(&mut sink).is_err());
    }

    #[test]
    fn leaves_round_trip_for_many_sizes() {
        for n in [2, 63, 64, 65, 1000, 5000, 70_000] {
            let mut sink = MemSink::default();
            let c = chunk_ids(n, 0);
            let f = build(&mut sink, &c);
            assert_eq!(f.size, c.iter().map(|x| x.1).sum::<u64>());
            assert_eq!(leaves(&sink, &f), c, "n={n}");
        }
    }

    #[test]
    fn one_chunk_edit_rewrites_few_nodes() {
        let n = 160_000; // a 10 GB file at 64 KiB chunks
        let mut a = MemSink::default();
        let fa = build(&mut a, &chunk_ids(n, 0));
        let mut b = MemSink::default();
        let fb = build(&mut b, &chunk_ids(n, 1));
        assert_ne!(fa.root, fb.root);
        let new_nodes: Vec<_> = b.0.keys().filter(|k| !a.0.contains_key(k)).collect();
        let new_bytes: usize = new_nodes.iter().map(|k| b.0[*k].len()).sum();
        assert!(
            new_nodes.len() <= 2 * fb.height as usize + 2,
            "{} new nodes",
            new_nodes.len()
        );
        assert!(new_bytes < 64 * 1024, "{new_bytes} bytes of new metadata");
    }

    #[test]
    fn fanout_is_bounded_even_without_boundaries() {
        // Ids chosen so none is a boundary: the fan-out cap must close nodes.
        let mut sink = MemSink::default();
        let mut b = ChunkTreeBuilder::new();
        let mut pushed = Vec::new();
        let mut i = 0u64;
        while pushed.len() < 3000 {
            let id = ObjectId::of_chunk(&i.to_le_bytes());
            i += 1;
            if !is_boundary(&id) {
                b.push(&mut sink, id, 1).unwrap();
                pushed.push((id, 1));
            }
        }
        let f = b.finish(&mut sink).unwrap();
        assert!(sink
            .0
            .values()
            .all(|n| ChunkListNode::decode(n).unwrap().entries.len() <= MAX_FANOUT));
        assert_eq!(leaves(&sink, &f), pushed);
    }

    #[test]
    fn decode_rejects_invalid_nodes() {
        let id = ObjectId::of_chunk(b"c");
        let bad = [
            ChunkListNode {
                level: 0,
                entries: vec![ChunkEntry { id, len: 1 }],
            },
            ChunkListNode {
                level: 1,
                entries: vec![],
            },
            ChunkListNode {
                level: 1,
                entries: vec![ChunkEntry { id, len: 0 }],
            },
            ChunkListNode {
                level: 1,
                entries: vec![ChunkEntry { id, len: u64::MAX }, ChunkEntry { id, len: 1 }],
            },
            ChunkListNode {
                level: 1,
                entries: vec![ChunkEntry { id, len: 1 }; MAX_FANOUT + 1],
            },
        ];
        for node in bad {
            let err = ChunkListNode::decode(&node.encode().unwrap()).unwrap_err();
            assert!(
                matches!(err, ObjectError::Invalid { .. }),
                "{node:?}: {err}"
            );
        }
    }
}
