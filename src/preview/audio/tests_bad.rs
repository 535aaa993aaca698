//! Bad input: empty, truncated, corrupt, mislabelled files and absurd headers all
//! give a clear [`PreviewError`], never a panic or an unbounded allocation.

use std::sync::Arc;

use super::tests::{fixture, input, wav_header, with_kind};
use super::*;

fn err(input: &Input) -> PreviewError {
    match AudioGenerator.generate(input, &Ctx::default()) {
        Ok(g) => panic!("{}: expected an error, got {:?}", input.name, g.facts),
        Err(e) => e,
    }
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    crate::store::pack::testutil::random_bytes(seed, len)
}

/// The MP3 fixture without its first frame (the Xing "Info" frame with the LAME
/// tag, 288 bytes after the 52-byte ID3v2 tag).
pub(super) fn mp3_without_lame_tag() -> Vec<u8> {
    let mp3 = fixture("sine440_stereo.mp3");
    assert_eq!(&mp3[52 + 36..52 + 40], b"Info");
    let mut plain = mp3[..52].to_vec();
    plain.extend_from_slice(&mp3[52 + 288..]);
    plain
}

#[test]
fn an_empty_file_is_truncated() {
    for kind in ["wav", "ogg", "mp3", "flac"] {
        let e = err(&with_kind(kind, Vec::new()));
        assert!(matches!(e, PreviewError::Truncated { .. }), "{kind}: {e}");
        assert!(e.to_string().contains(kind), "{e}");
    }
}

#[test]
fn a_png_labelled_as_audio_is_refused() {
    let png = crate::preview::thumbs::png(&image::RgbImage::new(8, 8)).unwrap();
    for kind in ["wav", "ogg", "mp3", "flac"] {
        let e = err(&with_kind(kind, png.clone()));
        assert!(matches!(e, PreviewError::Corrupt { .. }), "{kind}: {e}");
    }
}

#[test]
fn random_bytes_are_refused() {
    for (i, kind) in ["wav", "ogg", "mp3", "flac"].into_iter().enumerate() {
        let e = err(&with_kind(kind, noise(50_000, i as u64 + 7)));
        assert!(!e.is_not_present(), "{kind}: {e}");
    }
    // Random bytes behind a valid MP3 frame sync: frames fail to decode.
    let mut bytes = vec![0xff, 0xfb, 0x90, 0x64];
    bytes.extend(noise(20_000, 3));
    let _ = AudioGenerator.generate(&with_kind("mp3", bytes), &Ctx::default());
}

#[test]
fn truncated_files_are_reported() {
    // Header only, and cut in the middle of the samples.
    let wav = fixture("sine440_stereo.wav");
    for cut in [44, wav.len() / 2] {
        let e = err(&with_kind("wav", wav[..cut].to_vec()));
        assert!(matches!(e, PreviewError::Truncated { .. }), "{cut}: {e}");
        assert!(e.to_string().contains("24000 frames"), "{e}");
    }
    for file in ["sine440_stereo.flac", "sine440_stereo.mp3"] {
        let bytes = fixture(file);
        let kind = &file[file.len() - 4..].trim_start_matches('.');
        let e = err(&with_kind(kind, bytes[..bytes.len() / 2].to_vec()));
        assert!(matches!(e, PreviewError::Truncated { .. }), "{file}: {e}");
    }
    // Ogg records the length only in its last page: a cut file is a shorter valid
    // stream, ending with the last whole page (at frame 40512 here).
    let ogg = fixture("sine440_stereo.ogg");
    let g = AudioGenerator
        .generate(
            &with_kind("ogg", ogg[..ogg.len() - 100].to_vec()),
            &Ctx::default(),
        )
        .unwrap();
    assert_eq!(g.facts["frames"], 40_512);
    // A cut inside the headers.
    for file in [
        "sine440_stereo.flac",
        "sine440_stereo.ogg",
        "sine440_stereo.mp3",
    ] {
        let bytes = fixture(file);
        let kind = file.rsplit('.').next().unwrap();
        let e = err(&with_kind(kind, bytes[..30].to_vec()));
        assert!(!e.is_not_present(), "{file}: {e}");
    }
}

