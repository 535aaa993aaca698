//! Asking a peer for history: the commits reachable from some tips and not from
//! others (`Commits` → `CommitIds`, `store-format.md` § 15). Both fetching and
//! receiving a push ask it.

use crate::store::ObjectId;

use super::answer::MAX_HISTORY;
use super::error::SyncError;
use super::fetch::{next, request};
use super::wire::{Message, MAX_IDS};

/// Asks for the history reachable from `wants` and not from `haves`.
pub(super) async fn history(
    conn: &quinn::Connection,
    peer: &str,
    wants: Vec<ObjectId>,
    haves: Vec<ObjectId>,
) -> Result<Vec<ObjectId>, SyncError> {
    if wants.is_empty() {
        return Ok(Vec::new());
    }
    let haves: Vec<ObjectId> = haves.into_iter().take(MAX_IDS).collect();
    let msg = Message::Commits {
        wants,
        haves,
        limit: MAX_HISTORY as u32,
    };
    let mut recv = request(conn, peer, &msg).await?;
    let mut out = Vec::new();
    loop {
        match next(&mut recv, peer).await? {
            Message::CommitIds { ids, done } => {
                out.extend(ids);
                if out.len() > MAX_HISTORY {
                    return Err(SyncError::Protocol {
                        peer: peer.into(),
                        reason: "listed more history than asked for".into(),
                    });
                }
                if done {
                    return Ok(out);
                }
            }
            other => {
                return Err(SyncError::Protocol {
                    peer: peer.into(),
                    reason: format!("answered the history request with {}", other.kind_name()),
                })
            }
        }
    }
}
