//! Facts the `image` decoders do not report, read from the head of the file:
//! the `compression` of every raster format, and the EXR channel depth.

use crate::preview::{Generated, PreviewError};

/// EXR attributes read before giving up on finding `compression`.
const EXR_MAX_ATTRIBUTES: usize = 256;

/// Adds `compression` (and for EXR the true `bit_depth`: 16 for half floats) from
/// `head`, the first bytes of a `format` file already accepted by its decoder.
pub(super) fn compression(
    format: &'static str,
    head: &[u8],
    g: &mut Generated,
) -> Result<(), PreviewError> {
    let compression = match format {
        "png" => "deflate",
        "jpeg" => "jpeg",
        "tga" => match head.get(2) {
            Some(9..=11) => "rle",
            _ => "none",
        },
        "bmp" => match head.get(30..34).map(le32) {
            Some(1) => "rle8",
            Some(2) => "rle4",
            _ => "none",
        },
        "hdr" => hdr(head),
        _ => return exr(head, g),
    };
    g.fact("compression", compression);
    Ok(())
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Radiance pictures are run-length coded when the first scanline starts with the
/// new-style marker `2 2`; otherwise flat.
fn hdr(head: &[u8]) -> &'static str {
    let Some(end) = head.windows(2).position(|w| w == b"\n\n") else {
        return "none";
    };
    let rest = &head[end + 2..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(n) if rest.get(n + 1..n + 3) == Some(&[2, 2]) => "rle",
        _ => "none",
    }
}

/// Reads the EXR header attributes `compression` and `channels` (the pixel type
/// of the first channel gives `bit_depth`).
fn exr(head: &[u8], g: &mut Generated) -> Result<(), PreviewError> {
    let bad = |d: &str| PreviewError::corrupt("exr", d.to_string());
    let mut at = 8usize;
    let mut found = false;
    for _ in 0..EXR_MAX_ATTRIBUTES {
        let name = cstr(head, &mut at).ok_or_else(|| bad("attribute name runs past the head"))?;
        if name.is_empty() {
            break;
        }
        let _kind = cstr(head, &mut at).ok_or_else(|| bad("attribute type runs past the head"))?;
        let size = head
            .get(at..at + 4)
            .map(le32)
            .ok_or_else(|| bad("attribute size runs past the head"))? as usize;
        at += 4;
        let value = head
            .get(at..at.saturating_add(size))
            .ok_or_else(|| bad("attribute value runs past the head"))?;
        at += size;
        match name {
            b"compression" => {
                let c = match value.first() {
                    Some(0) => "none",
                    Some(1) => "rle",
                    Some(2) => "zips",
                    Some(3) => "zip",
                    Some(4) => "piz",
                    Some(5) => "pxr24",
                    Some(6) => "b44",
                    Some(7) => "b44a",
                    Some(8) => "dwaa",
                    Some(9) => "dwab",
                    _ => "unknown",
                };
                g.fact("compression", c);
                found = true;
            }
            b"channels" => {
                // name\0, then pixel type (u32): 0 uint, 1 half, 2 float.
                let mut p = 0usize;
                if cstr(value, &mut p).is_some() {
                    if let Some(t) = value.get(p..p + 4).map(le32) {
                        g.fact("bit_depth", if t == 1 { 16 } else { 32 });
                    }
                }
            }
            _ => {}
        }
    }
    if !found {
        g.fact("compression", "unknown");
    }
    Ok(())
}

/// The NUL-terminated string at `*at`, advancing past its NUL.
fn cstr<'a>(b: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let rest = b.get(*at..)?;
    let n = rest.iter().position(|&c| c == 0)?;
    *at += n + 1;
    Some(&rest[..n])
}
