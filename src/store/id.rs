//! Object identities: [`ObjectId`], the BLAKE3-256 name of every chunk and object.
//!
//! See `store-format.md` § *Identities*. A chunk's id is the plain BLAKE3 hash of its
//! raw bytes, so any peer can verify a chunk alone (`b3sum` agrees). A structured
//! object's id is BLAKE3 in *derive-key* mode with a per-kind context string over its
//! canonical encoding: BLAKE3's key-derivation mode is domain-separated from plain
//! hashing, so a chunk can never share an id with an object, and no two object kinds
//! can share one either.

use std::fmt;
use std::str::FromStr;

/// Length of an id in bytes.
pub const ID_LEN: usize = 32;

/// What a stored record is. The numeric values are written in pack files and indexes
/// (`store-format.md` § *Object kinds*) and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ObjectKind {
    /// Raw file bytes cut by the chunker.
    Chunk = 0,
    /// A file: its size and the root of its chunk-list tree.
    File = 1,
    /// An interior node of a chunk-list tree.
    ChunkList = 2,
    /// A directory listing.
    Tree = 3,
    /// A commit.
    Commit = 4,
    /// An annotated tag.
    Tag = 5,
    /// Per-asset creative metadata, referenced from a tree entry.
    AssetMeta = 6,
    /// A signed advisory lock record.
    Lock = 7,
    /// The repository's signed member list.
    Members = 8,
    /// Previews of a file's content made by one generator version.
    Preview = 9,
}

impl ObjectKind {
    /// All kinds, in numeric order.
    pub const ALL: [ObjectKind; 10] = [
        ObjectKind::Chunk,
        ObjectKind::File,
        ObjectKind::ChunkList,
        ObjectKind::Tree,
        ObjectKind::Commit,
        ObjectKind::Tag,
        ObjectKind::AssetMeta,
        ObjectKind::Lock,
        ObjectKind::Members,
        ObjectKind::Preview,
    ];

    /// Decodes the on-disk byte, `None` for an unknown kind.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.get(b as usize).copied()
    }

    /// Lower-case name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Chunk => "chunk",
            ObjectKind::File => "file",
            ObjectKind::ChunkList => "chunklist",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
            ObjectKind::AssetMeta => "assetmeta",
            ObjectKind::Lock => "lock",
            ObjectKind::Members => "members",
            ObjectKind::Preview => "preview",
        }
    }

    /// BLAKE3 derive-key context for structured kinds; `None` for chunks, which are
    /// hashed plainly. These strings are part of the format and must never change.
    fn context(self) -> Option<&'static str> {
        match self {
            ObjectKind::Chunk => None,
            ObjectKind::File => Some("gadn 2026-11 object file"),
            ObjectKind::ChunkList => Some("gadn 2026-11 object chunklist"),
            ObjectKind::Tree => Some("gadn 2026-11 object tree"),
            ObjectKind::Commit => Some("gadn 2026-11 object commit"),
            ObjectKind::Tag => Some("gadn 2026-11 object tag"),
            ObjectKind::AssetMeta => Some("gadn 2026-11 object assetmeta"),
            ObjectKind::Lock => Some("gadn 2026-11 object lock"),
            ObjectKind::Members => Some("gadn 2026-11 object members"),
            ObjectKind::Preview => Some("gadn 2026-11 object preview"),
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The BLAKE3-256 identity of a chunk or object.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; ID_LEN]);

/// Returned when text is not a valid id or id prefix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseIdError {
    /// The text has a character outside `0-9a-f`.
    #[error("'{text}' is not a hexadecimal object id")]
    NotHex {
        /// The text as given.
        text: String,
    },
    /// The text has the wrong number of digits.
    #[error("'{text}' has {len} hex digits; an object id has 64 (a prefix at least 4)")]
    BadLength {
        /// The text as given.
        text: String,
        /// Its length in characters.
        len: usize,
    },
}

