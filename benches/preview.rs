//! Criterion benchmarks of preview generation at the standard sizes:
//!
//! * `texture/png_4096` — a 4096² RGBA PNG: decode, three thumbnail levels.
//! * `audio/wav_3min_48k_stereo` — a 3-minute 48 kHz stereo 16-bit WAV: decode,
//!   peaks, waveform, clip.
//! * `mesh/stl_500k` — a 500,000-triangle binary STL: load, render, decimate.
//! * `card/any` — the generic card, for scale.
//!
//! Inputs are synthesised here (deterministic), so the bench needs no fixtures. Under
//! `cargo test --all-targets` (each bench run once as a check) they are small.
//! Run: `cargo bench --bench preview` (figures in README.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use gadn::preview::{generator_for, Ctx, Input};

/// Whether criterion is measuring (`cargo bench`) rather than checking that the
/// benches run (`cargo test --all-targets` runs each once): then inputs are small.
fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn texture_4096() -> Vec<u8> {
    let n = if measuring() { 4096u32 } else { 256 };
    let img = image::RgbaImage::from_fn(n, n, |x, y| {
        // A gradient with a little structure; PNG compresses it as real art would.
        let v = ((x ^ y) & 0x3f) as u8;
        image::Rgba([(x / 16) as u8, (y / 16) as u8, v.wrapping_mul(3), 255])
    });
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("encode");
    out
}

fn wav_3min() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).expect("wav");
    let frames = if measuring() { 48_000 * 180 } else { 48_000 };
    for i in 0..frames {
        let t = i as f32 / 48_000.0;
        // A slow sweep with an envelope: every window differs.
        let f = 110.0 + 40.0 * t;
        let env = 0.5 + 0.5 * (t * 0.7).sin();
        let s = (env * (std::f32::consts::TAU * f * t).sin() * 20_000.0) as i16;
        w.write_sample(s).expect("sample");
        w.write_sample(s / 2).expect("sample");
    }
    w.finalize().expect("finish");
    out.into_inner()
}

/// A 500×500 height-field grid: 2 × 500 × 500 = 500,000 triangles, binary STL.
fn stl_500k() -> Vec<u8> {
    let n = if measuring() { 500usize } else { 50 };
    let h = |x: usize, y: usize| ((x as f32 * 0.05).sin() * (y as f32 * 0.07).cos()) * 10.0;
    let p = |x: usize, y: usize| [x as f32, y as f32, h(x, y)];
    let tris = 2 * n * n;
    let mut out = Vec::with_capacity(84 + 50 * tris);
    out.extend_from_slice(&[0u8; 80]);
    out.extend_from_slice(&(tris as u32).to_le_bytes());
    let mut tri = |a: [f32; 3], b: [f32; 3], c: [f32; 3]| {
        out.extend_from_slice(&[0u8; 12]);
        for v in [a, b, c] {
            for k in v {
                out.extend_from_slice(&k.to_le_bytes());
            }
        }
        out.extend_from_slice(&[0u8; 2]);
    };
    for y in 0..n {
        for x in 0..n {
            tri(p(x, y), p(x + 1, y), p(x + 1, y + 1));
            tri(p(x, y), p(x + 1, y + 1), p(x, y + 1));
        }
    }
    out
}

fn bench_one(c: &mut Criterion, group: &str, name: &str, file: &str, bytes: Vec<u8>) {
    let input = Input::from_bytes(file, bytes);
    let generator = generator_for(&input.kind);
    // Check once that it works: a bench of an error path would measure nothing.
    let ctx = Ctx::with_timeout(Duration::from_secs(600));
    if let Err(e) = generator.generate(&input, &ctx) {
        panic!("{group}/{name}: {} failed: {e}", generator.name());
    }
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function(name, |b| {
        b.iter(|| {
            let ctx = Ctx::with_timeout(Duration::from_secs(600));
            black_box(generator.generate(&input, &ctx).expect("generate"))
        })
    });
    g.finish();
}

fn previews(c: &mut Criterion) {
    bench_one(c, "texture", "png_4096", "albedo.png", texture_4096());
    bench_one(c, "audio", "wav_3min_48k_stereo", "music.wav", wav_3min());
    bench_one(c, "mesh", "stl_500k", "terrain.stl", stl_500k());
    bench_one(c, "card", "any", "data.bin", vec![7u8; 1 << 20]);
}

criterion_group!(benches, previews);
criterion_main!(benches);
