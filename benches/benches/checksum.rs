//! What a log of generated input costs per event: the checksum of a block's events
//! (Reprise's `EventsChecksum`, fed by serde without encoding) against encoding them with
//! postcard and hashing the bytes (what an events block's checksum does), and against
//! making the events (the generator alone), and against the checksum of format version 2
//! (one state, every word of a string). Both checksums must tell two different event
//! sequences apart before anything is timed.
//! Run: `cargo bench -p reprise-benches --bench checksum`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprise_datasets::{FilterEvents, Generator};
use reprise_engine::log::EventsChecksum;
use reprise_engine::log::format::{FORMAT_VERSION, encode_event, events_checksum};
use serde::Serialize;
use std::hint::black_box;

const EVENTS: u64 = 16_384;

/// The checksum a recording computes (this build's format), or that of an older format.
fn checksum<E: Serialize>(events: &[E], format: u16) -> u64 {
    let mut sum = EventsChecksum::of_format(format);
    sum.add_all(events);
    sum.finish()
}

fn encoded_checksum<E: Serialize>(events: &[E], buf: &mut Vec<u8>) -> u64 {
    buf.clear();
    events.iter().for_each(|event| encode_event(event, buf));
    events_checksum(buf)
}

fn bench<G: Generator>(c: &mut Criterion, name: &str, generator: G)
where
    G::Event: Serialize,
{
    let events: Vec<G::Event> = (0..EVENTS).map(|i| generator.generate(i)).collect();
    let shifted: Vec<G::Event> = (1..=EVENTS).map(|i| generator.generate(i)).collect();
    let mut buf = Vec::new();
    for format in [2, FORMAT_VERSION] {
        assert_ne!(checksum(&events, format), checksum(&shifted, format));
    }
    assert_ne!(
        encoded_checksum(&events, &mut buf),
        encoded_checksum(&shifted, &mut buf)
    );
    let mut group = c.benchmark_group(format!("checksum/{name}"));
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(BenchmarkId::new("events_checksum", EVENTS), |b| {
        b.iter(|| black_box(checksum(black_box(&events), FORMAT_VERSION)))
    });
    group.bench_function(BenchmarkId::new("events_checksum_v2", EVENTS), |b| {
        b.iter(|| black_box(checksum(black_box(&events), 2)))
    });
    group.bench_function(BenchmarkId::new("postcard_xxh3", EVENTS), |b| {
        b.iter(|| black_box(encoded_checksum(black_box(&events), &mut buf)))
    });
    group.bench_function(BenchmarkId::new("generate", EVENTS), |b| {
        b.iter(|| {
            for i in 0..EVENTS {
                black_box(generator.generate(i));
            }
        })
    });
    group.finish();
}

fn checksums(c: &mut Criterion) {
    bench(c, "nexmark", reprise_datasets::nexmark::Nexmark::default());
    bench(c, "filter-count", FilterEvents::default());
}

criterion_group!(benches, checksums);
criterion_main!(benches);
