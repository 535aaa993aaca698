//! [`Lock`]: a signed advisory lock record (`store-format.md` § *Lock*).
//!
//! Placeholder: the lock helper replaces this file.

use super::{check_version, decode, ObjectError};
use crate::store::id::ObjectKind;

/// A signed advisory lock record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {}

impl Lock {
    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v,): (u8,) = decode(ObjectKind::Lock, bytes)?;
        check_version(ObjectKind::Lock, v)?;
        Ok(Lock {})
    }
}
