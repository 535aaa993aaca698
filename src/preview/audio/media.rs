//! The bridge between a [`Source`](crate::preview::Source) and symphonia: a
//! [`MediaSource`] over a [`SourceReader`] that remembers which byte range was
//! missing, and the mapping of symphonia's errors to [`PreviewError`].

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use symphonia::core::errors::Error as SymError;
use symphonia::core::io::MediaSource;

use crate::preview::{PreviewError, SourceReader};

/// The byte range (`offset..end`) a read needed that is not present locally, shared
/// between the [`Media`] handed to symphonia and the code that reads its errors.
#[derive(Debug, Clone, Default)]
pub(super) struct Missing(Arc<Mutex<Option<(u64, u64)>>>);

impl Missing {
    fn set(&self, offset: u64, end: u64) {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert((offset, end));
    }

    /// The first missing range a read ran into, if any.
    pub(super) fn get(&self) -> Option<(u64, u64)> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A [`MediaSource`] over a file's bytes. Seekable only when every byte is present:
/// symphonia's Ogg and MP3 readers look at the end of a seekable file (last page,
/// bitrate estimate), which a partially present file does not have.
pub(super) struct Media {
    reader: SourceReader,
    seekable: bool,
    missing: Missing,
}

impl Media {
    /// A media source over `reader`, recording absent ranges into `missing`.
    pub(super) fn new(reader: SourceReader, seekable: bool, missing: Missing) -> Media {
        Media {
            reader,
            seekable,
            missing,
        }
    }
}

impl Read for Media {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match self.reader.read(out) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // SourceReader serves the present bytes first, so the failing read
                // starts at the first absent byte.
                let at = self.reader.stream_position()?;
                self.missing.set(at, at + out.len() as u64);
                Err(e)
            }
            other => other,
        }
    }
}

impl Seek for Media {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.reader.seek(to)
    }
}

impl MediaSource for Media {
    fn is_seekable(&self) -> bool {
        self.seekable
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.reader.len())
    }
}

/// Maps an error of symphonia while reading a `format` file to a [`PreviewError`]:
/// a read of absent bytes becomes [`PreviewError::NotPresent`], an early end
/// [`PreviewError::Truncated`], malformed data [`PreviewError::Corrupt`].
pub(super) fn map_error(format: &'static str, e: SymError, missing: &Missing) -> PreviewError {
    if let Some((offset, end)) = missing.get() {
        return PreviewError::NotPresent { offset, end };
    }
    match e {
        SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PreviewError::truncated(format, "the stream ends inside a header or packet")
        }
        SymError::IoError(e) => PreviewError::corrupt(format, e.to_string()),
        SymError::DecodeError(msg) => PreviewError::corrupt(format, msg),
        SymError::SeekError(kind) => {
            PreviewError::corrupt(format, format!("seek failed: {kind:?}"))
        }
        SymError::Unsupported(msg) if msg.contains("no suitable format reader") => {
            PreviewError::corrupt(format, "no WAV, Ogg, MP3 or FLAC stream in the bytes")
        }
        SymError::Unsupported(msg) => PreviewError::unsupported(format, msg),
        SymError::LimitError(msg) => PreviewError::too_large(format!("{format}: {msg}")),
        SymError::ResetRequired => PreviewError::unsupported(
            format,
            "the stream changes its parameters part way (chained streams)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preview::PrefixSource;

    fn missing() -> Missing {
        Missing::default()
    }

    #[test]
    fn reads_record_the_first_absent_range() {
        let m = missing();
        let src = Arc::new(PrefixSource::new(vec![5u8; 1000], 100));
        let mut media = Media::new(SourceReader::new(src), false, m.clone());
        assert!(!media.is_seekable());
        assert_eq!(media.byte_len(), Some(1000));
        let mut buf = vec![0u8; 300];
        assert_eq!(media.read(&mut buf).unwrap(), 100);
        assert!(media.read(&mut buf).is_err());
        assert_eq!(m.get(), Some((100, 400)));
        assert_eq!(media.seek(SeekFrom::Start(10)).unwrap(), 10);
        let e = map_error("wav", SymError::DecodeError("x"), &m);
        assert!(matches!(
            e,
            PreviewError::NotPresent {
                offset: 100,
                end: 400
            }
        ));
    }

    #[test]
    fn errors_map_to_their_kinds() {
        let m = missing();
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let cases = [
            (SymError::IoError(eof), "truncated"),
            (SymError::IoError(std::io::Error::other("boom")), "corrupt"),
            (SymError::DecodeError("bad"), "corrupt"),
            (
                SymError::SeekError(symphonia::core::errors::SeekErrorKind::Unseekable),
                "corrupt",
            ),
            (
                SymError::Unsupported("core (probe): no suitable format reader found"),
                "corrupt",
            ),
            (SymError::Unsupported("wav: odd"), "unsupported"),
            (SymError::LimitError("huge"), "too large"),
            (SymError::ResetRequired, "unsupported"),
        ];
        for (e, want) in cases {
            let got = map_error("ogg", e, &m).to_string();
            assert!(got.starts_with(want), "{got}");
        }
    }
}
