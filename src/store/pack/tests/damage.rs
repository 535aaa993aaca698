//! Deliberately damaged indexes and packs: open, read and verify name the damage.

use std::fs::{self, OpenOptions};
use std::path::Path;

use super::super::*;
use super::{assert_all_readable, file, flip, records, write_pack};
use crate::store::id::{ObjectId, ObjectKind};

#[test]
fn damaged_indexes_are_reported_and_other_packs_stay_usable() {
    type Corrupt = fn(&Path);
    let cases: &[(&str, Corrupt)] = &[
        ("fanout", |p| flip(p, (INDEX_HEADER_LEN + 100 * 4) as u64)),
        ("entries", |p| {
            flip(p, (INDEX_HEADER_LEN + FANOUT_LEN + 70) as u64)
        }),
        ("trailer", |p| {
            let len = fs::metadata(p).unwrap().len();
            flip(p, len - 1)
        }),
        ("truncate", |p| {
            let len = fs::metadata(p).unwrap().len();
            OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(len - 10)
                .unwrap()
        }),
    ];
    for (what, damage) in cases {
        let dir = tempfile::tempdir().unwrap();
        let good = records(20, 30);
        let bad = records(21, 30);
        write_pack(dir.path(), &good);
        let bad_name = write_pack(dir.path(), &bad).name().to_string();
        let idx = file(dir.path(), &bad_name, INDEX_EXT);
        damage(&idx);

        let err = PackIndex::load(&idx).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("{bad_name}.idx")), "{what}: {msg}");
        let expect = if *what == "truncate" {
            "entries need exactly"
        } else {
            "checksum mismatch"
        };
        assert!(msg.contains(expect), "{what}: {msg}");

        let set = PackSet::open(dir.path()).unwrap();
        let damaged = set.damaged_indexes();
        assert_eq!(damaged.len(), 1, "{what}");
        assert_eq!(damaged[0].pack, format!("{bad_name}.idx"));
        assert!(damaged[0].reason.contains(expect), "{what}: {}", damaged[0]);
        assert_all_readable(&set, &good);
        assert!(!set.contains(&bad[0].id));
        // Absence is not known while an index is damaged: reads say why.
        let err = set.read(&bad[0].id).unwrap_err();
        assert!(
            matches!(&err, PackError::InDamagedPack { id, index, .. } if *id == bad[0].id && *index == format!("{bad_name}.idx")),
            "{err}"
        );
        assert!(
            set.unsealed().is_empty(),
            "a damaged index is not an unsealed pack"
        );
    }

    // An index whose pack file is gone.
    let dir = tempfile::tempdir().unwrap();
    let name = write_pack(dir.path(), &records(22, 3)).name().to_string();
    fs::remove_file(file(dir.path(), &name, PACK_EXT)).unwrap();
    let set = PackSet::open(dir.path()).unwrap();
    assert_eq!(set.damaged_indexes()[0].pack, format!("{name}.pack"));
    // Both gone after listing (a concurrent gc): not damage, just absent.
    let set = PackSet::open(dir.path()).unwrap();
    fs::remove_file(file(dir.path(), &name, INDEX_EXT)).unwrap();
    assert!(set.damaged_indexes().is_empty());
    assert_eq!(set.packs().len(), 0);
}

