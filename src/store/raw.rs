//! Records as stored (`store-format.md` § 6.1), moved between stores without
//! recompression: read one from a store, verify one received from elsewhere, append
//! it verbatim, and copy a whole file (its file object, chunk-list nodes and chunks)
//! from one store into another.
//!
//! Invariant: nothing is appended before its payload has been decoded and re-hashed
//! to the id it claims ([`RawRecord::verify`]), so a damaged source or a hostile peer
//! can never plant a record under a wrong id.

use super::error::StoreError;
use super::id::{ObjectId, ObjectKind};
use super::object::{ChunkListNode, FileObject};
use super::pack::{decode_payload_into, Codec, RecordProblem, RECORD_HEADER_LEN};
use super::write::ObjectWriter;
use super::Store;

/// Largest raw record accepted from elsewhere, in bytes: the largest chunk any
/// chunker configuration makes (`ChunkParams` caps `max` well below this) and any
/// object, with room to spare.
pub const MAX_RAW_RECORD: u32 = 16 << 20;

thread_local! {
    /// Decoded bytes of the compressed record being checked, reused per thread.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One record as a pack stores it: kind, codec, raw length and the encoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The id it claims (checked by [`RawRecord::verify`]).
    pub id: ObjectId,
    /// Its kind.
    pub kind: ObjectKind,
    /// How `payload` is encoded.
    pub codec: Codec,
    /// Length of the decoded bytes.
    pub raw_len: u32,
    /// The encoded bytes.
    pub payload: Vec<u8>,
}

impl RawRecord {
    /// Decodes the payload and re-hashes it: the bytes must be `raw_len` long (at most
    /// [`MAX_RAW_RECORD`]) and hash to `id` under `kind`. Returns the decoded bytes.
    pub fn verify(&self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::new();
        self.verify_into(&mut out)?;
        Ok(out)
    }

    /// [`RawRecord::verify`] without keeping the decoded bytes: a raw payload is
    /// hashed where it lies, a compressed one is decoded into a scratch buffer.
    pub fn check(&self) -> Result<(), StoreError> {
        self.check_with(|_| ())
    }

    /// [`RawRecord::check`], then hands the verified decoded bytes to `use_bytes`
    /// (not called for a record that fails): one decode and one hash serve both.
    pub fn check_with<R>(&self, use_bytes: impl FnOnce(&[u8]) -> R) -> Result<R, StoreError> {
        if self.codec == Codec::Raw {
            self.check_len()?;
            if self.payload.len() != self.raw_len as usize {
                return Err(
                    self.bad(RecordProblem::Decode(super::pack::DecodeError::RawLength {
                        expected: self.raw_len,
                        actual: self.payload.len(),
                    })),
                );
            }
            self.check_hash(&self.payload)?;
            return Ok(use_bytes(&self.payload));
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            self.verify_into(&mut s)?;
            Ok(use_bytes(&s))
        })
    }

    fn bad(&self, problem: RecordProblem) -> StoreError {
        StoreError::BadRecord {
            id: self.id,
            problem,
        }
    }

    fn check_len(&self) -> Result<(), StoreError> {
        if self.raw_len > MAX_RAW_RECORD {
            return Err(self.bad(RecordProblem::TooLarge {
                len: self.raw_len as usize,
            }));
        }
        Ok(())
    }

    fn check_hash(&self, raw: &[u8]) -> Result<(), StoreError> {
        let actual = ObjectId::compute(self.kind, raw);
        if actual != self.id {
            return Err(self.bad(RecordProblem::HashMismatch { actual }));
        }
        Ok(())
    }

    fn verify_into(&self, out: &mut Vec<u8>) -> Result<(), StoreError> {
        self.check_len()?;
        decode_payload_into(self.codec, &self.payload, self.raw_len, out)
            .map_err(|e| self.bad(RecordProblem::Decode(e)))?;
        self.check_hash(out)
    }
}

impl Store {
    /// The stored record of `id`, header checked against the index, payload not
    /// decoded. `Ok(None)` if no pack holds it.
    pub fn read_raw(&self, id: &ObjectId) -> Result<Option<RawRecord>, StoreError> {
        let Some(loc) = self.packs().locate(id) else {
            return Ok(None);
        };
        let mut bytes = self.packs().read_raw_record(&loc)?;
        let e = loc.entry;
        let payload = bytes.split_off(RECORD_HEADER_LEN);
        Ok(Some(RawRecord {
            id: e.id,
            kind: e.kind,
            codec: e.codec,
            raw_len: e.raw_len,
            payload,
        }))
    }
}

