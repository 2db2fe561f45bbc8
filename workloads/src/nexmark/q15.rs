//! Nexmark q15, bidding statistics report (not in the original suite; Flink's `q15.sql`):
//! per day, the bids, distinct bidders and distinct auctions, each overall and in three
//! price ranks:
//!
//! ```sql
//! SELECT DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`,
//!     count(*) AS total_bids,
//!     count(*) FILTER (WHERE price < 10000) AS rank1_bids,
//!     count(*) FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_bids,
//!     count(*) FILTER (WHERE price >= 1000000) AS rank3_bids,
//!     count(DISTINCT bidder) AS total_bidders,
//!     count(DISTINCT bidder) FILTER (WHERE price < 10000) AS rank1_bidders,
//!     ... (rank2_bidders, rank3_bidders as the bids)
//!     count(DISTINCT auction) AS total_auctions,
//!     ... (rank1_auctions to rank3_auctions as the bids)
//! FROM bid
//! GROUP BY DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! Days are UTC. Flink keeps every day's groups (and distinct sets) for ever; here a day
//! is a tumbling window of event time, so its row is final, and retracted with its state,
//! when the day ends (plus `lateness_ms`). Under `--clock processing` the day is the day
//! the bid arrived in.

use std::hash::Hash;

use differential_dataflow::operators::CountTotal;
use differential_dataflow::{ExchangeData, VecCollection};
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::window::{Aggregate, TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use super::date::{self, DAY_MS};
pub use super::q17::DailyParams;
use super::q17::price_rank;
use crate::baseline::{KeyedWindows, calendar_day, calendar_time, window_time};

/// One day's bids.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DailyBids {
    /// The day, `yyyy-MM-dd` (UTC).
    pub day: String,
    /// Bids.
    pub total_bids: u64,
    /// Bids under 10,000 (cents).
    pub rank1_bids: u64,
    /// Bids from 10,000 to under 1,000,000.
    pub rank2_bids: u64,
    /// Bids of 1,000,000 and over.
    pub rank3_bids: u64,
    /// Distinct bidders.
    pub total_bidders: u64,
    /// Distinct bidders of rank-1 bids.
    pub rank1_bidders: u64,
    /// Distinct bidders of rank-2 bids.
    pub rank2_bidders: u64,
    /// Distinct bidders of rank-3 bids.
    pub rank3_bidders: u64,
    /// Distinct auctions.
    pub total_auctions: u64,
    /// Distinct auctions of rank-1 bids.
    pub rank1_auctions: u64,
    /// Distinct auctions of rank-2 bids.
    pub rank2_auctions: u64,
    /// Distinct auctions of rank-3 bids.
    pub rank3_auctions: u64,
}

/// The counts of a group of bids (q15's day, q16's channel and day); each array holds the
/// total, then the three price ranks.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupCounts {
    /// Bids.
    pub bids: [u64; 4],
    /// Distinct bidders.
    pub bidders: [u64; 4],
    /// Distinct auctions.
    pub auctions: [u64; 4],
    /// The latest bid time, in ms.
    pub latest_ms: u64,
}

/// An epoch's bids of a group per price rank, and the latest bid time: a window
/// [`Aggregate`], insert-only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct RankedBids {
    per_rank: [u64; 3],
    latest_ms: u64,
}

impl Aggregate for RankedBids {
    fn times(self, diff: isize) -> Self {
        assert_eq!(diff, 1, "bid counts with a latest time need insert-only input (bids)");
        self
    }
    fn merge(&mut self, other: Self) {
        for (mine, theirs) in self.per_rank.iter_mut().zip(other.per_rank) {
            *mine += theirs;
        }
        self.latest_ms = self.latest_ms.max(other.latest_ms);
    }
    fn is_empty(&self) -> bool {
        false
    }
}

/// That an id occurred in a window: the window operator reports it once, when first seen
/// (an unchanged aggregate sends no update), and retracts it at the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Seen;

impl Aggregate for Seen {
    fn times(self, diff: isize) -> Self {
        assert!(diff > 0, "distinct counts need insert-only input (bids)");
        self
    }
    fn merge(&mut self, _: Self) {}
    fn is_empty(&self) -> bool {
        false
    }
}

/// What a group's row is made of: its bid counts, or one of its distinct counts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Bids(RankedBids),
    /// Distinct bidders (`auctions == false`) or auctions in a rank (0 = all), and how many.
    Distinct {
        auctions: bool,
        rank: usize,
        count: u64,
    },
}

