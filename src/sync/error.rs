//! [`SyncError`]: what can go wrong talking to a peer.

use crate::store::db::DbError;
use crate::store::{ObjectId, StoreError};

use super::graph::GraphError;
use super::members::MembersError;
use super::transport::TransportError;
use super::wire::WireError;

/// Returned by the sync operations.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Connecting, or the QUIC connection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A stream broke or the peer sent a malformed frame.
    #[error("talking to {peer}: {source}")]
    Wire {
        /// Who (`name` or address).
        peer: String,
        /// What.
        #[source]
        source: WireError,
    },
    /// The peer broke the protocol: an unexpected message, a record not asked for,
    /// a repository that is not this one.
    #[error("{peer} broke the protocol: {reason}")]
    Protocol {
        /// Who.
        peer: String,
        /// What it did.
        reason: String,
    },
    /// The peer sent data that does not hash to the id it claims, or an object that
    /// breaks a structural rule (a hostile path in a tree). It was discarded and the
    /// connection closed.
    #[error("{peer} sent bad data ({id}): {reason}; discarded, disconnected")]
    BadData {
        /// Who.
        peer: String,
        /// The record.
        id: ObjectId,
        /// What is wrong.
        reason: String,
    },
    /// The peer answered a request with an error.
    #[error("{peer} refused: {message} ({code})")]
    Refused {
        /// Who.
        peer: String,
        /// Its error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The peer does not have a record it should (its store is incomplete).
    #[error("{peer} does not have {id}, which its refs reach")]
    PeerMissing {
        /// Who.
        peer: String,
        /// The record.
        id: ObjectId,
    },
    /// The peer holds records that were asked for, but its own copies are damaged:
    /// it said so ([`Message::Damaged`](super::wire::Message::Damaged)) instead of
    /// sending them. Fetching again from it cannot help until it is repaired.
    #[error(
        "the peer's store is damaged ({count} record(s) at {peer} fail their check, \
         e.g. {first}: {reason}); ask its owner to run `gadn fsck --repair`, or fetch \
         from another peer"
    )]
    PeerDamaged {
        /// Who.
        peer: String,
        /// Damaged records it named in the answers read so far.
        count: usize,
        /// The first of them.
        first: ObjectId,
        /// What the peer said is wrong with it.
        reason: String,
    },
    /// Reading or writing the local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading or writing local state failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The member list could not be read, changed or accepted.
    #[error(transparent)]
    Members(#[from] MembersError),
    /// Computing the history to send failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A planned transfer from several sources could not finish: no source is
    /// left that has the missing chunks.
    #[error(transparent)]
    Swarm(#[from] super::swarm::SwarmError),
    /// A local problem that is none of the above (a thread died, bad arguments).
    #[error("{0}")]
    Local(String),
}
