//! Isolates the input log's event codec: encode and decode events/s of postcard (Reprise's
//! log codec), postcard + LZ4 (the default), and, to show the choice in numbers, bincode
//! 1.x and abomonation (refused: unmaintained / unsound) on the same events. Every codec's
//! decode must give back the events it encoded before anything is timed.
//! Run: `cargo bench -p reprise-benches --bench codec`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprise_datasets::zipf::Zipf;
use reprise_datasets::{FilterEvents, Generator, TextLines, Timeline};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::hint::black_box;

const EVENTS: u64 = 100_000;

fn postcard_encode<E: Serialize>(events: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for event in events {
        out = postcard::to_extend(event, out).unwrap();
    }
    out
}

fn postcard_decode<E: DeserializeOwned>(mut bytes: &[u8], count: usize) -> Vec<E> {
    let mut events = Vec::with_capacity(count);
    for _ in 0..count {
        let (event, rest) = postcard::take_from_bytes(bytes).unwrap();
        events.push(event);
        bytes = rest;
    }
    events
}

fn lz4_encode<E: Serialize>(events: &[E]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(&postcard_encode(events))
}

fn lz4_decode<E: DeserializeOwned>(bytes: &[u8], count: usize) -> Vec<E> {
    let (size, body) = lz4_flex::block::uncompressed_size(bytes).unwrap();
    postcard_decode(&lz4_flex::block::decompress(body, size).unwrap(), count)
}

/// Abomonation's encode is an `unsafe fn` too (it copies raw memory).
#[allow(unsafe_code)]
fn abomonation_encode<E: abomonation::Abomonation>(events: &Vec<E>) -> Vec<u8> {
    let mut out = Vec::new();
    // SAFETY: writes into a Vec we own; the events are plain data and owned strings.
    unsafe { abomonation::encode(events, &mut out) }.expect("writing to a Vec succeeds");
    out
}

/// Abomonation decodes in place, in an `unsafe fn`: we own freshly encoded bytes of the
/// same type, which is the only case its documentation allows. Clones out the events, as
/// a replay must own them.
#[allow(unsafe_code)]
fn abomonation_decode<E: abomonation::Abomonation + Clone>(mut bytes: Vec<u8>) -> Vec<E> {
    // SAFETY: `bytes` was produced by `abomonation::encode::<Vec<E>>` in this process.
    let (events, _) = unsafe { abomonation::decode::<Vec<E>>(&mut bytes) }.expect("decodes");
    events.clone()
}

fn bench_codecs<E>(c: &mut Criterion, name: &str, events: Vec<E>)
where
    E: Serialize
        + DeserializeOwned
        + abomonation::Abomonation
        + Clone
        + PartialEq
        + std::fmt::Debug,
{
    // One LZ4 block for the whole set keeps decode simple; the writer's 1 MiB blocks compress alike.
    let postcard = postcard_encode(&events);
    let lz4 = lz4_encode(&events);
    let bincode = bincode::serialize(&events).unwrap();
    let abomonated = abomonation_encode(&events);

    assert_eq!(postcard_decode::<E>(&postcard, events.len()), events);
    assert_eq!(lz4_decode::<E>(&lz4, events.len()), events);
    assert_eq!(bincode::deserialize::<Vec<E>>(&bincode).unwrap(), events);
    assert_eq!(abomonation_decode::<E>(abomonated.clone()), events);
    println!(
        "{name}: bytes/event postcard {:.1}, postcard+lz4 {:.1}, bincode {:.1}, abomonation {:.1}",
        postcard.len() as f64 / EVENTS as f64,
        lz4.len() as f64 / EVENTS as f64,
        bincode.len() as f64 / EVENTS as f64,
        abomonated.len() as f64 / EVENTS as f64
    );

    let mut group = c.benchmark_group(format!("codec/{name}"));
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(BenchmarkId::new("encode", "postcard"), |b| {
        b.iter(|| postcard_encode(black_box(&events)))
    });
    group.bench_function(BenchmarkId::new("encode", "postcard+lz4"), |b| {
        b.iter(|| lz4_encode(black_box(&events)))
    });
    group.bench_function(BenchmarkId::new("encode", "bincode1"), |b| {
        b.iter(|| bincode::serialize(black_box(&events)).unwrap())
    });
    group.bench_function(BenchmarkId::new("encode", "abomonation"), |b| {
        b.iter(|| abomonation_encode(black_box(&events)))
    });
    group.bench_function(BenchmarkId::new("decode", "postcard"), |b| {
        b.iter(|| postcard_decode::<E>(black_box(&postcard), events.len()))
    });
    group.bench_function(BenchmarkId::new("decode", "postcard+lz4"), |b| {
        b.iter(|| lz4_decode::<E>(black_box(&lz4), events.len()))
    });
    group.bench_function(BenchmarkId::new("decode", "bincode1"), |b| {
        b.iter(|| bincode::deserialize::<Vec<E>>(black_box(&bincode)).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "abomonation"), |b| {
        b.iter(|| abomonation_decode::<E>(black_box(abomonated.clone())))
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    let timeline = Timeline {
        start_ms: 0,
        rate_per_sec: 1_000_000,
    };
    let filter = FilterEvents::default();
    let filter_events: Vec<(u64, u64, u64)> = (0..EVENTS)
        .map(|i| filter.generate(i))
        .map(|e| (e.id, e.value, e.ts))
        .collect();
    bench_codecs(c, "filter-count", filter_events);
    let lines = TextLines {
        seed: 1,
        timeline,
        vocabulary: Zipf::new(50_000, 1.0),
        max_words: 12,
    };
    let text_events: Vec<(u64, String)> = (0..EVENTS)
        .map(|i| lines.generate(i))
        .map(|l| (l.ts, l.text))
        .collect();
    bench_codecs(c, "wordcount", text_events);
}

criterion_group!(benches, codec);
criterion_main!(benches);
