//! Previews of texture files: PNG, JPEG, TGA, BMP (through `image`), DDS and KTX2
//! (block-compressed or plain, decoded one mip level at a time through `image_dds`),
//! PSD (the merged composite), EXR and HDR (tone-mapped).
//!
//! Every format gives the same facts — `width`, `height`, `channels`, `bit_depth`
//! (bits per channel), `mip_count` (1 when none), `compression` — plus the format's
//! own (`format`, `color_type`, `layers`…), and thumbnail levels from
//! [`thumbs::levels`].
//!
//! Cheap paths:
//! - DDS and KTX2 decode only the smallest mip level that still covers the largest
//!   thumbnail level ([`mips::choose`]), so a 4096² BC7 texture with mips costs a
//!   1024² decode, and only that level's bytes are read.
//! - From a partially present file ([`Generator::generate_partial`]): header facts
//!   for every format, plus a thumbnail from whichever DDS/KTX2 mip level is wholly
//!   present, or from a PSD's embedded JFIF thumbnail (image resource 1036).
//!
//! Files (one job each): [`raster`] (formats `image` reads), [`header`]
//! (compression facts from headers `image` does not expose), [`tonemap`] (HDR to
//! 8 bits), [`blocks`] (pixel formats and decoding one surface), [`mips`] (mip
//! layout and choice), [`dds`], [`ktx2`], [`psd`] with [`psd_scan`] (section
//! walk) and [`psd_merged`] (raw/RLE composite decoder).

mod blocks;
mod dds;
mod header;
mod ktx2;
mod mips;
mod psd;
mod psd_merged;
mod psd_scan;
mod raster;
mod tonemap;

use image::RgbaImage;

use super::{thumbs, Ctx, Generated, Generator, Input, PreviewError};

/// Previews texture files. See the [module documentation](self).
pub struct TextureGenerator;

/// Name used in errors about a file whose kind this generator does not know.
const NAME: &str = "texture";

impl Generator for TextureGenerator {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(
            kind,
            "png" | "jpeg" | "tga" | "bmp" | "dds" | "psd" | "exr" | "hdr" | "ktx2"
        )
    }

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        produce(input, ctx, false)
    }

    fn generate_partial(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        produce(input, ctx, true)
    }
}

/// Decodes `input` (or, when `partial`, what its present head allows) into facts
/// and thumbnails.
fn produce(input: &Input, ctx: &Ctx, partial: bool) -> Result<Generated, PreviewError> {
    let mut g = Generated::default();
    let image = match input.kind.as_str() {
        "dds" => dds::preview(input, ctx, &mut g, partial)?,
        "ktx2" => ktx2::preview(input, ctx, &mut g, partial)?,
        "psd" => psd::preview(input, ctx, &mut g, partial)?,
        kind => match raster::format_of(kind) {
            Some(format) => raster::preview(input, ctx, &mut g, format, partial)?,
            None => {
                return Err(PreviewError::unsupported(
                    NAME,
                    format!("content type {kind:?}"),
                ))
            }
        },
    };
    if let Some(image) = image {
        g.items = thumbs::levels(&image, ctx)?;
    }
    Ok(g)
}

/// Adds the facts every texture has.
fn base_facts(g: &mut Generated, width: u32, height: u32, channels: u32, bit_depth: u32) {
    g.fact("width", width)
        .fact("height", height)
        .fact("channels", channels)
        .fact("bit_depth", bit_depth);
}

/// Checks that an RGBA8 picture of `width`×`height` fits in `ctx.max_alloc`.
fn check_rgba(ctx: &Ctx, width: u32, height: u32, what: &str) -> Result<(), PreviewError> {
    ctx.alloc(width as u64 * height as u64 * 4, what)
}

/// An RGBA8 picture from decoded bytes whose length the decoder guarantees.
fn rgba_image(
    format: &'static str,
    width: u32,
    height: u32,
    data: Vec<u8>,
) -> Result<RgbaImage, PreviewError> {
    RgbaImage::from_raw(width, height, data).ok_or_else(|| {
        PreviewError::corrupt(
            format,
            format!("decoded pixels do not fill {width}x{height}"),
        )
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blocks;
#[cfg(test)]
mod tests_psd;