/// Per day and key (the group), the counts of q15 and q16: a collection of
/// `(day_start_ms, key, counts)` updated as the day fills and retracted when it closes.
///
/// Bids are counted by the window operator (pre-aggregated per worker); each distinct
/// count is a window sum per `(key, rank, bidder)` (or auction), counted by
/// `count_total`: a group's state is its distinct ids, as Flink's.
pub fn group_counts<'s, K: ExchangeData + Hash + Eq>(
    day: TumblingWindow,
    ctx: &JobContext,
    bids: VecCollection<'s, Epoch, (K, Bid)>,
) -> VecCollection<'s, Epoch, (u64, K, GroupCounts)> {
    let counts = bids
        .clone()
        .window_aggregate_by(day, ctx, |(key, bid)| {
            let mut per_rank = [0; 3];
            per_rank[price_rank(bid.price)] = 1;
            let latest_ms = bid.date_time;
            Some((key, bid.date_time, RankedBids { per_rank, latest_ms }))
        })
        .map(|(start, key, bids)| ((start, key), Part::Bids(bids)));
    let distinct = bids
        .window_aggregate_by(day, ctx, |(key, bid)| {
            let rank = price_rank(bid.price) + 1;
            [(false, bid.bidder), (true, bid.auction)]
                .into_iter()
                .flat_map(move |id| [0, rank].map(|rank| (id, rank)))
                .map(move |((auctions, id), rank)| {
                    ((key.clone(), auctions, rank, id), bid.date_time, Seen)
                })
        })
        .map(|(start, (key, auctions, rank, _), _)| ((start, key), (auctions, rank)))
        .count_total()
        .map(|(((start, key), (auctions, rank)), count)| {
            let count = count as u64;
            ((start, key), Part::Distinct { auctions, rank, count })
        });
    counts
        .concat(distinct)
        .reduce(|_group, parts, output| {
            let mut counts = GroupCounts::default();
            for (part, _) in parts {
                match part {
                    Part::Bids(bids) => {
                        counts.bids[1..].copy_from_slice(&bids.per_rank);
                        counts.bids[0] = bids.per_rank.iter().sum();
                        counts.latest_ms = bids.latest_ms;
                    }
                    Part::Distinct { auctions: false, rank, count } => counts.bidders[*rank] = *count,
                    Part::Distinct { auctions: true, rank, count } => counts.auctions[*rank] = *count,
                }
            }
            output.push((counts, 1));
        })
        .map(|((start, key), counts)| (start, key, counts))
}

/// A group's state in the baselines of q15 and q16, from the SQL: its bids, bidders and
/// auctions overall (index 0) and under each FILTER (1 to 3), and its latest `HH:mm`.
#[derive(Debug, Default)]
pub struct GroupSets {
    bids: [u64; 4],
    bidders: [FxHashSet<u64>; 4],
    auctions: [FxHashSet<u64>; 4],
    /// `max(DATE_FORMAT(dateTime, 'HH:mm'))` (q16).
    pub minute: String,
}

impl GroupSets {
    /// Adds a bid to the group.
    pub fn add(&mut self, bid: &Bid) {
        let filters = [
            true,
            bid.price < 10000,
            bid.price >= 10000 && bid.price < 1000000,
            bid.price >= 1000000,
        ];
        for (i, _) in filters.iter().enumerate().filter(|(_, passes)| **passes) {
            self.bids[i] += 1;
            self.bidders[i].insert(bid.bidder);
            self.auctions[i].insert(bid.auction);
        }
        self.minute = self.minute.clone().max(calendar_time(bid.date_time));
    }

    /// The group's counts, as [`group_counts`] gives them (but the latest time).
    pub fn counts(&self) -> GroupCounts {
        GroupCounts {
            bids: self.bids,
            bidders: self.bidders.each_ref().map(|set| set.len() as u64),
            auctions: self.auctions.each_ref().map(|set| set.len() as u64),
            latest_ms: 0,
        }
    }
}

/// The baseline of q15 and q16: `key(bid)` is the group within the day, `row` makes its
/// output row from the day's start, the key and the group's sets.
pub fn group_counts_baseline<K: Clone + Hash + Eq + 'static, R: PartialEq + 'static>(
    day: TumblingWindow,
    epochs: &EpochConfig,
    events: &mut dyn Iterator<Item = (Epoch, Event)>,
    key: impl Fn(&Bid) -> K,
    row: impl Fn(u64, &K, &GroupSets) -> R + 'static,
    emit: &mut dyn FnMut(Epoch, &R, i64),
) {
    let mut days = KeyedWindows::new(DAY_MS, day.lateness_ms, epochs.epoch_ms, row);
    for (epoch, event) in events {
        days.advance(epoch, emit);
        let Event::Bid(bid) = event else { continue };
        let time = window_time(epochs, bid.date_time, epoch);
        days.update(epoch, time, key(&bid), |group| group.add(&bid), emit);
    }
    days.finish(emit);
}

impl DailyBids {
    fn new(day: String, counts: &GroupCounts) -> Self {
        let [total_bids, rank1_bids, rank2_bids, rank3_bids] = counts.bids;
        let [total_bidders, rank1_bidders, rank2_bidders, rank3_bidders] = counts.bidders;
        let [total_auctions, rank1_auctions, rank2_auctions, rank3_auctions] = counts.auctions;
        Self {
            day,
            total_bids,
            rank1_bids,
            rank2_bids,
            rank3_bids,
            total_bidders,
            rank1_bidders,
            rank2_bidders,
            rank3_bidders,
            total_auctions,
            rank1_auctions,
            rank2_auctions,
            rank3_auctions,
        }
    }
}

/// The q15 job.
#[derive(Clone, Debug)]
pub struct Q15 {
    day: TumblingWindow,
}

impl Job for Q15 {
    type Event = Event;
    type Output = DailyBids;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, DailyBids> {
        let bids = events.flat_map(|event| super::bid(event).map(|bid| ((), bid)));
        group_counts(self.day, ctx, bids)
            .map(|(start, (), counts)| DailyBids::new(date::day(start), &counts))
    }

    fn closing_epoch(&self, record: &DailyBids, epochs: &EpochConfig) -> Option<Epoch> {
        let start = date::day_start_ms(&record.day).expect("q15 writes its days");
        Some(self.day.closing_epoch(start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &DailyBids, i64),
    ) -> Result<(), NoBaseline> {
        let row = |start: u64, _: &(), group: &GroupSets| {
            DailyBids::new(calendar_day(start), &group.counts())
        };
        group_counts_baseline(self.day, epochs, events, |_| (), row, emit);
        Ok(())
    }
}

impl Q15 {
    /// The job, from its parameters.
    pub fn new(params: &DailyParams) -> Result<Self, EngineError> {
        Ok(Q15 {
            day: TumblingWindow::new(DAY_MS, params.lateness_ms)?,
        })
    }
}
