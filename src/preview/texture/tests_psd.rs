//! Tests of PSD previews: the composite through our own merged-image decoder (the
//! `psd` crate, which read whole files and panicked on ZIP data, is gone), ZIP layers, the embedded
//! thumbnail of partial files, and broken files.

use super::tests::{
    fixture, generate, generate_partial, input, input_as, levels, num, partial, text, thumb, Case,
};
use super::*;
use crate::preview::{run, BytesSource, Mode};

#[test]
fn layered_psd_through_our_merged_decoder() {
    let g = generate(&input("layered.psd")).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (48, 32));
    assert_eq!((num(&g, "bit_depth"), num(&g, "mip_count")), (8, 1));
    assert_eq!(text(&g, "compression"), "rle");
    assert_eq!(text(&g, "color_mode"), "rgb");
    assert_eq!(num(&g, "layers"), 1);
    assert_eq!(g.facts["layer_compression"], serde_json::json!(["rle"]));
    assert_eq!(thumb(&g, 64).get_pixel(10, 10).0, [255, 0, 0]);
}

#[test]
fn zip_layers_fall_back_to_our_merged_decoder() {
    let g = generate(&input("zip_layers.psd")).unwrap();
    assert_eq!(
        (num(&g, "width"), num(&g, "height"), num(&g, "channels")),
        (24, 16, 3)
    );
    assert_eq!(g.facts["layer_compression"], serde_json::json!(["zip"]));
    assert_eq!(text(&g, "compression"), "rle");
    assert_eq!(g.facts["embedded_thumbnail"], serde_json::json!(true));
    assert_eq!(levels(&g), vec![(64, 24, 16)]);
    assert_eq!(thumb(&g, 64).get_pixel(5, 5).0, [0, 128, 255]);
}

#[test]
fn zip_everywhere_is_an_error_not_a_panic() {
    let bytes = fixture("zip_all.psd");
    assert!(!bytes.is_empty());
    let e = generate(&input("zip_all.psd")).unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
    let e = run(
        &TextureGenerator,
        input("zip_all.psd"),
        Ctx::default(),
        Mode::Complete,
    )
    .unwrap_err();
    assert!(matches!(e, PreviewError::Unsupported { .. }), "{e}");
}

#[test]
fn partial_psd_gives_the_embedded_thumbnail() {
    let bytes = fixture("zip_layers.psd");
    let layout = psd_scan::scan(&BytesSource::new(bytes.clone()), &Ctx::default(), false).unwrap();
    let t = layout.thumbnail.unwrap();
    let g = generate_partial(&partial("zip_layers.psd", t.offset + t.len)).unwrap();
    assert_eq!((num(&g, "width"), num(&g, "height")), (24, 16));
    assert_eq!(levels(&g), vec![(64, 32, 16)]);
    let p = thumb(&g, 64).get_pixel(4, 4).0;
    assert!(p[0] > 240 && p[1] < 20 && p[2] < 20, "{p:?}");
    // The Photoshop 4 (BGR) resource swaps red and blue.
    let mut b = bytes.clone();
    let id_at = (t.offset - 28 - 8) as usize;
    assert_eq!(&b[id_at - 4..id_at], b"8BIM");
    b[id_at..id_at + 2].copy_from_slice(&1033u16.to_be_bytes());
    let p = thumb(&generate_partial(&input_as("psd", b)).unwrap(), 64)
        .get_pixel(4, 4)
        .0;
    assert!(p[2] > 240 && p[0] < 20, "{p:?}");
    // No thumbnail resource: facts only.
    let g = generate_partial(&input("layered.psd")).unwrap();
    assert_eq!(num(&g, "width"), 48);
    assert!(g.items.is_empty());
    // The thumbnail itself not present.
    let e = generate_partial(&partial("zip_layers.psd", t.offset + 10)).unwrap_err();
    assert!(e.is_not_present(), "{e}");
}

/// `zip_layers.psd` with its header patched by `patch` and its merged image
/// replaced by `merged` (compression code and data).
fn with_merged(patch: impl Fn(&mut Vec<u8>), merged: &[u8]) -> Vec<u8> {
    let bytes = fixture("zip_layers.psd");
    let layout = psd_scan::scan(&BytesSource::new(bytes.clone()), &Ctx::default(), true).unwrap();
    let at = layout.layers.unwrap().merged_offset as usize;
    let mut b = bytes[..at].to_vec();
    b.extend_from_slice(merged);
    patch(&mut b);
    b
}

fn raw_planes(planes: &[u8], bytes_per_sample: usize) -> Vec<u8> {
    let mut m = vec![0, 0];
    for &v in planes {
        for _ in 0..24 * 16 {
            m.push(v);
            m.extend(std::iter::repeat_n(0, bytes_per_sample - 1));
        }
    }
    m
}

#[test]
fn our_decoder_reads_raw_gray_alpha_and_16_bits() {
    // Raw RGB.
    let b = with_merged(|_| {}, &raw_planes(&[10, 20, 30], 1));
    let g = generate(&input_as("psd", b)).unwrap();
    assert_eq!(text(&g, "compression"), "none");
    assert_eq!(thumb(&g, 64).get_pixel(0, 0).0, [10, 20, 30]);
    // Grayscale + alpha (channel 0 grey, channel 1 alpha): 255 grey, alpha 255.
    let b = with_merged(
        |b| b[24..26].copy_from_slice(&1u16.to_be_bytes()),
        &raw_planes(&[90, 255, 0], 1),
    );
    let g = generate(&input_as("psd", b)).unwrap();
    assert_eq!(text(&g, "color_mode"), "grayscale");
    assert_eq!(thumb(&g, 64).get_pixel(0, 0).0, [90, 90, 90]);
    // 16 bits per channel: the high byte is kept.
    let b = with_merged(
        |b| b[22..24].copy_from_slice(&16u16.to_be_bytes()),
        &raw_planes(&[1, 2, 3], 2),
    );
    let g = generate(&input_as("psd", b)).unwrap();
    assert_eq!(num(&g, "bit_depth"), 16);
    assert_eq!(thumb(&g, 64).get_pixel(0, 0).0, [1, 2, 3]);
}

