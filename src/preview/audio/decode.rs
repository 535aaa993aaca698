//! Opening a stream with symphonia (probe, header facts, checks) and decoding it in
//! one pass, handing each packet's frames, mixed to one channel, to a consumer.
//! Memory is one packet's worth of samples, whatever the length of the file.

use symphonia::core::audio::{AudioBuffer, AudioBufferRef, Signal};
use symphonia::core::codecs::{CodecParameters, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::conv::FromSample;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::{MetadataOptions, MetadataRevision, StandardTagKey};
use symphonia::core::probe::Hint;
use symphonia::core::sample::Sample;

use super::media::{map_error, Media, Missing};
use crate::preview::{Ctx, Input, PreviewError, SourceReader};

/// Highest sample rate accepted, in Hz (above it a header is taken as corrupt).
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// A WAV data chunk at least this long (bytes) is taken as the "length unknown"
/// placeholder that tools streaming to a pipe write (`0xFFFFFFFF` and near).
const PIPE_PLACEHOLDER: u64 = 0xFFFF_0000;
/// Longest tag value kept as a fact, in characters.
const MAX_TAG_CHARS: usize = 200;

/// What the headers say about the stream.
#[derive(Debug, Clone)]
pub(super) struct Header {
    /// Codec short name from symphonia: `pcm_s16le`, `vorbis`, `mp3`, `flac`…
    pub codec: &'static str,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels (1..=32).
    pub channels: u16,
    /// Bits per sample of the decoded format, where the codec has one (PCM, FLAC).
    pub bit_depth: Option<u32>,
    /// Frames the header declares (after encoder delay and padding are removed),
    /// for PCM at most what the file's length can hold.
    pub n_frames: Option<u64>,
    /// Frames the header declares, as written, unless it is the "unknown length"
    /// placeholder of a WAV streamed to a pipe (a data chunk of about 4 GiB).
    pub declared_frames: Option<u64>,
    /// Whether `n_frames` is exact: decoding fewer frames means truncation, and
    /// frames decoded past it are padding and dropped (PCM, FLAC, MP3 with a LAME
    /// tag, Vorbis with the last page's granule position); an estimate otherwise.
    pub n_frames_exact: bool,
    /// `title` tag.
    pub title: Option<String>,
    /// `artist` tag.
    pub artist: Option<String>,
}

/// An opened stream: its reader, chosen track and header.
pub(super) struct Stream {
    reader: Box<dyn FormatReader>,
    track_id: u32,
    params: CodecParameters,
    missing: Missing,
    format: &'static str,
    /// What the headers say.
    pub header: Header,
}

/// How decoding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The stream ended.
    Finished,
    /// Bytes `offset..end` are not present (partial files only).
    Absent(u64, u64),
}

/// Totals of one decoding pass.
#[derive(Debug, Clone, Copy)]
pub(super) struct Decoded {
    /// Frames (samples per channel) decoded.
    pub frames: u64,
    /// Bytes of the coded packets read.
    pub packet_bytes: u64,
    /// Packets that failed to decode and were skipped.
    pub decode_errors: u64,
    /// Packets decoded.
    pub packets: u64,
    /// How it ended.
    pub end: End,
}

/// The `'static` format name of a content kind, for errors.
pub(super) fn format_name(kind: &str) -> &'static str {
    match kind {
        "wav" => "wav",
        "ogg" => "ogg",
        "mp3" => "mp3",
        "flac" => "flac",
        _ => "audio",
    }
}

/// Probes `input` and reads its headers. `complete`: every byte is present (the
/// reader may then look at the end of the file).
pub(super) fn open(input: &Input, complete: bool) -> Result<Stream, PreviewError> {
    let format = format_name(&input.kind);
    if input.source.is_empty() {
        return Err(PreviewError::truncated(format, "the file is empty"));
    }
    if input.kind == "wav" {
        check_wav_format(input)?;
    }
    let missing = Missing::default();
    let media = Media::new(
        SourceReader::new(input.source.clone()),
        complete,
        missing.clone(),
    );
    let mss = MediaSourceStream::new(Box::new(media), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    hint.with_extension(&input.kind);
    let options = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    let mut probed = symphonia::default::get_probe()
        .format(&hint, mss, &options, &MetadataOptions::default())
        .map_err(|e| map_error(format, e, &missing))?;
    let mut reader = probed.format;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| PreviewError::corrupt(format, "no audio track"))?;
    let (track_id, params) = (track.id, track.codec_params.clone());
    let mut header = read_header(format, &params, input.source.len())?;
    let mut tags = |rev: Option<&MetadataRevision>| {
        for tag in rev.map(|r| r.tags()).unwrap_or_default() {
            let slot = match tag.std_key {
                Some(StandardTagKey::TrackTitle) => &mut header.title,
                Some(StandardTagKey::Artist) => &mut header.artist,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(tag.value.to_string().chars().take(MAX_TAG_CHARS).collect());
            }
        }
    };
    tags(reader.metadata().current());
    if let Some(meta) = probed.metadata.get() {
        tags(meta.current());
    }
    Ok(Stream {
        reader,
        track_id,
        params,
        missing,
        format,
        header,
    })
}

