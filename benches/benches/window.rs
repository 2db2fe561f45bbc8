//! Isolates the tumbling-window count: Reprise's window operator against the hand-written
//! differential idiom (insert at t, retract at the close, `count_total`), same job, same
//! generated events (100k keys, 1000 events per ms, one epoch per 1 s window), same
//! runtime, 1 and 2 workers. Both must produce the same digests before anything is timed.
//! Run: `cargo bench -p reprise-benches --bench window`.

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprise_benches::{Idiom, KeyedWindowCount};
use reprise_datasets::rng::EventRng;
use reprise_engine::window::TumblingWindow;
use reprise_engine::{Generate, RunConfig, RunResult, Source, run};

const EVENTS: u64 = 4_000_000;
const EPOCH_MS: u64 = 1000;

fn count(idiom: Idiom, workers: usize) -> RunResult {
    let job = KeyedWindowCount {
        idiom,
        window: TumblingWindow::new(1000, 0).unwrap(),
    };
    let source = Source::Generated {
        events: EVENTS,
        generate: Generate::new(|i| (EventRng::new(7, i).below(100_000), i / 1000)),
    };
    run(
        Arc::new(job),
        source,
        &RunConfig::new(workers, EPOCH_MS),
        &mut |_| {},
    )
    .expect("the benchmark job runs")
}

fn window(c: &mut Criterion) {
    let reference = count(Idiom::HandWrittenDifferential, 1).digests;
    for workers in [1, 2] {
        for idiom in [Idiom::Reprise, Idiom::HandWrittenDifferential] {
            assert_eq!(
                count(idiom, workers).digests,
                reference,
                "{idiom:?} on {workers} workers differs"
            );
        }
    }
    let mut group = c.benchmark_group("tumbling-count");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(EVENTS));
    for workers in [1, 2] {
        for idiom in [Idiom::Reprise, Idiom::HandWrittenDifferential] {
            group.bench_function(BenchmarkId::new(format!("{idiom:?}"), workers), |b| {
                b.iter(|| count(idiom, workers))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, window);
criterion_main!(benches);
