//! The sync wire codec: length-prefixed CBOR messages with per-message size bounds
//! (`store-format.md` § 14).
//!
//! # Exchanges
//!
//! Each QUIC stream carries one exchange: the opener sends one request frame; the
//! other side answers with one or more response frames and finishes the stream
//! (multi-frame answers mark their end: [`Message::End`], or `done` in
//! [`Message::CommitIds`]). Both ends of a connection may
//! open streams. This module only turns [`Message`]s into bytes and back; the order
//! in which they are exchanged is the business of the peer code (`store-format.md`
//! § 15).
//!
//! # Framing
//!
//! ```text
//! frame = len u32 LE || body [len]          1 <= len <= MAX_FRAME
//! body  = one CBOR map {"t": <type name>, <field>: <value>, ...}
//! ```
//!
//! # Paranoia
//!
//! Everything here is fed bytes chosen by a peer, so, for any input:
//! * nothing panics (a proptest and the `fuzz/` target `wire_decode` check this);
//! * the frame length is checked before the body is allocated or read, and the body
//!   buffer grows with the bytes actually received, never beyond the length;
//! * lists keep at most their bound in memory while being decoded (entries past it
//!   are skipped and only counted), so a frame full of tiny items cannot blow up into
//!   far more memory than its own size;
//! * nesting is limited to [`RECURSION_LIMIT`] levels;
//! * every bound is checked again on the decoded [`Message`] — the same check
//!   [`encode`] applies before sending, so we never send what we would refuse.
//!
//! Unknown map keys are skipped (forward compatibility); unknown message types are
//! an error ([`WireError::UnknownType`]).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::store::ObjectId;

pub use super::protocol::{
    KEY_LEN, MAX_ADDRS, MAX_CAPS, MAX_ERROR_MESSAGE, MAX_FRAME, MAX_IDS, MAX_PAYLOAD, MAX_PEERS,
    MAX_REFS, MAX_RUNS, MAX_RUN_CHUNKS, MAX_STRING, MAX_VERSIONS, PROTOCOL_VERSION,
    RECURSION_LIMIT,
};

/// Longest peer-supplied text copied into an error.
const MAX_ERROR_TEXT: usize = 200;
/// The body buffer of [`read_message`] starts at this size and doubles as bytes
/// arrive, capped at the frame length.
const READ_STEP: usize = 64 << 10;
/// Most list entries reserved up front on the strength of a declared length.
const PREALLOC: usize = 4096;

/// Returned by [`encode`], [`decode`], [`write_message`] and [`read_message`].
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// A frame length above [`MAX_FRAME`] (announced by a peer, or produced by
    /// encoding a message).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame body length in bytes.
        len: usize,
        /// [`MAX_FRAME`].
        max: usize,
    },
    /// A frame length of zero.
    #[error("empty frame")]
    EmptyFrame,
    /// The stream ended inside a frame (in its length prefix or its body).
    #[error("stream ended inside a frame")]
    Truncated,
    /// The body is not a well-formed message: bad CBOR, a wrong type, a missing
    /// field, trailing bytes, nesting deeper than [`RECURSION_LIMIT`].
    #[error("malformed message: {0}")]
    Cbor(String),
    /// A list or string longer than its bound.
    #[error("{message}.{field} has length {len}, more than the limit {max}")]
    Bound {
        /// The message type name ([`Message::kind_name`]).
        message: &'static str,
        /// The field; `[]` marks the entries of a list (`caps[]`, `refs[].name`).
        field: &'static str,
        /// The length found: entries for a list, bytes for a string or payload
        /// (chunks for `runs[].count`, bytes for `raw_len`).
        len: usize,
        /// The bound.
        max: usize,
    },
    /// An id or key that is not exactly 32 bytes.
    #[error("id of {len} bytes, expected 32")]
    BadId {
        /// Its length in bytes.
        len: usize,
    },
    /// A chunk run that is empty or ends past `u64::MAX`.
    #[error("bad chunk run: start {start}, count {count}")]
    BadRun {
        /// The run's first chunk.
        start: u64,
        /// Its chunk count.
        count: u32,
    },
    /// A message type this version does not know (clipped to 200 bytes).
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    /// Reading or writing the stream failed.
    #[error("stream i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// One chunk run: chunks `start..start + count` (0-based, in file order) of the
/// file object `file`. `count` is `1..=MAX_RUN_CHUNKS` and `start + count` fits u64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Run {
    /// The file object whose chunks are wanted.
    pub file: ObjectId,
    /// Index of the first chunk.
    pub start: u64,
    /// Number of chunks.
    pub count: u32,
}

/// One ref update in a [`Message::Push`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefUpdate {
    /// Full ref name (`refs/heads/main`), at most [`MAX_STRING`] bytes.
    pub name: String,
    /// The value the pusher believes the ref has; `None`: the ref should not exist.
    pub old: Option<ObjectId>,
    /// The new value.
    pub new: ObjectId,
    /// Update even when `new` does not descend from the current value.
    pub force: bool,
}

/// A peer known to the sender, in a [`Message::Peers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerInfo {
    /// The peer's ed25519 public key (a CBOR byte string of 32 bytes).
    #[serde(serialize_with = "ser_bytes")]
    pub key: [u8; KEY_LEN],
    /// Addresses where it was reached, at most [`MAX_ADDRS`] of at most
    /// [`MAX_STRING`] bytes each.
    pub addrs: Vec<String>,
    /// When it was last seen, in unix seconds.
    pub last_seen: u64,
}

/// One message: a frame body. Field bounds are the `MAX_*` constants; the encoding
/// is `store-format.md` § 14.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "t")]
pub enum Message {
    // ---- requests ----
    /// First exchange on every connection.
    Hello {
        /// Protocol versions the sender speaks.
        versions: Vec<u32>,
        /// The repository id; `None` when cloning.
        repo: Option<String>,
        /// Capabilities.
        caps: Vec<String>,
        /// Addresses where the sender serves (for peer exchange).
        listen: Vec<String>,
    },
    /// Asks for the refs; answered by [`Message::Refs`].
    ListRefs {},
    /// Asks for the ids of commits reachable from `wants` and not from `haves`.
    Commits {
        /// Tips wanted.
        wants: Vec<ObjectId>,
        /// Commits the asker already has.
        haves: Vec<ObjectId>,
        /// Most ids wanted in the answer.
        limit: u32,
    },
    /// Asks for records by id.
    GetObjects {
        /// The ids.
        ids: Vec<ObjectId>,
    },
    /// Asks for runs of chunks of file objects.
    GetChunks {
        /// The runs, at most [`MAX_RUNS`].
        runs: Vec<Run>,
    },
    /// Asks the receiver to update refs.
    Push {
        /// The updates.
        updates: Vec<RefUpdate>,
    },
    /// Asks for the preview objects (`store-format.md` § 5.9) the receiver holds of
    /// the file objects `ids`; answered by [`Message::Previews`].
    GetPreviews {
        /// File object ids, at most [`MAX_IDS`].
        ids: Vec<ObjectId>,
    },
    /// Asks for the peers the receiver knows.
    GetPeers {},
    // ---- responses ----
    /// Answer to [`Message::Hello`].
    Welcome {
        /// The chosen protocol version.
        version: u32,
        /// The repository id.
        repo: String,
        /// Capabilities.
        caps: Vec<String>,
        /// Addresses where the sender serves.
        listen: Vec<String>,
        /// The repository's chunking parameters `(min, avg, max)` in bytes, so a
        /// clone cuts files exactly as its peers do (dedup depends on it).
        chunking: Option<(u32, u32, u32)>,
    },
    /// Answer to [`Message::ListRefs`].
    Refs {
        /// `(full ref name, id)` pairs.
        refs: Vec<(String, ObjectId)>,
        /// The ref `HEAD` names, if any.
        head: Option<String>,
        /// The member-list object, if any.
        members: Option<ObjectId>,
        /// The current lock records.
        locks: Vec<ObjectId>,
    },
    /// One frame of the answer to [`Message::Commits`].
    CommitIds {
        /// Commit ids.
        ids: Vec<ObjectId>,
        /// True on the last frame.
        done: bool,
    },
    /// One stored record, as in a pack (`store-format.md` § 6.1).
    Record {
        /// The id it claims (the receiver re-hashes).
        id: ObjectId,
        /// Kind byte (`ObjectKind`).
        kind: u8,
        /// Codec byte: raw = 0, zstd = 1.
        codec: u8,
        /// Decoded length in bytes, at most [`MAX_PAYLOAD`].
        raw_len: u32,
        /// The stored bytes, at most [`MAX_PAYLOAD`] (a CBOR byte string).
        #[serde(serialize_with = "ser_bytes")]
        payload: Vec<u8>,
    },
    /// The sender does not have this record.
    Missing {
        /// The id asked for.
        id: ObjectId,
    },
    /// End of a multi-frame answer.
    End {},
    /// Answer to [`Message::Push`]: per ref, `None` = updated, `Some(reason)` = refused.
    PushResult {
        /// `(ref name, refusal)` pairs.
        results: Vec<(String, Option<String>)>,
    },
    /// Answer to [`Message::GetPreviews`]: ids of preview objects the sender holds
    /// of those files (any generator versions), at most [`MAX_IDS`].
    Previews {
        /// Preview object ids.
        ids: Vec<ObjectId>,
    },
    /// Answer to [`Message::GetPeers`].
    Peers {
        /// The peers, at most [`MAX_PEERS`].
        peers: Vec<PeerInfo>,
    },
    /// A request failed.
    Error {
        /// Short machine-readable code.
        code: String,
        /// Text for humans, at most [`MAX_ERROR_MESSAGE`] bytes.
        message: String,
    },
}

