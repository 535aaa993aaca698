//! The picker: which source fetches which run, and when work moves elsewhere.
//!
//! Pure and synchronous: no I/O, no clock of its own. The caller (the transfer
//! driver) passes the time into every call and turns the picker's answers
//! ([`Assign`], [`Cancel`]) into requests on its sources, so the unit tests drive
//! it with a simulated clock and simulated sources (`tests_picker.rs`).
//!
//! # Units of work
//!
//! The picker plans over *runs* `(file, first chunk, count)` with their byte
//! length, never single chunks: the driver cuts a file's missing chunks into runs
//! of about a request's worth of bytes, so a 20 GiB file (≈330,000 chunks) is
//! ≈10,000 runs of 2 MiB. Per run the picker keeps one small state (≈100 bytes)
//! and one bit per source (its availability); it holds no chunk id at all.
//!
//! # Order: rarest first, then plan order — or spread, once a partial seed joins
//!
//! A run's rarity is the number of live sources that claim it and have not said
//! they lack it. Pending runs are kept sorted by `(rarity, order, plan index)`; a
//! source with room takes the first it holds.
//!
//! While every source is a full seed, `order` is 0, so within equal rarity the plan
//! index decides: the order the fetch reached the files, then chunk order within a
//! file — the order a streaming reader, a preview or the clone's prefill writer
//! consumes them, so the start of each file lands first and the prefill holds few
//! out-of-order chunks. Nothing is lost by it: full seeds gain nothing from any
//! other order.
//!
//! Once a source claims fewer than all runs (a partial seed: a downloader that
//! serves), the fetch is part of a swarm, and there in-order is what BitTorrent
//! avoids: every downloader would ask the origin for the same runs at the same
//! time, and they would have nothing to trade. So `order` becomes
//! [`spread_order`]: blocks of [`SPREAD_RUNS`] runs (16 MiB) in an order hashed
//! from a per-transfer salt ([`PickerConfig::spread_salt`], random per fetch),
//! plan order inside a block — BitTorrent's random choice among equals, kept
//! coarse so a reader still finds 16 MiB stretches in order.
//!
//! # Budget per source
//!
//! A source may have requests in flight while their bytes sum to less than its
//! budget: `bdp_factor × rate × rtt` (the bandwidth-delay product, doubled so the
//! pipe stays full while a request completes), at least `floor_bytes` (a new or
//! unmeasured source gets work at once) and at most `cap_bytes`. `rate` is an EWMA
//! (7/8 old, 1/8 new) of bytes per second over windows of `rate_window` while
//! the source has work; `rtt` an EWMA of the delay from assignment to first byte.
//! Work is pulled: a fast source finishes sooner and gets more, so bytes follow
//! rates. A source whose rate is below `1/snub_ratio` of the best is *snubbed* for
//! `snub_for`: one request at a time, ranked last; then its rate is forgotten and
//! it is measured afresh.
//!
//! # Failures
//!
//! * A request with no byte for `stall` is cancelled and goes back to the pool
//!   ([`Picker::tick`]); the source counts an error and is snubbed.
//! * A request that failed ([`Failure::Error`]) goes back to the pool; after
//!   `max_errors` errors the source is dropped. [`Failure::Gone`] drops it at once.
//! * A source that answers it lacks a run it claimed ([`Failure::Lacks`]) is never
//!   asked for that run again and is ranked below honest sources; after
//!   `max_lies` such answers it is dropped.
//! * A source that sent a record whose hash does not match ([`Picker::on_bad_data`])
//!   is banned for the rest of the transfer.
//!
//! Work that goes back to the pool keeps what already landed: records of a run
//! arrive in order, so the run shrinks to the chunks after the last one received.
//!
//! # Endgame
//!
//! When no run is left unassigned that a live source holds, a source with room is
//! also given runs in flight elsewhere (up to `endgame_copies` copies of a run,
//! the one with the most bytes left first). The first copy to complete wins and
//! the others come back as [`Cancel`]s. Outside the endgame a run is assigned
//! again only after its request failed, stalled or its source was dropped.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::sync::wire::Run;

use super::availability::{Availability, RunSet};
pub use super::ids::{RunIx, SourceId};
use super::stats::{PickerStats, SourceStats};

