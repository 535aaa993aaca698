//! The fetching side: work out what this store lacks of a peer's refs and download
//! exactly that (`store-format.md` § 15, *Fetch*).
//!
//! 1. **History**: ask for the commits and tags reachable from the peer's tips and
//!    not from ours ([`Message::Commits`]); download the ones not stored here.
//! 2. **Trees**, breadth-first from the new commits' root trees, one round trip per
//!    directory level: trees stored here are read locally, missing ones downloaded.
//!    Directories and files reachable from our own ref tips are complete (refs only
//!    ever name complete closures) and skipped.
//! 3. **Files**: file objects and chunk-list nodes, level by level, the same way.
//! 4. **Previews** of those files ([`Message::GetPreviews`]): the preview objects
//!    and their items' content, ahead of the files' own chunks.
//! 5. **Chunks**: for every file, its chunks not stored here, as runs
//!    `(file, start, count)` batched into requests of about [`BATCH_BYTES`], with
//!    [`STREAMS_IN_FLIGHT`] requests on parallel streams.
//!
//! Every record is checked to be the one asked for and re-hashed before it is
//! stored ([`super::land`]); a bad one ends the fetch and the connection. Presence
//! is re-checked record by record, so a fetch that stopped anywhere resumes without
//! asking for anything already stored. Tree entry names are validated on decode, so
//! a hostile path (`..`, `/`, NUL) is refused before anything of it is used.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use tokio::task::JoinSet;

use crate::store::object::{
    ChunkListNode, Commit, EntryKind, FileObject, Lock, PreviewObject, Tag, Tree,
};
use crate::store::pack::Codec;
use crate::store::raw::RawRecord;
use crate::store::{ObjectId, ObjectKind, Store};

use super::error::SyncError;
use super::land::RecordSink;
use super::swarm::{
    self, PeerSource, PickerConfig, PlannedRun, Source, SwarmError, SwarmReport, WantedRun,
    PIECE_BYTES,
};
use super::wire::{self, Message, Run, MAX_IDS, MAX_RUNS, MAX_RUN_CHUNKS};

/// Target payload of one chunk request, in bytes.
pub const BATCH_BYTES: u64 = 8 << 20;
/// Chunk requests in flight at once, each on its own stream.
pub const STREAMS_IN_FLIGHT: usize = 8;
/// Ids per object request.
pub const OBJECTS_PER_REQUEST: usize = 2048;

/// Counters of one transfer, for the report and progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Transferred {
    /// Objects received (commits, tags, trees, files, nodes, metadata, locks).
    pub objects: u64,
    /// Chunks received.
    pub chunks: u64,
    /// Raw bytes of the chunks received.
    pub chunk_bytes: u64,
    /// Payload bytes received (as stored: compressed where the sender stores so).
    pub payload_bytes: u64,
    /// Chunk bytes the fetch found it needed, known once the chunk lists are in.
    pub chunk_bytes_needed: u64,
}

/// Progress callback: counters so far.
pub type Progress = Arc<dyn Fn(&Transferred) + Send + Sync>;

/// One fetch over one connection into one store.
pub struct Fetcher {
    conn: quinn::Connection,
    peer: String,
    /// The store as it was when the fetch started (records being written are not
    /// visible in it; `queued` holds those).
    local: Store,
    sink: RecordSink,
    queued: HashSet<ObjectId>,
    /// Trees and files known complete here: reachable from our ref tips.
    complete: HashSet<ObjectId>,
    /// Totals so far.
    pub done: Transferred,
    /// Index rows of the preview objects received, for the lander to record.
    pub preview_rows: Vec<crate::store::db::PreviewRow>,
    progress: Option<Progress>,
    /// The checkout whose files are prefilled as their chunks arrive.
    prefill: Option<PrefillPlan>,
    /// Sources besides this peer for the chunk phase; with any, the chunks go
    /// through the planner ([`super::swarm`]) over all of them.
    sources: Vec<Arc<dyn Source>>,
    /// Sources still being found (dialled while the history and trees come in),
    /// awaited when the chunk phase starts and added to `sources`.
    late: Option<tokio::sync::oneshot::Receiver<Vec<Arc<dyn Source>>>>,
    /// What the planner did in this fetch's chunk phases, summed.
    pub swarm: Option<SwarmReport>,
}

