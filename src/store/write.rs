//! [`ObjectWriter`]: adding chunks and objects to a [`Store`] (`store-format.md` §
//! *Write ordering*).
//!
//! Ingest is a pipeline: one thread reads and cuts the input into chunks, batches of
//! chunks are hashed and compressed on the rayon pool, and this thread appends the new
//! records to the active pack in file order. Memory is bounded by a few batches of
//! [`BATCH_BYTES`], whatever the file size. Nothing a writer appends is reachable until
//! [`ObjectWriter::finish`] has fsynced and sealed its packs; callers update refs or the
//! index only after that.

use std::cell::RefCell;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;

use super::chunker::{chunk_slice, ChunkParams, Chunker};
use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::lock::StoreLock;
use super::object::{ChunkTreeBuilder, Commit, FileObject, ObjectSink, Tag, Tree};
use super::pack::{Codec, Compressor, PackSet, PackWriter};
use super::Store;

/// Bytes of input handed to the hashing/compression pool at once.
pub const BATCH_BYTES: usize = 8 << 20;
/// A pack is sealed and a new one started past this size, so a 20 GB package lands in
/// a few dozen files.
pub const MAX_PACK_BYTES: u64 = 1 << 30;

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's compressor at `level`.
fn with_compressor<R>(level: i32, f: impl FnOnce(&mut Compressor) -> R) -> Result<R, StoreError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().map(|c| c.level()) != Some(level) {
            *slot = Some(Compressor::new(level).map_err(StoreError::io("<zstd>"))?);
        }
        let c = slot.as_mut().expect("compressor was just created");
        Ok(f(c))
    })
}

/// A chunk's id and length, and its record when it is not stored yet.
type ChunkOutcome = (ObjectId, u64, Option<Prepared>);

/// A record ready to append: id computed, payload encoded.
#[derive(Debug)]
pub struct Prepared {
    id: ObjectId,
    kind: ObjectKind,
    raw_len: u32,
    codec: Codec,
    payload: Vec<u8>,
}

impl Prepared {
    /// Encodes `raw` (taking ownership so raw payloads are not copied).
    fn new(
        id: ObjectId,
        kind: ObjectKind,
        raw: Vec<u8>,
        level: i32,
    ) -> Result<Prepared, StoreError> {
        let raw_len = raw.len() as u32;
        let mut out = Vec::new();
        let codec = with_compressor(level, |c| c.encode(&raw, &mut out))?;
        let payload = match codec {
            Codec::Zstd => out,
            Codec::Raw => raw,
        };
        Ok(Prepared {
            id,
            kind,
            raw_len,
            codec,
            payload,
        })
    }
}

/// A file fully prepared in memory by [`ObjectWriter::prepare_bytes`], to be appended
/// with [`ObjectWriter::append_prepared`]. Lets many small files be hashed and
/// compressed in parallel.
#[derive(Debug)]
pub struct PreparedFile {
    /// Id of the file object.
    pub id: ObjectId,
    /// The file object.
    pub file: FileObject,
    records: Vec<Prepared>,
    chunks: u64,
}

/// What ingesting one file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// Id of the file object.
    pub id: ObjectId,
    /// The file object.
    pub file: FileObject,
    /// Chunks in the file.
    pub chunks: u64,
    /// Chunks that were not already stored.
    pub new_chunks: u64,
    /// Raw bytes of those new chunks.
    pub new_bytes: u64,
}

/// Totals over a writer's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    /// Records appended.
    pub records: u64,
    /// Raw bytes of appended records.
    pub raw_bytes: u64,
    /// Bytes appended to packs (payloads after compression).
    pub stored_bytes: u64,
    /// Packs sealed.
    pub packs: u64,
}

/// Appends records to packs under the store's write lock. Dropping it without
/// [`ObjectWriter::finish`] leaves an unsealed pack that the next writer recovers.
pub struct ObjectWriter<'s> {
    packs: &'s mut PackSet,
    pack_dir: PathBuf,
    params: ChunkParams,
    level: i32,
    pack: Option<PackWriter>,
    stats: WriteStats,
    progress: Option<Box<dyn Fn(u64) + Send + Sync + 's>>,
}

/// Collects chunk-list nodes produced while preparing a file.
struct Collect<'a> {
    known: &'a (dyn Fn(&ObjectId) -> bool + Sync),
    level: i32,
    out: Vec<Prepared>,
}

impl ObjectSink for Collect<'_> {
    type Error = StoreError;
    fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), StoreError> {
        if !(self.known)(&id) && !self.out.iter().any(|p| p.id == id) {
            self.out
                .push(Prepared::new(id, kind, bytes.to_vec(), self.level)?);
        }
        Ok(())
    }
}