/// One run the transfer needs, with its length in bytes (raw chunk bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedRun {
    /// The chunks.
    pub run: Run,
    /// Their raw length in bytes.
    pub bytes: u64,
}

/// Runs of one block of the spread order (8 runs: 16 MiB): inside a block, plan
/// order.
pub const SPREAD_RUNS: usize = 8;

/// The place of run `i` among runs of equal rarity in the spread order: its block
/// ([`SPREAD_RUNS`]) hashed with `salt` (SplitMix64's finaliser), so fetchers with
/// different salts start on different blocks and each streams within its block.
pub fn spread_order(salt: u64, i: usize) -> u64 {
    let mut z = salt ^ (i / SPREAD_RUNS) as u64;
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The picker's knobs; [`PickerConfig::default`] is what fetches use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerConfig {
    /// A request with no byte for this long is cancelled and requeued (1 s).
    pub stall: Duration,
    /// Smallest budget in bytes in flight per source (8 MiB).
    pub floor_bytes: u64,
    /// Largest budget in bytes in flight per source (256 MiB).
    pub cap_bytes: u64,
    /// Budget = this × rate × rtt, between floor and cap (2).
    pub bdp_factor: u64,
    /// Rates are sampled over windows of this length (200 ms).
    pub rate_window: Duration,
    /// Snubbed when its rate × this is below the best source's rate (8).
    pub snub_ratio: u64,
    /// How long a snub lasts (5 s).
    pub snub_for: Duration,
    /// Most copies of one run in flight during the endgame (2).
    pub endgame_copies: usize,
    /// Errors (failed or stalled requests) after which a source is dropped (8).
    pub max_errors: u32,
    /// Runs claimed and then lacked after which a source is dropped (4).
    pub max_lies: u32,
    /// Salt of the spread order among runs of equal rarity once a partial seed
    /// joined ([`spread_order`]); the driver draws it at random per transfer (0 in
    /// the default, for reproducible tests).
    pub spread_salt: u64,
}

impl Default for PickerConfig {
    fn default() -> PickerConfig {
        PickerConfig {
            stall: Duration::from_secs(1),
            floor_bytes: 8 << 20,
            cap_bytes: 256 << 20,
            bdp_factor: 2,
            rate_window: Duration::from_millis(200),
            snub_ratio: 8,
            snub_for: Duration::from_secs(5),
            endgame_copies: 2,
            max_errors: 8,
            max_lies: 4,
            spread_salt: 0,
        }
    }
}

/// Ask `source` for `want`, the still-missing part of run `run`: it starts at
/// `want.start`, which is at or after the planned run's start (earlier chunks of
/// the run already landed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assign {
    /// Who.
    pub source: SourceId,
    /// Which run of the plan.
    pub run: RunIx,
    /// The chunks to request.
    pub want: Run,
    /// A duplicate of a run in flight elsewhere (the endgame).
    pub endgame: bool,
}

/// Stop the request of `run` at `source`: another copy won, it stalled, or the
/// source was dropped. Records that still arrive for it are ignored by the picker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancel {
    /// Who.
    pub source: SourceId,
    /// Which run.
    pub run: RunIx,
}

/// How a request ended without completing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The source answered it lacks (part of) a run it had claimed.
    Lacks,
    /// The request failed (a stream error, a refusal); the source may do better.
    Error(String),
    /// The source is unusable (its connection closed); drop it.
    Gone(String),
}

/// The state of one planned run.
#[derive(Debug)]
struct RunState {
    /// What is still missing of it (shrinks when a partial request is requeued).
    want: Run,
    /// Raw bytes still missing.
    bytes: u64,
    done: bool,
    /// Live sources that claim it and did not say they lack it.
    holders: u32,
    /// Sources it is in flight at.
    copies: Vec<SourceId>,
}

/// One request in flight at a source.
#[derive(Debug)]
struct InFlight {
    run: RunIx,
    /// Bytes asked for.
    bytes: u64,
    started: Instant,
    /// Last byte (or the start, before the first).
    active: Instant,
    got_records: u32,
    got_bytes: u64,
}