/// The commit a clone will check out, and what of its tree the walk has reached.
#[derive(Debug)]
struct PrefillPlan {
    commit: ObjectId,
    /// Its root tree and the directories below it, as they are reached.
    trees: HashSet<ObjectId>,
    /// Its regular and executable files.
    files: HashSet<ObjectId>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("peer", &self.peer).finish()
    }
}

/// Opens a stream, sends `msg` and finishes the sending side.
pub async fn request(
    conn: &quinn::Connection,
    peer: &str,
    msg: &Message,
) -> Result<quinn::RecvStream, SyncError> {
    let wire_err = |source| SyncError::Wire {
        peer: peer.to_string(),
        source,
    };
    let (mut send, recv) = conn
        .open_bi()
        .await
        .map_err(|e| wire_err(wire::WireError::Io(e.into())))?;
    wire::write_message(&mut send, msg)
        .await
        .map_err(wire_err)?;
    let _ = send.finish();
    Ok(recv)
}

/// Reads the next message of an answer; the stream ending early is an error, and an
/// [`Message::Error`] becomes [`SyncError::Refused`].
pub async fn next(recv: &mut quinn::RecvStream, peer: &str) -> Result<Message, SyncError> {
    match wire::read_message(recv).await {
        Ok(Some(Message::Error { code, message })) => Err(SyncError::Refused {
            peer: peer.to_string(),
            code,
            message,
        }),
        Ok(Some(m)) => Ok(m),
        Ok(None) => Err(SyncError::Protocol {
            peer: peer.to_string(),
            reason: "the answer ended early".into(),
        }),
        Err(source) => Err(SyncError::Wire {
            peer: peer.to_string(),
            source,
        }),
    }
}

fn protocol(peer: &str, reason: impl Into<String>) -> SyncError {
    SyncError::Protocol {
        peer: peer.to_string(),
        reason: reason.into(),
    }
}

/// Turns a [`Message::Record`] into a record, checking it is the one expected.
pub(super) fn record_of(
    msg: Message,
    expected: &ObjectId,
    peer: &str,
) -> Result<RawRecord, SyncError> {
    match msg {
        Message::Record {
            id,
            kind,
            codec,
            raw_len,
            payload,
        } => {
            if id != *expected {
                return Err(protocol(
                    peer,
                    format!("sent {id} where {expected} was asked for"),
                ));
            }
            let kind = ObjectKind::from_u8(kind)
                .ok_or_else(|| protocol(peer, format!("record {id} has unknown kind {kind}")))?;
            let codec = Codec::from_u8(codec)
                .ok_or_else(|| protocol(peer, format!("record {id} has unknown codec {codec}")))?;
            Ok(RawRecord {
                id,
                kind,
                codec,
                raw_len,
                payload,
            })
        }
        Message::Missing { id } if id == *expected => Err(SyncError::PeerMissing {
            peer: peer.to_string(),
            id,
        }),
        Message::Damaged { id, reason } if id == *expected => Err(SyncError::PeerDamaged {
            peer: peer.to_string(),
            count: 1,
            first: id,
            reason,
        }),
        other => Err(protocol(
            peer,
            format!(
                "sent {} where record {expected} was expected",
                other.kind_name()
            ),
        )),
    }
}

/// The records a peer said were damaged at its end, in one answer: the answer is
/// read to its end (the rest of it is good), then the request fails with
/// [`SyncError::PeerDamaged`] counting them all.
#[derive(Default)]
struct Damaged(Option<SyncError>);

impl Damaged {
    /// Counts `e`, a [`SyncError::PeerDamaged`] of one record.
    fn add(&mut self, e: SyncError) {
        match &mut self.0 {
            Some(SyncError::PeerDamaged { count, .. }) => *count += 1,
            _ => self.0 = Some(e),
        }
    }

    /// `ok` if no record was damaged, else the error counting them.
    fn or<T>(self, ok: T) -> Result<T, SyncError> {
        match self.0 {
            None => Ok(ok),
            Some(e) => Err(e),
        }
    }
}

