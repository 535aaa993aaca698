//! [`EntryKind`]: what a tree entry names (`store-format.md` § *Tree*).

/// The kind of a tree entry. The numeric values are written in tree objects and in
/// the index table and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EntryKind {
    /// A regular file; the entry names a file object.
    File = 0,
    /// A regular file with the executable bit; the entry names a file object.
    Executable = 1,
    /// A directory; the entry names a tree object.
    Dir = 2,
    /// A symbolic link; the entry names a file object holding the link target.
    Symlink = 3,
}

impl EntryKind {
    /// Decodes the stored byte, `None` for an unknown kind.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(EntryKind::File),
            1 => Some(EntryKind::Executable),
            2 => Some(EntryKind::Dir),
            3 => Some(EntryKind::Symlink),
            _ => None,
        }
    }

    /// Name used in listings and JSON.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Executable => "exec",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
        }
    }

    /// True for kinds whose content is a file object (everything but directories).
    pub fn is_blob(self) -> bool {
        self != EntryKind::Dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for k in [
            EntryKind::File,
            EntryKind::Executable,
            EntryKind::Dir,
            EntryKind::Symlink,
        ] {
            assert_eq!(EntryKind::from_u8(k as u8), Some(k));
            assert!(!k.name().is_empty());
            assert_eq!(k.is_blob(), k != EntryKind::Dir);
        }
        assert_eq!(EntryKind::from_u8(4), None);
    }
}
