//! What the network commands share: this machine's identity, the progress bars
//! the operations report to, and the fetch summary.

use std::sync::{Arc, Mutex};

use gadn::identity::{home_dir, MachineKey};
use gadn::ops::{self, FetchReport, Unit};
use indicatif::ProgressBar;

use super::output::{byte_bar, count_bar, human_bytes};

/// This machine's identity, created on first use.
pub fn identity() -> anyhow::Result<Arc<MachineKey>> {
    Ok(Arc::new(MachineKey::load_or_create(&home_dir()?)?))
}

/// An operation's progress as bars on stderr (hidden when `quiet`): one bar per
/// phase.
pub struct Bars {
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl ops::Progress for Bars {
    fn start(&self, what: &str, unit: Unit, total: u64) {
        let bar = match unit {
            Unit::Bytes => byte_bar(self.quiet, total, what),
            Unit::Items => count_bar(self.quiet, total, what),
        };
        if let Some(old) = self.slot().replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, done: u64, total: u64) {
        if let Some(b) = self.slot().as_ref() {
            b.set_length(total);
            b.set_position(done);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.slot().take() {
            b.finish_and_clear();
        }
    }
}

impl Bars {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Progress bars, hidden when `quiet`.
pub fn bars(quiet: bool) -> Arc<dyn ops::Progress> {
    Arc::new(Bars {
        quiet,
        bar: Mutex::new(None),
    })
}

/// Prints `report` as one line of JSON: exactly its serialization.
pub fn print_json_line<T: serde::Serialize>(report: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(report)?);
    Ok(())
}

/// Prints what a fetch changed.
pub fn print_fetch(r: &FetchReport, quiet: bool) {
    let mut refused = false;
    for c in &r.refs {
        if let Some(why) = &c.refused {
            eprintln!("  {}: not updated: {why}", c.name);
            refused = true;
        }
    }
    if let Some(n) = r.damaged_here {
        eprintln!(
            "warning: the last fsck found {n} problem(s) in this store, which a fetch does \
             not mend: run `gadn fsck --repair`"
        );
    }
    if quiet {
        return;
    }
    println!(
        "From {}: {} object(s), {} chunk(s), {} ({} on the wire)",
        r.peer,
        r.objects,
        r.chunks,
        human_bytes(r.chunk_bytes),
        human_bytes(r.wire_bytes)
    );
    for s in r.swarm.iter().flat_map(|w| &w.sources) {
        let why = s.dropped.as_deref().map(|d| format!(", dropped: {d}"));
        println!(
            "  from {}: {} chunk(s), {} at {}/s{}",
            s.name,
            s.records,
            human_bytes(s.bytes),
            human_bytes(s.mean_rate),
            why.unwrap_or_default()
        );
    }
    for c in &r.refs {
        if c.refused.is_none() {
            let name = &c.name;
            let short = name
                .strip_prefix("refs/remotes/")
                .or_else(|| name.strip_prefix("refs/"))
                .unwrap_or(name);
            println!("  updated {short}");
        }
    }
    if r.members_changed {
        println!("  member list updated");
    }
    if r.locks_changed > 0 {
        println!("  {} lock(s) updated", r.locks_changed);
    }
    if r.locks_refused > 0 {
        eprintln!(
            "warning: refused {} lock record(s) signed by keys that may not write here (readers, or not members)",
            r.locks_refused
        );
    }
    if refused {
        println!("  (some refs were not updated; see above)");
    }
}
