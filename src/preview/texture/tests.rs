//! Tests of the texture generator on fixtures made by `tools/fixtures/preview-texture.sh`:
//! raster formats through `image`, shared helpers for the DDS/KTX2 and PSD tests.

use std::sync::Arc;

use image::RgbImage;

use super::*;
use crate::preview::{run, Mode, PrefixSource, Role};

/// One bad-input case: what it is, the bytes, and which error it must give.
pub(super) type Case<'a> = (&'a str, Vec<u8>, &'a dyn Fn(&PreviewError) -> bool);

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/preview/texture/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An input of `kind` over `bytes`, whatever the bytes are.
pub(super) fn input_as(kind: &str, bytes: Vec<u8>) -> Input {
    Input {
        name: format!("x.{kind}"),
        kind: kind.to_string(),
        source: Arc::new(crate::preview::BytesSource::new(bytes)),
    }
}

/// An input over a fixture, its kind detected.
pub(super) fn input(name: &str) -> Input {
    Input::from_bytes(name, fixture(name))
}

/// An input over a fixture of which only the first `present` bytes are present.
pub(super) fn partial(name: &str, present: u64) -> Input {
    let i = input(name);
    Input {
        source: Arc::new(PrefixSource::new(fixture(name), present)),
        ..i
    }
}

pub(super) fn generate(input: &Input) -> Result<Generated, PreviewError> {
    TextureGenerator.generate(input, &Ctx::default())
}

pub(super) fn generate_partial(input: &Input) -> Result<Generated, PreviewError> {
    TextureGenerator.generate_partial(input, &Ctx::default())
}

/// The thumbnail of `level`, decoded.
pub(super) fn thumb(g: &Generated, level: u32) -> RgbImage {
    let item = g
        .items
        .iter()
        .find(|i| i.role == Role::Thumbnail && i.level == level)
        .unwrap_or_else(|| panic!("no level {level} in {:?}", levels(g)));
    assert_eq!(item.media_type, "image/png");
    image::load_from_memory(&item.bytes).unwrap().to_rgb8()
}

/// (level, width, height) of every thumbnail.
pub(super) fn levels(g: &Generated) -> Vec<(u32, u32, u32)> {
    g.items
        .iter()
        .map(|i| {
            let d = image::load_from_memory(&i.bytes).unwrap();
            (i.level, d.width(), d.height())
        })
        .collect()
}

pub(super) fn num(g: &Generated, name: &str) -> u64 {
    g.facts
        .get(name)
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("no numeric fact {name} in {:?}", g.facts))
}

pub(super) fn text<'a>(g: &'a Generated, name: &str) -> &'a str {
    g.facts
        .get(name)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no text fact {name} in {:?}", g.facts))
}

/// Asserts the pixel is within `tol` of `want` in every channel.
pub(super) fn near(got: [u8; 3], want: [u8; 3], tol: u8) {
    for c in 0..3 {
        assert!(
            got[c].abs_diff(want[c]) <= tol,
            "{got:?} is not near {want:?}"
        );
    }
}

/// (width, height, channels, bit_depth, compression) facts.
fn basics(g: &Generated) -> (u64, u64, u64, u64, &str) {
    (
        num(g, "width"),
        num(g, "height"),
        num(g, "channels"),
        num(g, "bit_depth"),
        text(g, "compression"),
    )
}

#[test]
fn handles_the_texture_kinds_only() {
    for k in [
        "png", "jpeg", "tga", "bmp", "dds", "psd", "exr", "hdr", "ktx2",
    ] {
        assert!(TextureGenerator.handles(k), "{k}");
    }
    assert!(!TextureGenerator.handles("wav"));
    assert_eq!(TextureGenerator.name(), "texture");
    assert_eq!(TextureGenerator.version(), 1);
    let e = generate(&input_as("wav", vec![0; 10])).unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
}

#[test]
fn red_png_gives_red_thumbnails() {
    let g = generate(&input("red.png")).unwrap();
    assert_eq!(basics(&g), (128, 64, 3, 8, "deflate"));
    assert_eq!(num(&g, "mip_count"), 1);
    assert_eq!(text(&g, "color_type"), "rgb8");
    assert_eq!(levels(&g), vec![(64, 64, 32), (256, 128, 64)]);
    assert_eq!(thumb(&g, 64).get_pixel(10, 10).0, [255, 0, 0]);
    // Deterministic.
    assert_eq!(generate(&input("red.png")).unwrap(), g);
}

#[test]
fn transparency_shows_the_checkerboard() {
    let g = generate(&input("alpha.png")).unwrap();
    assert_eq!(basics(&g), (64, 64, 4, 8, "deflate"));
    let t = thumb(&g, 64);
    assert_eq!(t.get_pixel(0, 0).0, [204; 3]);
    assert_eq!(t.get_pixel(8, 0).0, [153; 3]);
    assert_eq!(t.get_pixel(32, 32).0, [255, 0, 0]);
}

