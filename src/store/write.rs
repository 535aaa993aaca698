//! [`ObjectWriter`]: adding chunks and objects to a [`Store`] (`store-format.md` §
//! *Write ordering*).
//!
//! Ingest is a three-stage pipeline with no barrier between stages: a reader thread
//! cuts the input into chunks; a second thread hashes and compresses each batch of
//! chunks on the rayon pool (skipping chunks the sealed packs already hold); this
//! thread appends the new records to the active pack in file order and builds the
//! chunk-list tree. Stages hand over through bounded channels, so memory is a few
//! batches of [`BATCH_BYTES`] whatever the file size, and both cores stay busy.
//!
//! The three ways in ([`ObjectWriter::ingest`], [`ObjectWriter::prepare_bytes`] and
//! [`hash_file`]) share one routine and differ only in where the chunks come from and
//! where the records go: [`Batches`] cuts a chunk stream into batches (and holds the one
//! empty-file rule: no chunk at all is the empty chunk), [`prepare_batch`] hashes a
//! batch, asks [`Dedup::is_new`] (the one dedup rule: not stored and not already queued
//! in this ingest) and compresses only the new chunks, and [`Assembly`] counts them and
//! builds the chunk-list tree into a [`ChunkSink`]. A chunk repeated inside one file is
//! encoded once, at its first occurrence.
//!
//! While a writer lives, the store's [`PackSet`] is not modified: packs this writer
//! seals on rotation are kept aside (and consulted for dedup) and registered by
//! [`ObjectWriter::finish`]. That lets the compression stage read the pack set while
//! the appender writes. Nothing a writer appends is reachable until
//! [`ObjectWriter::finish`] has fsynced and sealed its packs; callers update refs or the
//! index only after that.

use std::cell::RefCell;
use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;

use rayon::prelude::*;

use super::chunker::{chunk_slice, ChunkParams, Chunker};
use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::lock::StoreLock;
use super::object::{AssetMeta, ChunkTreeBuilder, Commit, FileObject, ObjectSink, Tag, Tree};
use super::pack::{Codec, Compressor, PackSet, PackWriter, SealedPack};
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
    encoded_chunks: u64,
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
    /// Chunks this call compressed (or found incompressible): each chunk that was
    /// neither stored nor seen earlier in the file, once. With a writer to itself this
    /// equals `new_chunks`; it is counted where the chunk is encoded, so a repeat that
    /// was encoded and then thrown away would show here.
    pub encoded_chunks: u64,
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
    params: ChunkParams,
    level: i32,
    out: Appender,
    progress: Option<Box<dyn Fn(u64) + Send + Sync + 's>>,
}

/// The writing half of an [`ObjectWriter`]: the active pack and the packs sealed on
/// rotation, kept apart from the (read-only while writing) pack set.
struct Appender {
    pack_dir: PathBuf,
    level: i32,
    pack: Option<PackWriter>,
    sealed: Vec<SealedPack>,
    stats: WriteStats,
}

impl Appender {
    /// True if this writer has appended the record.
    fn holds(&self, id: &ObjectId) -> bool {
        self.pack.as_ref().is_some_and(|p| p.contains(id))
            || self.sealed.iter().any(|s| s.index().lookup(id).is_some())
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
                self.sealed.push(sealed);
                self.stats.packs += 1;
            }
        }
        Ok(())
    }
}

/// The "stored" half of the dedup rule: in the sealed packs, or appended by this writer.
fn stored(packs: &PackSet, out: &Appender, id: &ObjectId) -> bool {
    packs.contains_loaded(id) || out.holds(id)
}

/// The one dedup rule of ingest: a record is encoded and appended only if it is not
/// stored already and not queued earlier in this ingest. Every way in asks it, so a
/// chunk repeated inside a file is encoded once, at its first occurrence.
#[derive(Debug, Default)]
struct Dedup {
    queued: HashSet<ObjectId>,
}

impl Dedup {
    /// True the first time `id` is asked about, unless `stored(id)`; queues it then.
    fn is_new(&mut self, id: &ObjectId, stored: impl FnOnce(&ObjectId) -> bool) -> bool {
        !self.queued.contains(id) && !stored(id) && self.queued.insert(*id)
    }