#[test]
fn pack_truncation_is_reported_with_pack_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(30, 20);
    let sealed = write_pack(dir.path(), &recs);
    let name = sealed.name().to_string();
    let mut entries: Vec<_> = sealed.index().iter().collect();
    entries.sort_by_key(|e| e.offset);
    let cut = entries[15].offset + 10; // inside record 15
    let path = file(dir.path(), &name, PACK_EXT);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();

    let set = PackSet::open(dir.path()).unwrap();
    let mut progress = 0;
    let damage = set.verify(|n| progress += n).unwrap();
    assert_eq!(progress, sealed.index().pack_len() - PACK_HEADER_LEN as u64);
    assert!(damage.iter().all(|d| d.pack == format!("{name}.pack")));
    assert!(
        damage[0].reason.contains("truncated") && damage[0].offset == cut,
        "{}",
        damage[0]
    );
    let records: Vec<_> = damage.iter().filter(|d| d.id.is_some()).collect();
    assert_eq!(records.len(), 5, "records 15..20 are cut: {damage:#?}");
    for (d, e) in records.iter().zip(&entries[15..]) {
        assert_eq!(
            (d.offset, d.id, d.kind),
            (e.offset, Some(e.id), Some(e.kind))
        );
        assert!(d.reason.contains("truncated"), "{d}");
    }
    let err = set.read(&entries[16].id).unwrap_err();
    assert!(
        matches!(
            err,
            PackError::Record {
                problem: RecordProblem::Truncated { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        set.read(&entries[3].id).unwrap().unwrap().1.len() as u32,
        entries[3].raw_len
    );
}

#[test]
fn flipped_bytes_are_named_by_read_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(40, 10);
    let sealed = write_pack(dir.path(), &recs);
    let name = sealed.name().to_string();
    let path = file(dir.path(), &name, PACK_EXT);
    let target = sealed.index().lookup(&recs[3].id).unwrap(); // random bytes: raw
    let text = sealed.index().lookup(&recs[2].id).unwrap(); // text: zstd
    assert_eq!((target.codec, text.codec), (Codec::Raw, Codec::Zstd));
    assert!(target.stored_len > 100);
    let kind_flip = sealed.index().lookup(&recs[6].id).unwrap();
    flip(&path, target.offset + RECORD_HEADER_LEN as u64 + 100);
    flip(
        &path,
        text.offset + RECORD_HEADER_LEN as u64 + u64::from(text.stored_len) / 2,
    );
    // Kind byte: 0 (chunk) becomes 0x40, unknown.
    flip(&path, kind_flip.offset);

    let set = PackSet::open(dir.path()).unwrap();
    let err = set.read(&recs[3].id).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{name}.pack")) && msg.contains(&format!("offset {}", target.offset)),
        "{msg}"
    );
    assert!(
        matches!(err, PackError::Record { problem: RecordProblem::HashMismatch { .. }, id, offset, .. } if id == recs[3].id && offset == target.offset)
    );
    assert!(set.read(&recs[2].id).is_err());
    let err = set.read(&recs[6].id).unwrap_err();
    assert!(
        matches!(
            err,
            PackError::Record {
                problem: RecordProblem::UnknownKind { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(set.read(&recs[5].id).unwrap().unwrap().1, recs[5].raw);

    let damage = set.verify(|_| {}).unwrap();
    let mut found: Vec<_> = damage.iter().map(|d| (d.offset, d.id.unwrap())).collect();
    found.sort();
    let mut expected = vec![
        (target.offset, recs[3].id),
        (text.offset, recs[2].id),
        (kind_flip.offset, recs[6].id),
    ];
    expected.sort();
    assert_eq!(found, expected, "{damage:#?}");
    assert!(damage.iter().all(|d| d.pack == format!("{name}.pack")));

    // A wrong kind that is still a valid kind: the header disagrees with the index.
    flip(&path, kind_flip.offset); // restore
    let mut b = fs::read(&path).unwrap();
    b[kind_flip.offset as usize] = ObjectKind::Tag as u8;
    fs::write(&path, b).unwrap();
    let err = set.read(&recs[6].id).unwrap_err();
    assert!(
        matches!(
            err,
            PackError::Record {
                problem: RecordProblem::HeaderMismatch { field: "kind", .. },
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn damaged_pack_header_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let name = write_pack(dir.path(), &records(50, 3)).name().to_string();
    flip(&file(dir.path(), &name, PACK_EXT), 2);
    let set = PackSet::open(dir.path()).unwrap();
    let damage = set.verify(|_| {}).unwrap();
    assert_eq!(damage.len(), 1, "{damage:#?}");
    assert_eq!((damage[0].offset, damage[0].id), (0, None));
    assert!(damage[0].reason.contains("magic"), "{}", damage[0]);
}

#[test]
fn extra_bytes_after_the_last_record_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(51, 3);
    let sealed = write_pack(dir.path(), &recs);
    let name = sealed.name().to_string();
    let covered = sealed.index().pack_len();
    let path = file(dir.path(), &name, PACK_EXT);
    let mut b = fs::read(&path).unwrap();
    b.extend_from_slice(&[0; 10]);
    fs::write(&path, b).unwrap();
    let set = PackSet::open(dir.path()).unwrap();
    let damage = set.verify(|_| {}).unwrap();
    let want = Damage {
        pack: format!("{name}.pack"),
        offset: covered,
        id: None,
        kind: None,
        reason: format!("pack has 10 bytes beyond the {covered} its index covers"),
    };
    assert_eq!(damage, vec![want]);
    assert_all_readable(&set, &recs);
}

#[test]
fn overlapping_records_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(52, 10);
    let sealed = write_pack(dir.path(), &recs);
    let name = sealed.name().to_string();
    let mut entries: Vec<_> = sealed.index().iter().collect();
    entries.sort_by_key(|e| e.offset);
    let host = *entries
        .iter()
        .find(|e| e.stored_len > 200)
        .expect("a record long enough to hide another header in");
    // An index entry for a record inside another one's payload.
    let intruder = IndexEntry {
        id: ObjectId::of_chunk(b"intruder"),
        offset: host.offset + 10,
        stored_len: 0,
        raw_len: 0,
        kind: ObjectKind::Chunk,
        codec: Codec::Raw,
    };
    entries.push(intruder);
    let index = PackIndex::build(entries, sealed.index().pack_len());
    fs::write(file(dir.path(), &name, INDEX_EXT), index.as_bytes()).unwrap();

    let set = PackSet::open(dir.path()).unwrap();
    let damage = set.verify(|_| {}).unwrap();
    assert_eq!(damage.len(), 2, "{damage:#?}");
    assert!(damage.iter().all(|d| (d.offset, d.id, d.kind)
        == (intruder.offset, Some(intruder.id), Some(ObjectKind::Chunk))));
    assert_eq!(
        damage[0].reason,
        format!(
            "record overlaps the previous one, which ends at {}",
            host.end()
        )
    );
    // Its "header" is payload bytes of the host: whatever they say, not this entry.
    assert!(set.read(&intruder.id).is_err());
    assert_all_readable(&set, &recs);
}

#[test]
fn read_errors_are_damage_and_verification_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(53, 4);
    let name = write_pack(dir.path(), &recs).name().to_string();
    let path = file(dir.path(), &name, PACK_EXT);
    let mut set = PackSet::open(dir.path()).unwrap();
    // A handle that cannot read: every read fails with EBADF, not end of file.
    set.loaded_mut().packs[0].file = OpenOptions::new().write(true).open(&path).unwrap();
    let mut progress = 0;
    let damage = set.verify(|n| progress += n).unwrap();
    assert_eq!(
        progress,
        set.packs().next().unwrap().pack_len - PACK_HEADER_LEN as u64
    );
    assert_eq!(damage.len(), 1 + recs.len(), "{damage:#?}");
    assert_eq!((damage[0].offset, damage[0].id), (0, None));
    assert!(
        damage[0].reason.starts_with("pack header: "),
        "{}",
        damage[0]
    );
    let ids: std::collections::HashSet<_> = damage[1..].iter().map(|d| d.id.unwrap()).collect();
    assert_eq!(ids.len(), recs.len());
    for d in &damage[1..] {
        assert!(d.reason.contains(&path.display().to_string()), "{d}");
    }
}
