//! Jobs: named, parameterised builders from an input collection to an output collection.

use std::cell::Cell;
use std::fmt::Debug;
use std::rc::Rc;

use differential_dataflow::VecCollection;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Epoch, EpochConfig};

/// What an input event or an output record must be: exchangeable between workers and
/// processes, totally ordered (for consolidation), and serialisable (for digests, logs
/// and output files).
pub trait Record:
    differential_dataflow::ExchangeData + Serialize + DeserializeOwned + Debug + Send + Sync
{
}
impl<T> Record for T where
    T: differential_dataflow::ExchangeData + Serialize + DeserializeOwned + Debug + Send + Sync
{
}

/// What a job sees while it builds its dataflow on one worker.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// How epochs are cut.
    pub epochs: EpochConfig,
    /// This worker's index and the number of workers.
    pub worker: (usize, usize),
    late: Rc<Cell<u64>>,
}

impl JobContext {
    /// A context for one worker.
    pub fn new(epochs: EpochConfig, worker: (usize, usize)) -> Self {
        Self {
            epochs,
            worker,
            late: Rc::new(Cell::new(0)),
        }
    }

    /// Counts `n` late events dropped by a window on this worker.
    pub fn count_late(&self, n: u64) {
        self.late.set(self.late.get() + n);
    }

    /// Late events dropped on this worker so far.
    pub fn late_events(&self) -> u64 {
        self.late.get()
    }
}

/// A workload's dataflow, its output's meaning, and its single-threaded baseline.
///
/// The engine owns workers, epochs, sources, sinks and digests: a job only says how the
/// input collection becomes the output collection (on every worker, identically), and
/// how to compute the same per-epoch output updates by hand.
pub trait Job: Send + Sync + 'static {
    /// One input event.
    type Event: Record;
    /// One output record.
    type Output: Record;

    /// The output columns a directory output (`--output DIR/`) is partitioned by, one
    /// file per value (Flink's `PARTITIONED BY`); none: the directory holds one file.
    const PARTITION_BY: &'static [&'static str] = &[];

    /// The event's time in milliseconds (its epoch is `time / epoch_ms`).
    fn event_time_ms(event: &Self::Event) -> u64;

    /// Builds the dataflow from the input collection (each event at its epoch, diff +1).
    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Self::Event>,
    ) -> VecCollection<'s, Epoch, Self::Output>;

    /// For windowed output: the epoch at which `record`'s window closes. A retraction of
    /// `record` at exactly that epoch is the window's final value (Flink-style output).
    fn closing_epoch(&self, _record: &Self::Output, _epochs: &EpochConfig) -> Option<Epoch> {
        None
    }

    /// The hand-written single-threaded baseline, if the job has one: consumes
    /// `(epoch, event)` pairs in input order (epochs never decrease) and emits the same
    /// output updates `(epoch, record, diff)` as the dataflow, in any order within an epoch.
    /// A job without one leaves this out: `--check baseline` then says so, and the checks
    /// that need no baseline (worker counts, replay) still work.
    fn baseline(
        &self,
        _epochs: &EpochConfig,
        _events: &mut dyn Iterator<Item = (Epoch, Self::Event)>,
        _emit: &mut dyn FnMut(Epoch, &Self::Output, i64),
    ) -> Result<(), NoBaseline> {
        Err(NoBaseline)
    }
}

/// What [`Job::baseline`] returns for a job without a baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoBaseline;
