//! Nexmark q17, auction statistics report (not in the original suite; Flink's `q17.sql`):
//! per auction and day, its bids in three price ranks and the minimum, maximum, average
//! and sum of their prices:
//!
//! ```sql
//! SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`,
//!     count(*) AS total_bids,
//!     count(*) FILTER (WHERE price < 10000) AS rank1_bids,
//!     count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
//!     count(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
//!     min(price) AS min_price, max(price) AS max_price,
//!     avg(price) AS avg_price, sum(price) AS sum_price
//! FROM bid
//! GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! `avg` of a `BIGINT` is a `BIGINT` in Flink: the sum divided by the count, truncated.
//! Days are UTC. Flink keeps every (auction, day) group for ever; here a day is a tumbling
//! window of event time, so its groups are final, and retracted, when the day ends (plus
//! `lateness_ms`): state holds the open days only. Under `--clock processing` the day is
//! the day the bid arrived in.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::params::DURATION_MS;
use reprise_engine::window::{Aggregate, TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

use super::date::{self, DAY_MS};
use crate::baseline::{KeyedWindows, calendar_day, window_time};

/// One auction's bids on one day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuctionDay {
    /// The auction.
    pub auction: u64,
    /// The day, `yyyy-MM-dd` (UTC).
    pub day: String,
    /// Its bids.
    pub total_bids: u64,
    /// Bids under 10,000 (cents).
    pub rank1_bids: u64,
    /// Bids from 10,000 to under 1,000,000.
    pub rank2_bids: u64,
    /// Bids of 1,000,000 and over.
    pub rank3_bids: u64,
    /// The lowest price.
    pub min_price: u64,
    /// The highest price.
    pub max_price: u64,
    /// The sum of the prices over the number of bids, truncated.
    pub avg_price: u64,
    /// The sum of the prices (128 bits: a sum of 64-bit prices cannot wrap).
    pub sum_price: u128,
}

/// The price rank of Flink's FILTER clauses in q15-q17: 0 below 10,000, 1 below
/// 1,000,000, 2 from there.
pub fn price_rank(price: u64) -> usize {
    match price {
        0..10_000 => 0,
        10_000..1_000_000 => 1,
        _ => 2,
    }
}

/// The running statistics of a group of bids: a window [`Aggregate`] (merged per worker
/// and epoch, then by the group's owner). Insert-only, as a minimum is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PriceStats {
    bids_per_rank: [u64; 3],
    min: u64,
    max: u64,
    sum: u128,
}

impl PriceStats {
    fn of(price: u64) -> Self {
        let mut bids_per_rank = [0; 3];
        bids_per_rank[price_rank(price)] = 1;
        Self {
            bids_per_rank,
            min: price,
            max: price,
            sum: price.into(),
        }
    }

    fn row(&self, auction: u64, day_start_ms: u64) -> AuctionDay {
        let total: u64 = self.bids_per_rank.iter().sum();
        AuctionDay {
            auction,
            day: date::day(day_start_ms),
            total_bids: total,
            rank1_bids: self.bids_per_rank[0],
            rank2_bids: self.bids_per_rank[1],
            rank3_bids: self.bids_per_rank[2],
            min_price: self.min,
            max_price: self.max,
            avg_price: (self.sum / u128::from(total)) as u64,
            sum_price: self.sum,
        }
    }
}

impl Aggregate for PriceStats {
    fn times(self, diff: isize) -> Self {
        assert_eq!(diff, 1, "q17's statistics need insert-only input (bids)");
        self
    }
    fn merge(&mut self, other: Self) {
        for (mine, theirs) in self.bids_per_rank.iter_mut().zip(other.bids_per_rank) {
            *mine += theirs;
        }
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }
    fn is_empty(&self) -> bool {
        false
    }
}

/// The q17 job.
#[derive(Clone, Debug)]
pub struct Q17 {
    day: TumblingWindow,
}

impl Job for Q17 {
    type Event = Event;
    type Output = AuctionDay;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, AuctionDay> {
        events
            .window_aggregate_by(self.day, ctx, |event| {
                super::bid(event).map(|bid| (bid.auction, bid.date_time, PriceStats::of(bid.price)))
            })
            .map(|(day_start, auction, stats)| stats.row(auction, day_start))
    }

    fn closing_epoch(&self, record: &AuctionDay, epochs: &EpochConfig) -> Option<Epoch> {
        let start = date::day_start_ms(&record.day).expect("q17 writes its days");
        Some(self.day.closing_epoch(start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &AuctionDay, i64),
    ) -> Result<(), NoBaseline> {
        // From the SQL: each group's bids' prices, aggregated when its row is asked for.
        let row = |start: u64, auction: &u64, prices: &Vec<u64>| {
            let count = |keep: fn(&u64) -> bool| prices.iter().filter(|p| keep(p)).count() as u64;
            let sum: u128 = prices.iter().map(|p| u128::from(*p)).sum();
            AuctionDay {
                auction: *auction,
                day: calendar_day(start),
                total_bids: prices.len() as u64,
                rank1_bids: count(|p| *p < 10000),
                rank2_bids: count(|p| *p >= 10000 && *p < 1000000),
                rank3_bids: count(|p| *p >= 1000000),
                min_price: *prices.iter().min().expect("a group has a bid"),
                max_price: *prices.iter().max().expect("a group has a bid"),
                avg_price: (sum / prices.len() as u128) as u64,
                sum_price: sum,
            }
        };
        let mut days = KeyedWindows::new(DAY_MS, self.day.lateness_ms, epochs.epoch_ms, row);
        for (epoch, event) in events {
            days.advance(epoch, emit);
            let Event::Bid(Bid {
                auction,
                price,
                date_time,
                ..
            }) = event
            else {
                continue;
            };
            let time = window_time(epochs, date_time, epoch);
            days.update(epoch, time, auction, |prices| prices.push(price), emit);
        }
        days.finish(emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// The parameters of the per-day queries (q15-q17).
    pub struct DailyParams {
        /// allowed lateness in ms: a day's rows are final this long after it ends
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

impl Q17 {
    /// The job, from its parameters.
    pub fn new(params: &DailyParams) -> Result<Self, EngineError> {
        Ok(Q17 {
            day: TumblingWindow::new(DAY_MS, params.lateness_ms)?,
        })
    }
}