impl ObjectId {
    /// Wraps raw bytes.
    pub const fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        ObjectId(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// Takes 32 bytes from a slice, `None` if its length is not 32.
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        <[u8; ID_LEN]>::try_from(b).ok().map(ObjectId)
    }

    /// The id a record of `kind` with these raw (uncompressed) bytes must have.
    pub fn compute(kind: ObjectKind, data: &[u8]) -> Self {
        match kind.context() {
            None => ObjectId(*blake3::hash(data).as_bytes()),
            Some(ctx) => {
                let mut h = blake3::Hasher::new_derive_key(ctx);
                h.update(data);
                ObjectId(*h.finalize().as_bytes())
            }
        }
    }

    /// Id of a chunk: plain BLAKE3 of its bytes.
    pub fn of_chunk(data: &[u8]) -> Self {
        Self::compute(ObjectKind::Chunk, data)
    }

    /// Full lower-case hex form (64 digits).
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(ID_LEN * 2);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 15) as usize] as char);
        }
        s
    }

    /// Short form for humans: the first 12 hex digits.
    pub fn short(&self) -> String {
        self.to_hex()[..12].to_string()
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl FromStr for ObjectId {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = IdPrefix::from_str(s)?;
        if p.len != ID_LEN * 2 {
            return Err(ParseIdError::BadLength {
                text: s.to_string(),
                len: p.len,
            });
        }
        Ok(ObjectId(p.bytes))
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({})", self.short())
    }
}

impl serde::Serialize for ObjectId {
    /// 32 raw bytes in binary formats (CBOR on the wire, `store-format.md`); the
    /// 64-digit hex form in human-readable ones (JSON reports).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ObjectId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 32-byte object id")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ObjectId, E> {
                ObjectId::from_slice(v).ok_or_else(|| E::invalid_length(v.len(), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ObjectId, E> {
                v.parse::<ObjectId>()
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V)
        } else {
            d.deserialize_bytes(V)
        }
    }
}

/// A hex prefix of an id, as typed by a user (at least [`IdPrefix::MIN_LEN`] digits).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IdPrefix {
    bytes: [u8; ID_LEN],
    /// Number of hex digits (nibbles) that are significant.
    len: usize,
}

impl IdPrefix {
    /// Shortest prefix accepted.
    pub const MIN_LEN: usize = 4;

    /// Number of significant hex digits.
    pub fn hex_len(&self) -> usize {
        self.len
    }

    /// The smallest id with this prefix (the prefix padded with zero bits).
    pub fn lower_bound(&self) -> ObjectId {
        ObjectId(self.bytes)
    }

    /// True if `id` starts with this prefix.
    pub fn matches(&self, id: &ObjectId) -> bool {
        let full = self.len / 2;
        if id.0[..full] != self.bytes[..full] {
            return false;
        }
        if self.len % 2 == 1 {
            return id.0[full] >> 4 == self.bytes[full] >> 4;
        }
        true
    }
}

