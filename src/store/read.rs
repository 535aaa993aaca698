//! Reading objects and streaming file content out of a [`Store`].

use std::io::Write;

use rayon::prelude::*;

use super::error::StoreError;
use super::id::{IdPrefix, ObjectId, ObjectKind};
use super::object::{ChunkEntry, ChunkListNode, Commit, FileObject, ObjectError, Tag, Tree};
use super::Store;

/// Chunks fetched and decompressed in parallel ahead of the writer while streaming a
/// file out; bounds memory to this many maximum-size chunks.
pub const READ_AHEAD_CHUNKS: usize = 16;

impl Store {
    /// True if a record with this id is stored.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.packs.contains(id)
    }

    /// Reads and verifies a record.
    pub fn read(&self, id: &ObjectId) -> Result<(ObjectKind, Vec<u8>), StoreError> {
        self.packs.read(id)?.ok_or(StoreError::NotFound { id: *id })
    }

    /// Reads a record that must be of `kind`.
    pub fn read_kind(&self, id: &ObjectId, kind: ObjectKind) -> Result<Vec<u8>, StoreError> {
        let (actual, data) = self.read(id)?;
        if actual != kind {
            return Err(StoreError::WrongKind {
                id: *id,
                expected: kind,
                actual,
            });
        }
        Ok(data)
    }

    fn decoded<T>(
        &self,
        id: &ObjectId,
        kind: ObjectKind,
        f: fn(&[u8]) -> Result<T, ObjectError>,
    ) -> Result<T, StoreError> {
        let data = self.read_kind(id, kind)?;
        f(&data).map_err(|source| StoreError::BadObject { id: *id, source })
    }

    /// Loads a commit.
    pub fn commit(&self, id: &ObjectId) -> Result<Commit, StoreError> {
        self.decoded(id, ObjectKind::Commit, Commit::decode)
    }

    /// Loads a tree.
    pub fn tree(&self, id: &ObjectId) -> Result<Tree, StoreError> {
        self.decoded(id, ObjectKind::Tree, Tree::decode)
    }

    /// Loads a file object.
    pub fn file(&self, id: &ObjectId) -> Result<FileObject, StoreError> {
        self.decoded(id, ObjectKind::File, FileObject::decode)
    }

    /// Loads a tag.
    pub fn tag(&self, id: &ObjectId) -> Result<Tag, StoreError> {
        self.decoded(id, ObjectKind::Tag, Tag::decode)
    }

    /// Loads a chunk-list node.
    pub fn chunk_list(&self, id: &ObjectId) -> Result<ChunkListNode, StoreError> {
        self.decoded(id, ObjectKind::ChunkList, ChunkListNode::decode)
    }

    /// Ids of stored records starting with `prefix`, at most `limit`.
    pub fn resolve_prefix(&self, prefix: &IdPrefix, limit: usize) -> Vec<ObjectId> {
        self.packs.resolve_prefix(prefix, limit)
    }

    /// The chunks of a file in order, checking the tree's shape on the way (levels,
    /// lengths adding up to the stated size). Memory is O(height × fan-out).
    pub fn file_chunks<'s>(&'s self, file_id: &ObjectId, file: &FileObject) -> FileChunks<'s> {
        let stack = if file.height == 0 {
            vec![Frame {
                level: 0,
                entries: vec![ChunkEntry {
                    id: file.root,
                    len: file.size,
                }],
                next: 0,
            }]
        } else {
            vec![Frame {
                level: file.height + 1,
                entries: vec![ChunkEntry {
                    id: file.root,
                    len: file.size,
                }],
                next: 0,
            }]
        };
        FileChunks {
            store: self,
            file_id: *file_id,
            stack,
            done: false,
        }
    }

    /// Streams a file's content to `out`, verifying every chunk; returns bytes written.
    pub fn write_file(&self, file_id: &ObjectId, out: &mut dyn Write) -> Result<u64, StoreError> {
        let file = self.file(file_id)?;
        let mut chunks = self.file_chunks(file_id, &file);
        let mut written = 0u64;
        let mut batch = Vec::with_capacity(READ_AHEAD_CHUNKS);
        loop {
            batch.clear();
            for c in chunks.by_ref().take(READ_AHEAD_CHUNKS) {
                batch.push(c?);
            }
            if batch.is_empty() {
                break;
            }
            let data: Vec<Result<Vec<u8>, StoreError>> = batch
                .par_iter()
                .map(|c| {
                    let d = self.read_kind(&c.id, ObjectKind::Chunk)?;
                    if d.len() as u64 != c.len {
                        return Err(StoreError::BadFile {
                            id: *file_id,
                            reason: format!(
                                "chunk {} holds {} bytes, the tree says {}",
                                c.id,
                                d.len(),
                                c.len
                            ),
                        });
                    }
                    Ok(d)
                })
                .collect();
            for d in data {
                let d = d?;
                out.write_all(&d).map_err(StoreError::io("<output>"))?;
                written += d.len() as u64;
            }
        }
        if written != file.size {
            return Err(StoreError::BadFile {
                id: *file_id,
                reason: format!(
                    "content is {written} bytes, the file object says {}",
                    file.size
                ),
            });
        }
        Ok(written)
    }

    /// Reads a whole small file into memory (for text diffs and tests; callers bound
    /// the size first).
    pub fn read_file_bytes(&self, file_id: &ObjectId) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.write_file(file_id, &mut out)?;
        Ok(out)
    }
}

struct Frame {
    /// Level of the entries' *parent*: entries of a level-1 node are chunks.
    level: u8,
    entries: Vec<ChunkEntry>,
    next: usize,
}

/// Iterator over a file's chunks, from [`Store::file_chunks`].
pub struct FileChunks<'s> {
    store: &'s Store,
    file_id: ObjectId,
    stack: Vec<Frame>,
    done: bool,
}

impl FileChunks<'_> {
    fn bad(&mut self, reason: String) -> Option<Result<ChunkEntry, StoreError>> {
        self.done = true;
        Some(Err(StoreError::BadFile {
            id: self.file_id,
            reason,
        }))
    }
}

impl Iterator for FileChunks<'_> {
    type Item = Result<ChunkEntry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let frame = self.stack.last_mut()?;
            let Some(&entry) = frame.entries.get(frame.next) else {
                self.stack.pop();
                continue;
            };
            frame.next += 1;
            let level = frame.level;
            if level <= 1 {
                return Some(Ok(entry));
            }
            // The entry is a node of level `level - 1`.
            let node = match self.store.chunk_list(&entry.id) {
                Ok(n) => n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            if node.level != level - 1 {
                return self.bad(format!(
                    "chunk-list node {} is at level {}, expected {}",
                    entry.id,
                    node.level,
                    level - 1
                ));
            }
            if node.total_len() != entry.len {
                return self.bad(format!(
                    "chunk-list node {} covers {} bytes, its parent says {}",
                    entry.id,
                    node.total_len(),
                    entry.len
                ));
            }
            self.stack.push(Frame {
                level: node.level,
                entries: node.entries,
                next: 0,
            });
        }
    }
}
