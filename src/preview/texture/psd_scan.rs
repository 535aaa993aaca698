//! A walk over the sections of a Photoshop file, reading only the bytes it needs
//! through the [`Source`]: the header, the image resources (to find the embedded
//! thumbnail), and — for complete files — the layer records and the compression
//! code at the head of every layer channel, and where the merged image starts.
//!
//! Layout: `header (26) || color mode data (u32 len || …) || image resources
//! (u32 len || resource*) || layer and mask info (u32 len, u64 in PSB || layer
//! info (len || count i16 || record* || channel data*) || …) || merged image
//! (compression u16 || data)`. All numbers big-endian.

use crate::preview::{Ctx, PreviewError, Source};

pub(super) const FORMAT: &str = "psd";
/// Image resource: JFIF thumbnail (RGB).
const THUMBNAIL: u16 = 1036;
/// Image resource: JFIF thumbnail of Photoshop 4 (BGR).
const THUMBNAIL_BGR: u16 = 1033;
/// Image resource: slices (a resource the `psd` crate panics on in some versions).
const SLICES: u16 = 1050;
/// Bytes before the JFIF data in a thumbnail resource.
const THUMB_HEADER: u64 = 28;
/// Most channels a PSD may have.
const MAX_CHANNELS: u16 = 56;

/// The embedded thumbnail: where its JFIF bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Thumbnail {
    pub offset: u64,
    pub len: u64,
    /// Photoshop 4 thumbnails store blue and red swapped.
    pub bgr: bool,
}

/// The layer section, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layers {
    /// Number of layers.
    pub count: u32,
    /// Compression codes used by layer channels, sorted, without repeats
    /// (0 raw, 1 RLE, 2 ZIP, 3 ZIP with prediction).
    pub compressions: Vec<u16>,
    /// Offset of the merged image section (its compression code).
    pub merged_offset: u64,
}

/// What the walk found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// A large-document (PSB, version 2) file.
    pub psb: bool,
    pub channels: u16,
    pub width: u32,
    pub height: u32,
    /// Bits per channel: 1, 8, 16 or 32.
    pub depth: u16,
    /// 0 bitmap, 1 grayscale, 2 indexed, 3 RGB, 4 CMYK, 7 multichannel, 8 duotone, 9 Lab.
    pub color_mode: u16,
    pub thumbnail: Option<Thumbnail>,
    pub has_slices: bool,
    /// `None` when the walk stopped before the layers (partial previews).
    pub layers: Option<Layers>,
}

/// Reads big-endian numbers at a moving offset of a [`Source`].
pub(super) struct At<'a> {
    src: &'a dyn Source,
    pub pos: u64,
}

impl<'a> At<'a> {
    pub(super) fn new(src: &'a dyn Source, pos: u64) -> At<'a> {
        At { src, pos }
    }

    pub(super) fn bytes<const N: usize>(&mut self) -> Result<[u8; N], PreviewError> {
        let mut b = [0u8; N];
        self.src
            .read_exact_at(self.pos, &mut b)
            .map_err(|e| match e {
                PreviewError::Truncated { detail, .. } => PreviewError::truncated(FORMAT, detail),
                other => other,
            })?;
        self.pos += N as u64;
        Ok(b)
    }

    pub(super) fn u8(&mut self) -> Result<u8, PreviewError> {
        Ok(self.bytes::<1>()?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, PreviewError> {
        Ok(u16::from_be_bytes(self.bytes()?))
    }

    pub(super) fn u32(&mut self) -> Result<u32, PreviewError> {
        Ok(u32::from_be_bytes(self.bytes()?))
    }

    /// A length: u32, or u64 in PSB files.
    pub(super) fn len(&mut self, psb: bool) -> Result<u64, PreviewError> {
        if psb {
            Ok(u64::from_be_bytes(self.bytes()?))
        } else {
            Ok(self.u32()? as u64)
        }
    }

    pub(super) fn skip(&mut self, n: u64) {
        self.pos = self.pos.saturating_add(n);
    }
}

/// Walks `src`; with `layers` false it stops after the image resources.
pub(super) fn scan(src: &dyn Source, ctx: &Ctx, layers: bool) -> Result<Layout, PreviewError> {
    let mut at = At::new(src, 0);
    if &at.bytes::<4>()? != b"8BPS" {
        return Err(PreviewError::corrupt(FORMAT, "no 8BPS signature"));
    }
    let version = at.u16()?;
    if version != 1 && version != 2 {
        return Err(PreviewError::corrupt(FORMAT, format!("version {version}")));
    }
    let psb = version == 2;
    at.skip(6);
    let channels = at.u16()?;
    let height = at.u32()?;
    let width = at.u32()?;
    let depth = at.u16()?;
    let color_mode = at.u16()?;
    let max_side = if psb { 300_000 } else { 30_000 };
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("{channels} channels"),
        ));
    }
    if width == 0 || height == 0 || width > max_side || height > max_side {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("{width}x{height} pixels"),
        ));
    }
    if !matches!(depth, 1 | 8 | 16 | 32) {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("{depth} bits per channel"),
        ));
    }
    let color_data = at.u32()? as u64;
    at.skip(color_data);
    let (thumbnail, has_slices) = resources(&mut at, ctx)?;
    let mut layout = Layout {
        psb,
        channels,
        width,
        height,
        depth,
        color_mode,
        thumbnail,
        has_slices,
        layers: None,
    };
    if layers {
        layout.layers = Some(layer_section(&mut at, ctx, psb)?);
    }
    Ok(layout)
}