#[test]
fn sixteen_bit_png_reports_its_depth() {
    let g = generate(&input("gray16.png")).unwrap();
    // ImageMagick's PNG48 is 16-bit RGB.
    assert_eq!(basics(&g), (16, 16, 3, 16, "deflate"));
    assert_eq!(text(&g, "color_type"), "rgb16");
    near(thumb(&g, 64).get_pixel(3, 3).0, [128; 3], 1);
}

#[test]
fn jpeg_tga_bmp_decode_with_their_facts() {
    let g = generate(&input("green.jpg")).unwrap();
    assert_eq!(basics(&g), (96, 48, 3, 8, "jpeg"));
    near(thumb(&g, 64).get_pixel(20, 10).0, [0, 255, 0], 4);
    let g = generate(&input("blue_rle.tga")).unwrap();
    assert_eq!(basics(&g), (40, 20, 3, 8, "rle"));
    assert_eq!(thumb(&g, 64).get_pixel(5, 5).0, [0, 0, 255]);
    let g = generate(&input("yellow.bmp")).unwrap();
    assert_eq!(basics(&g), (30, 20, 3, 8, "none"));
    assert_eq!(thumb(&g, 64).get_pixel(5, 5).0, [255, 255, 0]);
}

#[test]
fn hdr_and_exr_are_tone_mapped() {
    let g = generate(&input("red.hdr")).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (32, 16));
    assert_eq!(text(&g, "compression"), "rle");
    let p = thumb(&g, 64).get_pixel(4, 4).0;
    assert!(p[0] > 200 && p[1] < 30 && p[2] < 30, "{p:?}");
    for (name, compression, depth) in [("red_zip.exr", "zip", 32), ("red_piz.exr", "piz", 16)] {
        let g = generate(&input(name)).unwrap();
        assert_eq!(basics(&g), (32, 16, 4, depth, compression), "{name}");
        let p = thumb(&g, 64).get_pixel(4, 4).0;
        assert!(p[0] > 200 && p[1] < 30 && p[2] < 30, "{name}: {p:?}");
    }
}

#[test]
fn tone_mapping_is_monotonic_and_clamped() {
    use super::tonemap::channel;
    assert_eq!(channel(-1.0), 0);
    assert_eq!(channel(f32::NAN), 0);
    assert_eq!(channel(0.0), 0);
    assert!(channel(0.18) < channel(1.0) && channel(1.0) < channel(16.0));
    assert_eq!(channel(1e30), 255);
    let ctx = Ctx::default();
    let img = tonemap::map(2, 1, &[1.0, 0.0, 0.0, 2.0, 0.5, 0.5, 0.5, -1.0], 4, &ctx).unwrap();
    assert_eq!(img.get_pixel(0, 0).0[3], 255);
    assert_eq!(img.get_pixel(1, 0).0[3], 0);
}

#[test]
fn header_compression_facts_cover_every_variant() {
    let mut g = Generated::default();
    let mut bmp = vec![0u8; 34];
    bmp[30] = 1;
    header::compression("bmp", &bmp, &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "rle8");
    bmp[30] = 2;
    header::compression("bmp", &bmp, &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "rle4");
    header::compression("tga", &[0, 0, 2], &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "none");
    header::compression("hdr", b"#?RADIANCE\n\n-Y 1 +X 1\n\x80\x80\x80\x80", &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "none");
    header::compression("hdr", b"#?RADIANCE\n", &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "none");
    // EXR: every codec name, a missing attribute, a header cut short.
    let exr = |codec: u8| {
        let mut h = b"v/1\x01\x02\0\0\0compression\0compression\0\x01\0\0\0".to_vec();
        h.push(codec);
        h.push(0);
        h
    };
    for (c, name) in [
        (0, "none"),
        (1, "rle"),
        (2, "zips"),
        (5, "pxr24"),
        (6, "b44"),
        (7, "b44a"),
        (8, "dwaa"),
        (9, "dwab"),
        (42, "unknown"),
    ] {
        header::compression("exr", &exr(c), &mut g).unwrap();
        assert_eq!(text(&g, "compression"), name);
    }
    header::compression("exr", b"v/1\x01\x02\0\0\0\0", &mut g).unwrap();
    assert_eq!(text(&g, "compression"), "unknown");
    for cut in [9, 21, 33, 37] {
        let e = header::compression("exr", &exr(3)[..cut], &mut g).unwrap_err();
        assert!(matches!(e, PreviewError::Corrupt { .. }), "{cut}: {e}");
    }
}

