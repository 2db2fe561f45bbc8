//! `filter-count`: keep events with `value > threshold`, count them per partition key
//! (`id % partitions`) per tumbling window.

use differential_dataflow::VecCollection;
use reprise_datasets::{FilterEvent, FilterEvents, Timeline};
use reprise_engine::window::{TumblingWindow, WindowSum};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, ParamSpec, Params,
};
use serde::{Deserialize, Serialize};

use crate::baseline::count_per_window;
use reprise_cli::workload::{Definition, RATE_RANGE, WorkloadInfo};

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
            .flat_map(move |e| (e.value > threshold).then_some((e.id % partitions, e.ts, 1)))
            .window_sum(self.window, ctx)
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

impl Definition for FilterCount {
    type Data = FilterEvents;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "filter-count",
        summary: "events with value > threshold, counted per key (id % partitions) per tumbling window",
        params: &[
            ParamSpec {
                name: "threshold",
                default: "100",
                help: "keep events with value > threshold",
            },
            ParamSpec {
                name: "partitions",
                default: "3",
                help: "partition key is id % partitions",
            },
            ParamSpec {
                name: "window_ms",
                default: "1000",
                help: "tumbling window size in ms",
            },
            ParamSpec {
                name: "lateness_ms",
                default: "0",
                help: "allowed lateness in ms",
            },
            ParamSpec {
                name: "rate",
                default: "1000000",
                help: "generator: events per second of event time",
            },
            ParamSpec {
                name: "ids",
                default: "1000000",
                help: "generator: distinct ids (uniform)",
            },
            ParamSpec {
                name: "max_value",
                default: "1000",
                help: "generator: values uniform in 0..max_value",
            },
        ],
        dataset: "events",
        input_format: "CSV header `id,value,ts`; JSON lines {\"id\":u64,\"value\":u64,\"ts\":u64}; ts in ms",
        output_format: "window_start,key,count",
        default_epoch_ms: 100,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let partitions: u64 = params.get_in("partitions", 1..=u64::MAX)?;
        Ok(Self {
            threshold: params.get("threshold")?,
            partitions,
            window: TumblingWindow::new(
                params.duration_ms("window_ms")?,
                params.duration_ms("lateness_ms")?,
            )?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<FilterEvents, EngineError> {
        Ok(FilterEvents {
            seed,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: params.get_in("rate", RATE_RANGE)?,
            },
            ids: params.get_in("ids", 1..=u64::MAX)?,
            max_value: params.get_in("max_value", 1..=u64::MAX)?,
        })
    }
}