impl Store {
    /// A writer; the lock proves this process is the only writer.
    pub fn writer<'s>(&'s mut self, _lock: &'s StoreLock) -> ObjectWriter<'s> {
        let pack_dir = self.dir().join(super::open::PACK_DIR);
        let (params, level) = (self.params(), self.compression_level());
        ObjectWriter {
            packs: &mut self.packs,
            pack_dir,
            params,
            level,
            pack: None,
            stats: WriteStats::default(),
            progress: None,
        }
    }
}

impl<'s> ObjectWriter<'s> {
    /// Calls `f` with the number of input bytes processed, as ingest proceeds.
    pub fn set_progress(&mut self, f: impl Fn(u64) + Send + Sync + 's) {
        self.progress = Some(Box::new(f));
    }

    /// True if the record is stored or already appended by this writer.
    pub fn contains(&self, id: &ObjectId) -> bool {
        self.packs.contains(id) || self.pack.as_ref().is_some_and(|p| p.contains(id))
    }

    fn append(&mut self, p: Prepared) -> Result<(), StoreError> {
        if self
            .pack
            .as_ref()
            .is_some_and(|w| w.bytes() >= MAX_PACK_BYTES)
        {
            self.seal()?;
        }
        let pack = match &mut self.pack {
            Some(p) => p,
            None => self.pack.insert(PackWriter::create(&self.pack_dir)?),
        };
        if pack.append(p.id, p.kind, p.codec, p.raw_len, &p.payload)? {
            self.stats.records += 1;
            self.stats.raw_bytes += u64::from(p.raw_len);
            self.stats.stored_bytes += p.payload.len() as u64;
        }
        Ok(())
    }

    fn seal(&mut self) -> Result<(), StoreError> {
        if let Some(w) = self.pack.take() {
            if let Some(sealed) = w.finish()? {
                self.packs.add_sealed(sealed)?;
                self.stats.packs += 1;
            }
        }
        Ok(())
    }

    /// Stores an encoded object of `kind` (not a chunk); returns its id.
    pub fn put_object(&mut self, kind: ObjectKind, bytes: Vec<u8>) -> Result<ObjectId, StoreError> {
        let id = ObjectId::compute(kind, &bytes);
        if !self.contains(&id) {
            let p = Prepared::new(id, kind, bytes, self.level)?;
            self.append(p)?;
        }
        Ok(id)
    }

    /// Stores a tree.
    pub fn put_tree(&mut self, tree: &Tree) -> Result<ObjectId, StoreError> {
        self.put_object(ObjectKind::Tree, tree.encode()?)
    }

    /// Stores a commit.
    pub fn put_commit(&mut self, commit: &Commit) -> Result<ObjectId, StoreError> {
        self.put_object(ObjectKind::Commit, commit.encode()?)
    }

    /// Stores a tag.
    pub fn put_tag(&mut self, tag: &Tag) -> Result<ObjectId, StoreError> {
        self.put_object(ObjectKind::Tag, tag.encode()?)
    }

    /// Prepares a file held in memory: chunks, hashes and compresses it without
    /// touching the packs, so callers can run it on many files in parallel.
    pub fn prepare_bytes(&self, data: Vec<u8>) -> Result<PreparedFile, StoreError> {
        let known = |id: &ObjectId| self.contains(id);
        let mut sink = Collect {
            known: &known,
            level: self.level,
            out: Vec::new(),
        };
        let mut builder = ChunkTreeBuilder::new();
        let mut chunks = 0u64;
        let cuts: Vec<(usize, usize)> = if data.is_empty() {
            vec![(0, 0)]
        } else {
            chunk_slice(self.params, &data).collect()
        };
        for (off, len) in cuts {
            let raw = &data[off..off + len];
            let id = ObjectId::of_chunk(raw);
            chunks += 1;
            if !known(&id) && !sink.out.iter().any(|p| p.id == id) {
                sink.out.push(Prepared::new(
                    id,
                    ObjectKind::Chunk,
                    raw.to_vec(),
                    self.level,
                )?);
            }
            builder.push(&mut sink, id, len as u64)?;
        }
        let file = builder.finish(&mut sink)?;
        let bytes = file.encode()?;
        let id = ObjectId::compute(ObjectKind::File, &bytes);
        if !known(&id) {
            sink.out
                .push(Prepared::new(id, ObjectKind::File, bytes, self.level)?);
        }
        Ok(PreparedFile {
            id,
            file,
            records: sink.out,
            chunks,
        })
    }

