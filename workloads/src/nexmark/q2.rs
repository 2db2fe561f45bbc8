//! Nexmark q2, selection: the auction and price of bids on auctions whose id is a
//! multiple of `modulus` (Flink: 123).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::Event;
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline,
};
use serde::{Deserialize, Serialize};

/// A selected bid.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuctionPrice {
    /// The auction.
    pub auction: u64,
    /// Price in cents.
    pub price: u64,
}

/// The q2 job.
#[derive(Clone, Debug)]
pub struct Q2 {
    modulus: u64,
}

impl Q2 {
    fn select(&self, event: &Event) -> Option<AuctionPrice> {
        match event {
            Event::Bid(bid) if bid.auction % self.modulus == 0 => Some(AuctionPrice {
                auction: bid.auction,
                price: bid.price,
            }),
            _ => None,
        }
    }
}

impl Job for Q2 {
    type Event = Event;
    type Output = AuctionPrice;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, AuctionPrice> {
        let job = self.clone();
        events.flat_map(move |event| job.select(&event))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &AuctionPrice, i64),
    ) -> Result<(), NoBaseline> {
        for (epoch, event) in events {
            if let Some(selected) = self.select(&event) {
                emit(epoch, &selected, 1);
            }
        }
        Ok(())
    }
}

reprise_engine::params! {
    /// q2's parameters.
    pub struct Q2Params {
        /// keep bids with auction % modulus == 0
        modulus: u64 = "123" in 1..=u64::MAX,
    }
}

impl Q2 {
    /// The job, from its parameters.
    pub fn new(params: &Q2Params) -> Result<Self, EngineError> {
        Ok(Q2 {
            modulus: params.modulus,
        })
    }
}
