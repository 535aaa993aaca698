//! The sync protocol's named constants, in one place (`store-format.md` §§ 14–15):
//! the ALPN id and version, the capabilities a server offers, the QUIC close codes,
//! and every bound a message must keep. `wire`, `tls` and `server` re-export them
//! under their old paths; nothing else defines a protocol constant.

// ---- identity and version -------------------------------------------------------

/// The ALPN protocol id of gadn sync, version 1. Peers offering anything else are
/// refused during the handshake.
pub const ALPN: &[u8] = b"gadn/1";

/// Version of this protocol, offered in [`Message::Hello`](super::wire::Message::Hello) and chosen in
/// [`Message::Welcome`](super::wire::Message::Welcome).
pub const PROTOCOL_VERSION: u32 = 1;

// ---- capabilities and close codes ------------------------------------------------

/// Capabilities this version offers in [`Message::Welcome`](super::wire::Message::Welcome).
/// `have`: the server answers [`Message::GetHave`](super::wire::Message::GetHave)
/// (a fetcher asks only peers that offer it; older ones are taken as full seeds).
pub const CAPABILITIES: [&str; 4] = ["fetch", "push", "peers", CAP_HAVE];

/// The capability of answering [`Message::GetHave`](super::wire::Message::GetHave).
pub const CAP_HAVE: &str = "have";

/// QUIC close code for a protocol violation by the peer.
pub const CLOSE_PROTOCOL: u32 = 2;

// ---- message bounds (checked by `wire` on encode and decode) ----------------

/// Largest record payload in a [`Message::Record`](super::wire::Message::Record), and largest `raw_len`, in bytes
/// (16 MiB; the store's `MAX_RAW_RECORD`).
pub const MAX_PAYLOAD: usize = 16 << 20;
/// Largest frame body in bytes: a full record payload plus 64 KiB for headers.
pub const MAX_FRAME: usize = MAX_PAYLOAD + (64 << 10);
/// Most ids in one id list (`wants`, `haves`, `ids`, `locks`).
pub const MAX_IDS: usize = 65_536;
/// Most refs in a ref list (`refs`, `updates`, `results`).
pub const MAX_REFS: usize = 100_000;
/// Most chunk runs in one [`Message::GetChunks`](super::wire::Message::GetChunks).
pub const MAX_RUNS: usize = 16_384;
/// Most chunks in one [`Run`](super::wire::Run).
pub const MAX_RUN_CHUNKS: u32 = 65_536;
/// Most files in one [`Message::GetHave`](super::wire::Message::GetHave) or
/// [`Message::Have`](super::wire::Message::Have).
pub const MAX_HAVE_FILES: usize = 4096;
/// Most spans in one [`Message::Have`](super::wire::Message::Have), all files
/// together.
pub const MAX_HAVE_SPANS: usize = 65_536;
/// Longest string in bytes (UTF-8): ref names, addresses, capabilities, repository
/// ids, error codes, refusal reasons.
pub const MAX_STRING: usize = 1024;
/// Longest [`Message::Error`](super::wire::Message::Error) message in bytes.
pub const MAX_ERROR_MESSAGE: usize = 4096;
/// Most capabilities in a capability list.
pub const MAX_CAPS: usize = 64;
/// Most addresses in an address list (`listen`, `addrs`).
pub const MAX_ADDRS: usize = 64;
/// Most peers in one [`Message::Peers`](super::wire::Message::Peers).
pub const MAX_PEERS: usize = 1024;
/// Most protocol versions offered in one [`Message::Hello`](super::wire::Message::Hello).
pub const MAX_VERSIONS: usize = 64;
/// Deepest CBOR nesting accepted (our messages need 5; the rest is room for
/// unknown keys added by later versions).
pub const RECURSION_LIMIT: usize = 32;

/// Length of a peer's public key in [`PeerInfo::key`](super::wire::PeerInfo::key).
pub const KEY_LEN: usize = 32;
