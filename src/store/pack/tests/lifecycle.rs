//! Crash recovery of unsealed packs, and gc rewriting packs.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::super::testutil::random_bytes;
use super::super::*;
use super::{assert_all_readable, file, flip, records, write_pack, Rec};
use crate::store::id::ObjectId;

/// Writes records, then "crashes": the writer is dropped without `finish`, which
/// flushes its buffer (the bytes reach the file) but writes no index.
fn crashed_pack(dir: &Path, recs: &[Rec]) -> (PathBuf, Vec<u64>) {
    let mut w = PackWriter::create(dir).unwrap();
    let mut ends = vec![];
    let mut c = Compressor::new(DEFAULT_LEVEL).unwrap();
    let mut out = Vec::new();
    for r in recs {
        let codec = c.encode(&r.raw, &mut out);
        let payload = if codec == Codec::Zstd {
            &out[..]
        } else {
            &r.raw[..]
        };
        w.append(r.id, r.kind, codec, r.raw.len() as u32, payload)
            .unwrap();
        ends.push(w.bytes());
    }
    let path = w.path().to_path_buf();
    drop(w);
    assert_eq!(fs::metadata(&path).unwrap().len(), *ends.last().unwrap());
    (path, ends)
}

#[test]
fn recovery_keeps_exactly_the_complete_records() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = records(60, 5);
    write_pack(dir.path(), &sealed);
    let garbage = records(61, 12);
    let (garbage_pack, g_ends) = crashed_pack(dir.path(), &garbage);
    OpenOptions::new()
        .append(true)
        .open(&garbage_pack)
        .unwrap()
        .write_all(&random_bytes(1, 5000))
        .unwrap();
    let torn = records(62, 9);
    let (torn_pack, t_ends) = crashed_pack(dir.path(), &torn);
    let half = t_ends[7] + (t_ends[8] - t_ends[7]) / 2;
    OpenOptions::new()
        .write(true)
        .open(&torn_pack)
        .unwrap()
        .set_len(half)
        .unwrap();
    // A pack whose header is torn, one with no complete record, a stray index tmp.
    let header_torn = dir.path().join("pack-00000000000000aa.pack");
    fs::write(&header_torn, b"GADNPA").unwrap();
    let (empty_pack, _) = crashed_pack(dir.path(), &records(63, 1));
    OpenOptions::new()
        .write(true)
        .open(&empty_pack)
        .unwrap()
        .set_len(30)
        .unwrap();
    // A zero-filled tail (what a file system may show after a power loss), and a
    // record whose payload is corrupt in the middle of the pack.
    let zeroed = records(64, 4);
    let (zeroed_pack, z_ends) = crashed_pack(dir.path(), &zeroed);
    OpenOptions::new()
        .append(true)
        .open(&zeroed_pack)
        .unwrap()
        .write_all(&[0; 4096])
        .unwrap();
    let rotten = records(65, 6);
    let (rotten_pack, r_ends) = crashed_pack(dir.path(), &rotten);
    flip(&rotten_pack, r_ends[2] + RECORD_HEADER_LEN as u64 + 1);
    let stray = dir
        .path()
        .join(format!("pack-00000000000000bb{INDEX_TMP_SUFFIX}"));
    fs::write(&stray, b"half an index").unwrap();

    let mut set = PackSet::open(dir.path()).unwrap();
    assert_eq!(set.unsealed().len(), 6);
    assert!(!set.contains(&garbage[0].id), "unsealed packs are not read");
    let report = set.recover_unsealed().unwrap();
    assert!(set.unsealed().is_empty());
    assert_eq!(report.stray_tmp_removed, 1);
    assert!(!stray.exists());
    let by_name = |p: &Path| {
        let stem = p.file_stem().unwrap().to_str().unwrap();
        report
            .packs
            .iter()
            .find(|r| r.name == stem)
            .unwrap()
            .clone()
    };
    let g = by_name(&garbage_pack);
    assert_eq!(
        (g.records_kept, g.bytes_dropped, g.outcome.clone()),
        (12, 5000, RecoveryOutcome::Sealed)
    );
    let t = by_name(&torn_pack);
    assert_eq!((t.records_kept, t.bytes_dropped), (8, half - t_ends[7]));
    assert_eq!(fs::metadata(&torn_pack).unwrap().len(), t_ends[7]);
    assert_eq!(fs::metadata(&garbage_pack).unwrap().len(), g_ends[11]);
    for removed in [&header_torn, &empty_pack] {
        let r = by_name(removed);
        assert_eq!((r.records_kept, r.outcome), (0, RecoveryOutcome::Removed));
        assert!(!removed.exists());
    }
    assert_eq!(by_name(&header_torn).bytes_dropped, 6);
    let z = by_name(&zeroed_pack);
    assert_eq!((z.records_kept, z.bytes_dropped), (4, 4096));
    assert_eq!(fs::metadata(&zeroed_pack).unwrap().len(), z_ends[3]);
    let r = by_name(&rotten_pack);
    assert_eq!(
        (r.records_kept, r.bytes_dropped),
        (3, r_ends[5] - r_ends[2])
    );

    for set in [set, PackSet::open(dir.path()).unwrap()] {
        assert_all_readable(&set, &sealed);
        assert_all_readable(&set, &garbage);
        assert_all_readable(&set, &torn[..8]);
        assert_all_readable(&set, &zeroed);
        assert_all_readable(&set, &rotten[..3]);
        assert!(!set.contains(&torn[8].id));
        assert!(rotten[3..].iter().all(|r| !set.contains(&r.id)));
        assert_eq!(set.packs().len(), 5);
        assert!(set.unsealed().is_empty());
        assert_eq!(set.verify(|_| {}).unwrap(), vec![]);
    }
}

