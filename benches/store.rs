//! Criterion benchmarks of the store's kernels.
//!
//! * `lookup/1M_random_in_1M` — the bound: 1,000,000 random id lookups in a
//!   store holding 1,000,000 chunks (must finish in under 2 s).
//! * `chunker`, `blake3` — per-MiB throughput of cutting and hashing.
//! * `ingest` — the full write path (chunk, hash, compress, append) on 64 MiB.
//!
//! Run: `cargo bench --bench store` (figures in README.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gadn::store::chunker::{ChunkParams, Chunker};
use gadn::store::pack::{Codec, PackSet, PackWriter};
use gadn::store::{ObjectId, ObjectKind};

fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut ctr = 0u64;
    while out.len() < len {
        let mut h = blake3::Hasher::new();
        h.update(&seed.to_le_bytes());
        h.update(&ctr.to_le_bytes());
        out.extend_from_slice(h.finalize().as_bytes());
        ctr += 1;
    }
    out.truncate(len);
    out
}

fn lookups(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = PackWriter::create(dir.path()).expect("pack");
    let mut ids = Vec::with_capacity(N as usize);
    for i in 0..N {
        let raw = i.to_le_bytes();
        let id = ObjectId::of_chunk(&raw);
        w.append(id, ObjectKind::Chunk, Codec::Raw, raw.len() as u32, &raw)
            .expect("append");
        ids.push(id);
    }
    w.finish().expect("seal").expect("non-empty");
    let set = PackSet::open(dir.path()).expect("open");
    // Random order, deterministic.
    let mut order: Vec<ObjectId> = ids.clone();
    let mut state = 0x9e3779b97f4a7c15u64;
    for i in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let mut g = c.benchmark_group("lookup");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N));
    g.bench_function("1M_random_in_1M", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for id in &order {
                found += set.locate(id).is_some() as usize;
            }
            assert_eq!(found, N as usize);
            found
        })
    });
    g.finish();
}

fn kernels(c: &mut Criterion) {
    let data = noise(64 << 20, 1);
    let mut g = c.benchmark_group("kernels");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("chunker", |b| {
        b.iter(|| {
            Chunker::new(&data[..], ChunkParams::DEFAULT)
                .map(|c| c.expect("chunk").data.len())
                .sum::<usize>()
        })
    });
    g.bench_function("blake3", |b| b.iter(|| blake3::hash(black_box(&data))));
    g.bench_function("ingest", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let store =
                    gadn::store::Store::init(&dir.path().join(".gadn"), ChunkParams::DEFAULT)
                        .expect("init");
                (dir, store)
            },
            |(dir, mut store)| {
                let (lock, _) = store.lock().expect("lock");
                let mut w = store.writer(&lock);
                w.ingest(&data[..]).expect("ingest");
                w.finish().expect("finish");
                drop(lock);
                drop(dir);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// zstd "when it pays": incompressible chunks must be rejected cheaply by the probe;
/// text-like chunks compress.
fn codec(c: &mut Criterion) {
    use gadn::store::pack::Compressor;
    let random = noise(64 << 10, 2);
    let text: Vec<u8> = (0..64 << 10)
        .map(|i| b"texture mesh shader sound level "[i % 32] ^ (i / 997) as u8)
        .collect();
    let mut g = c.benchmark_group("codec_64KiB");
    g.throughput(Throughput::Bytes(64 << 10));
    let mut comp = Compressor::new(3).expect("zstd");
    let mut out = Vec::new();
    g.bench_function("random", |b| {
        b.iter(|| comp.encode(black_box(&random), &mut out))
    });
    g.bench_function("text", |b| {
        b.iter(|| comp.encode(black_box(&text), &mut out))
    });
    g.finish();
}

/// The chunker against fastcdc's own StreamCDC on the same data.
fn chunker_vs_streamcdc(c: &mut Criterion) {
    let data = noise(64 << 20, 3);
    let p = ChunkParams::DEFAULT;
    let mut g = c.benchmark_group("cdc_64MiB");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("gadn_chunker", |b| {
        b.iter(|| {
            Chunker::new(&data[..], p)
                .map(|c| c.expect("chunk").data.len())
                .sum::<usize>()
        })
    });
    g.bench_function("fastcdc_streamcdc", |b| {
        b.iter(|| {
            fastcdc::v2020::StreamCDC::new(&data[..], p.min, p.avg, p.max)
                .map(|c| c.expect("chunk").length)
                .sum::<usize>()
        })
    });
    g.finish();
}

/// Loading and writing a 100,000-entry index (the `status` and `add` cost floor).
fn index_table(c: &mut Criterion) {
    use gadn::store::db::{Db, IndexEntry};
    use gadn::store::object::EntryKind;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut db = Db::open(&dir.path().join("gadn.db")).expect("db");
    let entries: Vec<IndexEntry> = (0..100_000u64)
        .map(|i| IndexEntry {
            path: format!("d{:02}/d{:02}/f{i:06}.bin", i % 37, i % 11),
            kind: EntryKind::File,
            file_id: ObjectId::of_chunk(&i.to_le_bytes()),
            size: i,
            mtime_ns: i as i64,
            ctime_ns: i as i64,
            ino: i,
            dev: 1,
            meta: None,
        })
        .collect();
    let mut sorted = entries.clone();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut g = c.benchmark_group("index_100k");
    g.sample_size(10);
    g.bench_function("write", |b| {
        b.iter(|| db.write_index(&sorted).expect("write"))
    });
    db.write_index(&sorted).expect("write");
    g.bench_function("load", |b| b.iter(|| db.load_index().expect("load").len()));
    let _ = &mut db;
    g.finish();
}

criterion_group!(
    benches,
    lookups,
    kernels,
    codec,
    chunker_vs_streamcdc,
    index_table
);
criterion_main!(benches);
