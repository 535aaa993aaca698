//! Bad input: empty, mislabelled, truncated at every field, corrupt headers, bad
//! block lengths, hostile thumbnail sizes, broken compressed streams, limits.

use std::io::Write;
use std::time::{Duration, Instant};

use super::*;

/// A predicate on the error a case must give.
type Check = fn(&PreviewError) -> bool;

fn err(bytes: Vec<u8>) -> PreviewError {
    match generate(bytes) {
        Ok(g) => panic!("expected an error, got {:?}", g.facts),
        Err(e) => e,
    }
}

fn is_truncated(e: &PreviewError) -> bool {
    matches!(e, PreviewError::Truncated { .. })
}

fn is_corrupt(e: &PreviewError) -> bool {
    matches!(e, PreviewError::Corrupt { .. })
}

fn is_unsupported(e: &PreviewError) -> bool {
    matches!(e, PreviewError::Unsupported { .. })
}

#[test]
fn empty_file_is_truncated() {
    let e = err(Vec::new());
    assert!(is_truncated(&e), "{e}");
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn mislabelled_and_random_files_are_corrupt() {
    // A WAV file that claims to be a .blend.
    let mut wav = b"RIFF\x24\0\0\0WAVEfmt ".to_vec();
    wav.resize(44, 0);
    // PNG magic, random bytes, text.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let random: Vec<u8> = (0u32..500)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for bytes in [
        wav,
        png,
        random,
        b"hello".to_vec(),
        b"BLENDEX-v304".to_vec(),
    ] {
        let e = err(bytes.clone());
        assert!(is_corrupt(&e), "{:?}: {e}", &bytes[..4]);
        assert!(e.to_string().contains("BLENDER"), "{e}");
    }
}

#[test]
fn truncated_at_every_field_of_the_plain_fixture() {
    let bytes = fixture("red_cube.blend");
    // Inside: the magic, the version, the REND header, the REND data, the TEST
    // header, the thumbnail size, the pixels.
    for cut in [
        5usize,
        11,
        12,
        20,
        50,
        108 + 10,
        108 + 24 + 4,
        108 + 32 + 100,
    ] {
        let e = err(bytes[..cut].to_vec());
        assert!(is_truncated(&e), "cut at {cut}: {e}");
    }
}

#[test]
fn truncated_compressed_files() {
    for name in ["red_cube_gzip.blend", "red_cube_zstd.blend"] {
        let bytes = fixture(name);
        for cut in [2usize, 10, 200, 1000] {
            let e = err(bytes[..cut].to_vec());
            assert!(
                is_truncated(&e) || is_corrupt(&e),
                "{name} cut at {cut}: {e}"
            );
        }
    }
}

#[test]
fn corrupt_file_headers() {
    let cases: [(&[u8], Check); 9] = [
        (b"BLENDERxv304", is_corrupt),          // pointer size
        (b"BLENDER-x304", is_corrupt),          // endianness
        (b"BLENDER-v3a4", is_corrupt),          // version digits
        (b"BLENDER18-01v0500", is_unsupported), // header size
        (b"BLENDER17-02v0500", is_unsupported), // format version
        (b"BLENDER17x01v0500", is_corrupt),     // separator
        (b"BLENDER17-01x0500", is_corrupt),     // endianness
        (b"BLENDER17-01v05x0", is_corrupt),     // version digits
        (b"BLENDER1x-01v0500", is_corrupt),     // header size digits
    ];
    for (header, expected) in cases {
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(&[0u8; 64]);
        let e = err(bytes);
        assert!(expected(&e), "{}: {e}", header.escape_ascii());
    }
    // A 17-byte header cut short.
    let e = err(b"BLENDER17-01v05".to_vec());
    assert!(is_truncated(&e), "{e}");
}

