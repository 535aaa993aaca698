//! [`Tag`]: an annotated version tag (`store-format.md` § *Tag*).

use super::{check_version, decode, encode, Bytes, ObjectError, Person, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// An annotated tag naming a commit (or, later, a build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// The tagged object.
    pub target: ObjectId,
    /// Kind of the tagged object.
    pub target_kind: ObjectKind,
    /// Tag name, e.g. `v1.2.0`.
    pub name: String,
    /// Who tagged, and when.
    pub tagger: Person,
    /// Free-form message.
    pub message: String,
    /// Optional detached signature.
    pub signature: Option<Vec<u8>>,
}

type Repr = (
    u8,
    ObjectId,
    u8,
    String,
    (String, String, i64, i16),
    String,
    Option<Bytes>,
);

impl Tag {
    /// Canonical encoding.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        let t = &self.tagger;
        let repr: Repr = (
            FORMAT_VERSION,
            self.target,
            self.target_kind as u8,
            self.name.clone(),
            (t.name.clone(), t.email.clone(), t.time, t.tz_offset_min),
            self.message.clone(),
            self.signature.clone().map(Bytes),
        );
        encode(ObjectKind::Tag, &repr)
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, target, kind, name, t, message, signature): Repr = decode(ObjectKind::Tag, bytes)?;
        check_version(ObjectKind::Tag, v)?;
        let target_kind = ObjectKind::from_u8(kind).ok_or_else(|| ObjectError::Invalid {
            kind: ObjectKind::Tag,
            reason: format!("unknown target kind {kind}"),
        })?;
        Ok(Tag {
            target,
            target_kind,
            name,
            tagger: Person {
                name: t.0,
                email: t.1,
                time: t.2,
                tz_offset_min: t.3,
            },
            message,
            signature: signature.map(|b| b.0),
        })
    }

    /// The id of this tag.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Tag, &self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_kind() {
        let t = Tag {
            target: ObjectId::of_chunk(b"c"),
            target_kind: ObjectKind::Commit,
            name: "v1.0".into(),
            tagger: Person {
                name: "Bo".into(),
                email: "bo@x".into(),
                time: 5,
                tz_offset_min: 60,
            },
            message: "first".into(),
            signature: None,
        };
        let bytes = t.encode().unwrap();
        assert_eq!(Tag::decode(&bytes).unwrap(), t);
        assert_eq!(t.id().unwrap(), ObjectId::compute(ObjectKind::Tag, &bytes));
        let mut raw = bytes.clone();
        // target kind sits after the 34-byte id: array header, version, id header+32.
        let pos = 1 + 1 + 2 + 32;
        raw[pos] = 0x0a;
        assert!(matches!(
            Tag::decode(&raw),
            Err(ObjectError::Invalid { .. })
        ));
    }
}