#[test]
fn recovery_leaves_newer_versions_alone() {
    let dir = tempfile::tempdir().unwrap();
    let future = dir.path().join("pack-00000000000000cc.pack");
    fs::write(&future, b"GADNPACK\x02\x00\x00\x00\x00\x00\x00\x00more").unwrap();
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.recover_unsealed().unwrap();
    assert!(
        matches!(&report.packs[0].outcome, RecoveryOutcome::LeftAlone { reason } if reason.contains("version 2"))
    );
    assert!(future.exists());
    assert_eq!(set.unsealed(), &[future]);
}

#[test]
fn rewrite_keeps_live_records_and_deletes_dead_ones() {
    let dir = tempfile::tempdir().unwrap();
    let all_live = records(70, 20);
    let all_dead = records(71, 20);
    let mixed = records(72, 40);
    let mut dup = records(73, 4);
    dup.push(mixed[1].clone()); // live in `mixed`, also in a pack that is rewritten
    dup.push(all_live[0].clone()); // already in an untouched pack
    let mut set = PackSet::open(dir.path()).unwrap();
    let names: Vec<String> = [&all_live, &all_dead, &mixed, &dup]
        .iter()
        .map(|recs| {
            let s = write_pack(dir.path(), recs);
            let n = s.name().to_string();
            set.add_sealed(s).unwrap();
            n
        })
        .collect();
    let dead: std::collections::HashSet<ObjectId> = all_dead
        .iter()
        .chain(mixed.iter().skip(20))
        .chain(&dup[..2])
        .map(|r| r.id)
        .collect();
    let before: u64 = set.packs().map(|p| p.pack_len).sum();

    let report = set.rewrite(|id, _| !dead.contains(id)).unwrap();
    assert_eq!(report.packs_untouched, 1);
    assert_eq!(report.packs_deleted, 3);
    assert_eq!(report.packs_written, 1);
    assert_eq!(report.objects_removed, 20 + 20 + 2);
    assert_eq!(report.duplicates_removed, 2);
    assert_eq!(report.objects_copied, 20 + 2);
    assert_eq!(report.bytes_before, before);
    assert!(report.bytes_after < before);

    for set in [set, PackSet::open(dir.path()).unwrap()] {
        assert_all_readable(&set, &all_live);
        assert_all_readable(&set, &mixed[..20]);
        assert_all_readable(&set, &dup[2..]);
        for id in &dead {
            assert!(!set.contains(id), "{id}");
        }
        assert_eq!(set.entries().count(), 20 + 20 + 2);
        assert_eq!(set.packs().len(), 2);
        assert_eq!(
            report.bytes_after,
            set.packs().map(|p| p.pack_len).sum::<u64>()
        );
        assert_eq!(set.verify(|_| {}).unwrap(), vec![]);
    }
    assert!(file(dir.path(), &names[0], PACK_EXT).exists());
    for gone in &names[1..] {
        assert!(!file(dir.path(), gone, PACK_EXT).exists());
        assert!(!file(dir.path(), gone, INDEX_EXT).exists());
    }

    // Keeping everything touches nothing.
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.rewrite(|_, _| true).unwrap();
    assert_eq!(
        (
            report.packs_untouched,
            report.packs_deleted,
            report.packs_written
        ),
        (2, 0, 0)
    );
    // Dropping everything leaves an empty set.
    let report = set.rewrite(|_, _| false).unwrap();
    assert_eq!(
        (
            report.packs_deleted,
            report.objects_removed,
            report.bytes_after
        ),
        (2, 42, 0)
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn many_small_packs_are_consolidated_into_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = PackSet::open(dir.path()).unwrap();
    let mut all: Vec<Rec> = Vec::new();
    for i in 0..SMALL_PACKS_MAX as u64 {
        let mut recs = records(500 + i, 3);
        if i == 5 {
            recs.push(all[0].clone()); // the same record in two small packs
        }
        set.add_sealed(write_pack(dir.path(), &recs)).unwrap();
        all.extend(recs.into_iter().take(3));
        if i + 1 < SMALL_PACKS_MAX as u64 {
            assert!(set.consolidate().unwrap().is_none(), "{} packs", i + 1);
        }
    }
    let before = set.packs().len();
    assert_eq!(before, SMALL_PACKS_MAX);
    let report = set.consolidate().unwrap().expect("enough small packs");
    assert_eq!(report.packs_deleted, SMALL_PACKS_MAX);
    assert_eq!(report.packs_written, 1);
    assert_eq!(report.duplicates_removed, 1);
    assert_eq!(report.objects_copied as usize, all.len());
    for set in [set, PackSet::open(dir.path()).unwrap()] {
        assert_eq!(set.packs().len(), 1);
        assert_all_readable(&set, &all);
        assert_eq!(set.verify(|_| {}).unwrap(), vec![]);
    }
    // One small pack left: nothing to do.
    let mut set = PackSet::open(dir.path()).unwrap();
    assert!(set.consolidate().unwrap().is_none());
}

#[test]
fn a_reader_that_listed_packs_before_a_consolidation_still_finds_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<Rec> = Vec::new();
    let mut writer = PackSet::open(dir.path()).unwrap();
    for i in 0..SMALL_PACKS_MAX as u64 {
        let recs = records(900 + i, 2);
        writer.add_sealed(write_pack(dir.path(), &recs)).unwrap();
        all.extend(recs);
    }
    // Another process lists the directory, then loads lazily after the packs moved.
    let reader = PackSet::open(dir.path()).unwrap();
    writer.consolidate().unwrap().expect("consolidated");
    assert_all_readable(&reader, &all);
    assert!(reader.damaged_indexes().is_empty());
}

