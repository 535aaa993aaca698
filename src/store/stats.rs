//! `stats`: how much is stored, and how much dedup and compression saved.

use super::error::StoreError;
use super::id::ObjectKind;
use super::Store;

/// What [`Store::stats`] reports. Every field is exact, from the pack indexes.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StoreStats {
    /// Sum of the sizes of every distinct file version stored (what a user "has").
    pub logical_bytes: u64,
    /// Bytes of pack files on disk.
    pub stored_bytes: u64,
    /// Raw bytes of distinct chunks (after dedup, before compression).
    pub unique_chunk_bytes: u64,
    /// Bytes chunk payloads occupy in packs (after compression).
    pub stored_chunk_bytes: u64,
    /// Distinct chunks.
    pub chunks: u64,
    /// Structured objects (files, chunk-list nodes, trees, commits, tags).
    pub objects: u64,
    /// Distinct file versions.
    pub files: u64,
    /// Sealed pack files.
    pub packs: u64,
    /// `logical_bytes / unique_chunk_bytes` (1.0 = no dedup).
    pub dedup_ratio: f64,
    /// `unique_chunk_bytes / stored_chunk_bytes` (1.0 = no compression).
    pub compression_ratio: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

impl Store {
    /// Counts everything stored (reachable or not).
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut s = StoreStats {
            stored_bytes: self.pack_bytes(),
            packs: self.packs.packs().count() as u64,
            ..Default::default()
        };
        let mut files = Vec::new();
        for (_, e) in self.packs.entries() {
            match e.kind {
                ObjectKind::Chunk => {
                    s.chunks += 1;
                    s.unique_chunk_bytes += u64::from(e.raw_len);
                    s.stored_chunk_bytes += u64::from(e.stored_len);
                }
                kind => {
                    s.objects += 1;
                    if kind == ObjectKind::File {
                        files.push(e.id);
                    }
                }
            }
        }
        files.sort_unstable();
        files.dedup();
        s.files = files.len() as u64;
        for id in files {
            s.logical_bytes += self.file(&id)?.size;
        }
        s.dedup_ratio = ratio(s.logical_bytes, s.unique_chunk_bytes);
        s.compression_ratio = ratio(s.unique_chunk_bytes, s.stored_chunk_bytes);
        Ok(s)
    }
}