#[derive(Debug)]
struct SourceState {
    avail: Availability,
    /// Runs it claimed and then said it lacks.
    lacks: RunSet,
    inflight: Vec<InFlight>,
    /// Bytes per second (EWMA), once measured.
    rate: Option<u64>,
    /// First-byte delay (EWMA), once measured.
    rtt: Option<Duration>,
    window_start: Instant,
    window_bytes: u64,
    /// Since when it has had work in flight.
    busy_since: Option<Instant>,
    busy: Duration,
    snubbed_until: Option<Instant>,
    stats: SourceStats,
}

impl SourceState {
    fn live(&self) -> bool {
        self.stats.dropped.is_none()
    }

    fn holds(&self, ix: RunIx) -> bool {
        self.live() && self.avail.has(ix) && !self.lacks.contains(ix)
    }

    fn inflight_bytes(&self) -> u64 {
        self.inflight
            .iter()
            .map(|f| f.bytes - f.got_bytes.min(f.bytes))
            .sum()
    }

    /// Rank key: lower is better.
    fn rank(&self) -> (bool, u32, u32, std::cmp::Reverse<u64>) {
        (
            self.snubbed_until.is_some(),
            self.stats.lies,
            self.stats.errors,
            std::cmp::Reverse(self.rate.unwrap_or(0)),
        )
    }

    fn set_idle(&mut self, now: Instant) {
        if self.inflight.is_empty() {
            if let Some(since) = self.busy_since.take() {
                self.busy += now.saturating_duration_since(since);
            }
        }
    }
}

/// Plans one transfer: see the module docs.
#[derive(Debug)]
pub struct Picker {
    config: PickerConfig,
    runs: Vec<RunState>,
    /// Runs neither done nor in flight, by `(holders, order, index)`; `order` is 0
    /// (plan order) until a partial seed joins, then [`spread_order`]'s.
    pending: BTreeSet<(u32, u64, usize)>,
    /// The salt of the spread order, once a partial seed joined.
    spread: Option<u64>,
    sources: Vec<SourceState>,
    stats: PickerStats,
}

impl Picker {
    /// A picker for `runs`, in plan order (file order, then chunk order), with the
    /// default configuration.
    pub fn new(runs: Vec<WantedRun>) -> Picker {
        Picker::with_config(runs, PickerConfig::default())
    }

    /// [`Picker::new`] with `config`.
    pub fn with_config(runs: Vec<WantedRun>, config: PickerConfig) -> Picker {
        let pending = (0..runs.len()).map(|i| (0, 0, i)).collect();
        let runs: Vec<RunState> = runs
            .into_iter()
            .map(|w| RunState {
                want: w.run,
                bytes: w.bytes,
                done: false,
                holders: 0,
                copies: Vec::new(),
            })
            .collect();
        let stats = PickerStats {
            runs: runs.len() as u64,
            bytes: runs.iter().map(|r| r.bytes).sum(),
            ..PickerStats::default()
        };
        Picker {
            config,
            runs,
            pending,
            spread: None,
            sources: Vec::new(),
            stats,
        }
    }

    /// Adds a source named `name` that claims `avail`; it gets work on the next
    /// [`Picker::next_requests`].
    pub fn add_source(&mut self, name: &str, avail: Availability, now: Instant) -> SourceId {
        let id = SourceId(self.sources.len());
        self.sources.push(SourceState {
            avail,
            lacks: RunSet::new(),
            inflight: Vec::new(),
            rate: None,
            rtt: None,
            window_start: now,
            window_bytes: 0,
            busy_since: None,
            busy: Duration::ZERO,
            snubbed_until: None,
            stats: SourceStats::named(name),
        });
        let mut announced = 0;
        for i in 0..self.runs.len() {
            if self.sources[id.0].holds(RunIx(i)) {
                self.add_holders(i, 1);
                announced += 1;
            }
        }
        self.sources[id.0].stats.announced = announced;
        self.spread_if_partial(announced);
        id
    }

    /// Replaces what `source` claims (a partial seed's announcement as its own
    /// fetch goes on: BitTorrent's HAVE). Runs it said it lacks stay excluded;
    /// its requests in flight stay.
    pub fn set_availability(&mut self, source: SourceId, avail: Availability) {
        let Some(s) = self.sources.get(source.0) else {
            return;
        };
        if !s.live() {
            return;
        }
        let before: Vec<bool> = (0..self.runs.len()).map(|i| s.holds(RunIx(i))).collect();
        self.sources[source.0].avail = avail;
        let mut announced = 0;
        for (i, held) in before.into_iter().enumerate() {
            let now_held = self.sources[source.0].holds(RunIx(i));
            announced += u64::from(now_held);
            match (held, now_held) {
                (false, true) => self.add_holders(i, 1),
                (true, false) => self.add_holders(i, -1),
                _ => {}
            }
        }
        self.sources[source.0].stats.announced = announced;
        self.spread_if_partial(announced);
    }

