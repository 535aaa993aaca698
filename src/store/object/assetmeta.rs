//! [`AssetMeta`]: per-asset creative metadata (`store-format.md` § *Asset metadata*).
//!
//! An asset-metadata object is a set of key/value fields — author, creation date,
//! revision notes, tags and free keys — referenced from a tree entry's `meta` slot,
//! so it is versioned, diffed and merged together with the asset it describes.
//! Facts derived from content (type, dimensions) are *not* stored here: they are a
//! function of the file id and live in the metadata index.
//!
//! Merging is field by field ([`AssetMeta::merge3`]): a key changed on one side only
//! takes that side; a key changed identically on both is taken once; a key changed
//! differently on both is a conflict. The [`TAGS`] field is a set and merges
//! element by element, so two people tagging the same asset never conflict.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_version, decode, encode, ObjectError, FORMAT_VERSION};
use crate::store::id::{ObjectId, ObjectKind};

/// Well-known key: who made the asset.
pub const AUTHOR: &str = "author";
/// Well-known key: when the asset was created (ISO 8601 date or date-time).
pub const CREATED: &str = "created";
/// Well-known key: free-form revision notes.
pub const NOTES: &str = "notes";
/// Well-known key: comma-separated tags, kept sorted and unique; merged as a set.
pub const TAGS: &str = "tags";

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// Longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 64 << 10;
/// Most fields in one object.
pub const MAX_FIELDS: usize = 256;

/// Metadata of one asset: fields sorted by key, keys unique and valid
/// ([`validate_key`]), values non-empty UTF-8 of at most [`MAX_VALUE_LEN`] bytes, the
/// `tags` value in canonical form ([`normalize_tags`]). An empty object is never
/// stored: an entry without metadata has no `meta` id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssetMeta {
    /// The fields, keyed by name.
    pub fields: BTreeMap<String, String>,
}

type Repr = (u8, Vec<(String, String)>);

/// Checks a key: 1 to [`MAX_KEY_LEN`] bytes of ASCII lower-case letters, digits, `.`,
/// `_` and `-`, starting with a letter.
pub fn validate_key(key: &str) -> Result<(), ObjectError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_KEY_LEN
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "key {:?} must be 1-{MAX_KEY_LEN} characters of a-z, 0-9, '.', '_' or '-', starting with a letter",
            key.chars().take(80).collect::<String>()
        )))
    }
}

/// The canonical form of a tags value: split on commas, trimmed, empty items dropped,
/// sorted and deduplicated, joined with `,`.
pub fn normalize_tags(value: &str) -> String {
    tag_set(value).into_iter().collect::<Vec<_>>().join(",")
}

fn tag_set(value: &str) -> BTreeSet<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn invalid(reason: String) -> ObjectError {
    ObjectError::Invalid {
        kind: ObjectKind::AssetMeta,
        reason,
    }
}

impl AssetMeta {
    /// Sets `key` to `value` (normalising tags); an empty value removes the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ObjectError> {
        validate_key(key)?;
        let value = if key == TAGS {
            normalize_tags(value)
        } else {
            value.to_string()
        };
        if value.is_empty() {
            self.fields.remove(key);
        } else {
            if value.len() > MAX_VALUE_LEN {
                return Err(invalid(format!(
                    "value of {key:?} is {} bytes; the limit is {MAX_VALUE_LEN}",
                    value.len()
                )));
            }
            self.fields.insert(key.to_string(), value);
        }
        if self.fields.len() > MAX_FIELDS {
            self.fields.remove(key);
            return Err(invalid(format!("more than {MAX_FIELDS} fields")));
        }
        Ok(())
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// The tags, sorted.
    pub fn tags(&self) -> Vec<String> {
        self.get(TAGS)
            .map(tag_set)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// True when there are no fields (such an object is never stored).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    fn validate(&self) -> Result<(), ObjectError> {
        if self.fields.is_empty() {
            return Err(invalid(
                "no fields (an entry without metadata has no object)".into(),
            ));
        }
        if self.fields.len() > MAX_FIELDS {
            return Err(invalid(format!(
                "{} fields; the limit is {MAX_FIELDS}",
                self.fields.len()
            )));
        }
        for (k, v) in &self.fields {
            validate_key(k)?;
            if v.is_empty() || v.len() > MAX_VALUE_LEN {
                return Err(invalid(format!(
                    "value of {k:?} is {} bytes; it must be 1-{MAX_VALUE_LEN}",
                    v.len()
                )));
            }
            if k == TAGS && normalize_tags(v) != *v {
                return Err(invalid(format!("tags {v:?} are not in canonical form")));
            }
        }
        Ok(())
    }

    /// Canonical encoding; fails on an empty object or an invalid field.
    pub fn encode(&self) -> Result<Vec<u8>, ObjectError> {
        self.validate()?;
        let fields: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        encode(ObjectKind::AssetMeta, &(FORMAT_VERSION, fields))
    }