#[test]
fn bad_block_lengths() {
    let rgba = tricolour();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "REND too short",
            Builder::new(Layout::Small8Le).block(REND, &[0u8; 4]).end(),
        ),
        (
            "REND huge",
            Builder::new(Layout::Small8Le)
                .block_claiming(REND, 1 << 30, &[0u8; 72])
                .end(),
        ),
        (
            "negative length",
            Builder::new(Layout::Small8Le)
                .block_claiming(TEST, -8, &[])
                .end(),
        ),
        (
            "negative 64-bit length",
            Builder::new(Layout::Large8)
                .block_claiming(TEST, -1, &[])
                .end(),
        ),
        (
            "TEST without room for its size",
            Builder::new(Layout::Small8Le).block(TEST, &[0u8; 4]).end(),
        ),
        (
            "TEST length does not match its size",
            Builder::new(Layout::Small8Le)
                .block_claiming(TEST, 8 + 20, &[2, 0, 0, 0, 3, 0, 0, 0])
                .end(),
        ),
        (
            "thumbnail side zero",
            Builder::new(Layout::Small8Le).test(0, 3, &[]).end(),
        ),
        (
            "thumbnail side negative",
            Builder::new(Layout::Small8Le).test(-2, 3, &rgba).end(),
        ),
        (
            "thumbnail side huge",
            Builder::new(Layout::Small8Le)
                .test(100_000, 100_000, &rgba)
                .end(),
        ),
    ];
    for (what, bytes) in cases {
        let e = err(bytes);
        assert!(is_corrupt(&e), "{what}: {e}");
    }
    // A negative count is corrupt too.
    let mut bytes = Builder::new(Layout::Small8Le).test(2, 3, &rgba).end();
    bytes[12 + 20..12 + 24].copy_from_slice(&(-1i32).to_le_bytes());
    assert!(is_corrupt(&err(bytes)));
}

#[test]
fn thumbnail_claiming_more_than_the_file_holds_is_truncated_not_allocated() {
    // 4096 × 4096 claimed consistently (64 MiB) in a file of a few bytes.
    let mut dims = Vec::new();
    dims.extend_from_slice(&4096i32.to_le_bytes());
    dims.extend_from_slice(&4096i32.to_le_bytes());
    let bytes = Builder::new(Layout::Small8Le)
        .block_claiming(TEST, 8 + 4096 * 4096 * 4, &dims)
        .bytes;
    let e = err(bytes);
    assert!(is_truncated(&e), "{e}");
}

#[test]
fn thumbnail_over_max_alloc_is_too_large() {
    let bytes = Builder::new(Layout::Small8Le)
        .test(2, 3, &tricolour())
        .end();
    let ctx = Ctx {
        max_alloc: 23,
        ..Ctx::default()
    };
    let e = BlendGenerator
        .generate(&input(BytesSource::new(bytes)), &ctx)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TooLarge { .. }), "{e}");
}

#[test]
fn past_deadline_times_out() {
    let ctx = Ctx {
        deadline: Instant::now() - Duration::from_secs(1),
        ..Ctx::default()
    };
    let e = BlendGenerator
        .generate(&input(BytesSource::new(fixture("red_cube.blend"))), &ctx)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TimedOut { .. }), "{e}");
}

#[test]
fn compressed_garbage() {
    // gzip magic, then nonsense.
    let mut gz = vec![0x1f, 0x8b];
    gz.extend((0u8..200).map(|i| i.wrapping_mul(37)));
    let e = err(gz);
    assert!(is_corrupt(&e) || is_truncated(&e), "{e}");
    // zstd magic, then nonsense.
    let mut zst = vec![0x28, 0xb5, 0x2f, 0xfd];
    zst.extend((0u8..200).map(|i| i.wrapping_mul(91)));
    let e = err(zst);
    assert!(is_corrupt(&e), "{e}");
    // Valid gzip and zstd streams whose content is not a .blend file.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b"RIFF....WAVEfmt not a blend file").unwrap();
    let e = err(enc.finish().unwrap());
    assert!(is_corrupt(&e), "{e}");
    let zst = zstd::encode_all(&b"just some text, no blender here"[..], 3).unwrap();
    let e = err(zst);
    assert!(is_corrupt(&e), "{e}");
    // A valid gzip stream of a .blend head cut inside the thumbnail.
    let plain = fixture("red_cube.blend");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&plain[..1000]).unwrap();
    let e = err(enc.finish().unwrap());
    assert!(is_truncated(&e), "{e}");
}

#[test]
fn zstd_window_limit_follows_max_alloc() {
    // A frame compressed with a 64 MiB window (long-distance mode) is refused when
    // max_alloc is small, before the decoder allocates the window.
    let plain = fixture("red_cube.blend");
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.window_log(26).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&plain).unwrap();
    let zst = enc.finish().unwrap();
    let ctx = Ctx {
        max_alloc: 1 << 20,
        ..Ctx::default()
    };
    let e = super::super::read_head(&BytesSource::new(zst.clone()), &ctx).unwrap_err();
    assert!(is_corrupt(&e), "{e}");
    // With the default limits it reads.
    assert!(head(zst).unwrap().thumbnail.is_some());
}