    /// Whether every run has landed.
    pub fn is_done(&self) -> bool {
        self.stats.runs_done == self.stats.runs
    }

    /// Whether the transfer cannot go on: runs are missing, nothing is in flight
    /// and no live source holds any missing run (every source gone, or the ones
    /// left lack what is needed). The fetch then stops with an error.
    pub fn stuck(&self) -> bool {
        !self.is_done()
            && self.sources.iter().all(|s| s.inflight.is_empty())
            && self.pending.range((1, 0, 0)..).next().is_none()
    }

    /// Whether `source` is still in the transfer (not dropped).
    pub fn is_live(&self, source: SourceId) -> bool {
        self.sources.get(source.0).is_some_and(SourceState::live)
    }

    /// Runs and raw bytes not landed yet.
    pub fn left(&self) -> (u64, u64) {
        let bytes = self.runs.iter().filter(|r| !r.done).map(|r| r.bytes).sum();
        (self.stats.runs - self.stats.runs_done, bytes)
    }

    /// The counters of the whole transfer.
    pub fn stats(&self) -> &PickerStats {
        &self.stats
    }

    /// Per-source counters, in [`SourceId`] order.
    pub fn source_stats(&self, now: Instant) -> Vec<SourceStats> {
        self.sources
            .iter()
            .map(|s| {
                let busy = s.busy
                    + s.busy_since
                        .map_or(Duration::ZERO, |b| now.saturating_duration_since(b));
                let mut st = s.stats.clone();
                st.rate = s.rate.unwrap_or(0);
                st.rtt_ms = s.rtt.map_or(0, |r| r.as_millis() as u64);
                st.mean_rate = per_second(st.bytes, busy);
                st
            })
            .collect()
    }

    /// The requests to make now: every live source with room gets runs, rarest
    /// first; in the endgame, duplicates of runs in flight elsewhere.
    pub fn next_requests(&mut self, now: Instant) -> Vec<Assign> {
        self.lift_snubs(now);
        let mut order: Vec<usize> = (0..self.sources.len())
            .filter(|&s| self.sources[s].live())
            .collect();
        order.sort_by_key(|&s| (self.sources[s].rank(), s));
        let mut out = Vec::new();
        for &s in &order {
            while self.has_room(s) {
                let Some(ix) = self.pending_for(s) else {
                    break;
                };
                out.push(self.assign(s, ix, false, now));
            }
        }
        if self.pending.range((1, 0, 0)..).next().is_none() {
            for &s in &order {
                while self.has_room(s) {
                    let Some(ix) = self.endgame_for(s) else {
                        break;
                    };
                    out.push(self.assign(s, ix, true, now));
                }
            }
        }
        out
    }

    /// A record of `bytes` raw bytes of `run` arrived from `source` (records of a
    /// run arrive in order). A record of a cancelled request still counts in the
    /// source's bytes and records (it was received), and nothing else.
    pub fn on_record(&mut self, source: SourceId, run: RunIx, bytes: u64, now: Instant) {
        let window = self.config.rate_window;
        let Some(s) = self.sources.get_mut(source.0) else {
            return;
        };
        s.stats.records += 1;
        s.stats.bytes += bytes;
        let Some(f) = s.inflight.iter_mut().find(|f| f.run == run) else {
            return;
        };
        if f.got_records == 0 {
            let sample = now.saturating_duration_since(f.started);
            s.rtt = Some(match s.rtt {
                Some(old) => (old * 7 + sample) / 8,
                None => sample,
            });
        }
        f.got_records += 1;
        f.got_bytes += bytes;
        f.active = now;
        s.window_bytes += bytes;
        let elapsed = now.saturating_duration_since(s.window_start);
        if elapsed >= window {
            let sample = per_second(s.window_bytes, elapsed);
            s.rate = Some(match s.rate {
                Some(old) => (old.saturating_mul(7).saturating_add(sample)) / 8,
                None => sample,
            });
            s.window_start = now;
            s.window_bytes = 0;
        }
    }

