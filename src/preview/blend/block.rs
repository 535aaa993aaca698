//! Block headers (`BHead`): after the file header a `.blend` file is a sequence of
//! blocks, each a header followed by `len` bytes of data, ending with an `ENDB`
//! block.
//!
//! ```text
//! BHead4      (4-byte pointers, 20 bytes): code[4] || len i32 || old u32 || sdna i32 || count i32
//! SmallBHead8 (8-byte pointers, 24 bytes): code[4] || len i32 || old u64 || sdna i32 || count i32
//! LargeBHead8 (format 1,        32 bytes): code[4] || sdna i32 || old u64 || len i64 || count i64
//! ```
//!
//! Integers are in the file's byte order; `code` is four ASCII bytes in file order
//! (`REND`, `TEST`, `GLOB`, `DNA1`, `ENDB`, or a two-letter ID code padded with
//! zeros such as `OB\0\0`).

use super::header::{Endian, Header};
use super::FORMAT;
use crate::preview::PreviewError;

/// Render info: a scene's frame range and name (`RenderInfo`).
pub const REND: [u8; 4] = *b"REND";
/// The embedded thumbnail.
pub const TEST: [u8; 4] = *b"TEST";
/// Global settings; written right after the thumbnail.
pub const GLOB: [u8; 4] = *b"GLOB";
/// The end of the file.
pub const ENDB: [u8; 4] = *b"ENDB";

/// Largest block header of any layout, in bytes.
pub const BLOCK_HEADER_MAX_LEN: usize = 32;

/// One decoded block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHead {
    /// Four-byte block code in file order.
    pub code: [u8; 4],
    /// Bytes of data after the header (checked not negative).
    pub len: u64,
    /// The pointer the data had in the writing process (identifies the block).
    pub old: u64,
    /// Index of the block's struct in the file's SDNA.
    pub sdna: u32,
    /// Number of structs in the block.
    pub count: u64,
}

impl BlockHead {
    /// Decodes a block header of `header`'s layout from the start of `bytes`, which
    /// holds at least [`Header::block_header_len`] bytes. A negative length or count
    /// is [`PreviewError::Corrupt`].
    pub fn parse(header: &Header, bytes: &[u8]) -> Result<BlockHead, PreviewError> {
        let need = header.block_header_len();
        if bytes.len() < need {
            return Err(PreviewError::truncated(
                FORMAT,
                format!(
                    "a block header needs {need} bytes, {} are left",
                    bytes.len()
                ),
            ));
        }
        let e = header.endian;
        let code = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let (len, old, sdna, count) = match need {
            20 => (
                i64::from(i32_at(e, bytes, 4)),
                u64::from(u32_at(e, bytes, 8)),
                i32_at(e, bytes, 12),
                i64::from(i32_at(e, bytes, 16)),
            ),
            24 => (
                i64::from(i32_at(e, bytes, 4)),
                u64_at(e, bytes, 8),
                i32_at(e, bytes, 16),
                i64::from(i32_at(e, bytes, 20)),
            ),
            _ => (
                u64_at(e, bytes, 16) as i64,
                u64_at(e, bytes, 8),
                i32_at(e, bytes, 4),
                u64_at(e, bytes, 24) as i64,
            ),
        };
        let code_text = code.escape_ascii();
        let len = u64::try_from(len).map_err(|_| {
            PreviewError::corrupt(FORMAT, format!("block {code_text} has length {len}"))
        })?;
        let count = u64::try_from(count).map_err(|_| {
            PreviewError::corrupt(FORMAT, format!("block {code_text} has count {count}"))
        })?;
        Ok(BlockHead {
            code,
            len,
            old,
            sdna: sdna as u32,
            count,
        })
    }

    /// The code as text, zero padding removed (`OB`, `TEST`).
    pub fn code_name(&self) -> String {
        let end = self.code.iter().position(|&b| b == 0).unwrap_or(4);
        self.code[..end].escape_ascii().to_string()
    }
}

/// The `u32` at `at` in byte order `e`; `bytes` holds at least `at + 4` bytes.
pub fn u32_at(e: Endian, bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    match e {
        Endian::Little => u32::from_le_bytes(b),
        Endian::Big => u32::from_be_bytes(b),
    }
}

/// The `i32` at `at` in byte order `e`; `bytes` holds at least `at + 4` bytes.
pub fn i32_at(e: Endian, bytes: &[u8], at: usize) -> i32 {
    u32_at(e, bytes, at) as i32
}

/// The `u64` at `at` in byte order `e`; `bytes` holds at least `at + 8` bytes.
pub fn u64_at(e: Endian, bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    match e {
        Endian::Little => u64::from_le_bytes(b),
        Endian::Big => u64::from_be_bytes(b),
    }
}
