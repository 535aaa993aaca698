//! [`Damage`]: one problem found in a pack or index, by verification or at open.
//! Its own file so that the set (which records damage at open) and verification
//! (which reports it) both import it without importing each other.

use std::fmt;

use crate::store::id::{ObjectId, ObjectKind};

use super::error::PackError;

/// One problem found by [`PackSet::verify`] or at [`PackSet::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// File name of the pack (or index) at fault, e.g. `pack-0123456789abcdef.pack`.
    pub pack: String,
    /// Offset in that file where the problem is (a record header, or the truncation
    /// point); 0 for problems of the whole file.
    pub offset: u64,
    /// The object concerned, if the problem is one record.
    pub id: Option<ObjectId>,
    /// Its kind, if known.
    pub kind: Option<ObjectKind>,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pack)?;
        if self.offset != 0 {
            write!(f, " at offset {}", self.offset)?;
        }
        if let Some(id) = self.id {
            match self.kind {
                Some(kind) => write!(f, " ({kind} {id})")?,
                None => write!(f, " ({id})")?,
            }
        }
        write!(f, ": {}", self.reason)
    }
}

impl Damage {
    pub(crate) fn whole_file(pack: String, offset: u64, reason: String) -> Self {
        Damage {
            pack,
            offset,
            id: None,
            kind: None,
            reason,
        }
    }

    /// A damage report for an index (or its pack) that failed to load at open.
    pub(crate) fn from_open_error(stem: &str, err: PackError) -> Self {
        let (file, reason) = match err {
            PackError::Index { path, problem } => (file_name(&path), problem.to_string()),
            PackError::Io { path, source } => (file_name(&path), source.to_string()),
            other => (format!("{stem}.idx"), other.to_string()),
        };
        Damage::whole_file(file, 0, reason)
    }
}

pub(crate) fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pack::error::IndexProblem;

    #[test]
    fn damage_names_file_offset_and_record() {
        let id = ObjectId::of_chunk(b"x");
        let whole = Damage::whole_file("pack-a.pack".into(), 0, "bad".into());
        assert_eq!(whole.to_string(), "pack-a.pack: bad");
        let at = Damage::whole_file("pack-a.pack".into(), 99, "cut".into());
        assert_eq!(at.to_string(), "pack-a.pack at offset 99: cut");
        let record = Damage {
            id: Some(id),
            kind: Some(ObjectKind::Tree),
            ..at.clone()
        };
        assert_eq!(
            record.to_string(),
            format!("pack-a.pack at offset 99 (tree {id}): cut")
        );
        let unknown_kind = Damage {
            kind: None,
            ..record
        };
        assert_eq!(
            unknown_kind.to_string(),
            format!("pack-a.pack at offset 99 ({id}): cut")
        );
    }

    #[test]
    fn open_errors_name_the_file_at_fault() {
        let stem = "pack-0123456789abcdef";
        let index = PackError::Index {
            path: format!("/s/packs/{stem}.idx").into(),
            problem: IndexProblem::ChecksumMismatch,
        };
        let d = Damage::from_open_error(stem, index);
        assert_eq!(
            (d.pack.as_str(), d.offset, d.id),
            ("pack-0123456789abcdef.idx", 0, None)
        );
        assert_eq!(d.reason, IndexProblem::ChecksumMismatch.to_string());
        let io = PackError::Io {
            path: format!("/s/packs/{stem}.pack").into(),
            source: std::io::Error::other("gone"),
        };
        let d = Damage::from_open_error(stem, io);
        assert_eq!(
            (d.pack.as_str(), d.reason.as_str()),
            ("pack-0123456789abcdef.pack", "gone")
        );
        // Any other error is put on the index, with its whole message.
        let other = PackError::PackHeader {
            path: "/s/packs/x.pack".into(),
            problem: "bad magic".into(),
        };
        let message = other.to_string();
        let d = Damage::from_open_error(stem, other);
        assert_eq!(
            (d.pack.as_str(), d.reason),
            ("pack-0123456789abcdef.idx", message)
        );
        // A path without a file name is shown whole.
        assert_eq!(file_name(std::path::Path::new("/")), "/");
    }
}