#[test]
fn bad_raster_files_give_errors() {
    for name in [
        "red.png",
        "green.jpg",
        "blue_rle.tga",
        "yellow.bmp",
        "red.hdr",
        "red_zip.exr",
    ] {
        let bytes = fixture(name);
        let kind = input(name).kind;
        // Empty.
        let e = generate(&input_as(&kind, vec![])).unwrap_err();
        assert!(matches!(e, PreviewError::Truncated { .. }), "{name}: {e}");
        // Truncated to half.
        let half = bytes[..bytes.len() / 2].to_vec();
        let e = generate(&input_as(&kind, half)).unwrap_err();
        assert!(
            matches!(
                e,
                PreviewError::Truncated { .. } | PreviewError::Corrupt { .. }
            ),
            "{name}: {e}"
        );
        // Random bytes and a WAV, labelled as this kind.
        let noise: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for bad in [noise, b"RIFF\x24\0\0\0WAVEfmt ".repeat(20)] {
            let e = generate(&input_as(&kind, bad)).unwrap_err();
            assert!(
                matches!(
                    e,
                    PreviewError::Corrupt { .. }
                        | PreviewError::Truncated { .. }
                        | PreviewError::Unsupported { .. }
                ),
                "{name}: {e}"
            );
        }
    }
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    // A valid PNG header claiming 100000 x 100000 RGBA pixels, and nothing else.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let ihdr = [
        &100_000u32.to_be_bytes()[..],
        &100_000u32.to_be_bytes(),
        &[8, 6, 0, 0, 0],
    ]
    .concat();
    let crc = crc32(&[b"IHDR".as_slice(), &ihdr].concat());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc.to_be_bytes());
    // Then an IDAT (an empty zlib stream) and IEND, as a real file would have.
    let idat = b"\x78\x9c\x03\x00\x00\x00\x00\x01";
    png.extend_from_slice(&(idat.len() as u32).to_be_bytes());
    png.extend_from_slice(b"IDAT");
    png.extend_from_slice(idat);
    png.extend_from_slice(&crc32(&[b"IDAT".as_slice(), idat].concat()).to_be_bytes());
    png.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    let e = generate(&input_as("png", png.clone())).unwrap_err();
    assert!(matches!(e, PreviewError::TooLarge { .. }), "{e}");
    // The header alone still gives facts from a partial file.
    let mut i = input_as("png", png.clone());
    i.source = Arc::new(PrefixSource::new(png, 33));
    let g = generate_partial(&i).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (100_000, 100_000));
    // A small limit refuses a small picture too.
    let ctx = Ctx {
        max_alloc: 1000,
        ..Ctx::default()
    };
    let e = TextureGenerator
        .generate(&input("red.png"), &ctx)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TooLarge { .. }), "{e}");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn partial_raster_files_give_header_facts() {
    let g = generate_partial(&partial("red.png", 40)).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (128, 64));
    assert_eq!(text(&g, "compression"), "deflate");
    assert!(g.items.is_empty());
    let g = generate_partial(&partial("red_zip.exr", 420)).unwrap();
    assert_eq!(basics(&g), (32, 16, 4, 32, "zip"));
    // Not even the header: the missing range is named.
    let e = generate_partial(&partial("red.png", 10)).unwrap_err();
    assert!(
        matches!(e, PreviewError::NotPresent { offset: 10, .. }),
        "{e}"
    );
    let e = generate_partial(&partial("red.png", 0)).unwrap_err();
    assert!(e.is_not_present(), "{e}");
    // A complete corrupt head is an error, not "not present".
    let e = generate_partial(&input_as("png", b"not a png at all".to_vec())).unwrap_err();
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
}

#[test]
fn map_error_sorts_image_failures() {
    use image::error::{LimitError, LimitErrorKind};
    let e = raster::map_error(
        "png",
        5,
        image::ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory)),
    );
    assert!(matches!(e, PreviewError::TooLarge { .. }));
    let io = |k| image::ImageError::IoError(std::io::Error::new(k, "x"));
    assert!(raster::map_error("png", 5, io(std::io::ErrorKind::NotFound)).is_not_present());
    assert!(matches!(
        raster::map_error("png", 5, io(std::io::ErrorKind::Other)),
        PreviewError::Corrupt { .. }
    ));
}

#[test]
fn a_timed_out_context_stops_generation() {
    let ctx = Ctx {
        deadline: std::time::Instant::now(),
        ..Ctx::default()
    };
    for name in [
        "red.png",
        "red.hdr",
        "bc1_mips.dds",
        "layered.psd",
        "zip_layers.psd",
    ] {
        let e = TextureGenerator.generate(&input(name), &ctx).unwrap_err();
        assert!(matches!(e, PreviewError::TimedOut { .. }), "{name}: {e}");
    }
}

#[test]
fn runs_through_the_runner() {
    let g = run(
        &TextureGenerator,
        input("red.png"),
        Ctx::default(),
        Mode::Complete,
    )
    .unwrap();
    assert_eq!(num(&g, "width"), 128);
}
