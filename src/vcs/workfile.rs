//! A working-tree file and its `lstat` data, as the walk finds it and the index
//! records it.

use std::os::unix::fs::MetadataExt;

use crate::store::db::IndexEntry;
use crate::store::object::EntryKind;
use crate::store::ObjectId;

/// A working-tree file and its `lstat` data.
#[derive(Debug, Clone)]
pub struct WorkFile {
    /// Repository path.
    pub path: String,
    /// File, executable or symlink.
    pub kind: EntryKind,
    /// Bytes.
    pub size: u64,
    /// Modification time, ns.
    pub mtime_ns: i64,
    /// Status-change time, ns.
    pub ctime_ns: i64,
    /// Inode.
    pub ino: u64,
    /// Device.
    pub dev: u64,
}

impl WorkFile {
    /// From `lstat` data; `None` for directories and special files.
    pub fn from_meta(path: String, m: &std::fs::Metadata) -> Option<WorkFile> {
        let ft = m.file_type();
        let kind = if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_file() {
            if m.mode() & 0o100 != 0 {
                EntryKind::Executable
            } else {
                EntryKind::File
            }
        } else {
            return None;
        };
        Some(WorkFile {
            path,
            kind,
            size: m.len(),
            mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
            ino: m.ino(),
            dev: m.dev(),
        })
    }

    /// The index entry recording this file with content `file_id` and metadata `meta`.
    pub fn to_index(&self, file_id: ObjectId, meta: Option<ObjectId>) -> IndexEntry {
        IndexEntry {
            path: self.path.clone(),
            kind: self.kind,
            file_id,
            size: self.size,
            mtime_ns: self.mtime_ns,
            ctime_ns: self.ctime_ns,
            ino: self.ino,
            dev: self.dev,
            meta,
        }
    }

    /// True if the index entry's stat data matches (content is then assumed equal).
    pub fn stat_matches(&self, e: &IndexEntry) -> bool {
        e.kind == self.kind
            && e.size == self.size
            && e.mtime_ns == self.mtime_ns
            && e.ctime_ns == self.ctime_ns
            && e.ino == self.ino
            && e.dev == self.dev
    }
}
