//! Nexmark q20, expand bid with auction (not in the original suite; Flink's `q20.sql`):
//! every bid on a category-10 auction, with the auction's fields:
//!
//! ```sql
//! SELECT auction, bidder, price, channel, url, B.dateTime, B.extra,
//!     itemName, description, initialBid, reserve, A.dateTime, expires, seller, category,
//!     A.extra
//! FROM bid AS B INNER JOIN auction AS A ON B.auction = A.id
//! WHERE A.category = 10;
//! ```
//!
//! State: as Flink's regular join, every bid and every category-10 auction for the whole
//! run (a bid may arrive before its auction, and the SQL joins whatever the auction's
//! expiry), in differential arrangements: memory grows with the input, as q3's does.
//! Only the auctions are filtered before the join; bids are not (their auction's category
//! is unknown until it arrives).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Auction, Bid, Event, Text};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The auctions whose bids are kept.
const CATEGORY: u64 = 10;

/// A bid with its auction's fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BidWithAuction {
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
    /// The bid's event time in ms.
    pub bid_date_time: u64,
    /// The bid's padding.
    pub bid_extra: String,
    /// The auction's item name.
    pub item_name: String,
    /// The auction's description.
    pub description: String,
    /// The auction's initial bid, in cents.
    pub initial_bid: u64,
    /// The auction's reserve price, in cents.
    pub reserve: u64,
    /// The auction's event time in ms.
    pub auction_date_time: u64,
    /// When the auction closes, in ms.
    pub expires: u64,
    /// The seller.
    pub seller: u64,
    /// The auction's category (10).
    pub category: u64,
    /// The auction's padding.
    pub auction_extra: String,
}

fn joined(bid: &Bid, auction: &Auction) -> BidWithAuction {
    BidWithAuction {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel.clone(),
        url: bid.url.clone(),
        bid_date_time: bid.date_time,
        bid_extra: bid.extra.clone(),
        item_name: auction.item_name.clone(),
        description: auction.description.clone(),
        initial_bid: auction.initial_bid,
        reserve: auction.reserve,
        auction_date_time: auction.date_time,
        expires: auction.expires,
        seller: auction.seller,
        category: auction.category,
        auction_extra: auction.extra.clone(),
    }
}

/// The q20 job.
#[derive(Clone, Debug)]
pub struct Q20;

impl Job for Q20 {
    type Event = Event;
    type Output = BidWithAuction;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, BidWithAuction> {
        let (auctions, bids) = super::auctions_and_bids(events);
        let auctions = auctions
            .filter(|auction| auction.category == CATEGORY)
            .map(|auction| (auction.id, auction));
        bids.map(|bid| (bid.auction, bid))
            .join_map(auctions, |_, bid, auction| joined(bid, auction))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &BidWithAuction, i64),
    ) -> Result<(), NoBaseline> {
        // Every bid and every category-10 auction by auction id: each new arrival joins
        // with what the other side holds (the row appears when its later half arrives).
        let mut auctions: FxHashMap<u64, Vec<Auction>> = FxHashMap::default();
        let mut bids: FxHashMap<u64, Vec<Bid>> = FxHashMap::default();
        for (epoch, event) in events {
            match event {
                Event::Auction(auction) if auction.category == 10 => {
                    for bid in bids.get(&auction.id).into_iter().flatten() {
                        emit(epoch, &joined(bid, &auction), 1);
                    }
                    auctions.entry(auction.id).or_default().push(*auction);
                }
                Event::Bid(bid) => {
                    for auction in auctions.get(&bid.auction).into_iter().flatten() {
                        emit(epoch, &joined(&bid, auction), 1);
                    }
                    bids.entry(bid.auction).or_default().push(bid);
                }
                _ => {}
            }
        }
        Ok(())
    }
}
