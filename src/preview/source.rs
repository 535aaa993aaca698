//! Where a generator reads a file's bytes from: random access by offset, over a
//! stored file (whose chunks may be only partly present), or over bytes in memory.
//!
//! Generators never see the store. They read ranges through [`Source`], wrap it in
//! a [`SourceReader`] for decoders that want `Read + Seek`, or read it whole with
//! [`read_all`] (bounded by [`Ctx::max_input_bytes`](super::Ctx)). A range that
//! falls in a chunk that is not stored yet fails with
//! [`PreviewError::NotPresent`], which is how "preview from the head of a partially
//! fetched file" works: a generator that only needs the header succeeds, one that
//! needs the rest reports what is missing.

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use super::{Ctx, PreviewError};
use crate::store::{ObjectId, ObjectKind, Store};

/// Random-access bytes of one file.
pub trait Source: Send + Sync {
    /// The file's full length in bytes (present or not).
    fn len(&self) -> u64;

    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `offset`. Fails with [`PreviewError::NotPresent`] when part of
    /// the range is not stored and with [`PreviewError::Truncated`] (format `file`)
    /// when it runs past the end.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PreviewError>;

    /// Whether every byte of the file is readable.
    fn is_complete(&self) -> bool;
}

/// Reads `len` bytes at `offset` into a new buffer.
pub fn read_range(src: &dyn Source, offset: u64, len: usize) -> Result<Vec<u8>, PreviewError> {
    let mut buf = vec![0u8; len];
    src.read_exact_at(offset, &mut buf)?;
    Ok(buf)
}

/// Reads the whole file into memory, refusing files over `ctx.max_input_bytes`.
pub fn read_all(src: &dyn Source, ctx: &Ctx) -> Result<Vec<u8>, PreviewError> {
    let len = src.len();
    if len > ctx.max_input_bytes {
        return Err(PreviewError::too_large(format!(
            "{len} bytes; this format is decoded in memory and the limit is {} bytes",
            ctx.max_input_bytes
        )));
    }
    read_range(src, 0, len as usize)
}

/// Reads up to `max` bytes from the start (the whole file when shorter).
pub fn read_head(src: &dyn Source, max: u64) -> Result<Vec<u8>, PreviewError> {
    read_range(src, 0, src.len().min(max) as usize)
}

fn past_end(offset: u64, want: usize, len: u64) -> PreviewError {
    PreviewError::truncated(
        "file",
        format!("wanted {want} bytes at offset {offset}, the file has {len} bytes"),
    )
}

/// Bytes in memory, all present.
#[derive(Debug, Clone)]
pub struct BytesSource(Arc<[u8]>);

impl BytesSource {
    /// A source over `bytes`.
    pub fn new(bytes: impl Into<Arc<[u8]>>) -> BytesSource {
        BytesSource(bytes.into())
    }
}

impl Source for BytesSource {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PreviewError> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len())
            .ok_or_else(|| past_end(offset, buf.len(), self.len()))?;
        buf.copy_from_slice(&self.0[offset as usize..end as usize]);
        Ok(())
    }

    fn is_complete(&self) -> bool {
        true
    }
}

/// Bytes in memory of which only a prefix is present: a stand-in for a file whose
/// first chunks have arrived, used by tests of head-only previews.
#[derive(Debug, Clone)]
pub struct PrefixSource {
    bytes: Arc<[u8]>,
    present: u64,
}

impl PrefixSource {
    /// `bytes` is the whole file; only its first `present` bytes can be read.
    pub fn new(bytes: impl Into<Arc<[u8]>>, present: u64) -> PrefixSource {
        PrefixSource {
            bytes: bytes.into(),
            present,
        }
    }
}

impl Source for PrefixSource {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PreviewError> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len())
            .ok_or_else(|| past_end(offset, buf.len(), self.len()))?;
        if end > self.present {
            return Err(PreviewError::NotPresent {
                offset: offset.max(self.present),
                end,
            });
        }
        buf.copy_from_slice(&self.bytes[offset as usize..end as usize]);
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.present >= self.len()
    }
}