    /// `source` delivered all of `run`. Returns the other copies to cancel.
    pub fn on_done(&mut self, source: SourceId, run: RunIx, now: Instant) -> Vec<Cancel> {
        let Some(r) = self.runs.get(run.0) else {
            return Vec::new();
        };
        let was_done = r.done;
        if let Some(s) = self.sources.get_mut(source.0) {
            if let Some(p) = s.inflight.iter().position(|f| f.run == run) {
                s.inflight.swap_remove(p);
                s.stats.runs += 1;
                s.set_idle(now);
            }
        }
        if was_done {
            return Vec::new();
        }
        let key = self.key(self.runs[run.0].holders, run.0);
        self.pending.remove(&key);
        let r = &mut self.runs[run.0];
        r.done = true;
        self.stats.runs_done += 1;
        let others: Vec<SourceId> = r.copies.drain(..).filter(|&c| c != source).collect();
        let mut cancels = Vec::new();
        for c in others {
            let s = &mut self.sources[c.0];
            s.inflight.retain(|f| f.run != run);
            s.stats.cancelled += 1;
            s.set_idle(now);
            self.stats.cancelled += 1;
            cancels.push(Cancel { source: c, run });
        }
        cancels
    }

    /// The request of `run` at `source` ended without completing. The run goes back
    /// to the pool; returns the requests to cancel if the source was dropped.
    pub fn on_failed(
        &mut self,
        source: SourceId,
        run: RunIx,
        why: Failure,
        now: Instant,
    ) -> Vec<Cancel> {
        if source.0 >= self.sources.len() || run.0 >= self.runs.len() {
            return Vec::new();
        }
        let had = self.sources[source.0].inflight.iter().any(|f| f.run == run);
        if had {
            self.requeue(source, run, now);
        }
        let (max_errors, max_lies) = (self.config.max_errors, self.config.max_lies);
        match why {
            Failure::Lacks => {
                let held = self.sources[source.0].holds(run);
                let s = &mut self.sources[source.0];
                s.lacks.insert(run);
                s.stats.lies += 1;
                let lies = s.stats.lies;
                if held {
                    self.add_holders(run.0, -1);
                }
                if lies >= max_lies {
                    return self.drop_source(source, format!("claimed {lies} runs it lacks"), now);
                }
            }
            Failure::Error(reason) => {
                let s = &mut self.sources[source.0];
                s.stats.errors += 1;
                s.stats.last_error = Some(reason.clone());
                if s.stats.errors >= max_errors {
                    return self.drop_source(
                        source,
                        format!("{max_errors} errors, last: {reason}"),
                        now,
                    );
                }
                return self.snub(source.0, now);
            }
            Failure::Gone(reason) => return self.drop_source(source, reason, now),
        }
        Vec::new()
    }

    /// `source` sent a record that does not hash to its id: it is banned for the
    /// rest of the transfer and its work goes back to the pool. Returns its other
    /// requests to cancel.
    pub fn on_bad_data(&mut self, source: SourceId, detail: &str, now: Instant) -> Vec<Cancel> {
        if let Some(s) = self.sources.get_mut(source.0) {
            s.stats.errors += 1;
            s.stats.bad_data = true;
        }
        self.drop_source(source, format!("sent bad data: {detail}"), now)
    }

    /// Drops `source` (for `reason`, reported in its stats): its work goes back to
    /// the pool. Returns its requests to cancel.
    pub fn drop_source(&mut self, source: SourceId, reason: String, now: Instant) -> Vec<Cancel> {
        let Some(s) = self.sources.get(source.0) else {
            return Vec::new();
        };
        if !s.live() {
            return Vec::new();
        }
        for i in 0..self.runs.len() {
            if self.sources[source.0].holds(RunIx(i)) {
                self.add_holders(i, -1);
            }
        }
        let runs: Vec<RunIx> = self.sources[source.0]
            .inflight
            .iter()
            .map(|f| f.run)
            .collect();
        let mut cancels = Vec::new();
        for run in runs {
            self.requeue(source, run, now);
            cancels.push(Cancel { source, run });
        }
        self.sources[source.0].stats.dropped = Some(reason);
        cancels
    }