impl Message {
    /// The message type name, as written in the `"t"` key; for logs.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Message::Hello { .. } => "Hello",
            Message::ListRefs {} => "ListRefs",
            Message::Commits { .. } => "Commits",
            Message::GetObjects { .. } => "GetObjects",
            Message::GetChunks { .. } => "GetChunks",
            Message::Push { .. } => "Push",
            Message::GetPreviews { .. } => "GetPreviews",
            Message::GetPeers {} => "GetPeers",
            Message::Welcome { .. } => "Welcome",
            Message::Refs { .. } => "Refs",
            Message::CommitIds { .. } => "CommitIds",
            Message::Record { .. } => "Record",
            Message::Missing { .. } => "Missing",
            Message::End {} => "End",
            Message::PushResult { .. } => "PushResult",
            Message::Previews { .. } => "Previews",
            Message::Peers { .. } => "Peers",
            Message::Error { .. } => "Error",
        }
    }
}

/// Encodes `msg` as a whole frame: length prefix and body. Fails if a bound is
/// exceeded or the body would be over [`MAX_FRAME`].
pub fn encode(msg: &Message) -> Result<Vec<u8>, WireError> {
    check(msg)?;
    let mut out = Vec::with_capacity(4 + 256 + payload_len(msg));
    out.extend_from_slice(&[0; 4]);
    ciborium::into_writer(msg, &mut out).map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(WireError::FrameTooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    // len <= MAX_FRAME < u32::MAX.
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// The bytes of the frame of a [`Message::Record`] up to its payload: length
/// prefix, CBOR map, and the payload's byte-string header. The whole frame is this
/// followed by the `payload_len` payload bytes, exactly as [`encode`] writes it, so a
/// sender can read a record straight behind it and hand the buffer to the stream
/// without copying the payload. Fails like [`encode`] for a payload over
/// [`MAX_PAYLOAD`] or a `raw_len` over it.
pub fn record_prefix(
    id: ObjectId,
    kind: u8,
    codec: u8,
    raw_len: u32,
    payload_len: usize,
) -> Result<Vec<u8>, WireError> {
    let m = "Record";
    bound(m, "payload", payload_len, MAX_PAYLOAD)?;
    bound(m, "raw_len", raw_len as usize, MAX_PAYLOAD)?;
    let mut out = encode(&Message::Record {
        id,
        kind,
        codec,
        raw_len,
        payload: Vec::new(),
    })?;
    // The payload is the last field; its empty byte string is the last byte (0x40).
    debug_assert_eq!(out.last(), Some(&0x40));
    out.pop();
    let n = payload_len;
    if n < 24 {
        out.push(0x40 | n as u8);
    } else if n < 1 << 8 {
        out.extend_from_slice(&[0x58, n as u8]);
    } else if n < 1 << 16 {
        out.push(0x59);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0x5a);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
    let len = out.len() - 4 + n;
    check_frame_len(len)?;
    out[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(out)
}

/// Decodes one frame body (without its length prefix) and checks every bound.
pub fn decode(frame_body: &[u8]) -> Result<Message, WireError> {
    check_frame_len(frame_body.len())?;
    let t = message_type(frame_body)?;
    let msg = decode_as(&t, frame_body)?;
    check(&msg)?;
    Ok(msg)
}

/// Writes `msg` as one frame and flushes. Not cancel-safe: a frame cut short by a
/// dropped future leaves the stream unusable.
pub async fn write_message<W: AsyncWrite + Unpin>(
    w: &mut W,
    msg: &Message,
) -> Result<(), WireError> {
    let frame = encode(msg)?;
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one frame and decodes it. `Ok(None)`: the stream ended cleanly before the
/// first byte of a frame; an end anywhere inside a frame is [`WireError::Truncated`].
/// The length is checked before anything else is read, and buffers grow only as
/// bytes arrive, to at most the frame length. Not cancel-safe.
///
/// A [`Message::Record`] in the shape [`encode`] writes has its payload read straight
/// into the message's own buffer ([`super::record_tail`]); every other frame is read
/// whole and decoded.
pub async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Message>, WireError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        let n = r.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(WireError::Truncated)
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes(prefix) as usize;
    check_frame_len(len)?;
    let mut head = [0u8; HEAD_PEEK];
    let head = &mut head[..len.min(HEAD_PEEK)];
    read_exact(r, head).await?;
    if let Some(tail) = super::record_tail::record_tail(head, len) {
        return read_record(r, head, tail, len).await.map(Some);
    }
    let mut body = head.to_vec();
    while body.len() < len {
        let start = body.len();
        let step = (len - start).min(start.max(READ_STEP));
        body.reserve_exact(step);
        body.resize(start + step, 0);
        read_exact(r, &mut body[start..]).await?;
    }
    decode(&body).map(Some)
}

/// Bytes of a frame read before choosing how to read the rest: enough for the
/// fields of a [`Message::Record`] ahead of its payload (about 80 bytes).
const HEAD_PEEK: usize = 128;

/// The rest of a `Record` frame whose first bytes are `head`: the fields before the
/// payload decoded (with an empty payload in its place), the payload read into a
/// buffer that grows as it arrives, without being zeroed first.
async fn read_record<R: AsyncRead + Unpin>(
    r: &mut R,
    head: &[u8],
    tail: super::record_tail::Tail,
    len: usize,
) -> Result<Message, WireError> {
    use bytes::BufMut;
    let mut fields = head[..tail.header].to_vec();
    fields.push(0x40);
    let mut msg = decode(&fields)?;
    let n = len - tail.start;
    let mut payload = Vec::with_capacity(n.min(RECORD_STEP));
    payload.extend_from_slice(&head[tail.start..]);
    while payload.len() < n {
        let want = n - payload.len();
        if payload.capacity() == payload.len() {
            payload.reserve_exact(want.min(payload.len().max(RECORD_STEP)));
        }
        let room = want.min(payload.capacity() - payload.len());
        if r.read_buf(&mut (&mut payload).limit(room)).await? == 0 {
            return Err(WireError::Truncated);
        }
    }
    match &mut msg {
        Message::Record { payload: p, .. } => *p = payload,
        other => {
            return Err(WireError::Cbor(format!(
                "a Record frame decoded as {}",
                other.kind_name()
            )))
        }
    }
    check(&msg)?;
    Ok(msg)
}

/// A record payload's buffer is first given this much room (1 MiB, four times the
/// largest default chunk), then doubles as bytes arrive.
const RECORD_STEP: usize = 1 << 20;

async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<(), WireError> {
    r.read_exact(buf).await.map(|_| ()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            WireError::Truncated
        } else {
            WireError::Io(e)
        }
    })
}

fn check_frame_len(len: usize) -> Result<(), WireError> {
    if len == 0 {
        return Err(WireError::EmptyFrame);
    }
    if len > MAX_FRAME {
        return Err(WireError::FrameTooLarge {
            len,
            max: MAX_FRAME,
        });
    }
    Ok(())
}

fn payload_len(msg: &Message) -> usize {
    match msg {
        Message::Record { payload, .. } => payload.len(),
        _ => 0,
    }
}

/// Clips peer-influenced text for an error message, on a char boundary.
fn clip(s: &str) -> String {
    if s.len() <= MAX_ERROR_TEXT {
        return s.to_string();
    }
    let mut end = MAX_ERROR_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

// ---------------------------------------------------------------------------------
// Bounds, shared by encode and decode.

fn bound(
    message: &'static str,
    field: &'static str,
    len: usize,
    max: usize,
) -> Result<(), WireError> {
    if len > max {
        return Err(WireError::Bound {
            message,
            field,
            len,
            max,
        });
    }
    Ok(())
}

/// A list of strings: at most `max` entries of at most [`MAX_STRING`] bytes.
fn strings(
    message: &'static str,
    (field, entry): (&'static str, &'static str),
    list: &[String],
    max: usize,
) -> Result<(), WireError> {
    bound(message, field, list.len(), max)?;
    for s in list {
        bound(message, entry, s.len(), MAX_STRING)?;
    }
    Ok(())
}

/// Checks every bound of `msg` (see the `MAX_*` constants).
fn check(msg: &Message) -> Result<(), WireError> {
    let m = msg.kind_name();
    match msg {
        Message::Hello {
            versions,
            repo,
            caps,
            listen,
        } => {
            bound(m, "versions", versions.len(), MAX_VERSIONS)?;
            if let Some(repo) = repo {
                bound(m, "repo", repo.len(), MAX_STRING)?;
            }
            strings(m, ("caps", "caps[]"), caps, MAX_CAPS)?;
            strings(m, ("listen", "listen[]"), listen, MAX_ADDRS)?;
        }
        Message::Welcome {
            version: _,
            repo,
            caps,
            listen,
            chunking: _,
        } => {
            bound(m, "repo", repo.len(), MAX_STRING)?;
            strings(m, ("caps", "caps[]"), caps, MAX_CAPS)?;
            strings(m, ("listen", "listen[]"), listen, MAX_ADDRS)?;
        }
        Message::ListRefs {} | Message::GetPeers {} | Message::End {} => {}
        Message::Missing { id: _ } => {}
        Message::Commits {
            wants,
            haves,
            limit: _,
        } => {
            bound(m, "wants", wants.len(), MAX_IDS)?;
            bound(m, "haves", haves.len(), MAX_IDS)?;
        }
        Message::GetObjects { ids }
        | Message::CommitIds { ids, done: _ }
        | Message::GetPreviews { ids }
        | Message::Previews { ids } => {
            bound(m, "ids", ids.len(), MAX_IDS)?;
        }
        Message::GetChunks { runs } => {
            bound(m, "runs", runs.len(), MAX_RUNS)?;
            for r in runs {
                bound(m, "runs[].count", r.count as usize, MAX_RUN_CHUNKS as usize)?;
                if r.count == 0 || r.start.checked_add(u64::from(r.count)).is_none() {
                    return Err(WireError::BadRun {
                        start: r.start,
                        count: r.count,
                    });
                }
            }
        }
        Message::Push { updates } => {
            bound(m, "updates", updates.len(), MAX_REFS)?;
            for u in updates {
                bound(m, "updates[].name", u.name.len(), MAX_STRING)?;
            }
        }
        Message::Refs {
            refs,
            head,
            members: _,
            locks,
        } => {
            bound(m, "refs", refs.len(), MAX_REFS)?;
            for (name, _) in refs {
                bound(m, "refs[].name", name.len(), MAX_STRING)?;
            }
            if let Some(head) = head {
                bound(m, "head", head.len(), MAX_STRING)?;
            }
            bound(m, "locks", locks.len(), MAX_IDS)?;
        }
        Message::Record {
            raw_len, payload, ..
        } => {
            bound(m, "raw_len", *raw_len as usize, MAX_PAYLOAD)?;
            bound(m, "payload", payload.len(), MAX_PAYLOAD)?;
        }
        Message::PushResult { results } => {
            bound(m, "results", results.len(), MAX_REFS)?;
            for (name, reason) in results {
                bound(m, "results[].name", name.len(), MAX_STRING)?;
                if let Some(reason) = reason {
                    bound(m, "results[].reason", reason.len(), MAX_STRING)?;
                }
            }
        }
        Message::Peers { peers } => {
            bound(m, "peers", peers.len(), MAX_PEERS)?;
            for p in peers {
                strings(m, ("peers[].addrs", "peers[].addrs[]"), &p.addrs, MAX_ADDRS)?;
            }
        }
        Message::Error { code, message } => {
            bound(m, "code", code.len(), MAX_STRING)?;
            bound(m, "message", message.len(), MAX_ERROR_MESSAGE)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Decoding: first the type name, then the body as that type's field struct.

/// Deserializes `body` as `T` with the recursion limit; the body must be exactly one
/// CBOR item.
fn cbor<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    let mut rest = body;
    let value: T = ciborium::de::from_reader_with_recursion_limit(&mut rest, RECURSION_LIMIT)
        .map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    if !rest.is_empty() {
        return Err(WireError::Cbor(format!(
            "{} trailing bytes after the message",
            rest.len()
        )));
    }
    Ok(value)
}

/// Reads the `"t"` value of the top-level map (wherever the key stands; encoders
/// write it first, so usually nothing else is read).
fn message_type(body: &[u8]) -> Result<String, WireError> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a message map")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "t" {
                    return map.next_value::<String>().map(Some);
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(None)
        }
    }
    struct Top(Option<String>);
    impl<'de> Deserialize<'de> for Top {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(V).map(Top)
        }
    }
    // The rest of the body is not read here; `decode_as` reads all of it.
    let Top(t) = ciborium::de::from_reader_with_recursion_limit(body, RECURSION_LIMIT)
        .map_err(|e| WireError::Cbor(clip(&e.to_string())))?;
    t.ok_or_else(|| WireError::Cbor("message has no \"t\" key".into()))
}

