//! Reads the head of a `.blend` file: the file header, the `REND` blocks (scene
//! names and frame ranges) and the `TEST` block (the embedded thumbnail).
//!
//! Blender writes, in this order: the file header, one `REND` block per scene shown
//! in a window, the `TEST` block when it made a thumbnail, then `GLOB` and the rest.
//! So the reader stops at the first block that is neither `REND` nor `TEST`: it
//! never reads (or decompresses) past the thumbnail, and a file without one costs a
//! few hundred bytes.
//!
//! `TEST` data: `width i32 || height i32 || width × height RGBA8 pixels`, rows
//! bottom-up; the block length must be exactly `8 + 4 × width × height`.

use std::cell::Cell;

use super::block::{self, BlockHead, BLOCK_HEADER_MAX_LEN};
use super::header::{Header, HEADER_MAX_LEN, HEADER_V0_LEN};
use super::stream::{Compression, Stream};
use super::FORMAT;
use crate::preview::{Ctx, PreviewError, Source};

/// Blocks read at most before giving up on finding the thumbnail (Blender writes
/// one `REND` per scene shown in a window, then `TEST`).
pub const MAX_HEAD_BLOCKS: usize = 256;

/// Largest `REND` block accepted, in bytes (a `RenderInfo` is 72 bytes in Blender
/// 3.x, 264 from 4.5, where ID names grew to 256 bytes).
pub const MAX_REND_LEN: u64 = 4096;

/// Longest side of a thumbnail accepted, in pixels (Blender writes 128 or 256).
pub const MAX_THUMB_SIDE: u32 = 4096;

/// What the head of a `.blend` file says.
#[derive(Debug, Clone, PartialEq)]
pub struct BlendHead {
    /// How the file is compressed.
    pub compression: Compression,
    /// The file header.
    pub header: Header,
    /// The scenes of the `REND` blocks, in file order.
    pub scenes: Vec<Scene>,
    /// The embedded thumbnail, if the file has one.
    pub thumbnail: Option<Thumbnail>,
    /// Blocks read (the `REND`s, the `TEST`, and the block that ended the scan).
    pub blocks_read: usize,
}

/// One `REND` block: a scene's name and frame range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scene {
    /// The scene's name (without the `SC` ID prefix).
    pub name: String,
    /// First frame rendered.
    pub frame_start: i32,
    /// Last frame rendered.
    pub frame_end: i32,
}

/// The embedded thumbnail.
#[derive(Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels, 1..=[`MAX_THUMB_SIDE`].
    pub width: u32,
    /// Height in pixels, 1..=[`MAX_THUMB_SIDE`].
    pub height: u32,
    /// `width × height` RGBA8 pixels, rows top-down (flipped from the file).
    pub rgba: Vec<u8>,
}

impl std::fmt::Debug for Thumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Thumbnail({}x{})", self.width, self.height)
    }
}

/// Reads the head of the `.blend` file in `src` (plain, gzip or zstd). Errors:
/// [`PreviewError::NotPresent`] when a byte it needs is not stored (a partial file
/// whose head is too short), `Truncated`, `Corrupt`, `Unsupported`, and `TooLarge`
/// when the thumbnail would need more than `ctx.max_alloc`.
pub fn read_head(src: &dyn Source, ctx: &Ctx) -> Result<BlendHead, PreviewError> {
    let failure = Cell::new(None);
    let mut stream = Stream::open(src, &failure, ctx)?;
    let header = read_header(&mut stream)?;
    let mut head = BlendHead {
        compression: stream.compression,
        header,
        scenes: Vec::new(),
        thumbnail: None,
        blocks_read: 0,
    };
    let header_len = header.block_header_len();
    let mut buf = [0u8; BLOCK_HEADER_MAX_LEN];
    while head.blocks_read < MAX_HEAD_BLOCKS {
        ctx.check()?;
        stream.fill(&mut buf[..header_len], "a block header")?;
        let block = BlockHead::parse(&header, &buf[..header_len])?;
        head.blocks_read += 1;
        match block.code {
            block::REND => head.scenes.push(read_scene(&mut stream, &header, &block)?),
            block::TEST => {
                head.thumbnail = Some(read_thumbnail(&mut stream, &header, &block, ctx)?);
                break;
            }
            _ => break,
        }
    }
    Ok(head)
}

