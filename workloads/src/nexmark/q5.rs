//! Nexmark q5, hot items: per hopping window (10 s, sliding every 2 s, as Flink's SQL;
//! Beam slides every 5 s), the auctions with the most bids; ties are all kept
//! (`count >= max`).
//!
//! Bids are counted per window and auction by the window operator (pre-aggregated per
//! worker and epoch), so the per-window maximum sees counts, never raw bids: no single
//! worker receives every event.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::Event;
use reprise_engine::window::{HoppingWindow, WindowAggregateBy, WindowAssigner};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline,
};
use rustc_hash::FxHashMap;
use reprise_engine::params::DURATION_MS;
use serde::{Deserialize, Serialize};

use crate::baseline::{WindowedRows, window_time};

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
        let counts = events.window_sum_by(self.window, ctx, |event| {
            super::bid(event).map(|bid| (bid.auction, bid.date_time, 1))
        });
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

reprise_engine::params! {
    /// q5's parameters.
    pub struct Q5Params {
        /// hopping window size in ms
        window_ms: u64 = "10000" in DURATION_MS,
        /// a window starts every slide_ms (must divide window_ms)
        slide_ms: u64 = "2000" in DURATION_MS,
        /// allowed lateness in ms: a window closes this long after its end (Flink's DDL allows 4 s)
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

impl Q5 {
    /// The job, from its parameters.
    pub fn new(params: &Q5Params) -> Result<Self, EngineError> {
        Ok(Q5 {
            window: HoppingWindow::new(params.window_ms, params.slide_ms, params.lateness_ms)?,
        })
    }
}