    /// Decodes and validates a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, ObjectError> {
        let (v, raw): Repr = decode(ObjectKind::AssetMeta, bytes)?;
        check_version(ObjectKind::AssetMeta, v)?;
        for w in raw.windows(2) {
            if w[0].0.as_bytes() >= w[1].0.as_bytes() {
                return Err(invalid(format!(
                    "keys {:?} and {:?} out of order or repeated",
                    w[0].0, w[1].0
                )));
            }
        }
        let meta = AssetMeta {
            fields: raw.into_iter().collect(),
        };
        meta.validate()?;
        Ok(meta)
    }

    /// The id of this object.
    pub fn id(&self) -> Result<ObjectId, ObjectError> {
        Ok(ObjectId::compute(ObjectKind::AssetMeta, &self.encode()?))
    }

    /// Three-way merge, field by field. Returns the merged fields (ours where a key
    /// conflicts) and the conflicting keys, sorted. `tags` merges as a set and never
    /// conflicts: a tag is kept when both sides have it or one side added it.
    pub fn merge3(
        base: &AssetMeta,
        ours: &AssetMeta,
        theirs: &AssetMeta,
    ) -> (AssetMeta, Vec<String>) {
        let keys: BTreeSet<&String> = base
            .fields
            .keys()
            .chain(ours.fields.keys())
            .chain(theirs.fields.keys())
            .collect();
        let mut out = AssetMeta::default();
        let mut conflicts = Vec::new();
        for key in keys {
            let (b, o, t) = (
                base.fields.get(key),
                ours.fields.get(key),
                theirs.fields.get(key),
            );
            let take = if key == TAGS {
                let set = |v: Option<&String>| v.map(|v| tag_set(v)).unwrap_or_default();
                let (b, o, t) = (set(b), set(o), set(t));
                let merged: Vec<String> = o
                    .union(&t)
                    .filter(|x| (o.contains(*x) && t.contains(*x)) || !b.contains(*x))
                    .cloned()
                    .collect();
                Some(merged.join(",")).filter(|s| !s.is_empty())
            } else if o == t || b == t {
                o.cloned()
            } else if b == o {
                t.cloned()
            } else {
                conflicts.push(key.clone());
                o.cloned()
            };
            if let Some(v) = take {
                out.fields.insert(key.clone(), v);
            }
        }
        (out, conflicts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> AssetMeta {
        let mut m = AssetMeta::default();
        for (k, v) in pairs {
            m.set(k, v).unwrap();
        }
        m
    }

    #[test]
    fn round_trip_and_canonical_tags() {
        let m = meta(&[
            ("author", "Ana"),
            ("tags", " hero, wip,hero,,"),
            ("x.y-z_1", "v"),
        ]);
        assert_eq!(m.get(TAGS), Some("hero,wip"));
        assert_eq!(m.tags(), vec!["hero", "wip"]);
        let bytes = m.encode().unwrap();
        assert_eq!(AssetMeta::decode(&bytes).unwrap(), m);
        assert_eq!(
            m.id().unwrap(),
            ObjectId::compute(ObjectKind::AssetMeta, &bytes)
        );
        let mut m2 = m.clone();
        m2.set("author", "").unwrap();
        assert_eq!(m2.get("author"), None, "an empty value removes the key");
        assert!(!m2.is_empty());
        assert!(
            AssetMeta::default().encode().is_err(),
            "empty objects are never stored"
        );
    }

    #[test]
    fn bad_keys_values_and_encodings_are_refused() {
        let mut m = AssetMeta::default();
        for bad in [
            "",
            "Author",
            "1x",
            "a b",
            "a/b",
            &"k".repeat(MAX_KEY_LEN + 1),
        ] {
            assert!(m.set(bad, "v").is_err(), "{bad:?}");
        }
        assert!(m.set("big", &"v".repeat(MAX_VALUE_LEN + 1)).is_err());
        for i in 0..MAX_FIELDS {
            m.set(&format!("k{i}"), "v").unwrap();
        }
        assert!(m.set("one-more", "v").is_err());
        assert_eq!(m.fields.len(), MAX_FIELDS);
        let raw = |fields: Vec<(&str, &str)>| {
            let f: Vec<(String, String)> = fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
            encode(ObjectKind::AssetMeta, &(FORMAT_VERSION, f)).unwrap()
        };
        for bytes in [
            raw(vec![("b", "1"), ("a", "1")]),
            raw(vec![("a", "1"), ("a", "2")]),
            raw(vec![("a", "")]),
            raw(vec![("Bad", "1")]),
            raw(vec![("tags", "b,a")]),
            raw(vec![]),
        ] {
            assert!(AssetMeta::decode(&bytes).is_err());
        }
        let v2 = encode(ObjectKind::AssetMeta, &(2u8, vec![("a", "1")])).unwrap();
        assert!(matches!(
            AssetMeta::decode(&v2),
            Err(ObjectError::UnknownVersion { .. })
        ));
    }

    #[test]
    fn merge_is_field_by_field_and_tags_merge_as_sets() {
        let base = meta(&[
            ("author", "Ana"),
            ("notes", "v1"),
            ("tags", "hero,old"),
            ("gone", "x"),
        ]);
        let ours = meta(&[
            ("author", "Ana"),
            ("notes", "ours"),
            ("tags", "hero,ours"),
            ("gone", "x"),
            ("new", "o"),
        ]);
        let theirs = meta(&[
            ("author", "Bo"),
            ("notes", "theirs"),
            ("tags", "hero,old,theirs"),
        ]);
        let (m, conflicts) = AssetMeta::merge3(&base, &ours, &theirs);
        assert_eq!(conflicts, vec!["notes"]);
        assert_eq!(m.get("author"), Some("Bo"), "only theirs changed it");
        assert_eq!(m.get("notes"), Some("ours"), "ours kept on conflict");
        assert_eq!(
            m.get("tags"),
            Some("hero,ours,theirs"),
            "ours removed 'old', both added"
        );
        assert_eq!(m.get("gone"), None, "theirs deleted, ours untouched");
        assert_eq!(m.get("new"), Some("o"));
        // Symmetric conflict set.
        let (_, c2) = AssetMeta::merge3(&base, &theirs, &ours);
        assert_eq!(c2, conflicts);
        // Tags removed everywhere leave no field.
        let (m, c) = AssetMeta::merge3(
            &meta(&[("tags", "a")]),
            &meta(&[("k", "1")]),
            &meta(&[("k", "1")]),
        );
        assert!(c.is_empty());
        assert_eq!(m, meta(&[("k", "1")]));
    }
}
