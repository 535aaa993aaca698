//! Thumbnail levels from a decoded picture: downscaled with the aspect ratio kept,
//! alpha composited over a checkerboard, encoded as PNG (deterministically: the same
//! pixels always give the same bytes, so previews made on two machines dedup).

use image::imageops::FilterType;
use image::{Rgb, RgbImage, RgbaImage};

use super::{Ctx, Item, PreviewError, Role};

/// Thumbnail levels made by default: the longest side in pixels.
pub const LEVELS: [u32; 3] = [64, 256, 1024];

/// Side of one checkerboard square, in pixels of the thumbnail.
pub const CHECKER: u32 = 8;

/// The checkerboard's two greys.
const LIGHT: u8 = 204;
const DARK: u8 = 153;

/// Size of a picture `w`×`h` scaled so its longest side is at most `level`
/// (never enlarged); each side at least 1.
pub fn fit(w: u32, h: u32, level: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= level || long == 0 {
        return (w.max(1), h.max(1));
    }
    let scale = |s: u32| ((s as u64 * level as u64 + long as u64 / 2) / long as u64).max(1) as u32;
    (scale(w), scale(h))
}

/// Thumbnails of `img` for each of `ctx.levels` (ascending). A level is skipped when
/// the previous one already holds the picture at full size, so a 100 px icon gives
/// a 64 px and a 100 px thumbnail, not three copies. Each level is scaled from the
/// next larger one (or the original), which keeps a 4096² texture cheap.
pub fn levels(img: &RgbaImage, ctx: &Ctx) -> Result<Vec<Item>, PreviewError> {
    let mut levels = ctx.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    // Sizes first, largest last, skipping levels that would repeat full size.
    let mut sizes: Vec<(u32, (u32, u32))> = Vec::new();
    for &level in &levels {
        let size = fit(img.width(), img.height(), level);
        if sizes.last().is_some_and(|(_, s)| *s == size) {
            continue;
        }
        sizes.push((level, size));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut from: Option<RgbaImage> = None;
    for &(level, (w, h)) in sizes.iter().rev() {
        ctx.check()?;
        let src = from.as_ref().unwrap_or(img);
        let scaled = if (w, h) == src.dimensions() {
            src.clone()
        } else {
            image::imageops::resize(src, w, h, FilterType::Triangle)
        };
        out.push(Item {
            role: Role::Thumbnail,
            level,
            media_type: "image/png".into(),
            bytes: png(&on_checkerboard(&scaled))?,
        });
        from = Some(scaled);
    }
    out.reverse();
    Ok(out)
}

/// `img` composited over a light/dark checkerboard of [`CHECKER`]-pixel squares, so
/// transparency shows as it does in image editors.
pub fn on_checkerboard(img: &RgbaImage) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y).0;
        let bg = if ((x / CHECKER) + (y / CHECKER)).is_multiple_of(2) {
            LIGHT
        } else {
            DARK
        } as u32;
        let a = p[3] as u32;
        let mix = |c: u8| ((c as u32 * a + bg * (255 - a) + 127) / 255) as u8;
        Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

/// Encodes an RGB picture as PNG.
pub fn png(img: &RgbImage) -> Result<Vec<u8>, PreviewError> {
    encode(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
}

/// Encodes an RGBA picture as PNG (kept with its alpha channel).
pub fn png_rgba(img: &RgbaImage) -> Result<Vec<u8>, PreviewError> {
    encode(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgba8,
    )
}

fn encode(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: image::ExtendedColorType,
) -> Result<Vec<u8>, PreviewError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, width, height, color)
        .map_err(|e| PreviewError::Io {
            path: "<png encoder>".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(4096, 2048, 256), (256, 128));
        assert_eq!(fit(100, 50, 256), (100, 50));
        assert_eq!(fit(1, 5000, 64), (1, 64));
        assert_eq!(fit(0, 0, 64), (1, 1));
    }

    #[test]
    fn levels_skip_repeats_and_scale_down() {
        let img = RgbaImage::from_pixel(300, 150, Rgba([255, 0, 0, 255]));
        let items = levels(&img, &Ctx::default()).unwrap();
        let got: Vec<(u32, (u32, u32))> = items
            .iter()
            .map(|i| {
                let d = image::load_from_memory(&i.bytes).unwrap();
                (i.level, (d.width(), d.height()))
            })
            .collect();
        assert_eq!(
            got,
            vec![(64, (64, 32)), (256, (256, 128)), (1024, (300, 150))]
        );
        let small = image::load_from_memory(&items[0].bytes).unwrap().to_rgb8();
        assert_eq!(small.get_pixel(10, 10).0, [255, 0, 0]);
        // Deterministic bytes.
        assert_eq!(levels(&img, &Ctx::default()).unwrap(), items);
    }

    #[test]
    fn transparent_pixels_show_the_checkerboard() {
        let img = RgbaImage::from_pixel(32, 32, Rgba([0, 0, 0, 0]));
        let rgb = on_checkerboard(&img);
        assert_eq!(rgb.get_pixel(0, 0).0, [LIGHT; 3]);
        assert_eq!(rgb.get_pixel(CHECKER, 0).0, [DARK; 3]);
        let half = on_checkerboard(&RgbaImage::from_pixel(1, 1, Rgba([255, 255, 255, 128])));
        assert_eq!(half.get_pixel(0, 0).0, [230; 3]);
        assert!(!png_rgba(&img).unwrap().is_empty());
    }

    #[test]
    fn a_timed_out_context_stops_scaling() {
        let img = RgbaImage::new(10, 10);
        let ctx = Ctx {
            deadline: std::time::Instant::now(),
            ..Ctx::default()
        };
        assert!(matches!(
            levels(&img, &ctx),
            Err(PreviewError::TimedOut { .. })
        ));
    }
}