/// The file header, 12 or 17 bytes.
fn read_header(stream: &mut Stream<'_>) -> Result<Header, PreviewError> {
    let mut buf = [0u8; HEADER_MAX_LEN];
    let got = stream.fill_up_to(&mut buf[..HEADER_V0_LEN], "the file header")?;
    if got == 0 {
        return Err(PreviewError::truncated(FORMAT, "the file is empty"));
    }
    match Header::parse(&buf[..got]) {
        // A 17-byte header: read the rest and decode again.
        Err(PreviewError::Truncated { .. }) if got == HEADER_V0_LEN => {
            stream.fill(&mut buf[HEADER_V0_LEN..], "the file header")?;
            Header::parse(&buf)
        }
        other => other,
    }
}

/// A `REND` block's data: `frame_start i32 || frame_end i32 || name (NUL-padded)`.
fn read_scene(
    stream: &mut Stream<'_>,
    header: &Header,
    block: &BlockHead,
) -> Result<Scene, PreviewError> {
    if block.len < 8 || block.len > MAX_REND_LEN {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!(
                "REND block of {} bytes (expected 8..={MAX_REND_LEN})",
                block.len
            ),
        ));
    }
    let data = stream.read_vec(block.len, "a REND block")?;
    let e = header.endian;
    let name = &data[8..];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    Ok(Scene {
        name: String::from_utf8_lossy(&name[..end]).into_owned(),
        frame_start: block::i32_at(e, &data, 0),
        frame_end: block::i32_at(e, &data, 4),
    })
}

/// The `TEST` block's data, its rows flipped to top-down.
fn read_thumbnail(
    stream: &mut Stream<'_>,
    header: &Header,
    block: &BlockHead,
    ctx: &Ctx,
) -> Result<Thumbnail, PreviewError> {
    if block.len < 8 {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("TEST block of {} bytes has no room for its size", block.len),
        ));
    }
    let mut dims = [0u8; 8];
    stream.fill(&mut dims, "the thumbnail size")?;
    let (w, h) = (
        block::i32_at(header.endian, &dims, 0),
        block::i32_at(header.endian, &dims, 4),
    );
    let side_ok = |s: i32| s > 0 && s as u32 <= MAX_THUMB_SIDE;
    if !side_ok(w) || !side_ok(h) {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("thumbnail of {w}x{h} pixels (each side must be 1..={MAX_THUMB_SIDE})"),
        ));
    }
    let (width, height) = (w as u32, h as u32);
    let bytes = u64::from(width) * u64::from(height) * 4;
    if block.len != 8 + bytes {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!(
                "TEST block of {} bytes, but a {width}x{height} thumbnail needs {}",
                block.len,
                8 + bytes
            ),
        ));
    }
    ctx.alloc(bytes, "the blend thumbnail")?;
    let mut rgba = stream.read_vec(bytes, "the thumbnail pixels")?;
    flip_rows(&mut rgba, width as usize * 4);
    Ok(Thumbnail {
        width,
        height,
        rgba,
    })
}

/// Reverses the order of the rows of `row`-byte rows in `pixels`, in place.
fn flip_rows(pixels: &mut [u8], row: usize) {
    let rows = pixels.len() / row;
    for y in 0..rows / 2 {
        let (top, bottom) = pixels.split_at_mut((rows - 1 - y) * row);
        top[y * row..(y + 1) * row].swap_with_slice(&mut bottom[..row]);
    }
}
