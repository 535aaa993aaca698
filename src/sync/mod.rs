//! Peer-to-peer sync over QUIC (`store-format.md` §§ 14–16).
//!
//! # Goals and non-goals
//!
//! Goals: be paranoid about data integrity — every record is re-hashed against the
//! id asked for before it is stored, and a peer that sends one wrong byte is cut off;
//! bound everything a peer controls (frame sizes, list lengths, nesting, memory), so
//! no message can make us panic or allocate without limit; admit only members, during
//! the TLS handshake; resume an interrupted transfer by asking only for what is
//! missing; fill a fast link (many streams, large flow-control windows).
//!
//! Non-goals: merge rules and working trees (that is `vcs`: sync lands fetched refs
//! as remote-tracking refs and decides nothing); trusting anything a peer claims
//! about content without checking it; a central server or tracker that every
//! transfer depends on (peers find each other by configured addresses, the LAN and
//! peer exchange).
//!
//! # The protocol
//!
//! Peers are ed25519 keys. A connection is QUIC with TLS 1.3 and ALPN `gadn/1`; each
//! side's certificate carries its key, the connector pins the key it expects, and the
//! server admits only current members of its repository — during the handshake, so a
//! stranger learns nothing. Each QUIC stream carries one exchange: one request frame,
//! then the answer frames. A frame is `u32 LE length || CBOR map {"t": type, …}`, at
//! most 16 MiB + 64 KiB, every list and string bounded ([`wire`]).
//!
//! ```text
//! fetcher                                   server
//!   Hello {versions, repo, caps, listen} ->  <- Welcome {version, repo, chunking, …}
//!   ListRefs                           ->    <- Refs {branches, tags, HEAD, members, locks}
//!   Commits {wants: tips, haves: ours} ->    <- CommitIds … {done}
//!   GetObjects {ids} (per tree level)  ->    <- Record … End        (several streams)
//!   GetPreviews {ids: new files}       ->    <- Previews {ids}      (then their records
//!                                                 and item chunks, ahead of content)
//!   GetChunks {runs: (file, start, n)} ->    <- Record … End        (8 streams in flight;
//!                                                 with --peer: one run each, planned
//!                                                 over every source, see [`swarm`])
//!   GetHave {files} (capability have)  ->    <- Have {spans per file} (partial seeds)
//!   GetPeers                           ->    <- Peers               (peer exchange)
//! pusher: Push {updates} -> the receiver lists the pusher's lock records (ListRefs)
//!         and fetches them and the pushed history back over the same connection,
//!         then answers PushResult (fast-forward only unless forced)
//! ```
//!
//! Every record is checked to be the one asked for and re-hashed before it is
//! stored; a bad one ends the transfer and the connection. Only missing records are
//! asked for, so an interrupted fetch resumes where it stopped. Refs land last,
//! under the store lock: a peer's branches become `refs/remotes/NAME/…`.
//!
//! Layering: this module moves objects and chunks between stores and knows nothing of
//! merge rules; `vcs` decides what to do with fetched refs.
//!
//! * [`protocol`] — the protocol's named constants: ALPN, version, capabilities,
//!   close codes, message bounds.
//! * [`tls`] — TLS certificates bound to the machine's ed25519 key, and verifiers
//!   that pin the peer's key (no certificate authority).
//! * [`transport`] — quinn endpoints on tokio, ALPN `gadn/1`, flow-control windows
//!   sized for bulk transfer.
//! * [`wire`] — length-prefixed CBOR messages with per-message size bounds.
//! * [`members`] — the repository's signed member list and the local peer table.
//! * [`discovery`] — LAN announcements on a multicast group (`store-format.md` § 16).
//! * [`graph`], [`answer`], [`server`] — the serving side: history difference,
//!   answering requests from a store, the accept loop; `receive` takes a push
//!   (fetching the pushed history back), so the server needs nothing of the client.
//! * [`swarm`] — the transfer planner: the chunk phase over several sources at
//!   once (rarest first, rate-proportional, stall/failure/bad-data handling, an
//!   endgame), behind a [`swarm::Source`] trait; QUIC peers are the first kind.
//! * [`fetch`], [`land`], [`client`], [`remote`] — the fetching side: what to ask
//!   for (`history` asks for commits, for fetches and received pushes alike), landing
//!   verified records and refs, fetch/push/hello, naming peers.
//! * [`repair`] — asking a peer for exactly the records a damaged store needs
//!   (`gadn fsck --repair`).

pub mod answer;
pub mod client;
pub mod discovery;
mod error;
pub mod fetch;
pub mod graph;
mod history;
pub mod land;
pub mod members;
pub mod protocol;
pub mod rate;
mod receive;
mod record_tail;
pub mod remote;
pub mod repair;
pub mod server;
pub mod swarm;
pub mod tls;
pub mod transport;
pub mod wire;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_damage;
#[cfg(test)]
mod tests_edge;
#[cfg(test)]
mod tests_locks;
#[cfg(test)]
mod tests_prefill;
#[cfg(all(test, feature = "preview"))]
mod tests_previews;

pub use error::SyncError;

/// A random `u64` from the operating system, `None` if it has none to give (callers
/// that only spread or jitter pick their own fallback).
pub(crate) fn os_random_u64() -> Option<u64> {
    use rand_core::RngCore;
    let mut b = [0u8; 8];
    rand_core::OsRng
        .try_fill_bytes(&mut b)
        .ok()
        .map(|()| u64::from_le_bytes(b))
}
