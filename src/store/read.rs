//! Reading objects and streaming file content out of a [`Store`].

use std::io::Write;

use rayon::prelude::*;

use super::error::StoreError;
use super::id::{IdPrefix, ObjectId, ObjectKind};
use super::object::{
    AssetMeta, ChunkEntry, ChunkListNode, Commit, FileObject, ObjectError, Tag, Tree,
};
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

    /// Loads an asset-metadata object.
    pub fn asset_meta(&self, id: &ObjectId) -> Result<AssetMeta, StoreError> {
        self.decoded(id, ObjectKind::AssetMeta, AssetMeta::decode)
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
    ///
    /// Two stages overlap: a reader thread fetches, decodes and verifies the next
    /// [`READ_AHEAD_CHUNKS`] chunks (in parallel) while this thread writes the
    /// previous ones, so memory is two batches of chunks whatever the file's size.
    pub fn write_file(&self, file_id: &ObjectId, out: &mut dyn Write) -> Result<u64, StoreError> {
        let file = self.file(file_id)?;
        let mut written = 0u64;

        std::thread::scope(|scope| -> Result<(), StoreError> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<Vec<u8>>, StoreError>>(1);
            let reader = scope.spawn(move || {
                let mut chunks = self.file_chunks(file_id, &file);
                let mut batch = Vec::with_capacity(READ_AHEAD_CHUNKS);
                loop {
                    batch.clear();
                    for c in chunks.by_ref().take(READ_AHEAD_CHUNKS) {
                        match c {
                            Ok(c) => batch.push(c),
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return;
                            }
                        }
                    }
                    if batch.is_empty() {
                        return;
                    }
                    let read = |c: &ChunkEntry| {
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
                    };
                    // On the chunk pool, never the global one: callers are often
                    // global-pool workers (files checked out in parallel) that block on
                    // the channel below, and with every worker blocked here, reads
                    // queued on the global pool would never run.
                    let data: Result<Vec<Vec<u8>>, StoreError> = match super::pool::chunk_pool() {
                        Some(pool) => pool.install(|| batch.par_iter().map(read).collect()),
                        None => batch.iter().map(read).collect(),
                    };
                    let failed = data.is_err();
                    // The writer stopped (an output error): nothing more to read.
                    if tx.send(data).is_err() || failed {
                        return;
                    }
                }
            });
            let mut result = Ok(());
            for batch in rx {
                match batch {
                    Ok(batch) => {
                        for d in batch {
                            if let Err(e) = out.write_all(&d) {
                                result = Err(StoreError::io("<output>")(e));
                                break;
                            }
                            written += d.len() as u64;
                        }
                    }
                    Err(e) => result = Err(e),
                }
                if result.is_err() {
                    break;
                }
            }
            // Dropping the receiver (on error) stops the reader at its next send.
            let _ = reader.join();
            result
        })?;
        // No separate check of the total is needed: `file_chunks` checked that the
        // root covers `file.size` and that each node covers what its parent says, and
        // each chunk was checked against its entry above, so the lengths add up.
        debug_assert_eq!(written, file.size);
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

#[cfg(test)]
mod tests {
    //! Reading files out of deliberately malformed chunk-list trees: every shape rule
    //! is enforced, and the error names the file and what does not add up.

    use super::*;
    use crate::store::object::EntryKind;
    use crate::store::pack::testutil::random_bytes;
    use crate::store::walk::tests::{absent, commit, file, new_store, node, put, put1, tree};

    /// Why reading file `id` fails, which must be a [`StoreError::BadFile`] naming it.
    fn bad_file(store: &Store, id: ObjectId) -> String {
        let err = store.read_file_bytes(&id).unwrap_err();
        assert!(
            matches!(&err, StoreError::BadFile { id: at, .. } if *at == id),
            "{err}"
        );
        err.to_string().replace(&format!("file {id}: "), "")
    }

