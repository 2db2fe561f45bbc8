//! Nexmark queries (Flink SQL definitions from the nexmark/nexmark repository unless a
//! query's doc says otherwise), over the generator in `reprise_datasets::nexmark`.
//!

pub mod q0;
pub mod q1;
pub mod q11;
pub mod q12;
pub mod q2;
pub mod q3;
pub mod q4;
pub mod q5;
pub mod q6;
pub mod q7;
pub mod q8;
pub mod q9;
pub mod winning_bids;

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Auction, Bid, Event, Nexmark};
use reprise_engine::{EngineError, Epoch, ParamSpec, Params};

/// The generator's parameter, shared by every query.
pub const RATE: ParamSpec = ParamSpec {
    name: "rate",
    default: "10000000",
    help: "generator: events per second of event time (Flink's setup: 10 million)",
};

/// The window of the tumbling-window queries (q7, q8, q12): 10 s, as Flink's SQL.
pub const TUMBLING_WINDOW_MS: ParamSpec = ParamSpec {
    name: "window_ms",
    default: "10000",
    help: "tumbling window size in ms",
};

/// How late an out-of-order event may be and still count, for the windowed queries (q5,
/// q7, q8, q11): a window closes this long after its end. 0, as the queries' other
/// defaults, keeps every window's final row at its end; Flink's DDL allows 4 s.
pub const LATENESS_MS: ParamSpec = ParamSpec {
    name: "lateness_ms",
    default: "0",
    help: "allowed lateness in ms: a window closes this long after its end",
};

/// The input format of every query.
pub const INPUT_FORMAT: &str = "JSON lines, one event each: {\"Person\":{id,name,email_address,credit_card,city,state,date_time,extra}}, {\"Auction\":{id,item_name,description,initial_bid,reserve,date_time,expires,seller,category,extra}} or {\"Bid\":{auction,bidder,price,channel,url,date_time,extra}}; times in ms, prices in cents";

/// Events per epoch at the default rate: 100,000 in 10 ms.
pub const DEFAULT_EPOCH_MS: u64 = 10;

/// The generator, from the `rate` parameter.
pub fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
    let rate_per_sec: u64 = params.get_in("rate", reprise_cli::workload::RATE_RANGE)?;
    Ok(Nexmark {
        seed,
        rate_per_sec,
        start_ms: 0,
    })
}

/// The bid in an event, if it is one.
pub fn bid(event: Event) -> Option<Bid> {
    match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    }
}

/// The auctions and the bids of a stream of events.
pub fn auctions_and_bids<'s>(
    events: VecCollection<'s, Epoch, Event>,
) -> (
    VecCollection<'s, Epoch, Auction>,
    VecCollection<'s, Epoch, Bid>,
) {
    let auctions = events.clone().flat_map(|event| match event {
        Event::Auction(auction) => Some(auction),
        _ => None,
    });
    (auctions, events.flat_map(bid))
}
