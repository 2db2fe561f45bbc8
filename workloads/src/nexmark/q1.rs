//! Nexmark q1, currency conversion: every bid with its price in euros
//! (`price * 0.908`; prices are integer cents here, so `price * 908 / 1000`, rounded down).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

/// A bid priced in euro cents.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EuroBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in euro cents.
    pub price: u64,
    /// Event time in ms.
    pub date_time: u64,
    /// Padding, as in the bid.
    pub extra: String,
}

impl From<Bid> for EuroBid {
    fn from(bid: Bid) -> Self {
        Self {
            auction: bid.auction,
            bidder: bid.bidder,
            price: bid.price * 908 / 1000,
            date_time: bid.date_time,
            extra: bid.extra,
        }
    }
}

/// The q1 job.
#[derive(Clone, Debug)]
pub struct Q1;

impl Job for Q1 {
    type Event = Event;
    type Output = EuroBid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, EuroBid> {
        events.flat_map(|event| super::bid(event).map(EuroBid::from))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &EuroBid, i64),
    ) -> Result<(), NoBaseline> {
        for (epoch, event) in events {
            if let Event::Bid(bid) = event {
                emit(epoch, &EuroBid::from(bid), 1);
            }
        }
        Ok(())
    }
}
