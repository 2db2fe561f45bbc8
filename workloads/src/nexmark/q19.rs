//! Nexmark q19, auction top-10 price (not in the original suite; Flink's `q19.sql`): the
//! ten highest bids of each auction, with their rank:
//!
//! ```sql
//! SELECT * FROM
//!   (SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
//!    FROM bid)
//! WHERE rank_number <= 10;
//! ```
//!
//! Equal prices are broken explicitly, so the ranks are unique: the earlier bid ranks
//! higher, then the lesser bid in its fields' order. A bid pushed down a rank is
//! retracted at its old rank and inserted at its new one (Flink's update stream).
//!
//! State: the ten bids of each auction ([`TopPerKey`]; a bid below an auction's tenth
//! can never rank again, as bids are never retracted). Flink's SQL keeps that per auction
//! for ever, and so does this job: state grows with the number of auctions (about 64
//! bytes of bids each, as the ignored memory test measures), not with the bids.

use std::cmp::Ordering;

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event, Text};
use reprise_engine::top::TopPerKey;
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// How many bids per auction.
const TOP: usize = 10;

/// One of an auction's ten highest bids.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RankedBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// Where the bid came from.
    pub channel: Text,
    /// The page it came from.
    pub url: Text,
    /// Event time in ms.
    pub date_time: u64,
    /// Padding.
    pub extra: String,
    /// 1 for the highest bid, up to 10.
    pub rank_number: u64,
}

/// A bid ordered as q19 ranks it: the greatest is the highest price, then the earliest,
/// then the least in its fields' order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct ByPrice(Bid);

impl Ord for ByPrice {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        a.price
            .cmp(&b.price)
            .then(b.date_time.cmp(&a.date_time))
            .then_with(|| b.cmp(a))
    }
}

impl PartialOrd for ByPrice {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn ranked(bid: Bid, rank_number: u64) -> RankedBid {
    RankedBid {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel,
        url: bid.url,
        date_time: bid.date_time,
        extra: bid.extra,
        rank_number,
    }
}

/// The q19 job.
#[derive(Clone, Debug)]
pub struct Q19;

impl Job for Q19 {
    type Event = Event;
    type Output = RankedBid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, RankedBid> {
        events
            .flat_map(|event| super::bid(event).map(|bid| (bid.auction, ByPrice(bid))))
            .top_per_key(TOP)
            .map(|(_, rank, ByPrice(bid))| ranked(bid, rank))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &RankedBid, i64),
    ) -> Result<(), NoBaseline> {
        // Each auction's bids, numbered by sorting as the SQL's ORDER BY (price descending,
        // then the explicit tie-breaks) at the end of each epoch; bids past the tenth are
        // dropped then (no bid is ever retracted, so they cannot rank again).
        let order = |a: &Bid, b: &Bid| {
            b.price
                .cmp(&a.price)
                .then(a.date_time.cmp(&b.date_time))
                .then(a.cmp(b))
        };
        let sorted = |bids: &[Bid]| -> Vec<RankedBid> {
            (1..)
                .zip(bids.iter().take(TOP).cloned())
                .map(|(rank, bid)| ranked(bid, rank))
                .collect()
        };
        let mut auctions: FxHashMap<u64, Vec<Bid>> = FxHashMap::default();
        // The auctions bid on in the current epoch, with their rows before it.
        let mut before: FxHashMap<u64, Vec<RankedBid>> = FxHashMap::default();
        let mut flush = |epoch,
                         auctions: &mut FxHashMap<u64, Vec<Bid>>,
                         before: &mut FxHashMap<u64, Vec<RankedBid>>| {
            for (auction, old) in before.drain() {
                let bids = auctions.get_mut(&auction).expect("bid on in this epoch");
                bids.sort_by(order);
                bids.truncate(TOP);
                for row in &old {
                    emit(epoch, row, -1);
                }
                for row in sorted(bids) {
                    emit(epoch, &row, 1);
                }
            }
        };
        let mut current = None;
        for (epoch, event) in events {
            if current.is_some_and(|c| c != epoch) {
                flush(current.unwrap_or_default(), &mut auctions, &mut before);
            }
            current = Some(epoch);
            let Event::Bid(bid) = event else { continue };
            let bids = auctions.entry(bid.auction).or_default();
            before.entry(bid.auction).or_insert_with(|| sorted(bids));
            bids.push(bid);
        }
        if let Some(epoch) = current {
            flush(epoch, &mut auctions, &mut before);
        }
        Ok(())
    }
}