    /// `id` is stored now, so `stored` answers for it: the queue forgets it, which
    /// keeps the queue to the chunks in flight.
    fn appended(&mut self, id: &ObjectId) {
        self.queued.remove(id);
    }
}

/// A chunk as the routine receives it: owned when streamed, borrowed when the file is
/// in memory (copied only if it is new).
trait RawChunk: AsRef<[u8]> + Default + Send + Sync {
    /// The bytes, owned.
    fn into_vec(self) -> Vec<u8>;
}

impl RawChunk for Vec<u8> {
    fn into_vec(self) -> Vec<u8> {
        self
    }
}

impl RawChunk for &[u8] {
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}

/// Groups a chunk stream into batches of at least `limit` bytes (the last may be
/// smaller), and holds the one empty-file rule: a stream that cuts into no chunk at all
/// is the empty chunk.
struct Batches<I> {
    chunks: I,
    limit: usize,
    any: bool,
    done: bool,
}

impl<I> Batches<I> {
    fn new(chunks: I, limit: usize) -> Self {
        Batches {
            chunks,
            limit,
            any: false,
            done: false,
        }
    }
}

impl<C: RawChunk, E, I: Iterator<Item = Result<C, E>>> Iterator for Batches<I> {
    type Item = Result<Vec<C>, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        for chunk in self.chunks.by_ref() {
            match chunk {
                Ok(c) => {
                    bytes += c.as_ref().len();
                    batch.push(c);
                    if bytes >= self.limit {
                        self.any = true;
                        return Some(Ok(batch));
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.done = true;
        if batch.is_empty() {
            if self.any {
                return None;
            }
            // An empty file is the empty chunk.
            batch.push(C::default());
        }
        Some(Ok(batch))
    }
}

/// Runs `f` on the chunk pool when `parallel` and the pool exists (see `super::pool`
/// for why not the global one); on this thread otherwise.
fn on_pool<R: Send>(parallel: bool, f: impl FnOnce() -> R + Send) -> R {
    match super::pool::chunk_pool() {
        Some(pool) if parallel => pool.install(f),
        _ => f(),
    }
}

/// Hashes a batch, picks the new chunks by [`Dedup::is_new`] in file order (so the
/// first occurrence of a repeat is the one kept) and encodes only those; hashing and
/// encoding run on the chunk pool when `parallel`.
fn prepare_batch<C: RawChunk>(
    batch: Vec<C>,
    level: i32,
    parallel: bool,
    mut is_new: impl FnMut(&[ObjectId]) -> Vec<bool>,
) -> Result<Vec<ChunkOutcome>, StoreError> {
    let ids: Vec<ObjectId> = on_pool(parallel, || {
        if parallel {
            batch
                .par_iter()
                .map(|c| ObjectId::of_chunk(c.as_ref()))
                .collect()
        } else {
            batch
                .iter()
                .map(|c| ObjectId::of_chunk(c.as_ref()))
                .collect()
        }
    });
    let new = is_new(&ids);
    let encode = |((raw, id), new): ((C, ObjectId), bool)| {
        let len = raw.as_ref().len() as u64;
        let record = match new {
            true => Some(Prepared::new(id, ObjectKind::Chunk, raw.into_vec(), level)?),
            false => None,
        };
        Ok((id, len, record))
    };
    on_pool(parallel, || {
        if parallel {
            batch
                .into_par_iter()
                .zip(ids)
                .zip(new)
                .map(encode)
                .collect()
        } else {
            batch.into_iter().zip(ids).zip(new).map(encode).collect()
        }
    })
}

/// Where the routine's records go: new chunks through [`ChunkSink::append_chunk`],
/// chunk-list nodes and the file object through [`ObjectSink::put`] (which applies the
/// dedup rule itself).
trait ChunkSink: ObjectSink<Error = StoreError> {
    /// Takes a new chunk's record.
    fn append_chunk(&mut self, p: Prepared) -> Result<(), StoreError>;
}

/// The last step of the routine: in file order, hands new chunks to the sink, counts,
/// and builds the chunk-list tree.
#[derive(Default)]
struct Assembly {
    builder: ChunkTreeBuilder,
    chunks: u64,
    new_chunks: u64,
    new_bytes: u64,
    encoded_chunks: u64,
}

impl Assembly {
    fn push(&mut self, sink: &mut impl ChunkSink, outcome: ChunkOutcome) -> Result<(), StoreError> {
        let (id, len, record) = outcome;
        self.chunks += 1;
        if let Some(record) = record {
            self.encoded_chunks += 1;
            self.new_chunks += 1;
            self.new_bytes += len;
            sink.append_chunk(record)?;
        }
        self.builder.push(sink, id, len)
    }

    /// Closes the tree and puts the file object.
    fn finish(self, sink: &mut impl ChunkSink) -> Result<Ingested, StoreError> {
        let file = self.builder.finish(sink)?;
        let bytes = file.encode()?;
        let id = ObjectId::compute(ObjectKind::File, &bytes);
        sink.put(id, ObjectKind::File, &bytes)?;
        Ok(Ingested {
            id,
            file,
            chunks: self.chunks,
            new_chunks: self.new_chunks,
            new_bytes: self.new_bytes,
            encoded_chunks: self.encoded_chunks,
        })
    }
}

/// What ingest's stages share under one lock: the appender, and the dedup queue of
/// chunks picked as new but not appended yet. Asking and appending under the same lock
/// keeps "queued or stored" exact while the queue holds only the chunks in flight, so
/// memory stays a few batches whatever the file size.
struct Shared<'a> {
    out: &'a mut Appender,
    dedup: Dedup,
}

/// Ingest's sink: appends to the writer's packs as it goes. The appender is shared
/// with the compression stage, which reads it for [`stored`].
struct AppendSink<'a> {
    packs: &'a PackSet,
    shared: &'a Mutex<Shared<'a>>,
}

/// Locks `shared`; a panic elsewhere leaves it as consistent as a failed append does.
fn lock_shared<'g, 'a>(shared: &'g Mutex<Shared<'a>>) -> std::sync::MutexGuard<'g, Shared<'a>> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl ObjectSink for AppendSink<'_> {
    type Error = StoreError;
    fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), StoreError> {
        let mut shared = lock_shared(self.shared);
        if !stored(self.packs, shared.out, &id) {
            let p = Prepared::new(id, kind, bytes.to_vec(), shared.out.level)?;
            shared.out.append(p)?;
        }
        Ok(())
    }
}