/// Downloads records `ids` on one stream, verifying each; returns them with their
/// decoded bytes.
async fn get_objects(
    conn: quinn::Connection,
    peer: String,
    ids: Vec<ObjectId>,
) -> Result<Vec<(RawRecord, Vec<u8>)>, SyncError> {
    let mut recv = request(&conn, &peer, &Message::GetObjects { ids: ids.clone() }).await?;
    let mut out = Vec::with_capacity(ids.len());
    let mut damaged = Damaged::default();
    for id in &ids {
        let rec = match record_of(next(&mut recv, &peer).await?, id, &peer) {
            Err(e @ SyncError::PeerDamaged { .. }) => {
                damaged.add(e);
                continue;
            }
            r => r?,
        };
        let raw = rec.verify().map_err(|e| SyncError::BadData {
            peer: peer.clone(),
            id: *id,
            reason: e.to_string(),
        })?;
        out.push((rec, raw));
    }
    match next(&mut recv, &peer).await? {
        Message::End {} => damaged.or(out),
        other => Err(protocol(
            &peer,
            format!("sent {} after the records", other.kind_name()),
        )),
    }
}

/// Chunk counters shared by the download tasks of one fetch, so that progress moves
/// as each record arrives, not when a whole request (up to [`BATCH_BYTES`]) ends.
struct LiveCounts {
    /// The counters when the chunk downloads began.
    base: Transferred,
    chunks: std::sync::atomic::AtomicU64,
    chunk_bytes: std::sync::atomic::AtomicU64,
    payload_bytes: std::sync::atomic::AtomicU64,
    progress: Option<Progress>,
}

impl LiveCounts {
    /// Counts one chunk record of `raw` bytes (`payload` as sent) and reports.
    fn add(&self, raw: u64, payload: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let chunks = self.chunks.fetch_add(1, Relaxed) + 1;
        let chunk_bytes = self.chunk_bytes.fetch_add(raw, Relaxed) + raw;
        let payload_bytes = self.payload_bytes.fetch_add(payload, Relaxed) + payload;
        if let Some(p) = &self.progress {
            p(&Transferred {
                chunks: self.base.chunks + chunks,
                chunk_bytes: self.base.chunk_bytes + chunk_bytes,
                payload_bytes: self.base.payload_bytes + payload_bytes,
                ..self.base
            });
        }
    }
}

/// Downloads the chunk runs of one request, checking each record is the chunk
/// expected at its position, and queues them for the writer (which re-hashes).
/// Each record is counted in `live` as it arrives.
async fn get_chunks(
    conn: quinn::Connection,
    peer: String,
    runs: Vec<Run>,
    expected: Vec<ObjectId>,
    sink: RecordSink,
    live: Arc<LiveCounts>,
) -> Result<Transferred, SyncError> {
    let mut recv = request(&conn, &peer, &Message::GetChunks { runs }).await?;
    let mut t = Transferred::default();
    let mut damaged = Damaged::default();
    for id in &expected {
        let rec = match record_of(next(&mut recv, &peer).await?, id, &peer) {
            Err(e @ SyncError::PeerDamaged { .. }) => {
                damaged.add(e);
                continue;
            }
            r => r?,
        };
        if rec.kind != ObjectKind::Chunk {
            return Err(protocol(
                &peer,
                format!("sent a {} as chunk {id}", rec.kind),
            ));
        }
        t.chunks += 1;
        t.chunk_bytes += u64::from(rec.raw_len);
        t.payload_bytes += rec.payload.len() as u64;
        live.add(u64::from(rec.raw_len), rec.payload.len() as u64);
        if sink.put(rec).await.is_err() {
            return Err(SyncError::Local("the writer stopped".into()));
        }
    }
    match next(&mut recv, &peer).await? {
        Message::End {} => damaged.or(t),
        other => Err(protocol(
            &peer,
            format!("sent {} after the chunks", other.kind_name()),
        )),
    }
}

impl Fetcher {
    /// A fetcher over `conn` (the peer named `peer` in messages) into the store at
    /// `dir`, whose records go to `sink`.
    pub fn new(
        conn: quinn::Connection,
        peer: String,
        dir: &Path,
        sink: RecordSink,
        progress: Option<Progress>,
    ) -> Result<Fetcher, SyncError> {
        let local = Store::open(dir)?;
        Ok(Fetcher {
            conn,
            peer,
            local,
            sink,
            queued: HashSet::new(),
            complete: HashSet::new(),
            done: Transferred::default(),
            preview_rows: Vec::new(),
            progress,
            prefill: None,
            sources: Vec::new(),
            late: None,
            swarm: None,
        })
    }

