//! Version control over the store: a working tree, its index, commits and history.
//!
//! A [`Repo`] is a working-tree directory with a `.gadn` store inside. The index (the
//! staging area plus the stat cache, as in git) lives in the store's SQLite database;
//! this layer decides what goes in it.

mod branch;
mod change;
mod checkout;
mod commit;
mod diff;
mod error;
pub mod facts;
mod find;
mod histindex;
mod history;
mod ident;
mod ignore;
mod lock;
mod log;
mod merge;
#[cfg(test)]
mod merge_props;
mod meta;
mod mv;
mod path;
pub mod pattern;
mod quote;
mod restore;
mod revparse;
mod rm;
mod scan;
mod sidecar;
mod signing;
mod tag;
#[cfg(test)]
pub(crate) mod testutil;
mod treeops;
mod walk;
mod workfile;

/// Store types that appear in this layer's API (resolved entries, commits, their
/// people, the metadata key of version tags), re-exported so callers need nothing
/// under `store`.
pub use crate::store::object::{assetmeta::TAGS, Commit, EntryKind, Person};
pub use branch::BranchInfo;
pub use checkout::{CheckoutOptions, CheckoutReport};
pub use commit::AddReport;
pub use commit::CommitOptions;
pub use diff::{meta_changes, MetaChange};
pub use diff::{DiffOptions, DiffReport, FileDiff};
pub use error::VcsError;
pub use facts::{detect, Facts, SNIFF_LEN};
pub use find::{parse_size, FindFilter, FoundAsset};
pub use history::HistoryEntry;
pub use ident::{format_time, parse_ident, Identity};
pub use lock::{LockInfo, LockReport, UnlockReport, NEWER_REFS};
pub use log::{parse_date, LogEntry, LogFilter};
pub use merge::{
    base_tree, merge_base, merge_bases, merge_text, merge_trees, theirs_name, Conflict,
    ConflictKind, MergeObjects, MergeOutcome, Resolution, TextMerge, TreeMerge,
};
pub use meta::{MetaEdit, MetaView};
pub use mv::MvReport;
pub use path::{to_index_path, to_repo_path};
pub use pattern::{PathPatterns, PatternError};
pub use quote::quote_path;
pub use restore::{RestoreOptions, RestoreReport};
pub use revparse::Resolved;
pub use rm::{RmOptions, RmReport};
pub use scan::{Change, ChangeKind, Status};
pub use sidecar::{asset_of, sidecars_of, SidecarRule, SIDECAR_RULES};
pub use signing::{sign_commit, verify_commit, SignatureCheck, COMMIT_SIGNATURE_CONTEXT};
pub use tag::TagInfo;
pub use treeops::{flatten, FlatEntry, TreeDiff};

use std::path::{Path, PathBuf};

use crate::store::chunker::ChunkParams;
use crate::store::{Store, STORE_DIR};

/// A working tree and its store.
#[derive(Debug)]
pub struct Repo {
    root: PathBuf,
    store: Store,
}

impl Repo {
    /// Creates `root/.gadn` with these chunking parameters.
    pub fn init(root: &Path, params: ChunkParams) -> Result<Repo, VcsError> {
        std::fs::create_dir_all(root).map_err(VcsError::io(root))?;
        let root = root.canonicalize().map_err(VcsError::io(root))?;
        let store = Store::init(&root.join(STORE_DIR), params)?;
        Ok(Repo { root, store })
    }

    /// Opens the repository containing `start` (searching upward, as git does).
    pub fn discover(start: &Path) -> Result<Repo, VcsError> {
        let start = start.canonicalize().map_err(VcsError::io(start))?;
        let mut dir = Some(start.as_path());
        while let Some(d) = dir {
            if d.join(STORE_DIR).join(crate::store::DB_FILE).is_file() {
                return Repo::open(d);
            }
            dir = d.parent();
        }
        Err(VcsError::NotARepo { path: start })
    }

    /// Opens the repository whose working tree is exactly `root`.
    pub fn open(root: &Path) -> Result<Repo, VcsError> {
        let root = root.canonicalize().map_err(VcsError::io(root))?;
        let store = Store::open(&root.join(STORE_DIR))?;
        Ok(Repo { root, store })
    }

    /// The working-tree root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, mutably.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }
}

impl Repo {
    /// What a commit changed relative to its first parent (renames paired).
    pub fn commit_changes(&self, id: &crate::store::ObjectId) -> Result<Vec<Change>, VcsError> {
        let c = self.store().commit(id)?;
        let new = treeops::flatten(self.store(), &c.tree)?;
        let old = match c.parents.first() {
            Some(p) => treeops::flatten(self.store(), &self.store().commit(p)?.tree)?,
            None => Vec::new(),
        };
        Ok(treeops::diff(&old, &new, true).changes)
    }
}
