//! Nexmark q7, highest bid: per 10 s tumbling window, every bid whose price is the
//! window's highest (ties kept), with the window (Flink's SQL joins bids with the window's
//! max price; bid time in the window).
//!
//! The window operator keeps only the bids at the highest price so far ([`WindowMax`]):
//! each worker keeps its epoch's highest bids per window, and the window's owner keeps the
//! overall highest, so no worker sees every bid and a window's state is its top bids only
//! (Flink holds every bid of the window for its join).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::window::{TumblingWindow, WindowMax};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use reprise_engine::params::DURATION_MS;
use serde::{Deserialize, Serialize};

use crate::baseline::{WindowedRows, window_time};

/// A bid at its window's highest price.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HighestBid {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// The window's highest price, in cents.
    pub price: u64,
    /// Event time in ms.
    pub date_time: u64,
    /// Padding, as in the bid.
    pub extra: String,
}

impl HighestBid {
    fn new(window_start: u64, bid: &Bid) -> Self {
        Self {
            window_start,
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price,
            date_time: bid.date_time,
            extra: bid.extra.clone(),
        }
    }
}

/// The q7 job.
#[derive(Clone, Debug)]
pub struct Q7 {
    window: TumblingWindow,
}

impl Job for Q7 {
    type Event = Event;
    type Output = HighestBid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, HighestBid> {
        events
            .flat_map(|event| super::bid(event).map(|bid| ((), bid.date_time, bid)))
            .window_max(self.window, ctx, |bid: &Bid| bid.price)
            .map(|(window_start, (), bid)| HighestBid::new(window_start, &bid))
    }

    fn closing_epoch(&self, record: &HighestBid, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &HighestBid, i64),
    ) -> Result<(), NoBaseline> {
        // Per window: the highest price, and its bids with their multiplicities.
        type Highest = (u64, FxHashMap<Bid, i64>);
        let rows = |start: u64, (_, bids): &Highest| -> Vec<(HighestBid, i64)> {
            bids.iter()
                .map(|(bid, n)| (HighestBid::new(start, bid), *n))
                .collect()
        };
        let size = self.window.size_ms;
        let mut windows = WindowedRows::new(size, self.window.lateness_ms, epochs.epoch_ms, rows);
        for (epoch, event) in events {
            windows.advance(epoch, emit);
            let Event::Bid(bid) = event else { continue };
            let time = window_time(epochs, bid.date_time, epoch);
            windows.update(
                epoch,
                time - time % size,
                |window: &mut Highest| {
                    if bid.price > window.0 {
                        *window = (bid.price, FxHashMap::default());
                    }
                    if bid.price == window.0 {
                        *window.1.entry(bid).or_insert(0) += 1;
                    }
                },
                emit,
            );
        }
        windows.finish(emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// q7's parameters.
    pub struct Q7Params {
        /// tumbling window size in ms
        window_ms: u64 = "10000" in DURATION_MS,
        /// allowed lateness in ms: a window closes this long after its end (Flink's DDL allows 4 s)
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

impl Q7 {
    /// The job, from its parameters.
    pub fn new(params: &Q7Params) -> Result<Self, EngineError> {
        Ok(Q7 {
            window: TumblingWindow::new(params.window_ms, params.lateness_ms)?,
        })
    }
}
