//! [`Error`]: what an operation can fail with.

use std::path::PathBuf;

use crate::identity::IdentityError;
#[cfg(feature = "preview")]
use crate::preview::PreviewError;
use crate::store::db::DbError;
use crate::store::StoreError;
#[cfg(feature = "sync")]
use crate::sync::discovery::DiscoveryError;
#[cfg(feature = "sync")]
use crate::sync::SyncError;
use crate::vcs::VcsError;

/// Returned by the operations of [`ops`](crate::ops). Variants that wrap a
/// layer's error keep it as their [`source`](std::error::Error::source); the
/// others say which peer or directory and what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The repository layer failed.
    #[error(transparent)]
    Vcs(#[from] VcsError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store's database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    #[cfg(feature = "sync")]
    /// Talking to a peer failed (before any transfer began).
    #[error(transparent)]
    Sync(Box<SyncError>),
    #[cfg(feature = "preview")]
    /// Making previews failed.
    #[error(transparent)]
    Preview(#[from] PreviewError),
    /// This machine's identity could not be read.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[cfg(feature = "sync")]
    /// Reading or changing the member list failed, or the change was refused.
    #[error(transparent)]
    Members(#[from] crate::sync::members::MembersError),
    #[cfg(feature = "sync")]
    /// LAN discovery failed.
    #[error("LAN discovery failed")]
    Discovery(#[source] DiscoveryError),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// A file or directory could not be read or written.
    #[error("cannot use {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A peer address is not `HOST:PORT`.
    #[error("'{addr}' is not a HOST:PORT address: {why} (e.g. 192.168.1.20:7420 or studio-pc.local:7420)")]
    BadAddress {
        /// The address given.
        addr: String,
        /// The rule it breaks.
        why: &'static str,
    },
    /// No address of the peer resolved.
    #[error("cannot resolve {0}")]
    Unresolvable(String),
    #[cfg(feature = "sync")]
    /// A clone's transfer stopped; what arrived is kept.
    #[error(
        "the clone stopped; what arrived is kept: run the same command again to resume ({})",
        dir.display()
    )]
    CloneStopped {
        /// The clone's directory.
        dir: PathBuf,
        /// Why it stopped.
        #[source]
        source: Box<SyncError>,
    },
    #[cfg(feature = "sync")]
    /// A fetch's transfer stopped; what arrived is kept.
    #[error(
        "fetching from {peer} stopped; what arrived is kept and the next fetch resumes from there"
    )]
    FetchStopped {
        /// The peer fetched from.
        peer: String,
        /// Why it stopped.
        #[source]
        source: Box<SyncError>,
    },
    #[cfg(feature = "sync")]
    /// A fetch stopped on a record of this store that fails its check: fetching
    /// never replaces what is stored, so it would stop there again.
    #[error(
        "this store is damaged: run `gadn fsck --repair` to refetch the damaged records \
         from a peer (fetching from {peer} stopped)"
    )]
    LocalDamaged {
        /// The peer fetched from.
        peer: String,
        /// What was damaged.
        #[source]
        source: Box<SyncError>,
    },
    /// The clone's directory holds another repository.
    #[error("{} holds another repository ({found}); clone into a new directory", dir.display())]
    OtherRepository {
        /// The directory.
        dir: PathBuf,
        /// The repository id found there.
        found: String,
    },
    /// The clone's directory is a clone that already has commits.
    #[error("{} is already a clone with commits; use `gadn fetch` there", .0.display())]
    AlreadyCloned(PathBuf),
    /// The clone's directory exists and is not empty.
    #[error("{} exists and is not empty", .0.display())]
    NotEmpty(PathBuf),
    /// The peer announced chunking parameters this side cannot use.
    #[error("the peer's chunking parameters are unusable: {0}")]
    Chunking(String),
    /// Pull without a branch name on a detached HEAD.
    #[error("HEAD is detached: name the branch to merge")]
    DetachedHead,
    /// Pull of a branch the peer does not have.
    #[error("{peer} has no branch {branch}")]
    NoRemoteBranch {
        /// The peer.
        peer: String,
        /// The branch asked for.
        branch: String,
    },
    /// Push without branch names, and no current branch with commits.
    #[error("no current branch with commits: name the branch to push")]
    NothingToPush,
    /// Push of a branch that does not exist here.
    #[error("no branch '{0}' here")]
    NoSuchBranch(String),
    /// A directory named as a store to repair from holds no store.
    #[error("{} is not a gadn store, a repository or a Git repository with a gadn store", .0.display())]
    NotAStore(PathBuf),
    /// The Git repository has no gadn store.
    #[error("no gadn store at {}; run `gadn git install` first", .0.display())]
    NoGitStore(PathBuf),
    /// The Git side failed.
    #[cfg(feature = "git")]
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    /// gc refused: references point at missing or damaged objects.
    #[error(transparent)]
    GcRefused(#[from] crate::store::GcRefused),
    /// An asset has no preview and none can be made.
    #[error("{path}: no preview: {why}")]
    NoPreview {
        /// The asset's path.
        path: String,
        /// Why.
        why: String,
    },
    /// An asset's preview has no item of the role asked for.
    #[error("{path}: the preview has no {role} item (it has: {have})")]
    NoPreviewItem {
        /// The asset's path.
        path: String,
        /// The role asked for.
        role: &'static str,
        /// The items it has, as `ROLE LEVEL`, or `none`.
        have: String,
    },
    /// A revision path names a directory, or nothing that is a file.
    #[error("{0} names a directory or a commit, not a file: name a file (REV:PATH), or preview a whole revision (`gadn preview --all REV`)")]
    NotAFile(String),
    /// `gadn config` was given a key gadn does not read.
    #[error("unknown key '{key}' (known: {known}; keys starting x- are free)")]
    UnknownSetting {
        /// The key given.
        key: String,
        /// The keys gadn reads.
        known: String,
    },
    /// `gadn config unset` of a key that is not set in that scope.
    #[error("'{0}' is not set")]
    SettingNotSet(String),
    /// No home directory is known for the global settings file.
    #[error("cannot find the global config file: set GADN_HOME (or HOME)")]
    NoGlobalConfig,
    /// A repository setting was asked for outside a repository.
    #[error("not in a gadn repository: run this inside one, or use --global")]
    NeedsRepository,
    /// A background task of the server ended abnormally.
    #[error("the server task failed: {0}")]
    ServerTask(String),
}

