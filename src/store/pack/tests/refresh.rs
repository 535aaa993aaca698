//! A pack set sees packs another process sealed after it was opened: a lookup that
//! misses re-scans the directory once ([`PackSet::refresh`]).

use super::random_bytes;
use crate::store::chunker::ChunkParams;
use crate::store::{ObjectId, Store};

fn params() -> ChunkParams {
    ChunkParams::new(1024, 4096, 16384).unwrap()
}

/// Ingests `data` through `store` (its own writer and lock); returns the file id.
fn write(store: &mut Store, data: &[u8]) -> ObjectId {
    store.ingest_one(data).unwrap().id
}

#[test]
fn a_reader_sees_a_pack_another_writer_added_without_reopening() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join(".gadn");
    let mut writer = Store::init(&dir, params()).unwrap();
    let first = random_bytes(1, 50_000);
    let first_id = write(&mut writer, &first);
    // The reader opens and loads its packs before the writer adds more.
    let reader = Store::open(&dir).unwrap();
    assert_eq!(reader.read_file_bytes(&first_id).unwrap(), first);
    let first_loc = reader.packs().locate(&first_id).unwrap();
    let packs_before = reader.packs().packs().len();
    let absent = ObjectId::of_chunk(b"never stored");
    assert!(!reader.contains(&absent));
    assert!(!reader.packs().refresh(), "nothing new: nothing added");

    // Another handle (another process, as far as the reader knows) seals two packs,
    // one right after the other: the second lands within the directory timestamp's
    // granularity of the reader's refresh, which must not hide it.
    let second = random_bytes(2, 60_000);
    let second_id = write(&mut writer, &second);
    assert!(reader.contains(&second_id), "found by refresh on the miss");
    let third = random_bytes(3, 70_000);
    let third_id = write(&mut writer, &third);
    assert_eq!(reader.read_file_bytes(&third_id).unwrap(), third);
    assert_eq!(reader.read_file_bytes(&second_id).unwrap(), second);
    assert_eq!(reader.packs().packs().len(), packs_before + 2);
    assert!(!reader.contains(&absent));

    // Packs are appended: what was located before still reads at the same place,
    // and every pack is listed, counted and verified.
    assert_eq!(reader.packs().locate(&first_id), Some(first_loc));
    let mut buf = Vec::new();
    reader
        .packs()
        .read_record_at(&first_loc, &mut buf, 0)
        .unwrap();
    assert!(!buf.is_empty());
    let seen: std::collections::HashSet<ObjectId> =
        reader.packs().entries().map(|(_, e)| e.id).collect();
    assert!([first_id, second_id, third_id]
        .iter()
        .all(|id| seen.contains(id)));
    let report = reader.fsck(&mut |_| {}).unwrap();
    assert_eq!(report.packs, packs_before + 2);
    assert!(report.damaged.is_empty(), "{report:?}");

    // A writer on the reader's handle takes the lock, sees everything, and adds
    // nothing the other handle stored already.
    let mut reader = reader;
    let (lock, _) = reader.lock().unwrap();
    let mut w = reader.writer(&lock);
    let again = w.ingest(&second[..]).unwrap();
    assert_eq!((again.id, again.new_chunks), (second_id, 0));
    w.finish().unwrap();
}
