//! Structured objects and their canonical CBOR encodings (`store-format.md` § *Objects*).
//!
//! Every object encodes as one CBOR array whose first element is the object format
//! version ([`FORMAT_VERSION`]). Encodings are *canonical*: integers in their shortest
//! form, definite lengths, fields in a fixed order, maps written as arrays of pairs
//! sorted by key, no floats. Decoding re-encodes and rejects any input that is not
//! byte-identical to the canonical form, so one object has exactly one id.

pub mod assetmeta;
mod chunklist;
mod commit;
mod file;
mod kind;
mod lock;
mod members;
pub mod preview;
#[cfg(test)]
mod proptests;
mod tag;
mod tree;

pub use assetmeta::{normalize_tags, validate_key as validate_meta_key, AssetMeta};
pub use chunklist::{ChunkEntry, ChunkListNode, ChunkTreeBuilder, BOUNDARY_BITS, MAX_FANOUT};
pub use commit::{Commit, Person};
pub use file::FileObject;
pub use kind::EntryKind;
pub use lock::{merge as merge_locks, validate_lock_path, Lock, LockState, Precedence};
pub use members::{
    member_name_problem, merge as merge_members, validate_member_name, MemberEntry, Members, Role,
    MAX_MEMBERS, MAX_NAME_LEN,
};
pub use preview::{PreviewItemRef, PreviewObject};
pub use tag::Tag;
pub use tree::{validate_name, Tree, TreeEntry};

use crate::store::id::{ObjectId, ObjectKind};

/// Version written as the first element of every object encoding.
pub const FORMAT_VERSION: u8 = 1;

/// Largest encoded object accepted, in bytes (chunks are bounded by the chunker).
/// A tree of ~500,000 entries fits; anything larger is refused as hostile.
pub const MAX_OBJECT_SIZE: usize = 64 << 20;

/// Returned when an object cannot be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The bytes are not a valid encoding of the expected kind.
    #[error("malformed {kind} object: {reason}")]
    Malformed {
        /// The kind that was expected.
        kind: ObjectKind,
        /// What was wrong.
        reason: String,
    },
    /// The encoding is valid CBOR but not the canonical form.
    #[error("{kind} object is not canonically encoded")]
    NotCanonical {
        /// The kind that was expected.
        kind: ObjectKind,
    },
    /// The object uses a format version this build does not know.
    #[error("{kind} object has format version {version}; this gadn understands {FORMAT_VERSION}")]
    UnknownVersion {
        /// The kind that was expected.
        kind: ObjectKind,
        /// The version found.
        version: u8,
    },
    /// The encoded object exceeds [`MAX_OBJECT_SIZE`].
    #[error("{kind} object of {size} bytes exceeds the limit of {MAX_OBJECT_SIZE}")]
    TooLarge {
        /// The kind.
        kind: ObjectKind,
        /// Its size in bytes.
        size: usize,
    },
    /// A tree entry name is not allowed.
    #[error("invalid entry name {name:?}: {reason}")]
    BadName {
        /// The name as found (lossy for display).
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A structural rule was broken (unsorted entries, wrong levels, sizes that do not add up).
    #[error("invalid {kind} object: {reason}")]
    Invalid {
        /// The kind.
        kind: ObjectKind,
        /// What was wrong.
        reason: String,
    },
}

