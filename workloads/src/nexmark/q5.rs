//! Nexmark q5, hot items: per hopping window (10 s, sliding every 2 s, as Flink's SQL;
//! Beam slides every 5 s), the auctions with the most bids; ties are all kept
//! (`count >= max`).
//!
//! Bids are counted per window and auction by the window operator (pre-aggregated per
//! worker and epoch), so the per-window maximum sees counts, never raw bids: no single
//! worker receives every event.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Event, Nexmark};
use reprise_engine::window::{HoppingWindow, WindowAssigner, WindowSum};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, ParamSpec, Params,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::baseline::{WindowedRows, window_time};
use reprise_cli::workload::{Definition, WorkloadInfo};

/// An auction with the most bids in a window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HotItem {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// The auction.
    pub auction: u64,
    /// Its bids in the window (the window's maximum).
    pub bids: i64,
}

/// The q5 job.
#[derive(Clone, Debug)]
pub struct Q5 {
    window: HoppingWindow,
}

impl Job for Q5 {
    type Event = Event;
    type Output = HotItem;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, HotItem> {
        let counts = events
            .flat_map(|event| super::bid(event).map(|bid| (bid.auction, bid.date_time, 1)))
            .window_sum(self.window, ctx);
        let most = counts
            .clone()
            .map(|(window, _, bids)| (window, bids))
            .reduce(|_window, counts, output| {
                output.push((*counts.last().expect("a non-empty group").0, 1isize))
            });
        counts
            .map(|(window, auction, bids)| (window, (auction, bids)))
            .join(most)
            .flat_map(|(window_start, ((auction, bids), most))| {
                (bids >= most).then_some(HotItem {
                    window_start,
                    auction,
                    bids,
                })
            })
    }

    fn closing_epoch(&self, record: &HotItem, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &HotItem, i64),
    ) -> Result<(), NoBaseline> {
        let (size, slide) = (self.window.size_ms, self.window.slide_ms);
        // A window's rows: the auctions whose bid count is the window's maximum.
        let hot = |start: u64, counts: &FxHashMap<u64, i64>| -> Vec<(HotItem, i64)> {
            let most = counts.values().copied().max().unwrap_or(0);
            counts
                .iter()
                .filter(|(_, c)| **c == most)
                .map(|(a, c)| {
                    (
                        HotItem {
                            window_start: start,
                            auction: *a,
                            bids: *c,
                        },
                        1,
                    )
                })
                .collect()
        };
        let mut windows = WindowedRows::new(size, self.window.lateness_ms, epochs.epoch_ms, hot);
        for (epoch, event) in events {
            windows.advance(epoch, emit);
            let Event::Bid(bid) = event else { continue };
            let time = window_time(epochs, bid.date_time, epoch);
            // Every window [start, start + size) holding `time`, starts a multiple of slide.
            let mut start = time - time % slide;
            loop {
                windows.update(
                    epoch,
                    start,
                    |counts: &mut FxHashMap<u64, i64>| *counts.entry(bid.auction).or_insert(0) += 1,
                    emit,
                );
                if start < slide || start - slide + size <= time {
                    break;
                }
                start -= slide;
            }
        }
        windows.finish(emit);
        Ok(())
    }
}

impl Definition for Q5 {
    type Data = Nexmark;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "nexmark-q5",
        summary: "Nexmark q5: per hopping window (10 s every 2 s), the auctions with the most bids, ties kept",
        params: &[
            super::RATE,
            ParamSpec {
                name: "window_ms",
                default: "10000",
                help: "hopping window size in ms",
            },
            ParamSpec {
                name: "slide_ms",
                default: "2000",
                help: "a window starts every slide_ms (must divide window_ms)",
            },
            super::LATENESS_MS,
        ],
        dataset: "nexmark",
        input_format: super::INPUT_FORMAT,
        output_format: "window_start,auction,bids",
        default_epoch_ms: super::DEFAULT_EPOCH_MS,
        csv: false,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        Ok(Q5 {
            window: HoppingWindow::new(
                params.duration_ms("window_ms")?,
                params.duration_ms("slide_ms")?,
                params.duration_ms("lateness_ms")?,
            )?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
        super::dataset(params, seed)
    }
}
