//! Peaks: the minimum and maximum of the channel-mixed signal over fixed windows of
//! frames, computed in one streaming pass, and their byte format.
//!
//! Byte layout (all little-endian), media type [`MEDIA_TYPE`]:
//!
//! ```text
//! magic "GDPK" (4) || version u16 (= 1) || channels u16 || sample_rate u32
//!   || frames_per_window u32 || count u32 || frames u64
//!   || count × (min i16 || max i16)
//! ```
//!
//! Window `i` covers frames `i·frames_per_window .. min((i+1)·frames_per_window,
//! frames)`; only the last window may be shorter. Values are the mixed signal (mean
//! of the channels) scaled to 16 bits: full scale is ±32767.

use crate::preview::PreviewError;

/// Media type of a peaks item.
pub const MEDIA_TYPE: &str = "application/x-gadn-peaks";
/// First bytes of a peaks item.
pub const MAGIC: [u8; 4] = *b"GDPK";
/// Version of the layout written by [`Peaks::encode`].
pub const VERSION: u16 = 1;
/// Size of the header before the pairs, in bytes.
pub const HEADER_LEN: usize = 28;
/// Most windows a peaks item holds (fewer for files shorter than this many frames,
/// or when the declared length was short of the real one).
pub const MAX_WINDOWS: usize = 1024;
/// Window length used when the header does not say how long the stream is; windows
/// double (merging pairs) whenever [`MAX_WINDOWS`] would be passed.
const UNKNOWN_LENGTH_WINDOW: u64 = 64;

/// Decoded peaks: one `(min, max)` pair per window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peaks {
    /// Channels of the source (mixed into one band).
    pub channels: u16,
    /// Frames per second of the source.
    pub sample_rate: u32,
    /// Frames each window covers (the last may cover fewer).
    pub frames_per_window: u32,
    /// Frames covered by all windows together.
    pub frames: u64,
    /// Per window: the lowest and highest sample, full scale ±32767.
    pub pairs: Vec<(i16, i16)>,
}

impl Peaks {
    /// The byte form (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 4 * self.pairs.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.channels.to_le_bytes());
        out.extend_from_slice(&self.sample_rate.to_le_bytes());
        out.extend_from_slice(&self.frames_per_window.to_le_bytes());
        out.extend_from_slice(&(self.pairs.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.frames.to_le_bytes());
        for &(lo, hi) in &self.pairs {
            out.extend_from_slice(&lo.to_le_bytes());
            out.extend_from_slice(&hi.to_le_bytes());
        }
        out
    }

    /// Reads the byte form, checking magic, version and length.
    pub fn decode(bytes: &[u8]) -> Result<Peaks, PreviewError> {
        const F: &str = "peaks";
        if bytes.len() < HEADER_LEN {
            return Err(PreviewError::truncated(
                F,
                format!("{} header bytes", bytes.len()),
            ));
        }
        if bytes[..4] != MAGIC {
            return Err(PreviewError::corrupt(F, "bad magic"));
        }
        let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let version = u16_at(4);
        if version != VERSION {
            return Err(PreviewError::unsupported(F, format!("version {version}")));
        }
        let count = u32_at(16) as usize;
        let mut frames = [0u8; 8];
        frames.copy_from_slice(&bytes[20..28]);
        let body = &bytes[HEADER_LEN..];
        if body.len() as u64 != count as u64 * 4 {
            return Err(PreviewError::corrupt(
                F,
                format!(
                    "{count} windows need {} bytes, found {}",
                    count as u64 * 4,
                    body.len()
                ),
            ));
        }
        let pairs = body
            .chunks_exact(4)
            .map(|p| {
                (
                    i16::from_le_bytes([p[0], p[1]]),
                    i16::from_le_bytes([p[2], p[3]]),
                )
            })
            .collect();
        Ok(Peaks {
            channels: u16_at(6),
            sample_rate: u32_at(8),
            frames_per_window: u32_at(12),
            frames: u64::from_le_bytes(frames),
            pairs,
        })
    }
}

/// Builds [`Peaks`] from mixed samples pushed in order, with at most
/// [`MAX_WINDOWS`] windows held at any time (memory: 8 bytes a window).
#[derive(Debug)]
pub(super) struct PeaksBuilder {
    frames_per_window: u64,
    windows: Vec<(f32, f32)>,
    lo: f32,
    hi: f32,
    in_window: u64,
    frames: u64,
}

impl PeaksBuilder {
    /// A builder for a stream of about `expected_frames` frames (`None`: unknown).
    /// With the length known the windows are `ceil(frames / MAX_WINDOWS)` long, so a
    /// long file gets (nearly) [`MAX_WINDOWS`] of them.
    pub(super) fn new(expected_frames: Option<u64>) -> PeaksBuilder {
        let frames_per_window = match expected_frames {
            Some(n) if n > 0 => n.div_ceil(MAX_WINDOWS as u64),
            _ => UNKNOWN_LENGTH_WINDOW,
        };
        PeaksBuilder {
            frames_per_window,
            windows: Vec::with_capacity(MAX_WINDOWS),
            lo: f32::INFINITY,
            hi: f32::NEG_INFINITY,
            in_window: 0,
            frames: 0,
        }
    }

