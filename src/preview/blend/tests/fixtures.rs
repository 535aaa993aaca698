//! The Blender-made fixtures: facts, thumbnails, every compression, partial files.

use serde_json::json;

use super::*;
use crate::preview::{PrefixSource, Role};

/// Where the `TEST` block of `red_cube.blend` ends: header 12, one REND block
/// (24 + 72), the TEST block (24 + 8 + 128 × 128 × 4).
const TEST_END: u64 = 12 + 24 + 72 + 24 + 8 + 128 * 128 * 4;

fn decode_png(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .expect("a PNG")
        .to_rgb8()
}

fn assert_red_cube(g: &Generated, compression: &str) {
    let f = &g.facts;
    assert_eq!(f["blender_version"], json!("3.4"));
    assert_eq!(f["file_version"], json!(304));
    assert_eq!(f["file_format"], json!(0));
    assert_eq!(f["pointer_size"], json!(8));
    assert_eq!(f["endian"], json!("little"));
    assert_eq!(f["compression"], json!(compression));
    assert_eq!(f["scenes"], json!(["Scene"]));
    assert_eq!(f["frame_start"], json!(1));
    assert_eq!(f["frame_end"], json!(250));
    assert_eq!(f["thumbnail"], json!("embedded"));
    assert_eq!(f["thumbnail_width"], json!(128));
    assert_eq!(f["thumbnail_height"], json!(128));
    // 128 px: a 64 px level and the full picture (for 256; 1024 would repeat it).
    let levels: Vec<u32> = g.items.iter().map(|i| i.level).collect();
    assert_eq!(levels, [64, 256]);
    for (item, side) in g.items.iter().zip([64u32, 128]) {
        assert_eq!(item.role, Role::Thumbnail);
        assert_eq!(item.media_type, "image/png");
        let img = decode_png(&item.bytes);
        assert_eq!(img.dimensions(), (side, side));
        // The cube in the middle is red (its faces are shaded, never grey).
        let [r, g, b] = img.get_pixel(side / 2, side / 2).0;
        assert!(r > 60 && r > 3 * g.max(b).max(1), "centre {r},{g},{b}");
        // The background is transparent, so the corner shows the checkerboard.
        let [r, g, b] = img.get_pixel(0, 0).0;
        assert!(r == g && g == b && r >= 150, "corner {r},{g},{b}");
    }
}

#[test]
fn plain_file_gives_header_facts_and_a_red_cube() {
    let g = generate(fixture("red_cube.blend")).unwrap();
    assert_red_cube(&g, "none");
}

#[test]
fn gzip_and_zstd_files_give_the_same_preview() {
    let plain = generate(fixture("red_cube.blend")).unwrap();
    for (name, compression) in [
        ("red_cube_gzip.blend", "gzip"),
        ("red_cube_zstd.blend", "zstd"),
    ] {
        let g = generate(fixture(name)).unwrap();
        assert_red_cube(&g, compression);
        assert_eq!(g.items, plain.items, "{name}");
    }
}

