//! Nexmark q9, winning bids: every auction with its best bid so far (Flink's SQL:
//! `ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC, dateTime ASC) = 1` over
//! the join of auctions and bids during the auction; no reserve check, open auctions
//! included, each row updated as better bids arrive). Ties on price and time go to the
//! lowest bidder, then the smallest bid, so the answer is unique.
//!
//! State holds open auctions only; see [`super::winning_bids`] for why that is the SQL's
//! answer on in-order input.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Auction, Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

use super::winning_bids::{Winners, winning_bids};
use crate::baseline::{AuctionBook, BookChange};

/// An auction and its best bid (Flink's q9 columns).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuctionWinner {
    /// The auction.
    pub id: u64,
    /// Item name.
    pub item_name: String,
    /// Description.
    pub description: String,
    /// Initial bid, in cents.
    pub initial_bid: u64,
    /// Reserve price, in cents.
    pub reserve: u64,
    /// When the auction opened, in ms.
    pub date_time: u64,
    /// When it expires, in ms.
    pub expires: u64,
    /// The seller.
    pub seller: u64,
    /// Category.
    pub category: u64,
    /// The auction's padding.
    pub extra: String,
    /// The bidder.
    pub bidder: u64,
    /// The bid's price, in cents.
    pub price: u64,
    /// When the bid was made, in ms.
    pub bid_date_time: u64,
    /// The bid's padding.
    pub bid_extra: String,
}

impl AuctionWinner {
    fn new(auction: &Auction, bid: &Bid) -> Self {
        Self {
            id: auction.id,
            item_name: auction.item_name.clone(),
            description: auction.description.clone(),
            initial_bid: auction.initial_bid,
            reserve: auction.reserve,
            date_time: auction.date_time,
            expires: auction.expires,
            seller: auction.seller,
            category: auction.category,
            extra: auction.extra.clone(),
            bidder: bid.bidder,
            price: bid.price,
            bid_date_time: bid.date_time,
            bid_extra: bid.extra.clone(),
        }
    }
}

/// Every bid during its auction counts (Flink: no reserve check).
pub fn any_bid(_: &Auction, _: &Bid) -> bool {
    true
}

/// The q9 job.
#[derive(Clone, Debug)]
pub struct Q9;

impl Job for Q9 {
    type Event = Event;
    type Output = AuctionWinner;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, AuctionWinner> {
        let (auctions, bids) = super::auctions_and_bids(events);
        winning_bids(auctions, bids, ctx, any_bid, Winners::Updating)
            .map(|(auction, bid)| AuctionWinner::new(&auction, &bid))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &AuctionWinner, i64),
    ) -> Result<(), NoBaseline> {
        let mut report = |change: BookChange| {
            if let BookChange::Best {
                epoch,
                auction,
                old,
                new,
            } = change
            {
                if let Some(old) = old {
                    emit(epoch, &AuctionWinner::new(auction, old), -1);
                }
                emit(epoch, &AuctionWinner::new(auction, new), 1);
            }
        };
        AuctionBook::run(*epochs, any_bid, events, &mut report);
        Ok(())
    }
}
