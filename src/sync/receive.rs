//! The receiving side of a push (`store-format.md` § 15): check each ref update, fetch
//! the pushed history and the pusher's lock records back from the pusher over the
//! same connection, land them and move the refs. The server calls it; it needs
//! nothing of the pushing side.

use std::path::PathBuf;

use crate::store::db::{Expect, RefTarget};
use crate::store::{ObjectId, Store};

use super::error::SyncError;
use super::fetch::Fetcher;
use super::history::history;
use super::land::{Lander, Plan, RefChange};
use super::transport::Connection;
use super::wire::RefUpdate;

/// What a receiver needs to take a push.
#[derive(Debug, Clone)]
pub struct PushRequest {
    /// The updates asked for.
    pub updates: Vec<RefUpdate>,
    /// The receiving store.
    pub store_dir: PathBuf,
}

/// The receiving side of a push: checks each update, fetches the pushed history
/// and the pusher's current lock records (holds and releases; also when no update
/// is accepted) from the pusher over `conn`, lands the locks by the lock rule
/// (refusing records whose signer may not write), then moves the refs
/// (fast-forward only unless forced; never the checked-out branch). Returns per
/// ref `None` (done) or the reason it was refused.
pub async fn receive_push(
    conn: &Connection,
    req: PushRequest,
) -> Result<Vec<(String, Option<String>)>, SyncError> {
    let peer = conn.peer.short();
    let store = Store::open(&req.store_dir)?;
    let checked_out = match store.db().read_ref("HEAD")? {
        Some(RefTarget::Symbolic(t)) => Some(t),
        _ => None,
    };
    drop(store);
    let mut results: Vec<(String, Option<String>)> = Vec::new();
    let mut accepted = Vec::new();
    for u in &req.updates {
        let refusal = if !(u.name.starts_with("refs/heads/") || u.name.starts_with("refs/tags/")) {
            Some("only branches (refs/heads/) and tags (refs/tags/) can be pushed".to_string())
        } else if let Err(e) = crate::store::db::check_ref_name(&u.name) {
            Some(e.to_string())
        } else if checked_out.as_deref() == Some(u.name.as_str()) {
            Some("it is checked out on the receiving peer (they can pull from you, or push to another branch)".to_string())
        } else {
            None
        };
        match refusal {
            Some(r) => results.push((u.name.clone(), Some(r))),
            None => accepted.push(u.clone()),
        }
    }
    let lander = Lander::start(&req.store_dir)?;
    let mut f = Fetcher::new(
        conn.inner.clone(),
        peer.clone(),
        &req.store_dir,
        lander.sink(),
        None,
    )?;
    let fetched = async {
        // The pusher lists its lock records as any peer does (`ListRefs`); one that
        // refuses to list pushes no locks.
        let locks = match f.peer_lock_ids().await {
            Ok(ids) => f.lock_records(&ids).await?,
            Err(SyncError::Refused { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        if !accepted.is_empty() {
            let haves = f.local_tips()?;
            let wants: Vec<ObjectId> = accepted.iter().map(|u| u.new).collect();
            let ids = history(&conn.inner, &peer, wants, haves).await?;
            f.closure_of(&ids).await?;
        }
        Ok(locks)
    }
    .await;
    let previews = std::mem::take(&mut f.preview_rows);
    drop(f);
    let locks = match fetched {
        Ok(locks) => locks,
        Err(e) => {
            let _ = lander.land(Plan::default()).await;
            return Err(e);
        }
    };
    let plan = Plan {
        locks,
        refs: accepted
            .iter()
            .map(|u| RefChange {
                name: u.name.clone(),
                expect: if u.force {
                    Expect::Any
                } else {
                    match u.old {
                        Some(id) => Expect::Value(id),
                        None => Expect::Absent,
                    }
                },
                new: Some(u.new),
                fast_forward_only: !u.force && u.name.starts_with("refs/heads/"),
            })
            .collect(),
        why: format!("push from {peer}"),
        previews,
        ..Plan::default()
    };
    let landed = lander.land(plan).await?;
    if landed.locks_changed > 0 || landed.locks_refused > 0 {
        tracing::info!(
            peer = %peer,
            changed = landed.locks_changed,
            refused = landed.locks_refused,
            "lock records pushed"
        );
    }
    results.extend(landed.refs);
    Ok(results)
}
