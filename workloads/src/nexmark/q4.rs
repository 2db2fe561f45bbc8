//! Nexmark q4, average price per category: per category, the average over auctions of
//! each auction's highest bid (Flink's SQL: `MAX(price)` per auction over bids during the
//! auction, no reserve check, open auctions included; then `AVG` per category, which on
//! BIGINT truncates).
//!
//! The highest bid per auction comes from [`super::winning_bids`] (state: open auctions
//! only); the average is kept as a running `(sum, count)` per category, a differential
//! difference of two integers, so an auction's new maximum costs two updates, not a pass
//! over the category's auctions.

use differential_dataflow::VecCollection;
use differential_dataflow::operators::CountTotal;
use reprise_datasets::nexmark::Event;
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::q9::any_bid;
use super::winning_bids::{Winners, winning_bids};
use crate::baseline::{AuctionBook, BookChange};

/// A category's average highest bid.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CategoryPrice {
    /// The category.
    pub category: u64,
    /// The average of its auctions' highest bids, in cents, rounded down.
    pub average_price: u64,
}

fn category_price(category: u64, (sum, count): (isize, isize)) -> CategoryPrice {
    CategoryPrice {
        category,
        average_price: (sum / count) as u64,
    }
}

/// The q4 job.
#[derive(Clone, Debug)]
pub struct Q4;

impl Job for Q4 {
    type Event = Event;
    type Output = CategoryPrice;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, CategoryPrice> {
        let (auctions, bids) = super::auctions_and_bids(events);
        winning_bids(auctions, bids, ctx, any_bid, Winners::Updating)
            .explode(|(auction, bid)| Some((auction.category, (bid.price as isize, 1isize))))
            .count_total()
            .map(|(category, sum_count)| category_price(category, sum_count))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &CategoryPrice, i64),
    ) -> Result<(), NoBaseline> {
        // Per category, (sum of highest bids, auctions with a bid).
        let mut totals: FxHashMap<u64, (isize, isize)> = FxHashMap::default();
        let mut report = |change: BookChange| {
            let BookChange::Best {
                epoch,
                auction,
                old,
                new,
            } = change
            else {
                return;
            };
            let total = totals.entry(auction.category).or_insert((0, 0));
            let before = *total;
            match old {
                Some(old) => total.0 += new.price as isize - old.price as isize,
                None => *total = (total.0 + new.price as isize, total.1 + 1),
            }
            // The epoch's changes consolidate: only the first and last value remain.
            if before.1 > 0 {
                emit(epoch, &category_price(auction.category, before), -1);
            }
            emit(epoch, &category_price(auction.category, *total), 1);
        };
        AuctionBook::run(*epochs, any_bid, events, &mut report);
        Ok(())
    }
}