impl ChunkSink for AppendSink<'_> {
    fn append_chunk(&mut self, p: Prepared) -> Result<(), StoreError> {
        let mut shared = lock_shared(self.shared);
        let id = p.id;
        shared.out.append(p)?;
        shared.dedup.appended(&id);
        Ok(())
    }
}

/// [`ObjectWriter::prepare_bytes`]' sink: collects records in memory.
struct Collect<'a> {
    stored: &'a (dyn Fn(&ObjectId) -> bool + Sync),
    dedup: Dedup,
    level: i32,
    out: Vec<Prepared>,
}

impl ObjectSink for Collect<'_> {
    type Error = StoreError;
    fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), StoreError> {
        if self.dedup.is_new(&id, self.stored) {
            self.out
                .push(Prepared::new(id, kind, bytes.to_vec(), self.level)?);
        }
        Ok(())
    }
}

impl ChunkSink for Collect<'_> {
    fn append_chunk(&mut self, p: Prepared) -> Result<(), StoreError> {
        self.out.push(p);
        Ok(())
    }
}

/// [`hash_file`]'s sink: keeps nothing.
struct Discard;

impl ObjectSink for Discard {
    type Error = StoreError;
    fn put(&mut self, _: ObjectId, _: ObjectKind, _: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
}

impl ChunkSink for Discard {
    fn append_chunk(&mut self, _: Prepared) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Store {
    /// Stores one stream as a file object on its own: takes the write lock, ingests
    /// `reader` through a fresh writer, seals the pack and releases the lock. For a
    /// batch, take [`Store::lock`] once and use one [`Store::writer`] instead.
    pub fn ingest_one(&mut self, reader: impl Read + Send) -> Result<Ingested, StoreError> {
        let (lock, _) = self.lock()?;
        let mut w = self.writer(&lock);
        let ingested = w.ingest(reader)?;
        w.finish()?;
        Ok(ingested)
    }

    /// A writer; the lock proves this process is the only writer.
    pub fn writer<'s>(&'s mut self, _lock: &'s StoreLock) -> ObjectWriter<'s> {
        let pack_dir = self.dir().join(super::open::PACK_DIR);
        let (params, level) = (self.params(), self.compression_level());
        ObjectWriter {
            packs: &mut self.packs,
            params,
            level,
            out: Appender {
                pack_dir,
                level,
                pack: None,
                sealed: Vec::new(),
                stats: WriteStats::default(),
            },
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
        stored(self.packs, &self.out, id)
    }

    fn append(&mut self, p: Prepared) -> Result<(), StoreError> {
        self.out.append(p)
    }

    /// Appends a record already encoded as `payload` with `codec` (the caller has
    /// verified that it decodes to `raw_len` bytes hashing to `id`, e.g. through
    /// [`RawRecord::verify`](super::raw::RawRecord::verify)). Returns false if this
    /// writer already holds it.
    pub(crate) fn append_encoded(
        &mut self,
        id: ObjectId,
        kind: ObjectKind,
        codec: Codec,
        raw_len: u32,
        payload: Vec<u8>,
    ) -> Result<bool, StoreError> {
        if self.out.holds(&id) {
            return Ok(false);
        }
        self.append(Prepared {
            id,
            kind,
            raw_len,
            codec,
            payload,
        })?;
        Ok(true)
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

    /// Stores an asset-metadata object.
    pub fn put_meta(&mut self, meta: &AssetMeta) -> Result<ObjectId, StoreError> {
        self.put_object(ObjectKind::AssetMeta, meta.encode()?)
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
            stored: &known,
            dedup: Dedup::default(),
            level: self.level,
            out: Vec::new(),
        };
        let mut assembly = Assembly::default();
        let cuts = chunk_slice(self.params, &data)
            .map(|(off, len)| Ok::<_, std::convert::Infallible>(&data[off..off + len]));
        // One batch, on this thread: callers parallelise over files.
        for batch in Batches::new(cuts, usize::MAX) {
            let Ok(batch) = batch;
            let dedup = &mut sink.dedup;
            let ready = prepare_batch(batch, self.level, false, |ids| {
                ids.iter().map(|id| dedup.is_new(id, known)).collect()
            })?;
            for outcome in ready {
                assembly.push(&mut sink, outcome)?;
            }
        }
        let done = assembly.finish(&mut sink)?;
        Ok(PreparedFile {
            id: done.id,
            file: done.file,
            records: sink.out,
            chunks: done.chunks,
            encoded_chunks: done.encoded_chunks,
        })
    }

    /// Appends what [`ObjectWriter::prepare_bytes`] produced.
    pub fn append_prepared(&mut self, f: PreparedFile) -> Result<Ingested, StoreError> {
        let mut new_chunks = 0;
        let mut new_bytes = 0;
        for p in f.records {
            // Preparations run in parallel: another may have appended it since.
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
            encoded_chunks: f.encoded_chunks,
        })
    }

    /// Ingests a stream of any length with bounded memory.
    pub fn ingest(&mut self, reader: impl Read + Send) -> Result<Ingested, StoreError> {
        let params = self.params;
        let level = self.level;
        let packs: &PackSet = self.packs;
        let shared = Mutex::new(Shared {
            out: &mut self.out,
            dedup: Dedup::default(),
        });
        let shared = &shared;
        let progress = self.progress.as_deref();
        let (chunk_tx, chunk_rx) = sync_channel::<std::io::Result<Vec<Vec<u8>>>>(2);
        let (ready_tx, ready_rx) = sync_channel::<Result<Vec<ChunkOutcome>, StoreError>>(2);
        std::thread::scope(|scope| {
            // Stage 1: read and cut.
            scope.spawn(move || {
                let chunks = Chunker::new(reader, params).map(|c| c.map(|c| c.data));
                for batch in Batches::new(chunks, BATCH_BYTES) {
                    let failed = batch.is_err();
                    if chunk_tx.send(batch).is_err() || failed {
                        return;
                    }
                }
            });
            // Stage 2: hash, and compress the chunks the dedup rule calls new.
            scope.spawn(move || {
                for batch in chunk_rx {
                    let ready = batch.map_err(StoreError::io("<input>")).and_then(|batch| {
                        prepare_batch(batch, level, true, |ids| {
                            // One lock per batch; the appender takes it per record.
                            let mut held = lock_shared(shared);
                            let Shared { out, dedup } = &mut *held;
                            ids.iter()
                                .map(|id| dedup.is_new(id, |id| stored(packs, out, id)))
                                .collect()
                        })
                    });
                    let failed = ready.is_err();
                    if ready_tx.send(ready).is_err() || failed {
                        return;
                    }
                }
            });
            // Stage 3 (this thread): append in file order, build the chunk-list tree.
            let mut sink = AppendSink { packs, shared };
            let mut assembly = Assembly::default();
            let mut done = 0u64;
            for ready in ready_rx {
                for outcome in ready? {
                    done += outcome.1;
                    assembly.push(&mut sink, outcome)?;
                }
                if let Some(f) = progress {
                    f(done);
                }
            }
            assembly.finish(&mut sink)
        })
    }

    /// Seals the active pack (fsync, index, rename, directory fsync) and makes
    /// everything written visible. Only after this may refs or the index point at it.
    pub fn finish(mut self) -> Result<WriteStats, StoreError> {
        self.out.seal()?;
        for sealed in self.out.sealed.drain(..) {
            self.packs.add_sealed(sealed)?;
        }
        Ok(self.out.stats)
    }

    /// Totals so far.
    pub fn stats(&self) -> WriteStats {
        self.out.stats
    }

    /// Stored bytes in the pack being written (0 if none is open).
    pub fn active_bytes(&self) -> u64 {
        self.out.pack.as_ref().map_or(0, PackWriter::bytes)
    }

    /// Seals the pack being written now, so other handles on the store (another
    /// process's server answering what this store holds) find its records; the next
    /// record opens a new pack. Those records stay out of this writer's
    /// [`PackSet`] until [`ObjectWriter::finish`], as for packs sealed on rotation.
    /// Nothing to seal is not an error.
    pub fn seal_active(&mut self) -> Result<(), StoreError> {
        self.out.seal()
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
/// by `status` to check a file whose stat data changed). The same routine as ingest,
/// with everything counted as stored (so nothing is compressed) and records discarded;
/// one chunk at a time, on this thread (callers parallelise over files).
pub fn hash_file(params: ChunkParams, reader: impl Read) -> Result<ObjectId, StoreError> {
    let mut assembly = Assembly::default();
    let chunks = Chunker::new(reader, params).map(|c| c.map(|c| c.data));
    for batch in Batches::new(chunks, 0) {
        let batch = batch.map_err(StoreError::io("<input>"))?;
        let ready = prepare_batch(batch, 0, false, |ids| vec![false; ids.len()])?;
        for outcome in ready {
            assembly.push(&mut Discard, outcome)?;
        }
    }
    Ok(assembly.finish(&mut Discard)?.id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::store::object::Person;

    /// Small chunks, so a few hundred KiB make many chunks and chunk-list nodes.
    fn small() -> ChunkParams {
        ChunkParams::new(256, 1024, 4096).unwrap()
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        crate::store::pack::testutil::random_bytes(seed, len)
    }

    /// `block` three times over: the repeats cut into the same chunks.
    fn repetitive(seed: u64) -> Vec<u8> {
        noise(100_000, seed).repeat(3)
    }

    fn store() -> (tempfile::TempDir, Store) {
        let d = tempfile::tempdir().unwrap();
        let s = Store::init(&d.path().join(".gadn"), small()).unwrap();
        (d, s)
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("the disk went away"))
        }
    }

    #[test]
    fn prepared_ingested_and_hashed_files_agree_and_dedup() {
        let (_d, mut store) = store();
        let data = repetitive(1);
        let data2 = noise(50_000, 2);
        let data3 = repetitive(3);
        let progress = AtomicU64::new(0);
        let (lock, _) = store.lock().unwrap();
        let (id, id2, id3, stats) = {
            let mut w = store.writer(&lock);
            let p = w.prepare_bytes(data.clone()).unwrap();
            let ids: Vec<ObjectId> = p.records.iter().map(|r| r.id).collect();
            let unique: HashSet<ObjectId> = ids.iter().copied().collect();
            assert_eq!(ids.len(), unique.len(), "a record is prepared once");
            assert!(p.records.iter().any(|r| r.kind == ObjectKind::ChunkList));
            let ing = w.append_prepared(p).unwrap();
            assert_eq!(ing.file.size, data.len() as u64);
            assert!(ing.chunks > 100, "{ing:?}");
            assert!(
                ing.new_chunks * 2 < ing.chunks,
                "repeats are stored once: {ing:?}"
            );
            assert_eq!(ing.id, hash_file(small(), &data[..]).unwrap());
            // Everything is known now: preparing again yields nothing to append, and
            // ingesting the same bytes stores nothing.
            let again = w.prepare_bytes(data.clone()).unwrap();
            assert!(again.records.is_empty());
            assert_eq!(again.id, ing.id);
            let before = w.stats();
            let re = w.ingest(&data[..]).unwrap();
            assert_eq!((re.id, re.new_chunks, re.new_bytes), (ing.id, 0, 0));
            assert_eq!(re.chunks, ing.chunks);
            assert_eq!(w.stats(), before);

            // Two preparations of the same new file: the second appends nothing.
            let p1 = w.prepare_bytes(data2.clone()).unwrap();
            let p2 = w.prepare_bytes(data2.clone()).unwrap();
            let a = w.append_prepared(p1).unwrap();
            let b = w.append_prepared(p2).unwrap();
            assert_eq!(a.id, b.id);
            assert!(
                a.new_chunks > 0 && a.new_bytes == data2.len() as u64,
                "{a:?}"
            );
            assert_eq!((b.new_chunks, b.new_bytes), (0, 0));

            // Streaming ingest: repeats within one batch are stored once too.
            w.set_progress(|n| progress.store(n, Ordering::SeqCst));
            let i3 = w.ingest(&data3[..]).unwrap();
            assert_eq!(i3.id, hash_file(small(), &data3[..]).unwrap());
            assert!(i3.new_chunks * 2 < i3.chunks, "{i3:?}");
            assert!(i3.new_bytes < data3.len() as u64 / 2, "{i3:?}");
            let stats = w.stats();
            assert!(stats.records > 0 && stats.raw_bytes > stats.records);
            assert_eq!(stats.packs, 0, "nothing is sealed before finish");
            assert_eq!(w.finish().unwrap(), WriteStats { packs: 1, ..stats });
            (ing.id, a.id, i3.id, stats)
        };
        drop(lock);
        assert_eq!(progress.load(Ordering::SeqCst), data3.len() as u64);
        assert!(stats.stored_bytes >= stats.raw_bytes / 2);
        assert_eq!(store.read_file_bytes(&id).unwrap(), data);
        assert_eq!(store.read_file_bytes(&id2).unwrap(), data2);
        assert_eq!(store.read_file_bytes(&id3).unwrap(), data3);
    }

    #[test]
    fn empty_files_are_the_empty_chunk_stored_once() {
        let (_d, mut store) = store();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let first = w.ingest(std::io::empty()).unwrap();
        assert_eq!((first.chunks, first.new_chunks), (1, 1));
        assert_eq!(first.file.size, 0);
        let second = w.ingest(&[][..]).unwrap();
        assert_eq!(second.id, first.id);
        assert_eq!((second.chunks, second.new_chunks), (1, 0));
        assert_eq!(w.prepare_bytes(Vec::new()).unwrap().id, first.id);
        assert_eq!(hash_file(small(), std::io::empty()).unwrap(), first.id);
        assert!(w.contains(&ObjectId::of_chunk(&[])));
        w.finish().unwrap();
        assert_eq!(store.read_file_bytes(&first.id).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn read_errors_are_reported_not_stored() {
        let (_d, mut store) = store();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let err = w.ingest(Failing).unwrap_err();
        assert!(matches!(&err, StoreError::Io { path, .. } if path.as_os_str() == "<input>"));
        assert_eq!(err.to_string(), "<input>: the disk went away");
        let err = hash_file(small(), Failing).unwrap_err();
        assert_eq!(err.to_string(), "<input>: the disk went away");
        assert_eq!(w.stats(), WriteStats::default());
        assert_eq!(
            w.finish().unwrap().packs,
            0,
            "an unused writer seals nothing"
        );
    }

    #[test]
    fn the_writer_is_an_object_sink_that_stores_once() {
        let (_d, mut store) = store();
        let (lock, _) = store.lock().unwrap();
        let tree = Tree { entries: vec![] };
        let (id, bytes) = (tree.id().unwrap(), tree.encode().unwrap());
        let mut w = store.writer(&lock);
        for _ in 0..2 {
            ObjectSink::put(&mut w, id, ObjectKind::Tree, &bytes).unwrap();
        }
        assert_eq!(w.stats().records, 1);
        w.finish().unwrap();
        assert_eq!(store.tree(&id).unwrap(), tree);
        let mut w = store.writer(&lock);
        ObjectSink::put(&mut w, id, ObjectKind::Tree, &bytes).unwrap();
        assert_eq!(w.finish().unwrap(), WriteStats::default());
    }

    #[test]
    fn objects_are_stored_once_and_read_back() {
        let (_d, mut store) = store();
        let (lock, _) = store.lock().unwrap();
        let tag = Tag {
            target: ObjectId::of_chunk(b"c"),
            target_kind: ObjectKind::Commit,
            name: "v1.0".into(),
            tagger: Person {
                name: "Ada".into(),
                email: "ada@example.org".into(),
                time: 1_700_000_000,
                tz_offset_min: 60,
            },
            message: "first release".into(),
            signature: Some(vec![1, 2, 3]),
        };
        let id = {
            let mut w = store.writer(&lock);
            let id = w.put_tag(&tag).unwrap();
            assert_eq!(id, tag.id().unwrap());
            assert_eq!(w.put_tag(&tag).unwrap(), id);
            assert_eq!(w.stats().records, 1);
            w.finish().unwrap();
            id
        };
        assert_eq!(store.tag(&id).unwrap(), tag);
        // Already stored: a new writer appends nothing.
        let mut w = store.writer(&lock);
        assert_eq!(w.put_tag(&tag).unwrap(), id);
        assert_eq!(w.finish().unwrap(), WriteStats::default());
    }

    /// The distinct chunk ids `data` cuts into.
    fn distinct_chunks(data: &[u8]) -> HashSet<ObjectId> {
        chunk_slice(small(), data)
            .map(|(off, len)| ObjectId::of_chunk(&data[off..off + len]))
            .collect()
    }

    /// Regression: ingest compressed every occurrence of a chunk that was not in the
    /// sealed packs and threw the repeats away when appending.
    #[test]
    fn a_chunk_repeated_in_one_file_is_encoded_once() {
        let (_d, mut store) = store();
        let data = repetitive(7);
        let distinct = distinct_chunks(&data).len() as u64;
        let all = chunk_slice(small(), &data).count() as u64;
        assert!(distinct * 2 < all, "the fixture repeats chunks");
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let ing = w.ingest(&data[..]).unwrap();
        assert_eq!(ing.chunks, all);
        assert_eq!((ing.encoded_chunks, ing.new_chunks), (distinct, distinct));
        // The in-memory way in obeys the same rule.
        let other = repetitive(8);
        let p = w.prepare_bytes(other.clone()).unwrap();
        let distinct_other = distinct_chunks(&other).len() as u64;
        let ing = w.append_prepared(p).unwrap();
        assert_eq!(ing.encoded_chunks, distinct_other);
        assert_eq!(ing.new_chunks, distinct_other);
        // Nothing new the second time: nothing is encoded.
        assert_eq!(w.ingest(&data[..]).unwrap().encoded_chunks, 0);
        w.finish().unwrap();
        assert_eq!(store.read_file_bytes(&ing.id).unwrap(), other);
    }

    #[test]
    fn empty_file_is_the_same_object_by_every_way_in() {
        let (_d, mut store) = store();
        let (lock, _) = store.lock().unwrap();
        let mut w = store.writer(&lock);
        let prepared = w.prepare_bytes(Vec::new()).unwrap();
        assert_eq!(prepared.chunks, 1, "an empty file is one (empty) chunk");
        let from_prepared = w.append_prepared(prepared).unwrap();
        assert_eq!((from_prepared.new_chunks, from_prepared.chunks), (1, 1));
        let ingested = w.ingest(std::io::empty()).unwrap();
        let hashed = hash_file(small(), std::io::empty()).unwrap();
        assert_eq!(ingested.id, from_prepared.id);
        assert_eq!(hashed, from_prepared.id);
        assert_eq!(ingested.file, from_prepared.file);
        assert_eq!((ingested.chunks, ingested.new_chunks), (1, 0));
        assert_eq!(from_prepared.file.size, 0);
        w.finish().unwrap();
        assert!(store.read_file_bytes(&hashed).unwrap().is_empty());
    }

    #[test]
    fn all_ways_in_agree_on_ids() {
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"x".to_vec(),
            noise(255, 1),
            noise(4096, 2),
            noise(300_000, 3),
            repetitive(4),
            vec![0; 200_000],
        ];
        for data in cases {
            // Fresh stores, so each way in also stores what it needs itself.
            let (_d1, mut s1) = store();
            let (_d2, mut s2) = store();
            let (l1, _) = s1.lock().unwrap();
            let (l2, _) = s2.lock().unwrap();
            let mut w1 = s1.writer(&l1);
            let mut w2 = s2.writer(&l2);
            let ingested = w1.ingest(&data[..]).unwrap();
            let p = w2.prepare_bytes(data.clone()).unwrap();
            let prepared = w2.append_prepared(p).unwrap();
            let hashed = hash_file(small(), &data[..]).unwrap();
            assert_eq!(ingested.id, prepared.id, "len {}", data.len());
            assert_eq!(ingested.id, hashed, "len {}", data.len());
            assert_eq!(ingested.file, prepared.file);
            assert_eq!(
                (ingested.chunks, ingested.new_chunks, ingested.new_bytes),
                (prepared.chunks, prepared.new_chunks, prepared.new_bytes)
            );
            assert_eq!(
                w1.stats(),
                w2.stats(),
                "the same records, len {}",
                data.len()
            );
            w1.finish().unwrap();
            w2.finish().unwrap();
            assert_eq!(s1.read_file_bytes(&hashed).unwrap(), data);
            assert_eq!(s2.read_file_bytes(&hashed).unwrap(), data);
        }
    }

    /// Regression companion of `read::tests::files_written_from_every_worker…`:
    /// ingesting from every worker of the global pool at once must not starve the
    /// hashing stage.
    #[test]
    fn ingest_from_every_worker_at_once_does_not_deadlock() {
        use rayon::prelude::*;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let n = 4 * rayon::current_num_threads();
            let ok = (0..n).into_par_iter().all(|i| {
                let dir = tempfile::tempdir().unwrap();
                let params = ChunkParams::new(1024, 4096, 16384).unwrap();
                let mut store = Store::init(&dir.path().join("s"), params).unwrap();
                let data = crate::store::pack::testutil::random_bytes(i as u64, 200_000);
                let (lock, _) = store.lock().unwrap();
                let mut w = store.writer(&lock);
                let id = w.ingest(&data[..]).unwrap().id;
                w.finish().unwrap();
                store.read_file_bytes(&id).unwrap() == data
            });
            let _ = tx.send(ok);
        });
        let ok = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("no deadlock");
        assert!(ok);
    }
}