#[test]
fn corrupt_bytes_are_reported_or_skipped() {
    // A broken FLAC STREAMINFO.
    let mut flac = fixture("sine440_stereo.flac");
    flac[8..42].fill(0);
    assert!(err(&with_kind("flac", flac)).to_string().contains("flac"));
    // Garbage in the middle of FLAC frames: the reader skips to the next frame
    // sync, so frames are missing against STREAMINFO's count.
    let mut flac = fixture("sine440_stereo.flac");
    let n = flac.len();
    flac[n / 2..n / 2 + 2000].copy_from_slice(&noise(2000, 11));
    let e = err(&with_kind("flac", flac));
    assert!(e.to_string().contains("declares 48000 frames"), "{e}");
    // Flipped bits in MP3 frames: the damaged frames fail and the count falls short.
    let mut mp3 = fixture("sine440_stereo.mp3");
    let n = mp3.len();
    for i in (n / 3..n).step_by(50) {
        mp3[i] ^= 0x55;
    }
    let e = err(&with_kind("mp3", mp3));
    assert!(matches!(e, PreviewError::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("failed to decode"), "{e}");
    // Without a LAME tag the length is an estimate: damaged frames are skipped
    // and counted, as a player would.
    let mut plain = mp3_without_lame_tag();
    let n = plain.len();
    for i in (n / 3..n).step_by(97) {
        plain[i] ^= 0x55;
    }
    let g = AudioGenerator
        .generate(&with_kind("mp3", plain.clone()), &Ctx::default())
        .unwrap();
    assert!(
        g.facts["decode_errors"].as_u64().unwrap() > 0,
        "{:?}",
        g.facts
    );
    // Every frame damaged: nothing worth showing.
    for i in (500..n).step_by(7) {
        plain[i] ^= 0x55;
    }
    let e = err(&with_kind("mp3", plain));
    assert!(e.to_string().contains("packets failed to decode"), "{e}");
    // A broken Vorbis setup header.
    let mut ogg = fixture("sine440_stereo.ogg");
    ogg[200..1200].copy_from_slice(&noise(1000, 5));
    let _ = err(&with_kind("ogg", ogg));
}

#[test]
fn absurd_headers_are_refused_or_bounded() {
    let samples = vec![0u8; 4000];
    let wav = |h: Vec<u8>| {
        let mut b = h;
        b.extend_from_slice(&samples);
        with_kind("wav", b)
    };
    for (rate, channels, bits) in [
        (0, 2, 16),
        (4_000_000_000, 2, 16),
        (48_000, 0, 16),
        (48_000, 2, 0),
        (48_000, 2, 13),
    ] {
        let e = err(&wav(wav_header(rate, channels, bits, 4000)));
        assert!(!e.is_not_present(), "{rate} {channels} {bits}: {e}");
    }
    // A data chunk claiming 4 GiB (as written by tools streaming to a pipe): the
    // frames present are previewed, the claim is bounded by the file's length.
    let g = AudioGenerator
        .generate(&wav(wav_header(8000, 1, 16, u32::MAX)), &Ctx::default())
        .unwrap();
    assert_eq!(g.facts["frames"], 2000);
    // No samples at all is a valid, silent, zero-length file.
    let g = AudioGenerator
        .generate(
            &with_kind("wav", wav_header(8000, 1, 16, 0)),
            &Ctx::default(),
        )
        .unwrap();
    assert_eq!(
        (g.facts["frames"].as_u64(), g.facts["duration_s"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert!(!g.facts.contains_key("bitrate"));
    assert_eq!(super::tests::peaks_of(&g).pairs.len(), 0);
}

#[test]
fn valid_audio_under_another_audio_kind_is_read_for_what_it_is() {
    let g = AudioGenerator
        .generate(
            &with_kind("flac", fixture("sine440_stereo.wav")),
            &Ctx::default(),
        )
        .unwrap();
    assert_eq!(g.facts["codec"], "pcm_s16le");
}

#[test]
fn limits_of_time_and_memory_hold() {
    let late = Ctx {
        deadline: std::time::Instant::now(),
        ..Ctx::default()
    };
    let e = AudioGenerator
        .generate(&input("sine440_stereo.wav"), &late)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TimedOut { .. }), "{e}");
    let small = Ctx {
        max_alloc: 100,
        ..Ctx::default()
    };
    let e = AudioGenerator
        .generate(&input("sine440_stereo.wav"), &small)
        .unwrap_err();
    assert!(matches!(e, PreviewError::TooLarge { .. }), "{e}");
    // An empty clip fits, a decoded packet does not.
    let small = Ctx {
        max_alloc: 400,
        clip_seconds: 0,
        ..Ctx::default()
    };
    let e = AudioGenerator
        .generate(&input("sine440_stereo.flac"), &small)
        .unwrap_err();
    assert!(e.to_string().contains("decoded audio packet"), "{e}");
}

#[test]
fn sample_formats_of_wav_are_mixed() {
    // 8-bit unsigned, 32-bit integer and 32-bit float WAVs written by hound.
    for (bits, format, full) in [
        (8, hound::SampleFormat::Int, 127.0),
        (32, hound::SampleFormat::Int, 2_147_483_647.0),
        (32, hound::SampleFormat::Float, 1.0),
    ] {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: bits,
            sample_format: format,
        };
        let mut bytes = Vec::new();
        let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).unwrap();
        for i in 0..1000 {
            let v: f64 = if i % 2 == 0 { 0.5 } else { -0.5 };
            match format {
                hound::SampleFormat::Float => {
                    w.write_sample(v as f32).unwrap();
                    w.write_sample(v as f32).unwrap();
                }
                hound::SampleFormat::Int if bits == 8 => {
                    w.write_sample((v * full) as i8).unwrap();
                    w.write_sample((v * full) as i8).unwrap();
                }
                hound::SampleFormat::Int => {
                    w.write_sample((v * full) as i32).unwrap();
                    w.write_sample((v * full) as i32).unwrap();
                }
            }
        }
        w.finalize().unwrap();
        let g = AudioGenerator
            .generate(
                &Input {
                    source: Arc::new(crate::preview::BytesSource::new(bytes)),
                    ..with_kind("wav", vec![])
                },
                &Ctx::default(),
            )
            .unwrap();
        assert_eq!(g.facts["frames"], 1000, "{bits}");
        let p = super::peaks::Peaks::decode(&g.items[1].bytes).unwrap();
        // One frame a window: +½, −½, … (8-bit: 63/128).
        assert_eq!(p.frames_per_window, 1);
        assert!(
            (p.pairs[0].1 as i32 - 16384).abs() < 300,
            "{bits}: {:?}",
            p.pairs[0]
        );
        assert!(
            (p.pairs[1].0 as i32 + 16384).abs() < 300,
            "{bits}: {:?}",
            p.pairs[1]
        );
    }
}

