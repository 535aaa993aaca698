//! Operations: every network and orchestration command of `gadn` as one library
//! call.
//!
//! An *operation* is what one `gadn` command does from start to end — clone a
//! repository from a peer, fetch, pull, push, sync with every member, serve, make
//! the previews after a commit. Each is one function here ([`clone`], [`fetch`],
//! [`pull`], [`push`], [`sync`], [`preview_after_commit`]) or, for a long-running
//! one, a builder ([`Server`]) whose [`Server::start`] returns a handle. The
//! command line only parses its arguments, calls one of them and prints the
//! result; a Rust program, a test or a binding makes the same call.
//!
//! * **Options.** Each operation takes an options struct (`CloneOptions`,
//!   `FetchOptions`…) naming who acts ([`MachineKey`](crate::identity::MachineKey)),
//!   where, and how, and the [`Progress`] to report to.
//! * **Reports.** Each returns a typed report (`CloneReport`, `FetchReport`…) that
//!   derives [`serde::Serialize`]. `gadn … --json` prints exactly
//!   `serde_json::to_string(&report)`, so the JSON and the library agree by
//!   construction.
//! * **Errors.** One [`Error`] type: the layers' errors, plus what only an
//!   operation knows (which peer, which directory, what to do next — "what arrived
//!   is kept: run the same command again to resume").
//! * **Progress.** Long phases report to a [`Progress`] (start, advance, finish).
//!   [`NoProgress`] ignores it; the command line draws bars.
//! * **Runtime.** Operations are blocking calls: those that talk to peers build
//!   their own tokio runtime for the call (the [`ServerHandle`] owns one for the
//!   server's life). Do not call them from inside an async task; use
//!   `spawn_blocking` there. A caller needs no tokio of its own.
//!
//! # Example
//!
//! Commit a file, serve it, clone it into a second directory in the same process,
//! read it back (`examples/commit_and_clone.rs` is the same program):
//!
//! ```
//! # #[cfg(feature = "sync")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::PathBuf;
//! use std::sync::Arc;
//!
//! use gadn::identity::MachineKey;
//! use gadn::ops::{self, CloneOptions, Server};
//! use gadn::vcs::{CommitOptions, Repo};
//! use gadn::{ChunkParams, Role};
//!
//! let d = tempfile::tempdir()?;
//! let (alice, bob) = (
//!     Arc::new(MachineKey::from_seed([1; 32])),
//!     Arc::new(MachineKey::from_seed([2; 32])),
//! );
//! let mut repo = Repo::init(&d.path().join("alice"), ChunkParams::DEFAULT)?;
//! let root = repo.root().to_path_buf();
//! std::fs::write(root.join("hello.txt"), b"hello, peer")?;
//! repo.add(&root, &[PathBuf::from("hello.txt")], false, &|_, _| {})?;
//! let author = Some(gadn::vcs::parse_ident("Alice <alice@example.org>")?);
//! repo.commit(&CommitOptions { message: "hello".into(), author, ..Default::default() })?;
//! // Only members connect: alice founds the member list and adds bob.
//! gadn::sync::members::add(repo.store_mut(), &alice, "alice", "bob", bob.public(), Role::Member)?;
//!
//! let server = Server::new(&root, alice.clone())
//!     .listen("127.0.0.1:0".parse()?)
//!     .lan(None)
//!     .start()?;
//! let source = format!("{}@{}", alice.public().to_text(), server.local_addr());
//! let report = ops::clone(&CloneOptions::new(bob, &source, &d.path().join("bob")))?;
//! server.shutdown()?;
//! assert_eq!(report.branch.as_deref(), Some("main"));
//! assert_eq!(std::fs::read(report.dir.join("hello.txt"))?, b"hello, peer");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "sync"))]
//! # fn main() {}
//! ```

mod config;
mod error;
mod inspect;
mod maintenance;
#[cfg(feature = "sync")]
mod net;
#[cfg(feature = "sync")]
mod peer;
#[cfg(feature = "preview")]
mod preview;
mod progress;
#[cfg(feature = "sync")]
mod repair;
#[cfg(feature = "sync")]
mod serve;
#[cfg(all(test, feature = "sync", feature = "preview"))]
mod tests;
#[cfg(all(test, feature = "sync"))]
mod tests_repair;
#[cfg(all(test, feature = "preview"))]
mod tests_snapshot;
#[cfg(all(test, feature = "sync"))]
mod tests_swarm;

#[cfg(feature = "sync")]
pub use crate::store::repair::Want;
/// What [`fsck`] and [`stats`] report (store types, re-exported for callers).
pub use crate::store::{FsckReport, StoreStats};
/// The settings [`config_list`] reports (store types, re-exported for callers).
pub use crate::store::{GlobalConfig, Setting, SettingOrigin};
pub use config::{
    check_setting, config_get, config_list, config_set, config_unset, ConfigValue, Layers, Scope,
    KNOWN_KEYS,
};
pub use error::{classify, Error, Failure};
pub use inspect::{fsck, last_fsck_problems, stats, StoreOf, FSCK_DAMAGED_KEY};
#[cfg(feature = "git")]
pub use maintenance::git_gc;
pub use maintenance::{
    gc, reflog, GcOptions, GcReport, ReflogLine, REFLOG_EXPIRE_DAYS, REFLOG_EXPIRE_UNREACHABLE_DAYS,
};
#[cfg(feature = "sync")]
pub use net::{
    clone, clone_and_serve, fetch, interrupted_clone, pull, push, sync, CloneOptions, CloneReport,
    FetchOptions, FetchReport, FoundPeer, PeerFailure, PullOptions, PullReport, PushOptions,
    PushReport, RefChange, SyncOptions, SyncReport, CLONE_INCOMPLETE_KEY,
};
#[cfg(feature = "sync")]
pub use peer::{
    check_addr, founder_name, peer_add, peer_list, peer_remove, peer_set_addr, PeerAddOptions,
    PeerAddReport, PeerAddrReport, PeerChange, PeerInfo, PeerRemoved,
};
#[cfg(feature = "preview")]
pub use preview::{
    ensure_preview, pick_item, preview_after_commit, preview_asset, preview_revision,
    primary_picture, AfterCommitOptions, AfterCommitReport, Asset, AssetPreviewOptions,
    AssetPreviewReport, ItemView, PreviewOptions, PreviewView, WriteItem, WrittenItem,
    PREVIEW_LOCK,
};
pub use progress::{NoProgress, Progress, Unit};
#[cfg(feature = "sync")]
pub use repair::{
    fsck_repair, RepairOptions, RepairReport, Repaired, SourceReport, StillDamaged, MAX_ROUNDS,
};
#[cfg(feature = "sync")]
pub use serve::{Server, ServerHandle};

/// A multi-threaded runtime for one operation.
#[cfg(feature = "sync")]
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// `e` and its causes, `: `-joined (as `{:#}` prints an `anyhow` chain).
#[cfg(feature = "sync")]
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