impl ObjectWriter<'_> {
    /// Checks `rec` ([`RawRecord::check`]) and appends it with its payload as
    /// received. Returns whether it was new (false: already stored, nothing written).
    pub fn put_raw(&mut self, rec: RawRecord) -> Result<bool, StoreError> {
        rec.check()?;
        self.put_checked(rec)
    }

    /// [`put_raw`](Self::put_raw), handing the verified decoded bytes to `inspect`
    /// before appending ([`RawRecord::check_with`]). `inspect` is not called for a
    /// record that fails verification.
    pub fn put_raw_inspect(
        &mut self,
        rec: RawRecord,
        inspect: impl FnOnce(&RawRecord, &[u8]),
    ) -> Result<bool, StoreError> {
        rec.check_with(|raw| inspect(&rec, raw))?;
        self.put_checked(rec)
    }

    /// Appends a record the caller has verified.
    fn put_checked(&mut self, rec: RawRecord) -> Result<bool, StoreError> {
        if self.contains(&rec.id) {
            return Ok(false);
        }
        self.append_encoded(rec.id, rec.kind, rec.codec, rec.raw_len, rec.payload)
    }
}

/// Shares every sealed pack of `src` with `dst` by hard links (no bytes copied), the
/// way `git clone` of a local repository links its objects. Sealed packs are never
/// modified (gc and consolidation write new packs and delete old ones), so two stores
/// can share their inodes safely; every record read from them is verified as
/// always. The pack file is linked before its index, so a pack is never sealed
/// without its bytes. Packs `dst` already has (by name) are skipped. Returns how
/// many packs were linked; `dst` must be reopened to see them. Fails (typically
/// across filesystems) with nothing half-linked left behind: the caller then copies.
pub fn link_packs(
    src: &Store,
    dst: &Store,
    _lock: &crate::store::StoreLock,
) -> Result<usize, StoreError> {
    use super::pack::{INDEX_EXT, PACK_EXT};
    let from = src.dir().join(super::open::PACK_DIR);
    let to = dst.dir().join(super::open::PACK_DIR);
    let mut linked = 0;
    for p in src.packs().packs() {
        let pack = format!("{}.{PACK_EXT}", p.name);
        let index = format!("{}.{INDEX_EXT}", p.name);
        if to.join(&pack).exists() || to.join(&index).exists() {
            continue;
        }
        std::fs::hard_link(from.join(&pack), to.join(&pack))
            .map_err(StoreError::io(to.join(&pack)))?;
        if let Err(e) = std::fs::hard_link(from.join(&index), to.join(&index)) {
            let _ = std::fs::remove_file(to.join(&pack));
            return Err(StoreError::io(to.join(&index))(e));
        }
        linked += 1;
    }
    if linked > 0 {
        // Make the new directory entries durable before anything refers to them.
        if let Ok(d) = std::fs::File::open(&to) {
            let _ = d.sync_all();
        }
    }
    Ok(linked)
}

/// What [`copy_file`] moved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CopyStats {
    /// Records appended.
    pub records: u64,
    /// Raw bytes of the chunks appended.
    pub chunk_bytes: u64,
}

/// Copies file `id` — its file object, chunk-list nodes and chunks — from `src` into
/// the store `dst` writes to, verifying every record before it is appended and
/// skipping what `dst` already holds. Records are read one at a time, so memory is a
/// few chunks whatever the file's size. A record `src` lacks is
/// [`StoreError::NotFound`]; what was appended before stays (it is all verified), so
/// a later copy resumes.
pub fn copy_file(
    src: &Store,
    dst: &mut ObjectWriter<'_>,
    id: &ObjectId,
) -> Result<CopyStats, StoreError> {
    let mut stats = CopyStats::default();
    let file_bytes = copy_record(src, dst, id, ObjectKind::File, &mut stats)?;
    let file = FileObject::decode(&file_bytes)
        .map_err(|source| StoreError::BadObject { id: *id, source })?;
    // Depth-first over the chunk-list tree: a stack of (id, level) where level 0 is a
    // chunk. Present nodes are still descended (a node does not prove its children
    // are stored: an earlier copy may have stopped half-way).
    let mut stack = vec![(file.root, file.height)];
    while let Some((node, level)) = stack.pop() {
        if level == 0 {
            if !dst.contains(&node) {
                copy_record(src, dst, &node, ObjectKind::Chunk, &mut stats)?;
            }
            continue;
        }
        let bytes = copy_record(src, dst, &node, ObjectKind::ChunkList, &mut stats)?;
        let n = ChunkListNode::decode(&bytes)
            .map_err(|source| StoreError::BadObject { id: node, source })?;
        stack.extend(n.entries.iter().rev().map(|e| (e.id, level - 1)));
    }
    Ok(stats)
}