    /// Fetches chunks from `sources` as well as from this peer, planned
    /// ([`super::swarm`]): rarest first, in proportion to each source's rate.
    pub fn with_sources(&mut self, sources: Vec<Arc<dyn Source>>) {
        self.sources = sources;
    }

    /// Adds the sources `late` delivers (peers being dialled meanwhile) when the
    /// chunk phase starts; with none delivered (or the sender gone) and no other
    /// extra source, the chunks come from this peer alone, unplanned.
    pub fn with_late_sources(
        &mut self,
        late: tokio::sync::oneshot::Receiver<Vec<Arc<dyn Source>>>,
    ) {
        self.late = Some(late);
    }

    /// Prefills the files of `commit`'s tree as their chunks arrive
    /// ([`crate::store::prefill`]), when the commit is among those fetched. Only
    /// files none of whose chunks are stored or on their way already qualify, and
    /// a tree shared with another commit may be reached from that one first and
    /// so not count: prefilling is a saving, never a requirement.
    pub fn prefill_checkout_of(&mut self, commit: ObjectId) {
        self.prefill = Some(PrefillPlan {
            commit,
            trees: HashSet::new(),
            files: HashSet::new(),
        });
    }

    /// True if the record is here or on its way to the store.
    fn have(&self, id: &ObjectId) -> bool {
        self.queued.contains(id) || self.local.contains(id)
    }

    fn tick(&self) {
        if let Some(p) = &self.progress {
            p(&self.done);
        }
    }

    /// Our ref tips that are commits or tags (the haves), and the trees and files
    /// they reach (known complete).
    pub fn local_tips(&mut self) -> Result<Vec<ObjectId>, SyncError> {
        let mut tips = Vec::new();
        for (_, id) in self.local.db().list_refs("refs/")? {
            if let Some(loc) = self.local.packs().locate(&id) {
                if matches!(loc.entry.kind, ObjectKind::Commit | ObjectKind::Tag)
                    && !tips.contains(&id)
                {
                    tips.push(id);
                }
            }
        }
        let mut trees = Vec::new();
        for id in &tips {
            let (kind, bytes) = self.local.read(id)?;
            if kind == ObjectKind::Commit {
                let c = Commit::decode(&bytes)
                    .map_err(|e| SyncError::Local(format!("commit {id}: {e}")))?;
                trees.push(c.tree);
            }
        }
        while let Some(t) = trees.pop() {
            if !self.complete.insert(t) {
                continue;
            }
            let tree = self.local.tree(&t)?;
            for e in tree.entries {
                if e.kind == EntryKind::Dir {
                    trees.push(e.id);
                } else {
                    self.complete.insert(e.id);
                }
                if let Some(m) = e.meta {
                    self.complete.insert(m);
                }
            }
        }
        Ok(tips)
    }

    /// Downloads the records among `ids` not stored here, several streams at once,
    /// and queues them for the writer. Returns the decoded bytes of every id in
    /// `ids`, read locally or received.
    pub async fn objects(
        &mut self,
        ids: &[ObjectId],
    ) -> Result<HashMap<ObjectId, (ObjectKind, Vec<u8>)>, SyncError> {
        let mut out = HashMap::new();
        let mut missing = Vec::new();
        for id in ids {
            if out.contains_key(id) || missing.contains(id) {
                continue;
            }
            if self.local.contains(id) {
                let (k, b) = self.local.read(id)?;
                out.insert(*id, (k, b));
            } else {
                missing.push(*id);
            }
        }
        let mut tasks = JoinSet::new();
        let mut batches = missing
            .chunks(OBJECTS_PER_REQUEST.min(MAX_IDS))
            .map(|c| c.to_vec());
        loop {
            while tasks.len() < STREAMS_IN_FLIGHT / 2 {
                let Some(batch) = batches.next() else { break };
                tasks.spawn(get_objects(self.conn.clone(), self.peer.clone(), batch));
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let got =
                joined.map_err(|e| SyncError::Local(format!("object download task: {e}")))??;
            for (rec, raw) in got {
                let (id, kind) = (rec.id, rec.kind);
                self.done.objects += 1;
                self.done.payload_bytes += rec.payload.len() as u64;
                if self.queued.insert(id) && self.sink.put(rec).await.is_err() {
                    return Err(SyncError::Local("the writer stopped".into()));
                }
                out.insert(id, (kind, raw));
            }
            self.tick();
        }
        Ok(out)
    }

    /// Downloads the lock records `ids` (as the peer listed them) that are not
    /// stored here, and returns each one the peer had, decoded and its signature
    /// verified. A record that is not a lock, or does not verify, is bad data; a
    /// listed record the peer then lacks is skipped. Whether its signer may write
    /// is for the lander to judge, against the member list as it lands.
    pub async fn lock_records(
        &mut self,
        ids: &[ObjectId],
    ) -> Result<Vec<(ObjectId, Lock)>, SyncError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let got = self.objects(ids).await?;
        let mut out = Vec::new();
        for id in ids {
            let Some((kind, bytes)) = got.get(id) else {
                continue;
            };
            if *kind != ObjectKind::Lock {
                return Err(self.bad(id, format!("is a {kind}, not a lock")));
            }
            let lock = Lock::decode_verified(bytes).map_err(|e| self.bad(id, e))?;
            out.push((*id, lock));
        }
        Ok(out)
    }

