//! `stats`: how much is stored, and how much dedup and compression saved.

use std::collections::HashSet;

use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::object::{EntryKind, PreviewObject};
use super::Store;

/// What [`Store::stats`] reports. Every field is exact, from the pack indexes.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StoreStats {
    /// Sum of the sizes of the file versions counted by [`StoreStats::files`] (what a
    /// user "has"; preview items excluded).
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
    /// Distinct file versions: the file objects stored, except those holding the
    /// content of a preview item (a thumbnail, waveform, clip…) that a stored
    /// preview names and no stored tree names. Previews are derived data kept as
    /// file objects (`store-format.md` § *Preview*), not versions of a user's files;
    /// content that is both (a committed picture whose bytes a preview made again)
    /// counts, as a tree names it. Files reached only from outside the store (a Git
    /// repository's pointers, the index) count too: only preview items are left out.
    pub files: u64,
    /// Distinct file objects left out of [`StoreStats::files`] as preview items.
    pub preview_items: u64,
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
        let (mut previews, mut trees) = (Vec::new(), Vec::new());
        for (_, e) in self.packs.entries() {
            match e.kind {
                ObjectKind::Chunk => {
                    s.chunks += 1;
                    s.unique_chunk_bytes += u64::from(e.raw_len);
                    s.stored_chunk_bytes += u64::from(e.stored_len);
                }
                kind => {
                    s.objects += 1;
                    match kind {
                        ObjectKind::File => files.push(e.id),
                        ObjectKind::Preview => previews.push(e.id),
                        ObjectKind::Tree => trees.push(e.id),
                        _ => {}
                    }
                }
            }
        }
        files.sort_unstable();
        files.dedup();
        let items = self.preview_only_items(&mut previews, &mut trees)?;
        let before = files.len();
        files.retain(|id| !items.contains(id));
        s.preview_items = (before - files.len()) as u64;
        s.files = files.len() as u64;
        for id in files {
            s.logical_bytes += self.file(&id)?.size;
        }
        s.dedup_ratio = ratio(s.logical_bytes, s.unique_chunk_bytes);
        s.compression_ratio = ratio(s.unique_chunk_bytes, s.stored_chunk_bytes);
        Ok(s)
    }

    /// The item contents of the `previews` that none of the `trees` names as a file.
    fn preview_only_items(
        &self,
        previews: &mut Vec<ObjectId>,
        trees: &mut Vec<ObjectId>,
    ) -> Result<HashSet<ObjectId>, StoreError> {
        let mut items = HashSet::new();
        previews.sort_unstable();
        previews.dedup();
        for id in previews.iter() {
            let bytes = self.read_kind(id, ObjectKind::Preview)?;
            let p = PreviewObject::decode(&bytes)
                .map_err(|source| StoreError::BadObject { id: *id, source })?;
            items.extend(p.items.into_iter().map(|i| i.content));
        }
        if items.is_empty() {
            return Ok(items);
        }
        trees.sort_unstable();
        trees.dedup();
        for id in trees.iter() {
            let tree = self.tree(id)?;
            for e in tree.entries {
                if e.kind != EntryKind::Dir {
                    items.remove(&e.id);
                }
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::object::{PreviewItemRef, Tree, TreeEntry};

    #[test]
    fn preview_items_are_not_counted_as_file_versions() {
        let d = tempfile::tempdir().unwrap();
        let mut store = Store::init(&d.path().join(".gadn"), ChunkParams::DEFAULT).unwrap();
        let asset = store.ingest_one(&b"the asset, as committed"[..]).unwrap();
        let thumb = store.ingest_one(&b"a 64 px thumbnail"[..]).unwrap();
        // A committed picture whose bytes a preview made again is still a version.
        let both = store.ingest_one(&b"tracked and a preview"[..]).unwrap();
        let loose = store.ingest_one(&b"staged, in no tree"[..]).unwrap();
        let item = |content: ObjectId, size: u64| PreviewItemRef {
            role: 0,
            level: 64,
            media_type: "image/png".into(),
            size,
            content,
        };
        let preview = PreviewObject {
            file: asset.id,
            generator: "texture".into(),
            generator_version: 1,
            error: None,
            facts: "{}".into(),
            items: vec![
                item(thumb.id, thumb.file.size),
                item(both.id, both.file.size),
            ],
        };
        let entry = |name: &str, i: &crate::store::write::Ingested| TreeEntry {
            name: name.into(),
            kind: EntryKind::File,
            id: i.id,
            size: i.file.size,
            meta: None,
        };
        let tree = Tree {
            entries: vec![entry("a.png", &asset), entry("b.png", &both)],
        };
        {
            let (lock, _) = store.lock().unwrap();
            let mut w = store.writer(&lock);
            w.put_object(ObjectKind::Preview, preview.encode().unwrap())
                .unwrap();
            w.put_tree(&tree).unwrap();
            w.finish().unwrap();
        }
        let s = store.stats().unwrap();
        assert_eq!((s.files, s.preview_items), (3, 1), "{s:?}");
        let sizes = [asset.file.size, both.file.size, loose.file.size];
        assert_eq!(s.logical_bytes, sizes.iter().sum::<u64>());
        // Every object is still counted as an object.
        assert_eq!(s.objects, 4 + 1 + 1, "{s:?}");
    }
}
