//! What the network commands share: the tokio runtime, this machine's identity,
//! the transfer progress bar and the fetch summary.

use std::sync::Arc;

use anyhow::Context;
use gadn::identity::{home_dir, MachineKey};
use gadn::sync::client::FetchReport;
use gadn::sync::fetch::{Progress, Transferred};
use indicatif::ProgressBar;

use super::output::{byte_bar, human_bytes};

/// A runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// This machine's identity, created on first use.
pub fn identity() -> anyhow::Result<MachineKey> {
    Ok(MachineKey::load_or_create(&home_dir()?)?)
}

/// A progress bar over the chunk bytes a fetch needs, and the callback feeding it.
pub fn transfer_bar(quiet: bool, what: &str) -> (ProgressBar, Progress) {
    let bar = byte_bar(quiet, 0, what);
    let b = bar.clone();
    let progress: Progress = Arc::new(move |t: &Transferred| {
        b.set_length(t.chunk_bytes_needed);
        b.set_position(t.chunk_bytes);
    });
    (bar, progress)
}

/// A fetch report for `--json`.
pub fn fetch_json(r: &FetchReport) -> serde_json::Value {
    let t = &r.transferred;
    serde_json::json!({
        "peer": r.peer,
        "objects": t.objects,
        "chunks": t.chunks,
        "chunk_bytes": t.chunk_bytes,
        "payload_bytes": t.payload_bytes,
        "wire_bytes": r.wire_bytes,
        "members_changed": r.landed.members_changed,
        "locks_changed": r.landed.locks_changed,
        "refs": r.landed.refs.iter().map(|(n, why)| serde_json::json!({"ref": n, "refused": why})).collect::<Vec<_>>(),
    })
}

/// Prints what a fetch changed.
pub fn print_fetch(r: &FetchReport, quiet: bool) {
    let mut refused = false;
    for (name, why) in &r.landed.refs {
        if let Some(why) = why {
            eprintln!("  {name}: not updated: {why}");
            refused = true;
        }
    }
    if quiet {
        return;
    }
    let t = &r.transferred;
    println!(
        "From {}: {} object(s), {} chunk(s), {} ({} on the wire)",
        r.peer,
        t.objects,
        t.chunks,
        human_bytes(t.chunk_bytes),
        human_bytes(r.wire_bytes)
    );
    for (name, why) in &r.landed.refs {
        if why.is_none() {
            let short = name
                .strip_prefix("refs/remotes/")
                .or_else(|| name.strip_prefix("refs/"))
                .unwrap_or(name);
            println!("  updated {short}");
        }
    }
    if r.landed.members_changed {
        println!("  member list updated");
    }
    if r.landed.locks_changed > 0 {
        println!("  {} lock(s) updated", r.landed.locks_changed);
    }
    if refused {
        println!("  (some refs were not updated; see above)");
    }
}

/// The peer a command talks to: `spec` (a member's name or key) or the default one.
pub fn remote_for(
    store: &gadn::store::Store,
    me: &MachineKey,
    spec: Option<&str>,
) -> anyhow::Result<gadn::sync::remote::Remote> {
    Ok(match spec {
        Some(s) => gadn::sync::remote::resolve(store, s)?,
        None => gadn::sync::remote::default_remote(store, &me.public())?,
    })
}

/// Fetches from `remote` into the store at `dir` with a progress bar; prints the
/// summary.
pub async fn fetch_from(
    quiet: bool,
    json: bool,
    me: &MachineKey,
    remote: &gadn::sync::remote::Remote,
    dir: &std::path::Path,
) -> anyhow::Result<FetchReport> {
    let session = gadn::sync::remote::open(me, remote, dir).await?;
    let (bar, progress) = transfer_bar(quiet || json, &format!("fetching from {}", remote.name));
    let report = gadn::sync::client::fetch(
        &session.conn,
        &remote.name,
        dir,
        gadn::sync::client::FetchOptions {
            trust_peer: false,
            progress: Some(progress),
            prefill_checkout: false,
        },
    )
    .await;
    bar.finish_and_clear();
    session.conn.close(0, b"");
    let report = report.map_err(|e| {
        anyhow::Error::new(e).context(format!(
            "fetching from {} stopped; what arrived is kept and the next fetch resumes from there",
            remote.name
        ))
    })?;
    if json {
        println!("{}", fetch_json(&report));
    } else {
        print_fetch(&report, quiet);
    }
    Ok(report)
}