/// The Ogg page checksum (CRC-32, polynomial 0x04c11db7, no reflection).
fn ogg_crc(page: &[u8]) -> u32 {
    let mut c = 0u32;
    for &b in page {
        c ^= (b as u32) << 24;
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04c1_1db7
            } else {
                c << 1
            };
        }
    }
    c
}

#[test]
fn absurd_vorbis_identification_headers_are_refused() {
    // The first page (58 bytes) holds the identification header: channels at byte
    // 39, sample rate at 40..44. Patch them and fix the page checksum.
    let ogg = fixture("sine440_stereo.ogg");
    let mut page = ogg[..58].to_vec();
    page[22..26].fill(0);
    assert_eq!(ogg_crc(&page).to_le_bytes(), ogg[22..26]);
    for (at, value) in [
        (40, &[0u8, 0, 0, 0][..]),
        (39, &[0u8][..]),
        (40, &[0xff, 0xff, 0xff, 0xff][..]),
    ] {
        let mut bad = ogg.clone();
        bad[at..at + value.len()].copy_from_slice(value);
        bad[22..26].fill(0);
        let crc = ogg_crc(&bad[..58]);
        bad[22..26].copy_from_slice(&crc.to_le_bytes());
        let e = err(&with_kind("ogg", bad));
        assert!(!e.is_not_present(), "{at}: {e}");
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Damaged fixtures (a few bytes overwritten anywhere, then cut anywhere)
        /// give a preview or an error, never a panic.
        #[test]
        fn damaged_fixtures_never_panic(
            file in 0usize..4,
            edits in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..8),
            cut in 0.0f64..1.0,
        ) {
            let (name, kind) = [
                ("sine440_stereo.wav", "wav"),
                ("sine440_stereo.flac", "flac"),
                ("sine440_stereo.ogg", "ogg"),
                ("sine440_stereo.mp3", "mp3"),
            ][file];
            let mut bytes = fixture(name);
            for (at, b) in edits {
                let i = (at * bytes.len() as f64) as usize;
                bytes[i] = b;
            }
            bytes.truncate(((cut * bytes.len() as f64) as usize).max(1));
            let _ = AudioGenerator.generate(&with_kind(kind, bytes), &Ctx::default());
        }
    }
}
