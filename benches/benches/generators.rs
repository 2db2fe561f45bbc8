//! Isolates the dataset generators: events/s of `generate(i)` for each seed dataset, one
//! thread, no dataflow. Run: `cargo bench -p reprise-benches --bench generators`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reprise_datasets::zipf::Zipf;
use reprise_datasets::{FilterEvents, Flows, Generator, TextLines, Timeline, Visits};
use std::hint::black_box;

const EVENTS: u64 = 100_000;

fn bench<G: Generator>(c: &mut Criterion, name: &str, generator: G) {
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function(name, |b| {
        b.iter(|| {
            for i in 0..EVENTS {
                black_box(generator.generate(i));
            }
        })
    });
    group.finish();
}

fn generators(c: &mut Criterion) {
    let timeline = Timeline {
        start_ms: 0,
        rate_per_sec: 1_000_000,
    };
    bench(c, "events", FilterEvents::default());
    bench(c, "flows", Flows::new(1, timeline, 10_000, 1.0));
    bench(c, "nexmark", reprise_datasets::nexmark::Nexmark::default());
    bench(
        c,
        "visits",
        Visits {
            seed: 1,
            timeline,
            users: Zipf::new(100_000, 1.0),
        },
    );
    bench(
        c,
        "lines",
        TextLines {
            seed: 1,
            timeline,
            vocabulary: Zipf::new(50_000, 1.0),
            max_words: 12,
        },
    );
}

criterion_group!(benches, generators);
criterion_main!(benches);
