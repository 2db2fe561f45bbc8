//! The runtime's contracts: digests independent of the worker count (and a helper that
//! notices when they are not), worker panics and bad input end the run with a clear error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::VecCollection;
use reprise_engine::testing::same_digests_for_workers;
use reprise_engine::window::{TumblingWindow, WindowSum};
use reprise_engine::{
    EngineError, Epoch, Generate, Job, JobContext, RunConfig, Source, SourceError, run,
};

/// Counts `(key, time)` events per key per 50 ms window; optionally misbehaves.
struct Count {
    /// Tag each record with the worker that produced it (non-deterministic by design).
    leak_worker_index: bool,
    /// Panic when a record of this epoch reaches the job.
    panic_at_epoch: Option<Epoch>,
}

impl Job for Count {
    type Event = (u64, u64);
    type Output = (u64, u64, i64);

    fn event_time_ms(event: &(u64, u64)) -> u64 {
        event.1
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, (u64, u64)>,
    ) -> VecCollection<'s, Epoch, (u64, u64, i64)> {
        let window = TumblingWindow::new(50, 0).unwrap();
        let worker = ctx.worker.0 as u64;
        let leak = self.leak_worker_index;
        let panic_at = self.panic_at_epoch.map(|e| e * 10);
        events
            .map(move |(key, time)| {
                if Some(time) == panic_at {
                    panic!("injected failure at time {time}");
                }
                (if leak { key * 100 + worker } else { key }, time, 1)
            })
            .window_sum(window, ctx)
    }
}

fn generated(events: u64) -> Source<(u64, u64)> {
    Source::Generated {
        events,
        generate: Generate::new(|i| (i % 13, i / 4)),
    }
}

#[test]
fn digests_do_not_depend_on_worker_count() {
    let job = Arc::new(Count {
        leak_worker_index: false,
        panic_at_epoch: None,
    });
    let digests = same_digests_for_workers(
        &job,
        || generated(5000),
        &RunConfig::new(1, 10),
        &[1, 2, 3, 4],
    )
    .unwrap()
    .unwrap();
    // 1250 ms of event time in 10 ms epochs; windows of 50 ms retract 5 epochs later.
    assert!(digests.len() > 100, "{}", digests.len());
}

#[test]
fn the_determinism_helper_catches_a_worker_dependent_job() {
    let job = Arc::new(Count {
        leak_worker_index: true,
        panic_at_epoch: None,
    });
    let outcome =
        same_digests_for_workers(&job, || generated(5000), &RunConfig::new(1, 10), &[1, 2])
            .unwrap();
    let dependence = outcome.expect_err("a job that emits its worker index must be caught");
    assert_eq!(dependence.workers, 2);
}

#[test]
fn a_worker_panic_is_an_error_naming_the_worker_not_a_hang() {
    for workers in [1, 2, 3] {
        eprintln!("workers {workers}");
        let job = Arc::new(Count {
            leak_worker_index: false,
            panic_at_epoch: Some(40),
        });
        let started = Instant::now();
        let error = run(
            job,
            generated(100_000),
            &RunConfig::new(workers, 10),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(30));
        match error {
            EngineError::WorkerPanic { message, epoch, .. } => {
                assert!(message.contains("injected failure"), "{message}");
                assert!(epoch <= 40, "epoch {epoch}");
            }
            other => panic!("expected a worker panic, got {other}"),
        }
    }
}

#[test]
fn a_bad_record_is_an_error_naming_the_line_after_completing_earlier_epochs() {
    let records: Vec<Result<(u64, u64), SourceError>> = (0..1000u64)
        .map(|i| {
            if i == 700 {
                Err(SourceError::line(702, "bad number"))
            } else {
                Ok((i % 5, i))
            }
        })
        .collect();
    let source = Source::Read {
        name: "input.csv".into(),
        records: Box::new(records.into_iter()),
    };
    let job = Arc::new(Count {
        leak_worker_index: false,
        panic_at_epoch: None,
    });
    let error = run(job, source, &RunConfig::new(2, 10), &mut |_| {}).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("input.csv") && message.contains("line 702"),
        "{message}"
    );
}

#[test]
fn read_and_generated_sources_agree() {
    let job = Arc::new(Count {
        leak_worker_index: false,
        panic_at_epoch: None,
    });
    let generated_digests = run(
        Arc::clone(&job),
        generated(3000),
        &RunConfig::new(2, 10),
        &mut |_| {},
    )
    .unwrap()
    .digests;
    let records = (0..3000u64).map(|i| Ok((i % 13, i / 4)));
    let source = Source::Read {
        name: "memory".into(),
        records: Box::new(records),
    };
    let read_digests = run(job, source, &RunConfig::new(3, 10), &mut |_| {})
        .unwrap()
        .digests;
    assert_eq!(generated_digests, read_digests);
}