    /// Call every few tens of milliseconds. Stall detection: every request with no
    /// byte for [`PickerConfig::stall`] is requeued, its source counts an error and
    /// is snubbed. Snubbing: a source far slower than the best keeps only its most
    /// advanced request; the rest goes back to the pool. Returns the requests to
    /// cancel (including those of sources dropped for too many errors).
    pub fn tick(&mut self, now: Instant) -> Vec<Cancel> {
        let stall = self.config.stall;
        let mut stalled = Vec::new();
        for (i, s) in self.sources.iter().enumerate() {
            for f in &s.inflight {
                if now.saturating_duration_since(f.active) >= stall {
                    stalled.push((SourceId(i), f.run));
                }
            }
        }
        let mut cancels = Vec::new();
        for (source, run) in stalled {
            if !self.sources[source.0].inflight.iter().any(|f| f.run == run) {
                continue; // dropped with an earlier stall of the same source
            }
            self.sources[source.0].stats.stalls += 1;
            cancels.push(Cancel { source, run });
            let more = self.on_failed(
                source,
                run,
                Failure::Error(format!("no byte for {} ms", stall.as_millis())),
                now,
            );
            cancels.extend(more);
        }
        cancels.extend(self.update_snubs(now));
        cancels
    }

    // ---- internals ----

    /// The pending-set key of run `i` with `holders` holders.
    fn key(&self, holders: u32, i: usize) -> (u32, u64, usize) {
        (
            holders,
            self.spread.map_or(0, |salt| spread_order(salt, i)),
            i,
        )
    }

    /// Switches to the spread order the first time a source claims fewer than all
    /// runs (`announced`): see the module docs, *Order*.
    fn spread_if_partial(&mut self, announced: u64) {
        if self.spread.is_some() || announced >= self.runs.len() as u64 {
            return;
        }
        self.spread = Some(self.config.spread_salt);
        let old = std::mem::take(&mut self.pending);
        self.pending = old.into_iter().map(|(h, _, i)| self.key(h, i)).collect();
    }

    fn add_holders(&mut self, i: usize, delta: i32) {
        let r = &mut self.runs[i];
        let old = r.holders;
        r.holders = old.saturating_add_signed(delta);
        let new = r.holders;
        if self.pending.remove(&self.key(old, i)) {
            self.pending.insert(self.key(new, i));
        }
    }

    fn budget(&self, s: usize) -> u64 {
        let s = &self.sources[s];
        let c = &self.config;
        match (s.rate, s.rtt) {
            (Some(rate), Some(rtt)) => {
                let bdp = rate as u128 * rtt.as_micros() / 1_000_000 * u128::from(c.bdp_factor);
                (bdp.min(u128::from(c.cap_bytes)) as u64).clamp(c.floor_bytes, c.cap_bytes)
            }
            _ => c.floor_bytes,
        }
    }

    fn has_room(&self, s: usize) -> bool {
        let src = &self.sources[s];
        if !src.live() {
            return false;
        }
        if src.snubbed_until.is_some() {
            return src.inflight.is_empty();
        }
        src.inflight_bytes() < self.budget(s)
    }

    /// The rarest pending run `s` holds, first in plan order among equals.
    fn pending_for(&self, s: usize) -> Option<usize> {
        let src = &self.sources[s];
        self.pending
            .range((1, 0, 0)..)
            .map(|&(_, _, i)| i)
            .find(|&i| src.holds(RunIx(i)))
    }

