//! Isolates the output digest: `record_hash` (postcard encoding + XXH3) on typical output
//! records, and folding hashes into epoch digests. Run:
//! `cargo bench -p reprise-benches --bench digest`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reprise_engine::digest::{EpochDigest, record_hash};
use std::hint::black_box;

const RECORDS: u64 = 100_000;

fn digest(c: &mut Criterion) {
    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("record_hash/(u64,u64,i64)", |b| {
        b.iter(|| {
            let mut d = EpochDigest::default();
            for i in 0..RECORDS {
                d.add(record_hash(&(i / 7 * 1000, i % 1000, i as i64)), 1);
            }
            black_box(d)
        })
    });
    let words: Vec<(u64, String, i64)> = (0..RECORDS)
        .map(|i| (i / 1000, reprise_datasets::word(i % 5000), i as i64))
        .collect();
    group.bench_function("record_hash/(u64,String,i64)", |b| {
        b.iter(|| {
            let mut d = EpochDigest::default();
            for w in &words {
                d.add(record_hash(w), -1);
            }
            black_box(d)
        })
    });
    group.finish();
}

criterion_group!(benches, digest);
criterion_main!(benches);
