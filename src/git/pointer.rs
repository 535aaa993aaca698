//! Git LFS pointer files (spec v1) with gadn's extension key
//! (`store-format.md` § *Git pointer files and the filter process*).
//!
//! A pointer is at most [`MAX_POINTER_LEN`] bytes of `key value\n` lines: `version`
//! first, then the remaining keys sorted (`ext-<digit>-<name>` lines, `oid`, `size`).
//! gadn writes its file id as the extension line `ext-0-gadn sha256:<64 hex>`: the hex
//! is the BLAKE3 gadn id, and the `sha256:` prefix is there only because git-lfs's
//! decoder accepts no other type in an extension line. git-lfs therefore *parses*
//! gadn pointers (`git lfs ls-files`, `fsck`) and, asked to smudge one, fails with
//! "extension 'gadn' is not configured" instead of silently checking out pointer text.
//! Pointers written by git-lfs (no extension) parse with `gadn: None`.
//!
//! Parsing is as strict as git-lfs's decoder (so anything gadn accepts git-lfs
//! accepts too), plus: lowercase hex only, a plain decimal size, and no extension
//! other than gadn's (gadn cannot run git-lfs extension programs).

use crate::store::{ObjectId, Sha256};

/// The `version` line's value.
pub const LFS_SPEC_V1: &str = "https://git-lfs.github.com/spec/v1";

/// Older `version` values git-lfs still reads as v1.
const V1_ALIASES: [&str; 3] = [
    "http://git-media.io/v/2",
    "https://hawser.github.com/spec/v1",
    LFS_SPEC_V1,
];

/// Largest file that can be a pointer; anything bigger is content (git-lfs uses 1024).
pub const MAX_POINTER_LEN: usize = 1024;

/// gadn's extension key (priority 0, name `gadn`).
pub const GADN_EXT_KEY: &str = "ext-0-gadn";

/// A parsed pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// SHA-256 of the content (the LFS `oid sha256:…`).
    pub sha256: Sha256,
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