    /// Appends what [`ObjectWriter::prepare_bytes`] produced.
    pub fn append_prepared(&mut self, f: PreparedFile) -> Result<Ingested, StoreError> {
        let mut new_chunks = 0;
        let mut new_bytes = 0;
        for p in f.records {
            if self.contains(&p.id) {
                continue;
            }
            if p.kind == ObjectKind::Chunk {
                new_chunks += 1;
                new_bytes += u64::from(p.raw_len);
            }
            self.append(p)?;
        }
        Ok(Ingested {
            id: f.id,
            file: f.file,
            chunks: f.chunks,
            new_chunks,
            new_bytes,
        })
    }

    /// Ingests a stream of any length with bounded memory.
    pub fn ingest(&mut self, reader: impl Read + Send) -> Result<Ingested, StoreError> {
        let params = self.params;
        let level = self.level;
        let (tx, rx) = sync_channel::<std::io::Result<Vec<Vec<u8>>>>(2);
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let mut batch = Vec::new();
                let mut bytes = 0;
                for chunk in Chunker::new(reader, params) {
                    match chunk {
                        Ok(c) => {
                            bytes += c.data.len();
                            batch.push(c.data);
                            if bytes >= BATCH_BYTES {
                                if tx.send(Ok(std::mem::take(&mut batch))).is_err() {
                                    return;
                                }
                                bytes = 0;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
                if !batch.is_empty() {
                    let _ = tx.send(Ok(batch));
                }
            });
            let mut builder = ChunkTreeBuilder::new();
            let (mut chunks, mut new_chunks, mut new_bytes, mut done) = (0u64, 0u64, 0u64, 0u64);
            for batch in rx {
                let batch = batch.map_err(StoreError::io("<input>"))?;
                let this = &*self;
                let prepared: Vec<Result<ChunkOutcome, StoreError>> = batch
                    .into_par_iter()
                    .map(|raw| {
                        let id = ObjectId::of_chunk(&raw);
                        let len = raw.len() as u64;
                        if this.contains(&id) {
                            return Ok((id, len, None));
                        }
                        Ok((
                            id,
                            len,
                            Some(Prepared::new(id, ObjectKind::Chunk, raw, level)?),
                        ))
                    })
                    .collect();
                for p in prepared {
                    let (id, len, record) = p?;
                    chunks += 1;
                    done += len;
                    if let Some(record) = record {
                        if !self.contains(&id) {
                            new_chunks += 1;
                            new_bytes += len;
                            self.append(record)?;
                        }
                    }
                    builder.push(self, id, len)?;
                }
                if let Some(f) = &self.progress {
                    f(done);
                }
            }
            if chunks == 0 {
                // An empty file is the empty chunk.
                let id = ObjectId::of_chunk(&[]);
                if !self.contains(&id) {
                    self.append(Prepared::new(id, ObjectKind::Chunk, Vec::new(), level)?)?;
                    new_chunks += 1;
                }
                chunks = 1;
                builder.push(self, id, 0)?;
            }
            let file = builder.finish(self)?;
            let id = self.put_object(ObjectKind::File, file.encode()?)?;
            Ok(Ingested {
                id,
                file,
                chunks,
                new_chunks,
                new_bytes,
            })
        })
    }

    /// Seals the active pack (fsync, index, rename, directory fsync) and makes
    /// everything written visible. Only after this may refs or the index point at it.
    pub fn finish(mut self) -> Result<WriteStats, StoreError> {
        self.seal()?;
        Ok(self.stats)
    }

    /// Totals so far.
    pub fn stats(&self) -> WriteStats {
        self.stats
    }
}

impl ObjectSink for ObjectWriter<'_> {
    type Error = StoreError;
    fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), StoreError> {
        if !self.contains(&id) {
            let p = Prepared::new(id, kind, bytes.to_vec(), self.level)?;
            self.append(p)?;
        }
        Ok(())
    }
}

/// The file id `reader`'s content would get, computed without storing anything (used
/// by `status` to check a file whose stat data changed).
pub fn hash_file(params: ChunkParams, reader: impl Read) -> Result<ObjectId, StoreError> {
    let mut builder = ChunkTreeBuilder::new();
    let mut sink = super::object::DiscardSink;
    let mut any = false;
    for chunk in Chunker::new(reader, params) {
        let chunk = chunk.map_err(StoreError::io("<input>"))?;
        builder.push(
            &mut sink,
            ObjectId::of_chunk(&chunk.data),
            chunk.data.len() as u64,
        )?;
        any = true;
    }
    if !any {
        builder.push(&mut sink, ObjectId::of_chunk(&[]), 0)?;
    }
    Ok(builder.finish(&mut sink)?.id()?)
}
