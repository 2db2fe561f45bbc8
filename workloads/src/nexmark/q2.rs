//! Nexmark q2, selection: the auction and price of bids on auctions whose id is a
//! multiple of `modulus` (Flink: 123).

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Event, Nexmark};
use reprise_engine::{
    EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, ParamSpec, Params,
};
use serde::{Deserialize, Serialize};

use reprise_cli::workload::{Definition, WorkloadInfo};

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

impl Definition for Q2 {
    type Data = Nexmark;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "nexmark-q2",
        summary: "Nexmark q2: auction and price of the bids whose auction id is a multiple of 123",
        params: &[
            super::RATE,
            ParamSpec {
                name: "modulus",
                default: "123",
                help: "keep bids with auction % modulus == 0",
            },
        ],
        dataset: "nexmark",
        input_format: super::INPUT_FORMAT,
        output_format: "auction,price",
        default_epoch_ms: super::DEFAULT_EPOCH_MS,
        csv: false,
        windowed: false,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let modulus: u64 = params.get_in("modulus", 1..=u64::MAX)?;
        if modulus == 0 {
            return Err(EngineError::config(
                "parameter `modulus` must be at least 1",
            ));
        }
        Ok(Q2 { modulus })
    }

    fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
        super::dataset(params, seed)
    }
}
