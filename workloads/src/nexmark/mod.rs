//! Nexmark queries (Flink SQL definitions from the nexmark/nexmark repository unless a
//! query's doc says otherwise), over the generator in `reprise_datasets::nexmark`.
//!
//! Done: q0-q3, q5, q7, q12. To do (issue 4): q4, q6, q8, q9, q11 and the session windows and
//! max-with-ties aggregate they need.

pub mod q0;
pub mod q1;
pub mod q11;
pub mod q12;
pub mod q2;
pub mod q3;
pub mod q5;
pub mod q7;
pub mod q8;

use reprise_datasets::nexmark::{Bid, Event, Nexmark};
use reprise_engine::{EngineError, ParamSpec, Params};

/// The generator's parameter, shared by every query.
pub const RATE: ParamSpec = ParamSpec {
    name: "rate",
    default: "10000000",
    help: "generator: events per second of event time (Flink's setup: 10 million)",
};

/// The input format of every query.
pub const INPUT_FORMAT: &str = "JSON lines, one event each: {\"Person\":{id,name,email_address,credit_card,city,state,date_time,extra}}, {\"Auction\":{id,item_name,description,initial_bid,reserve,date_time,expires,seller,category,extra}} or {\"Bid\":{auction,bidder,price,channel,url,date_time,extra}}; times in ms, prices in cents";

/// Events per epoch at the default rate: 100,000 in 10 ms.
pub const DEFAULT_EPOCH_MS: u64 = 10;

/// The generator, from the `rate` parameter.
pub fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
    let rate_per_sec: u64 = params.get("rate")?;
    if rate_per_sec == 0 {
        return Err(EngineError::config("parameter `rate` must be at least 1"));
    }
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
