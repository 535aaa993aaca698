//! The file header of a `.blend` file: which Blender wrote it, how wide its
//! pointers are, its byte order, and so which block-header layout follows.
//!
//! Two layouts exist (Blender's `BLO_core_blend_header.hh`):
//!
//! ```text
//! format 0 (12 bytes, every Blender up to 4.x):
//!   "BLENDER" || ptr ('_' = 4 bytes, '-' = 8 bytes) || endian ('v' little, 'V' big)
//!             || 3 ASCII digits of the version ("304" = Blender 3.4)
//! format 1 (17 bytes, Blender 5.0 on, some 4.x builds):
//!   "BLENDER" || 2 ASCII digits: header size ("17") || '-'
//!             || 2 ASCII digits: format version ("01") || 'v'
//!             || 4 ASCII digits of the version ("0500" = Blender 5.0)
//! ```
//!
//! Format 1 always has 8-byte pointers, little endian, and 32-byte block headers
//! ([`super::block`]).

use super::FORMAT;
use crate::preview::PreviewError;

/// The magic every `.blend` file (after decompression) starts with.
pub const MAGIC: &[u8; 7] = b"BLENDER";

/// Bytes of a format-0 header.
pub const HEADER_V0_LEN: usize = 12;

/// Bytes of a format-1 header.
pub const HEADER_V1_LEN: usize = 17;

/// Bytes [`Header::parse`] may need to look at: the longest header.
pub const HEADER_MAX_LEN: usize = HEADER_V1_LEN;

/// Byte order of the integers in a `.blend` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endian {
    /// Least significant byte first (`v`): every file written on x86 and ARM.
    Little,
    /// Most significant byte first (`V`): files from PowerPC and SPARC machines.
    Big,
}

impl Endian {
    /// The fact value: `little` or `big`.
    pub fn name(self) -> &'static str {
        match self {
            Endian::Little => "little",
            Endian::Big => "big",
        }
    }
}

/// A decoded file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Length of the header in bytes: where the first block starts.
    pub len: usize,
    /// Low-level file format: 0 (12-byte header) or 1 (17-byte header, large blocks).
    pub format: u8,
    /// Pointer size of the writing machine, in bytes: 4 or 8.
    pub pointer_size: u8,
    /// Byte order of every integer in the file.
    pub endian: Endian,
    /// Blender's file version: 100 × major + minor (304 for Blender 3.4).
    pub version: u32,
}

impl Header {
    /// Decodes the header at the start of `head` (which may be longer than the
    /// header). Fails with [`PreviewError::Corrupt`] when the magic is not there,
    /// [`PreviewError::Truncated`] when `head` stops inside the header, and
    /// [`PreviewError::Unsupported`] for a well-formed header of an unknown format.
    pub fn parse(head: &[u8]) -> Result<Header, PreviewError> {
        let magic_len = head.len().min(MAGIC.len());
        if head[..magic_len] != MAGIC[..magic_len] {
            return Err(PreviewError::corrupt(
                FORMAT,
                format!("the file does not start with BLENDER: {:?}", Snippet(head)),
            ));
        }
        if head.len() < HEADER_V0_LEN {
            return Err(too_short(head, HEADER_V0_LEN));
        }
        if head[7].is_ascii_digit() {
            Self::parse_v1(head)
        } else {
            Self::parse_v0(head)
        }
    }

    fn parse_v0(head: &[u8]) -> Result<Header, PreviewError> {
        let pointer_size = match head[7] {
            b'_' => 4,
            b'-' => 8,
            other => {
                return Err(PreviewError::corrupt(
                    FORMAT,
                    format!(
                        "pointer-size byte {:?} is neither '_' nor '-'",
                        other as char
                    ),
                ))
            }
        };
        let endian = endian(head[8])?;
        let version = digits(&head[9..12], "version")?;
        Ok(Header {
            len: HEADER_V0_LEN,
            format: 0,
            pointer_size,
            endian,
            version,
        })
    }

    fn parse_v1(head: &[u8]) -> Result<Header, PreviewError> {
        let size = digits(&head[7..9], "header size")?;
        if size != HEADER_V1_LEN as u32 {
            return Err(PreviewError::unsupported(
                FORMAT,
                format!("a {size}-byte file header (only 12 and 17 are known)"),
            ));
        }
        if head.len() < HEADER_V1_LEN {
            return Err(too_short(head, HEADER_V1_LEN));
        }
        if head[9] != b'-' {
            return Err(PreviewError::corrupt(
                FORMAT,
                format!(
                    "byte 9 of a 17-byte header is {:?}, not '-'",
                    head[9] as char
                ),
            ));
        }
        let format = digits(&head[10..12], "file format version")?;
        if format != 1 {
            return Err(PreviewError::unsupported(
                FORMAT,
                format!("file format version {format} (only 0 and 1 are known)"),
            ));
        }
        let endian = endian(head[12])?;
        let version = digits(&head[13..17], "version")?;
        Ok(Header {
            len: HEADER_V1_LEN,
            format: 1,
            pointer_size: 8,
            endian,
            version,
        })
    }

    /// The Blender version as people write it: `3.4` for 304, `5.0` for 500.
    pub fn blender_version(&self) -> String {
        format!("{}.{}", self.version / 100, self.version % 100)
    }

    /// Bytes of one block header in this file: 20 (4-byte pointers), 24 (8-byte
    /// pointers) or 32 (format 1).
    pub fn block_header_len(&self) -> usize {
        match (self.format, self.pointer_size) {
            (1, _) => 32,
            (_, 4) => 20,
            _ => 24,
        }
    }
}

fn endian(byte: u8) -> Result<Endian, PreviewError> {
    match byte {
        b'v' => Ok(Endian::Little),
        b'V' => Ok(Endian::Big),
        other => Err(PreviewError::corrupt(
            FORMAT,
            format!("endianness byte {:?} is neither 'v' nor 'V'", other as char),
        )),
    }
}

/// The decimal number written by `bytes` (all ASCII digits).
fn digits(bytes: &[u8], what: &str) -> Result<u32, PreviewError> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!(
                "the {what} in the file header is not digits: {:?}",
                Snippet(bytes)
            ),
        ));
    }
    Ok(bytes.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

fn too_short(head: &[u8], need: usize) -> PreviewError {
    PreviewError::truncated(
        FORMAT,
        format!(
            "the file header needs {need} bytes, the file has {}",
            head.len()
        ),
    )
}

/// Up to 17 bytes shown with escapes, for messages.
struct Snippet<'a>(&'a [u8]);

impl std::fmt::Debug for Snippet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.0[..self.0.len().min(HEADER_MAX_LEN)];
        write!(f, "\"{}\"", s.escape_ascii())
    }
}
