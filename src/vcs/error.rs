//! [`VcsError`]: what can go wrong in version-control operations.

use std::path::PathBuf;

use crate::store::{ObjectId, StoreError};

/// Returned by [`super::Repo`] operations.
#[derive(Debug, thiserror::Error)]
pub enum VcsError {
    /// No repository here or above.
    #[error("not a gadn repository (or any parent up to /): {path}\nhint: run `gadn init` to create one")]
    NotARepo {
        /// Where the search started.
        path: PathBuf,
    },
    /// A revision expression names nothing.
    #[error("unknown revision '{rev}'{hint}")]
    UnknownRevision {
        /// The expression.
        rev: String,
        /// Extra advice.
        hint: String,
    },
    /// A short id matches several objects.
    #[error("short id '{prefix}' is ambiguous; candidates:\n{}", candidates.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n"))]
    AmbiguousId {
        /// The prefix typed.
        prefix: String,
        /// Matching ids.
        candidates: Vec<ObjectId>,
    },
    /// A path is not in the given revision or index.
    #[error("path '{path}' did not match any file{place}")]
    PathNotFound {
        /// The path.
        path: String,
        /// Where it was looked up.
        place: String,
    },
    /// A path lies outside the working tree or cannot be stored.
    #[error("bad path '{path}': {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// Why.
        reason: String,
    },
    /// The operation would lose uncommitted changes.
    #[error("{operation} would overwrite local changes to:{}\nhint: commit them, or pass --force to discard them", list_paths(paths))]
    DirtyTree {
        /// What was attempted.
        operation: &'static str,
        /// The endangered paths.
        paths: Vec<String>,
    },
    /// Untracked files stand where the operation must write (a file where a
    /// directory goes, or a directory with untracked content where a file goes).
    #[error("{operation} cannot proceed: untracked files are in the way:{}\nhint: move or delete them first", list_paths(paths))]
    InTheWay {
        /// What was attempted.
        operation: &'static str,
        /// The untracked paths in the way.
        paths: Vec<String>,
    },
    /// Nothing to commit.
    #[error("nothing to commit (the index matches {head}); use `gadn add` first")]
    NothingToCommit {
        /// What the index was compared with.
        head: String,
    },
    /// A bad identity string.
    #[error("bad identity '{text}': expected \"Name <email>\"")]
    BadIdentity {
        /// The text given.
        text: String,
    },
    /// No name or e-mail is configured to record as committer, tagger or lock holder.
    #[error(
        "who are you? {missing} not set, and gadn records no made-up identity\n\
         hint: `gadn config set --global user.name \"Your Name\"` and \
         `gadn config set --global user.email you@example.org` (every repository; \
         without --global, this one only), or set GADN_AUTHOR_NAME and \
         GADN_AUTHOR_EMAIL"
    )]
    NoIdentity {
        /// What is missing: `user.name`, `user.email` or both.
        missing: &'static str,
    },
    /// A path given to `add` is ignored.
    #[error("path '{path}' is ignored by .gadnignore; use --force to add it anyway")]
    Ignored {
        /// The path.
        path: String,
    },
    /// A ref update lost a race with another writer.
    #[error("{name} moved while this operation ran (now {actual}); nothing was changed, retry")]
    Raced {
        /// The ref.
        name: String,
        /// What it holds now.
        actual: String,
    },
    /// A working-tree file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The ignore file is malformed.
    #[error("{path}: {reason}")]
    IgnoreFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A branch or tag name breaks the ref-name rules.
    #[error("'{name}' is not a valid {what} name: it {reason}\nhint: pick a name without '..', spaces, '~^:?*[\\' or a '.lock' ending")]
    BadName {
        /// `branch` or `tag`.
        what: &'static str,
        /// The name as given.
        name: String,
        /// The rule broken.
        reason: String,
    },
    /// A branch to create already exists.
    #[error("a branch named '{name}' already exists\nhint: pick another name, or delete it first with `gadn branch -d {name}`")]
    BranchExists {
        /// The branch.
        name: String,
    },
    /// A branch named does not exist.
    #[error("no branch named '{name}'\nhint: `gadn branch` lists branches; `gadn switch -c {name}` creates one")]
    NoSuchBranch {
        /// The branch.
        name: String,
    },
    /// The current branch cannot be deleted.
    #[error("cannot delete branch '{name}': it is the current branch\nhint: switch to another branch first")]
    CurrentBranch {
        /// The branch.
        name: String,
    },
    /// Deleting the branch would lose commits no other branch or `HEAD` reaches.
    #[error("branch '{name}' has commits not reachable from HEAD or any other branch (tip {tip})\nhint: merge them first, or use `gadn branch -D {name}` to delete it anyway")]
    NotMerged {
        /// The branch.
        name: String,
        /// Its tip.
        tip: String,
    },
    /// There is no commit yet to start a branch or tag from.
    #[error("cannot create {what} '{name}': there are no commits yet\nhint: make a first commit with `gadn commit`")]
    NoCommitsYet {
        /// `branch` or `tag`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A tag to create already exists.
    #[error("tag '{name}' already exists\nhint: pick another name, or delete it first with `gadn tag --delete {name}`")]
    TagExists {
        /// The tag.
        name: String,
    },
    /// A tag named does not exist.
    #[error("no tag named '{name}'\nhint: `gadn tag --list` lists tags")]
    NoSuchTag {
        /// The tag.
        name: String,
    },
    /// A directory was named without `-r`.
    #[error("not removing directory '{path}' recursively without -r")]
    NotRecursive {
        /// The directory.
        path: String,
    },
    /// A move or rename would replace an existing path.
    #[error("destination '{path}' already exists; use -f to overwrite it")]
    DestinationExists {
        /// The destination.
        path: String,
    },
    /// Removing would lose changes that are not committed.
    #[error("{operation}: these files have changes that are not committed:\n{}\nhint: commit them, or pass -f/--force to {operation} them anyway", paths.iter().map(|p| format!("  {}", super::quote::quote_path(p))).collect::<Vec<_>>().join("\n"))]
    LocalChanges {
        /// What was attempted.
        operation: &'static str,
        /// The files with uncommitted changes.
        paths: Vec<String>,
    },
    /// A date given to a history filter cannot be read.
    #[error("cannot read date '{text}': {reason}")]
    BadDate {
        /// The text given.
        text: String,
        /// What was expected.
        reason: String,
    },
    /// A class given to a filter is none of the classes facts can hold.
    #[error("no asset class '{given}': the classes are {}", known.join(", "))]
    UnknownClass {
        /// The class given.
        given: String,
        /// Every class there is.
        known: Vec<String>,
    },
    /// A size given to a filter cannot be read.
    #[error("cannot read size '{text}': {reason}")]
    BadSize {
        /// The text given.
        text: String,
        /// What was expected.
        reason: String,
    },
    /// The history index stayed inconsistent with the store after a rebuild.
    #[error("the history index is inconsistent with the store even after a rebuild: {reason}\nhint: run `gadn fsck` to check the store")]
    HistoryIndex {
        /// What disagreed.
        reason: String,
    },
    /// A merge is already in progress.
    #[error("a merge (of {other}) is already in progress\nhint: resolve the conflicts and commit, or run `gadn merge --abort`")]
    MergeInProgress {
        /// The commit being merged in (short id).
        other: String,
    },
    /// No merge is in progress.
    #[error("no merge is in progress")]
    NoMergeInProgress,
    /// A lock cannot be taken on this path (untracked, a directory, detached `HEAD`,
    /// local changes, or a newer revision elsewhere).
    #[error("cannot lock '{path}': {reason}")]
    CannotLock {
        /// The path.
        path: String,
        /// Why, and what to do.
        reason: String,
    },
    /// This machine's key may not take or release locks: the repository has a
    /// member list, and it gives the key no role that writes
    /// (`store::members::may_write`, the rule pushes follow too).
    #[error("cannot {action} '{path}': {reason}\nhint: ask an owner to make this machine's key ({key}) a member: `gadn peer add NAME {key} --role member`")]
    MayNotWrite {
        /// `lock` or `unlock`.
        action: &'static str,
        /// The path.
        path: String,
        /// Why: the key's role, or that it is not a member.
        reason: String,
        /// This machine's key (`gadn1…`), or how to find it when it has none yet.
        key: String,
    },
    /// The repository's member list cannot be read (boxed: it is rare and large).
    #[error(transparent)]
    Members(Box<crate::store::members::MemberListError>),
    /// Someone else holds the lock on this path.
    #[error("'{path}' is locked by {owner} since {since}{hint}")]
    LockedByOther {
        /// The path.
        path: String,
        /// The holder, `Name <email>` and key.
        owner: String,
        /// When they took it.
        since: String,
        /// What to do (starts with a newline, or is empty).
        hint: String,
    },
    /// `unlock` of a path nobody holds.
    #[error("'{path}' is not locked\nhint: `gadn locks` lists the locks")]
    NotLocked {
        /// The path.
        path: String,
    },
    /// A commit would change files someone else has locked.
    #[error("cannot commit: these files are locked by someone else:\n{}\nhint: ask the owners to unlock them (`gadn locks` shows who), or pass --force to commit anyway", files.iter().map(|f| format!("  {f}")).collect::<Vec<_>>().join("\n"))]
    Locked {
        /// One line per file: `path (locked by Name <email> since TIME)`.
        files: Vec<String>,
    },
    /// The machine identity key could not be loaded or created.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    /// A path named to `resolve` is not conflicted.
    #[error("'{path}' has no unresolved merge conflict\nhint: `gadn status` lists the conflicts")]
    NotConflicted {
        /// The path.
        path: String,
    },
    /// Conflicts remain unresolved.
    #[error("cannot commit: these paths still have merge conflicts:\n{}\nhint: run `gadn resolve PATH --ours|--theirs|--both` for each, or `gadn merge --abort`", paths.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    UnresolvedConflicts {
        /// The conflicted paths, with their kinds.
        paths: Vec<String>,
    },
    /// A `resolve` choice does not apply to this kind of conflict.
    #[error("cannot resolve '{path}' that way: {reason}")]
    CannotResolve {
        /// The conflicted path.
        path: String,
        /// Why, and what applies instead.
        reason: String,
    },
    /// `resolve --merged` found conflict markers still in the working file.
    #[error("'{path}' still has conflict markers (line {})\nhint: edit the file until no `<<<<<<<`, `|||||||`, `=======` or `>>>>>>>` line remains, or pick --ours/--theirs", lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "))]
    MarkersLeft {
        /// The file.
        path: String,
        /// 1-based numbers of the marker lines.
        lines: Vec<usize>,
    },
    /// The recorded merge state cannot be read.
    #[error("the merge state is damaged: {reason}\nhint: `gadn merge --abort` returns to HEAD")]
    BadMergeState {
        /// What is wrong.
        reason: String,
    },
    /// Metadata was edited or asked for on a path the index does not track.
    #[error("'{path}' is not tracked; gadn add it first")]
    NotTracked {
        /// The repository path.
        path: String,
    },
    /// Metadata belongs to files, not directories.
    #[error(
        "'{path}' is a directory; metadata belongs to single files\nhint: name a file inside it"
    )]
    MetaOnDirectory {
        /// The repository path (`/` for the root).
        path: String,
    },
    /// A metadata edit is malformed or breaks the field rules.
    #[error("bad metadata: {reason}")]
    BadMeta {
        /// What is wrong.
        reason: String,
    },
}

