//! Scenario tests across writer, set, recovery, verification and gc, including
//! deliberately damaged packs and indexes. Helpers here; damage in `damage.rs`,
//! recovery and gc in `lifecycle.rs`, packs other processes add in `refresh.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::testutil::{random_bytes, text_like, Rng};
use super::*;
use crate::store::id::{IdPrefix, ObjectId, ObjectKind};

mod damage;
mod lifecycle;
mod refresh;
mod repair;

#[derive(Debug, Clone)]
struct Rec {
    id: ObjectId,
    kind: ObjectKind,
    raw: Vec<u8>,
}

impl Rec {
    fn new(kind: ObjectKind, raw: Vec<u8>) -> Self {
        Rec {
            id: ObjectId::compute(kind, &raw),
            kind,
            raw,
        }
    }
}

/// `n` records of mixed kinds and sizes, about half compressible.
fn records(seed: u64, n: usize) -> Vec<Rec> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let len = rng.below(20_000) as usize;
            let raw = if i % 2 == 0 {
                text_like(rng.next_u64(), len)
            } else {
                random_bytes(rng.next_u64(), len)
            };
            Rec::new(ObjectKind::ALL[i % ObjectKind::ALL.len()], raw)
        })
        .collect()
}

fn append_all(w: &mut PackWriter, recs: &[Rec]) {
    let mut c = Compressor::new(DEFAULT_LEVEL).unwrap();
    let mut out = Vec::new();
    for r in recs {
        let codec = c.encode(&r.raw, &mut out);
        let payload = if codec == Codec::Zstd {
            &out[..]
        } else {
            &r.raw[..]
        };
        assert!(w
            .append(r.id, r.kind, codec, r.raw.len() as u32, payload)
            .unwrap());
    }
}

fn write_pack(dir: &Path, recs: &[Rec]) -> SealedPack {
    let mut w = PackWriter::create(dir).unwrap();
    append_all(&mut w, recs);
    w.finish().unwrap().expect("records were appended")
}

fn file(dir: &Path, name: &str, ext: &str) -> PathBuf {
    dir.join(format!("{name}.{ext}"))
}

fn flip(path: &Path, at: u64) {
    let mut b = fs::read(path).unwrap();
    b[at as usize] ^= 0x40;
    fs::write(path, b).unwrap();
}

fn assert_all_readable(set: &PackSet, recs: &[Rec]) {
    for r in recs {
        assert_eq!(
            set.read(&r.id).unwrap(),
            Some((r.kind, r.raw.clone())),
            "{}",
            r.id
        );
    }
}

#[test]
fn sets_can_be_read_from_several_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<PackSet>();
    let dir = tempfile::tempdir().unwrap();
    let recs = records(5, 64);
    write_pack(dir.path(), &recs);
    let set = PackSet::open(dir.path()).unwrap();
    std::thread::scope(|s| {
        for part in recs.chunks(16) {
            let set = &set;
            s.spawn(move || assert_all_readable(set, part));
        }
    });
}

#[test]
fn round_trip_many_records_and_absent_ids() {
    let dir = tempfile::tempdir().unwrap();
    let a = records(1, 300);
    let b = records(2, 200);
    let sealed_a = write_pack(dir.path(), &a);
    assert_eq!(sealed_a.index().len(), 300);
    let name_a = sealed_a.name().to_string();
    let mut set = PackSet::open(dir.path()).unwrap();
    assert_eq!(set.packs().len(), 1);
    set.add_sealed(write_pack(dir.path(), &b)).unwrap();
    assert_all_readable(&set, &a);
    assert_all_readable(&set, &b);
    let reopened = PackSet::open(dir.path()).unwrap();
    assert_all_readable(&reopened, &a);
    assert_all_readable(&reopened, &b);
    assert!(reopened.unsealed().is_empty() && reopened.damaged_indexes().is_empty());

    let loc = set.locate(&a[7].id).unwrap();
    assert_eq!(set.pack_name(loc.pack), name_a);
    assert_eq!(loc.entry.kind, a[7].kind);
    assert_eq!(loc.entry.raw_len as usize, a[7].raw.len());
    let raw_record = set.read_raw_record(&loc).unwrap();
    assert_eq!(raw_record.len() as u64, loc.entry.record_len());
    assert_eq!(&raw_record[12..44], a[7].id.as_bytes());
    let codecs: Vec<_> = set.entries().map(|(_, e)| e.codec).collect();
    assert_eq!(codecs.len(), 500);
    assert!(codecs.contains(&Codec::Raw) && codecs.contains(&Codec::Zstd));
    for info in set.packs() {
        let on_disk = fs::metadata(file(dir.path(), info.name, PACK_EXT))
            .unwrap()
            .len();
        assert_eq!(info.pack_len, on_disk);
    }

    let mut rng = Rng(3);
    for _ in 0..1000 {
        let mut b = [0u8; 32];
        rng.fill(&mut b);
        let id = ObjectId::from_bytes(b);
        assert!(!set.contains(&id));
        assert_eq!(set.locate(&id), None);
        assert_eq!(set.read(&id).unwrap(), None);
    }
    // Same bytes, other kind: another id, absent.
    assert!(
        !set.contains(&ObjectId::compute(ObjectKind::Tag, &a[0].raw))
            || a[0].kind == ObjectKind::Tag
    );
    assert_eq!(set.verify(|_| {}).unwrap(), Vec::new());
}

