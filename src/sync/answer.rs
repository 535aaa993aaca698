//! The serving side of the requests that read a store: refs, history, records and
//! chunk runs, peers (`store-format.md` § 15).
//!
//! One [`Served`] per connection holds the store opened for it. Requests arrive on
//! concurrent streams; store reads are short positional reads taken under a mutex,
//! so streams interleave record by record. A record in a pack sealed since the
//! store was opened (a commit, gc, consolidation) is found by the pack set itself,
//! which re-scans its directory once on a miss ([`crate::store::pack::PackSet::refresh`]).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::store::db::RefTarget;
use crate::store::pack::{check_record, RECORD_HEADER_LEN};
use crate::store::{ObjectId, Store, StoreError};

use super::graph::missing_history;
use super::members::MEMBERS_REF;
use super::rate::RateLimiter;
use super::wire::{self, Message, PeerInfo, Run, MAX_IDS, MAX_PEERS, MAX_REFS};

/// File chunk lists kept per connection, so consecutive runs of one file do not
/// walk its chunk-list tree again.
const CACHED_FILES: usize = 4;

/// Most commits listed for one [`Message::Commits`] request.
pub const MAX_HISTORY: usize = 10_000_000;

/// Ref namespaces offered to peers: branches and tags. Remote-tracking refs
/// (another peer's view) and internal refs are not.
pub const OFFERED_PREFIXES: [&str; 2] = ["refs/heads/", "refs/tags/"];

/// A failed request: the code and message sent back in [`Message::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Short machine-readable code.
    pub code: &'static str,
    /// For humans.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    fn store(e: impl std::fmt::Display) -> Failure {
        Failure::new("store", format!("cannot read the store: {e}"))
    }

    /// The error message for the wire.
    pub fn to_message(&self) -> Message {
        Message::Error {
            code: self.code.to_string(),
            message: clipped(self.message.clone()),
        }
    }
}

/// `message` cut to at most [`wire::MAX_ERROR_MESSAGE`] bytes, at a character boundary.
fn clipped(mut message: String) -> String {
    if message.len() > wire::MAX_ERROR_MESSAGE {
        let mut cut = wire::MAX_ERROR_MESSAGE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
    }
    message
}

