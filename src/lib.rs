//! gadn — a serverless, content-addressed store and distribution network for large files.
//!
//! Layers, each calling only the ones below it (see `../shared/design.md`):
//!
//! * [`store`] — ids, chunker, pack files, object kinds, mutable state in SQLite, the
//!   store lock, fsck / gc / stats. Knows nothing of working trees or networks.
//! * [`vcs`] — the working tree, staging index, commits, history.
//! * [`sync`] — the QUIC protocol between peers: fetch, push, serving, LAN
//!   discovery, members.
//! * [`ops`] — every network and orchestration command as one call taking
//!   options and returning a serializable report: clone, fetch, pull, push, sync,
//!   serve, previews after a commit.
//! * `cli` (in the binary) — a thin clap layer: parses, calls [`vcs`] or [`ops`],
//!   prints. It reaches nothing under [`store`]; the store types it needs are
//!   re-exported here.
//!
//! # Example
//!
//! Commit a file and read it back:
//!
//! ```
//! use std::path::PathBuf;
//!
//! use gadn::vcs::{CommitOptions, Repo};
//! use gadn::ChunkParams;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let d = tempfile::tempdir()?;
//! let mut repo = Repo::init(d.path(), ChunkParams::DEFAULT)?;
//! std::fs::write(d.path().join("notes.txt"), b"first draft")?;
//! repo.add(d.path(), &[PathBuf::from("notes.txt")], false, &|_, _| {})?;
//! // Who commits: `user.name`/`user.email` (config or GADN_AUTHOR_NAME/EMAIL), else
//! // the author given; with neither, the commit is refused.
//! let author = Some(gadn::vcs::parse_ident("Ada <ada@example.org>")?);
//! let commit = repo.commit(&CommitOptions { message: "draft".into(), author, ..Default::default() })?;
//!
//! std::fs::write(d.path().join("notes.txt"), b"overwritten")?;
//! let entry = repo.resolve(&format!("{}:notes.txt", commit.to_hex()))?;
//! let gadn::vcs::Resolved::Entry { entry, .. } = entry else { panic!("a file") };
//! assert_eq!(repo.store().read_file_bytes(&entry.id)?, b"first draft");
//! # Ok(())
//! # }
//! ```
//!
//! Cloning from a peer in the same process is the example of [`ops`].
//!
//! # Features
//!
//! All on by default; a library user turns off what they do not need
//! (`default-features = false`):
//!
//! | feature | what it adds | what it pulls in |
//! |---|---|---|
//! | `sync` | `sync` and the network half of [`ops`] (clone, fetch, pull, push, sync, serve) | tokio, quinn, rustls, rcgen, socket2 |
//! | `preview` | `preview` and [`ops`]' previews after a commit | image, image_dds, ktx2, symphonia, gltf, tobj, meshopt, flate2 |
//! | `git` | `git`: the Git filter, the git-lfs transfer agent, LFS pointers | (nothing more) |
//! | `cli` | the `gadn` binary (implies the other three) | clap, indicatif, anyhow, tracing-subscriber |
//!
//! With none, the crate is the store and version control: chunking, packs, SQLite
//! state, commits, branches, merges, checkouts.
//!
//! Byte layouts are specified in `store-format.md`; doc comments name its sections.
#![deny(missing_docs)]

#[cfg(feature = "git")]
pub mod git;
pub mod identity;
pub mod ops;
#[cfg(feature = "preview")]
pub mod preview;
pub mod store;
#[cfg(feature = "sync")]
pub mod sync;
pub mod vcs;

pub use store::chunker::ChunkParams;
pub use store::object::Role;
pub use store::size;
pub use store::{ObjectId, Store};
