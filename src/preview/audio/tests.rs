//! Tests of the audio generator against fixtures made by sox and ffmpeg
//! (`tools/fixtures/preview-audio.sh`) and against broken inputs.

use std::sync::Arc;

use super::peaks::Peaks;
use super::*;
use crate::preview::{BytesSource, PrefixSource};

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/preview/audio/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn input(name: &str) -> Input {
    Input::from_bytes(name, fixture(name))
}

pub(super) fn with_kind(kind: &str, bytes: Vec<u8>) -> Input {
    Input {
        name: format!("x.{kind}"),
        kind: kind.into(),
        source: Arc::new(BytesSource::new(bytes)),
    }
}

fn partial(name: &str, present: u64) -> Input {
    let mut i = input(name);
    let bytes = fixture(name);
    i.source = Arc::new(PrefixSource::new(bytes, present));
    i
}

fn item(g: &Generated, role: Role) -> &Item {
    g.items.iter().find(|i| i.role == role).unwrap()
}

pub(super) fn peaks_of(g: &Generated) -> Peaks {
    Peaks::decode(&item(g, Role::Peaks).bytes).unwrap()
}

fn num(g: &Generated, fact: &str) -> f64 {
    g.facts[fact]
        .as_f64()
        .unwrap_or_else(|| panic!("{fact}: {:?}", g.facts))
}

/// A canonical 44-byte WAV header.
pub(super) fn wav_header(rate: u32, channels: u16, bits: u16, data_len: u32) -> Vec<u8> {
    let align = channels * bits / 8;
    let mut h = Vec::new();
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&rate.wrapping_mul(align as u32).to_le_bytes());
    h.extend_from_slice(&align.to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

#[test]
fn handles_the_audio_kinds() {
    let g = AudioGenerator;
    assert_eq!((g.name(), g.version()), ("audio", 1));
    for kind in ["wav", "ogg", "mp3", "flac"] {
        assert!(g.handles(kind));
    }
    assert!(!g.handles("png"));
}

/// File, codec, sample rate, channels, bit depth, frames, tolerance in frames.
type Case = (&'static str, &'static str, u32, u16, Option<u32>, u64, u64);

#[test]
fn facts_of_each_format() {
    let cases: [Case; 6] = [
        (
            "sine440_stereo.wav",
            "pcm_s16le",
            48_000,
            2,
            Some(16),
            24_000,
            0,
        ),
        (
            "sine440_stereo.flac",
            "flac",
            48_000,
            2,
            Some(16),
            48_000,
            0,
        ),
        // Vorbis: the end comes from the last granule position, exact.
        ("sine440_stereo.ogg", "vorbis", 48_000, 2, None, 48_000, 0),
        // MP3: ffmpeg's LAME tag records delay and padding, so gapless decoding
        // gives the source length; allow one MPEG frame (1152) in case it does not.
        ("sine440_stereo.mp3", "mp3", 48_000, 2, None, 48_000, 1152),
        (
            "sine1k_mono24.wav",
            "pcm_s24le",
            44_100,
            1,
            Some(24),
            11_025,
            0,
        ),
        ("silence_8k.wav", "pcm_s16le", 8000, 1, Some(16), 800, 0),
    ];
    for (file, codec, rate, channels, bits, frames, tolerance) in cases {
        let g = AudioGenerator
            .generate(&input(file), &Ctx::default())
            .unwrap();
        let f = &g.facts;
        assert_eq!(f["codec"], codec, "{file}");
        assert_eq!(f["sample_rate"], rate, "{file}");
        assert_eq!(f["channels"], channels, "{file}");
        assert_eq!(
            f.get("bit_depth").and_then(|b| b.as_u64()),
            bits.map(u64::from),
            "{file}"
        );
        let got = f["frames"].as_u64().unwrap();
        assert!(got.abs_diff(frames) <= tolerance, "{file}: {got} frames");
        let duration = num(&g, "duration_s");
        assert!((duration - got as f64 / rate as f64).abs() < 1e-9, "{file}");
        assert!(!f.contains_key("partial") && !f.contains_key("decode_errors"));
        assert!(num(&g, "bitrate") > 0.0);
    }
}

#[test]
fn mp3_without_a_lame_tag_counts_delay_and_padding() {
    // 43 MPEG frames of 1152: the 1.000 s of source plus LAME's delay and padding,
    // as ffprobe reports (1.032 s) when it has no tag to trim by.
    let plain = super::tests_bad::mp3_without_lame_tag();
    let g = AudioGenerator
        .generate(&with_kind("mp3", plain), &Ctx::default())
        .unwrap();
    assert_eq!(g.facts["frames"], 43 * 1152);
    assert_eq!(g.facts["bitrate"], 96_000);
}

#[test]
fn bitrate_of_pcm_is_exact_and_tags_are_read() {
    let g = AudioGenerator
        .generate(&input("sine440_stereo.wav"), &Ctx::default())
        .unwrap();
    assert_eq!(g.facts["bitrate"], 48_000 * 2 * 16);
    for file in ["sine440_stereo.ogg", "sine440_stereo.mp3"] {
        let g = AudioGenerator
            .generate(&input(file), &Ctx::default())
            .unwrap();
        assert_eq!(g.facts["title"], "Sine", "{file}");
        assert_eq!(g.facts["artist"], "gadn", "{file}");
        let kbps = num(&g, "bitrate") / 1000.0;
        assert!((10.0..200.0).contains(&kbps), "{file}: {kbps}");
    }
}

#[test]
fn peaks_of_a_sine_reach_its_amplitude() {
    // Half scale: 16384. Lossless formats exactly; lossy ones within 10 %.
    for (file, tolerance) in [
        ("sine440_stereo.wav", 1),
        ("sine440_stereo.flac", 1),
        ("sine1k_mono24.wav", 1),
        ("sine440_stereo.ogg", 1640),
        ("sine440_stereo.mp3", 1640),
    ] {
        let g = AudioGenerator
            .generate(&input(file), &Ctx::default())
            .unwrap();
        let p = peaks_of(&g);
        let frames = g.facts["frames"].as_u64().unwrap();
        assert_eq!(p.frames, frames, "{file}");
        assert_eq!(p.frames_per_window as u64, frames.div_ceil(1024), "{file}");
        assert_eq!(
            p.pairs.len() as u64,
            frames.div_ceil(p.frames_per_window as u64)
        );
        assert_eq!(item(&g, Role::Peaks).level as usize, p.pairs.len());
        let hi = p.pairs.iter().map(|w| w.1).max().unwrap();
        let lo = p.pairs.iter().map(|w| w.0).min().unwrap();
        assert!((hi as i32 - 16384).abs() <= tolerance, "{file}: max {hi}");
        assert!((lo as i32 + 16384).abs() <= tolerance, "{file}: min {lo}");
        // Every window of a 440 Hz+ sine spans most of a cycle: none is flat.
        let middle = &p.pairs[p.pairs.len() / 2];
        assert!(middle.1 - middle.0 > 5000, "{file}: {middle:?}");
    }
    let g = AudioGenerator
        .generate(&input("silence_8k.wav"), &Ctx::default())
        .unwrap();
    let p = peaks_of(&g);
    assert_eq!((p.pairs.len(), p.frames_per_window), (800, 1));
    assert!(p.pairs.iter().all(|&w| w == (0, 0)));
}

#[test]
fn waveform_shows_a_band_in_the_middle() {
    let g = AudioGenerator
        .generate(&input("sine440_stereo.flac"), &Ctx::default())
        .unwrap();
    let w = item(&g, Role::Waveform);
    assert_eq!((w.level, w.media_type.as_str()), (1024, "image/png"));
    let img = image::load_from_memory(&w.bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1024, 256));
    let background = *img.get_pixel(0, 0);
    let band = *img.get_pixel(512, 64);
    assert_ne!(band, background);
    // Columns showing the band in row `y`.
    let count = |y: u32| (0..1024).filter(|&x| *img.get_pixel(x, y) == band).count();
    // Half-scale sine: rows 64..=191 (a quarter of the height either side of the
    // middle); a 47-frame window covers under half a cycle, so the middle row is
    // crossed in most columns only.
    assert!(count(128) > 800, "{}", count(128));
    assert!(count(64) > 50 && count(191) > 50);
    assert_eq!(count(60) + count(195) + count(0) + count(255), 0);
}