/// One chunk of a stored file: where it starts and how long it is.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    len: u64,
    id: ObjectId,
    present: bool,
}

/// A file in the store, read chunk by chunk (each chunk verified by the store as it
/// is read). Chunks that are not stored make their ranges [`PreviewError::NotPresent`].
///
/// Memory: the chunk map (about 50 bytes a chunk: 8 MB for a 10 GB file of 64 KiB
/// chunks) and one cached chunk.
pub struct StoreSource {
    store: Arc<Store>,
    file_id: ObjectId,
    len: u64,
    spans: Vec<Span>,
    complete: bool,
    cache: Mutex<Option<(usize, Arc<Vec<u8>>)>>,
}

impl StoreSource {
    /// Maps the chunks of stored file `file_id`. The file object and its chunk-list
    /// nodes must be present; chunks may be missing.
    pub fn open(store: Arc<Store>, file_id: &ObjectId) -> Result<StoreSource, PreviewError> {
        let file = store.file(file_id)?;
        let mut spans = Vec::new();
        let mut offset = 0u64;
        for c in store.file_chunks(file_id, &file) {
            let c = c?;
            spans.push(Span {
                offset,
                len: c.len,
                id: c.id,
                present: store.contains(&c.id),
            });
            offset += c.len;
        }
        let complete = spans.iter().all(|s| s.present);
        Ok(StoreSource {
            store,
            file_id: *file_id,
            len: file.size,
            spans,
            complete,
            cache: Mutex::new(None),
        })
    }

    /// The file this source reads.
    pub fn file_id(&self) -> &ObjectId {
        &self.file_id
    }

    /// Bytes of the file that are present.
    pub fn present_bytes(&self) -> u64 {
        self.spans.iter().filter(|s| s.present).map(|s| s.len).sum()
    }

    fn chunk(&self, index: usize) -> Result<Arc<Vec<u8>>, PreviewError> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((i, data)) = cache.as_ref() {
            if *i == index {
                return Ok(data.clone());
            }
        }
        let span = self.spans[index];
        let data = self.store.read_kind(&span.id, ObjectKind::Chunk)?;
        if data.len() as u64 != span.len {
            return Err(PreviewError::Store(crate::store::StoreError::BadFile {
                id: self.file_id,
                reason: format!(
                    "chunk {} holds {} bytes, the tree says {}",
                    span.id,
                    data.len(),
                    span.len
                ),
            }));
        }
        let data = Arc::new(data);
        *cache = Some((index, data.clone()));
        Ok(data)
    }
}

impl Source for StoreSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), PreviewError> {
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= self.len)
            .ok_or_else(|| past_end(offset, buf.len(), self.len))?;
        if buf.is_empty() {
            return Ok(());
        }
        // The chunk holding `offset`: the last span starting at or before it.
        let mut index = self.spans.partition_point(|s| s.offset <= offset) - 1;
        let mut at = offset;
        let mut filled = 0usize;
        while at < end {
            let span = self.spans[index];
            if !span.present {
                return Err(PreviewError::NotPresent { offset: at, end });
            }
            let data = self.chunk(index)?;
            let from = (at - span.offset) as usize;
            let n = ((span.offset + span.len).min(end) - at) as usize;
            buf[filled..filled + n].copy_from_slice(&data[from..from + n]);
            filled += n;
            at += n as u64;
            index += 1;
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.complete
    }
}

/// `Read + Seek` over a [`Source`], for decoders that stream (image, symphonia).
/// Reads are served from an internal buffer of [`SourceReader::BUFFER`] bytes.
pub struct SourceReader {
    src: Arc<dyn Source>,
    pos: u64,
    buf: Vec<u8>,
    buf_at: u64,
}

impl SourceReader {
    /// Bytes fetched from the source at a time.
    pub const BUFFER: usize = 256 * 1024;

    /// A reader at offset 0.
    pub fn new(src: Arc<dyn Source>) -> SourceReader {
        SourceReader {
            src,
            pos: 0,
            buf: Vec::new(),
            buf_at: 0,
        }
    }