#[test]
fn bad_psd_files_give_errors() {
    let good = fixture("layered.psd");
    let with = |at: usize, v: &[u8]| {
        let mut b = good.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let corrupt = |e: &PreviewError| matches!(e, PreviewError::Corrupt { .. });
    let truncated = |e: &PreviewError| matches!(e, PreviewError::Truncated { .. });
    let unsupported = |e: &PreviewError| matches!(e, PreviewError::Unsupported { .. });
    let cases: Vec<Case> = vec![
        ("empty", vec![], &truncated),
        ("signature", with(0, b"8BPX"), &corrupt),
        ("version", with(4, &[0, 3]), &corrupt),
        ("channels", with(12, &[0, 0]), &corrupt),
        ("height", with(14, &[0, 0, 0, 0]), &corrupt),
        ("width", with(18, &[0, 1, 0, 0]), &corrupt),
        ("depth", with(22, &[0, 7]), &corrupt),
        ("half", good[..good.len() / 2].to_vec(), &truncated),
        ("cmyk", with(24, &[0, 4]), &unsupported),
        ("32-bit", with(22, &[0, 32]), &unsupported),
        ("wav", b"RIFF\x24\0\0\0WAVEfmt ".repeat(20), &corrupt),
    ];
    for (what, bytes, ok) in cases {
        let e = generate(&input_as("psd", bytes)).unwrap_err();
        assert!(ok(&e), "{what}: {e}");
    }
    // Broken resources, layer records and merged data of the ZIP-layer file.
    let zl = fixture("zip_layers.psd");
    let res_at = 26 + 4 + 4; // first resource
    let patch = |at: usize, v: &[u8]| {
        let mut b = zl.clone();
        b[at..at + v.len()].copy_from_slice(v);
        b
    };
    let e = generate(&input_as("psd", patch(res_at, b"XXXX"))).unwrap_err();
    assert!(corrupt(&e), "{e}");
    let e = generate(&input_as("psd", patch(res_at + 8, &[0xFF, 0xFF, 0, 0]))).unwrap_err();
    assert!(corrupt(&e), "{e}");
    let layout = psd_scan::scan(&BytesSource::new(zl.clone()), &Ctx::default(), true).unwrap();
    let merged = layout.layers.unwrap().merged_offset as usize;
    let res_len = u32::from_be_bytes(zl[30..34].try_into().unwrap()) as usize;
    let layers_at = 34 + res_len; // layer and mask section length
    let record = layers_at + 4 + 4 + 2; // first layer record
    let e = generate(&input_as("psd", patch(record + 16, &[0, 99]))).unwrap_err();
    assert!(corrupt(&e), "channels: {e}");
    let e = generate(&input_as("psd", patch(record + 18 + 3 * 6, b"XXXX"))).unwrap_err();
    assert!(corrupt(&e), "blend: {e}");
    let e = generate(&input_as("psd", patch(record + 20, &[0x7F, 0, 0, 0]))).unwrap_err();
    assert!(corrupt(&e), "channel length: {e}");
    let e = generate(&input_as("psd", patch(layers_at, &[0x7F, 0, 0, 0]))).unwrap_err();
    assert!(truncated(&e), "section length: {e}");
    let e = generate(&input_as("psd", patch(merged, &[0, 9]))).unwrap_err();
    assert!(corrupt(&e), "merged compression: {e}");
    // RLE rows that overflow, run short, or lack their repeat byte.
    let rle = |row: &[u8]| {
        let mut m = vec![0, 1];
        for _ in 0..3 * 16 {
            m.extend_from_slice(&(row.len() as u16).to_be_bytes());
        }
        for _ in 0..3 * 16 {
            m.extend_from_slice(row);
        }
        m
    };
    for row in [&[0xE8u8, 1][..], &[0xEA, 1], &[0x05, 1], &[30, 1], &[0xE9]] {
        let e = generate(&input_as("psd", with_merged(|_| {}, &rle(row)))).unwrap_err();
        assert!(corrupt(&e), "{row:?}: {e}");
    }
    let ok = generate(&input_as(
        "psd",
        with_merged(|_| {}, &rle(&[0x80, 0xE9, 7])),
    ))
    .unwrap();
    assert_eq!(thumb(&ok, 64).get_pixel(0, 0).0, [7, 7, 7]);
    // Fewer channels than the colour mode needs.
    let b = with_merged(
        |b| b[12..14].copy_from_slice(&2u16.to_be_bytes()),
        &raw_planes(&[1, 2], 1),
    );
    let e = generate(&input_as("psd", b)).unwrap_err();
    assert!(corrupt(&e), "{e}");
}

#[test]
fn unpack_bits_matches_the_spec_example() {
    // Apple's PackBits example.
    let packed = [
        0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7, 0xAA,
    ];
    let mut out = [0u8; 24];
    psd_merged::unpack_bits(&packed, &mut out).unwrap();
    assert_eq!(&out[..6], &[0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A]);
    assert_eq!(&out[14..], &[0xAA; 10]);
}
