//! Git LFS pointer files (spec v1) with gadn's extension keys
//! (`store-format.md` § *Git pointer files*).
//!
//! Skeleton: the API other modules code against; its owner fills in the bodies and
//! may add items, keeping these signatures.

use crate::store::ObjectId;

/// The `version` line's value.
pub const LFS_SPEC_V1: &str = "https://git-lfs.github.com/spec/v1";

/// Largest file that can be a pointer; anything bigger is content (git-lfs uses 1024).
pub const MAX_POINTER_LEN: usize = 1024;

/// A parsed pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// SHA-256 of the content (the LFS `oid sha256:…`).
    pub sha256: [u8; 32],
    /// Content size in bytes.
    pub size: u64,
    /// The gadn file id of the content, when the pointer was written by gadn.
    pub gadn: Option<ObjectId>,
}

/// Why bytes are not a valid pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid LFS pointer: {reason}")]
pub struct PointerError {
    /// What is wrong.
    pub reason: String,
}

impl Pointer {
    /// Parses a pointer file (written by gadn or by git-lfs).
    pub fn parse(_bytes: &[u8]) -> Result<Pointer, PointerError> {
        Err(PointerError {
            reason: "not implemented".into(),
        })
    }

    /// The canonical pointer text.
    pub fn encode(&self) -> Vec<u8> {
        Vec::new()
    }
}
