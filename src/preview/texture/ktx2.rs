//! KTX2 textures: header facts through the `ktx2` crate's header and level-index
//! readers (which need only the head, so partial files work), then one level
//! decoded when its format is plain or BCn, after undoing zlib or Zstandard
//! supercompression. Basis Universal (BasisLZ/ETC1S or UASTC) is not transcoded:
//! such files get facts and the fact `thumbnail: "unsupported: basis"`.

use std::io::Read;

use image::RgbaImage;
use ktx2::{Header, LevelIndex};

use super::base_facts;
use super::blocks::{self, PixelFormat};
use super::mips::{self, Level};
use crate::preview::source::read_range;
use crate::preview::{Ctx, Generated, Input, PreviewError};

const FORMAT: &str = "ktx2";
/// Most levels a valid file can have (a 2³²-texel side has 33).
const MAX_LEVELS: u32 = 33;

/// Supercompression schemes by number.
fn scheme_name(code: u32) -> &'static str {
    match code {
        0 => "none",
        1 => "basis_lz",
        2 => "zstd",
        3 => "zlib",
        _ => "unknown",
    }
}

/// Adds the KTX2 facts to `g` and returns the pixels of the level chosen by
/// [`mips::read_level`], or `None` for Basis files and partial files with no
/// whole level present.
pub(super) fn preview(
    input: &Input,
    ctx: &Ctx,
    g: &mut Generated,
    partial: bool,
) -> Result<Option<RgbaImage>, PreviewError> {
    let src = &*input.source;
    if src.len() < Header::LENGTH as u64 {
        return Err(PreviewError::truncated(
            FORMAT,
            format!("{} bytes, the header needs {}", src.len(), Header::LENGTH),
        ));
    }
    let mut head = [0u8; Header::LENGTH];
    src.read_exact_at(0, &mut head)?;
    let header =
        Header::from_bytes(&head).map_err(|e| PreviewError::corrupt(FORMAT, e.to_string()))?;
    let vk = header.format.map(|f| f.value()).unwrap_or(0);
    let count = header.level_count.max(1);
    if count > MAX_LEVELS {
        return Err(PreviewError::corrupt(FORMAT, format!("{count} mip levels")));
    }
    let scheme = header
        .supercompression_scheme
        .map(|s| s.value())
        .unwrap_or(0);
    let (w, h) = (header.pixel_width, header.pixel_height.max(1));
    let layers = header.layer_count.max(1).saturating_mul(header.face_count);
    g.fact("width", w)
        .fact("height", h)
        .fact("mip_count", count)
        .fact("vk_format", vk)
        .fact("supercompression", scheme_name(scheme))
        .fact("layers", layers);
    if vk == 0 {
        g.fact("format", "basis").fact("compression", "basis");
        g.fact("thumbnail", "unsupported: basis");
        return Ok(None);
    }
    let format = blocks::from_vk(vk)
        .ok_or_else(|| PreviewError::unsupported(FORMAT, format!("VkFormat {vk}")))?;
    base_facts(g, w, h, format.channels, format.bit_depth);
    g.fact("format", format.name)
        .fact("compression", format.compression);
    let index = read_range(
        src,
        Header::LENGTH as u64,
        count as usize * LevelIndex::LENGTH,
    )?;
    let mut levels = Vec::with_capacity(count as usize);
    let mut unpacked = Vec::with_capacity(count as usize);
    for (m, entry) in index.chunks_exact(LevelIndex::LENGTH).enumerate() {
        let mut e = [0u8; LevelIndex::LENGTH];
        e.copy_from_slice(entry);
        let e = LevelIndex::from_bytes(&e);
        let end = e.byte_offset.checked_add(e.byte_length);
        if end.is_none_or(|end| end > src.len()) {
            return Err(PreviewError::truncated(
                FORMAT,
                format!(
                    "level {m} at {}+{} runs past the end ({} bytes)",
                    e.byte_offset,
                    e.byte_length,
                    src.len()
                ),
            ));
        }
        levels.push(Level {
            width: (w >> m).max(1),
            height: (h >> m).max(1),
            offset: e.byte_offset,
            len: e.byte_length,
        });
        unpacked.push(e.uncompressed_byte_length);
    }
    let Some((i, bytes)) = mips::read_level(src, &levels, ctx, partial)? else {
        return Ok(None);
    };
    g.fact("thumbnail_mip", i as u32);
    let l = levels[i];
    let bytes = unpack(scheme, bytes, unpacked[i], &format, l, ctx)?;
    format
        .decode(FORMAT, l.width, l.height, &bytes, ctx)
        .map(Some)
}

/// The texels of one level: its stored bytes, decompressed when supercompressed
/// (only the first image's bytes are kept; output bounded by `ctx.max_alloc`).
fn unpack(
    scheme: u32,
    stored: Vec<u8>,
    unpacked_len: u64,
    format: &PixelFormat,
    l: Level,
    ctx: &Ctx,
) -> Result<Vec<u8>, PreviewError> {
    let need = format
        .image_bytes(l.width, l.height, 1)
        .ok_or_else(|| PreviewError::corrupt(FORMAT, "level size overflows"))?;
    ctx.alloc(need, "a KTX2 level")?;
    let mut out = Vec::with_capacity(need as usize);
    let res = match scheme {
        0 => return Ok(stored),
        2 => zstd::stream::read::Decoder::new(&stored[..])
            .and_then(|d| d.take(need).read_to_end(&mut out)),
        3 => flate2::read::ZlibDecoder::new(&stored[..])
            .take(need)
            .read_to_end(&mut out),
        s => {
            return Err(PreviewError::unsupported(
                FORMAT,
                format!("supercompression scheme {s} ({})", scheme_name(s)),
            ))
        }
    };
    res.map_err(|e| {
        PreviewError::corrupt(FORMAT, format!("{} level data: {e}", scheme_name(scheme)))
    })?;
    if (out.len() as u64) < need {
        return Err(PreviewError::truncated(
            FORMAT,
            format!(
                "the level unpacks to {} bytes (header says {unpacked_len}), {need} needed",
                out.len()
            ),
        ));
    }
    Ok(out)
}
