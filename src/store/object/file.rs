//! [`FileObject`]: a file's size and the root of its chunk-list tree
//! (`store-format.md` § *File*).

use super::{check_version, decode, encode, ObjectError, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// A file's content: `size` bytes, reached through a chunk-list tree of `height` levels.
///
/// Invariant: `height == 0` means `root` is the id of the single chunk holding the whole
/// content (an empty file has the empty chunk); `height >= 1` means `root` is a
/// [`super::ChunkListNode`] at level `height` whose byte total is `size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileObject {
    /// Content length in bytes.
    pub size: u64,
    /// Levels of chunk-list nodes above the chunks (0 = `root` is a chunk).
    pub height: u8,
    /// Root chunk or chunk-list node.
    pub root: ObjectId,
}

type Repr = (u8, u64, u8, ObjectId);

/// Tallest tree accepted: 64^16 chunks is far beyond any real file.
pub const MAX_HEIGHT: u8 = 16;

impl FileObject {
    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        encode(
            ObjectKind::File,
            &(FORMAT_VERSION, self.size, self.height, self.root),
        )
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, size, height, root): Repr = decode(ObjectKind::File, bytes)?;
        check_version(ObjectKind::File, v)?;
        if height > MAX_HEIGHT {
            return Err(ObjectError::Invalid {
                kind: ObjectKind::File,
                reason: format!("height {height} exceeds {MAX_HEIGHT}"),
            });
        }
        Ok(FileObject { size, height, root })
    }

    /// The id of this object.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::File, &self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let f = FileObject {
            size: 10_000_000_000,
            height: 3,
            root: ObjectId::of_chunk(b"r"),
        };
        let bytes = f.encode().unwrap();
        assert_eq!(FileObject::decode(&bytes).unwrap(), f);
        assert_eq!(f.id().unwrap(), ObjectId::compute(ObjectKind::File, &bytes));
        let tall = FileObject { height: 17, ..f };
        let err = FileObject::decode(&tall.encode().unwrap()).unwrap_err();
        assert!(matches!(err, ObjectError::Invalid { .. }));
        assert!(FileObject::decode(b"\x80").is_err());
    }
}
