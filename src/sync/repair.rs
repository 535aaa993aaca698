//! Asking a peer for exactly the records a damaged store needs, for
//! `gadn fsck --repair` (`store-format.md` § 15, *Repair*).
//!
//! The request is the ordinary [`Message::GetObjects`]: it names records by id, of
//! any kind, chunks included, so repair needs no message of its own. What differs
//! from a fetch is what the answers mean: a [`Message::Missing`] or
//! [`Message::Damaged`] only says this peer cannot help with that record (another
//! may), while a record that does not hash to its id is bad data, as always, and
//! ends the exchange with this peer.

use quinn::Connection;

use crate::store::raw::RawRecord;
use crate::store::ObjectId;

use super::error::SyncError;
use super::fetch::{next, record_of, request, OBJECTS_PER_REQUEST};
use super::wire::{Message, MAX_IDS};

/// What one peer answered for the ids asked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answered {
    /// Records received and verified (each handed to the caller).
    pub received: Vec<ObjectId>,
    /// Records the peer does not have.
    pub missing: Vec<ObjectId>,
    /// Records the peer has, damaged at its end, with what it said is wrong.
    pub damaged: Vec<(ObjectId, String)>,
}

/// Asks `peer` for the records `ids`, in requests of at most
/// [`OBJECTS_PER_REQUEST`] ids, one at a time so that at most one record is held in
/// memory. Every record received is checked to be the one asked for and re-hashed
/// ([`RawRecord::check`]) before `on_record` sees it; the first that fails ends the
/// exchange with [`SyncError::BadData`]. An error from `on_record` ends it too.
pub async fn ask_for(
    conn: &Connection,
    peer: &str,
    ids: &[ObjectId],
    on_record: &mut dyn FnMut(RawRecord) -> Result<(), SyncError>,
) -> Result<Answered, SyncError> {
    let mut answered = Answered::default();
    for batch in ids.chunks(OBJECTS_PER_REQUEST.min(MAX_IDS)) {
        let msg = Message::GetObjects {
            ids: batch.to_vec(),
        };
        let mut recv = request(conn, peer, &msg).await?;
        for id in batch {
            let rec = match record_of(next(&mut recv, peer).await?, id, peer) {
                Ok(rec) => rec,
                Err(SyncError::PeerMissing { id, .. }) => {
                    answered.missing.push(id);
                    continue;
                }
                Err(SyncError::PeerDamaged { first, reason, .. }) => {
                    answered.damaged.push((first, reason));
                    continue;
                }
                Err(e) => return Err(e),
            };
            rec.check().map_err(|e| SyncError::BadData {
                peer: peer.to_string(),
                id: *id,
                reason: e.to_string(),
            })?;
            on_record(rec)?;
            answered.received.push(*id);
        }
        match next(&mut recv, peer).await? {
            Message::End {} => {}
            other => {
                return Err(SyncError::Protocol {
                    peer: peer.to_string(),
                    reason: format!("sent {} after the records", other.kind_name()),
                })
            }
        }
    }
    Ok(answered)
}