fn bad(reason: impl Into<String>) -> PointerError {
    PointerError {
        reason: reason.into(),
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 bytes from exactly 64 lowercase hex digits.
pub fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    text.parse::<Sha256>().ok().map(|s| s.0)
}

/// Parses `sha256:<64 lowercase hex>`.
fn parse_oid(key: &str, value: &str) -> Result<[u8; 32], PointerError> {
    let hexpart = value
        .strip_prefix("sha256:")
        .ok_or_else(|| bad(format!("{key}: expected sha256:<64 hex>, got {value:?}")))?;
    parse_hex32(hexpart).ok_or_else(|| {
        bad(format!(
            "{key}: expected 64 lowercase hex digits, got {hexpart:?}"
        ))
    })
}

/// True for `ext-<digit>-<word characters>`.
fn is_ext_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() > 6
        && key.starts_with("ext-")
        && b[4].is_ascii_digit()
        && b[5] == b'-'
        && b[6..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// True when `bytes` look like they are meant to be a pointer (small, start with a
/// `version` line naming an LFS spec), whether or not they parse. Lets the smudge
/// filter tell a corrupt pointer (an error) from ordinary content (passed through).
pub fn looks_like_pointer(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_POINTER_LEN
        && bytes.starts_with(b"version ")
        && V1_ALIASES
            .iter()
            .chain(std::iter::once(&"git-lfs"))
            .any(|v| bytes.windows(v.len()).any(|w| w == v.as_bytes()))
}

impl Pointer {
    /// Parses a pointer file (written by gadn or by git-lfs).
    pub fn parse(bytes: &[u8]) -> Result<Pointer, PointerError> {
        if bytes.len() > MAX_POINTER_LEN {
            return Err(bad(format!(
                "{} bytes, a pointer has at most {MAX_POINTER_LEN}",
                bytes.len()
            )));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        // git-lfs trims surrounding whitespace and skips empty lines.
        let mut lines = text.trim().split('\n').filter(|l| !l.is_empty());
        let mut next = |want: &str| -> Result<(String, String), PointerError> {
            let line = lines
                .next()
                .ok_or_else(|| bad(format!("missing the {want} line")))?;
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| bad(format!("line {line:?} is not `key value`")))?;
            if k.is_empty()
                || !k
                    .bytes()
                    .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'))
            {
                return Err(bad(format!("invalid key {k:?}")));
            }
            if v.contains('\r') {
                return Err(bad(format!("value of {k} contains a carriage return")));
            }
            Ok((k.to_string(), v.to_string()))
        };
        let (k, version) = next("version")?;
        if k != "version" {
            return Err(bad(format!("the first key must be version, got {k:?}")));
        }
        if !V1_ALIASES.contains(&version.as_str()) {
            return Err(bad(format!("unknown version {version:?}")));
        }
        let mut gadn = None;
        let mut last_ext: Option<String> = None;
        let (mut k, mut v) = next("oid")?;
        while is_ext_key(&k) {
            if let Some(prev) = &last_ext {
                if prev.as_bytes()[4] >= k.as_bytes()[4] {
                    return Err(bad(format!(
                        "extension {k} after {prev}: not sorted or duplicate priority"
                    )));
                }
            }
            let oid = parse_oid(&k, &v)?;
            if k != GADN_EXT_KEY {
                return Err(bad(format!(
                    "extension {k} is not supported by gadn (only {GADN_EXT_KEY})"
                )));
            }
            gadn = ObjectId::from_slice(&oid);
            last_ext = Some(k.clone());
            (k, v) = next("oid")?;
        }
        if k != "oid" {
            return Err(bad(format!("expected the oid key, got {k:?}")));
        }
        let sha256 = Sha256(parse_oid("oid", &v)?);
        let (k, v) = next("size")?;
        if k != "size" {
            return Err(bad(format!("expected the size key, got {k:?}")));
        }
        if v.is_empty() || !v.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad(format!("size {v:?} is not a decimal number")));
        }
        let size: u64 = v
            .parse()
            .ok()
            .filter(|s| i64::try_from(*s).is_ok())
            .ok_or_else(|| bad(format!("size {v:?} is out of range")))?;
        if let Some(extra) = lines.next() {
            return Err(bad(format!("extra line after size: {extra:?}")));
        }
        Ok(Pointer { sha256, size, gadn })
    }

    /// The canonical pointer text: `version`, gadn's extension line when the id is
    /// known, `oid`, `size`, each ending in `\n` (at most 230 bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut s = format!("version {LFS_SPEC_V1}\n");
        if let Some(id) = &self.gadn {
            s.push_str(&format!("{GADN_EXT_KEY} sha256:{}\n", id.to_hex()));
        }
        s.push_str(&format!("oid sha256:{}\nsize {}\n", self.sha256, self.size));
        s.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";

    fn lfs_text() -> String {
        format!("version {LFS_SPEC_V1}\noid sha256:{SHA}\nsize 12345\n")
    }

    #[test]
    fn git_lfs_pointers_parse_without_gadn_id_and_round_trip() {
        let p = Pointer::parse(lfs_text().as_bytes()).unwrap();
        assert_eq!(p.sha256.to_string(), SHA);
        assert_eq!(p.size, 12345);
        assert_eq!(p.gadn, None);
        assert_eq!(p.encode(), lfs_text().into_bytes());
        // git-lfs's tolerances: surrounding whitespace, blank lines, old versions.
        let loose = format!("\n{}\n\n", lfs_text().replace("oid", "\noid"));
        assert_eq!(Pointer::parse(loose.as_bytes()).unwrap(), p);
        let old = lfs_text().replace(LFS_SPEC_V1, "https://hawser.github.com/spec/v1");
        assert_eq!(Pointer::parse(old.as_bytes()).unwrap(), p);
        let no_newline = lfs_text().trim_end().to_string();
        assert_eq!(Pointer::parse(no_newline.as_bytes()).unwrap(), p);
        assert!(looks_like_pointer(lfs_text().as_bytes()));
        assert!(!looks_like_pointer(b"\x89PNG\r\n"));
    }

    #[test]
    fn gadn_pointers_carry_the_file_id_in_a_sorted_extension_line() {
        let id = ObjectId::of_chunk(b"hello");
        let p = Pointer {
            sha256: Sha256([0xab; 32]),
            size: 5,
            gadn: Some(id),
        };
        let text = String::from_utf8(p.encode()).unwrap();
        let keys: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
        assert_eq!(keys, ["version", "ext-0-gadn", "oid", "size"]);
        assert!(text.contains(&id.to_hex()));
        assert_eq!(Pointer::parse(text.as_bytes()).unwrap(), p);
        assert!(text.len() < 250);
    }

    #[test]
    fn corrupt_pointers_are_rejected_with_a_reason() {
        let base = lfs_text();
        let ext = format!("ext-0-gadn sha256:{SHA}\n");
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "missing the version"),
            ("version\n".into(), "not `key value`"),
            (
                base.replace(LFS_SPEC_V1, "https://example.com/v9"),
                "unknown version",
            ),
            (
                base.replacen("version", "oid", 1),
                "first key must be version",
            ),
            (base.replace("oid sha256:", "oid md5:"), "expected sha256"),
            (base.replace(SHA, &SHA[..63]), "64 lowercase hex"),
            (base.replace(SHA, &SHA.to_uppercase()), "64 lowercase hex"),
            (base.replace("size 12345", "size -1"), "not a decimal"),
            (base.replace("size 12345", "size 1e3"), "not a decimal"),
            (base.replace("size 12345", "size "), "not `key value`"),
            (
                base.replace("size 12345", "size 99999999999999999999"),
                "out of range",
            ),
            (base.replace("size 12345\n", ""), "missing the size"),
            (format!("{base}extra value\n"), "extra line"),
            (base.replace("oid", "Oid"), "invalid key"),
            (base.replace("\nsize", "\r\nsize"), "carriage return"),
            (
                base.replace("oid", &format!("ext-0-foo sha256:{SHA}\noid")),
                "not supported",
            ),
            (
                base.replace("oid", &format!("{ext}{ext}oid")),
                "not sorted or duplicate",
            ),
            (
                base.replace("oid", "ext-0-gadn blake3:00\noid"),
                "expected sha256",
            ),
            (
                format!("{base}{}", " ".repeat(MAX_POINTER_LEN)),
                "at most 1024",
            ),
        ];
        for (text, want) in cases {
            let err = Pointer::parse(text.as_bytes()).unwrap_err();
            assert!(err.reason.contains(want), "{text:?}: {err} (wanted {want})");
        }
        let err = Pointer::parse(b"version \xff\n").unwrap_err();
        assert!(err.reason.contains("UTF-8"), "{err}");
    }

    #[test]
    fn hex_round_trips() {
        let b = [0x01u8, 0xfe, 0x7a];
        assert_eq!(hex(&b), "01fe7a");
        assert_eq!(parse_hex32(SHA).map(|x| hex(&x)).as_deref(), Some(SHA));
        assert_eq!(parse_hex32("zz"), None);
    }
}