    /// The source's length.
    pub fn len(&self) -> u64 {
        self.src.len()
    }

    /// Whether the source is empty.
    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }
}

fn to_io(e: PreviewError) -> std::io::Error {
    let kind = if e.is_not_present() {
        std::io::ErrorKind::NotFound
    } else {
        std::io::ErrorKind::InvalidData
    };
    std::io::Error::new(kind, e.to_string())
}

impl Read for SourceReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let len = self.src.len();
        if self.pos >= len || out.is_empty() {
            return Ok(0);
        }
        let in_buf = self.pos >= self.buf_at && self.pos < self.buf_at + self.buf.len() as u64;
        if !in_buf {
            let n = (len - self.pos).min(Self::BUFFER as u64) as usize;
            self.buf.resize(n, 0);
            match self.src.read_exact_at(self.pos, &mut self.buf) {
                Ok(()) => {}
                // Serve the present part of the block; the next read reports the gap.
                Err(PreviewError::NotPresent { offset, .. }) if offset > self.pos => {
                    self.buf.truncate((offset - self.pos) as usize);
                    self.src
                        .read_exact_at(self.pos, &mut self.buf)
                        .map_err(to_io)?;
                }
                Err(e) => return Err(to_io(e)),
            }
            self.buf_at = self.pos;
        }
        let from = (self.pos - self.buf_at) as usize;
        let n = out.len().min(self.buf.len() - from);
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let len = self.src.len() as i128;
        let target = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(d) => len + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if target < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            ));
        }
        self.pos = target as u64;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_source_reads_and_refuses_past_end() {
        let s = BytesSource::new(b"hello world".to_vec());
        assert_eq!(read_range(&s, 6, 5).unwrap(), b"world");
        assert!(matches!(
            read_range(&s, 7, 5),
            Err(PreviewError::Truncated { .. })
        ));
        assert!(s.is_complete() && !s.is_empty());
    }

    #[test]
    fn prefix_source_reports_the_missing_range() {
        let s = PrefixSource::new(vec![7u8; 100], 40);
        assert_eq!(read_range(&s, 0, 40).unwrap(), vec![7u8; 40]);
        match read_range(&s, 30, 20) {
            Err(PreviewError::NotPresent { offset, end }) => assert_eq!((offset, end), (40, 50)),
            other => panic!("{other:?}"),
        }
        assert!(!s.is_complete());
        assert!(PrefixSource::new(vec![1u8; 4], 4).is_complete());
    }

    #[test]
    fn read_all_is_bounded() {
        let s = BytesSource::new(vec![0u8; 1000]);
        let ctx = Ctx {
            max_input_bytes: 999,
            ..Ctx::default()
        };
        assert!(matches!(
            read_all(&s, &ctx),
            Err(PreviewError::TooLarge { .. })
        ));
        assert_eq!(read_all(&s, &Ctx::default()).unwrap().len(), 1000);
        assert_eq!(read_head(&s, 10).unwrap().len(), 10);
    }

    #[test]
    fn reader_reads_and_seeks() {
        let data: Vec<u8> = (0..=255u8).cycle().take(600_000).collect();
        let mut r = SourceReader::new(Arc::new(BytesSource::new(data.clone())));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        assert_eq!(r.seek(SeekFrom::End(-10)).unwrap(), 599_990);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[599_990..]);
        r.seek(SeekFrom::Start(5)).unwrap();
        r.seek(SeekFrom::Current(5)).unwrap();
        let mut b = [0u8; 3];
        r.read_exact(&mut b).unwrap();
        assert_eq!(b, [10, 11, 12]);
        assert!(r.seek(SeekFrom::Current(-100)).is_err());
        assert_eq!(r.len(), 600_000);
        assert!(!r.is_empty());
    }

    #[test]
    fn reader_turns_absent_bytes_into_not_found() {
        let mut r = SourceReader::new(Arc::new(PrefixSource::new(vec![1u8; 300_000], 1000)));
        let mut all = Vec::new();
        let e = r.read_to_end(&mut all).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        // The present head was served before the gap was reported.
        assert_eq!(all.len(), 1000);
    }
}