#[test]
fn recovery_of_whole_packs_garbage_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    // A crashed pack whose every record is whole: sealed as it is.
    let whole = records(80, 3);
    let (whole_pack, w_ends) = crashed_pack(dir.path(), &whole);
    // 16 bytes or more that are not a pack at all: removed.
    let junk = dir.path().join("pack-00000000000000dd.pack");
    fs::write(&junk, random_bytes(2, 100)).unwrap();
    // A record written twice (two writers' worth of bytes): both copies kept, one
    // index entry.
    let dup = records(81, 2);
    let (dup_pack, d_ends) = crashed_pack(dir.path(), &dup);
    let mut bytes = fs::read(&dup_pack).unwrap();
    let second = bytes[d_ends[0] as usize..].to_vec();
    bytes.extend_from_slice(&second);
    fs::write(&dup_pack, &bytes).unwrap();

    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.recover_unsealed().unwrap();
    let by_name = |p: &Path| {
        let stem = p.file_stem().unwrap().to_str().unwrap();
        report
            .packs
            .iter()
            .find(|r| r.name == stem)
            .unwrap()
            .clone()
    };
    let w = by_name(&whole_pack);
    assert_eq!(
        (w.records_kept, w.bytes_dropped, w.outcome),
        (3, 0, RecoveryOutcome::Sealed)
    );
    assert_eq!(fs::metadata(&whole_pack).unwrap().len(), w_ends[2]);
    let j = by_name(&junk);
    assert_eq!(
        (j.records_kept, j.bytes_dropped, j.outcome),
        (0, 100, RecoveryOutcome::Removed)
    );
    assert!(!junk.exists());
    let d = by_name(&dup_pack);
    assert_eq!((d.records_kept, d.bytes_dropped), (2, 0));
    assert_eq!(fs::metadata(&dup_pack).unwrap().len(), bytes.len() as u64);
    assert_all_readable(&set, &whole);
    assert_all_readable(&set, &dup);
    assert_eq!(set.entries().count(), 5);
    // The second copy is covered by the index's pack length but by no entry.
    assert_eq!(set.verify(|_| {}).unwrap(), vec![]);
}

#[test]
fn an_io_error_stops_recovery_and_leaves_the_rest_unsealed() {
    let dir = tempfile::tempdir().unwrap();
    // Listed first (names sort), and cannot be opened for writing: a directory.
    let unopenable = dir.path().join("pack-0000000000000000.pack");
    fs::create_dir(&unopenable).unwrap();
    let recs = records(82, 2);
    let (pack, ends) = crashed_pack(dir.path(), &recs);
    let mut set = PackSet::open(dir.path()).unwrap();
    assert_eq!(set.unsealed(), &[unopenable.clone(), pack.clone()]);
    let err = set.recover_unsealed().unwrap_err();
    assert!(
        matches!(&err, PackError::Io { path, .. } if *path == unopenable),
        "{err}"
    );
    assert_eq!(set.unsealed(), &[unopenable.clone(), pack.clone()]);
    assert_eq!(fs::metadata(&pack).unwrap().len(), ends[1], "not touched");
    assert!(!set.contains(&recs[0].id));

    fs::remove_dir(&unopenable).unwrap();
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.recover_unsealed().unwrap();
    assert_eq!(report.packs[0].outcome, RecoveryOutcome::Sealed);
    assert_all_readable(&set, &recs);
}
