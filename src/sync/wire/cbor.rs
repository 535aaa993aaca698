//! Hand-written serde helpers for decoding: bounded lists, pairs, ids and byte
//! strings that keep at most their bound in memory.

#[allow(unused_imports)]
use super::*;

/// A CBOR array decoded keeping at most `MAX` entries; `len` counts them all (the
/// rest are skipped unread into memory).
pub(super) struct List<T, const MAX: usize> {
    items: Vec<T>,
    len: usize,
}

impl<T, const MAX: usize> List<T, MAX> {
    /// The entries, or [`WireError::Bound`] when there were more than `MAX`.
    pub(super) fn take(
        self,
        message: &'static str,
        field: &'static str,
    ) -> Result<Vec<T>, WireError> {
        bound(message, field, self.len, MAX)?;
        Ok(self.items)
    }
}

impl<'de, T: Deserialize<'de>, const MAX: usize> Deserialize<'de> for List<T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const MAX: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const MAX: usize> Visitor<'de> for V<T, MAX> {
            type Value = List<T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let reserve = seq.size_hint().unwrap_or(0).min(MAX).min(PREALLOC);
                let mut items = Vec::with_capacity(reserve);
                while items.len() < MAX {
                    match seq.next_element()? {
                        Some(item) => items.push(item),
                        None => {
                            let len = items.len();
                            return Ok(List { items, len });
                        }
                    }
                }
                let mut len = items.len();
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    len += 1;
                }
                Ok(List { items, len })
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A CBOR array of exactly two items.
pub(super) struct Pair<A, B>(pub(super) A, pub(super) B);

impl<'de, A: Deserialize<'de>, B: Deserialize<'de>> Deserialize<'de> for Pair<A, B> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<A, B>(PhantomData<(A, B)>);
        impl<'de, A: Deserialize<'de>, B: Deserialize<'de>> Visitor<'de> for V<A, B> {
            type Value = Pair<A, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of two items")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let a = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let b = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                if seq.next_element::<IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(3, &self));
                }
                Ok(Pair(a, b))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A CBOR byte string read as an id: 32 bytes, or the wrong length it had.
pub(super) enum RawId {
    Id(ObjectId),
    Bad(usize),
}

impl RawId {
    pub(super) fn get(self) -> Result<ObjectId, WireError> {
        match self {
            RawId::Id(id) => Ok(id),
            RawId::Bad(len) => Err(WireError::BadId { len }),
        }
    }
}

impl<'de> Deserialize<'de> for RawId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 32-byte byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawId, E> {
                Ok(ObjectId::from_slice(v).map_or(RawId::Bad(v.len()), RawId::Id))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A byte string that travels as a CBOR byte string (major type 2), not as an array
/// of integers (serde's default for `Vec<u8>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bytes(pub(super) Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        d.deserialize_byte_buf(V)
    }
}

/// `serialize_with` for borrowed bytes: the same encoding as [`Bytes`] without a copy.
pub(super) fn ser_bytes<T: AsRef<[u8]>, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(v.as_ref())
}
