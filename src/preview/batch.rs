//! Previews of many files at once: every file of a commit (`gadn preview --all`, and
//! after `gadn commit`), generated in parallel and recorded in batches.
//!
//! Files are taken once per content (the same texture at ten paths is previewed
//! once) and skipped when the current generator's preview is already recorded,
//! so re-running is cheap and a preview made by a teammate is never made again.
//! Generation runs on `settings.jobs` threads with no lock held; each batch of
//! results is recorded under the store's write lock, held only while writing.

use std::collections::HashSet;
use std::sync::Arc;

use rayon::prelude::*;

use super::recorded::{record, Job, Made, Planner};
use super::PreviewError;
use crate::store::flat::FlatEntry;
use crate::store::{ObjectId, Store};

/// Most previews recorded in one pack.
const RECORD_FILES: usize = 1024;
/// Item bytes held in memory before they are recorded.
const RECORD_BYTES: usize = 64 << 20;

/// What [`preview_files`] did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    /// Distinct contents looked at.
    pub files: usize,
    /// Previews made and recorded.
    pub made: usize,
    /// Of those, recorded failures.
    pub failed: usize,
    /// Contents whose preview was already recorded.
    pub existing: usize,
    /// Contents not present locally (nothing recorded).
    pub absent: usize,
    /// `(path, reason)` of each failure, recorded or not.
    pub failures: Vec<(String, String)>,
}

/// The files below a commit's tree as jobs, one per distinct content.
pub fn jobs_for_tree(entries: &[FlatEntry]) -> Vec<Job> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .filter(|e| seen.insert(e.id))
        .map(|e| Job {
            file: e.id,
            path: e.path.clone(),
        })
        .collect()
}

/// Makes and records the previews of `jobs` that are not recorded yet (all of them
/// with `force`). `progress(done, total)` is called after each file.
pub fn preview_files(
    store: &mut Store,
    planner: &Planner,
    jobs: Vec<Job>,
    force: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Summary, PreviewError> {
    let read = Arc::new(Store::open(store.dir())?);
    let mut summary = Summary::default();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut todo = Vec::new();
    for job in jobs {
        if !seen.insert(job.file) {
            continue;
        }
        summary.files += 1;
        if !force {
            if let Some((_, p)) = planner.recorded(&read, &job.file, &job.path)? {
                if !planner.is_stale(&read, &p) {
                    summary.existing += 1;
                    continue;
                }
            }
        }
        todo.push(job);
    }
    let total = todo.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(planner.settings().jobs)
        .thread_name(|i| format!("gadn-preview-pool-{i}"))
        .build()
        .map_err(|e| PreviewError::Io {
            path: "<thread pool>".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let batch = planner.settings().jobs * 4;
    let mut pending: Vec<Made> = Vec::new();
    let mut pending_bytes = 0usize;
    let chunks: Vec<&[Job]> = todo.chunks(batch.max(1)).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let made: Vec<Made> = pool.install(|| {
            chunk
                .par_iter()
                .map(|job| {
                    let m = planner.make(&read, job.clone());
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(n, total);
                    m
                })
                .collect()
        });
        pending_bytes += made.iter().map(Made::item_bytes).sum::<usize>();
        pending.extend(made);
        // Record in batches large enough that a big tree makes few packs, small
        // enough that the items held in memory stay bounded.
        let last = i + 1 == chunks.len();
        if last || pending.len() >= RECORD_FILES || pending_bytes >= RECORD_BYTES {
            let (lock, _) = store.lock()?;
            let recorded = record(store, &lock, std::mem::take(&mut pending))?;
            // Housekeeping as after a commit; a failure loses nothing.
            let _ = store.consolidate_packs(&lock);
            drop(lock);
            pending_bytes = 0;
            tally(&mut summary, recorded);
        }
    }
    Ok(summary)
}

/// Adds what [`record`] did to `summary`.
fn tally(summary: &mut Summary, recorded: Vec<super::recorded::Recorded>) {
    for r in recorded {
        match (&r.preview, r.error) {
            (Some(_), None) => summary.made += 1,
            (Some(_), Some(e)) => {
                summary.made += 1;
                summary.failed += 1;
                summary.failures.push((r.job.path, e));
            }
            (None, e) => {
                summary.absent += 1;
                summary
                    .failures
                    .push((r.job.path, e.unwrap_or_else(|| "not present".into())));
            }
        }
    }
}
