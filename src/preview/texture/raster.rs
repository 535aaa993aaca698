//! PNG, JPEG, TGA, BMP, HDR and EXR through the `image` crate: header facts, then
//! a bounded decode to RGBA8 (HDR and EXR tone-mapped by [`tonemap`]).

use std::io::{BufReader, Cursor};

use image::{DynamicImage, ExtendedColorType, ImageDecoder, ImageError, ImageFormat, ImageReader};
use image::{Limits, RgbaImage};

use super::{base_facts, check_rgba, header, tonemap};
use crate::preview::source::read_head;
use crate::preview::{Ctx, Generated, Input, PreviewError, SourceReader};

/// Bytes read from the head for header facts (and all a partial preview reads).
pub(super) const HEAD: u64 = 64 * 1024;

/// The `image` format of a facts content type this module reads.
pub(super) fn format_of(kind: &str) -> Option<ImageFormat> {
    Some(match kind {
        "png" => ImageFormat::Png,
        "jpeg" => ImageFormat::Jpeg,
        "tga" => ImageFormat::Tga,
        "bmp" => ImageFormat::Bmp,
        "hdr" => ImageFormat::Hdr,
        "exr" => ImageFormat::OpenExr,
        _ => return None,
    })
}

/// The name used in errors and facts for `format`.
fn name_of(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "png",
        ImageFormat::Jpeg => "jpeg",
        ImageFormat::Tga => "tga",
        ImageFormat::Bmp => "bmp",
        ImageFormat::Hdr => "hdr",
        _ => "exr",
    }
}

/// Adds the facts of `input` to `g` and returns its pixels, or only the facts its
/// head gives when `partial`.
pub(super) fn preview(
    input: &Input,
    ctx: &Ctx,
    g: &mut Generated,
    format: ImageFormat,
    partial: bool,
) -> Result<Option<RgbaImage>, PreviewError> {
    let name = name_of(format);
    let len = input.source.len();
    if len == 0 {
        return Err(PreviewError::truncated(name, "the file is empty"));
    }
    let head = match read_head(&*input.source, HEAD) {
        Ok(head) => head,
        // Only part of the head is here: read what there is up to the gap.
        Err(PreviewError::NotPresent { offset, .. }) if partial && offset > 0 => {
            read_head(&*input.source, offset)?
        }
        Err(e) => return Err(e),
    };
    if partial {
        let mut reader = ImageReader::with_format(Cursor::new(&head[..]), format);
        reader.limits(limits(ctx));
        let decoder = match reader.into_decoder() {
            Ok(d) => d,
            Err(_) if format == ImageFormat::Png && png_ihdr(&head, g) => {
                header::compression(name, &head, g)?;
                return Ok(None);
            }
            Err(_) if (head.len() as u64) < len => {
                return Err(PreviewError::NotPresent {
                    offset: head.len() as u64,
                    end: len,
                })
            }
            Err(e) => return Err(map_error(name, len, e)),
        };
        let (w, h) = decoder.dimensions();
        facts(g, w, h, decoder.original_color_type());
        header::compression(name, &head, g)?;
        return Ok(None);
    }
    let reader = BufReader::new(SourceReader::new(input.source.clone()));
    let mut reader = ImageReader::with_format(reader, format);
    reader.limits(limits(ctx));
    let decoder = reader.into_decoder().map_err(|e| map_error(name, len, e))?;
    let (w, h) = decoder.dimensions();
    check_rgba(ctx, w, h, &format!("a {w}x{h} {name} picture"))?;
    ctx.alloc(
        decoder.total_bytes(),
        &format!("decoding a {w}x{h} {name} picture"),
    )?;
    facts(g, w, h, decoder.original_color_type());
    header::compression(name, &head, g)?;
    let image = DynamicImage::from_decoder(decoder).map_err(|e| map_error(name, len, e))?;
    ctx.check()?;
    Ok(Some(match image {
        DynamicImage::ImageRgb32F(img) => tonemap::rgb32f(&img, ctx)?,
        DynamicImage::ImageRgba32F(img) => tonemap::rgba32f(&img, ctx)?,
        other => other.to_rgba8(),
    }))
}

/// Adds the facts of a PNG's IHDR chunk (the head may end before the first
/// IDAT, which the `png` decoder wants); false when `head` has no IHDR.
fn png_ihdr(head: &[u8], g: &mut Generated) -> bool {
    let Some(ihdr) = head.get(8..29).filter(|h| &h[4..8] == b"IHDR") else {
        return false;
    };
    let be = |at: usize| u32::from_be_bytes([ihdr[at], ihdr[at + 1], ihdr[at + 2], ihdr[at + 3]]);
    let channels = match ihdr[17] {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        _ => 4,
    };
    base_facts(g, be(8), be(12), channels, u32::from(ihdr[16]));
    g.fact("mip_count", 1);
    true
}

/// Decoder limits from the context: every buffer at most `max_alloc` bytes.
pub(super) fn limits(ctx: &Ctx) -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(ctx.max_alloc);
    limits
}

/// The size, channel and depth facts of a picture whose stored pixels are `color`.
fn facts(g: &mut Generated, w: u32, h: u32, color: ExtendedColorType) {
    let channels = u32::from(color.channel_count()).max(1);
    base_facts(
        g,
        w,
        h,
        channels,
        u32::from(color.bits_per_pixel()) / channels,
    );
    g.fact("mip_count", 1)
        .fact("color_type", format!("{color:?}").to_ascii_lowercase());
}

/// A [`PreviewError`] for an `image` failure reading a `len`-byte `name` file.
pub(super) fn map_error(name: &'static str, len: u64, e: ImageError) -> PreviewError {
    match e {
        ImageError::Limits(l) => PreviewError::too_large(format!("{name}: {l}")),
        ImageError::Unsupported(u) => PreviewError::unsupported(name, u.to_string()),
        ImageError::IoError(io) => match io.kind() {
            std::io::ErrorKind::UnexpectedEof => PreviewError::truncated(name, io.to_string()),
            std::io::ErrorKind::NotFound => PreviewError::NotPresent {
                offset: 0,
                end: len,
            },
            _ => PreviewError::corrupt(name, io.to_string()),
        },
        other => PreviewError::corrupt(name, other.to_string()),
    }
}