    /// The ids of the peer's current lock records, from its ref listing
    /// ([`Message::ListRefs`]): what the receiver of a push asks the pusher.
    pub async fn peer_lock_ids(&self) -> Result<Vec<ObjectId>, SyncError> {
        let mut recv = request(&self.conn, &self.peer, &Message::ListRefs {}).await?;
        match next(&mut recv, &self.peer).await? {
            Message::Refs { locks, .. } => Ok(locks),
            other => Err(SyncError::Protocol {
                peer: self.peer.clone(),
                reason: format!("answered the ref listing with {}", other.kind_name()),
            }),
        }
    }

    fn bad(&self, id: &ObjectId, reason: impl std::fmt::Display) -> SyncError {
        SyncError::BadData {
            peer: self.peer.clone(),
            id: *id,
            reason: reason.to_string(),
        }
    }

    /// Decodes `id` from `got`, which must hold it as `kind`.
    fn decoded<T>(
        &self,
        got: &HashMap<ObjectId, (ObjectKind, Vec<u8>)>,
        id: &ObjectId,
        kind: ObjectKind,
        f: fn(&[u8]) -> Result<T, crate::store::object::ObjectError>,
    ) -> Result<T, SyncError> {
        let (k, bytes) = got.get(id).ok_or_else(|| self.bad(id, "not received"))?;
        if *k != kind {
            return Err(self.bad(id, format!("is a {k}, expected a {kind}")));
        }
        f(bytes).map_err(|e| self.bad(id, e))
    }

    /// Fetches the history `ids` (commits and tags, as listed by the peer) and
    /// everything they reach that is not here.
    pub async fn closure_of(&mut self, history: &[ObjectId]) -> Result<(), SyncError> {
        let got = self.objects(history).await?;
        let mut trees = Vec::new();
        let mut files = Vec::new();
        for id in history {
            let (kind, _) = got.get(id).ok_or_else(|| self.bad(id, "not received"))?;
            match kind {
                ObjectKind::Commit => {
                    let tree = self
                        .decoded(&got, id, ObjectKind::Commit, Commit::decode)?
                        .tree;
                    if let Some(p) = self.prefill.as_mut().filter(|p| p.commit == *id) {
                        p.trees.insert(tree);
                    }
                    trees.push(tree);
                }
                ObjectKind::Tag => {
                    let t = self.decoded(&got, id, ObjectKind::Tag, Tag::decode)?;
                    match t.target_kind {
                        ObjectKind::Tree => trees.push(t.target),
                        ObjectKind::File => files.push(t.target),
                        _ => {}
                    }
                }
                other => return Err(self.bad(id, format!("is a {other}, not history"))),
            }
        }
        self.trees(trees, files).await
    }

