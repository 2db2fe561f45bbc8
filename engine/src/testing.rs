//! Helpers for tests: run a job on several worker counts and demand identical digests.

use std::sync::Arc;

use crate::digest::DigestLog;
use crate::{EngineError, Job, RunConfig, Source, run};

/// A job whose output depended on the number of workers.
#[derive(Debug)]
pub struct WorkerDependence {
    /// Worker count of the reference run.
    pub reference_workers: usize,
    /// Worker count of the run that differed.
    pub workers: usize,
    /// Where they first differ.
    pub divergence: crate::digest::Divergence,
}

impl std::fmt::Display for WorkerDependence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output with {} workers differs from {} workers at {}",
            self.workers, self.reference_workers, self.divergence
        )
    }
}

/// Runs `job` on a fresh source from `source` once per entry of `workers`, and returns the
/// digests if every run produced the same per-epoch digests.
///
/// # Examples
/// ```
/// # use std::sync::Arc;
/// # use differential_dataflow::VecCollection;
/// # use reprise_engine::{Epoch, EpochConfig, Generate, Job, JobContext, RunConfig, Source};
/// # struct Passthrough;
/// # impl Job for Passthrough {
/// #     type Event = u64; type Output = u64;
/// #     fn event_time_ms(e: &u64) -> u64 { *e }
/// #     fn build<'s>(&self, _: &JobContext, e: VecCollection<'s, Epoch, u64>) -> VecCollection<'s, Epoch, u64> { e }
/// # }
/// let source = || Source::Generated { events: 1000, generate: Generate::new(|i| i) };
/// let config = RunConfig::new(1, 10);
/// let digests = reprise_engine::testing::same_digests_for_workers(&Arc::new(Passthrough), source, &config, &[1, 2, 3]);
/// assert!(digests.unwrap().unwrap().len() > 0);
/// ```
pub fn same_digests_for_workers<J: Job>(
    job: &Arc<J>,
    source: impl Fn() -> Source<J::Event>,
    config: &RunConfig,
    workers: &[usize],
) -> Result<Result<DigestLog, WorkerDependence>, EngineError> {
    let mut reference: Option<(usize, DigestLog)> = None;
    for &count in workers {
        let mut config = config.clone();
        config.workers = count;
        let digests = run(Arc::clone(job), source(), &config, &mut |_| {})?.digests;
        match &reference {
            None => reference = Some((count, digests)),
            Some((reference_workers, expected)) => {
                if let Some(divergence) = expected.first_divergence(&digests) {
                    return Ok(Err(WorkerDependence {
                        reference_workers: *reference_workers,
                        workers: count,
                        divergence,
                    }));
                }
            }
        }
    }
    Ok(Ok(reference.map(|(_, d)| d).unwrap_or_default()))
}
