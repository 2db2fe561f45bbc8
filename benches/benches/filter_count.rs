//! `filter-count` end to end (generator, window, digest) against the same counts written by
//! hand: a timely operator (a hash map per window, events exchanged by key) and a
//! differential program (`count_total`, each event retracted at its window's close).
//! 100k keys, 1M events per second of event time, one epoch per 1 s window, every event
//! kept, 10M events, at 1 and 2 workers. Reprise runs through the workload registry, as
//! `reprise run` does. Every program's digests must equal the workload baseline's before
//! anything is timed. Run: `cargo bench -p reprise-benches --bench filter_count`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprise_benches::peers::{FilterCountSetup, differential_count_total, timely_operator};
use reprise_cli::workload::{Input, Workload};
use reprise_datasets::{FilterEvents, Timeline};
use reprise_engine::digest::DigestLog;
use reprise_engine::{Clock, EpochConfig, Params, RunConfig};

/// The same allocator as the `reprise` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: u64 = 10_000_000;
const SEED: u64 = 1;
const WINDOW_MS: u64 = 1000;

const PARAMS: [&str; 5] = [
    "partitions=100000",
    "ids=100000",
    "rate=1000000",
    "max_value=1000000",
    "threshold=0",
];

fn setup() -> FilterCountSetup {
    FilterCountSetup {
        dataset: FilterEvents {
            seed: SEED,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: 1_000_000,
            },
            ids: 100_000,
            max_value: 1_000_000,
        },
        events: EVENTS,
        threshold: 0,
        partitions: 100_000,
        window_ms: WINDOW_MS,
    }
}

#[derive(Clone, Copy, Debug)]
enum Program {
    Reprise,
    TimelyOperator,
    DifferentialCountTotal,
}

struct Bench {
    workload: &'static dyn Workload,
    params: Params,
    input: Input,
    setup: FilterCountSetup,
}

impl Bench {
    fn new() -> Self {
        let workload = reprise_workloads::find("filter-count").expect("filter-count is built in");
        let overrides: Vec<String> = PARAMS.iter().map(|p| p.to_string()).collect();
        Self {
            workload,
            params: workload
                .info()
                .parse_params(&overrides)
                .expect("valid params"),
            input: Input::Generated {
                events: EVENTS,
                seed: SEED,
            },
            setup: setup(),
        }
    }

    fn run(&self, program: Program, workers: usize) -> DigestLog {
        match program {
            Program::Reprise => {
                let config = RunConfig::new(workers, WINDOW_MS);
                self.workload
                    .run(&self.params, &self.input, &config, &mut |_| {})
                    .expect("filter-count runs")
                    .digests
            }
            Program::TimelyOperator => timely_operator(&self.setup, workers),
            Program::DifferentialCountTotal => differential_count_total(&self.setup, workers),
        }
    }
}

const PROGRAMS: [Program; 3] = [
    Program::Reprise,
    Program::TimelyOperator,
    Program::DifferentialCountTotal,
];

fn filter_count(c: &mut Criterion) {
    let bench = Bench::new();
    let epochs = EpochConfig {
        clock: Clock::Event,
        epoch_ms: WINDOW_MS,
    };
    let expected = bench
        .workload
        .baseline(&bench.params, &bench.input, &epochs, None)
        .expect("the baseline runs")
        .digests;
    for workers in [1, 2] {
        for program in PROGRAMS {
            if let Some(divergence) = expected.first_divergence(&bench.run(program, workers)) {
                panic!("{program:?} on {workers} workers differs from the baseline: {divergence}");
            }
        }
    }
    let mut group = c.benchmark_group("filter-count");
    group
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_secs(1))
        .throughput(Throughput::Elements(EVENTS));
    for workers in [1, 2] {
        for program in PROGRAMS {
            group.bench_function(BenchmarkId::new(format!("{program:?}"), workers), |b| {
                b.iter(|| bench.run(program, workers))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, filter_count);
criterion_main!(benches);
