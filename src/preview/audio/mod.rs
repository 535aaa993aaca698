//! Previews of audio files (WAV, Ogg Vorbis, MP3, FLAC), decoded with symphonia in
//! one streaming pass: memory is one packet of samples plus the fixed-size peaks and
//! the clip, whatever the length of the track.
//!
//! Output of [`AudioGenerator`]:
//! - facts: `duration_s` (frames decoded ÷ sample rate, exact; from the header for
//!   a partial file), `frames` (samples per channel), `sample_rate` (Hz),
//!   `channels`, `codec` (symphonia's short name: `pcm_s16le`, `vorbis`, `mp3`,
//!   `flac`…), `bit_depth` (PCM, FLAC), `bitrate` (bits per second of the coded
//!   packets, averaged over the track), `title` and `artist` when tagged,
//!   `decode_errors` when packets had to be skipped;
//! - a [`Role::Peaks`] item (level: its window count), see [`peaks`];
//! - a [`Role::Waveform`] PNG of [`waveform::WIDTH`]×[`waveform::HEIGHT`] (level:
//!   its width), see [`waveform`];
//! - a [`Role::Clip`]: the first `ctx.clip_seconds` seconds, mono, at most
//!   [`clip::CLIP_RATE`] Hz, 16-bit WAV (level: its sample rate), see [`clip`].
//!
//! MP3 and Vorbis durations exclude encoder delay and padding (symphonia's gapless
//! mode, from the LAME tag and the Ogg granule positions).
//!
//! From a partially present file ([`Generator::generate_partial`]) the headers give
//! the facts (duration from the declared frame count when there is one) and the
//! present head is decoded into peaks, waveform and clip, with the facts
//! `partial: true` and `present_frames`.

pub mod clip;
mod decode;
mod media;
pub mod peaks;
pub mod waveform;

use super::{Ctx, Generated, Generator, Input, Item, PreviewError, Role};
use decode::{Decoded, End, Header};

/// Previews audio files: facts, peaks, waveform and clip.
pub struct AudioGenerator;

impl Generator for AudioGenerator {
    fn name(&self) -> &'static str {
        "audio"
    }

    fn version(&self) -> u32 {
        1
    }

    fn handles(&self, kind: &str) -> bool {
        matches!(kind, "wav" | "ogg" | "mp3" | "flac")
    }

    fn generate(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        preview(input, ctx, true)
    }

    fn generate_partial(&self, input: &Input, ctx: &Ctx) -> Result<Generated, PreviewError> {
        preview(input, ctx, input.source.is_complete())
    }
}

/// Decodes `input` once, feeding peaks and clip. `complete`: every byte is present.
fn preview(input: &Input, ctx: &Ctx, complete: bool) -> Result<Generated, PreviewError> {
    let mut stream = decode::open(input, complete)?;
    let header = stream.header.clone();
    let mut peaks = peaks::PeaksBuilder::new(header.n_frames);
    let mut clip = clip::ClipBuilder::new(header.sample_rate, header.n_frames, ctx)?;
    let decoded = stream.decode(ctx, |mono| {
        peaks.push(mono);
        clip.push(mono);
    })?;
    let format = decode::format_name(&input.kind);
    if decoded.decode_errors > decoded.packets {
        return Err(PreviewError::corrupt(
            format,
            format!(
                "{} of {} packets failed to decode",
                decoded.decode_errors,
                decoded.packets + decoded.decode_errors
            ),
        ));
    }
    let mut g = Generated::default();
    header_facts(&mut g, &header);
    let partial = decoded.end != End::Finished;
    if partial {
        g.fact("partial", true);
        g.fact("present_frames", decoded.frames);
        if let Some(n) = header.n_frames {
            g.fact("frames", n);
            g.fact("duration_s", n as f64 / header.sample_rate as f64);
        }
    } else {
        check_length(format, &header, &decoded)?;
        let duration = decoded.frames as f64 / header.sample_rate as f64;
        g.fact("frames", decoded.frames);
        g.fact("duration_s", duration);
        if decoded.frames > 0 {
            g.fact(
                "bitrate",
                (decoded.packet_bytes as f64 * 8.0 / duration).round() as u64,
            );
        }
    }
    if decoded.decode_errors > 0 {
        g.fact("decode_errors", decoded.decode_errors);
    }
    if partial && decoded.frames == 0 {
        return Ok(g);
    }
    // A partial file's waveform spans the whole declared length, the absent part blank.
    let fpw = peaks.frames_per_window();
    let total_windows = match (partial, header.n_frames) {
        (true, Some(n)) => n.div_ceil(fpw).min(peaks::MAX_WINDOWS as u64) as usize,
        _ => 0,
    };
    let peaks = peaks.finish(header.channels, header.sample_rate);
    g.items.push(Item {
        role: Role::Waveform,
        level: waveform::WIDTH,
        media_type: "image/png".into(),
        bytes: waveform::render(&peaks, total_windows)?,
    });
    g.items.push(Item {
        role: Role::Peaks,
        level: peaks.pairs.len() as u32,
        media_type: peaks::MEDIA_TYPE.into(),
        bytes: peaks.encode(),
    });
    g.items.push(Item {
        role: Role::Clip,
        level: clip.rate(),
        media_type: clip::MEDIA_TYPE.into(),
        bytes: clip.finish()?,
    });
    Ok(g)
}

/// Facts the headers give.
fn header_facts(g: &mut Generated, h: &Header) {
    g.fact("codec", h.codec);
    g.fact("sample_rate", h.sample_rate);
    g.fact("channels", h.channels);
    if let Some(bits) = h.bit_depth {
        g.fact("bit_depth", bits);
    }
    if let Some(title) = &h.title {
        g.fact("title", title.as_str());
    }
    if let Some(artist) = &h.artist {
        g.fact("artist", artist.as_str());
    }
}

/// Fails when a complete file decoded to fewer frames than its header declares
/// exactly (slack: four MP3 frames, at most half the declared length): with
/// [`PreviewError::Corrupt`] when packets failed to decode, else
/// [`PreviewError::Truncated`] (the stream ended early, or the demuxer skipped
/// damaged bytes without a word).
fn check_length(format: &'static str, h: &Header, d: &Decoded) -> Result<(), PreviewError> {
    const SLACK: u64 = 4 * 1152;
    match h.declared_frames {
        Some(n) if h.n_frames_exact && d.frames + SLACK.min(n / 2) < n => {
            let detail = format!(
                "the header declares {n} frames, the stream holds {}",
                d.frames
            );
            Err(if d.decode_errors > 0 {
                PreviewError::corrupt(
                    format,
                    format!("{detail}; {} packets failed to decode", d.decode_errors),
                )
            } else {
                PreviewError::truncated(format, detail)
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bad;
