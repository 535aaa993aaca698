//! [`Sha256`]: a SHA-256 digest, the id Git LFS gives content (`oid sha256:…`). The
//! store records it beside the gadn file id (`lfs_objects`, store-format.md); gadn's
//! own ids are BLAKE3 ([`super::ObjectId`]).

use std::fmt;
use std::str::FromStr;

/// A SHA-256 digest. Displays and parses as 64 lowercase hex digits (the form LFS
/// writes); serialized as that hex string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

/// Returned by [`Sha256::from_str`]: the text is not 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 lowercase hex digits (SHA-256), got {text:?}")]
pub struct ParseSha256Error {
    /// The text that was given.
    pub text: String,
}

impl Sha256 {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Sha256 {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(data).into())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl From<[u8; 32]> for Sha256 {
    fn from(b: [u8; 32]) -> Sha256 {
        Sha256(b)
    }
}

impl PartialEq<[u8; 32]> for Sha256 {
    fn eq(&self, other: &[u8; 32]) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = ParseSha256Error;
    /// Exactly 64 lowercase hex digits, as the LFS spec writes oids (no sign, no
    /// upper case: such text would name content yet never match its hash).
    fn from_str(text: &str) -> Result<Sha256, ParseSha256Error> {
        let bad = || ParseSha256Error { text: text.into() };
        let t = text.as_bytes();
        if t.len() != 64 {
            return Err(bad());
        }
        let nib = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (nib(t[2 * i]).ok_or_else(bad)? << 4) | nib(t[2 * i + 1]).ok_or_else(bad)?;
        }
        Ok(Sha256(out))
    }
}

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_newtype_round_trips_hex() {
        let s = Sha256::of(b"hello");
        let hex = s.to_string();
        assert_eq!(
            hex,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(hex.parse::<Sha256>().unwrap(), s);
        assert_eq!(format!("{s:?}"), format!("Sha256({hex})"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<Sha256>(&json).unwrap(), s);
        for bad in [
            "",
            &hex[..63],
            &format!("{hex}0"),
            &hex.to_uppercase(),
            &format!("+{}", &hex[1..]),
        ] {
            assert!(bad.parse::<Sha256>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<Sha256>("\"zz\"").is_err());
    }
}
