//! Photoshop files: facts from the header and sections ([`psd_scan`]), the merged
//! composite through the `psd` crate when that is safe, else through our own
//! decoder ([`psd_merged`]); from a partial file, the embedded JFIF thumbnail.
//!
//! The `psd` crate panics (`unimplemented!`) on ZIP-compressed layer or merged
//! data and on some slice resources, so it is only called on 8-bit RGB files
//! whose layers and merged image are raw or RLE and that have no slices.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, RgbaImage};

use super::psd_scan::{self, FORMAT};
use super::{base_facts, psd_merged, raster};
use crate::preview::source::read_range;
use crate::preview::{Ctx, Generated, Input, PreviewError, Source};

/// Name of a channel compression code.
fn compression_name(code: u16) -> &'static str {
    match code {
        0 => "none",
        1 => "rle",
        2 => "zip",
        3 => "zip_prediction",
        _ => "unknown",
    }
}

/// Name of a colour mode.
fn mode_name(mode: u16) -> &'static str {
    match mode {
        0 => "bitmap",
        1 => "grayscale",
        2 => "indexed",
        3 => "rgb",
        4 => "cmyk",
        7 => "multichannel",
        8 => "duotone",
        9 => "lab",
        _ => "unknown",
    }
}

/// Adds the PSD facts to `g` and returns the composite (complete files) or the
/// embedded thumbnail (partial files; `None` when there is none).
pub(super) fn preview(
    input: &Input,
    ctx: &Ctx,
    g: &mut Generated,
    partial: bool,
) -> Result<Option<RgbaImage>, PreviewError> {
    let src = &*input.source;
    let layout = psd_scan::scan(src, ctx, !partial)?;
    base_facts(
        g,
        layout.width,
        layout.height,
        layout.channels as u32,
        layout.depth as u32,
    );
    g.fact("mip_count", 1)
        .fact("color_mode", mode_name(layout.color_mode))
        .fact("embedded_thumbnail", layout.thumbnail.is_some());
    if layout.psb {
        g.fact("format", "psb");
    }
    let Some(layers) = &layout.layers else {
        return match layout.thumbnail {
            Some(t) => thumbnail(src, t, ctx).map(Some),
            None => Ok(None),
        };
    };
    let merged = psd_scan::At::new(src, layers.merged_offset).u16()?;
    let layer_compression: Vec<&str> = layers
        .compressions
        .iter()
        .map(|&c| compression_name(c))
        .collect();
    g.fact("compression", compression_name(merged))
        .fact("layers", layers.count)
        .fact("layer_compression", layer_compression);
    psd_merged::decode(src, &layout, layers.merged_offset, ctx).map(Some)
}

/// Decodes the embedded JFIF thumbnail.
fn thumbnail(
    src: &dyn Source,
    t: psd_scan::Thumbnail,
    ctx: &Ctx,
) -> Result<RgbaImage, PreviewError> {
    ctx.alloc(t.len, "the embedded thumbnail")?;
    let jfif = read_range(src, t.offset, t.len as usize)?;
    let mut reader = ImageReader::with_format(Cursor::new(&jfif[..]), ImageFormat::Jpeg);
    reader.limits(raster::limits(ctx));
    let mut img = reader
        .decode()
        .map_err(|e| raster::map_error(FORMAT, t.len, e))?
        .to_rgba8();
    if t.bgr {
        for p in img.pixels_mut() {
            p.0.swap(0, 2);
        }
    }
    Ok(img)
}