impl FromStr for IdPrefix {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.as_bytes();
        if raw.len() < Self::MIN_LEN || raw.len() > ID_LEN * 2 {
            return Err(ParseIdError::BadLength {
                text: s.to_string(),
                len: raw.len(),
            });
        }
        let mut bytes = [0u8; ID_LEN];
        for (i, &c) in raw.iter().enumerate() {
            let n = nibble(c).ok_or_else(|| ParseIdError::NotHex {
                text: s.to_string(),
            })?;
            if i % 2 == 0 {
                bytes[i / 2] = n << 4;
            } else {
                bytes[i / 2] |= n;
            }
        }
        Ok(IdPrefix {
            bytes,
            len: raw.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn serde_is_bytes_in_cbor_and_hex_in_json() {
        let id = ObjectId::from_bytes([0xab; ID_LEN]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(ID_LEN)));
        assert_eq!(serde_json::from_str::<ObjectId>(&json).unwrap(), id);
        assert!(
            serde_json::from_str::<ObjectId>("\"abcd\"").is_err(),
            "a prefix is not an id"
        );
        let mut cbor = Vec::new();
        ciborium::into_writer(&id, &mut cbor).unwrap();
        // Major type 2 (byte string), length 32 (0x58 0x20), then the bytes.
        assert_eq!(&cbor[..2], &[0x58, 0x20]);
        assert_eq!(&cbor[2..], &[0xab; ID_LEN]);
        assert_eq!(ciborium::from_reader::<ObjectId, _>(&cbor[..]).unwrap(), id);
    }

    use super::*;

    #[test]
    fn chunk_id_is_plain_blake3() {
        let id = ObjectId::of_chunk(b"hello");
        assert_eq!(id.as_bytes(), blake3::hash(b"hello").as_bytes());
    }

    #[test]
    fn kinds_never_collide() {
        let data = b"same bytes";
        let ids: std::collections::HashSet<_> = ObjectKind::ALL
            .iter()
            .map(|k| ObjectId::compute(*k, data))
            .collect();
        assert_eq!(ids.len(), ObjectKind::ALL.len());
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let id = ObjectId::of_chunk(b"x");
        let hex = id.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(hex.parse::<ObjectId>().unwrap(), id);
        assert_eq!(hex.to_uppercase().parse::<ObjectId>().unwrap(), id);
        assert_eq!(id.to_string(), hex);
        assert_eq!(id.short(), &hex[..12]);
        assert!(format!("{id:?}").contains(&hex[..12]));
        assert!(matches!(
            "zz".repeat(32).parse::<ObjectId>(),
            Err(ParseIdError::NotHex { .. })
        ));
        assert!(matches!(
            hex[..10].parse::<ObjectId>(),
            Err(ParseIdError::BadLength { len: 10, .. })
        ));
        assert!(matches!(
            "abc".parse::<IdPrefix>(),
            Err(ParseIdError::BadLength { len: 3, .. })
        ));
        assert!(ObjectId::from_slice(&[0u8; 31]).is_none());
    }

    #[test]
    fn prefixes_match_odd_and_even_lengths() {
        let id = ObjectId::of_chunk(b"prefix");
        let hex = id.to_hex();
        for n in [4, 5, 12, 13, 64] {
            let p: IdPrefix = hex[..n].parse().unwrap();
            assert_eq!(p.hex_len(), n);
            assert!(p.matches(&id), "{n}");
            assert!(p.lower_bound() <= id);
        }
        let other = ObjectId::of_chunk(b"other");
        let p: IdPrefix = hex[..8].parse().unwrap();
        assert!(!p.matches(&other) || other.to_hex().starts_with(&hex[..8]));
        // Odd length: the last nibble counts, the one after it does not.
        let mut flipped = *id.as_bytes();
        flipped[2] ^= 0x01; // changes the 6th hex digit
        let p5: IdPrefix = hex[..5].parse().unwrap();
        assert!(p5.matches(&ObjectId::from_bytes(flipped)));
        flipped[2] ^= 0x11; // now the 5th digit differs as well
        assert!(!p5.matches(&ObjectId::from_bytes(flipped)));
    }

    #[test]
    fn kind_bytes_round_trip() {
        for k in ObjectKind::ALL {
            assert_eq!(ObjectKind::from_u8(k as u8), Some(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(ObjectKind::from_u8(10), None);
    }

    #[test]
    fn serde_cbor_round_trip() {
        let id = ObjectId::of_chunk(b"serde");
        let mut buf = Vec::new();
        ciborium::into_writer(&id, &mut buf).unwrap();
        assert_eq!(buf.len(), 2 + 32); // major type 2, length 32
        let back: ObjectId = ciborium::from_reader(&buf[..]).unwrap();
        assert_eq!(back, id);
        let bad: Result<ObjectId, _> = ciborium::from_reader(&[0x43u8, 1, 2, 3][..]);
        assert!(bad.is_err());
    }
}