    /// Frames per window at this point (it doubles when windows are merged).
    pub(super) fn frames_per_window(&self) -> u64 {
        self.frames_per_window
    }

    /// Adds consecutive mixed samples (full scale ±1.0).
    pub(super) fn push(&mut self, mut samples: &[f32]) {
        while !samples.is_empty() {
            if self.in_window == 0 && self.windows.len() == MAX_WINDOWS {
                self.merge_pairs();
            }
            let room = (self.frames_per_window - self.in_window).min(samples.len() as u64);
            let (now, rest) = samples.split_at(room as usize);
            for &s in now {
                self.lo = self.lo.min(s);
                self.hi = self.hi.max(s);
            }
            self.in_window += room;
            self.frames += room;
            if self.in_window == self.frames_per_window {
                self.close_window();
            }
            samples = rest;
        }
    }

    fn close_window(&mut self) {
        self.windows.push((self.lo, self.hi));
        self.lo = f32::INFINITY;
        self.hi = f32::NEG_INFINITY;
        self.in_window = 0;
    }

    /// Halves the number of windows by merging neighbours; windows double in length.
    fn merge_pairs(&mut self) {
        let merged = self.windows.len().div_ceil(2);
        for i in 0..merged {
            let a = self.windows[2 * i];
            let b = self.windows.get(2 * i + 1).copied().unwrap_or(a);
            self.windows[i] = (a.0.min(b.0), a.1.max(b.1));
        }
        self.windows.truncate(merged);
        self.frames_per_window *= 2;
    }

    /// The peaks of everything pushed.
    pub(super) fn finish(mut self, channels: u16, sample_rate: u32) -> Peaks {
        if self.in_window > 0 {
            self.close_window();
        }
        let q = |v: f32| (v * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        Peaks {
            channels,
            sample_rate,
            frames_per_window: self.frames_per_window.min(u32::MAX as u64) as u32,
            frames: self.frames,
            pairs: self
                .windows
                .iter()
                .map(|&(lo, hi)| (q(lo), q(hi)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_length_gives_the_full_window_count() {
        let mut b = PeaksBuilder::new(Some(48_000));
        assert_eq!(b.frames_per_window(), 47);
        let ramp: Vec<f32> = (0..48_000).map(|i| i as f32 / 48_000.0).collect();
        for part in ramp.chunks(1000) {
            b.push(part);
        }
        let p = b.finish(2, 48_000);
        assert_eq!(p.pairs.len(), 48_000usize.div_ceil(47));
        assert_eq!(p.frames, 48_000);
        assert_eq!(
            p.pairs[0],
            (0, (46.0f32 / 48_000.0 * 32767.0).round() as i16)
        );
        let back = Peaks::decode(&p.encode()).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.encode().len(), HEADER_LEN + 4 * p.pairs.len());
    }

    #[test]
    fn unknown_or_short_length_merges_windows() {
        let mut b = PeaksBuilder::new(None);
        let ones = vec![0.5f32; 10_000];
        for _ in 0..100 {
            b.push(&ones);
        }
        // 1_000_000 frames from 64-frame windows: doubled until ≤ 1024 windows.
        assert_eq!(b.frames_per_window(), 1024);
        let p = b.finish(1, 8000);
        assert_eq!(p.pairs.len(), 1_000_000usize.div_ceil(1024));
        assert!(p.pairs.iter().all(|&w| w == (16384, 16384)));

        // A header that under-declares the length also ends at most MAX_WINDOWS.
        let mut b = PeaksBuilder::new(Some(1000));
        b.push(&vec![-1.0f32; 5000]);
        let p = b.finish(1, 8000);
        assert!(p.pairs.len() <= MAX_WINDOWS);
        assert_eq!(p.pairs[0], (-32767, -32767));
        assert_eq!(p.frames, 5000);
    }

    #[test]
    fn odd_counts_merge_and_empty_input_gives_no_windows() {
        let mut b = PeaksBuilder::new(Some(1));
        b.windows = vec![(0.0, 0.1), (-0.2, 0.0), (0.0, 0.3)];
        b.merge_pairs();
        assert_eq!(b.windows, vec![(-0.2, 0.1), (0.0, 0.3)]);
        let p = PeaksBuilder::new(Some(0)).finish(2, 44_100);
        assert!(p.pairs.is_empty());
        assert_eq!(Peaks::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn decode_refuses_bad_bytes() {
        let good = PeaksBuilder::new(Some(10)).finish(1, 1).encode();
        assert!(matches!(
            Peaks::decode(&good[..10]),
            Err(PreviewError::Truncated { .. })
        ));
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(
            Peaks::decode(&bad),
            Err(PreviewError::Corrupt { .. })
        ));
        let mut bad = good.clone();
        bad[4] = 9;
        assert!(matches!(
            Peaks::decode(&bad),
            Err(PreviewError::Unsupported { .. })
        ));
        let mut bad = good.clone();
        bad[16] = 3;
        assert!(matches!(
            Peaks::decode(&bad),
            Err(PreviewError::Corrupt { .. })
        ));
    }
}
