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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::object::{Person, Tree};

    fn person(time: i64) -> Person {
        Person {
            name: "Ada".into(),
            email: "ada@example.org".into(),
            time,
            tz_offset_min: 0,
        }
    }

    #[test]
    fn history_is_newest_first_each_commit_once_and_limited() {
        let dir = tempfile::tempdir().unwrap();
        let mut repo = Repo::init(dir.path(), ChunkParams::DEFAULT).unwrap();
        let (lock, _) = repo.store_mut().lock().unwrap();
        let mut w = repo.store_mut().writer(&lock);
        let tree = w.put_tree(&Tree { entries: vec![] }).unwrap();
        let mut put = |parents: Vec<ObjectId>, msg: &str, t: i64| {
            w.put_commit(&Commit {
                tree,
                parents,
                author: person(t),
                committer: person(t),
                message: msg.into(),
                notes: Vec::new(),
                signature: None,
            })
            .unwrap()
        };
        // A diamond: both sides reach the root, which is listed once; the newer
        // side comes first although it is the second parent.
        let a = put(vec![], "A", 100);
        let b = put(vec![a], "B", 200);
        let c = put(vec![a], "C", 300);
        let m = put(vec![b, c], "M", 400);
        w.finish().unwrap();
        drop(lock);
        let ids = |start, limit| -> Vec<ObjectId> {
            repo.log(start, limit)
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect()
        };
        assert_eq!(ids(m, None), vec![m, c, b, a]);
        assert_eq!(ids(m, Some(2)), vec![m, c]);
        assert_eq!(ids(m, Some(0)), Vec::<ObjectId>::new());
        assert_eq!(ids(b, None), vec![b, a]);
        let log = repo.log(c, None).unwrap();
        assert_eq!(log[0].commit.message, "C");
        assert_eq!(log[1].commit.parents, Vec::<ObjectId>::new());
        assert!(matches!(
            repo.log(ObjectId::of_chunk(b"nothing"), None),
            Err(VcsError::Store(_))
        ));
    }
}
