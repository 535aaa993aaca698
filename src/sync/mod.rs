//! Peer-to-peer sync over QUIC (`store-format.md` § *Sync protocol*).
//!
//! Layering: this module moves objects and chunks between stores and knows nothing of
//! merge rules; `vcs` decides what to do with fetched refs.
//!
//! * [`tls`] — TLS certificates bound to the machine's ed25519 key, and verifiers
//!   that pin the peer's key (no certificate authority).
//! * [`transport`] — quinn endpoints on tokio, ALPN `gadn/1`, flow-control windows
//!   sized for bulk transfer.
//! * [`wire`] — length-prefixed CBOR messages with per-message size bounds.
//! * [`members`] — the repository's signed member list and the local peer table.
//! * [`discovery`] — LAN announcements on a multicast group (`store-format.md` § 16).
//! * [`graph`], [`answer`], [`server`] — the serving side: history difference,
//!   answering requests from a store, the accept loop and receiving pushes.
//! * [`fetch`], [`land`], [`client`], [`remote`] — the fetching side: what to ask
//!   for, landing verified records and refs, fetch/push/hello, naming peers.

pub mod answer;
pub mod client;
pub mod discovery;
mod error;
pub mod fetch;
pub mod graph;
pub mod land;
pub mod members;
pub mod rate;
pub mod remote;
pub mod server;
pub mod tls;
pub mod transport;
pub mod wire;

#[cfg(test)]
mod tests;

pub use error::SyncError;
