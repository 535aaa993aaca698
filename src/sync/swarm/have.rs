//! Partial seeds: what a store holds of some files as spans of chunks
//! ([`Message::Have`], capability `have`; `store-format.md` §§ 14–15), and what
//! such an answer means for a plan's runs.

use std::collections::HashMap;

use crate::store::{ObjectId, Store};
use crate::sync::answer::file_chunk_ids;
use crate::sync::wire::{FileHave, Message, Span, MAX_HAVE_SPANS, MAX_RUN_CHUNKS};

use super::availability::{Availability, RunSet};
use super::ids::RunIx;
use super::picker::WantedRun;

/// The answer to [`Message::GetHave`] from `store`: per file, its chunk count and
/// the spans of its chunks stored here (a file whose chunk list is not here: 0
/// chunks, no span). At most [`MAX_HAVE_SPANS`] spans in all: past that, less is
/// claimed than held, which is safe.
pub fn answer(store: &Store, files: &[ObjectId]) -> Message {
    let mut left = MAX_HAVE_SPANS;
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let Ok(ids) = file_chunk_ids(store, file) else {
            out.push(FileHave {
                file: *file,
                chunks: 0,
                held: Vec::new(),
            });
            continue;
        };
        let mut held: Vec<Span> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if !store.contains(id) {
                continue;
            }
            match held.last_mut() {
                Some(s) if s.start + u64::from(s.count) == i as u64 && s.count < MAX_RUN_CHUNKS => {
                    s.count += 1
                }
                _ if left == 0 => break,
                _ => {
                    left -= 1;
                    held.push(Span {
                        start: i as u64,
                        count: 1,
                    });
                }
            }
        }
        out.push(FileHave {
            file: *file,
            chunks: ids.len() as u64,
            held,
        });
    }
    Message::Have { files: out }
}

/// Why a [`Message::Have`] does not fit the question (beyond what the codec
/// checks: order and bounds of spans).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HaveError {
    /// It names a file that was not asked about.
    #[error("it names {0}, which was not asked about")]
    NotAsked(ObjectId),
    /// It names a file twice.
    #[error("it names {0} twice")]
    Twice(ObjectId),
}

/// The runs of `wanted` wholly inside the spans of `have` (answers to the files
/// `asked`).
pub fn availability(
    wanted: &[WantedRun],
    asked: &[ObjectId],
    have: Vec<FileHave>,
) -> Result<Availability, HaveError> {
    let mut by_file: HashMap<ObjectId, Vec<Span>> = HashMap::new();
    for f in have {
        if !asked.contains(&f.file) {
            return Err(HaveError::NotAsked(f.file));
        }
        if by_file.insert(f.file, f.held).is_some() {
            return Err(HaveError::Twice(f.file));
        }
    }
    let mut set = RunSet::new();
    for (i, w) in wanted.iter().enumerate() {
        let Some(spans) = by_file.get(&w.run.file) else {
            continue;
        };
        // The span that starts at or before the run's first chunk (spans are
        // sorted and disjoint, checked on decode) must reach past its last.
        let at = spans.partition_point(|s| s.start <= w.run.start);
        let covered = at > 0 && {
            let s = spans[at - 1];
            s.start + u64::from(s.count) >= w.run.start + u64::from(w.run.count)
        };
        if covered {
            set.insert(RunIx(i));
        }
    }
    Ok(Availability::Runs(set))
}
