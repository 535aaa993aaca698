//! The picker on a simulated clock with simulated sources of given rate and round
//! trip: each source serves its requests that are past their round trip in equal
//! shares of its rate (as QUIC streams share a connection), record by record.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::store::ObjectId;
use crate::sync::wire::Run;

use super::*;

/// Raw bytes of one simulated chunk.
const CHUNK: u64 = 64 << 10;
/// Chunks per planned run (1 MiB runs).
const RUN_CHUNKS: u32 = 16;
/// Simulation step.
const STEP: Duration = Duration::from_millis(5);

fn plan(n: usize) -> Vec<WantedRun> {
    let file = ObjectId::from_bytes([7; 32]);
    (0..n)
        .map(|i| WantedRun {
            run: Run {
                file,
                start: i as u64 * u64::from(RUN_CHUNKS),
                count: RUN_CHUNKS,
            },
            bytes: u64::from(RUN_CHUNKS) * CHUNK,
        })
        .collect()
}

/// How a simulated source behaves.
#[derive(Clone, Default)]
struct Behaviour {
    /// Bytes per second.
    rate: u64,
    rtt: Duration,
    /// Stops sending (without closing) from this offset on.
    stall_after: Option<Duration>,
    /// Its connection closes at this offset.
    gone_after: Option<Duration>,
    /// Claims everything but answers "lacks" for these runs.
    lacks: Vec<usize>,
    /// Every record it sends is corrupt.
    corrupt: bool,
}

fn seed(rate_mb: u64, rtt_ms: u64) -> Behaviour {
    Behaviour {
        rate: rate_mb << 20,
        rtt: Duration::from_millis(rtt_ms),
        ..Behaviour::default()
    }
}

struct Req {
    run: RunIx,
    left: u32,
    started: Instant,
    credit: u64,
}

/// What happened in a simulated transfer.
#[derive(Default)]
struct Outcome {
    /// Every assignment, in order, with its time offset.
    assigns: Vec<(Duration, Assign)>,
    /// Every cancel, with its time offset.
    cancels: Vec<(Duration, Cancel)>,
    /// Raw bytes delivered per source.
    delivered: HashMap<usize, u64>,
    /// When the picker was done or stuck.
    end: Duration,
    /// Requests in flight per source, at every step.
    inflight: Vec<Vec<usize>>,
}

impl Outcome {
    /// Assignments of each run outside the endgame.
    fn plain_assigns(&self) -> HashMap<RunIx, usize> {
        let mut m = HashMap::new();
        for (_, a) in self.assigns.iter().filter(|(_, a)| !a.endgame) {
            *m.entry(a.run).or_insert(0) += 1;
        }
        m
    }
}