/// Walks the image resources section; leaves `at` after it.
fn resources(at: &mut At, ctx: &Ctx) -> Result<(Option<Thumbnail>, bool), PreviewError> {
    let len = at.u32()? as u64;
    let end = at.pos + len;
    let (mut thumbnail, mut slices) = (None, false);
    while at.pos + 12 <= end {
        ctx.check()?;
        let sig = at.bytes::<4>()?;
        if !matches!(&sig, b"8BIM" | b"MeSa" | b"AgHg" | b"PHUT" | b"DCSR") {
            return Err(PreviewError::corrupt(
                FORMAT,
                format!("image resource signature {sig:02x?} at {}", at.pos - 4),
            ));
        }
        let id = at.u16()?;
        let name = at.u8()? as u64;
        at.skip(name + (name + 1) % 2);
        let size = at.u32()? as u64;
        let data = at.pos;
        if data + size > end {
            return Err(PreviewError::corrupt(
                FORMAT,
                format!("image resource {id} runs past its section"),
            ));
        }
        match id {
            THUMBNAIL | THUMBNAIL_BGR if size > THUMB_HEADER => {
                thumbnail = Some(Thumbnail {
                    offset: data + THUMB_HEADER,
                    len: size - THUMB_HEADER,
                    bgr: id == THUMBNAIL_BGR,
                });
            }
            SLICES => slices = true,
            _ => {}
        }
        at.pos = data + size + size % 2;
    }
    at.pos = end;
    Ok((thumbnail, slices))
}

/// Walks the layer and mask information section; leaves `at` after it.
fn layer_section(at: &mut At, ctx: &Ctx, psb: bool) -> Result<Layers, PreviewError> {
    let len = at.len(psb)?;
    let merged_offset = at.pos.saturating_add(len);
    if merged_offset > at.src.len() {
        return Err(PreviewError::truncated(
            FORMAT,
            format!("the layer section ends at {merged_offset}, past the end"),
        ));
    }
    let mut compressions = Vec::new();
    let mut count = 0u32;
    if len > 0 && at.len(psb)? > 0 {
        let n = (at.u16()? as i16).unsigned_abs() as u32;
        count = n;
        let mut lens = Vec::new();
        for _ in 0..n {
            ctx.check()?;
            at.skip(16);
            let nch = at.u16()?;
            if nch > MAX_CHANNELS {
                return Err(PreviewError::corrupt(
                    FORMAT,
                    format!("a layer with {nch} channels"),
                ));
            }
            for _ in 0..nch {
                at.skip(2);
                lens.push(at.len(psb)?);
            }
            if &at.bytes::<4>()? != b"8BIM" {
                return Err(PreviewError::corrupt(
                    FORMAT,
                    "layer blend signature is not 8BIM",
                ));
            }
            at.skip(8);
            let extra = at.u32()? as u64;
            at.skip(extra);
        }
        for len in lens {
            if len >= 2 {
                let mut probe = At::new(at.src, at.pos);
                compressions.push(probe.u16()?);
            }
            at.skip(len);
            if at.pos > merged_offset {
                return Err(PreviewError::corrupt(
                    FORMAT,
                    "layer channel data runs past its section",
                ));
            }
        }
        compressions.sort_unstable();
        compressions.dedup();
    }
    at.pos = merged_offset;
    Ok(Layers {
        count,
        compressions,
        merged_offset,
    })
}
