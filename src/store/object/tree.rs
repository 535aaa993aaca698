//! [`Tree`]: a directory listing (`store-format.md` § *Tree*).

use super::{check_version, decode, encode, EntryKind, ObjectError, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// Longest entry name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 1024;

/// The store's own directory, which no tree may contain (compared case-insensitively, as
/// git does for `.git`, so case-folding file systems are safe too).
pub const RESERVED_NAME: &str = ".gadn";

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// A single path component (see [`validate_name`]).
    pub name: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// A tree id for [`EntryKind::Dir`], a file object id otherwise.
    pub id: ObjectId,
    /// Content bytes for files; the total of all files below for directories.
    pub size: u64,
    /// Optional asset-metadata object.
    pub meta: Option<ObjectId>,
}

/// A directory: entries sorted by name (bytewise), names unique and valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    /// The entries, sorted strictly ascending by name bytes.
    pub entries: Vec<TreeEntry>,
}

type EntryRepr = (String, u8, ObjectId, u64, Option<ObjectId>);
type Repr = (u8, Vec<EntryRepr>);

/// Checks that `name` is a safe single path component: not empty, not `.` or `..`, no
/// `/`, `\` or NUL, not the store directory, at most `MAX_NAME_LEN` bytes. Applied when
/// trees are written and again whenever one is read, so a hostile tree from a peer can
/// never address a path outside the working tree.
pub fn validate_name(name: &str) -> Result<(), ObjectError> {
    let reason = if name.is_empty() {
        Some("empty name")
    } else if name == "." || name == ".." {
        Some("'.' and '..' are not names")
    } else if name.contains('/') || name.contains('\\') {
        Some("path separator in a name")
    } else if name.contains('\0') {
        Some("NUL byte in a name")
    } else if name.eq_ignore_ascii_case(RESERVED_NAME) {
        Some("the store directory cannot be tracked")
    } else if name.len() > MAX_NAME_LEN {
        Some("name too long")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ObjectError::BadName {
            name: name.chars().take(200).collect(),
            reason,
        }),
        None => Ok(()),
    }
}

impl Tree {
    /// Sorts entries into canonical order. Call before [`Tree::encode`] when entries
    /// were collected in another order.
    pub fn sort(&mut self) {
        self.entries
            .sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    }

    /// Canonical encoding; fails on invalid names, unsorted or duplicate entries.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.validate()?;
        let entries: Vec<EntryRepr> = self
            .entries
            .iter()
            .map(|e| (e.name.clone(), e.kind as u8, e.id, e.size, e.meta))
            .collect();
        encode(ObjectKind::Tree, &(FORMAT_VERSION, entries))
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, raw): Repr = decode(ObjectKind::Tree, bytes)?;
        check_version(ObjectKind::Tree, v)?;
        let mut entries = Vec::with_capacity(raw.len());
        for (name, kind, id, size, meta) in raw {
            let kind = EntryKind::from_u8(kind).ok_or_else(|| ObjectError::Invalid {
                kind: ObjectKind::Tree,
                reason: format!("entry {name:?} has unknown kind {kind}"),
            })?;
            entries.push(TreeEntry {
                name,
                kind,
                id,
                size,
                meta,
            });
        }
        let tree = Tree { entries };
        tree.validate()?;
        Ok(tree)
    }

    fn validate(&self) -> Result<(), ObjectError> {
        for e in &self.entries {
            validate_name(&e.name)?;
        }
        for w in self.entries.windows(2) {
            if w[0].name.as_bytes() >= w[1].name.as_bytes() {
                return Err(ObjectError::Invalid {
                    kind: ObjectKind::Tree,
                    reason: format!(
                        "entries {:?} and {:?} out of order or repeated",
                        w[0].name, w[1].name
                    ),
                });
            }
        }
        Ok(())
    }

    /// The id of this tree.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Tree, &self.encode()?))
    }

    /// Finds an entry by name (binary search).
    pub fn get(&self, name: &str) -> Option<&TreeEntry> {
        self.entries
            .binary_search_by(|e| e.name.as_bytes().cmp(name.as_bytes()))
            .ok()
            .map(|i| &self.entries[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> TreeEntry {
        TreeEntry {
            name: name.into(),
            kind: EntryKind::File,
            id: ObjectId::of_chunk(name.as_bytes()),
            size: 3,
            meta: None,
        }
    }

    #[test]
    fn round_trip_and_lookup() {
        let mut t = Tree {
            entries: vec![entry("b.png"), entry("a.wav"), entry("Z")],
        };
        t.entries[1].meta = Some(ObjectId::of_chunk(b"meta"));
        t.entries[2].kind = EntryKind::Dir;
        t.sort();
        let bytes = t.encode().unwrap();
        let back = Tree::decode(&bytes).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.get("a.wav").unwrap().size, 3);
        assert!(back.get("nope").is_none());
        assert_eq!(t.id().unwrap(), ObjectId::compute(ObjectKind::Tree, &bytes));
        assert!(Tree::default().encode().is_ok());
    }

    #[test]
    fn hostile_names_are_refused_on_write_and_read() {
        let long = "x".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "/etc",
            "a\\b",
            "nul\0",
            ".gadn",
            ".GADN",
            long.as_str(),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
            let t = Tree {
                entries: vec![entry(bad)],
            };
            assert!(t.encode().is_err(), "{bad:?}");
            // Bypass the writer's check to build what a hostile peer could send.
            let raw: Repr = (
                FORMAT_VERSION,
                vec![(bad.to_string(), 0, ObjectId::of_chunk(b"x"), 1, None)],
            );
            let bytes = encode(ObjectKind::Tree, &raw).unwrap();
            assert!(
                matches!(Tree::decode(&bytes), Err(ObjectError::BadName { .. })),
                "{bad:?}"
            );
        }
        for ok in ["...", ".gadnignore", "a b", "ünïcode", "x.gadn"] {
            assert!(validate_name(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn unsorted_duplicate_and_unknown_kind_are_invalid() {
        let dup = Tree {
            entries: vec![entry("a"), entry("a")],
        };
        assert!(matches!(dup.encode(), Err(ObjectError::Invalid { .. })));
        let raw: Repr = (
            FORMAT_VERSION,
            vec![
                ("b".into(), 0, ObjectId::of_chunk(b"x"), 1, None),
                ("a".into(), 0, ObjectId::of_chunk(b"x"), 1, None),
            ],
        );
        let bytes = encode(ObjectKind::Tree, &raw).unwrap();
        assert!(matches!(
            Tree::decode(&bytes),
            Err(ObjectError::Invalid { .. })
        ));
        let raw: Repr = (
            FORMAT_VERSION,
            vec![("a".into(), 9, ObjectId::of_chunk(b"x"), 1, None)],
        );
        let bytes = encode(ObjectKind::Tree, &raw).unwrap();
        assert!(matches!(
            Tree::decode(&bytes),
            Err(ObjectError::Invalid { .. })
        ));
    }
}
