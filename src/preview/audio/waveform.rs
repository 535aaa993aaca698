//! The waveform picture: peaks drawn as one band of the mixed signal around a
//! centre line, [`WIDTH`]×[`HEIGHT`] pixels, in fixed colours.

use image::{Rgb, RgbImage};

use super::peaks::Peaks;
use crate::preview::{thumbs, PreviewError};

/// Width of the waveform picture, in pixels (also its item level).
pub const WIDTH: u32 = 1024;
/// Height of the waveform picture, in pixels.
pub const HEIGHT: u32 = 256;

const BACKGROUND: Rgb<u8> = Rgb([24, 26, 31]);
const CENTRE: Rgb<u8> = Rgb([70, 74, 84]);
const BAND: Rgb<u8> = Rgb([72, 190, 130]);

/// Draws `peaks` as a PNG. Column `x` shows the windows falling in
/// `x/WIDTH .. (x+1)/WIDTH` of `total_windows` (at least `peaks.pairs.len()`; a
/// partial file passes the count the whole file will have, leaving the absent part
/// blank).
pub fn render(peaks: &Peaks, total_windows: usize) -> Result<Vec<u8>, PreviewError> {
    let mut img = RgbImage::from_pixel(WIDTH, HEIGHT, BACKGROUND);
    let mid = HEIGHT / 2;
    for x in 0..WIDTH {
        img.put_pixel(x, mid, CENTRE);
    }
    let total = total_windows.max(peaks.pairs.len());
    if total > 0 {
        let row = |v: i16| {
            let unit = (v as f32 / 32767.0).clamp(-1.0, 1.0);
            ((1.0 - unit) * (HEIGHT - 1) as f32 / 2.0).round() as u32
        };
        for x in 0..WIDTH {
            let from = x as usize * total / WIDTH as usize;
            let to = ((x as usize + 1) * total / WIDTH as usize).max(from + 1);
            let Some(window) = peaks.pairs.get(from..to.min(peaks.pairs.len())) else {
                continue;
            };
            let lo = window.iter().map(|p| p.0).min();
            let hi = window.iter().map(|p| p.1).max();
            if let (Some(lo), Some(hi)) = (lo, hi) {
                for y in row(hi)..=row(lo) {
                    img.put_pixel(x, y, BAND);
                }
            }
        }
    }
    thumbs::png(&img)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peaks(pairs: Vec<(i16, i16)>) -> Peaks {
        Peaks {
            channels: 1,
            sample_rate: 8000,
            frames_per_window: 1,
            frames: pairs.len() as u64,
            pairs,
        }
    }

    fn decode(png: &[u8]) -> RgbImage {
        image::load_from_memory(png).unwrap().to_rgb8()
    }

    #[test]
    fn a_band_is_drawn_around_the_middle() {
        let img = decode(&render(&peaks(vec![(-16384, 16384); 10]), 10).unwrap());
        assert_eq!(img.dimensions(), (WIDTH, HEIGHT));
        assert_eq!(*img.get_pixel(500, HEIGHT / 2), BAND);
        assert_eq!(*img.get_pixel(500, HEIGHT / 4 + 2), BAND);
        assert_eq!(*img.get_pixel(500, 5), BACKGROUND);
        assert_eq!(*img.get_pixel(500, HEIGHT - 5), BACKGROUND);
    }

    #[test]
    fn absent_windows_and_empty_peaks_stay_blank() {
        let img = decode(&render(&peaks(vec![(-32768, 32767); 4]), 8).unwrap());
        assert_eq!(*img.get_pixel(10, 0), BAND);
        assert_eq!(*img.get_pixel(WIDTH - 10, 0), BACKGROUND);
        assert_eq!(*img.get_pixel(WIDTH - 10, HEIGHT / 2), CENTRE);
        let img = decode(&render(&peaks(vec![]), 0).unwrap());
        assert_eq!(*img.get_pixel(0, HEIGHT / 2), CENTRE);
        assert_eq!(*img.get_pixel(0, 0), BACKGROUND);
    }
}