#[test]
fn the_thumbnail_is_flipped_upright_and_centred() {
    let h = head(fixture("red_cube.blend")).unwrap();
    let t = h.thumbnail.expect("a thumbnail");
    assert_eq!((t.width, t.height), (128, 128));
    assert_eq!(format!("{t:?}"), "Thumbnail(128x128)");
    // Bounding box of the opaque pixels: the cube, in the middle of the picture.
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (i, px) in t.rgba.chunks_exact(4).enumerate() {
        if px[3] > 0 {
            let (x, y) = (i as u32 % t.width, i as u32 / t.width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    assert!(x1 > x0 + 40 && y1 > y0 + 40, "cube {x0},{y0}..{x1},{y1}");
    let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2);
    assert!(
        cx.abs_diff(64) <= 12 && cy.abs_diff(64) <= 12,
        "centre {cx},{cy}"
    );
    assert_eq!(h.blocks_read, 2);
    assert_eq!(
        h.scenes,
        [super::super::Scene {
            name: "Scene".into(),
            frame_start: 1,
            frame_end: 250
        }]
    );
}

#[test]
fn file_without_thumbnail_gives_facts_only() {
    let g = generate(fixture("no_thumb_zstd.blend")).unwrap();
    assert_eq!(g.facts["thumbnail"], json!("none"));
    assert_eq!(g.facts["compression"], json!("zstd"));
    assert_eq!(g.facts["blender_version"], json!("3.4"));
    assert!(!g.facts.contains_key("thumbnail_width"));
    assert!(g.items.is_empty());
}

#[test]
fn output_is_deterministic() {
    let a = generate(fixture("red_cube_zstd.blend")).unwrap();
    let b = generate(fixture("red_cube_zstd.blend")).unwrap();
    assert_eq!(a, b);
}

#[test]
fn generator_identity() {
    assert_eq!(BlendGenerator.name(), "blend");
    assert_eq!(BlendGenerator.version(), 1);
    assert!(BlendGenerator.handles("blend"));
    assert!(!BlendGenerator.handles("png"));
    // The content type detected at ingest routes .blend files here, compressed too.
    for name in [
        "red_cube.blend",
        "red_cube_gzip.blend",
        "red_cube_zstd.blend",
    ] {
        let input = Input::from_bytes(name, fixture(name));
        assert_eq!(input.kind, "blend", "{name}");
        assert_eq!(crate::preview::generator_for(&input.kind).name(), "blend");
    }
}

#[test]
fn partial_plain_file_succeeds_once_the_thumbnail_is_present() {
    let bytes = fixture("red_cube.blend");
    let whole = generate(bytes.clone()).unwrap();
    let g = BlendGenerator
        .generate_partial(
            &input(PrefixSource::new(bytes.clone(), TEST_END)),
            &Ctx::default(),
        )
        .unwrap();
    assert_eq!(g, whole);
    // One byte short of the thumbnail: the missing range is named.
    let e = BlendGenerator
        .generate_partial(
            &input(PrefixSource::new(bytes.clone(), TEST_END - 1)),
            &Ctx::default(),
        )
        .unwrap_err();
    assert!(e.is_not_present(), "{e}");
    // Nothing present at all.
    let e = BlendGenerator
        .generate_partial(&input(PrefixSource::new(bytes, 0)), &Ctx::default())
        .unwrap_err();
    assert!(
        matches!(e, PreviewError::NotPresent { offset: 0, .. }),
        "{e}"
    );
}

#[test]
fn partial_compressed_files_need_only_their_head() {
    for name in ["red_cube_gzip.blend", "red_cube_zstd.blend"] {
        let bytes = fixture(name);
        let whole = generate(bytes.clone()).unwrap();
        let len = bytes.len() as u64;
        // The smallest present prefix that gives the thumbnail: a few KiB of a
        // 70 KB file (the transparent background compresses well).
        let need = smallest_prefix(&bytes);
        assert!(
            need < 8 * 1024 && need < len / 4,
            "{name}: needs {need} of {len} bytes"
        );
        let g = BlendGenerator
            .generate_partial(
                &input(PrefixSource::new(bytes.clone(), need)),
                &Ctx::default(),
            )
            .unwrap();
        assert_eq!(g, whole, "{name}");
        let e = BlendGenerator
            .generate_partial(&input(PrefixSource::new(bytes, need - 1)), &Ctx::default())
            .unwrap_err();
        assert!(e.is_not_present(), "{name}: {e}");
    }
}

#[test]
fn partial_file_without_thumbnail_needs_a_few_kilobytes() {
    let bytes = fixture("no_thumb_zstd.blend");
    let need = smallest_prefix(&bytes);
    assert!(need < 16 * 1024, "needs {need} bytes");
}

/// The smallest present prefix of `bytes` from which the head reads (bisection:
/// a longer prefix never fails once a shorter one succeeds).
fn smallest_prefix(bytes: &[u8]) -> u64 {
    let ok = |n: u64| {
        super::super::read_head(&PrefixSource::new(bytes.to_vec(), n), &Ctx::default()).is_ok()
    };
    let (mut lo, mut hi) = (0u64, bytes.len() as u64);
    assert!(ok(hi));
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if ok(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[test]
fn runs_under_the_preview_runner() {
    use crate::preview::{run, Mode};
    let bytes = fixture("red_cube_zstd.blend");
    let g = run(
        &BlendGenerator,
        input(PrefixSource::new(bytes.clone(), 8 * 1024)),
        Ctx::default(),
        Mode::Partial,
    )
    .unwrap();
    assert_eq!(g.facts["thumbnail_width"], json!(128));
    let e = run(
        &BlendGenerator,
        input(BytesSource::new(bytes[..100].to_vec())),
        Ctx::default(),
        Mode::Complete,
    )
    .unwrap_err();
    assert!(matches!(e, PreviewError::Truncated { .. }), "{e}");
}