/// Runs `picker` against `sources` (already added, in order) until done, stuck or
/// `limit` of simulated time.
fn simulate(picker: &mut Picker, t0: Instant, sources: &[Behaviour], limit: Duration) -> Outcome {
    let mut out = Outcome::default();
    let mut reqs: Vec<Vec<Req>> = sources.iter().map(|_| Vec::new()).collect();
    let mut t = t0;
    let cancel = |reqs: &mut Vec<Vec<Req>>, out: &mut Outcome, t: Instant, cs: Vec<Cancel>| {
        for c in cs {
            reqs[c.source.0].retain(|r| r.run != c.run);
            out.cancels.push((t - t0, c));
        }
    };
    while t - t0 < limit && !picker.is_done() && !picker.stuck() {
        for a in picker.next_requests(t) {
            reqs[a.source.0].push(Req {
                run: a.run,
                left: a.want.count,
                started: t,
                credit: 0,
            });
            out.assigns.push((t - t0, a));
        }
        t += STEP;
        for (s, b) in sources.iter().enumerate() {
            let id = SourceId(s);
            if b.gone_after.is_some_and(|g| t - t0 >= g) {
                if !reqs[s].is_empty() || picker.source_stats(t)[s].dropped.is_none() {
                    let cs = picker.drop_source(id, "connection closed".into(), t);
                    cancel(&mut reqs, &mut out, t, cs);
                }
                continue;
            }
            if b.stall_after.is_some_and(|g| t - t0 >= g) {
                continue;
            }
            let active = reqs[s].iter().filter(|r| t - r.started >= b.rtt).count() as u64;
            if active == 0 {
                continue;
            }
            let share = b.rate * STEP.as_micros() as u64 / 1_000_000 / active;
            let mut k = 0;
            while k < reqs[s].len() {
                let r = &mut reqs[s][k];
                if t - r.started < b.rtt {
                    k += 1;
                    continue;
                }
                r.credit += share;
                let run = r.run;
                let mut finished = false;
                let mut failed = None;
                while r.credit >= CHUNK && r.left > 0 {
                    r.credit -= CHUNK;
                    if b.lacks.contains(&run.0) {
                        failed = Some(false);
                        break;
                    }
                    if b.corrupt {
                        failed = Some(true);
                        break;
                    }
                    r.left -= 1;
                    picker.on_record(id, run, CHUNK, t);
                    *out.delivered.entry(s).or_insert(0) += CHUNK;
                    finished = r.left == 0;
                }
                match failed {
                    Some(bad) => {
                        reqs[s].remove(k);
                        let cs = if bad {
                            picker.on_bad_data(id, "chunk hash mismatch", t)
                        } else {
                            picker.on_failed(id, run, Failure::Lacks, t)
                        };
                        cancel(&mut reqs, &mut out, t, cs);
                        break;
                    }
                    None if finished => {
                        reqs[s].remove(k);
                        let cs = picker.on_done(id, run, t);
                        cancel(&mut reqs, &mut out, t, cs);
                    }
                    None => k += 1,
                }
            }
        }
        let cs = picker.tick(t);
        cancel(&mut reqs, &mut out, t, cs);
        out.inflight.push(reqs.iter().map(Vec::len).collect());
    }
    out.end = t - t0;
    out
}

fn picker_with(
    runs: usize,
    sources: &[(&str, Availability)],
    config: PickerConfig,
) -> (Picker, Instant) {
    let t0 = Instant::now();
    let mut p = Picker::with_config(plan(runs), config);
    for (name, avail) in sources {
        p.add_source(name, avail.clone(), t0);
    }
    (p, t0)
}

fn runs(r: std::ops::Range<usize>) -> Availability {
    Availability::Runs(r.map(RunIx).collect())
}

#[test]
fn rarest_first_then_plan_order() {
    // Run 6 and 7 only A has; 0, 1 (A, B) and 4, 5 (A, C) have two holders; 2, 3 three.
    let config = PickerConfig {
        floor_bytes: u64::from(RUN_CHUNKS) * CHUNK, // one request per source
        ..PickerConfig::default()
    };
    let srcs = [
        ("a", Availability::Everything),
        ("b", runs(0..4)),
        ("c", runs(2..6)),
    ];
    let (mut p, t0) = picker_with(8, &srcs, config);
    let mut order = Vec::new();
    let mut t = t0;
    for _ in 0..3 {
        let got = p.next_requests(t);
        t += Duration::from_millis(1);
        for a in &got {
            order.push((a.source.0, a.run.0, a.endgame));
        }
        for a in got {
            p.on_record(a.source, a.run, CHUNK, t);
            p.on_done(a.source, a.run, t);
        }
    }
    assert_eq!(
        order,
        vec![
            (0, 6, false),
            (1, 0, false),
            (2, 4, false),
            (0, 7, false),
            (1, 1, false),
            (2, 5, false),
            (0, 2, false),
            (1, 3, false),
            // Nothing unassigned is left: C duplicates the run with most bytes left.
            (2, 2, true),
        ]
    );
    assert!(p.is_done());
}

