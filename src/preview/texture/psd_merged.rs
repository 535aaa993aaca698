//! Our own decoder of a PSD's merged image (the composite Photoshop saves after
//! the layers), raw or RLE (PackBits), 8 or 16 bits, grayscale or RGB, with an
//! optional alpha channel. Used when the `psd` crate must not be called (ZIP
//! layers, on which it panics) or cannot read the file.
//!
//! Layout: `compression u16 || (raw: plane 0 || plane 1 || …) | (RLE: row byte
//! counts, u16 each (u32 in PSB), channels × height of them || PackBits rows)`.

use image::RgbaImage;

use super::psd_scan::{At, Layout, FORMAT};
use crate::preview::source::read_range;
use crate::preview::{Ctx, PreviewError, Source};

/// Rows between deadline checks.
const ROWS_PER_CHECK: u32 = 256;

/// Decodes the merged image at `offset` (its compression code) of a file laid out
/// as `layout`.
pub(super) fn decode(
    src: &dyn Source,
    layout: &Layout,
    offset: u64,
    ctx: &Ctx,
) -> Result<RgbaImage, PreviewError> {
    let color = match layout.color_mode {
        1 => 1u16,
        3 => 3,
        m => {
            return Err(PreviewError::unsupported(
                FORMAT,
                format!("merged image in colour mode {m}"),
            ))
        }
    };
    if layout.depth != 8 && layout.depth != 16 {
        return Err(PreviewError::unsupported(
            FORMAT,
            format!("{}-bit merged image", layout.depth),
        ));
    }
    if layout.channels < color {
        return Err(PreviewError::corrupt(
            FORMAT,
            format!(
                "{} channels in colour mode {}",
                layout.channels, layout.color_mode
            ),
        ));
    }
    let (w, h) = (layout.width, layout.height);
    let bps = (layout.depth / 8) as usize;
    let row = w as usize * bps;
    super::check_rgba(ctx, w, h, "the merged image")?;
    ctx.alloc(row as u64 * h as u64, "one merged image plane")?;
    let used = layout.channels.min(color + 1);
    let mut out = RgbaImage::from_pixel(w, h, image::Rgba([0, 0, 0, 255]));
    let mut at = At::new(src, offset);
    let compression = at.u16()?;
    let mut row_buf = vec![0u8; row];
    match compression {
        0 => {
            for c in 0..used {
                let plane = read_range(
                    src,
                    at.pos + c as u64 * row as u64 * h as u64,
                    row * h as usize,
                )?;
                for (y, r) in plane.chunks_exact(row).enumerate() {
                    if (y as u32).is_multiple_of(ROWS_PER_CHECK) {
                        ctx.check()?;
                    }
                    scatter(&mut out, y as u32, c, color, r, bps);
                }
            }
        }
        1 => {
            let entry = if layout.psb { 4 } else { 2 };
            let rows = layout.channels as usize * h as usize;
            let table = read_range(src, at.pos, rows * entry)?;
            let counts: Vec<u64> = table
                .chunks_exact(entry)
                .map(|b| b.iter().fold(0u64, |n, &x| n << 8 | x as u64))
                .collect();
            let mut data_at = at.pos + table.len() as u64;
            for c in 0..used {
                let mine = &counts[c as usize * h as usize..(c as usize + 1) * h as usize];
                let total: u64 = mine.iter().sum();
                ctx.alloc(total, "one RLE plane")?;
                let packed = read_range(src, data_at, total as usize)?;
                data_at += total;
                let mut from = 0usize;
                for (y, &n) in mine.iter().enumerate() {
                    if (y as u32).is_multiple_of(ROWS_PER_CHECK) {
                        ctx.check()?;
                    }
                    let end = from + n as usize;
                    unpack_bits(&packed[from..end], &mut row_buf)?;
                    scatter(&mut out, y as u32, c, color, &row_buf, bps);
                    from = end;
                }
            }
        }
        2 | 3 => {
            return Err(PreviewError::unsupported(
                FORMAT,
                "ZIP-compressed merged image (and ZIP layers, on which the psd crate panics)",
            ))
        }
        c => {
            return Err(PreviewError::corrupt(
                FORMAT,
                format!("merged image compression {c}"),
            ))
        }
    }
    Ok(out)
}

/// Writes one decoded row of channel `c` into `out` (big-endian samples of `bps`
/// bytes: the high byte is kept).
fn scatter(out: &mut RgbaImage, y: u32, c: u16, color: u16, row: &[u8], bps: usize) {
    let w = out.width() as usize;
    let line = &mut (**out)[y as usize * w * 4..(y as usize + 1) * w * 4];
    for (px, s) in line.chunks_exact_mut(4).zip(row.chunks_exact(bps)) {
        let v = s[0];
        if c == color {
            px[3] = v;
        } else if color == 1 {
            px[0] = v;
            px[1] = v;
            px[2] = v;
        } else {
            px[c as usize] = v;
        }
    }
}

/// Expands one PackBits row into `out`, which it must fill exactly.
pub(super) fn unpack_bits(mut src: &[u8], out: &mut [u8]) -> Result<(), PreviewError> {
    let bad = |d: &str| PreviewError::corrupt(FORMAT, format!("RLE row: {d}"));
    let mut at = 0usize;
    while let Some((&n, rest)) = src.split_first() {
        src = rest;
        let n = n as i8;
        if n >= 0 {
            let k = n as usize + 1;
            if src.len() < k || at + k > out.len() {
                return Err(bad("a literal run overflows"));
            }
            out[at..at + k].copy_from_slice(&src[..k]);
            src = &src[k..];
            at += k;
        } else if n != -128 {
            let k = 1 - n as isize;
            let k = k as usize;
            let (&v, rest) = src
                .split_first()
                .ok_or_else(|| bad("a repeat has no byte"))?;
            src = rest;
            if at + k > out.len() {
                return Err(bad("a repeat overflows"));
            }
            out[at..at + k].fill(v);
            at += k;
        }
    }
    if at != out.len() {
        return Err(bad(&format!("{at} bytes for a {}-byte row", out.len())));
    }
    Ok(())
}