#[test]
fn clip_is_mono_low_rate_and_of_the_right_length() {
    let read = |g: &Generated| {
        let c = item(g, Role::Clip);
        assert_eq!(c.media_type, "audio/wav");
        let r = hound::WavReader::new(std::io::Cursor::new(c.bytes.clone())).unwrap();
        let spec = r.spec();
        assert_eq!(c.level, spec.sample_rate);
        let s: Vec<i16> = r.into_samples().map(|s| s.unwrap()).collect();
        (spec, s)
    };
    let g = AudioGenerator
        .generate(&input("sine440_stereo.flac"), &Ctx::default())
        .unwrap();
    let (spec, s) = read(&g);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 16_000, 16)
    );
    assert_eq!(s.len(), 16_000);
    // A 3-sample box filter keeps most of a 440 Hz sine.
    let hi = *s.iter().max().unwrap();
    assert!((16_000..=16_384).contains(&hi), "{hi}");

    let short = Ctx {
        clip_seconds: 0,
        ..Ctx::default()
    };
    let (_, s) = read(
        &AudioGenerator
            .generate(&input("sine440_stereo.flac"), &short)
            .unwrap(),
    );
    assert!(s.is_empty());
    let (spec, s) = read(
        &AudioGenerator
            .generate(&input("sine1k_mono24.wav"), &Ctx::default())
            .unwrap(),
    );
    assert_eq!((spec.sample_rate, s.len()), (16_000, 4000));
    let (spec, s) = read(
        &AudioGenerator
            .generate(&input("silence_8k.wav"), &Ctx::default())
            .unwrap(),
    );
    assert_eq!((spec.sample_rate, s.len()), (8000, 800));
}

