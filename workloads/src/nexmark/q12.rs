//! Nexmark q12, processing-time windows: bids per bidder per 10 s tumbling window of
//! processing time (Flink: `TUMBLE(PROCTIME(), 10 s)`).
//!
//! Run it with `--clock processing`: windows then follow the epoch each bid arrived in,
//! so two runs differ and only the input log reproduces one (`--record`, then
//! `reprise replay`). With the event clock the same query windows by event time, which is
//! deterministic (and how its baseline is tested).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::Event;
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use reprise_engine::params::DURATION_MS;
use serde::{Deserialize, Serialize};

use crate::baseline::count_per_window;

/// One bidder's bids in one window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BidderCount {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// The bidder.
    pub bidder: u64,
    /// Bids in the window.
    pub bids: i64,
}

/// The q12 job.
#[derive(Clone, Debug)]
pub struct Q12 {
    window: TumblingWindow,
}

impl Job for Q12 {
    type Event = Event;
    type Output = BidderCount;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, BidderCount> {
        events
            .window_sum_by(self.window, ctx, |event| {
                super::bid(event).map(|bid| (bid.bidder, bid.date_time, 1))
            })
            .map(|(window_start, bidder, bids)| BidderCount {
                window_start,
                bidder,
                bids,
            })
    }

    fn closing_epoch(&self, record: &BidderCount, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &BidderCount, i64),
    ) -> Result<(), NoBaseline> {
        let each_bid = |event: &Event, count: &mut dyn FnMut(u64, u64)| {
            if let Event::Bid(bid) = event {
                count(bid.bidder, bid.date_time);
            }
        };
        let record = |window_start, bidder: &u64, bids| BidderCount {
            window_start,
            bidder: *bidder,
            bids,
        };
        count_per_window(&self.window, epochs, events, each_bid, record, emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// q12's parameters.
    pub struct Q12Params {
        /// tumbling window size in ms
        window_ms: u64 = "10000" in DURATION_MS,
    }
}

impl Q12 {
    /// The job, from its parameters.
    pub fn new(params: &Q12Params) -> Result<Self, EngineError> {
        Ok(Q12 {
            window: TumblingWindow::new(params.window_ms, 0)?,
        })
    }
}