    #[test]
    fn healthy_files_and_objects_read_back() {
        let (_dir, mut store) = new_store();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let data = random_bytes(2, 300 << 10);
        let big = w.ingest(&data[..]).unwrap();
        let empty = w.ingest(&b""[..]).unwrap();
        w.finish().unwrap();
        drop(lock);
        assert!(big.file.height >= 2 && big.chunks > READ_AHEAD_CHUNKS as u64);
        assert_eq!(store.read_file_bytes(&big.id).unwrap(), data);
        assert_eq!(store.read_file_bytes(&empty.id).unwrap(), b"");
        let chunks: Vec<_> = store
            .file_chunks(&big.id, &big.file)
            .map(|c| c.unwrap())
            .collect();
        assert_eq!(chunks.len() as u64, big.chunks);
        assert_eq!(chunks.iter().map(|c| c.len).sum::<u64>(), data.len() as u64);

        let t = put1(
            &mut store,
            ObjectKind::Tree,
            tree(&[("f", EntryKind::File, big.id, None)]),
        );
        let c = put1(&mut store, ObjectKind::Commit, commit(t, vec![]));
        assert!(store.contains(&c) && !store.contains(&absent("c")));
        assert_eq!(store.commit(&c).unwrap().tree, t);
        assert_eq!(store.tree(&t).unwrap().entries[0].id, big.id);
        assert_eq!(store.file(&big.id).unwrap(), big.file);
        assert_eq!(
            store.chunk_list(&big.file.root).unwrap().level,
            big.file.height
        );
        let prefix = c.to_hex()[..8].parse().unwrap();
        assert_eq!(store.resolve_prefix(&prefix, 5), vec![c]);
        let tag = crate::store::object::Tag {
            target: c,
            target_kind: ObjectKind::Commit,
            name: "v1".into(),
            tagger: store.commit(&c).unwrap().author,
            message: String::new(),
            signature: None,
        };
        let tg = put1(&mut store, ObjectKind::Tag, tag.encode().unwrap());
        assert_eq!(store.tag(&tg).unwrap(), tag);
    }

    #[test]
    fn missing_mistyped_and_undecodable_objects() {
        let (_dir, mut store) = new_store();
        let t = put1(&mut store, ObjectKind::Tree, tree(&[]));
        let garbage = put1(&mut store, ObjectKind::Commit, b"\x82\x01".to_vec());
        let missing = absent("x");
        assert!(matches!(
            store.read(&missing),
            Err(StoreError::NotFound { id }) if id == missing
        ));
        assert!(matches!(
            store.commit(&t),
            Err(StoreError::WrongKind { id, expected: ObjectKind::Commit, actual: ObjectKind::Tree }) if id == t
        ));
        let err = store.commit(&garbage).unwrap_err();
        assert!(
            matches!(&err, StoreError::BadObject { id, .. } if *id == garbage),
            "{err}"
        );
        // write_file of something that is not a file object.
        assert!(matches!(
            store.read_file_bytes(&t),
            Err(StoreError::WrongKind {
                expected: ObjectKind::File,
                ..
            })
        ));
    }

    #[test]
    fn chunk_lengths_must_match_the_tree() {
        let (_dir, mut store) = new_store();
        let ids = put(
            &mut store,
            vec![
                (ObjectKind::Chunk, b"12345".to_vec()),
                (ObjectKind::Chunk, b"67890".to_vec()),
            ],
        );
        let (a, b) = (ids[0], ids[1]);
        let n_wrong = put(&mut store, vec![node(1, &[(a, 5), (b, 6)])])[0];
        let ids = put(
            &mut store,
            vec![
                file(6, 0, a),        // single chunk, size says 6
                file(4, 0, a),        // single chunk, size says 4
                file(11, 1, n_wrong), // node says b has 6 bytes
            ],
        );
        assert_eq!(
            bad_file(&store, ids[0]),
            format!("chunk {a} holds 5 bytes, the tree says 6")
        );
        assert_eq!(
            bad_file(&store, ids[1]),
            format!("chunk {a} holds 5 bytes, the tree says 4")
        );
        assert_eq!(
            bad_file(&store, ids[2]),
            format!("chunk {b} holds 5 bytes, the tree says 6")
        );
    }

    #[test]
    fn node_levels_and_totals_must_match_their_parents() {
        let (_dir, mut store) = new_store();
        let ids = put(
            &mut store,
            vec![
                (ObjectKind::Chunk, b"12345".to_vec()),
                (ObjectKind::Chunk, b"67890".to_vec()),
            ],
        );
        let (a, b) = (ids[0], ids[1]);
        let n1 = put(&mut store, vec![node(1, &[(a, 5), (b, 5)])])[0];
        let ids = put(
            &mut store,
            vec![
                node(2, &[(n1, 10)]), // 0: healthy level 2
                node(2, &[(n1, 9)]),  // 1: child covers 10, says 9
                node(3, &[(n1, 10)]), // 2: child at level 1, expected 2
            ],
        );
        let (n2, n2_short, n3_skip) = (ids[0], ids[1], ids[2]);
        let ids = put(
            &mut store,
            vec![
                file(10, 2, n2),      // 0: healthy
                file(11, 1, n1),      // 1: size disagrees with the tree
                file(10, 2, n1),      // 2: root at level 1, height 2
                file(9, 2, n2_short), // 3: inner total wrong
                file(10, 3, n3_skip), // 4: inner level wrong
            ],
        );
        assert_eq!(store.read_file_bytes(&ids[0]).unwrap(), b"1234567890");
        assert_eq!(
            bad_file(&store, ids[1]),
            format!("chunk-list node {n1} covers 10 bytes, its parent says 11")
        );
        assert_eq!(
            bad_file(&store, ids[2]),
            format!("chunk-list node {n1} is at level 1, expected 2")
        );
        assert_eq!(
            bad_file(&store, ids[3]),
            format!("chunk-list node {n1} covers 10 bytes, its parent says 9")
        );
        assert_eq!(
            bad_file(&store, ids[4]),
            format!("chunk-list node {n1} is at level 1, expected 2")
        );
    }