#[cfg(feature = "sync")]
impl From<SyncError> for Error {
    /// Boxed: a sync error is large, and every operation returns this type.
    fn from(e: SyncError) -> Error {
        Error::Sync(Box::new(e))
    }
}

/// The broad kind of a failure, for callers that map failures to exit codes or
/// retry policies (see [`classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Failure {
    /// No repository at or above the directory.
    NotARepository,
    /// A lock is held by someone else: the store's write lock by another process
    /// (after waiting `GADN_LOCK_TIMEOUT`), or an advisory file lock by another
    /// member.
    LockHeld,
    /// Damage in the store stopped the command (gc refusing a damaged store, a
    /// fetch stopped by a damaged record here), or `fsck --repair` left some.
    Damage,
    /// Anything else.
    Other,
}

/// The [`Failure`] kind of `e`: the first error along its `source()` chain that is
/// a known kind decides. Transparent wrappers (`ops::Error::Vcs`, `VcsError::Store`,
/// `StoreError::Lock`, …) are looked through.
pub fn classify(e: &(dyn std::error::Error + 'static)) -> Failure {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let kind = if err.is::<crate::store::GcRefused>() {
            Some(Failure::Damage)
        } else if let Some(o) = err.downcast_ref::<Error>() {
            of_ops(o)
        } else if let Some(v) = err.downcast_ref::<VcsError>() {
            of_vcs(v)
        } else if let Some(s) = err.downcast_ref::<StoreError>() {
            of_store(s)
        } else {
            err.downcast_ref::<crate::store::lock::LockError>()
                .and_then(of_lock)
        };
        if let Some(k) = kind {
            return k;
        }
        cur = err.source();
    }
    Failure::Other
}

fn of_ops(e: &Error) -> Option<Failure> {
    match e {
        Error::GcRefused(_) => Some(Failure::Damage),
        #[cfg(feature = "sync")]
        Error::LocalDamaged { .. } => Some(Failure::Damage),
        Error::Vcs(v) => of_vcs(v),
        Error::Store(s) => of_store(s),
        #[cfg(feature = "sync")]
        Error::Members(crate::sync::members::MembersError::Store(s)) => of_store(s),
        _ => None,
    }
}

fn of_vcs(e: &VcsError) -> Option<Failure> {
    match e {
        VcsError::NotARepo { .. } => Some(Failure::NotARepository),
        VcsError::LockedByOther { .. } | VcsError::Locked { .. } => Some(Failure::LockHeld),
        VcsError::Store(s) => of_store(s),
        _ => None,
    }
}

fn of_store(e: &StoreError) -> Option<Failure> {
    match e {
        StoreError::Lock(l) => of_lock(l),
        _ => None,
    }
}

fn of_lock(e: &crate::store::lock::LockError) -> Option<Failure> {
    matches!(e, crate::store::lock::LockError::Busy { .. }).then_some(Failure::LockHeld)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::lock::LockError;

    fn busy() -> LockError {
        LockError::Busy {
            path: "/x/.gadn/lock".into(),
            holder: Some(1),
            waited: Duration::from_secs(1),
        }
    }

    #[test]
    fn kinds_are_found_through_every_wrapper() {
        let not_repo = || VcsError::NotARepo { path: "/x".into() };
        assert_eq!(classify(&not_repo()), Failure::NotARepository);
        assert_eq!(classify(&Error::Vcs(not_repo())), Failure::NotARepository);
        assert_eq!(classify(&busy()), Failure::LockHeld);
        assert_eq!(classify(&StoreError::Lock(busy())), Failure::LockHeld);
        assert_eq!(
            classify(&Error::Vcs(VcsError::Store(StoreError::Lock(busy())))),
            Failure::LockHeld
        );
        assert_eq!(
            classify(&Error::Store(StoreError::Lock(busy()))),
            Failure::LockHeld
        );
        assert_eq!(
            classify(&VcsError::Locked { files: vec![] }),
            Failure::LockHeld
        );
        assert_eq!(classify(&Error::DetachedHead), Failure::Other);
        assert_eq!(classify(&std::io::Error::other("x")), Failure::Other);
    }

    #[test]
    fn a_kind_behind_a_plain_source_is_found() {
        #[derive(Debug, thiserror::Error)]
        #[error("while doing something")]
        struct Outer(#[source] VcsError);
        assert_eq!(
            classify(&Outer(VcsError::NotARepo { path: "/y".into() })),
            Failure::NotARepository
        );
    }
}