impl VcsError {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VcsError {
        let path = path.into();
        move |source| VcsError::Io { path, source }
    }
}

impl From<crate::store::db::DbError> for VcsError {
    fn from(e: crate::store::db::DbError) -> Self {
        VcsError::Store(StoreError::Db(e))
    }
}

impl From<crate::store::object::ObjectError> for VcsError {
    fn from(e: crate::store::object::ObjectError) -> Self {
        VcsError::Store(StoreError::Object(e))
    }
}

/// Up to 20 paths, one per indented line (each preceded by a newline, quoted by
/// [`super::quote::quote_path`]), then a count of the rest.
fn list_paths(paths: &[String]) -> String {
    let mut out: String = (paths.iter().take(20))
        .map(|p| format!("\n  {}", super::quote::quote_path(p)))
        .collect();
    if paths.len() > 20 {
        out.push_str(&format!("\n  ... and {} more", paths.len() - 20));
    }
    out
}

impl From<crate::store::members::MemberListError> for VcsError {
    fn from(e: crate::store::members::MemberListError) -> Self {
        VcsError::Members(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::DbError;
    use crate::store::object::ObjectError;
    use crate::store::ObjectKind;

    #[test]
    fn messages_say_what_went_wrong_and_what_to_do() {
        let id = ObjectId::of_chunk(b"x");
        let cases: Vec<(VcsError, String)> = vec![
            (
                VcsError::NotARepo {
                    path: "/w/x".into(),
                },
                "not a gadn repository (or any parent up to /): /w/x\nhint: run `gadn init` to create one".into(),
            ),
            (
                VcsError::UnknownRevision {
                    rev: "v9".into(),
                    hint: " (no such parent)".into(),
                },
                "unknown revision 'v9' (no such parent)".into(),
            ),
            (
                VcsError::PathNotFound {
                    path: "a/b".into(),
                    place: " in HEAD".into(),
                },
                "path 'a/b' did not match any file in HEAD".into(),
            ),
            (
                VcsError::BadPath {
                    path: "../x".into(),
                    reason: "outside the working tree /w".into(),
                },
                "bad path '../x': outside the working tree /w".into(),
            ),
            (
                VcsError::NothingToCommit {
                    head: "abc123".into(),
                },
                "nothing to commit (the index matches abc123); use `gadn add` first".into(),
            ),
            (
                VcsError::BadIdentity { text: "Ada".into() },
                "bad identity 'Ada': expected \"Name <email>\"".into(),
            ),
            (
                VcsError::Ignored {
                    path: "x.tmp".into(),
                },
                "path 'x.tmp' is ignored by .gadnignore; use --force to add it anyway".into(),
            ),
            (
                VcsError::Raced {
                    name: "refs/heads/main".into(),
                    actual: "nothing".into(),
                },
                "refs/heads/main moved while this operation ran (now nothing); nothing was changed, retry".into(),
            ),
            (
                VcsError::IgnoreFile {
                    path: "/w/.gadnignore".into(),
                    reason: "bad glob".into(),
                },
                "/w/.gadnignore: bad glob".into(),
            ),
            (
                VcsError::AmbiguousId {
                    prefix: "abcd".into(),
                    candidates: vec![id, id],
                },
                format!("short id 'abcd' is ambiguous; candidates:\n  {id}\n  {id}"),
            ),
            (
                VcsError::io("/w/f")(std::io::Error::other("disk on fire")),
                "/w/f: disk on fire".into(),
            ),
            (
                StoreError::NotFound { id }.into(),
                format!("object {id} not found in the store"),
            ),
            (
                DbError::BadIndexPath {
                    path: "a//b".into(),
                    reason: "it contains '//'",
                }
                .into(),
                "'a//b' cannot be stored in the index: it contains '//'".into(),
            ),
            (
                ObjectError::NotCanonical {
                    kind: ObjectKind::Tree,
                }
                .into(),
                "tree object is not canonically encoded".into(),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want, "{err:?}");
        }
    }

    #[test]
    fn dirty_tree_lists_twenty_paths_and_counts_the_rest() {
        let few = VcsError::DirtyTree {
            operation: "checkout",
            paths: vec!["a".into(), "b/c".into()],
        };
        assert_eq!(
            few.to_string(),
            "checkout would overwrite local changes to:\n  a\n  b/c\nhint: commit them, or pass --force to discard them"
        );
        let many = VcsError::DirtyTree {
            operation: "checkout",
            paths: (0..25).map(|i| format!("f{i:02}")).collect(),
        };
        let msg = many.to_string();
        assert!(msg.contains("\n  f19\n  ... and 5 more\nhint: "), "{msg}");
        assert!(!msg.contains("f20"), "{msg}");
        let exactly = VcsError::DirtyTree {
            operation: "checkout",
            paths: (0..20).map(|i| format!("f{i:02}")).collect(),
        };
        assert!(!exactly.to_string().contains("more"));
    }

    #[test]
    fn path_lists_in_errors_quote_names_that_would_break_a_line() {
        let odd = vec!["a\nb".to_string(), "plain".to_string()];
        let e = VcsError::DirtyTree {
            operation: "switch",
            paths: odd.clone(),
        };
        assert!(e.to_string().contains("to:\n  \"a\\nb\"\n  plain\n"), "{e}");
        let e = VcsError::InTheWay {
            operation: "checkout",
            paths: odd.clone(),
        };
        assert!(e.to_string().contains("\n  \"a\\nb\"\n"), "{e}");
    }
}