    /// A run in flight elsewhere that `s` holds, with fewer than `endgame_copies`
    /// copies: the one with the most bytes left.
    fn endgame_for(&self, s: usize) -> Option<usize> {
        let src = &self.sources[s];
        let mut best: Option<(u64, usize)> = None;
        for (o, other) in self.sources.iter().enumerate() {
            if o == s {
                continue;
            }
            for f in &other.inflight {
                let i = f.run.0;
                let r = &self.runs[i];
                if r.done
                    || r.copies.len() >= self.config.endgame_copies
                    || r.copies.contains(&SourceId(s))
                    || !src.holds(f.run)
                {
                    continue;
                }
                let left = f.bytes.saturating_sub(f.got_bytes);
                if best.is_none_or(|(b, bi)| left > b || (left == b && i < bi)) {
                    best = Some((left, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    fn assign(&mut self, s: usize, i: usize, endgame: bool, now: Instant) -> Assign {
        let key = self.key(self.runs[i].holders, i);
        self.pending.remove(&key);
        let r = &mut self.runs[i];
        r.copies.push(SourceId(s));
        let (want, bytes) = (r.want, r.bytes);
        let src = &mut self.sources[s];
        if src.inflight.is_empty() {
            src.busy_since = Some(now);
            src.window_start = now;
            src.window_bytes = 0;
        }
        src.inflight.push(InFlight {
            run: RunIx(i),
            bytes,
            started: now,
            active: now,
            got_records: 0,
            got_bytes: 0,
        });
        self.stats.assigned += 1;
        if endgame {
            self.stats.endgame_duplicates += 1;
        }
        Assign {
            source: SourceId(s),
            run: RunIx(i),
            want,
            endgame,
        }
    }

    /// Takes `run`'s request off `source`; back to the pool if no copy is left,
    /// shrunk past what that request delivered.
    fn requeue(&mut self, source: SourceId, run: RunIx, now: Instant) {
        let src = &mut self.sources[source.0];
        let Some(p) = src.inflight.iter().position(|f| f.run == run) else {
            return;
        };
        let f = src.inflight.swap_remove(p);
        src.set_idle(now);
        let r = &mut self.runs[run.0];
        r.copies.retain(|&c| c != source);
        if r.done || !r.copies.is_empty() {
            return;
        }
        // The request asked for the run as it then was; it delivered a prefix.
        let got = f.got_records.min(r.want.count);
        if got > 0 && got < r.want.count {
            r.want.start += u64::from(got);
            r.want.count -= got;
            r.bytes = r.bytes.saturating_sub(f.got_bytes);
        }
        let holders = r.holders;
        self.stats.requeued += 1;
        let key = self.key(holders, run.0);
        self.pending.insert(key);
    }

    fn lift_snubs(&mut self, now: Instant) {
        for s in &mut self.sources {
            if s.snubbed_until.is_some_and(|t| t <= now) {
                s.snubbed_until = None;
                s.rate = None; // measured afresh
            }
        }
    }

    /// Lifts expired snubs and snubs the sources far behind the best.
    fn update_snubs(&mut self, now: Instant) -> Vec<Cancel> {
        self.lift_snubs(now);
        let best = self
            .sources
            .iter()
            .filter(|s| s.live())
            .filter_map(|s| s.rate)
            .max()
            .unwrap_or(0);
        let ratio = self.config.snub_ratio;
        let slow: Vec<usize> = (0..self.sources.len())
            .filter(|&i| {
                let s = &self.sources[i];
                s.live()
                    && s.snubbed_until.is_none()
                    && s.rate.is_some_and(|r| r.saturating_mul(ratio) < best)
            })
            .collect();
        slow.into_iter().flat_map(|i| self.snub(i, now)).collect()
    }

    /// Snubs source `s` for [`PickerConfig::snub_for`]: it keeps its most advanced
    /// request, the others go back to the pool. Returns those to cancel.
    fn snub(&mut self, s: usize, now: Instant) -> Vec<Cancel> {
        let src = &mut self.sources[s];
        if src.snubbed_until.is_none() {
            src.stats.snubs += 1;
        }
        src.snubbed_until = Some(now + self.config.snub_for);
        let keep = src
            .inflight
            .iter()
            .max_by_key(|f| f.got_bytes)
            .map(|f| f.run);
        let extra: Vec<RunIx> = src
            .inflight
            .iter()
            .map(|f| f.run)
            .filter(|&r| Some(r) != keep)
            .collect();
        let source = SourceId(s);
        for &run in &extra {
            self.requeue(source, run, now);
        }
        extra
            .into_iter()
            .map(|run| Cancel { source, run })
            .collect()
    }
}

/// `bytes` over `d`, in bytes per second (0 over no time).
fn per_second(bytes: u64, d: Duration) -> u64 {
    let us = d.as_micros();
    if us == 0 {
        return 0;
    }
    (u128::from(bytes) * 1_000_000 / us).min(u128::from(u64::MAX)) as u64
}
