//! DirectDraw Surface textures: the 128-byte header (and the 20-byte DX10
//! extension), the mip chain of the first layer/face, and one decoded level.
//!
//! Layout: `"DDS " || header (124 bytes) || [DX10 header (20 bytes)] || layer 0
//! (mip 0 || mip 1 || …) || layer 1 …`, each mip `ceil(w/4)·ceil(h/4)` blocks for
//! BCn or `w·h` texels otherwise, times the depth of volume textures.

use image::RgbaImage;

use super::base_facts;
use super::blocks::{self, PixelFormat};
use super::mips::{self, Level};
use crate::preview::source::read_range;
use crate::preview::{Ctx, Generated, Input, PreviewError};

const FORMAT: &str = "dds";
/// Magic and header size.
const HEADER: u64 = 128;
/// Size of the DX10 header extension.
const DX10: u64 = 20;
/// Pixel format flags.
const DDPF_ALPHAPIXELS: u32 = 0x1;
const DDPF_FOURCC: u32 = 0x4;
const DDPF_RGB: u32 = 0x40;
/// caps2 flags.
const CUBEMAP: u32 = 0x200;
const CUBEMAP_FACES: u32 = 0xFC00;
const VOLUME: u32 = 0x20_0000;
/// DX10 miscFlag: the array holds cubes.
const MISC_TEXTURECUBE: u32 = 0x4;

/// What the header says.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Header {
    pub width: u32,
    pub height: u32,
    pub depth: u32,
    pub mip_count: u32,
    pub layers: u32,
    pub format: PixelFormat,
    /// Offset of the first texel byte.
    pub data_offset: u64,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses the header from the first 148 bytes (fewer when the file is shorter).
pub(super) fn parse(head: &[u8], file_len: u64) -> Result<Header, PreviewError> {
    if head.len() < HEADER as usize {
        return Err(PreviewError::truncated(
            FORMAT,
            format!("{} bytes, the header needs {HEADER}", head.len()),
        ));
    }
    if &head[..4] != b"DDS " || le32(head, 4) != 124 || le32(head, 76) != 32 {
        return Err(PreviewError::corrupt(
            FORMAT,
            "no DDS magic or wrong header sizes",
        ));
    }
    let height = le32(head, 12);
    let width = le32(head, 16);
    let caps2 = le32(head, 112);
    let depth = if caps2 & VOLUME != 0 {
        le32(head, 24).max(1)
    } else {
        1
    };
    if width == 0 || height == 0 {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("{width}x{height} texels"),
        ));
    }
    let mip_count = le32(head, 28).max(1);
    let longest = width.max(height).max(depth);
    let max_mips = u32::BITS - longest.leading_zeros();
    if mip_count > max_mips {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!("{mip_count} mip levels for a {width}x{height} texture (at most {max_mips})"),
        ));
    }
    let pf_flags = le32(head, 80);
    let fourcc = [head[84], head[85], head[86], head[87]];
    let mut layers = if caps2 & CUBEMAP != 0 {
        (caps2 & CUBEMAP_FACES).count_ones().max(1)
    } else {
        1
    };
    let mut data_offset = HEADER;
    let format = if pf_flags & DDPF_FOURCC != 0 && &fourcc == b"DX10" {
        if head.len() < (HEADER + DX10) as usize {
            return Err(PreviewError::truncated(
                FORMAT,
                "the DX10 header is cut off",
            ));
        }
        data_offset += DX10;
        let dxgi = le32(head, 128);
        let cube = le32(head, 136) & MISC_TEXTURECUBE != 0;
        layers = le32(head, 140)
            .max(1)
            .saturating_mul(if cube { 6 } else { 1 });
        blocks::from_dxgi(dxgi)
            .ok_or_else(|| PreviewError::unsupported(FORMAT, format!("DXGI format {dxgi}")))?
    } else if pf_flags & DDPF_FOURCC != 0 {
        blocks::from_fourcc(fourcc).ok_or_else(|| {
            PreviewError::unsupported(
                FORMAT,
                format!("FourCC {:?}", String::from_utf8_lossy(&fourcc)),
            )
        })?
    } else {
        legacy(pf_flags, &head[88..108])?
    };
    let layer_bytes = chain(&format, width, height, depth, mip_count, 0)
        .last()
        .map(|l| l.offset.saturating_add(l.len))
        .unwrap_or(0);
    if data_offset.saturating_add(layer_bytes) > file_len {
        return Err(PreviewError::truncated(
            FORMAT,
            format!(
                "the first layer needs {} bytes, the file has {file_len}",
                data_offset.saturating_add(layer_bytes)
            ),
        ));
    }
    Ok(Header {
        width,
        height,
        depth,
        mip_count,
        layers,
        format,
        data_offset,
    })
}

