//! The preview clip: the first `clip_seconds` of the mixed signal, resampled to at
//! most [`CLIP_RATE`] Hz by averaging the input samples that fall in each output
//! sample (a box low-pass filter, then decimation: crude but cheap and exactly
//! reproducible), written as a 16-bit mono WAV.

use std::io::Cursor;

use crate::preview::{Ctx, PreviewError};

/// Highest sample rate of a clip, in Hz; sources below it keep their own rate.
pub const CLIP_RATE: u32 = 16_000;
/// Media type of a clip item.
pub const MEDIA_TYPE: &str = "audio/wav";

/// Resamples the head of a stream into the clip as samples are pushed.
#[derive(Debug)]
pub(super) struct ClipBuilder {
    rate_in: u64,
    rate_out: u64,
    /// Input frames the clip covers at most.
    limit: u64,
    /// Input frames consumed.
    pos: u64,
    /// The output sample being accumulated.
    current: u64,
    sum: f64,
    count: u32,
    out: Vec<i16>,
}

impl ClipBuilder {
    /// A clip of the first `ctx.clip_seconds` of a stream at `rate_in` Hz that
    /// declares `expected_frames` (if known), its memory checked against `ctx`.
    pub(super) fn new(
        rate_in: u32,
        expected_frames: Option<u64>,
        ctx: &Ctx,
    ) -> Result<ClipBuilder, PreviewError> {
        let rate_out = rate_in.min(CLIP_RATE) as u64;
        let rate_in = rate_in as u64;
        let limit = ctx.clip_seconds as u64 * rate_in;
        let out_len = limit.min(expected_frames.unwrap_or(limit)) * rate_out / rate_in.max(1);
        ctx.alloc(out_len * 2, "audio clip")?;
        Ok(ClipBuilder {
            rate_in,
            rate_out,
            limit,
            pos: 0,
            current: 0,
            sum: 0.0,
            count: 0,
            out: Vec::with_capacity(out_len as usize),
        })
    }

    /// Sample rate of the clip, in Hz.
    pub(super) fn rate(&self) -> u32 {
        self.rate_out as u32
    }

    /// Adds consecutive mixed samples (full scale ±1.0); those past the clip's end
    /// are ignored.
    pub(super) fn push(&mut self, samples: &[f32]) {
        let room = self
            .limit
            .saturating_sub(self.pos)
            .min(samples.len() as u64) as usize;
        for &s in &samples[..room] {
            let slot = self.pos * self.rate_out / self.rate_in;
            if slot != self.current {
                self.emit();
                self.current = slot;
            }
            self.sum += s as f64;
            self.count += 1;
            self.pos += 1;
        }
    }

    fn emit(&mut self) {
        if self.count > 0 {
            let v = (self.sum / self.count as f64 * 32767.0).round();
            self.out.push(v.clamp(-32768.0, 32767.0) as i16);
        }
        self.sum = 0.0;
        self.count = 0;
    }

    /// The clip as WAV bytes.
    pub(super) fn finish(mut self) -> Result<Vec<u8>, PreviewError> {
        self.emit();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.rate_out as u32,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = Vec::with_capacity(44 + 2 * self.out.len());
        let wav_error = |e: hound::Error| PreviewError::Io {
            path: "<wav encoder>".into(),
            source: std::io::Error::other(e.to_string()),
        };
        let mut w = hound::WavWriter::new(Cursor::new(&mut bytes), spec).map_err(wav_error)?;
        let mut samples = w.get_i16_writer(self.out.len() as u32);
        for &s in &self.out {
            samples.write_sample(s);
        }
        samples.flush().map_err(wav_error)?;
        w.finalize().map_err(wav_error)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(wav: &[u8]) -> (hound::WavSpec, Vec<i16>) {
        let r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        let spec = r.spec();
        (spec, r.into_samples::<i16>().map(|s| s.unwrap()).collect())
    }

    #[test]
    fn decimates_by_averaging_and_stops_at_the_clip_length() {
        let ctx = Ctx {
            clip_seconds: 1,
            ..Ctx::default()
        };
        let mut c = ClipBuilder::new(48_000, Some(100_000), &ctx).unwrap();
        assert_eq!(c.rate(), 16_000);
        // Half a second at +0.5, then −0.25: each output averages three inputs.
        let buf: Vec<f32> = (0..60_000)
            .map(|i| if i < 30_000 { 0.5 } else { -0.25 })
            .collect();
        c.push(&buf[..1000]);
        c.push(&buf[1000..]);
        let (spec, s) = read(&c.finish().unwrap());
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        assert_eq!(s.len(), 16_000);
        assert_eq!(s[0], 16384);
        assert_eq!(s[15_999], -8192);
    }

    #[test]
    fn non_integer_ratios_and_low_rates() {
        let ctx = Ctx::default();
        let mut c = ClipBuilder::new(44_100, None, &ctx).unwrap();
        c.push(&vec![0.0f32; 44_100]);
        let (_, s) = read(&c.finish().unwrap());
        assert_eq!(s.len(), 16_000);
        let mut c = ClipBuilder::new(8000, Some(800), &ctx).unwrap();
        assert_eq!(c.rate(), 8000);
        c.push(&[1.0, -1.0, 2.0]);
        let (spec, s) = read(&c.finish().unwrap());
        assert_eq!(spec.sample_rate, 8000);
        assert_eq!(s, vec![32767, -32767, 32767]);
    }

    #[test]
    fn an_empty_clip_is_a_valid_wav_and_memory_is_checked() {
        let (spec, s) = read(
            &ClipBuilder::new(48_000, Some(0), &Ctx::default())
                .unwrap()
                .finish()
                .unwrap(),
        );
        assert_eq!(spec.sample_rate, 16_000);
        assert!(s.is_empty());
        let ctx = Ctx {
            max_alloc: 1000,
            ..Ctx::default()
        };
        assert!(matches!(
            ClipBuilder::new(48_000, None, &ctx),
            Err(PreviewError::TooLarge { .. })
        ));
    }
}
