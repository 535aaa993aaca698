//! [`PreviewObject`]: the previews made of one file's content by one generator
//! version (`store-format.md` § *Preview*).
//!
//! A preview names the file it was made from but does not keep it alive: previews
//! travel ahead of content, so a store may hold a preview of a file it does not have.
//! Each item's bytes are an ordinary file object (chunked, deduplicated, fetched like
//! any content), so a peer can fetch the 64 px thumbnail before the 1024 px one.
//!
//! Invariants (checked by [`PreviewObject::decode`], with the canonical encoding):
//! * `generator` is 1–32 characters of `a-z`, `0-9` and `-`;
//! * `facts` is the compact JSON text of an object (keys sorted), at most
//!   [`MAX_FACTS_LEN`] bytes — JSON rather than CBOR because facts hold floats,
//!   which canonical object encodings exclude;
//! * a failure (`error` set) has no items; items number at most [`MAX_ITEMS`], each
//!   with a media type of 1–100 printable ASCII characters.

use super::{check_version, decode, encode, ObjectError, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// Most items in one preview.
pub const MAX_ITEMS: usize = 64;

/// Longest facts text, in bytes.
pub const MAX_FACTS_LEN: usize = 256 * 1024;

/// One preview item: what it is and the file object holding its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewItemRef {
    /// Role code (0 thumbnail, 1 waveform, 2 peaks, 3 clip, 4 low-poly, 5 low-res).
    pub role: u8,
    /// Thumbnail level (longest side, px), waveform width, or 0.
    pub level: u32,
    /// MIME type of the content.
    pub media_type: String,
    /// Content length in bytes.
    pub size: u64,
    /// The file object holding the content.
    pub content: ObjectId,
}

/// The previews of one file by one generator version, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewObject {
    /// The file object previewed.
    pub file: ObjectId,
    /// Generator name (`texture`, `audio`, `mesh`, `blend`, `card`, `external-…`).
    pub generator: String,
    /// Generator output version.
    pub generator_version: u32,
    /// Why generation failed; `None` on success.
    pub error: Option<String>,
    /// Extracted facts: compact JSON object text.
    pub facts: String,
    /// Items, in the order the generator gave them (smallest first per role).
    pub items: Vec<PreviewItemRef>,
}

type ItemRepr = (u8, u32, String, u64, ObjectId);
type Repr = (
    u8,
    ObjectId,
    String,
    u32,
    Option<String>,
    String,
    Vec<ItemRepr>,
);

fn malformed(reason: impl Into<String>) -> ObjectError {
    ObjectError::Malformed {
        kind: ObjectKind::Preview,
        reason: reason.into(),
    }
}

/// Checks a generator name: 1–32 characters of `a-z`, `0-9`, `-`.
pub fn validate_generator(name: &str) -> Result<(), ObjectError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(malformed(format!("bad generator name {name:?}")))
    }
}

impl PreviewObject {
    fn validate(&self) -> Result<(), ObjectError> {
        validate_generator(&self.generator)?;
        if self.facts.len() > MAX_FACTS_LEN {
            return Err(malformed(format!(
                "facts are {} bytes, the limit is {MAX_FACTS_LEN}",
                self.facts.len()
            )));
        }
        match serde_json::from_str::<serde_json::Value>(&self.facts) {
            Ok(serde_json::Value::Object(_)) => {}
            _ => return Err(malformed("facts are not a JSON object")),
        }
        if self.error.is_some() && !self.items.is_empty() {
            return Err(malformed("a failed preview has items"));
        }
        if self.items.len() > MAX_ITEMS {
            return Err(malformed(format!(
                "{} items, the limit is {MAX_ITEMS}",
                self.items.len()
            )));
        }
        for item in &self.items {
            let t = &item.media_type;
            if t.is_empty() || t.len() > 100 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(malformed(format!("bad media type {t:?}")));
            }
        }
        Ok(())
    }

    fn repr(&self) -> Repr {
        (
            FORMAT_VERSION,
            self.file,
            self.generator.clone(),
            self.generator_version,
            self.error.clone(),
            self.facts.clone(),
            self.items
                .iter()
                .map(|i| (i.role, i.level, i.media_type.clone(), i.size, i.content))
                .collect(),
        )
    }

    /// Canonical encoding; refuses an object breaking the invariants.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.validate()?;
        encode(ObjectKind::Preview, &self.repr())
    }

    /// Decodes and checks the invariants and canonical form.
    pub fn decode(bytes: &[u8]) -> Result<PreviewObject, ObjectError> {
        let r: Repr = decode(ObjectKind::Preview, bytes)?;
        check_version(ObjectKind::Preview, r.0)?;
        let p = PreviewObject {
            file: r.1,
            generator: r.2,
            generator_version: r.3,
            error: r.4,
            facts: r.5,
            items: r
                .6
                .into_iter()
                .map(|(role, level, media_type, size, content)| PreviewItemRef {
                    role,
                    level,
                    media_type,
                    size,
                    content,
                })
                .collect(),
        };
        p.validate()?;
        Ok(p)
    }

    /// The object's id.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::Preview, &self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PreviewObject {
        PreviewObject {
            file: ObjectId::compute(ObjectKind::Chunk, b"x"),
            generator: "texture".into(),
            generator_version: 3,
            error: None,
            facts: r#"{"height":64,"ratio":0.5,"width":128}"#.into(),
            items: vec![PreviewItemRef {
                role: 0,
                level: 64,
                media_type: "image/png".into(),
                size: 1234,
                content: ObjectId::compute(ObjectKind::Chunk, b"png"),
            }],
        }
    }

    #[test]
    fn round_trips_and_is_canonical() {
        let p = sample();
        let bytes = p.encode().unwrap();
        assert_eq!(PreviewObject::decode(&bytes).unwrap(), p);
        assert_eq!(
            p.id().unwrap(),
            ObjectId::compute(ObjectKind::Preview, &bytes)
        );
        let failed = PreviewObject {
            error: Some("truncated png file".into()),
            items: vec![],
            ..p
        };
        let bytes = failed.encode().unwrap();
        assert_eq!(PreviewObject::decode(&bytes).unwrap(), failed);
    }

    #[test]
    fn invariants_are_enforced_both_ways() {
        let bad = |f: &dyn Fn(&mut PreviewObject)| {
            let mut p = sample();
            f(&mut p);
            assert!(p.encode().is_err(), "{p:?}");
            // Encoded without the checks, decoding refuses it too.
            let bytes = encode(ObjectKind::Preview, &p.repr()).unwrap();
            assert!(PreviewObject::decode(&bytes).is_err(), "{p:?}");
        };
        bad(&|p| p.generator = "Tex".into());
        bad(&|p| p.generator = String::new());
        bad(&|p| p.generator = "x".repeat(33));
        bad(&|p| p.facts = "[1]".into());
        bad(&|p| p.facts = "{".into());
        bad(&|p| p.facts = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_FACTS_LEN)));
        bad(&|p| p.error = Some("x".into()));
        bad(&|p| p.items[0].media_type = "image png".into());
        bad(&|p| p.items[0].media_type = String::new());
        bad(&|p| {
            let item = p.items[0].clone();
            p.items = vec![item; MAX_ITEMS + 1];
        });
    }

    #[test]
    fn garbage_and_other_versions_are_refused() {
        assert!(PreviewObject::decode(b"\x00garbage").is_err());
        let mut r = sample().repr();
        r.0 = 2;
        let bytes = encode(ObjectKind::Preview, &r).unwrap();
        assert!(matches!(
            PreviewObject::decode(&bytes),
            Err(ObjectError::UnknownVersion { .. })
        ));
    }
}
