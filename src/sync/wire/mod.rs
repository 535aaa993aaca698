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
//!
//! # Layout
//!
//! `messages` (the [`Message`] enum and its parts), `frame` (encode, decode, read and
//! write frames), `bounds` (the checks shared by both directions), `decode` (type
//! name first, then the body as that type's field struct) and `cbor` (bounded serde
//! helpers). The bounds themselves are named in [`crate::sync::protocol`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::store::ObjectId;

mod bounds;
mod cbor;
mod decode;
mod frame;
mod messages;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bounds;
#[cfg(test)]
mod tests_frame;
#[cfg(test)]
mod tests_record_prefix;

#[allow(unused_imports)]
use bounds::*;
#[allow(unused_imports)]
use cbor::*;
#[allow(unused_imports)]
use decode::*;
pub use frame::*;
pub use messages::*;

pub use super::protocol::{
    KEY_LEN, MAX_ADDRS, MAX_CAPS, MAX_ERROR_MESSAGE, MAX_FRAME, MAX_HAVE_FILES, MAX_HAVE_SPANS,
    MAX_IDS, MAX_PAYLOAD, MAX_PEERS, MAX_REFS, MAX_RUNS, MAX_RUN_CHUNKS, MAX_STRING, MAX_VERSIONS,
    PROTOCOL_VERSION, RECURSION_LIMIT,
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
    /// A [`Message::Have`] that contradicts itself: a span empty, out of order,
    /// overlapping the one before or past the file's chunk count.
    #[error("bad availability of {file}: span {start}+{count} of a file of {chunks} chunks")]
    BadHave {
        /// The file.
        file: ObjectId,
        /// The span's first chunk.
        start: u64,
        /// Its chunk count.
        count: u32,
        /// The file's chunk count as announced.
        chunks: u64,
    },
    /// A message type this version does not know (clipped to 200 bytes).
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    /// Reading or writing the stream failed.
    #[error("stream i/o: {0}")]
    Io(#[from] std::io::Error),
}