    /// Breadth-first over trees, then files and their chunks.
    async fn trees(
        &mut self,
        mut level: Vec<ObjectId>,
        mut files: Vec<ObjectId>,
    ) -> Result<(), SyncError> {
        let mut seen: HashSet<ObjectId> = HashSet::new();
        let mut metas = Vec::new();
        while !level.is_empty() {
            level.retain(|t| !self.complete.contains(t) && seen.insert(*t));
            let got = self.objects(&level).await?;
            let mut next_level = Vec::new();
            for t in &level {
                let tree = self.decoded(&got, t, ObjectKind::Tree, Tree::decode)?;
                if let Some(p) = self.prefill.as_mut().filter(|p| p.trees.contains(t)) {
                    for e in &tree.entries {
                        match e.kind {
                            EntryKind::Dir => p.trees.insert(e.id),
                            EntryKind::File | EntryKind::Executable => p.files.insert(e.id),
                            EntryKind::Symlink => false,
                        };
                    }
                }
                for e in tree.entries {
                    if let Some(m) = e.meta {
                        if !self.have(&m) {
                            metas.push(m);
                        }
                    }
                    if self.complete.contains(&e.id) || !seen.insert(e.id) {
                        continue;
                    }
                    if e.kind == EntryKind::Dir {
                        // `seen` is checked again when the level is processed.
                        seen.remove(&e.id);
                        next_level.push(e.id);
                    } else {
                        files.push(e.id);
                    }
                }
            }
            level = next_level;
        }
        if !metas.is_empty() {
            let got = self.objects(&metas).await?;
            for m in &metas {
                let (k, _) = got.get(m).ok_or_else(|| self.bad(m, "not received"))?;
                if *k != ObjectKind::AssetMeta {
                    return Err(self.bad(m, format!("is a {k}, expected asset metadata")));
                }
            }
        }
        self.previews(&files).await?;
        self.files(files).await
    }