#[test]
fn writer_rules() {
    let dir = tempfile::tempdir().unwrap();
    let empty = PackWriter::create(dir.path()).unwrap();
    let path = empty.path().to_path_buf();
    assert!(path.exists());
    assert!(empty.finish().unwrap().is_none());
    assert!(!path.exists(), "an empty pack is deleted");

    let mut w = PackWriter::create(dir.path()).unwrap();
    assert_eq!(w.bytes(), PACK_HEADER_LEN as u64);
    let r = Rec::new(ObjectKind::Chunk, b"payload".to_vec());
    assert!(w.append(r.id, r.kind, Codec::Raw, 7, &r.raw).unwrap());
    assert!(
        !w.append(r.id, r.kind, Codec::Raw, 7, &r.raw).unwrap(),
        "duplicate"
    );
    assert!(w.contains(&r.id));
    assert_eq!(w.len(), 1);
    assert_eq!(w.bytes(), (PACK_HEADER_LEN + RECORD_HEADER_LEN + 7) as u64);
    let err = w
        .append(
            ObjectId::of_chunk(b"x"),
            ObjectKind::Chunk,
            Codec::Raw,
            8,
            b"x",
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            PackError::InvalidAppend {
                problem: RecordProblem::RawLengthMismatch { .. },
                ..
            }
        ),
        "{err}"
    );
    let sealed = w.finish().unwrap().unwrap();
    let name = sealed.name().to_string();
    assert_eq!(
        fs::metadata(file(dir.path(), &name, PACK_EXT))
            .unwrap()
            .len(),
        67
    );
    assert!(file(dir.path(), &name, INDEX_EXT).exists());

    // A pack already loaded is not added twice; one from another directory is refused.
    let mut set = PackSet::open(dir.path()).unwrap();
    set.add_sealed(sealed).unwrap();
    assert_eq!(set.packs().len(), 1);
    let other = tempfile::tempdir().unwrap();
    let foreign = write_pack(other.path(), &records(4, 2));
    let err = set.add_sealed(foreign).unwrap_err();
    assert!(err.to_string().contains("directory"), "{err}");
    assert_eq!(set.packs().len(), 1);
}