/// Checks the `fmt ` chunk of a RIFF WAVE file before symphonia reads it: its WAV
/// reader panics on a zero sample rate. Looks only at the first
/// [`WAV_CHECK_BYTES`]; chunks beyond are left to symphonia.
fn check_wav_format(input: &Input) -> Result<(), PreviewError> {
    use crate::preview::source::{read_head, read_range};
    // What is present of the head (a partial file may hold less).
    let head = match read_head(&*input.source, WAV_CHECK_BYTES) {
        Err(PreviewError::NotPresent { offset, .. }) => {
            read_range(&*input.source, 0, offset as usize)?
        }
        other => other?,
    };
    let u32_at = |i: usize| {
        head.get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if head.get(..4) != Some(b"RIFF") || head.get(8..12) != Some(b"WAVE") {
        return Ok(());
    }
    let mut at = 12usize;
    while at < head.len() {
        let (Some(id), Some(len)) = (head.get(at..at + 4), u32_at(at + 4)) else {
            break;
        };
        if id == b"fmt " {
            let channels = head
                .get(at + 10..at + 12)
                .map(|b| u16::from_le_bytes([b[0], b[1]]));
            let rate = u32_at(at + 12);
            if let (Some(channels), Some(rate)) = (channels, rate) {
                if rate == 0 || rate > MAX_SAMPLE_RATE || channels == 0 {
                    return Err(PreviewError::corrupt(
                        "wav",
                        format!("fmt chunk: {channels} channels at {rate} Hz"),
                    ));
                }
            }
            return Ok(());
        }
        at = at
            .saturating_add(8)
            .saturating_add(len as usize + (len as usize & 1));
    }
    Ok(())
}

/// Bytes of a WAV file's head [`check_wav_format`] reads.
const WAV_CHECK_BYTES: u64 = 4096;

/// Checks codec parameters and turns them into a [`Header`]. `file_len` bounds the
/// frame count PCM can declare (a WAV streamed to a pipe claims 4 GiB of data).
fn read_header(
    format: &'static str,
    params: &CodecParameters,
    file_len: u64,
) -> Result<Header, PreviewError> {
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name)
        .ok_or_else(|| PreviewError::unsupported(format, format!("codec {}", params.codec)))?;
    let sample_rate = params
        .sample_rate
        .ok_or_else(|| PreviewError::corrupt(format, "no sample rate"))?;
    if sample_rate == 0 || sample_rate > MAX_SAMPLE_RATE {
        return Err(PreviewError::corrupt(
            format,
            format!("sample rate {sample_rate} Hz is outside 1..={MAX_SAMPLE_RATE}"),
        ));
    }
    let channels = params.channels.map(|c| c.count()).unwrap_or(0);
    if channels == 0 {
        return Err(PreviewError::corrupt(format, "no channels"));
    }
    let pcm = codec.starts_with("pcm_");
    let mut n_frames = params.n_frames;
    let mut declared_frames = params.n_frames;
    if let (true, Some(bits)) = (pcm, params.bits_per_coded_sample.or(params.bits_per_sample)) {
        let frame_bits = (bits as u64 * channels as u64).max(1);
        let most = file_len * 8 / frame_bits;
        n_frames = n_frames.map(|n| n.min(most));
        declared_frames = declared_frames.filter(|n| n * frame_bits / 8 < PIPE_PLACEHOLDER);
    }
    let n_frames_exact = n_frames.is_some()
        && (pcm
            || codec == "flac"
            || codec == "vorbis"
            || (codec == "mp3" && params.delay.is_some()));
    Ok(Header {
        codec,
        sample_rate,
        channels: channels as u16,
        bit_depth: params.bits_per_sample,
        n_frames,
        declared_frames,
        n_frames_exact,
        title: None,
        artist: None,
    })
}

