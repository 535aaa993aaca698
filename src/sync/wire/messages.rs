//! The messages of the sync protocol and the types inside them (`store-format.md` § 14).

#[allow(unused_imports)]
use super::*;

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

/// Chunks `start..start + count` of a file, in a [`FileHave`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// First chunk (0-based, in file order).
    pub start: u64,
    /// Number of chunks, at least 1.
    pub count: u32,
}

/// What the sender holds of one file, in a [`Message::Have`]: spans sorted,
/// non-empty, not overlapping, within `chunks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHave {
    /// The file object.
    pub file: ObjectId,
    /// Its number of chunks; 0 when the sender does not know the file.
    pub chunks: u64,
    /// The chunks it holds.
    pub held: Vec<Span>,
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
    /// Asks which chunks of these files the receiver holds (capability `have`);
    /// answered by [`Message::Have`].
    GetHave {
        /// File object ids, at most [`MAX_HAVE_FILES`].
        files: Vec<ObjectId>,
    },
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
    /// The sender holds this record but its own copy is damaged (its bytes do not
    /// hash to `id`, or cannot be read): it sends this instead of the bad bytes, in
    /// the record's place, and goes on with the rest of the answer.
    Damaged {
        /// The id asked for.
        id: ObjectId,
        /// What is wrong with the sender's copy, at most [`MAX_ERROR_MESSAGE`] bytes.
        reason: String,
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
    /// Answer to [`Message::GetHave`]: per file asked, the chunks held.
    Have {
        /// At most [`MAX_HAVE_FILES`] files, at most [`MAX_HAVE_SPANS`] spans in all.
        files: Vec<FileHave>,
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
            Message::GetHave { .. } => "GetHave",
            Message::Have { .. } => "Have",
            Message::Welcome { .. } => "Welcome",
            Message::Refs { .. } => "Refs",
            Message::CommitIds { .. } => "CommitIds",
            Message::Record { .. } => "Record",
            Message::Missing { .. } => "Missing",
            Message::Damaged { .. } => "Damaged",
            Message::End {} => "End",
            Message::PushResult { .. } => "PushResult",
            Message::Previews { .. } => "Previews",
            Message::Peers { .. } => "Peers",
            Message::Error { .. } => "Error",
        }
    }
}
