//! The bounds every message keeps, checked by [`encode`](super::encode) before
//! sending and again on every decoded message.

#[allow(unused_imports)]
use super::*;

pub(super) fn bound(
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
pub(super) fn strings(
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
pub(super) fn check(msg: &Message) -> Result<(), WireError> {
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
        Message::Damaged { id: _, reason } => {
            bound(m, "reason", reason.len(), MAX_ERROR_MESSAGE)?;
        }
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
        Message::GetHave { files } => bound(m, "files", files.len(), MAX_HAVE_FILES)?,
        Message::Have { files } => {
            bound(m, "files", files.len(), MAX_HAVE_FILES)?;
            let spans: usize = files.iter().map(|f| f.held.len()).sum();
            bound(m, "files[].held", spans, MAX_HAVE_SPANS)?;
            for f in files {
                let mut next = 0u64;
                for s in &f.held {
                    let end = s.start.checked_add(u64::from(s.count));
                    match end {
                        Some(end) if s.count > 0 && s.start >= next && end <= f.chunks => {
                            next = end
                        }
                        _ => {
                            return Err(WireError::BadHave {
                                file: f.file,
                                start: s.start,
                                count: s.count,
                                chunks: f.chunks,
                            })
                        }
                    }
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