#[test]
fn bytes_follow_rates() {
    let srcs = [
        ("fast", Availability::Everything),
        ("slow", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(200, &srcs, PickerConfig::default());
    let out = simulate(
        &mut p,
        t0,
        &[seed(30, 20), seed(10, 20)],
        Duration::from_secs(60),
    );
    assert!(p.is_done());
    let (fast, slow) = (out.delivered[&0], out.delivered[&1]);
    let ratio = fast as f64 / slow as f64;
    assert!(
        (2.5..=3.5).contains(&ratio),
        "fast {fast} slow {slow}: ratio {ratio}"
    );
    // The sum of both links: 200 MiB at 40 MiB/s is 5 s.
    assert!(out.end < Duration::from_millis(5_600), "took {:?}", out.end);
    // No run fetched twice outside the endgame.
    assert!(out.plain_assigns().values().all(|&n| n == 1));
    assert_eq!(out.plain_assigns().len(), 200);
    let stats = p.source_stats(t0 + out.end);
    assert!(stats.iter().all(|s| s.dropped.is_none() && s.snubs == 0));
    let fast_rate = stats[0].rate as f64 / f64::from(30u32 << 20);
    assert!(
        (0.8..1.2).contains(&fast_rate),
        "measured {}",
        stats[0].rate
    );
}

#[test]
fn stalled_requests_move_within_the_bound() {
    let srcs = [
        ("a", Availability::Everything),
        ("b", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(100, &srcs, PickerConfig::default());
    let stalling = Behaviour {
        stall_after: Some(Duration::from_millis(500)),
        ..seed(20, 10)
    };
    let out = simulate(
        &mut p,
        t0,
        &[seed(20, 10), stalling],
        Duration::from_secs(60),
    );
    assert!(p.is_done());
    let first_cancel = out
        .cancels
        .iter()
        .find(|(_, c)| c.source.0 == 1)
        .map(|(at, _)| *at)
        .expect("the stalled requests were cancelled");
    // Its last byte came just before 500 ms; the bound is 1 s, ticks are 5 ms.
    assert!(
        first_cancel <= Duration::from_millis(1_510),
        "{first_cancel:?}"
    );
    let stats = p.source_stats(t0 + out.end);
    assert!(stats[1].stalls >= 1);
    // A run was assigned a second time only after it stalled at B.
    let stalled: Vec<RunIx> = out
        .cancels
        .iter()
        .filter(|(_, c)| c.source.0 == 1)
        .map(|(_, c)| c.run)
        .collect();
    for (run, n) in out.plain_assigns() {
        let times = stalled.iter().filter(|&&r| r == run).count();
        // (A stalled endgame copy is cancelled without a plain reassignment.)
        assert!(
            n >= 1 && n <= 1 + times,
            "run {run:?}: {n} assignments, {times} stalls"
        );
    }
    // What B delivered before stalling was not fetched again (beyond the endgame).
    let total: u64 = out.delivered.values().sum();
    let dup = p.stats().endgame_duplicates * u64::from(RUN_CHUNKS) * CHUNK;
    assert!(total <= p.stats().bytes + dup, "{total} delivered");
}

#[test]
fn endgame_duplicates_the_last_runs_and_cancels_the_losers() {
    let srcs = [
        ("fast", Availability::Everything),
        ("slow", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(40, &srcs, PickerConfig::default());
    let behave = [seed(40, 5), seed(10, 5)];
    let out = simulate(&mut p, t0, &behave, Duration::from_secs(60));
    assert!(p.is_done());
    let st = p.stats().clone();
    assert!(st.endgame_duplicates >= 1, "{st:?}");
    assert!(st.cancelled >= 1, "{st:?}");
    // Duplicates only once every run had been handed out.
    for (i, (_, a)) in out.assigns.iter().enumerate() {
        if a.endgame {
            let seen: std::collections::HashSet<RunIx> =
                out.assigns[..i].iter().map(|(_, a)| a.run).collect();
            assert_eq!(seen.len(), 40, "endgame before every run was assigned");
            assert!(out.assigns[..i]
                .iter()
                .any(|(_, b)| b.run == a.run && b.source != a.source));
        }
    }
    // Each cancel is of a copy whose run another source completed.
    for (_, c) in &out.cancels {
        assert!(out
            .assigns
            .iter()
            .any(|(_, a)| a.run == c.run && a.source == c.source));
    }
    let stats = p.source_stats(t0 + out.end);
    assert!(
        out.plain_assigns().values().all(|&n| n == 1),
        "{st:?} {stats:?}"
    );
    // The slow source's tail did not hold the transfer up: 40 MiB at 50 MiB/s is
    // 0.8 s; without the endgame (one copy per run) the transfer takes longer.
    assert!(out.end < Duration::from_millis(1_100), "took {:?}", out.end);
    let one_copy = PickerConfig {
        endgame_copies: 1,
        ..PickerConfig::default()
    };
    let (mut q, t1) = picker_with(40, &srcs, one_copy);
    let without = simulate(&mut q, t1, &behave, Duration::from_secs(60));
    assert!(q.is_done() && q.stats().endgame_duplicates == 0);
    assert!(
        without.end > out.end,
        "{:?} without, {:?} with",
        without.end,
        out.end
    );
}

#[test]
fn a_source_sending_bad_data_is_banned_and_the_others_finish() {
    let srcs = [
        ("a", Availability::Everything),
        ("bad", Availability::Everything),
        ("c", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(60, &srcs, PickerConfig::default());
    let bad = Behaviour {
        corrupt: true,
        ..seed(20, 10)
    };
    let out = simulate(
        &mut p,
        t0,
        &[seed(10, 10), bad, seed(10, 10)],
        Duration::from_secs(60),
    );
    assert!(p.is_done());
    let stats = p.source_stats(t0 + out.end);
    assert!(stats[1].bad_data);
    assert!(stats[1]
        .dropped
        .as_deref()
        .is_some_and(|d| d.contains("bad data")));
    assert_eq!(stats[1].bytes, 0);
    assert!(stats[0].bytes > 0 && stats[2].bytes > 0);
    assert_eq!(
        stats[0].bytes + stats[2].bytes,
        out.delivered.values().sum::<u64>()
    );
    // Banned at its first record, never asked again.
    let ban = out
        .cancels
        .iter()
        .find(|(_, c)| c.source.0 == 1)
        .map(|(t, _)| *t);
    let ban = ban.expect("its other requests were cancelled");
    assert!(out.assigns.iter().all(|(t, a)| a.source.0 != 1 || *t < ban));
}

#[test]
fn a_source_that_lies_about_availability_is_ranked_down_then_dropped() {
    let srcs = [
        ("liar", Availability::Everything),
        ("honest", Availability::Everything),
    ];
    let config = PickerConfig {
        max_lies: 4,
        ..PickerConfig::default()
    };
    let (mut p, t0) = picker_with(40, &srcs, config);
    let liar = Behaviour {
        lacks: (0..10).collect(),
        ..seed(20, 10)
    };
    let out = simulate(&mut p, t0, &[liar, seed(20, 10)], Duration::from_secs(60));
    assert!(p.is_done());
    let stats = p.source_stats(t0 + out.end);
    assert_eq!(stats[0].lies, 4);
    assert!(stats[0]
        .dropped
        .as_deref()
        .is_some_and(|d| d.contains("lacks")));
    // A run it said it lacked was never asked of it again.
    let mut lacked = std::collections::HashSet::new();
    for (_, a) in out.assigns.iter().filter(|(_, a)| a.source.0 == 0) {
        assert!(lacked.insert(a.run), "{:?} asked again", a.run);
    }
    // After its first lie it is ranked below the honest source: in one round of
    // assignments the honest source is served first.
    let first_lie = out
        .assigns
        .iter()
        .find(|(_, a)| a.source.0 == 0)
        .map(|(t, _)| *t);
    let mut rounds: HashMap<Duration, Vec<usize>> = HashMap::new();
    for (t, a) in &out.assigns {
        rounds.entry(*t).or_default().push(a.source.0);
    }
    let mut checked = 0;
    for (t, who) in rounds {
        if Some(t) > first_lie && who.contains(&0) && who.contains(&1) {
            assert_eq!(who[0], 1, "at {t:?}: {who:?}");
            checked += 1;
        }
    }
    assert!(
        checked >= 1,
        "no round served both sources after the first lie"
    );
    assert!(stats[1].bytes > 0);
}

#[test]
fn a_lying_partial_seed_is_never_asked_again_for_that_run() {
    let config = PickerConfig {
        floor_bytes: 1,
        ..PickerConfig::default()
    };
    let (mut p, t0) = picker_with(2, &[("liar", Availability::Everything)], config);
    let a = p.next_requests(t0);
    assert_eq!(a.len(), 1);
    assert!(p
        .on_failed(a[0].source, a[0].run, Failure::Lacks, t0)
        .is_empty());
    // It still gets the run it did not lie about, and then no more.
    let b = p.next_requests(t0);
    assert_eq!(b.iter().map(|x| x.run.0).collect::<Vec<_>>(), vec![1]);
    p.on_done(b[0].source, b[0].run, t0);
    assert!(p.next_requests(t0).is_empty());
    assert!(p.stuck() && !p.is_done());
    assert_eq!(p.left().0, 1);
    // A new source that has it unsticks the transfer.
    p.add_source("late", Availability::Everything, t0);
    let c = p.next_requests(t0);
    assert_eq!((c[0].source.0, c[0].run.0), (1, 0));
}

#[test]
fn every_source_gone_leaves_the_picker_stuck_not_done() {
    let srcs = [
        ("a", Availability::Everything),
        ("b", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(100, &srcs, PickerConfig::default());
    let gone = |ms| Behaviour {
        gone_after: Some(Duration::from_millis(ms)),
        ..seed(20, 10)
    };
    let out = simulate(
        &mut p,
        t0,
        &[gone(1_500), gone(2_500)],
        Duration::from_secs(60),
    );
    assert!(p.stuck());
    assert!(!p.is_done());
    assert!(out.end < Duration::from_millis(2_600), "{:?}", out.end);
    assert!(p.next_requests(t0 + out.end).is_empty());
    let (runs_left, bytes_left) = p.left();
    assert!(runs_left > 0 && runs_left < 100);
    // What landed stays landed: the bytes left are the plan minus the deliveries.
    let delivered: u64 = out.delivered.values().sum();
    assert_eq!(bytes_left + delivered, p.stats().bytes);
    for s in p.source_stats(t0 + out.end) {
        assert_eq!(s.dropped.as_deref(), Some("connection closed"));
    }
}

#[test]
fn a_far_slower_source_is_snubbed_and_retried_later() {
    let srcs = [
        ("fast", Availability::Everything),
        ("crawl", Availability::Everything),
    ];
    let (mut p, t0) = picker_with(400, &srcs, PickerConfig::default());
    let out = simulate(
        &mut p,
        t0,
        &[seed(40, 5), seed(2, 5)],
        Duration::from_secs(60),
    );
    assert!(p.is_done());
    let stats = p.source_stats(t0 + out.end);
    assert!(stats[1].snubs >= 1, "{:?}", stats[1]);
    assert!(stats[1].dropped.is_none());
    // Retried after each snub, measured again, snubbed again: it kept working.
    assert!(stats[1].snubs >= 2, "{:?}", stats[1]);
    assert!(stats[1].runs >= 1);
    // It did not hoard work: most of the time it had one request in flight.
    let hoarding = out.inflight.iter().filter(|n| n[1] > 1).count();
    assert!(
        hoarding * 10 < out.inflight.len(),
        "{hoarding} of {} steps",
        out.inflight.len()
    );
    // And it did not hold the transfer up: 400 MiB at 42 MiB/s is 9.5 s.
    assert!(
        out.end < Duration::from_millis(10_500),
        "took {:?}",
        out.end
    );
}

#[test]
fn a_partial_seed_that_announces_more_gets_it_and_rarity_follows() {
    let config = PickerConfig {
        floor_bytes: 1,
        endgame_copies: 1,
        ..PickerConfig::default()
    };
    let srcs = [("seed", Availability::Everything), ("partial", runs(0..1))];
    let (mut p, t0) = picker_with(4, &srcs, config);
    // Run 0 has two holders, 1..4 one: the seed starts with the rarest (1); the
    // partial seed has only run 0.
    let first = p.next_requests(t0);
    let got: Vec<(usize, usize)> = first.iter().map(|a| (a.source.0, a.run.0)).collect();
    assert_eq!(got, vec![(0, 1), (1, 0)]);
    for a in first {
        p.on_done(a.source, a.run, t0);
    }
    // It announces runs 2 and 3 as they land at its end: both now have two
    // holders, and it takes one of them.
    p.set_availability(SourceId(1), runs(0..4));
    let next = p.next_requests(t0);
    let got: Vec<(usize, usize)> = next.iter().map(|a| (a.source.0, a.run.0)).collect();
    assert_eq!(got, vec![(0, 2), (1, 3)]);
    // A run it said it lacked stays excluded whatever it announces later.
    p.on_failed(SourceId(1), RunIx(3), Failure::Lacks, t0);
    p.set_availability(SourceId(1), Availability::Everything);
    p.on_done(SourceId(0), RunIx(2), t0);
    let last = p.next_requests(t0);
    let got: Vec<(usize, usize)> = last.iter().map(|a| (a.source.0, a.run.0)).collect();
    assert_eq!(got, vec![(0, 3)]);
    p.on_done(SourceId(0), RunIx(3), t0);
    assert!(p.is_done());
}

/// The first `n` runs assigned (with their sources), each request completed at once.
fn serial_order(p: &mut Picker, t0: Instant, n: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut t = t0;
    while out.len() < n {
        let got = p.next_requests(t);
        assert!(!got.is_empty(), "work left");
        t += Duration::from_millis(1);
        for a in got {
            out.push((a.source.0, a.run.0));
            p.on_record(a.source, a.run, CHUNK, t);
            p.on_done(a.source, a.run, t);
        }
    }
    out
}

#[test]
fn full_seeds_keep_plan_order_and_a_partial_seed_spreads_equal_rarity() {
    let one_at_a_time = |salt| PickerConfig {
        floor_bytes: u64::from(RUN_CHUNKS) * CHUNK,
        spread_salt: salt,
        ..PickerConfig::default()
    };
    // Full seeds only: plan order, whatever the salt.
    let (mut p, t0) = picker_with(64, &[("a", Availability::Everything)], one_at_a_time(9));
    let order: Vec<usize> = serial_order(&mut p, t0, 20).iter().map(|a| a.1).collect();
    assert_eq!(order, (0..20).collect::<Vec<_>>());

    // A partial seed (holding nothing yet) joins: equal rarity is taken block by
    // block in an order the salt decides, each block in plan order.
    let firsts: Vec<Vec<usize>> = (1..=4)
        .map(|salt| {
            let srcs = [("a", Availability::Everything), ("b", runs(0..0))];
            let (mut p, t0) = picker_with(64, &srcs, one_at_a_time(salt));
            serial_order(&mut p, t0, 16).iter().map(|a| a.1).collect()
        })
        .collect();
    for order in &firsts {
        for block in order.chunks(SPREAD_RUNS) {
            let start = block[0];
            assert_eq!(start % SPREAD_RUNS, 0, "a block starts at its first run");
            assert_eq!(block, (start..start + SPREAD_RUNS).collect::<Vec<_>>());
        }
    }
    let starts: std::collections::BTreeSet<usize> = firsts.iter().map(|o| o[0]).collect();
    assert!(
        starts.len() > 1,
        "different salts start on different blocks: {firsts:?}"
    );

    // Rarity still comes first: a run only the full seed has goes before the ones
    // the partial seed has too.
    let srcs = [("a", Availability::Everything), ("b", runs(8..64))];
    let (mut p, t0) = picker_with(64, &srcs, one_at_a_time(3));
    let order = serial_order(&mut p, t0, 16);
    let from_a: Vec<usize> = order.iter().filter(|a| a.0 == 0).map(|a| a.1).collect();
    assert_eq!(from_a[..8], (0..8).collect::<Vec<_>>(), "{order:?}");
    assert!(order.iter().all(|a| a.0 == 0 || a.1 >= 8), "{order:?}");
}
