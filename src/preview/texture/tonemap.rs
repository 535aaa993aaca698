//! High dynamic range to 8 bits: the ACES filmic curve (Narkowicz's fit) on linear
//! values, then the sRGB transfer curve through a table.
//!
//! Deterministic across machines: per pixel only IEEE-exact operations (+ − × ÷,
//! comparisons); the one transcendental (`powf` in the sRGB curve) runs once per
//! table entry in f64, where last-bit differences between math libraries cannot
//! change the rounded 8-bit results.

use std::sync::OnceLock;

use image::{Rgb32FImage, Rgba32FImage, RgbaImage};

use crate::preview::{Ctx, PreviewError};

/// Entries of the sRGB table over tone-mapped values in 0..=1.
const TABLE: usize = 4096;

/// Rows between deadline checks.
const ROWS_PER_CHECK: u32 = 64;

/// Largest linear value told apart (half-float maximum); larger ones map to white.
const MAX_LINEAR: f32 = 65504.0;

/// The ACES filmic curve (Narkowicz 2015) of a linear value; negatives and NaN give 0.
pub(super) fn aces(x: f32) -> f32 {
    let x = if x > 0.0 { x.min(MAX_LINEAR) } else { 0.0 };
    let y = (x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14);
    y.clamp(0.0, 1.0)
}

/// sRGB-encoded 8-bit values of `TABLE` evenly spaced linear values in 0..=1.
fn srgb_table() -> &'static [u8; TABLE] {
    static TABLE_CELL: OnceLock<[u8; TABLE]> = OnceLock::new();
    TABLE_CELL.get_or_init(|| {
        let mut t = [0u8; TABLE];
        for (i, v) in t.iter_mut().enumerate() {
            let l = i as f64 / (TABLE - 1) as f64;
            let s = if l <= 0.003_130_8 {
                12.92 * l
            } else {
                1.055 * l.powf(1.0 / 2.4) - 0.055
            };
            *v = (s * 255.0).round().clamp(0.0, 255.0) as u8;
        }
        t
    })
}

/// One linear HDR channel value as sRGB 8 bits.
pub(super) fn channel(x: f32) -> u8 {
    srgb_table()[(aces(x) * (TABLE - 1) as f32 + 0.5) as usize]
}

/// Linear alpha (0..=1) as 8 bits; out of range and NaN are clamped.
fn alpha(a: f32) -> u8 {
    let a = if a > 0.0 { a.min(1.0) } else { 0.0 };
    (a * 255.0 + 0.5) as u8
}

/// Tone-maps a linear RGB float picture.
pub(super) fn rgb32f(img: &Rgb32FImage, ctx: &Ctx) -> Result<RgbaImage, PreviewError> {
    map(img.width(), img.height(), img.as_raw(), 3, ctx)
}

/// Tone-maps a linear RGBA float picture (alpha kept linear).
pub(super) fn rgba32f(img: &Rgba32FImage, ctx: &Ctx) -> Result<RgbaImage, PreviewError> {
    map(img.width(), img.height(), img.as_raw(), 4, ctx)
}

/// Tone-maps `data`, `step` floats per pixel (3: RGB, 4: RGBA).
pub(super) fn map(
    width: u32,
    height: u32,
    data: &[f32],
    step: usize,
    ctx: &Ctx,
) -> Result<RgbaImage, PreviewError> {
    let mut out = RgbaImage::new(width, height);
    let row = width as usize * step;
    for (y, (src, dst)) in data
        .chunks_exact(row.max(1))
        .zip(out.chunks_exact_mut(width as usize * 4))
        .enumerate()
    {
        if (y as u32).is_multiple_of(ROWS_PER_CHECK) {
            ctx.check()?;
        }
        for (p, q) in src.chunks_exact(step).zip(dst.chunks_exact_mut(4)) {
            q[0] = channel(p[0]);
            q[1] = channel(p[1]);
            q[2] = channel(p[2]);
            q[3] = if step == 4 { alpha(p[3]) } else { 255 };
        }
    }
    Ok(out)
}