/// The format of an uncompressed legacy header from its bit count and masks
/// (`masks`: bit count, R, G, B, A masks, little endian).
fn legacy(flags: u32, masks: &[u8]) -> Result<PixelFormat, PreviewError> {
    let bits = le32(masks, 0);
    let (r, g, b) = (le32(masks, 4), le32(masks, 8), le32(masks, 12));
    let a = if flags & DDPF_ALPHAPIXELS != 0 {
        le32(masks, 16)
    } else {
        0
    };
    let found = match (flags & DDPF_RGB != 0, bits, r, g, b, a) {
        (true, 32, 0xFF_0000, 0xFF00, 0xFF, 0xFF00_0000) => Some(blocks::BGRA8),
        (true, 32, 0xFF_0000, 0xFF00, 0xFF, 0) => Some(blocks::BGRX8),
        (true, 32, 0xFF, 0xFF00, 0xFF_0000, 0xFF00_0000) => Some(blocks::RGBA8),
        (true, 32, 0xFF, 0xFF00, 0xFF_0000, 0) => Some(blocks::RGBX8),
        (true, 24, 0xFF_0000, 0xFF00, 0xFF, 0) => Some(blocks::BGR8),
        _ => None,
    };
    found.ok_or_else(|| {
        PreviewError::unsupported(
            FORMAT,
            format!("{bits}-bit pixels with masks r {r:#x} g {g:#x} b {b:#x} a {a:#x}"),
        )
    })
}

/// The mip chain of the first layer, starting at `data_offset` (lengths include
/// every slice of a volume level; offsets saturate on absurd sizes, which the
/// file-length check then refuses).
fn chain(format: &PixelFormat, w: u32, h: u32, d: u32, count: u32, data_offset: u64) -> Vec<Level> {
    let mut at = data_offset;
    (0..count)
        .map(|m| {
            let (mw, mh, md) = ((w >> m).max(1), (h >> m).max(1), (d >> m).max(1));
            let len = format.image_bytes(mw, mh, md).unwrap_or(u64::MAX);
            let level = Level {
                width: mw,
                height: mh,
                offset: at,
                len,
            };
            at = at.saturating_add(len);
            level
        })
        .collect()
}

/// Adds the DDS facts to `g` and returns the pixels of the level chosen by
/// [`mips::read_level`] (none from a partial file with no whole level present).
pub(super) fn preview(
    input: &Input,
    ctx: &Ctx,
    g: &mut Generated,
    partial: bool,
) -> Result<Option<RgbaImage>, PreviewError> {
    let src = &*input.source;
    let mut head = read_range(src, 0, src.len().min(HEADER) as usize)?;
    if head.len() as u64 == HEADER && &head[84..88] == b"DX10" {
        head = read_range(src, 0, src.len().min(HEADER + DX10) as usize)?;
    }
    let h = parse(&head, src.len())?;
    let f = &h.format;
    base_facts(g, h.width, h.height, f.channels, f.bit_depth);
    g.fact("mip_count", h.mip_count)
        .fact("compression", f.compression)
        .fact("format", f.name)
        .fact("layers", h.layers);
    if h.depth > 1 {
        g.fact("depth", h.depth);
    }
    let levels = chain(f, h.width, h.height, h.depth, h.mip_count, h.data_offset);
    let Some((i, bytes)) = mips::read_level(src, &levels, ctx, partial)? else {
        return Ok(None);
    };
    g.fact("thumbnail_mip", i as u32);
    let l = levels[i];
    f.decode(FORMAT, l.width, l.height, &bytes, ctx).map(Some)
}
