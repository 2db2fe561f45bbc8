//! `filter-count`: keep events with `value > threshold`, count them per partition key
//! (`id % partitions`) per tumbling window.

use differential_dataflow::VecCollection;
use reprise_datasets::{FilterEvent, FilterEvents, Timeline};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use serde::{Deserialize, Serialize};

use crate::baseline::count_per_window;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::RATE_RANGE;
use reprise_engine::params::DURATION_MS;

/// Events kept in one window for one partition key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WindowCount {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// Partition key, `id % partitions`.
    pub key: u64,
    /// Events with `value > threshold` in the window.
    pub count: i64,
}

/// The `filter-count` job.
#[derive(Clone, Debug)]
pub struct FilterCount {
    threshold: u64,
    partitions: u64,
    window: TumblingWindow,
}

impl Job for FilterCount {
    type Event = FilterEvent;
    type Output = WindowCount;

    fn event_time_ms(event: &FilterEvent) -> u64 {
        event.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, FilterEvent>,
    ) -> VecCollection<'s, Epoch, WindowCount> {
        let (threshold, partitions) = (self.threshold, self.partitions);
        events
            .window_sum_by(self.window, ctx, move |e| {
                (e.value > threshold).then_some((e.id % partitions, e.ts, 1))
            })
            .map(|(window_start, key, count)| WindowCount {
                window_start,
                key,
                count,
            })
    }

    fn closing_epoch(&self, record: &WindowCount, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, FilterEvent)>,
        emit: &mut dyn FnMut(Epoch, &WindowCount, i64),
    ) -> Result<(), NoBaseline> {
        let keep = |e: &FilterEvent, count: &mut dyn FnMut(u64, u64)| {
            if e.value > self.threshold {
                count(e.id % self.partitions, e.ts);
            }
        };
        let record = |window_start, key: &u64, count| WindowCount {
            window_start,
            key: *key,
            count,
        };
        count_per_window(&self.window, epochs, events, keep, record, emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// filter-count's parameters.
    pub struct FilterCountParams {
        /// keep events with value > threshold
        threshold: u64 = "100",
        /// partition key is id % partitions
        partitions: u64 = "3" in 1..=u64::MAX,
        /// tumbling window size in ms
        window_ms: u64 = "1000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

reprise_engine::params! {
    /// The events generator's parameters.
    pub struct FilterEventsParams {
        /// events per second of event time
        rate: u64 = "1000000" in RATE_RANGE,
        /// distinct ids (uniform)
        ids: u64 = "1000000" in 1..=u64::MAX,
        /// values uniform in 0..max_value
        max_value: u64 = "1000" in 1..=u64::MAX,
    }
}

impl Definition for FilterCount {
    type Data = FilterEvents;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "filter-count",
        summary: "events with value > threshold, counted per key (id % partitions) per tumbling window",
        params: FilterCountParams::SPECS,
        generator_params: FilterEventsParams::SPECS,
        dataset: "events",
        input_format: "CSV header `id,value,ts`; JSON lines {\"id\":u64,\"value\":u64,\"ts\":u64}; ts in ms",
        default_epoch_ms: 100,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = FilterCountParams::from_params(params)?;
        Ok(Self {
            threshold: p.threshold,
            partitions: p.partitions,
            window: TumblingWindow::new(p.window_ms, p.lateness_ms)?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<FilterEvents, EngineError> {
        let p = FilterEventsParams::from_params(params)?;
        Ok(FilterEvents {
            seed,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: p.rate,
            },
            ids: p.ids,
            max_value: p.max_value,
        })
    }
}