/// Where objects produced by a builder are written (a pack writer, or nothing when
/// only ids are wanted).
pub trait ObjectSink {
    /// Error type of the sink.
    type Error: From<ObjectError>;
    /// Stores an object whose id has already been computed over `bytes`.
    fn put(&mut self, id: ObjectId, kind: ObjectKind, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// Encodes `repr` canonically. ciborium writes shortest-form integers and definite
/// lengths, so the serde representation decides the rest.
pub(crate) fn encode<T: serde::Serialize>(
    kind: ObjectKind,
    repr: &T,
) -> Result<Vec<u8>, ObjectError> {
    let mut out = Vec::new();
    ciborium::into_writer(repr, &mut out).map_err(|e| ObjectError::Malformed {
        kind,
        reason: e.to_string(),
    })?;
    if out.len() > MAX_OBJECT_SIZE {
        return Err(ObjectError::TooLarge {
            kind,
            size: out.len(),
        });
    }
    Ok(out)
}

/// Decodes and insists the input is exactly the canonical encoding of the result.
pub(crate) fn decode<T>(kind: ObjectKind, bytes: &[u8]) -> Result<T, ObjectError>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    if bytes.len() > MAX_OBJECT_SIZE {
        return Err(ObjectError::TooLarge {
            kind,
            size: bytes.len(),
        });
    }
    if let Some(&first) = bytes.first() {
        // Every object is an array whose first element is the version: 0x8N 0x01 or
        // 0x98 N 0x01. Check the version early for a precise message.
        let version_at = match first {
            0x80..=0x97 => Some(1),
            0x98 => Some(2),
            _ => None,
        };
        if let Some(&v) = version_at.and_then(|i| bytes.get(i)) {
            if v != FORMAT_VERSION && v <= 0x17 {
                return Err(ObjectError::UnknownVersion { kind, version: v });
            }
        }
    }
    let value: T = ciborium::de::from_reader_with_recursion_limit(bytes, 16).map_err(|e| {
        ObjectError::Malformed {
            kind,
            reason: e.to_string(),
        }
    })?;
    if encode(kind, &value)? != bytes {
        return Err(ObjectError::NotCanonical { kind });
    }
    Ok(value)
}

/// Checks the version element of a decoded representation.
pub(crate) fn check_version(kind: ObjectKind, version: u8) -> Result<(), ObjectError> {
    if version != FORMAT_VERSION {
        return Err(ObjectError::UnknownVersion { kind, version });
    }
    Ok(())
}

/// A byte string that serializes as CBOR bytes (major type 2), not an array of integers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl serde::Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_canonical_integer_is_rejected() {
        // [1, 5] canonical is 82 01 05; write 5 as a two-byte integer instead.
        let canonical: (u8, u64) = decode(ObjectKind::File, &[0x82, 0x01, 0x05]).unwrap();
        assert_eq!(canonical, (1, 5));
        let err = decode::<(u8, u64)>(ObjectKind::File, &[0x82, 0x01, 0x18, 0x05]).unwrap_err();
        assert!(matches!(err, ObjectError::NotCanonical { .. }), "{err}");
    }

    #[test]
    fn unknown_version_and_garbage() {
        let err = decode::<(u8, u64)>(ObjectKind::Tree, &[0x82, 0x02, 0x05]).unwrap_err();
        assert!(
            matches!(err, ObjectError::UnknownVersion { version: 2, .. }),
            "{err}"
        );
        let err = decode::<(u8, u64)>(ObjectKind::Tree, &[0xff, 0x00]).unwrap_err();
        assert!(matches!(err, ObjectError::Malformed { .. }), "{err}");
        let err = decode::<(u8, u64)>(ObjectKind::Tree, &[]).unwrap_err();
        assert!(matches!(err, ObjectError::Malformed { .. }), "{err}");
        assert!(check_version(ObjectKind::Tag, 9).is_err());
        assert!(check_version(ObjectKind::Tag, FORMAT_VERSION).is_ok());
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let big = vec![0u8; MAX_OBJECT_SIZE + 1];
        let err = decode::<(u8, u64)>(ObjectKind::Tree, &big).unwrap_err();
        assert!(matches!(err, ObjectError::TooLarge { .. }));
    }

    #[test]
    fn encoding_refuses_what_cannot_be_an_object() {
        struct Unencodable;
        impl serde::Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no encoding for this"))
            }
        }
        let err = encode(ObjectKind::Commit, &Unencodable).unwrap_err();
        assert!(matches!(err, ObjectError::Malformed { .. }), "{err}");
        assert!(
            err.to_string().starts_with("malformed commit object: "),
            "{err}"
        );
        assert!(err.to_string().contains("no encoding for this"), "{err}");
        let big = Bytes(vec![0; MAX_OBJECT_SIZE]);
        let err = encode(ObjectKind::Tree, &big).unwrap_err();
        match err {
            ObjectError::TooLarge { kind, size } => {
                assert_eq!(kind, ObjectKind::Tree);
                assert!(size > MAX_OBJECT_SIZE);
            }
            other => panic!("expected TooLarge, got {other}"),
        }
        let ok = Bytes(vec![0; 100]);
        assert_eq!(encode(ObjectKind::Tree, &ok).unwrap().len(), 102);
    }

    #[test]
    fn version_of_a_long_array_is_checked_first() {
        // An array of 24 elements has a two-byte header, 0x98 0x18; version 2 follows.
        let mut long = vec![0x98, 0x18, 0x02];
        long.extend([0x00; 23]);
        let err = decode::<Vec<u8>>(ObjectKind::Commit, &long).unwrap_err();
        assert!(
            matches!(err, ObjectError::UnknownVersion { version: 2, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "commit object has format version 2; this gadn understands 1"
        );
        long[2] = FORMAT_VERSION;
        // Canonical CBOR writes 24 small integers with the same header.
        assert_eq!(
            decode::<Vec<u8>>(ObjectKind::Commit, &long).unwrap().len(),
            24
        );
    }

    #[test]
    fn messages_name_the_kind_and_the_rule() {
        let cases = [
            (
                ObjectError::NotCanonical {
                    kind: ObjectKind::File,
                },
                "file object is not canonically encoded".to_string(),
            ),
            (
                ObjectError::TooLarge {
                    kind: ObjectKind::Tree,
                    size: 70 << 20,
                },
                format!("tree object of 73400320 bytes exceeds the limit of {MAX_OBJECT_SIZE}"),
            ),
            (
                ObjectError::BadName {
                    name: "a/b".into(),
                    reason: "contains '/'",
                },
                "invalid entry name \"a/b\": contains '/'".to_string(),
            ),
            (
                ObjectError::Invalid {
                    kind: ObjectKind::ChunkList,
                    reason: "no entries".into(),
                },
                "invalid chunklist object: no entries".to_string(),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn bytes_accept_borrowed_bytes_and_explain_other_input() {
        use serde::de::value::{BytesDeserializer, Error, U32Deserializer};
        use serde::Deserialize;
        let b = Bytes::deserialize(BytesDeserializer::<Error>::new(&[4, 5])).unwrap();
        assert_eq!(b, Bytes(vec![4, 5]));
        let err = Bytes::deserialize(U32Deserializer::<Error>::new(7)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: integer `7`, expected a byte string"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut evil = vec![0x81u8; 10_000];
        evil.push(0x01);
        assert!(decode::<(u8, u64)>(ObjectKind::Tree, &evil).is_err());
    }

    #[test]
    fn bytes_serialize_as_cbor_bytes() {
        let b = Bytes(vec![1, 2, 3]);
        let mut out = Vec::new();
        ciborium::into_writer(&b, &mut out).unwrap();
        assert_eq!(out, [0x43, 1, 2, 3]);
        let back: Bytes = ciborium::from_reader(&out[..]).unwrap();
        assert_eq!(back, b);
        let big = Bytes(vec![7; 10_000]);
        out.clear();
        ciborium::into_writer(&big, &mut out).unwrap();
        let back: Bytes = ciborium::from_reader(&out[..]).unwrap();
        assert_eq!(back, big);
        assert!(ciborium::from_reader::<Bytes, _>(&[0x01u8][..]).is_err());
    }
}
