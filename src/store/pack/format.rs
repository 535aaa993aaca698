//! Byte layouts of pack files and their names: the constants of
//! `store-format.md` § 6.1, and the pack header, with no I/O.

/// Magic bytes opening every pack file.
pub const PACK_MAGIC: [u8; 8] = *b"GADNPACK";
/// Pack format version written and understood.
pub const PACK_VERSION: u32 = 1;
/// Size of the pack header: magic || version u32 || reserved u32.
pub const PACK_HEADER_LEN: usize = 16;
/// Size of a record header: kind u8 || codec u8 || reserved u16 || raw_len u32 ||
/// stored_len u32 || id \[32\].
pub const RECORD_HEADER_LEN: usize = 44;

/// File name prefix of packs and indexes.
pub const PACK_PREFIX: &str = "pack-";
/// Extension of pack files.
pub const PACK_EXT: &str = "pack";
/// Extension of index files.
pub const INDEX_EXT: &str = "idx";
/// Suffix of an index being written (`pack-….idx.tmp`); renamed to `.idx` once fsynced.
pub const INDEX_TMP_SUFFIX: &str = ".idx.tmp";
/// Number of random hex digits in a pack name.
pub const PACK_NAME_HEX_LEN: usize = 16;

/// How a record's payload encodes its raw bytes. The numeric values are part of the
/// format and must never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Codec {
    /// The payload is the raw bytes.
    Raw = 0,
    /// The payload is one zstd frame decompressing to exactly `raw_len` bytes.
    Zstd = 1,
}

impl Codec {
    /// Decodes the on-disk byte, `None` for an unknown codec.
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(Codec::Raw),
            1 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// Lower-case name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Raw => "raw",
            Codec::Zstd => "zstd",
        }
    }
}

/// The 16-byte pack header.
pub(crate) fn pack_header() -> [u8; PACK_HEADER_LEN] {
    let mut h = [0u8; PACK_HEADER_LEN];
    h[..8].copy_from_slice(&PACK_MAGIC);
    h[8..12].copy_from_slice(&PACK_VERSION.to_le_bytes());
    h
}

/// Checks a pack header; `Err` says what is wrong in words.
pub(crate) fn check_pack_header(h: &[u8]) -> Result<(), String> {
    if h.len() < PACK_HEADER_LEN {
        return Err(format!(
            "pack header is {} bytes, expected {PACK_HEADER_LEN}",
            h.len()
        ));
    }
    if h[..8] != PACK_MAGIC {
        return Err("bad magic, not a gadn pack file".into());
    }
    let version = le_u32(&h[8..12]);
    if version != PACK_VERSION {
        return Err(format!(
            "unsupported pack version {version} (this build reads {PACK_VERSION})"
        ));
    }
    let reserved = le_u32(&h[12..16]);
    if reserved != 0 {
        return Err(format!(
            "reserved header field is {reserved:#x}, expected 0"
        ));
    }
    Ok(())
}

pub(crate) fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

pub(crate) fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// True if `stem` is `pack-<16 lowercase hex>`.
pub(crate) fn is_pack_stem(stem: &str) -> bool {
    stem.strip_prefix(PACK_PREFIX).is_some_and(|hex| {
        hex.len() == PACK_NAME_HEX_LEN
            && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A fresh pack stem `pack-<16 lowercase hex>`, unpredictable enough that concurrent
/// writers (threads or processes) do not collide; creation uses `create_new` anyway.
pub(crate) fn random_pack_stem() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = blake3::Hasher::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    h.update(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let local = 0u8;
    h.update(&(std::ptr::addr_of!(local) as usize).to_le_bytes());
    let hash = h.finalize();
    let mut s = String::with_capacity(PACK_PREFIX.len() + PACK_NAME_HEX_LEN);
    s.push_str(PACK_PREFIX);
    for b in &hash.as_bytes()[..PACK_NAME_HEX_LEN / 2] {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_pinned() {
        assert_eq!(PACK_HEADER_LEN, 16);
        assert_eq!(pack_header().len(), PACK_HEADER_LEN);
        assert_eq!(
            RECORD_HEADER_LEN,
            1 + 1 + 2 + 4 + 4 + crate::store::id::ID_LEN
        );
        assert_eq!(RECORD_HEADER_LEN, 44);
        assert_eq!(Codec::Raw as u8, 0);
        assert_eq!(Codec::Zstd as u8, 1);
        assert_eq!(Codec::from_u8(2), None);
    }

    #[test]
    fn pack_header_layout() {
        let h = pack_header();
        assert_eq!(&h, b"GADNPACK\x01\x00\x00\x00\x00\x00\x00\x00");
        assert!(check_pack_header(&h).is_ok());
        let mut bad = h;
        bad[0] = b'X';
        assert!(check_pack_header(&bad).unwrap_err().contains("magic"));
        let mut bad = h;
        bad[8] = 2;
        assert!(check_pack_header(&bad).unwrap_err().contains("version 2"));
        let mut bad = h;
        bad[15] = 1;
        assert!(check_pack_header(&bad).unwrap_err().contains("reserved"));
        assert!(check_pack_header(&h[..10]).is_err());
    }

    #[test]
    fn pack_names() {
        let a = random_pack_stem();
        let b = random_pack_stem();
        assert_ne!(a, b);
        assert!(is_pack_stem(&a), "{a}");
        assert_eq!(a.len(), 5 + 16);
        assert!(!is_pack_stem("pack-0123"));
        assert!(!is_pack_stem("pack-0123456789ABCDEF"));
        assert!(!is_pack_stem("pick-0123456789abcdef"));
        assert!(is_pack_stem("pack-0123456789abcdef"));
    }
}
