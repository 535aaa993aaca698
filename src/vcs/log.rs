//! `log`: walking history newest first.

use std::collections::{BinaryHeap, HashMap, HashSet};

use super::{Repo, VcsError};
use crate::store::object::Commit;
use crate::store::ObjectId;

/// One commit of a history listing.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Its id.
    pub id: ObjectId,
    /// The commit.
    pub commit: Commit,
}

impl Repo {
    /// Commits reachable from `start`, newest (by committer time) first, at most `limit`.
    pub fn log(&self, start: ObjectId, limit: Option<usize>) -> Result<Vec<LogEntry>, VcsError> {
        let mut heap = BinaryHeap::new();
        let mut seen = HashSet::new();
        let mut loaded = HashMap::new();
        let first = self.store().commit(&start)?;
        heap.push((first.committer.time, start));
        loaded.insert(start, first);
        seen.insert(start);
        let mut out = Vec::new();
        while let Some((_, id)) = heap.pop() {
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            let Some(commit) = loaded.remove(&id) else {
                continue;
            };
            for p in &commit.parents {
                if seen.insert(*p) {
                    let c = self.store().commit(p)?;
                    heap.push((c.committer.time, *p));
                    loaded.insert(*p, c);
                }
            }
            out.push(LogEntry { id, commit });
        }
        Ok(out)
    }
}
