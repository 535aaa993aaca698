//! What happened to a path between two trees (or a tree, the index and the working
//! tree): the vocabulary of status, diff and history.

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// New path.
    Added,
    /// Content (or metadata) changed.
    Modified,
    /// Path gone.
    Deleted,
    /// Became a file, executable or symlink of another kind.
    TypeChanged,
    /// Moved from [`Change::from`] with the same content.
    Renamed,
}

impl ChangeKind {
    /// One-letter code as `git status --short` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'M',
            ChangeKind::Deleted => 'D',
            ChangeKind::TypeChanged => 'T',
            ChangeKind::Renamed => 'R',
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    /// Repository path.
    pub path: String,
    /// What changed.
    pub kind: ChangeKind,
    /// Size in bytes of the new version (old version for deletions).
    pub size: Option<u64>,
    /// For renames: the old path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Change {
    pub(crate) fn new(path: &str, kind: ChangeKind, size: Option<u64>) -> Change {
        Change {
            path: path.into(),
            kind,
            size,
            from: None,
        }
    }
}