#[test]
fn prefix_resolution_across_two_packs() {
    let dir = tempfile::tempdir().unwrap();
    let a = records(10, 600);
    let mut b = records(11, 600);
    b.push(a[0].clone()); // one id in both packs
    let mut set = PackSet::open(dir.path()).unwrap();
    set.add_sealed(write_pack(dir.path(), &a)).unwrap();
    set.add_sealed(write_pack(dir.path(), &b)).unwrap();

    // Full ids and unique prefixes resolve to themselves; the duplicate once.
    let hex = a[0].id.to_hex();
    for n in [12, 13, 64] {
        let p: IdPrefix = hex[..n].parse().unwrap();
        assert_eq!(set.resolve_prefix(&p, 10), vec![a[0].id]);
    }
    // A 4-digit prefix shared by an id of each pack (1200 ids over 65536 prefixes:
    // the seeds are fixed, so such a pair exists; search for it).
    let (x, y) = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| (x, y)))
        .find(|(x, y)| x.id != y.id && x.id.to_hex()[..4] == y.id.to_hex()[..4])
        .expect("a shared 4-digit prefix");
    let p: IdPrefix = x.id.to_hex()[..4].parse().unwrap();
    let found = set.resolve_prefix(&p, 10);
    assert!(
        found.len() >= 2 && found.contains(&x.id) && found.contains(&y.id),
        "{found:?}"
    );
    assert!(
        found.windows(2).all(|w| w[0] < w[1]),
        "ascending, no duplicates"
    );
    assert!(found.iter().all(|id| p.matches(id)));
    let all: Vec<_> = set
        .entries()
        .map(|(_, e)| e.id)
        .filter(|id| p.matches(id))
        .collect();
    let mut expected = all.clone();
    expected.sort();
    expected.dedup();
    assert_eq!(found, expected);
    assert_eq!(set.resolve_prefix(&p, 1), vec![expected[0]]);
    // Odd length prefix and a prefix nothing has.
    let p5: IdPrefix = hex[..5].parse().unwrap();
    assert!(set.resolve_prefix(&p5, 10).contains(&a[0].id));
    let unused = (0..=0xffffu32)
        .map(|v| format!("{v:04x}"))
        .find(|h| {
            !set.entries()
                .any(|(_, e)| e.id.to_hex().starts_with(h.as_str()))
        })
        .unwrap();
    assert!(set.resolve_prefix(&unused.parse().unwrap(), 10).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_records_round_trip(
        recs in prop::collection::vec(
            (0..ObjectKind::ALL.len(), prop::collection::vec(any::<u8>(), 0..3000), any::<bool>()),
            1..40,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let recs: Vec<Rec> = recs
            .into_iter()
            .map(|(k, mut raw, repetitive)| {
                if repetitive {
                    raw = raw.repeat(3);
                }
                Rec::new(ObjectKind::ALL[k], raw)
            })
            .collect();
        let mut w = PackWriter::create(dir.path()).unwrap();
        let mut c = Compressor::new(DEFAULT_LEVEL).unwrap();
        let mut out = Vec::new();
        let mut unique = std::collections::HashMap::new();
        for r in &recs {
            let codec = c.encode(&r.raw, &mut out);
            let payload = if codec == Codec::Zstd { &out[..] } else { &r.raw[..] };
            let fresh = w.append(r.id, r.kind, codec, r.raw.len() as u32, payload).unwrap();
            prop_assert_eq!(fresh, unique.insert(r.id, (r.kind, r.raw.clone())).is_none());
        }
        let mut set = PackSet::open(dir.path()).unwrap();
        set.add_sealed(w.finish().unwrap().unwrap()).unwrap();
        prop_assert_eq!(set.entries().count(), unique.len());
        for (id, want) in &unique {
            let got = set.read(id).unwrap();
            prop_assert_eq!(got.as_ref(), Some(want));
        }
        let damage = set.verify(|_| {}).unwrap();
        prop_assert!(damage.is_empty(), "{:?}", damage);
    }
}

/// Past [`WRITEBACK_STEP`] bytes most of the pack is already in the file before it
/// is sealed (full stages written direct, or writeback started in buffered mode,
/// `pack::write::tests`); the bytes must be exactly those a reader sees after sealing.
#[test]
fn writeback_ahead_keeps_every_record_intact() {
    use crate::store::pack::WRITEBACK_STEP;
    let dir = tempfile::tempdir().unwrap();
    let mut w = PackWriter::create(dir.path()).unwrap();
    let chunk = 1 << 20;
    let n = (WRITEBACK_STEP as usize / chunk) + 3;
    let recs: Vec<Rec> = (0..n)
        .map(|i| {
            Rec::new(
                ObjectKind::Chunk,
                super::testutil::random_bytes(i as u64 + 500, chunk),
            )
        })
        .collect();
    append_all(&mut w, &recs);
    assert!(w.bytes() > WRITEBACK_STEP);
    // Before sealing, what was written back is already in the file.
    let on_disk = std::fs::metadata(w.path()).unwrap().len();
    assert!(on_disk >= WRITEBACK_STEP, "{on_disk}");
    let sealed = w.finish().unwrap().unwrap();
    let mut set = PackSet::open(dir.path()).unwrap();
    set.add_sealed(sealed).unwrap();
    assert_all_readable(&set, &recs);
    assert!(set.verify(|_| {}).unwrap().is_empty());
}

/// Records of every size around the writer's stage and block boundaries (written
/// past the page cache where the file system allows, `pack::out`) land at their
/// offsets, sealed or recovered after a crash.
#[test]
fn records_across_stage_and_block_boundaries_keep_their_order() {
    use crate::store::pack::{ALIGN, STAGE_LEN};
    let dir = tempfile::tempdir().unwrap();
    let recs: Vec<Rec> = (0..24)
        .map(|i| {
            let len = match i % 4 {
                0 => ALIGN,
                1 => 100 + i,
                2 => STAGE_LEN / 3 + i,
                _ => 64 << 10,
            };
            Rec::new(ObjectKind::Chunk, random_bytes(i as u64 + 900, len))
        })
        .collect();
    let sealed = write_pack(dir.path(), &recs);
    let mut set = PackSet::open(dir.path()).unwrap();
    set.add_sealed(sealed).unwrap();
    assert_all_readable(&set, &recs);
    assert!(set.verify(|_| {}).unwrap().is_empty());
    // Dropped unsealed: the file holds every record, and recovery finds them all.
    let other = tempfile::tempdir().unwrap();
    let mut w = PackWriter::create(other.path()).unwrap();
    append_all(&mut w, &recs);
    let len = w.bytes();
    let path = w.path().to_path_buf();
    drop(w);
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    let mut set = PackSet::open(other.path()).unwrap();
    set.recover_unsealed().unwrap();
    assert_all_readable(&set, &recs);
}