    #[test]
    fn missing_and_mistyped_tree_members() {
        let (_dir, mut store) = new_store();
        let a = put1(&mut store, ObjectKind::Chunk, b"12345".to_vec());
        let n1 = put(&mut store, vec![node(1, &[(a, 5)])])[0];
        let ids = put(
            &mut store,
            vec![
                node(1, &[(absent("chunk"), 5)]), // 0: a chunk is missing
                node(1, &[(n1, 5)]),              // 1: a "chunk" that is a node
            ],
        );
        let ids = put(
            &mut store,
            vec![
                file(5, 1, absent("root")),  // 0: root node missing
                file(5, 1, a),               // 1: root node is a chunk
                file(5, 0, absent("chunk")), // 2: the only chunk is missing
                file(5, 1, ids[0]),          // 3
                file(5, 1, ids[1]),          // 4
            ],
        );
        let not_found = |id: ObjectId| {
            let err = store.read_file_bytes(&id).unwrap_err();
            assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        };
        not_found(ids[0]);
        not_found(ids[2]);
        not_found(ids[3]);
        let wrong_kind = |id: ObjectId, want: ObjectKind, got: ObjectKind| {
            let err = store.read_file_bytes(&id).unwrap_err();
            assert!(
                matches!(err, StoreError::WrongKind { expected, actual, .. } if expected == want && actual == got),
                "{err}"
            );
        };
        wrong_kind(ids[1], ObjectKind::ChunkList, ObjectKind::Chunk);
        wrong_kind(ids[4], ObjectKind::Chunk, ObjectKind::ChunkList);

        // The iterator stops after its first error.
        let f = store.file(&ids[0]).unwrap();
        let mut chunks = store.file_chunks(&ids[0], &f);
        assert!(matches!(
            chunks.next(),
            Some(Err(StoreError::NotFound { .. }))
        ));
        assert!(chunks.next().is_none());
        let f = store.file(&ids[1]).unwrap();
        let bad = FileObject { size: 4, ..f };
        let mut chunks = store.file_chunks(&ids[1], &bad);
        assert!(matches!(
            chunks.next(),
            Some(Err(StoreError::WrongKind { .. }))
        ));
        assert!(chunks.next().is_none());
        let bad = FileObject {
            size: 4,
            root: n1,
            ..f
        };
        let mut chunks = store.file_chunks(&ids[1], &bad);
        assert!(matches!(
            chunks.next(),
            Some(Err(StoreError::BadFile { .. }))
        ));
        assert!(chunks.next().is_none());
    }

    #[test]
    fn output_errors_are_reported() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let (_dir, mut store) = new_store();
        let a = put1(&mut store, ObjectKind::Chunk, b"12345".to_vec());
        let f = put(&mut store, vec![file(5, 0, a)])[0];
        let err = store.write_file(&f, &mut Full).unwrap_err();
        assert!(
            matches!(&err, StoreError::Io { path, .. } if path.as_os_str() == "<output>"),
            "{err}"
        );
        assert!(Full.flush().is_ok());
    }

    /// Regression: files written from every worker of a rayon pool at once (a
    /// parallel checkout) used to deadlock — each worker blocked on its reader
    /// thread, whose parallel chunk reads waited for a free worker.
    #[test]
    fn files_written_from_every_worker_at_once_do_not_deadlock() {
        use rayon::prelude::*;
        let (dir, mut store) = new_store();
        let data = random_bytes(11, 300_000);
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let id = w.ingest(&data[..]).unwrap().id;
        w.finish().unwrap();
        drop(lock);
        assert!(store.file(&id).unwrap().height > 0, "many chunks");
        let store = Store::open(&dir.path().join(".gadn")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The global pool, as checkout uses it: more files than workers.
            let n = 4 * rayon::current_num_threads();
            let ok = (0..n).into_par_iter().all(|_| {
                let mut out = Vec::new();
                store.write_file(&id, &mut out).is_ok() && out == data
            });
            let _ = tx.send(ok);
        });
        let ok = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("no deadlock");
        assert!(ok);
    }
}
