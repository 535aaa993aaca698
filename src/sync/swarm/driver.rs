//! The transfer driver: turns the [`Picker`]'s decisions into requests on
//! [`Source`]s and their verified records into the store's writer.
//!
//! One task per request in flight: it asks its source for the run, hands each
//! record to the writer ([`RecordSink`], which re-hashes before it stores) and
//! reports it to the driver loop, in order, over one channel. The loop feeds the
//! picker (records, completions, failures), ticks it every [`TICK`] (stalls,
//! snubs), starts the requests it assigns and cancels the ones it cancels. It ends
//! when every run has landed, or with [`SwarmError::NoSourceLeft`] when the picker
//! is stuck — at once when no partial seed is left, after [`PARTIAL_SEED_WAIT`]
//! when one is (it may yet announce the missing runs) — what landed stays: a
//! re-run asks only for the rest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::store::ObjectId;
use crate::sync::land::RecordSink;
use crate::sync::wire::Run;

use super::availability::{Availability, RunSet};
pub use super::error::SwarmError;
use super::picker::{Picker, PickerConfig, RunIx, SourceId, WantedRun};
use super::source::{Source, SourceError};
use super::stats::{PickerStats, SourceStats};

/// How often the driver ticks the picker (stall and snub checks), at the latest.
pub const TICK: Duration = Duration::from_millis(50);

/// How long a stuck transfer waits for a live partial seed (a source that
/// re-announces, [`Source::refresh`]) to announce what is missing before it stops
/// with [`SwarmError::NoSourceLeft`]: a downloader that is itself fetching may get
/// the runs from elsewhere soon. With no such source, a stuck transfer stops at once.
pub const PARTIAL_SEED_WAIT: Duration = Duration::from_secs(30);

/// One run of the plan with the ids of its chunks, in order (`wanted.run.count`
/// of them): what each record of the run is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    /// The run and its raw length.
    pub wanted: WantedRun,
    /// Its chunk ids.
    pub ids: Vec<ObjectId>,
}

/// What a planned transfer did, for `fetch --json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SwarmReport {
    /// Counters of the whole transfer.
    pub transfer: PickerStats,
    /// Per source, in the order given.
    pub sources: Vec<SourceStats>,
}

impl SwarmReport {
    /// Adds `other` (a later transfer of the same fetch, same sources in the same
    /// order) to this one.
    pub fn absorb(&mut self, other: SwarmReport) {
        let t = &mut self.transfer;
        let o = other.transfer;
        t.runs += o.runs;
        t.bytes += o.bytes;
        t.runs_done += o.runs_done;
        t.assigned += o.assigned;
        t.endgame_duplicates += o.endgame_duplicates;
        t.requeued += o.requeued;
        t.cancelled += o.cancelled;
        if self.sources.is_empty() {
            self.sources = other.sources;
            return;
        }
        for (s, o) in self.sources.iter_mut().zip(other.sources) {
            let busy_s = s.bytes.checked_div(s.mean_rate).unwrap_or(0);
            let busy_o = o.bytes.checked_div(o.mean_rate).unwrap_or(0);
            s.bytes += o.bytes;
            s.records += o.records;
            s.runs += o.runs;
            s.announced = o.announced;
            s.mean_rate = s.bytes.checked_div(busy_s + busy_o).unwrap_or(s.mean_rate);
            s.rate = o.rate;
            s.rtt_ms = o.rtt_ms;
            s.errors += o.errors;
            s.stalls += o.stalls;
            s.lies += o.lies;
            s.snubs += o.snubs;
            s.cancelled += o.cancelled;
            s.bad_data |= o.bad_data;
            s.last_error = o.last_error.or(s.last_error.take());
            s.dropped = s.dropped.take().or(o.dropped);
        }
    }
}

enum Event {
    Record {
        source: SourceId,
        run: RunIx,
        raw: u64,
        payload: u64,
    },
    Done {
        source: SourceId,
        run: RunIx,
    },
    Failed {
        source: SourceId,
        run: RunIx,
        error: SourceError,
    },
    WriterStopped,
    Availability {
        source: SourceId,
        result: Result<Availability, SourceError>,
    },
}

