//! Dropping damaged records that a healthy copy elsewhere supersedes
//! ([`PackSet::drop_superseded`]), every branch.

use super::*;

fn chunk(seed: u64, len: usize) -> Rec {
    Rec::new(ObjectKind::Chunk, random_bytes(seed, len))
}

/// Flips a payload byte of `id` in the pack `sealed`; returns where the record is.
fn damage(dir: &Path, sealed: &SealedPack, id: &ObjectId) -> DamagedAt {
    let e = sealed.index().lookup(id).expect("in the pack");
    let path = file(dir, sealed.name(), PACK_EXT);
    flip(
        &path,
        e.offset + RECORD_HEADER_LEN as u64 + u64::from(e.stored_len) / 2,
    );
    DamagedAt {
        pack: sealed.name().to_string(),
        offset: e.offset,
        id: *id,
    }
}

#[test]
fn a_damaged_record_with_a_healthy_copy_elsewhere_is_dropped_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let r: Vec<Rec> = (0..5).map(|i| chunk(100 + i, 3000 + i as usize)).collect();
    let a = write_pack(dir.path(), &r[0..4]);
    let b = write_pack(dir.path(), &[r[1].clone(), r[4].clone()]);
    let (a_name, b_name) = (a.name().to_string(), b.name().to_string());
    let fixable = damage(dir.path(), &a, &r[1].id);
    let lost = damage(dir.path(), &a, &r[3].id);
    let elsewhere = DamagedAt {
        pack: "pack-0000000000000000".into(),
        ..fixable.clone()
    };
    let not_there = DamagedAt {
        id: r[4].id,
        ..fixable.clone()
    };
    drop((a, b));
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set
        .drop_superseded(&[
            fixable.clone(),
            lost.clone(),
            elsewhere.clone(),
            not_there.clone(),
        ])
        .unwrap();
    assert_eq!(report.dropped, vec![fixable]);
    let mut kept = vec![lost.clone(), elsewhere, not_there];
    kept.sort();
    assert_eq!(report.kept, kept);
    assert!(report.left.is_empty());
    let [(old, Some(new))] = &report.rewritten[..] else {
        panic!("{:?}", report.rewritten);
    };
    assert_eq!(old, &a_name);
    assert!(!file(dir.path(), &a_name, PACK_EXT).exists());
    assert!(!file(dir.path(), &a_name, INDEX_EXT).exists());
    // As the set sees it and as a fresh reader does: r1 reads from b, r3 is still
    // damaged (copied as it was), everything else is intact.
    for set in [set, PackSet::open(dir.path()).unwrap()] {
        for rec in [&r[0], &r[1], &r[2], &r[4]] {
            assert_eq!(set.read(&rec.id).unwrap().unwrap().1, rec.raw);
        }
        assert!(set.read(&r[3].id).is_err());
        let damage = set.verify(|_| {}).unwrap();
        assert_eq!(damage.len(), 1, "{damage:?}");
        assert_eq!(
            (damage[0].id, damage[0].pack.as_str()),
            (Some(r[3].id), &*format!("{new}.pack"))
        );
        assert_eq!(set.packs().count(), 2);
        assert!(set.packs().any(|p| p.name == b_name));
    }
}

#[test]
fn a_pack_whose_every_record_is_superseded_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let r = chunk(7, 4000);
    let a = write_pack(dir.path(), std::slice::from_ref(&r));
    let _b = write_pack(dir.path(), std::slice::from_ref(&r));
    let d = damage(dir.path(), &a, &r.id);
    let name = a.name().to_string();
    drop(a);
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.drop_superseded(&[d]).unwrap();
    assert_eq!(report.rewritten, vec![(name.clone(), None)]);
    assert!(!file(dir.path(), &name, PACK_EXT).exists());
    assert_eq!(set.read(&r.id).unwrap().unwrap().1, r.raw);
    assert!(PackSet::open(dir.path())
        .unwrap()
        .verify(|_| {})
        .unwrap()
        .is_empty());
}

/// A record that must be kept cannot be read (the pack was cut short): the pack is
/// left exactly as it was, its damaged record kept, and no new pack remains.
#[test]
fn a_pack_with_an_unreadable_record_to_keep_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (r0, r1) = (chunk(8, 4000), chunk(9, 4000));
    let a = write_pack(dir.path(), &[r0.clone(), r1.clone()]);
    let _b = write_pack(dir.path(), std::slice::from_ref(&r0));
    let d = damage(dir.path(), &a, &r0.id);
    let name = a.name().to_string();
    let path = file(dir.path(), &name, PACK_EXT);
    let cut = a.index().lookup(&r1.id).unwrap().offset + 10;
    drop(a);
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let files_before = fs::read_dir(dir.path()).unwrap().count();
    let mut set = PackSet::open(dir.path()).unwrap();
    let report = set.drop_superseded(std::slice::from_ref(&d)).unwrap();
    assert!(report.dropped.is_empty() && report.rewritten.is_empty());
    assert_eq!(report.kept, vec![d]);
    assert_eq!(report.left.len(), 1);
    assert_eq!(report.left[0].0, name);
    assert!(
        report.left[0].1.contains("cannot read"),
        "{:?}",
        report.left
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), cut);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), files_before);
}