/// Copies one record of `kind` (verified) unless `dst` has it; returns its raw bytes
/// (read from `dst` when present).
fn copy_record(
    src: &Store,
    dst: &mut ObjectWriter<'_>,
    id: &ObjectId,
    kind: ObjectKind,
    stats: &mut CopyStats,
) -> Result<Vec<u8>, StoreError> {
    let rec = src.read_raw(id)?.ok_or(StoreError::NotFound { id: *id })?;
    if rec.kind != kind {
        return Err(StoreError::WrongKind {
            id: *id,
            expected: kind,
            actual: rec.kind,
        });
    }
    let len = u64::from(rec.raw_len);
    let raw = rec.verify()?;
    let new = dst.put_checked(rec)?;
    if new {
        stats.records += 1;
        if kind == ObjectKind::Chunk {
            stats.chunk_bytes += len;
        }
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::chunker::ChunkParams;
    use crate::store::pack::testutil::{random_bytes, text_like};

    fn store(dir: &std::path::Path) -> Store {
        Store::init(dir, ChunkParams::new(256, 1024, 4096).expect("params")).expect("init")
    }

    fn ingest(s: &mut Store, data: &[u8]) -> ObjectId {
        let (lock, _) = s.lock().expect("lock");
        let mut w = s.writer(&lock);
        let id = w.ingest(data).expect("ingest").id;
        w.finish().expect("finish");
        id
    }

    fn copy(src: &Store, dst: &mut Store, id: &ObjectId) -> Result<CopyStats, StoreError> {
        let (lock, _) = dst.lock().expect("lock");
        let mut w = dst.writer(&lock);
        let r = copy_file(src, &mut w, id);
        w.finish().expect("finish");
        r
    }

    #[test]
    fn a_file_copies_whole_verified_and_only_what_is_missing() {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = store(&d.path().join("a"));
        let mut b = store(&d.path().join("b"));
        // Compressible and incompressible parts: both codecs travel verbatim.
        let mut data = text_like(1, 200_000);
        data.extend(random_bytes(2, 300_000));
        let id = ingest(&mut a, &data);
        let first = copy(&a, &mut b, &id).expect("copy");
        assert!(
            first.records > 3 && first.chunk_bytes == data.len() as u64,
            "{first:?}"
        );
        assert_eq!(b.read_file_bytes(&id).expect("read"), data);
        // Again: nothing new.
        assert_eq!(copy(&a, &mut b, &id).expect("copy"), CopyStats::default());
        // An edited version moves only its new chunks.
        let mut edited = data.clone();
        edited[250_000..250_010].fill(7);
        let id2 = ingest(&mut a, &edited);
        let second = copy(&a, &mut b, &id2).expect("copy");
        assert!(second.chunk_bytes < 20_000, "{second:?}");
        assert_eq!(b.read_file_bytes(&id2).expect("read"), edited);
        assert!(b.fsck(&mut |_| {}).expect("fsck").is_ok());
    }

    #[test]
    fn inspect_sees_the_decoded_bytes_of_good_records_only() {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = store(&d.path().join("a"));
        let mut b = store(&d.path().join("b"));
        let mut data = text_like(3, 50_000);
        data.extend(random_bytes(4, 50_000));
        let id = ingest(&mut a, &data);
        let mut recs = Vec::new();
        for (_, e) in a.packs().entries() {
            if e.kind == ObjectKind::Chunk {
                recs.push(a.read_raw(&e.id).expect("read").expect("held"));
            }
        }
        assert!(recs.iter().any(|r| r.codec == Codec::Raw));
        assert!(recs.iter().any(|r| r.codec != Codec::Raw));
        let (lock, _) = b.lock().expect("lock");
        let mut w = b.writer(&lock);
        // A compressed record with one payload byte changed: not inspected, not stored.
        let mut bad = recs
            .iter()
            .find(|r| r.codec != Codec::Raw)
            .expect("zstd")
            .clone();
        let last = bad.payload.len() - 2;
        bad.payload[last] ^= 1;
        let bad_id = bad.id;
        let mut seen = 0;
        assert!(w.put_raw_inspect(bad, |_, _| seen += 1).is_err());
        assert_eq!(seen, 0);
        let mut got = 0u64;
        for rec in recs {
            let expect = a.read(&rec.id).expect("read").1;
            let fresh = w
                .put_raw_inspect(rec, |r, raw| {
                    assert_eq!(raw, &expect[..], "{}", r.id);
                    got += raw.len() as u64;
                })
                .expect("put");
            assert!(fresh);
        }
        w.finish().expect("finish");
        drop(lock);
        assert_eq!(got, data.len() as u64);
        // The good copy of the bad record was stored afterwards.
        let b = Store::open(b.dir()).expect("reopen");
        assert!(b.contains(&bad_id));
        assert!(!b.contains(&id), "only chunks were copied");
    }

    #[test]
    fn packs_are_shared_by_hard_links_and_only_once() {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = store(&d.path().join("a"));
        let b = store(&d.path().join("b"));
        let data = random_bytes(9, 100_000);
        let id = ingest(&mut a, &data);
        let mut b = {
            let mut b = b;
            let (lock, _) = b.lock().expect("lock");
            assert_eq!(link_packs(&a, &b, &lock).expect("link"), 1);
            assert_eq!(link_packs(&a, &b, &lock).expect("again"), 0);
            drop(lock);
            b = Store::open(b.dir()).expect("reopen");
            b
        };
        assert_eq!(b.read_file_bytes(&id).expect("read"), data);
        assert!(b.fsck(&mut |_| {}).expect("fsck").is_ok());
        // Writing in b never touches a's packs.
        let id2 = ingest(&mut b, b"more");
        assert!(!a.contains(&id2));
        assert!(a.fsck(&mut |_| {}).expect("fsck").is_ok());
        // A source pack that vanished between listing and linking: an error, nothing
        // half-linked.
        let mut c = store(&d.path().join("c"));
        let _ = ingest(&mut c, b"c data");
        for e in std::fs::read_dir(c.dir().join(super::super::open::PACK_DIR)).expect("ls") {
            let p = e.expect("entry").path();
            if p.extension().is_some_and(|x| x == "idx") {
                std::fs::remove_file(p).expect("rm");
            }
        }
        let (lock, _) = b.lock().expect("lock");
        assert!(link_packs(&c, &b, &lock).is_err());
        let names: Vec<_> = std::fs::read_dir(b.dir().join(super::super::open::PACK_DIR))
            .expect("ls")
            .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 4, "{names:?}");
    }

    #[test]
    fn missing_and_mistyped_records_are_errors() {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = store(&d.path().join("a"));
        let mut b = store(&d.path().join("b"));
        let absent = ObjectId::of_chunk(b"absent");
        assert!(matches!(
            copy(&a, &mut b, &absent),
            Err(StoreError::NotFound { .. })
        ));
        assert!(a.read_raw(&absent).expect("read").is_none());
        // A chunk id handed over as a file.
        let id = ingest(&mut a, b"tiny");
        let chunk = ObjectId::of_chunk(b"tiny");
        assert!(matches!(
            copy(&a, &mut b, &chunk),
            Err(StoreError::WrongKind {
                expected: ObjectKind::File,
                ..
            })
        ));
        assert!(copy(&a, &mut b, &id).is_ok());
    }

    #[test]
    fn raw_payloads_are_checked_where_they_lie() {
        let data = b"plain bytes".to_vec();
        let rec = RawRecord {
            id: ObjectId::of_chunk(&data),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            raw_len: data.len() as u32,
            payload: data,
        };
        assert!(rec.check().is_ok());
        let mut short = rec.clone();
        short.raw_len -= 1;
        let mut huge = rec.clone();
        huge.raw_len = MAX_RAW_RECORD + 1;
        let mut flipped = rec;
        flipped.payload[0] ^= 1;
        for (what, bad) in [("short", short), ("huge", huge), ("flipped", flipped)] {
            let e = bad.check().expect_err(what);
            assert!(matches!(e, StoreError::BadRecord { .. }), "{what}: {e}");
        }
    }

    #[test]
    fn forged_records_are_refused_before_anything_is_stored() {
        let d = tempfile::tempdir().expect("tmp");
        let mut a = store(&d.path().join("a"));
        let data = random_bytes(3, 3000);
        let id = ingest(&mut a, &data);
        let file = a.file(&id).expect("file");
        let good = a.read_raw(&file.root).expect("read").expect("present");
        assert!(good.verify().is_ok());
        let check = |rec: RawRecord, what: &str| {
            let e = rec.verify().expect_err(what);
            assert!(matches!(e, StoreError::BadRecord { .. }), "{what}: {e}");
            assert!(e.to_string().contains("received is invalid"), "{e}");
            let mut b = store(&d.path().join(what));
            let (lock, _) = b.lock().expect("lock");
            let mut w = b.writer(&lock);
            assert!(w.put_raw(rec).is_err());
            assert_eq!(w.finish().expect("finish").records, 0, "{what}");
        };
        let mut flipped = good.clone();
        flipped.payload[10] ^= 1;
        check(flipped, "flipped");
        let mut renamed = good.clone();
        renamed.id = ObjectId::of_chunk(b"other");
        check(renamed, "renamed");
        let mut short = good.clone();
        short.raw_len -= 1;
        check(short, "short");
        let mut huge = good.clone();
        huge.raw_len = MAX_RAW_RECORD + 1;
        check(huge, "huge");
        let mut as_tree = good;
        as_tree.kind = ObjectKind::Tree;
        check(as_tree, "as-tree");
    }
}
