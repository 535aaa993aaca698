//! gadn — a serverless, content-addressed store and distribution network for large files.
//!
//! Layers, each calling only the ones below it (see `../shared/design.md`):
//!
//! * [`store`] — ids, chunker, pack files, object kinds, mutable state in SQLite, the
//!   store lock, fsck / gc / stats. Knows nothing of working trees or networks.
//! * [`vcs`] — the working tree, staging index, commits, history.
//! * `cli` (in the binary) — a thin clap layer over the library.
//!
//! Byte layouts are specified in `store-format.md`; doc comments name its sections.
#![deny(missing_docs)]

pub mod git;
pub mod identity;
pub mod preview;
pub mod store;
pub mod sync;
pub mod vcs;