#[test]
fn output_is_deterministic() {
    for file in [
        "sine440_stereo.ogg",
        "sine440_stereo.mp3",
        "sine440_stereo.wav",
    ] {
        let a = AudioGenerator
            .generate(&input(file), &Ctx::default())
            .unwrap();
        let b = AudioGenerator
            .generate(&input(file), &Ctx::default())
            .unwrap();
        assert_eq!(a, b, "{file}");
    }
}

#[test]
fn a_long_track_gets_the_full_window_count() {
    // 200 000 frames of a ramp, written by hound: 196 frames a window, 1021 windows.
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Vec::new();
    let mut w = hound::WavWriter::new(std::io::Cursor::new(&mut bytes), spec).unwrap();
    for i in 0..200_000i32 {
        let v = ((i % 2000) * 16 - 16_000) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let g = AudioGenerator
        .generate(&Input::from_bytes("long.wav", bytes), &Ctx::default())
        .unwrap();
    let p = peaks_of(&g);
    assert_eq!(p.frames_per_window, 196);
    assert_eq!(p.pairs.len(), 1021);
    assert_eq!(g.facts["frames"], 200_000);
}

#[test]
fn partial_files_give_header_facts_and_the_present_head() {
    // WAV: the data chunk's length gives the duration; half the samples are here.
    let bytes = fixture("sine440_stereo.wav");
    let g = AudioGenerator
        .generate_partial(
            &partial("sine440_stereo.wav", bytes.len() as u64 / 2),
            &Ctx::default(),
        )
        .unwrap();
    assert_eq!(g.facts["partial"], true);
    assert_eq!(g.facts["frames"], 24_000);
    assert_eq!(num(&g, "duration_s"), 0.5);
    assert_eq!(g.facts["codec"], "pcm_s16le");
    let present = g.facts["present_frames"].as_u64().unwrap();
    assert!((10_000..24_000).contains(&present), "{present}");
    assert_eq!(peaks_of(&g).frames, present);
    // The waveform leaves the absent half blank.
    let img = image::load_from_memory(&item(&g, Role::Waveform).bytes)
        .unwrap()
        .to_rgb8();
    assert_ne!(img.get_pixel(100, 100), img.get_pixel(1000, 100));

    // FLAC (STREAMINFO) and MP3 (LAME tag) declare their length in the head; ffmpeg
    // pads FLAC metadata to about 8.3 KB, all of which the reader wants.
    for (file, present, frames) in [
        ("sine440_stereo.flac", 9000, 48_000u64),
        ("sine440_stereo.mp3", 3000, 48_000),
    ] {
        let g = AudioGenerator
            .generate_partial(&partial(file, present), &Ctx::default())
            .unwrap();
        assert_eq!(g.facts["frames"], frames, "{file}");
        assert_eq!(g.facts["sample_rate"], 48_000);
        assert_eq!(g.facts["partial"], true);
    }
    // Ogg keeps its length in the last page: no duration from the head. Pages end
    // at 4735 (frame 20032) and 5422 (frame 30272); the reader stops in the third.
    let g = AudioGenerator
        .generate_partial(&partial("sine440_stereo.ogg", 5500), &Ctx::default())
        .unwrap();
    assert_eq!(g.facts["codec"], "vorbis");
    assert!(!g.facts.contains_key("duration_s"));
    let present = g.facts["present_frames"].as_u64().unwrap();
    assert!((20_032..=30_272).contains(&present), "{present}");

    // Only the header: facts, no items.
    let g = AudioGenerator
        .generate_partial(&partial("sine440_stereo.wav", 44), &Ctx::default())
        .unwrap();
    assert_eq!(g.facts["present_frames"], 0);
    assert!(g.items.is_empty());

    // Not even the header: say which bytes are needed.
    let e = AudioGenerator
        .generate_partial(&partial("sine440_stereo.wav", 10), &Ctx::default())
        .unwrap_err();
    assert!(
        matches!(e, PreviewError::NotPresent { offset: 10, .. }),
        "{e}"
    );

    // A complete source takes the complete path.
    let whole = partial("sine440_stereo.ogg", 1 << 20);
    assert_eq!(
        AudioGenerator
            .generate_partial(&whole, &Ctx::default())
            .unwrap(),
        AudioGenerator.generate(&whole, &Ctx::default()).unwrap()
    );
}

#[test]
fn partial_through_the_runner() {
    let r = crate::preview::run(
        &AudioGenerator,
        partial("sine440_stereo.flac", 20_000),
        Ctx::default(),
        crate::preview::Mode::Partial,
    )
    .unwrap();
    assert_eq!(r.facts["partial"], true);
}