    /// The previews the peer holds of `files` and their items' content, fetched
    /// ahead of the files' own content (previews travel first, `store-format.md`
    /// § 15). Previews are optional: a peer that does not answer the request, or
    /// lacks a record it listed, costs the previews, never the fetch. A preview that
    /// does not decode, or names a file not asked about, is bad data like any other.
    async fn previews(&mut self, files: &[ObjectId]) -> Result<(), SyncError> {
        let asked: HashSet<ObjectId> = files.iter().copied().collect();
        let mut listed = Vec::new();
        for batch in files.chunks(MAX_IDS) {
            let msg = Message::GetPreviews {
                ids: batch.to_vec(),
            };
            let answer = match request(&self.conn, &self.peer, &msg).await {
                Ok(mut recv) => next(&mut recv, &self.peer).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(Message::Previews { ids }) => listed.extend(ids),
                Ok(other) => {
                    return Err(protocol(
                        &self.peer,
                        format!("sent {} where Previews was expected", other.kind_name()),
                    ))
                }
                Err(SyncError::Refused { .. }) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        listed.sort_unstable();
        listed.dedup();
        if listed.is_empty() {
            return Ok(());
        }
        let got = match self.objects(&listed).await {
            Ok(got) => got,
            Err(SyncError::PeerMissing { .. } | SyncError::PeerDamaged { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut rows = Vec::new();
        let mut items = Vec::new();
        for id in &listed {
            let p = self.decoded(&got, id, ObjectKind::Preview, PreviewObject::decode)?;
            if !asked.contains(&p.file) {
                return Err(self.bad(
                    id,
                    format!("previews {}, which was not asked about", p.file),
                ));
            }
            items.extend(p.items.iter().map(|i| i.content));
            rows.push((p.file, p.generator, p.generator_version, *id));
        }
        items.sort_unstable();
        items.dedup();
        match self.files(items).await {
            Ok(()) => {}
            Err(SyncError::PeerMissing { .. } | SyncError::PeerDamaged { .. }) => return Ok(()),
            Err(e) => return Err(e),
        }
        self.preview_rows.extend(rows);
        Ok(())
    }

    /// File objects, their chunk-list nodes level by level, then the missing chunks.
    pub async fn files(&mut self, files: Vec<ObjectId>) -> Result<(), SyncError> {
        let got = self.objects(&files).await?;
        // (file, root, height, size)
        let mut roots = Vec::new();
        for f in &files {
            let fo = self.decoded(&got, f, ObjectKind::File, FileObject::decode)?;
            roots.push((*f, fo));
        }
        // Every chunk-list node the files need, decoded.
        let mut nodes: HashMap<ObjectId, ChunkListNode> = HashMap::new();
        let mut level: Vec<ObjectId> = roots
            .iter()
            .filter(|(_, fo)| fo.height > 0)
            .map(|(_, fo)| fo.root)
            .collect();
        while !level.is_empty() {
            level.sort_unstable();
            level.dedup();
            level.retain(|n| !nodes.contains_key(n));
            let got = self.objects(&level).await?;
            let mut next_level = Vec::new();
            for n in &level {
                let node = self.decoded(&got, n, ObjectKind::ChunkList, ChunkListNode::decode)?;
                if node.level > 1 {
                    next_level.extend(node.entries.iter().map(|e| e.id));
                }
                nodes.insert(*n, node);
            }
            level = next_level;
        }
        let mut all_leaves = Vec::with_capacity(roots.len());
        for (file, fo) in &roots {
            all_leaves.push(leaves(fo, &nodes).map_err(|r| self.bad(file, r))?);
        }
        // Before any chunk is asked for, so none can arrive before its file is planned.
        if let Some(p) = &self.prefill {
            for ((file, fo), leaves) in roots.iter().zip(&all_leaves) {
                if !p.files.contains(file) || leaves.iter().any(|(c, _)| self.have(c)) {
                    continue;
                }
                let planned = self.sink.prefill(*file, fo.size, leaves.clone()).await;
                if planned.is_err() {
                    return Err(SyncError::Local("the writer stopped".into()));
                }
            }
        }
        if let Some(late) = self.late.take() {
            self.sources.extend(late.await.unwrap_or_default());
        }
        if !self.sources.is_empty() {
            return self.planned_chunks(&roots, all_leaves).await;
        }
        // Runs of missing chunks, per file in file order.
        let mut requests: Vec<(Vec<Run>, Vec<ObjectId>)> = Vec::new();
        let (mut runs, mut expected, mut bytes) = (Vec::new(), Vec::new(), 0u64);
        for ((file, _), leaves) in roots.iter().zip(all_leaves) {
            let mut i = 0usize;
            while i < leaves.len() {
                let (id, _) = leaves[i];
                if self.have(&id) {
                    i += 1;
                    continue;
                }
                let start = i;
                let mut count = 0u32;
                while i < leaves.len() && count < MAX_RUN_CHUNKS && !self.have(&leaves[i].0) {
                    let (cid, len) = leaves[i];
                    // A chunk repeated within the run is fetched once.
                    self.queued.insert(cid);
                    expected.push(cid);
                    bytes += len;
                    self.done.chunk_bytes_needed += len;
                    count += 1;
                    i += 1;
                }
                runs.push(Run {
                    file: *file,
                    start: start as u64,
                    count,
                });
                if bytes >= BATCH_BYTES || runs.len() == MAX_RUNS {
                    requests.push((std::mem::take(&mut runs), std::mem::take(&mut expected)));
                    bytes = 0;
                }
            }
        }
        if !runs.is_empty() {
            requests.push((runs, expected));
        }
        self.tick();
        let live = Arc::new(LiveCounts {
            base: self.done,
            chunks: Default::default(),
            chunk_bytes: Default::default(),
            payload_bytes: Default::default(),
            progress: self.progress.clone(),
        });
        let mut tasks = JoinSet::new();
        let mut pending = requests.into_iter();
        loop {
            while tasks.len() < STREAMS_IN_FLIGHT {
                let Some((runs, expected)) = pending.next() else {
                    break;
                };
                tasks.spawn(get_chunks(
                    self.conn.clone(),
                    self.peer.clone(),
                    runs,
                    expected,
                    self.sink.clone(),
                    live.clone(),
                ));
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            let t = joined.map_err(|e| SyncError::Local(format!("chunk download task: {e}")))??;
            // Counted (and reported) record by record in `live` already; a tick
            // here would report only the finished requests and move back.
            self.done.chunks += t.chunks;
            self.done.chunk_bytes += t.chunk_bytes;
            self.done.payload_bytes += t.payload_bytes;
        }
        self.tick();
        Ok(())
    }

    /// The chunk phase through the planner: the missing chunks of `roots` as runs
    /// of at most [`PIECE_BYTES`], fetched from this peer and the extra sources.
    async fn planned_chunks(
        &mut self,
        roots: &[(ObjectId, FileObject)],
        all_leaves: Vec<Vec<(ObjectId, u64)>>,
    ) -> Result<(), SyncError> {
        let mut plan = Vec::new();
        for ((file, _), leaves) in roots.iter().zip(all_leaves) {
            let mut i = 0usize;
            while i < leaves.len() {
                if self.have(&leaves[i].0) {
                    i += 1;
                    continue;
                }
                let start = i;
                let (mut ids, mut bytes) = (Vec::new(), 0u64);
                while i < leaves.len()
                    && (ids.len() as u32) < MAX_RUN_CHUNKS
                    && bytes < PIECE_BYTES
                    && !self.have(&leaves[i].0)
                {
                    let (cid, len) = leaves[i];
                    // A chunk repeated within the run is fetched once.
                    self.queued.insert(cid);
                    ids.push(cid);
                    bytes += len;
                    i += 1;
                }
                self.done.chunk_bytes_needed += bytes;
                let run = Run {
                    file: *file,
                    start: start as u64,
                    count: ids.len() as u32,
                };
                plan.push(PlannedRun {
                    wanted: WantedRun { run, bytes },
                    ids,
                });
            }
        }
        self.tick();
        if plan.is_empty() {
            return Ok(());
        }
        let live = Arc::new(LiveCounts {
            base: self.done,
            chunks: Default::default(),
            chunk_bytes: Default::default(),
            payload_bytes: Default::default(),
            progress: self.progress.clone(),
        });
        let mut sources: Vec<Arc<dyn Source>> = vec![Arc::new(PeerSource::new(
            self.conn.clone(),
            self.peer.clone(),
        ))];
        sources.extend(self.sources.iter().cloned());
        let counts = live.clone();
        let on_record = move |raw, payload| counts.add(raw, payload);
        let result = swarm::transfer(
            plan,
            &sources,
            &self.sink,
            PickerConfig {
                // Each fetcher its own spread order: fetchers of one file from one
                // origin then ask it for different runs (`swarm::picker`, *Order*).
                spread_salt: random_salt(),
                ..PickerConfig::default()
            },
            &on_record,
        )
        .await;
        {
            use std::sync::atomic::Ordering::Relaxed;
            self.done.chunks += live.chunks.load(Relaxed);
            self.done.chunk_bytes += live.chunk_bytes.load(Relaxed);
            self.done.payload_bytes += live.payload_bytes.load(Relaxed);
        }
        self.tick();
        match result {
            Ok(report) => {
                self.swarm
                    .get_or_insert_with(SwarmReport::default)
                    .absorb(report);
                Ok(())
            }
            Err(SwarmError::WriterStopped) => Err(SyncError::Local("the writer stopped".into())),
            Err(e) => Err(SyncError::Swarm(e)),
        }
    }
}

/// The chunks of a file in order, with their lengths, from its decoded nodes. A run
/// must not repeat a chunk it already holds, so a chunk id that appears twice in a
/// row of missing chunks is only asked once: the caller marks ids as queued while
/// building runs, which also ends a run at a repeat.
fn leaves(
    fo: &FileObject,
    nodes: &HashMap<ObjectId, ChunkListNode>,
) -> Result<Vec<(ObjectId, u64)>, String> {
    if fo.height == 0 {
        return Ok(vec![(fo.root, fo.size)]);
    }
    let mut out = Vec::new();
    let mut stack = vec![(fo.root, fo.height)];
    while let Some((id, level)) = stack.pop() {
        let node = nodes
            .get(&id)
            .ok_or_else(|| format!("chunk-list node {id} missing"))?;
        if node.level != level {
            return Err(format!(
                "node {id} is at level {}, its parent says {level}",
                node.level
            ));
        }
        if level == 1 {
            out.extend(node.entries.iter().map(|e| (e.id, e.len)));
        } else {
            stack.extend(node.entries.iter().rev().map(|e| (e.id, level - 1)));
        }
    }
    Ok(out)
}

/// A random salt for the swarm's spread order (the OS's randomness; the process id
/// and the clock if it has none to give: any value is correct, this only spreads).
fn random_salt() -> u64 {
    super::os_random_u64().unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        t ^ u64::from(std::process::id()) << 32
    })
}