/// Fetches `plan` from `sources` into `sink`; `on_record(raw, payload)` is
/// called for each record landed (raw and as-sent bytes), for progress.
pub async fn transfer(
    plan: Vec<PlannedRun>,
    sources: &[Arc<dyn Source>],
    sink: &RecordSink,
    config: PickerConfig,
    on_record: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<SwarmReport, SwarmError> {
    let wanted: Arc<[WantedRun]> = plan.iter().map(|p| p.wanted).collect();
    let mut picker = Picker::with_config(wanted.to_vec(), config);
    for src in sources {
        let now = Instant::now();
        match src.availability(&wanted).await {
            Ok(avail) => {
                picker.add_source(src.name(), avail, now);
            }
            Err(e) => {
                let id = picker.add_source(src.name(), Availability::Runs(RunSet::new()), now);
                picker.drop_source(id, format!("availability: {e}"), now);
            }
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut cancels: HashMap<(SourceId, RunIx), oneshot::Sender<()>> = HashMap::new();
    let mut tasks = JoinSet::new();
    let mut last_tick = Instant::now();
    // Per source: when to ask its availability again (partial seeds), unless a
    // question is out.
    let mut refresh_at: Vec<Option<Instant>> = sources
        .iter()
        .map(|s| s.refresh().map(|d| Instant::now() + d))
        .collect();
    // Whether anything happened since the last assignment that can free budget or
    // work: completions, failures, cancels, announcements, ticks (not single
    // records, so a long transfer does not rescan the pool per record).
    let mut changed = true;
    // Since when the picker has been stuck with a partial seed left to wait for.
    let mut stuck_since: Option<Instant> = None;
    let result = loop {
        let assigned = if changed {
            picker.next_requests(Instant::now())
        } else {
            Vec::new()
        };
        for a in assigned {
            let p = &plan[a.run.0];
            let skip = a.want.start.saturating_sub(p.wanted.run.start) as usize;
            let ids: Vec<ObjectId> = p
                .ids
                .iter()
                .skip(skip)
                .take(a.want.count as usize)
                .copied()
                .collect();
            let (stop, stopped) = oneshot::channel();
            cancels.insert((a.source, a.run), stop);
            tasks.spawn(fetch_run(
                sources[a.source.0].clone(),
                a.source,
                a.run,
                a.want,
                ids,
                sink.clone(),
                tx.clone(),
                stopped,
            ));
        }
        if picker.is_done() {
            break Ok(());
        }
        let give_up = if picker.stuck() {
            let now = Instant::now();
            let waiting = (0..sources.len())
                .any(|i| sources[i].refresh().is_some() && picker.is_live(SourceId(i)));
            let since = *stuck_since.get_or_insert(now);
            !waiting || now.saturating_duration_since(since) >= PARTIAL_SEED_WAIT
        } else {
            stuck_since = None;
            false
        };
        if give_up {
            let (runs, bytes) = picker.left();
            let sources = picker.source_stats(Instant::now());
            break Err(SwarmError::NoSourceLeft {
                runs,
                bytes,
                sources,
            });
        }
        let event = tokio::select! {
            ev = rx.recv() => ev,
            _ = tokio::time::sleep(TICK) => None,
        };
        let now = Instant::now();
        let mut to_cancel = Vec::new();
        changed = !matches!(event, Some(Event::Record { .. }));
        match event {
            Some(Event::Record {
                source,
                run,
                raw,
                payload,
            }) => {
                picker.on_record(source, run, raw, now);
                on_record(raw, payload);
            }
            Some(Event::Done { source, run }) => {
                cancels.remove(&(source, run));
                to_cancel = picker.on_done(source, run, now);
            }
            Some(Event::Failed { source, run, error }) => {
                cancels.remove(&(source, run));
                tracing::info!(
                    source = sources[source.0].name(),
                    "chunk run failed: {error}"
                );
                to_cancel = match error.failure() {
                    Some(f) => picker.on_failed(source, run, f, now),
                    None => picker.on_bad_data(source, &error.to_string(), now),
                };
            }
            Some(Event::WriterStopped) => break Err(SwarmError::WriterStopped),
            Some(Event::Availability { source, result }) => {
                let src = &sources[source.0];
                refresh_at[source.0] = src.refresh().map(|d| now + d);
                to_cancel = match result {
                    Ok(avail) => {
                        picker.set_availability(source, avail);
                        Vec::new()
                    }
                    Err(e) => picker.drop_source(source, format!("availability: {e}"), now),
                };
            }
            None => {}
        }
        for (i, at) in refresh_at.iter_mut().enumerate() {
            if at.is_some_and(|t| t <= now) {
                *at = None; // until the answer
                let (src, wanted, tx) = (sources[i].clone(), wanted.clone(), tx.clone());
                tasks.spawn(async move {
                    let result = src.availability(&wanted).await;
                    let _ = tx.send(Event::Availability {
                        source: SourceId(i),
                        result,
                    });
                });
            }
        }
        if now.saturating_duration_since(last_tick) >= TICK {
            to_cancel.extend(picker.tick(now));
            last_tick = now;
            changed = true;
        }
        for c in to_cancel {
            if let Some(stop) = cancels.remove(&(c.source, c.run)) {
                let _ = stop.send(());
            }
        }
        while let Some(joined) = tasks.try_join_next() {
            if let Err(e) = joined {
                tracing::warn!("chunk run task: {e}");
            }
        }
    };
    // Every request still running is a loser (or the transfer failed): stop them
    // before the caller lands, so no record is queued after.
    for (_, stop) in cancels.drain() {
        let _ = stop.send(());
    }
    tasks.shutdown().await;
    // Records the tasks queued before they stopped landed: count them.
    drop(tx);
    while let Ok(event) = rx.try_recv() {
        if let Event::Record {
            source,
            run,
            raw,
            payload,
        } = event
        {
            picker.on_record(source, run, raw, Instant::now());
            on_record(raw, payload);
        }
    }
    let result = match result {
        Err(SwarmError::NoSourceLeft { runs, bytes, .. }) => Err(SwarmError::NoSourceLeft {
            runs,
            bytes,
            sources: picker.source_stats(Instant::now()),
        }),
        other => other,
    };
    result.map(|()| SwarmReport {
        transfer: picker.stats().clone(),
        sources: picker.source_stats(Instant::now()),
    })
}

/// One request: the records of `want` from `src` into `sink`, each reported on
/// `tx`; stops early when `stop` fires.
#[allow(clippy::too_many_arguments)]
async fn fetch_run(
    src: Arc<dyn Source>,
    source: SourceId,
    run: RunIx,
    want: Run,
    ids: Vec<ObjectId>,
    sink: RecordSink,
    tx: mpsc::UnboundedSender<Event>,
    mut stop: oneshot::Receiver<()>,
) {
    let fail = |error| Event::Failed { source, run, error };
    let mut stream = tokio::select! {
        s = src.fetch(want, ids) => match s {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.send(fail(e));
                return;
            }
        },
        _ = &mut stop => return,
    };
    loop {
        let next = tokio::select! {
            r = stream.next_record() => Some(r),
            _ = &mut stop => None,
        };
        let Some(next) = next else {
            stream.cancel();
            return;
        };
        match next {
            Ok(Some(rec)) => {
                let raw = u64::from(rec.raw_len);
                let payload = rec.payload.len() as u64;
                if sink.put(rec).await.is_err() {
                    let _ = tx.send(Event::WriterStopped);
                    return;
                }
                let _ = tx.send(Event::Record {
                    source,
                    run,
                    raw,
                    payload,
                });
            }
            Ok(None) => {
                let _ = tx.send(Event::Done { source, run });
                return;
            }
            Err(e) => {
                let _ = tx.send(fail(e));
                return;
            }
        }
    }
}