impl Stream {
    /// Decodes every packet of the track in order, calling `consume` with each
    /// packet's frames mixed to one channel (full scale ±1.0). Packets that fail to
    /// decode are skipped and counted. Stops at the end of the stream or, for a
    /// partial file, at the first absent byte. Frames past an exact declared length
    /// are dropped (symphonia 0.5's Vorbis decoder returns the last block whole).
    pub(super) fn decode(
        &mut self,
        ctx: &Ctx,
        mut consume: impl FnMut(&[f32]),
    ) -> Result<Decoded, PreviewError> {
        let format = self.format;
        let mut decoder = symphonia::default::get_codecs()
            .make(&self.params, &DecoderOptions::default())
            .map_err(|e| map_error(format, e, &self.missing))?;
        let limit = match self.header.n_frames {
            Some(n) if self.header.n_frames_exact => n,
            _ => u64::MAX,
        };
        let mut mono: Vec<f32> = Vec::new();
        let mut done = Decoded {
            frames: 0,
            packet_bytes: 0,
            decode_errors: 0,
            packets: 0,
            end: End::Finished,
        };
        loop {
            ctx.check()?;
            let packet = match self.reader.next_packet() {
                Ok(p) => p,
                Err(e) => {
                    if let Some((offset, end)) = self.missing.get() {
                        done.end = End::Absent(offset, end);
                        break;
                    }
                    match e {
                        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                            break
                        }
                        e => return Err(map_error(format, e, &self.missing)),
                    }
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            done.packet_bytes += packet.data.len() as u64;
            match decoder.decode(&packet) {
                Ok(buf) => {
                    let frames = buf.frames();
                    if frames > mono.capacity() {
                        ctx.alloc(frames as u64 * 4, "decoded audio packet")?;
                    }
                    mix(&buf, &mut mono);
                    let keep = (limit - done.frames).min(frames as u64);
                    done.frames += keep;
                    done.packets += 1;
                    consume(&mono[..keep as usize]);
                }
                Err(SymError::DecodeError(_)) | Err(SymError::IoError(_)) => {
                    done.decode_errors += 1;
                }
                Err(e) => return Err(map_error(format, e, &self.missing)),
            }
        }
        Ok(done)
    }
}

/// Mixes the channels of `buf` into `mono` (their mean, as f32).
fn mix(buf: &AudioBufferRef<'_>, mono: &mut Vec<f32>) {
    match buf {
        AudioBufferRef::U8(b) => mix_planes(b, mono),
        AudioBufferRef::U16(b) => mix_planes(b, mono),
        AudioBufferRef::U24(b) => mix_planes(b, mono),
        AudioBufferRef::U32(b) => mix_planes(b, mono),
        AudioBufferRef::S8(b) => mix_planes(b, mono),
        AudioBufferRef::S16(b) => mix_planes(b, mono),
        AudioBufferRef::S24(b) => mix_planes(b, mono),
        AudioBufferRef::S32(b) => mix_planes(b, mono),
        AudioBufferRef::F32(b) => mix_planes(b, mono),
        AudioBufferRef::F64(b) => mix_planes(b, mono),
    }
}

fn mix_planes<S: Sample>(buf: &AudioBuffer<S>, mono: &mut Vec<f32>)
where
    f32: FromSample<S>,
{
    let frames = buf.frames();
    let channels = buf.spec().channels.count();
    mono.clear();
    mono.resize(frames, 0.0);
    for c in 0..channels {
        for (m, &s) in mono.iter_mut().zip(&buf.chan(c)[..frames]) {
            *m += f32::from_sample(s);
        }
    }
    if channels > 1 {
        let k = 1.0 / channels as f32;
        for m in mono.iter_mut() {
            *m *= k;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphonia::core::audio::{AsAudioBufferRef, Channels, SignalSpec};
    use symphonia::core::codecs::{decl_codec_type, CODEC_TYPE_PCM_S16LE};
    use symphonia::core::sample::{i24, u24};

    #[test]
    fn headers_without_rate_or_channels_are_refused() {
        let mut p = CodecParameters::new();
        p.for_codec(CODEC_TYPE_PCM_S16LE);
        let e = read_header("wav", &p, 100).unwrap_err();
        assert!(e.to_string().contains("no sample rate"), "{e}");
        p.with_sample_rate(MAX_SAMPLE_RATE + 1);
        assert!(matches!(
            read_header("wav", &p, 100),
            Err(PreviewError::Corrupt { .. })
        ));
        p.with_sample_rate(8000);
        let e = read_header("wav", &p, 100).unwrap_err();
        assert!(e.to_string().contains("no channels"), "{e}");
        p.with_channels(Channels::FRONT_LEFT)
            .with_bits_per_sample(16)
            .with_n_frames(1000);
        let h = read_header("wav", &p, 100).unwrap();
        // 100 bytes hold at most 50 mono 16-bit frames.
        assert_eq!(
            (h.n_frames, h.declared_frames, h.n_frames_exact),
            (Some(50), Some(1000), true)
        );
        p.for_codec(decl_codec_type(b"zzzz"));
        assert!(matches!(
            read_header("wav", &p, 100),
            Err(PreviewError::Unsupported { .. })
        ));
    }

    #[test]
    fn wav_format_check_walks_chunks() {
        let wav = |bytes: Vec<u8>| Input {
            name: "x.wav".into(),
            kind: "wav".into(),
            source: std::sync::Arc::new(crate::preview::BytesSource::new(bytes)),
        };
        // Not RIFF, and a RIFF without fmt in its head: left to symphonia.
        assert!(check_wav_format(&wav(b"nope".to_vec())).is_ok());
        let mut b = b"RIFF\0\0\0\0WAVELIST\x03\0\0\0abc\0".to_vec();
        assert!(check_wav_format(&wav(b.clone())).is_ok());
        // fmt after an odd-sized chunk (padded), with zero channels.
        b.extend_from_slice(b"fmt \x10\0\0\0\x01\0\0\0\x40\x1f\0\0");
        let e = check_wav_format(&wav(b.clone())).unwrap_err();
        assert!(e.to_string().contains("0 channels at 8000 Hz"), "{e}");
        // A chunk claiming 4 GiB ends the walk.
        let mut huge = b"RIFF\0\0\0\0WAVEjunk\xff\xff\xff\xff".to_vec();
        huge.extend_from_slice(&[0; 16]);
        assert!(check_wav_format(&wav(huge)).is_ok());
        // A fmt chunk cut short.
        assert!(check_wav_format(&wav(b[..b.len() - 3].to_vec())).is_ok());
    }

    fn mixed<S: Sample>(values: [S; 2]) -> Vec<f32>
    where
        f32: FromSample<S>,
        AudioBuffer<S>: AsAudioBufferRef,
    {
        let spec = SignalSpec::new(8000, Channels::FRONT_LEFT | Channels::FRONT_RIGHT);
        let mut buf = AudioBuffer::<S>::new(4, spec);
        buf.render_reserved(Some(2));
        for (c, &v) in values.iter().enumerate() {
            buf.chan_mut(c).fill(v);
        }
        let mut mono = Vec::new();
        mix(&buf.as_audio_buffer_ref(), &mut mono);
        mono
    }

    #[test]
    fn every_sample_type_is_mixed() {
        let near = |got: Vec<f32>, want: f32| {
            assert_eq!(got.len(), 2);
            assert!(
                got.iter().all(|v| (v - want).abs() < 0.01),
                "{got:?} ≠ {want}"
            );
        };
        near(mixed([u8::MAX, u8::MAX]), 1.0);
        near(mixed([u16::MAX, 0]), 0.0);
        near(
            mixed([u24::from(0xff_ffffu32), u24::from(0xff_ffffu32)]),
            1.0,
        );
        near(mixed([u32::MAX, u32::MAX]), 1.0);
        near(mixed([i8::MIN, i8::MIN]), -1.0);
        near(mixed([i16::MAX, 0]), 0.5);
        near(mixed([i24::from(-0x40_0000i32), i24::from(0i32)]), -0.25);
        near(mixed([i32::MAX, i32::MAX]), 1.0);
        near(mixed([0.5f32, 0.5]), 0.5);
        near(mixed([-0.5f64, 0.5]), 0.0);
    }
}
