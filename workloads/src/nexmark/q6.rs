//! Nexmark q6, average selling price by seller: per seller, the average winning price of
//! their last 10 closed auctions.
//!
//! Flink's SQL for q6 cannot run (an `OVER` window over an updating join), so this follows
//! Beam's definition: an auction's winning bid is its best bid during the auction at or
//! above the reserve, fixed when the auction closes (after `expires`); "last" orders closed
//! auctions by expiry, then id. The average is rounded down.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Auction, Bid, Event};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::winning_bids::{Winners, winning_bids};
use crate::baseline::{AuctionBook, BookChange};

/// A seller's average selling price.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SellerPrice {
    /// The seller.
    pub seller: u64,
    /// The average winning price of their last (up to) 10 closed auctions, in cents.
    pub average_price: u64,
}

/// Beam's winning bids meet the reserve.
fn meets_reserve(auction: &Auction, bid: &Bid) -> bool {
    bid.price >= auction.reserve
}

/// The average of the last `last` prices of `sales`, ordered by (expires, auction id).
fn average_of_last(sales: &[(u64, u64, u64)], last: usize) -> u64 {
    let recent = &sales[sales.len().saturating_sub(last)..];
    recent.iter().map(|(_, _, price)| price).sum::<u64>() / recent.len() as u64
}

/// The q6 job.
#[derive(Clone, Debug)]
pub struct Q6 {
    last: usize,
}

impl Job for Q6 {
    type Event = Event;
    type Output = SellerPrice;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, SellerPrice> {
        let last = self.last;
        let (auctions, bids) = super::auctions_and_bids(events);
        winning_bids(auctions, bids, ctx, meets_reserve, Winners::AtClose)
            .map(|(auction, bid)| (auction.seller, (auction.expires, auction.id, bid.price)))
            .reduce(move |_seller, sales, output| {
                // Sales are sorted by (expires, id), each once.
                let recent = &sales[sales.len().saturating_sub(last)..];
                let sum: u64 = recent.iter().map(|(sale, _)| sale.2).sum();
                output.push((sum / recent.len() as u64, 1isize));
            })
            .map(|(seller, average_price)| SellerPrice {
                seller,
                average_price,
            })
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &SellerPrice, i64),
    ) -> Result<(), NoBaseline> {
        let last = self.last;
        // Per seller, the last sales (expires, auction, price) in order.
        let mut sales: FxHashMap<u64, Vec<(u64, u64, u64)>> = FxHashMap::default();
        let mut report = |change: BookChange| {
            let BookChange::Closed {
                epoch,
                auction,
                best,
            } = change
            else {
                return;
            };
            let seller = sales.entry(auction.seller).or_default();
            if !seller.is_empty() {
                let before = average_of_last(seller, last);
                emit(
                    epoch,
                    &SellerPrice {
                        seller: auction.seller,
                        average_price: before,
                    },
                    -1,
                );
            }
            let sale = (auction.expires, auction.id, best.price);
            let at = seller.partition_point(|s| *s < sale);
            seller.insert(at, sale);
            if seller.len() > last {
                seller.remove(0);
            }
            let after = average_of_last(seller, last);
            emit(
                epoch,
                &SellerPrice {
                    seller: auction.seller,
                    average_price: after,
                },
                1,
            );
        };
        AuctionBook::run(*epochs, meets_reserve, events, &mut report);
        Ok(())
    }
}

reprise_engine::params! {
    /// q6's parameters.
    pub struct Q6Params {
        /// how many of a seller's most recent closed auctions to average
        last: usize = "10" in 1..=1_000_000,
    }
}

impl Q6 {
    /// The job, from its parameters.
    pub fn new(params: &Q6Params) -> Result<Self, EngineError> {
        Ok(Q6 { last: params.last })
    }
}