thread_local! {
    /// Decoded bytes of the compressed record being checked before it is sent.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One record as [`Served::framed`] found it.
enum Framed {
    /// Its whole wire frame, verified, and its payload length in bytes.
    Record(Vec<u8>, u64),
    /// No pack here holds it.
    Absent,
    /// A pack holds it, but those bytes cannot be read or do not hash to its id.
    Damaged(String),
}

/// The store one connection is served from.
#[derive(Debug)]
pub struct Served {
    store: Mutex<Store>,
    files: Mutex<VecDeque<(ObjectId, Arc<Vec<ObjectId>>)>>,
    rate: Option<Arc<RateLimiter>>,
}

impl Served {
    /// Opens the store at `dir` for one connection.
    pub fn open(dir: PathBuf) -> Result<Served, StoreError> {
        let store = Store::open(&dir)?;
        Ok(Served {
            store: Mutex::new(store),
            files: Mutex::new(VecDeque::new()),
            rate: None,
        })
    }

    /// Limits what this connection sends with `rate` (shared by all connections).
    pub fn with_rate(mut self, rate: Option<Arc<RateLimiter>>) -> Served {
        self.rate = rate;
        self
    }

    /// Runs `f` on the store. A poisoned lock (a panic in another stream) is taken
    /// over: the store itself is only read here.
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        let guard = match self.store.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&guard)
    }

    /// The refs offered, HEAD's target, the member list and the lock records.
    pub fn refs(&self) -> Result<Message, Failure> {
        self.with_store(|s| {
            let db = s.db();
            let mut refs = Vec::new();
            for p in OFFERED_PREFIXES {
                refs.extend(db.list_refs(p).map_err(Failure::store)?);
            }
            refs.truncate(MAX_REFS);
            let head = match db.read_ref("HEAD").map_err(Failure::store)? {
                Some(RefTarget::Symbolic(t)) => Some(t),
                _ => None,
            };
            let members = match db.read_ref(MEMBERS_REF).map_err(Failure::store)? {
                Some(RefTarget::Id(id)) => Some(id),
                _ => None,
            };
            let mut locks: Vec<ObjectId> = db
                .lock_records(false)
                .map_err(Failure::store)?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            locks.truncate(MAX_IDS);
            Ok(Message::Refs {
                refs,
                head,
                members,
                locks,
            })
        })
    }

    /// The history the asker lacks, in frames of at most [`MAX_IDS`] ids.
    pub fn history(
        &self,
        wants: &[ObjectId],
        haves: &[ObjectId],
        limit: u32,
    ) -> Result<Vec<Message>, Failure> {
        let limit = (limit as usize).min(MAX_HISTORY);
        let ids = self
            .with_store(|s| missing_history(s, wants, haves, limit))
            .map_err(|e| Failure::new("history", e.to_string()))?;
        let mut frames: Vec<Message> = ids
            .chunks(MAX_IDS)
            .map(|c| Message::CommitIds {
                ids: c.to_vec(),
                done: false,
            })
            .collect();
        match frames.last_mut() {
            Some(Message::CommitIds { done, .. }) => *done = true,
            _ => frames.push(Message::CommitIds {
                ids: Vec::new(),
                done: true,
            }),
        }
        Ok(frames)
    }

    /// The chunk ids of file `id` in file order (cached per connection).
    fn chunk_ids(&self, id: &ObjectId) -> Result<Arc<Vec<ObjectId>>, Failure> {
        let cached = {
            let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            files.iter().find(|(f, _)| f == id).map(|(_, c)| c.clone())
        };
        if let Some(c) = cached {
            return Ok(c);
        }
        let ids = Arc::new(self.with_store(|s| file_chunk_ids(s, id))?);
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() == CACHED_FILES {
            files.pop_front();
        }
        files.push_back((*id, ids.clone()));
        Ok(ids)
    }

    /// Answers [`Message::GetObjects`]: a record, [`Message::Missing`] or
    /// [`Message::Damaged`] per id, then [`Message::End`].
    pub async fn send_objects(
        &self,
        ids: &[ObjectId],
        out: &mut quinn::SendStream,
    ) -> Result<u64, wire::WireError> {
        let mut bytes = 0;
        for id in ids {
            bytes += self.send_record(id, out).await?;
        }
        wire::write_message(out, &Message::End {}).await?;
        Ok(bytes)
    }

    /// Answers [`Message::GetChunks`]: the chunks of each run in order, then
    /// [`Message::End`]; a run of an unknown file or past its end is an error frame.
    pub async fn send_chunks(
        &self,
        runs: &[Run],
        out: &mut quinn::SendStream,
    ) -> Result<u64, wire::WireError> {
        let mut bytes = 0;
        for run in runs {
            let ids = match self.chunk_ids(&run.file) {
                Ok(ids) => ids,
                Err(f) => {
                    wire::write_message(out, &f.to_message()).await?;
                    return Ok(bytes);
                }
            };
            let end = run.start.saturating_add(u64::from(run.count));
            if end > ids.len() as u64 {
                let f = Failure::new(
                    "bad-run",
                    format!(
                        "file {} has {} chunks; asked for {}..{end}",
                        run.file,
                        ids.len(),
                        run.start
                    ),
                );
                wire::write_message(out, &f.to_message()).await?;
                return Ok(bytes);
            }
            for id in &ids[run.start as usize..end as usize] {
                bytes += self.send_record(id, out).await?;
            }
        }
        wire::write_message(out, &Message::End {}).await?;
        Ok(bytes)
    }

    /// Sends one record (or Missing, or Damaged); returns the payload bytes sent. The
    /// record is read from its pack straight behind its frame header, verified where
    /// it lies, and handed to the stream by ownership: the payload is copied once,
    /// from the page cache. A record whose bytes here do not hash to its id (or
    /// cannot be read) is never sent: [`Message::Damaged`] goes in its place.
    async fn send_record(
        &self,
        id: &ObjectId,
        out: &mut quinn::SendStream,
    ) -> Result<u64, wire::WireError> {
        // A miss has already looked for packs sealed since the store was opened.
        match self.framed(id) {
            Framed::Record(frame, n) => {
                out.write_chunk(bytes::Bytes::from(frame))
                    .await
                    .map_err(|e| wire::WireError::Io(e.into()))?;
                if let Some(r) = &self.rate {
                    r.take(n).await;
                }
                Ok(n)
            }
            Framed::Absent => {
                wire::write_message(out, &Message::Missing { id: *id }).await?;
                Ok(0)
            }
            Framed::Damaged(reason) => {
                tracing::warn!(
                    "not sending {id}: this store's copy is damaged ({reason}); \
                     run `gadn fsck --repair`"
                );
                let m = Message::Damaged {
                    id: *id,
                    reason: clipped(reason),
                };
                wire::write_message(out, &m).await?;
                Ok(0)
            }
        }
    }

    /// The whole wire frame of record `id`, verified, and its payload length.
    fn framed(&self, id: &ObjectId) -> Framed {
        self.with_store(|s| {
            let Some(loc) = s.packs().locate(id) else {
                return Framed::Absent;
            };
            let e = loc.entry;
            let prefix = match wire::record_prefix(
                e.id,
                e.kind as u8,
                e.codec as u8,
                e.raw_len,
                e.stored_len as usize,
            ) {
                Ok(p) => p,
                Err(err) => return Framed::Damaged(err.to_string()),
            };
            // The record header lands on the tail of the prefix, which is then
            // written over it: the payload ends up right behind the prefix.
            let at = prefix.len() - RECORD_HEADER_LEN;
            let mut frame = Vec::with_capacity(prefix.len() + e.stored_len as usize);
            frame.extend_from_slice(&prefix[..at]);
            if let Err(err) = s.packs().read_record_at(&loc, &mut frame, at) {
                return Framed::Damaged(err.to_string());
            }
            let checked =
                SCRATCH.with(|scratch| check_record(&e, &frame[at..], &mut scratch.borrow_mut()));
            if let Err(problem) = checked {
                return Framed::Damaged(format!(
                    "{} {id} in {}: {problem}",
                    e.kind,
                    s.packs().pack_name(loc.pack)
                ));
            }
            frame[..prefix.len()].copy_from_slice(&prefix);
            Framed::Record(frame, u64::from(e.stored_len))
        })
    }

    /// The preview objects held here of the files `ids` (rows whose object is
    /// stored), at most [`wire::MAX_IDS`].
    pub fn previews(&self, ids: &[ObjectId]) -> Result<Message, Failure> {
        let found = self
            .with_store(|s| -> Result<Vec<ObjectId>, crate::store::StoreError> {
                let mut out = Vec::new();
                for file in ids {
                    for p in s.db().previews_of(file)? {
                        if s.contains(&p) && !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
                Ok(out)
            })
            .map_err(Failure::store)?;
        Ok(Message::Previews {
            ids: found.into_iter().take(wire::MAX_IDS).collect(),
        })
    }

    /// The peers this side knows, for peer exchange.
    pub fn peers(&self) -> Result<Message, Failure> {
        let rows = self
            .with_store(|s| s.db().peer_list())
            .map_err(Failure::store)?;
        let peers = rows
            .into_iter()
            .filter(|r| !r.addrs.is_empty())
            .take(MAX_PEERS)
            .map(|r| PeerInfo {
                key: r.key.0,
                addrs: r.addrs.into_iter().take(wire::MAX_ADDRS).collect(),
                last_seen: r.last_seen.unwrap_or(0).max(0) as u64,
            })
            .collect();
        Ok(Message::Peers { peers })
    }
}

/// The chunk ids of file `id`, in file order, read from the store.
pub fn file_chunk_ids(store: &Store, id: &ObjectId) -> Result<Vec<ObjectId>, Failure> {
    let file = store
        .file(id)
        .map_err(|e| Failure::new("not-found", format!("file {id}: {e}")))?;
    store
        .file_chunks(id, &file)
        .map(|c| c.map(|c| c.id).map_err(Failure::store))
        .collect()
}