fn decode_as(t: &str, body: &[u8]) -> Result<Message, WireError> {
    use fields as f;
    Ok(match t {
        "Hello" => {
            let m = "Hello";
            let b: f::Hello = cbor(body)?;
            Message::Hello {
                versions: b.versions.take(m, "versions")?,
                repo: b.repo,
                caps: b.caps.take(m, "caps")?,
                listen: b.listen.take(m, "listen")?,
            }
        }
        "ListRefs" => {
            cbor::<f::Empty>(body)?;
            Message::ListRefs {}
        }
        "Commits" => {
            let m = "Commits";
            let b: f::Commits = cbor(body)?;
            Message::Commits {
                wants: ids(b.wants.take(m, "wants")?)?,
                haves: ids(b.haves.take(m, "haves")?)?,
                limit: b.limit,
            }
        }
        "GetObjects" => {
            let b: f::Ids = cbor(body)?;
            Message::GetObjects {
                ids: ids(b.ids.take("GetObjects", "ids")?)?,
            }
        }
        "GetPreviews" => {
            let b: f::Ids = cbor(body)?;
            Message::GetPreviews {
                ids: ids(b.ids.take("GetPreviews", "ids")?)?,
            }
        }
        "Previews" => {
            let b: f::Ids = cbor(body)?;
            Message::Previews {
                ids: ids(b.ids.take("Previews", "ids")?)?,
            }
        }
        "GetChunks" => {
            let b: f::GetChunks = cbor(body)?;
            let runs = b.runs.take("GetChunks", "runs")?;
            let runs = runs
                .into_iter()
                .map(|r| {
                    Ok(Run {
                        file: r.file.get()?,
                        start: r.start,
                        count: r.count,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::GetChunks { runs }
        }
        "Push" => {
            let b: f::Push = cbor(body)?;
            let updates = b.updates.take("Push", "updates")?;
            let updates = updates
                .into_iter()
                .map(|u| {
                    Ok(RefUpdate {
                        name: u.name,
                        old: u.old.map(RawId::get).transpose()?,
                        new: u.new.get()?,
                        force: u.force,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::Push { updates }
        }
        "GetPeers" => {
            cbor::<f::Empty>(body)?;
            Message::GetPeers {}
        }
        "Welcome" => {
            let m = "Welcome";
            let b: f::Welcome = cbor(body)?;
            Message::Welcome {
                version: b.version,
                repo: b.repo,
                caps: b.caps.take(m, "caps")?,
                listen: b.listen.take(m, "listen")?,
                chunking: b.chunking,
            }
        }
        "Refs" => {
            let m = "Refs";
            let b: f::Refs = cbor(body)?;
            let refs = b.refs.take(m, "refs")?;
            Message::Refs {
                refs: refs
                    .into_iter()
                    .map(|Pair(name, id)| Ok((name, id.get()?)))
                    .collect::<Result<_, WireError>>()?,
                head: b.head,
                members: b.members.map(RawId::get).transpose()?,
                locks: ids(b.locks.take(m, "locks")?)?,
            }
        }
        "CommitIds" => {
            let b: f::CommitIds = cbor(body)?;
            Message::CommitIds {
                ids: ids(b.ids.take("CommitIds", "ids")?)?,
                done: b.done,
            }
        }
        "Record" => {
            let b: f::Record = cbor(body)?;
            Message::Record {
                id: b.id.get()?,
                kind: b.kind,
                codec: b.codec,
                raw_len: b.raw_len,
                payload: b.payload.0,
            }
        }
        "Missing" => {
            let b: f::Missing = cbor(body)?;
            Message::Missing { id: b.id.get()? }
        }
        "End" => {
            cbor::<f::Empty>(body)?;
            Message::End {}
        }
        "PushResult" => {
            let b: f::PushResult = cbor(body)?;
            let results = b.results.take("PushResult", "results")?;
            Message::PushResult {
                results: results.into_iter().map(|Pair(n, r)| (n, r)).collect(),
            }
        }
        "Peers" => {
            let m = "Peers";
            let b: f::Peers = cbor(body)?;
            let peers = b.peers.take(m, "peers")?;
            let peers = peers
                .into_iter()
                .map(|p| {
                    Ok(PeerInfo {
                        key: *p.key.get()?.as_bytes(),
                        addrs: p.addrs.take(m, "peers[].addrs")?,
                        last_seen: p.last_seen,
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Message::Peers { peers }
        }
        "Error" => {
            let b: f::Error = cbor(body)?;
            Message::Error {
                code: b.code,
                message: b.message,
            }
        }
        other => return Err(WireError::UnknownType(clip(other))),
    })
}

fn ids(raw: Vec<RawId>) -> Result<Vec<ObjectId>, WireError> {
    raw.into_iter().map(RawId::get).collect()
}

/// The fields of each message type as decoded: lists are [`List`]s (bounded while
/// decoding), ids are [`RawId`]s (a wrong length is reported, not a CBOR error).
/// Keys not named here, `"t"` included, are skipped.
mod fields {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Empty {}

    #[derive(Deserialize)]
    pub(super) struct Hello {
        pub versions: List<u32, MAX_VERSIONS>,
        pub repo: Option<String>,
        pub caps: List<String, MAX_CAPS>,
        pub listen: List<String, MAX_ADDRS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Commits {
        pub wants: List<RawId, MAX_IDS>,
        pub haves: List<RawId, MAX_IDS>,
        pub limit: u32,
    }

    #[derive(Deserialize)]
    pub(super) struct Ids {
        pub ids: List<RawId, MAX_IDS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Run {
        pub file: RawId,
        pub start: u64,
        pub count: u32,
    }

    #[derive(Deserialize)]
    pub(super) struct GetChunks {
        pub runs: List<Run, MAX_RUNS>,
    }

    #[derive(Deserialize)]
    pub(super) struct RefUpdate {
        pub name: String,
        pub old: Option<RawId>,
        pub new: RawId,
        pub force: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct Push {
        pub updates: List<RefUpdate, MAX_REFS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Welcome {
        pub version: u32,
        pub repo: String,
        pub caps: List<String, MAX_CAPS>,
        pub listen: List<String, MAX_ADDRS>,
        #[serde(default)]
        pub chunking: Option<(u32, u32, u32)>,
    }

    #[derive(Deserialize)]
    pub(super) struct Refs {
        pub refs: List<Pair<String, RawId>, MAX_REFS>,
        pub head: Option<String>,
        pub members: Option<RawId>,
        pub locks: List<RawId, MAX_IDS>,
    }

    #[derive(Deserialize)]
    pub(super) struct CommitIds {
        pub ids: List<RawId, MAX_IDS>,
        pub done: bool,
    }

    #[derive(Deserialize)]
    pub(super) struct Record {
        pub id: RawId,
        pub kind: u8,
        pub codec: u8,
        pub raw_len: u32,
        pub payload: Bytes,
    }

    #[derive(Deserialize)]
    pub(super) struct Missing {
        pub id: RawId,
    }

    #[derive(Deserialize)]
    pub(super) struct PushResult {
        pub results: List<Pair<String, Option<String>>, MAX_REFS>,
    }

    #[derive(Deserialize)]
    pub(super) struct PeerInfo {
        pub key: RawId,
        pub addrs: List<String, MAX_ADDRS>,
        pub last_seen: u64,
    }

    #[derive(Deserialize)]
    pub(super) struct Peers {
        pub peers: List<PeerInfo, MAX_PEERS>,
    }

    #[derive(Deserialize)]
    pub(super) struct Error {
        pub code: String,
        pub message: String,
    }
}

/// A CBOR array decoded keeping at most `MAX` entries; `len` counts them all (the
/// rest are skipped unread into memory).
struct List<T, const MAX: usize> {
    items: Vec<T>,
    len: usize,
}

impl<T, const MAX: usize> List<T, MAX> {
    /// The entries, or [`WireError::Bound`] when there were more than `MAX`.
    fn take(self, message: &'static str, field: &'static str) -> Result<Vec<T>, WireError> {
        bound(message, field, self.len, MAX)?;
        Ok(self.items)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for List<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for V<T, MAX> {
            type Value = List<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let reserve = seq.size_hint().unwrap_or(0).min(MAX).min(PREALLOC);
                let mut items = Vec::with_capacity(reserve);
                while items.len() < MAX {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => {
                            let len = items.len();
                            return Ok(List { items, len });
                        }
                    }
                }
                let mut len = items.len();
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    len += 1;
                }
                Ok(List { items, len })
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A CBOR array of exactly two items.
struct Pair<A, B>(A, B);

impl<'de, A: Deserialize<'de>, B: Deserialize<'de>> Deserialize<'de> for Pair<A, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<A, B>(PhantomData<(A, B)>);
        impl<'de, A: Deserialize<'de>, B: Deserialize<'de>> Visitor<'de> for V<A, B> {
            type Value = Pair<A, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of two items")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let a = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let b = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(Pair(a, b))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A CBOR byte string read as an id: 32 bytes, or the wrong length it had.
enum RawId {
    Id(ObjectId),
    Bad(usize),
}

impl RawId {
    fn get(self) -> Result<ObjectId, WireError> {
        match self {
            RawId::Id(id) => Ok(id),
            RawId::Bad(len) => Err(WireError::BadId { len }),
        }
    }
}

impl<'de> Deserialize<'de> for RawId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 32-byte byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawId, E> {
                Ok(ObjectId::from_slice(v).map_or(RawId::Bad(v.len()), RawId::Id))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A byte string that travels as a CBOR byte string (major type 2), not as an array
/// of integers (serde's default for `Vec<u8>`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// `serialize_with` for borrowed bytes: the same encoding as [`Bytes`] without a copy.
fn ser_bytes<T: AsRef<[u8]>, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(v.as_ref())
}

#[cfg(test)]
mod record_prefix_tests {
    use super::*;

    #[test]
    fn the_prefix_and_the_payload_are_the_encoded_frame() {
        let id = ObjectId::of_chunk(b"x");
        for n in [
            0usize,
            1,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            1 << 20,
            MAX_PAYLOAD,
        ] {
            let payload = vec![7u8; n];
            let mut framed = record_prefix(id, 0, 1, n as u32, n).unwrap();
            framed.extend_from_slice(&payload);
            let encoded = encode(&Message::Record {
                id,
                kind: 0,
                codec: 1,
                raw_len: n as u32,
                payload,
            })
            .unwrap();
            assert_eq!(framed, encoded, "payload of {n} bytes");
        }
        assert!(record_prefix(id, 0, 0, 0, MAX_PAYLOAD + 1).is_err());
        assert!(record_prefix(id, 0, 0, MAX_PAYLOAD as u32 + 1, 0).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use std::time::Duration;

    /// The body ciborium makes for `msg`, bypassing the bounds check of [`encode`]: how
    /// a hostile or buggy peer would send an over-limit message.
    fn unchecked_body(msg: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(msg, &mut out).unwrap();
        out
    }

    fn body(frame: &[u8]) -> &[u8] {
        let len = u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4, "length prefix");
        &frame[4..]
    }

    /// What a message decoded from a peer becomes when sent on: itself (the same
    /// property the `fuzz/` target checks).
    fn re_decode(msg: &Message) -> Message {
        match encode(msg) {
            Ok(frame) => decode(body(&frame)).unwrap(),
            Err(e) => panic!("a decoded message does not encode: {e}"),
        }
    }

    fn round_trip(msg: &Message) -> Message {
        let frame = encode(msg).unwrap();
        decode(body(&frame)).unwrap()
    }

    fn cbor_value(v: &ciborium::Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn text(s: &str) -> ciborium::Value {
        ciborium::Value::Text(s.into())
    }

    fn oid(b: u8) -> ObjectId {
        ObjectId::from_bytes([b; 32])
    }

    fn s(n: usize) -> String {
        "x".repeat(n)
    }

    /// Runs an async test body with a time limit.
    async fn bounded<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(60), f)
            .await
            .expect("test timed out")
    }

    // ---- strategies ----

    fn id() -> impl Strategy<Value = ObjectId> {
        any::<[u8; 32]>().prop_map(ObjectId::from_bytes)
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9/._-]{0,24}|\\PC{0,8}"
    }

    fn names(n: usize) -> impl Strategy<Value = Vec<String>> {
        vec(name(), 0..n)
    }

    fn run() -> impl Strategy<Value = Run> {
        (
            id(),
            0..=u64::MAX - u64::from(MAX_RUN_CHUNKS),
            1..=MAX_RUN_CHUNKS,
        )
            .prop_map(|(file, start, count)| Run { file, start, count })
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (
                vec(any::<u32>(), 0..4),
                proptest::option::of(name()),
                names(4),
                names(4)
            )
                .prop_map(|(versions, repo, caps, listen)| Message::Hello {
                    versions,
                    repo,
                    caps,
                    listen
                }),
            Just(Message::ListRefs {}),
            (vec(id(), 0..8), vec(id(), 0..8), any::<u32>()).prop_map(|(wants, haves, limit)| {
                Message::Commits {
                    wants,
                    haves,
                    limit,
                }
            }),
            vec(id(), 0..8).prop_map(|ids| Message::GetObjects { ids }),
            vec(id(), 0..8).prop_map(|ids| Message::GetPreviews { ids }),
            vec(id(), 0..8).prop_map(|ids| Message::Previews { ids }),
            vec(run(), 0..8).prop_map(|runs| Message::GetChunks { runs }),
            vec(
                (name(), proptest::option::of(id()), id(), any::<bool>()).prop_map(
                    |(name, old, new, force)| RefUpdate {
                        name,
                        old,
                        new,
                        force
                    }
                ),
                0..6
            )
            .prop_map(|updates| Message::Push { updates }),
            Just(Message::GetPeers {}),
            (
                any::<u32>(),
                name(),
                names(4),
                names(4),
                proptest::option::of((any::<u32>(), any::<u32>(), any::<u32>()))
            )
                .prop_map(|(version, repo, caps, listen, chunking)| {
                    Message::Welcome {
                        version,
                        repo,
                        caps,
                        listen,
                        chunking,
                    }
                }),
            (
                vec((name(), id()), 0..8),
                proptest::option::of(name()),
                proptest::option::of(id()),
                vec(id(), 0..4)
            )
                .prop_map(|(refs, head, members, locks)| Message::Refs {
                    refs,
                    head,
                    members,
                    locks
                }),
            (vec(id(), 0..8), any::<bool>())
                .prop_map(|(ids, done)| Message::CommitIds { ids, done }),
            (
                id(),
                any::<u8>(),
                0..2u8,
                0..=MAX_PAYLOAD as u32,
                vec(any::<u8>(), 0..300)
            )
                .prop_map(|(id, kind, codec, raw_len, payload)| Message::Record {
                    id,
                    kind,
                    codec,
                    raw_len,
                    payload
                }),
            id().prop_map(|id| Message::Missing { id }),
            Just(Message::End {}),
            vec((name(), proptest::option::of(name())), 0..6)
                .prop_map(|results| Message::PushResult { results }),
            vec(
                (any::<[u8; 32]>(), names(3), any::<u64>()).prop_map(|(key, addrs, last_seen)| {
                    PeerInfo {
                        key,
                        addrs,
                        last_seen,
                    }
                }),
                0..4
            )
            .prop_map(|peers| Message::Peers { peers }),
            (name(), "\\PC{0,64}").prop_map(|(code, message)| Message::Error { code, message }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_message_round_trips(msg in message()) {
            let frame = encode(&msg).unwrap();
            prop_assert_eq!(decode(body(&frame)).unwrap(), msg);
        }

        /// Valid frames with random damage: decoding never panics, and whatever it
        /// accepts encodes again and decodes to the same message.
        #[test]
        fn damaged_frames_never_panic(
            msg in message(),
            edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6),
        ) {
            let frame = encode(&msg).unwrap();
            let mut b = body(&frame).to_vec();
            for (at, byte, op) in edits {
                if b.is_empty() {
                    break;
                }
                let i = at.index(b.len());
                match op {
                    0 => b[i] = byte,
                    1 => b.insert(i, byte),
                    _ => b.truncate(i),
                }
            }
            if let Ok(m) = decode(&b) {
                prop_assert_eq!(re_decode(&m), m);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The same check as the `fuzz/` target `wire_decode`, for stable toolchains.
        #[test]
        fn random_bytes_never_panic(b in vec(any::<u8>(), 0..512)) {
            if let Ok(m) = decode(&b) {
                prop_assert_eq!(re_decode(&m), m);
            }
        }

        /// Random bytes after a map header and a real type name reach the field
        /// decoders far more often than uniform noise does.
        #[test]
        fn random_fields_never_panic(
            t in prop::sample::select(vec![
                "Hello", "Commits", "GetChunks", "Push", "Welcome", "Refs",
                "Record", "PushResult", "Peers", "Error",
            ]),
            n in 0..24u8,
            rest in vec(any::<u8>(), 0..256),
        ) {
            let mut b = vec![0xa0 | n.min(23), 0x61, b't', 0x60 | t.len() as u8];
            b.extend_from_slice(t.as_bytes());
            b.extend_from_slice(&rest);
            let _ = decode(&b);
        }
    }

    #[test]
    fn hex_example_in_store_format_md() {
        let msg = Message::Hello {
            versions: vec![1],
            repo: None,
            caps: vec![],
            listen: vec![],
        };
        let frame = encode(&msg).unwrap();
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "28000000a561746548656c6c6f6876657273696f6e738101647265706ff6\
             646361707380666c697374656e80"
        );
    }

    #[test]
    fn bytes_newtype_is_a_cbor_byte_string() {
        let mut out = Vec::new();
        ciborium::into_writer(&Bytes(vec![1, 2, 3]), &mut out).unwrap();
        assert_eq!(out, [0x43, 1, 2, 3], "major type 2, length 3");
        let back: Bytes = ciborium::from_reader(&out[..]).unwrap();
        assert_eq!(back, Bytes(vec![1, 2, 3]));
        // Longer than ciborium's scratch buffer: the visit_byte_buf path.
        let big = Bytes(vec![7; 10_000]);
        out.clear();
        ciborium::into_writer(&big, &mut out).unwrap();
        assert_eq!(out[..3], [0x59, 0x27, 0x10], "major type 2, 2-byte length");
        assert_eq!(ciborium::from_reader::<Bytes, _>(&out[..]).unwrap(), big);
        // A Record's payload and a peer key use the same encoding.
        let rec = Message::Record {
            id: oid(1),
            kind: 0,
            codec: 0,
            raw_len: 3,
            payload: vec![1, 2, 3],
        };
        let frame = encode(&rec).unwrap();
        let needle = [b"\x67payload".as_slice(), &[0x43, 1, 2, 3]].concat();
        assert!(frame.windows(needle.len()).any(|w| w == needle));
        let peers = Message::Peers {
            peers: vec![PeerInfo {
                key: [9; 32],
                addrs: vec![],
                last_seen: 0,
            }],
        };
        let frame = encode(&peers).unwrap();
        let needle = [b"\x63key\x58\x20".as_slice(), &[9; 32]].concat();
        assert!(frame.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn kind_name_is_the_type_key() {
        let msgs = [
            Message::ListRefs {},
            Message::GetPeers {},
            Message::End {},
            Message::Missing { id: oid(0) },
            Message::GetObjects { ids: vec![] },
        ];
        for m in msgs {
            let b = unchecked_body(&m);
            assert_eq!(message_type(&b).unwrap(), m.kind_name());
        }
    }

    /// One message over each bound; `encode` refuses it and `decode` of the body a
    /// careless peer would send rejects it with the same error.
    #[test]
    fn every_bound_is_enforced_both_ways() {
        let hello =
            |versions: usize, repo: usize, caps: Vec<String>, listen: Vec<String>| Message::Hello {
                versions: vec![1; versions],
                repo: Some(s(repo)),
                caps,
                listen,
            };
        let welcome = |repo: usize, caps: Vec<String>, listen: Vec<String>| Message::Welcome {
            version: 1,
            repo: s(repo),
            caps,
            listen,
            chunking: Some((16384, 65536, 262144)),
        };
        let run = |count| Run {
            file: oid(1),
            start: 0,
            count,
        };
        let update = |n| RefUpdate {
            name: s(n),
            old: None,
            new: oid(2),
            force: false,
        };
        let refs = |refs: Vec<(String, ObjectId)>, head: usize, locks: usize| Message::Refs {
            refs,
            head: Some(s(head)),
            members: None,
            locks: vec![oid(3); locks],
        };
        let record = |raw_len: usize, payload: usize| Message::Record {
            id: oid(4),
            kind: 0,
            codec: 1,
            raw_len: raw_len as u32,
            payload: vec![0; payload],
        };
        let peer = |addrs: Vec<String>| PeerInfo {
            key: [5; 32],
            addrs,
            last_seen: 1,
        };
        let ok = || vec![s(MAX_STRING)];
        let cases: Vec<(Message, &str, usize, usize)> = vec![
            (hello(65, 1, ok(), ok()), "versions", 65, MAX_VERSIONS),
            (hello(1, 1025, ok(), ok()), "repo", 1025, MAX_STRING),
            (hello(1, 1, vec![s(1); 65], ok()), "caps", 65, MAX_CAPS),
            (hello(1, 1, vec![s(1025)], ok()), "caps[]", 1025, MAX_STRING),
            (hello(1, 1, ok(), vec![s(1); 65]), "listen", 65, MAX_ADDRS),
            (
                hello(1, 1, ok(), vec![s(1025)]),
                "listen[]",
                1025,
                MAX_STRING,
            ),
            (welcome(1025, ok(), ok()), "repo", 1025, MAX_STRING),
            (welcome(1, vec![s(1); 65], ok()), "caps", 65, MAX_CAPS),
            (welcome(1, vec![s(1025)], ok()), "caps[]", 1025, MAX_STRING),
            (welcome(1, ok(), vec![s(1); 65]), "listen", 65, MAX_ADDRS),
            (
                welcome(1, ok(), vec![s(1025)]),
                "listen[]",
                1025,
                MAX_STRING,
            ),
            (
                Message::Commits {
                    wants: vec![oid(1); MAX_IDS + 1],
                    haves: vec![],
                    limit: 1,
                },
                "wants",
                MAX_IDS + 1,
                MAX_IDS,
            ),
            (
                Message::Commits {
                    wants: vec![],
                    haves: vec![oid(1); MAX_IDS + 1],
                    limit: 1,
                },
                "haves",
                MAX_IDS + 1,
                MAX_IDS,
            ),
            (
                Message::GetObjects {
                    ids: vec![oid(1); MAX_IDS + 1],
                },
                "ids",
                MAX_IDS + 1,
                MAX_IDS,
            ),
            (
                Message::CommitIds {
                    ids: vec![oid(1); MAX_IDS + 1],
                    done: true,
                },
                "ids",
                MAX_IDS + 1,
                MAX_IDS,
            ),
            (
                Message::GetChunks {
                    runs: vec![run(1); MAX_RUNS + 1],
                },
                "runs",
                MAX_RUNS + 1,
                MAX_RUNS,
            ),
            (
                Message::GetChunks {
                    runs: vec![run(MAX_RUN_CHUNKS + 1)],
                },
                "runs[].count",
                MAX_RUN_CHUNKS as usize + 1,
                MAX_RUN_CHUNKS as usize,
            ),
            (
                Message::Push {
                    updates: vec![update(1); MAX_REFS + 1],
                },
                "updates",
                MAX_REFS + 1,
                MAX_REFS,
            ),
            (
                Message::Push {
                    updates: vec![update(1025)],
                },
                "updates[].name",
                1025,
                MAX_STRING,
            ),
            (
                refs(vec![(s(1), oid(1)); MAX_REFS + 1], 1, 0),
                "refs",
                MAX_REFS + 1,
                MAX_REFS,
            ),
            (
                refs(vec![(s(1025), oid(1))], 1, 0),
                "refs[].name",
                1025,
                MAX_STRING,
            ),
            (refs(vec![], 1025, 0), "head", 1025, MAX_STRING),
            (refs(vec![], 1, MAX_IDS + 1), "locks", MAX_IDS + 1, MAX_IDS),
            (
                record(MAX_PAYLOAD + 1, 1),
                "raw_len",
                MAX_PAYLOAD + 1,
                MAX_PAYLOAD,
            ),
            (
                record(1, MAX_PAYLOAD + 1),
                "payload",
                MAX_PAYLOAD + 1,
                MAX_PAYLOAD,
            ),
            (
                Message::PushResult {
                    results: vec![(s(1), None); MAX_REFS + 1],
                },
                "results",
                MAX_REFS + 1,
                MAX_REFS,
            ),
            (
                Message::PushResult {
                    results: vec![(s(1025), None)],
                },
                "results[].name",
                1025,
                MAX_STRING,
            ),
            (
                Message::PushResult {
                    results: vec![(s(1), Some(s(1025)))],
                },
                "results[].reason",
                1025,
                MAX_STRING,
            ),
            (
                Message::Peers {
                    peers: vec![peer(vec![]); MAX_PEERS + 1],
                },
                "peers",
                MAX_PEERS + 1,
                MAX_PEERS,
            ),
            (
                Message::Peers {
                    peers: vec![peer(vec![s(1); 65])],
                },
                "peers[].addrs",
                65,
                MAX_ADDRS,
            ),
            (
                Message::Peers {
                    peers: vec![peer(vec![s(1025)])],
                },
                "peers[].addrs[]",
                1025,
                MAX_STRING,
            ),
            (
                Message::Error {
                    code: s(1025),
                    message: s(1),
                },
                "code",
                1025,
                MAX_STRING,
            ),
            (
                Message::Error {
                    code: s(1),
                    message: s(4097),
                },
                "message",
                4097,
                MAX_ERROR_MESSAGE,
            ),
        ];
        for (msg, want_field, want_len, want_max) in cases {
            let kind = msg.kind_name();
            let check_err = |e: WireError, how: &str| match e {
                WireError::Bound {
                    message,
                    field,
                    len,
                    max,
                } => {
                    assert_eq!(
                        (message, field, len, max),
                        (kind, want_field, want_len, want_max),
                        "{how} {kind}.{want_field}"
                    );
                }
                other => panic!("{how} {kind}.{want_field}: {other}"),
            };
            check_err(encode(&msg).unwrap_err(), "encode");
            check_err(decode(&unchecked_body(&msg)).unwrap_err(), "decode");
        }
        // At the limit everything passes.
        let at_limit = [
            hello(
                MAX_VERSIONS,
                MAX_STRING,
                vec![s(MAX_STRING); MAX_CAPS],
                ok(),
            ),
            record(MAX_PAYLOAD, 0),
            Message::Error {
                code: s(MAX_STRING),
                message: s(MAX_ERROR_MESSAGE),
            },
            Message::GetChunks {
                runs: vec![run(MAX_RUN_CHUNKS); MAX_RUNS],
            },
            Message::GetObjects {
                ids: vec![oid(1); MAX_IDS],
            },
        ];
        for msg in at_limit {
            assert!(round_trip(&msg) == msg, "{}", msg.kind_name());
        }
    }

    #[test]
    fn bad_runs_are_rejected() {
        for (start, count) in [(0, 0), (u64::MAX, 1), (u64::MAX - 9, 11)] {
            let msg = Message::GetChunks {
                runs: vec![Run {
                    file: oid(1),
                    start,
                    count,
                }],
            };
            for e in [
                encode(&msg).unwrap_err(),
                decode(&unchecked_body(&msg)).unwrap_err(),
            ] {
                assert!(
                    matches!(e, WireError::BadRun { start: s, count: c } if s == start && c == count),
                    "{e}"
                );
            }
        }
        let last = Message::GetChunks {
            runs: vec![Run {
                file: oid(1),
                start: u64::MAX - 10,
                count: 10,
            }],
        };
        assert_eq!(round_trip(&last), last);
    }

    /// Entries past a list's bound are counted, not kept: a frame of a million empty
    /// strings in `caps` decodes to a bound error naming the true count.
    #[test]
    fn oversized_lists_are_counted_not_kept() {
        let msg = Message::Hello {
            versions: vec![],
            repo: None,
            caps: vec![String::new(); 1_000_000],
            listen: vec![],
        };
        let b = unchecked_body(&msg);
        assert!(b.len() < MAX_FRAME);
        match decode(&b).unwrap_err() {
            WireError::Bound { field, len, .. } => assert_eq!((field, len), ("caps", 1_000_000)),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn ids_of_the_wrong_length_are_typed_errors() {
        use ciborium::Value::{Array, Bytes as B, Map};
        let missing = |id: Vec<u8>| Map(vec![(text("t"), text("Missing")), (text("id"), B(id))]);
        for len in [0, 31, 33, 4000] {
            let e = decode(&cbor_value(&missing(vec![1; len]))).unwrap_err();
            assert!(matches!(e, WireError::BadId { len: l } if l == len), "{e}");
        }
        let wants = Map(vec![
            (text("t"), text("Commits")),
            (text("wants"), Array(vec![B(vec![0; 32]), B(vec![0; 16])])),
            (text("haves"), Array(vec![])),
            (text("limit"), ciborium::Value::Integer(5.into())),
        ]);
        let e = decode(&cbor_value(&wants)).unwrap_err();
        assert!(matches!(e, WireError::BadId { len: 16 }), "{e}");
        let peer = Map(vec![
            (text("t"), text("Peers")),
            (
                text("peers"),
                Array(vec![Map(vec![
                    (text("key"), B(vec![1; 31])),
                    (text("addrs"), Array(vec![])),
                    (text("last_seen"), ciborium::Value::Integer(0.into())),
                ])]),
            ),
        ]);
        let e = decode(&cbor_value(&peer)).unwrap_err();
        assert!(matches!(e, WireError::BadId { len: 31 }), "{e}");
        // An id written as an array of integers is not an id.
        let arr = Map(vec![
            (text("t"), text("Missing")),
            (
                text("id"),
                Array(vec![ciborium::Value::Integer(0.into()); 32]),
            ),
        ]);
        assert!(matches!(decode(&cbor_value(&arr)), Err(WireError::Cbor(_))));
    }

    #[test]
    fn unknown_keys_are_ignored_in_any_order() {
        use ciborium::Value::{Array, Bool, Bytes as B, Map, Null};
        let v = Map(vec![
            (
                text("future"),
                Array(vec![Map(vec![(text("x"), Null)]), B(vec![1; 5000])]),
            ),
            (text("done"), Bool(true)),
            (text("ids"), Array(vec![B(vec![7; 32])])),
            (text("t"), text("CommitIds")),
            (text("also-new"), ciborium::Value::Integer(1.into())),
        ]);
        assert_eq!(
            decode(&cbor_value(&v)).unwrap(),
            Message::CommitIds {
                ids: vec![oid(7)],
                done: true
            }
        );
        // Absent optional fields read as None.
        let v = Map(vec![
            (text("t"), text("Hello")),
            (text("versions"), Array(vec![])),
            (text("caps"), Array(vec![])),
            (text("listen"), Array(vec![])),
        ]);
        assert!(matches!(
            decode(&cbor_value(&v)).unwrap(),
            Message::Hello { repo: None, .. }
        ));
    }

    #[test]
    fn malformed_bodies_are_errors() {
        use ciborium::Value::{Array, Bytes as B, Map};
        let unknown = Map(vec![(text("t"), text("Teleport"))]);
        assert!(matches!(
            decode(&cbor_value(&unknown)),
            Err(WireError::UnknownType(t)) if t == "Teleport"
        ));
        let long = Map(vec![(text("t"), text(&s(100_000)))]);
        match decode(&cbor_value(&long)) {
            Err(WireError::UnknownType(t)) => assert!(t.len() < 300),
            other => panic!("{other:?}"),
        }
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("no t", cbor_value(&Map(vec![(text("id"), B(vec![0; 32]))]))),
            (
                "t not text",
                cbor_value(&Map(vec![(text("t"), B(vec![1]))])),
            ),
            (
                "not a map",
                cbor_value(&Array(vec![text("t"), text("End")])),
            ),
            (
                "missing field",
                cbor_value(&Map(vec![(text("t"), text("Missing"))])),
            ),
            (
                "wrong type",
                cbor_value(&Map(vec![
                    (text("t"), text("Missing")),
                    (text("id"), text("x")),
                ])),
            ),
            (
                "pair of three",
                cbor_value(&Map(vec![
                    (text("t"), text("PushResult")),
                    (
                        text("results"),
                        Array(vec![Array(vec![text("a"), text("b"), text("c")])]),
                    ),
                ])),
            ),
            (
                "u8 out of range",
                cbor_value(&Map(vec![
                    (text("t"), text("Record")),
                    (text("id"), B(vec![0; 32])),
                    (text("kind"), ciborium::Value::Integer(256.into())),
                    (text("codec"), ciborium::Value::Integer(0.into())),
                    (text("raw_len"), ciborium::Value::Integer(0.into())),
                    (text("payload"), B(vec![])),
                ])),
            ),
            ("garbage", vec![0xff, 0x00, 0x13, 0x37]),
            (
                "truncated cbor",
                unchecked_body(&Message::Missing { id: oid(1) })[..20].to_vec(),
            ),
            ("trailing bytes", {
                let mut b = unchecked_body(&Message::End {});
                b.push(0);
                b
            }),
        ];
        for (what, b) in cases {
            assert!(matches!(decode(&b), Err(WireError::Cbor(_))), "{what}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let mut b = vec![0xa2, 0x61, b't', 0x63, b'E', b'n', b'd', 0x61, b'x'];
        b.extend(std::iter::repeat_n(0x81u8, 100_000));
        b.push(0x00);
        assert!(matches!(decode(&b), Err(WireError::Cbor(_))));
    }

    #[test]
    fn frame_lengths_are_checked() {
        assert!(matches!(decode(&[]), Err(WireError::EmptyFrame)));
        let big = vec![0u8; MAX_FRAME + 1];
        assert!(matches!(
            decode(&big),
            Err(WireError::FrameTooLarge { len, max: MAX_FRAME }) if len == MAX_FRAME + 1
        ));
        // A body that encodes past MAX_FRAME is refused by encode even when each
        // field is within its bound.
        let msg = Message::Refs {
            refs: vec![(s(MAX_STRING), oid(1)); 20_000],
            head: None,
            members: None,
            locks: vec![],
        };
        assert!(matches!(
            encode(&msg),
            Err(WireError::FrameTooLarge { max: MAX_FRAME, .. })
        ));
    }

    #[test]
    fn a_full_size_record_round_trips() {
        let payload: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i * 7 + i / 251) as u8).collect();
        let msg = Message::Record {
            id: oid(8),
            kind: 1,
            codec: 1,
            raw_len: MAX_PAYLOAD as u32,
            payload,
        };
        let frame = encode(&msg).unwrap();
        assert!(frame.len() - 4 <= MAX_FRAME);
        assert!(decode(body(&frame)).unwrap() == msg);
    }

    #[tokio::test]
    async fn messages_stream_and_a_boundary_eof_is_none() {
        bounded(async {
            let (mut a, mut b) = tokio::io::duplex(1024);
            let msgs = vec![
                Message::GetPeers {},
                Message::CommitIds {
                    ids: vec![oid(1), oid(2)],
                    done: false,
                },
                Message::End {},
            ];
            let sent = msgs.clone();
            let writer = tokio::spawn(async move {
                for m in &sent {
                    write_message(&mut a, m).await.unwrap();
                }
                // Dropping `a` ends the stream at a frame boundary.
            });
            for m in &msgs {
                assert_eq!(read_message(&mut b).await.unwrap().as_ref(), Some(m));
            }
            assert!(read_message(&mut b).await.unwrap().is_none());
            writer.await.unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn a_full_size_record_streams() {
        bounded(async {
            let (mut a, mut b) = tokio::io::duplex(64 << 10);
            let payload: Vec<u8> = (0..MAX_PAYLOAD).map(|i| (i % 253) as u8).collect();
            let msg = Message::Record {
                id: oid(9),
                kind: 0,
                codec: 0,
                raw_len: MAX_PAYLOAD as u32,
                payload,
            };
            let sent = msg.clone();
            let writer = tokio::spawn(async move { write_message(&mut a, &sent).await.unwrap() });
            let got = read_message(&mut b).await.unwrap().unwrap();
            assert!(got == msg);
            writer.await.unwrap();
            assert!(read_message(&mut b).await.unwrap().is_none());
        })
        .await;
    }

    /// A huge announced length fails at once: nothing is allocated for it and no body
    /// byte is awaited (the writer keeps the stream open and sends nothing more).
    #[tokio::test]
    async fn an_oversized_length_fails_before_reading_the_body() {
        bounded(async {
            let (mut a, mut b) = tokio::io::duplex(1024);
            a.write_all(&0xFFFF_FFFFu32.to_le_bytes()).await.unwrap();
            let e = read_message(&mut b).await.unwrap_err();
            assert!(matches!(
                e,
                WireError::FrameTooLarge {
                    len: 0xFFFF_FFFF,
                    max: MAX_FRAME
                }
            ));
            let (mut a, mut b) = tokio::io::duplex(1024);
            a.write_all(&((MAX_FRAME + 1) as u32).to_le_bytes())
                .await
                .unwrap();
            assert!(matches!(
                read_message(&mut b).await,
                Err(WireError::FrameTooLarge { .. })
            ));
            drop(a);
            let (mut a, mut b) = tokio::io::duplex(1024);
            a.write_all(&[0; 4]).await.unwrap();
            assert!(matches!(
                read_message(&mut b).await,
                Err(WireError::EmptyFrame)
            ));
            drop(a);
        })
        .await;
    }

    /// Records take the payload-first read path (`record_tail`):
    /// cut anywhere they are truncated, and bad fields ahead of the payload are
    /// still refused; a record in another key order takes the generic path.
    #[tokio::test]
    async fn records_read_straight_into_their_payload_keep_every_check() {
        bounded(async {
            let payload: Vec<u8> = (0..(3 << 20) + 5).map(|i| (i % 249) as u8).collect();
            let msg = Message::Record {
                id: oid(4),
                kind: 0,
                codec: 0,
                raw_len: payload.len() as u32,
                payload,
            };
            let frame = encode(&msg).unwrap();
            let mut r = &frame[..];
            assert!(read_message(&mut r).await.unwrap() == Some(msg.clone()));
            for cut in [5, 40, 84, 85, 200, 1 << 20, (1 << 20) + 1, frame.len() - 1] {
                let (mut a, mut b) = tokio::io::duplex(1 << 16);
                let part = frame[..cut].to_vec();
                let writer = tokio::spawn(async move { a.write_all(&part).await.unwrap() });
                let e = read_message(&mut b).await.unwrap_err();
                assert!(matches!(e, WireError::Truncated), "cut at {cut}: {e}");
                writer.await.unwrap();
            }
            // raw_len over the bound, with the payload in the encoder's place.
            let cbor = |v: &ciborium::Value| {
                let out = cbor_value(v);
                let mut f = (out.len() as u32).to_le_bytes().to_vec();
                f.extend(out);
                f
            };
            let map = |raw_len: u64, id: Vec<u8>, payload_first: bool| {
                let mut e = vec![
                    (text("t"), text("Record")),
                    (text("id"), ciborium::Value::Bytes(id)),
                    (text("kind"), 0.into()),
                    (text("codec"), 0.into()),
                    (text("raw_len"), raw_len.into()),
                ];
                let p = (text("payload"), ciborium::Value::Bytes(vec![1, 2, 3]));
                if payload_first {
                    e.insert(0, p);
                } else {
                    e.push(p);
                }
                ciborium::Value::Map(e)
            };
            let mut r = &cbor(&map(MAX_PAYLOAD as u64 + 1, vec![4; 32], false))[..];
            let e = read_message(&mut r).await.unwrap_err();
            assert!(
                matches!(
                    e,
                    WireError::Bound {
                        field: "raw_len",
                        ..
                    }
                ),
                "{e}"
            );
            let mut r = &cbor(&map(3, vec![4; 31], false))[..];
            assert!(read_message(&mut r).await.is_err());
            // Payload first: the generic path, the same message.
            let mut r = &cbor(&map(3, vec![4; 32], true))[..];
            let got = read_message(&mut r).await.unwrap().unwrap();
            assert!(
                matches!(got, Message::Record { payload, raw_len: 3, .. } if payload == [1, 2, 3])
            );
        })
        .await;
    }

    #[tokio::test]
    async fn an_eof_inside_a_frame_is_truncated() {
        bounded(async {
            let frame = encode(&Message::Missing { id: oid(3) }).unwrap();
            // Cut inside the prefix, right after it, and inside the body; and a large
            // announced body that stops early (several growth steps in).
            let mut cuts = vec![
                frame[..2].to_vec(),
                frame[..4].to_vec(),
                frame[..20].to_vec(),
            ];
            let mut long = ((READ_STEP * 5) as u32).to_le_bytes().to_vec();
            long.extend(vec![0; READ_STEP * 3 + 17]);
            cuts.push(long);
            for cut in cuts {
                let (mut a, mut b) = tokio::io::duplex(1 << 20);
                let writer = tokio::spawn(async move {
                    a.write_all(&cut).await.unwrap();
                });
                let e = read_message(&mut b).await.unwrap_err();
                assert!(matches!(e, WireError::Truncated), "{e}");
                writer.await.unwrap();
            }
            // A reader that is just a byte slice behaves the same.
            let mut r = &frame[..frame.len() - 1];
            assert!(matches!(
                read_message(&mut r).await,
                Err(WireError::Truncated)
            ));
            let mut r = &frame[..];
            assert!(read_message(&mut r).await.unwrap().is_some());
            assert!(read_message(&mut r).await.unwrap().is_none());
        })
        .await;
    }
}
