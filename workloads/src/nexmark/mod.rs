//! Nexmark queries (Flink SQL definitions from the nexmark/nexmark repository unless a
//! query's doc says otherwise), over the generator in `reprise_datasets::nexmark`.
//!

use differential_dataflow::VecCollection;
use reprise_cli::Registry;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::RATE_RANGE;
use reprise_datasets::nexmark::{Auction, Bid, Event, Nexmark};
use reprise_engine::{EngineError, Epoch, Params};

/// Declares the queries: for each, its module and job, its name and summary, whether its
/// output is windowed, and its parameters (a `params!` struct; a query without any is a
/// unit struct). Everything else a query's [`Definition`] says is the same for all of them.
/// A query whose input is not only the Nexmark events (q13's side table) has empty braces
/// and its own [`Definition`].
macro_rules! declare_queries {
    ( $( $module:ident :: $job:ident { $( $fields:tt )* } )* ) => {
        $( pub mod $module; )*

        $( declare_queries!(@definition $module::$job { $( $fields )* }); )*

        /// Adds every query to `registry`, in the order of the table.
        pub fn register(registry: Registry) -> Registry {
            registry $( .with::<$module::$job>() )*
        }
    };
    (@definition $module:ident :: $job:ident {}) => {};
    (@definition $module:ident :: $job:ident {
        name: $name:literal,
        summary: $summary:literal,
        windowed: $windowed:literal,
        $( params: $params:ident, )?
    }) => {
        impl Definition for $module::$job {
            type Data = Nexmark;

            const INFO: WorkloadInfo = WorkloadInfo {
                name: $name,
                summary: $summary,
                params: declare_queries!(@specs $( $module::$params )?),
                generator_params: NexmarkParams::SPECS,
                dataset: "nexmark",
                input_format: INPUT_FORMAT,
                default_epoch_ms: DEFAULT_EPOCH_MS,
                csv: false,
                windowed: $windowed,
            };

            fn from_params(params: &Params) -> Result<Self, EngineError> {
                declare_queries!(@new params, $module::$job $(, $module::$params )?)
            }

            fn dataset(params: &Params, seed: u64) -> Result<Nexmark, EngineError> {
                let p = NexmarkParams::from_params(params)?;
                Ok(Nexmark {
                    seed,
                    rate_per_sec: p.rate,
                    start_ms: 0,
                })
            }
        }
    };
    (@specs) => { &[] };
    (@specs $params:path) => { <$params>::SPECS };
    (@new $from:ident, $job:path) => {{
        let _ = $from;
        Ok($job)
    }};
    (@new $from:ident, $job:path, $params:path) => {
        <$job>::new(&<$params>::from_params($from)?)
    };
}

declare_queries! {
    q0::Q0 {
        name: "nexmark-q0",
        summary: "Nexmark q0: every bid, passed through",
        windowed: false,
    }
    q1::Q1 {
        name: "nexmark-q1",
        summary: "Nexmark q1: every bid with its price in euros (x 0.908)",
        windowed: false,
    }
    q2::Q2 {
        name: "nexmark-q2",
        summary: "Nexmark q2: auction and price of the bids whose auction id is a multiple of 123",
        windowed: false,
        params: Q2Params,
    }
    q3::Q3 {
        name: "nexmark-q3",
        summary: "Nexmark q3: sellers in OR, ID or CA with their category-10 auctions (unbounded join)",
        windowed: false,
    }
    q4::Q4 {
        name: "nexmark-q4",
        summary: "Nexmark q4: per category, the average of its auctions' highest bids",
        windowed: false,
    }
    q5::Q5 {
        name: "nexmark-q5",
        summary: "Nexmark q5: per hopping window (10 s every 2 s), the auctions with the most bids, ties kept",
        windowed: true,
        params: Q5Params,
    }
    q6::Q6 {
        name: "nexmark-q6",
        summary: "Nexmark q6: per seller, the average winning price of their last 10 closed auctions",
        windowed: false,
        params: Q6Params,
    }
    q7::Q7 {
        name: "nexmark-q7",
        summary: "Nexmark q7: per 10 s tumbling window, the bids at the window's highest price, ties kept",
        windowed: true,
        params: Q7Params,
    }
    q8::Q8 {
        name: "nexmark-q8",
        summary: "Nexmark q8: people who opened an auction in the 10 s window they registered in",
        windowed: true,
        params: Q8Params,
    }
    q9::Q9 {
        name: "nexmark-q9",
        summary: "Nexmark q9: every auction with its best bid so far (highest price, then earliest)",
        windowed: false,
    }
    q10::Q10 {
        name: "nexmark-q10",
        summary: "Nexmark q10: every bid with its day and minute, written partitioned by them (--output DIR/)",
        windowed: false,
    }
    q11::Q11 {
        name: "nexmark-q11",
        summary: "Nexmark q11: per bidder, the bids of each session (sessions split by pauses over 10 s)",
        windowed: true,
        params: Q11Params,
    }
    q12::Q12 {
        name: "nexmark-q12",
        summary: "Nexmark q12: bids per bidder per 10 s tumbling window of processing time (run with --clock processing)",
        windowed: true,
        params: Q12Params,
    }
    // The side table is part of the input: q13 defines its own input and generator.
    q13::Q13 {}
    q14::Q14 {
        name: "nexmark-q14",
        summary: "Nexmark q14: bids priced 10,000 to 500,000 euros, with their time of day and the c's in their extra",
        windowed: false,
    }
    q15::Q15 {
        name: "nexmark-q15",
        summary: "Nexmark q15: per day, bids, distinct bidders and distinct auctions, overall and in three price ranks",
        windowed: true,
        params: DailyParams,
    }
    q16::Q16 {
        name: "nexmark-q16",
        summary: "Nexmark q16: q15 per channel and day, with the latest minute",
        windowed: true,
        params: DailyParams,
    }
    q17::Q17 {
        name: "nexmark-q17",
        summary: "Nexmark q17: per auction and day, bids in three price ranks and the min, max, average and sum of the price",
        windowed: true,
        params: DailyParams,
    }
    q18::Q18 {
        name: "nexmark-q18",
        summary: "Nexmark q18: each bidder's last bid on each auction (latest, then highest price)",
        windowed: false,
    }
    q19::Q19 {
        name: "nexmark-q19",
        summary: "Nexmark q19: the ten highest bids of each auction, ranked (highest price, then earliest)",
        windowed: false,
    }
    q20::Q20 {
        name: "nexmark-q20",
        summary: "Nexmark q20: every bid on a category-10 auction, with the auction's fields (unbounded join)",
        windowed: false,
    }
    q21::Q21 {
        name: "nexmark-q21",
        summary: "Nexmark q21: bids with a channel id, from the channel's name or the URL's channel_id parameter",
        windowed: false,
    }
    q22::Q22 {
        name: "nexmark-q22",
        summary: "Nexmark q22: every bid with the first three directories of its URL",
        windowed: false,
    }
}

pub mod date;
pub mod winning_bids;

reprise_engine::params! {
    /// The generator's parameters, shared by every query.
    pub struct NexmarkParams {
        /// events per second of event time (Flink's setup: 10 million)
        rate: u64 = "10000000" in RATE_RANGE,
    }
}

/// The input format of every query.
pub const INPUT_FORMAT: &str = "JSON lines, one event each: {\"Person\":{id,name,email_address,credit_card,city,state,date_time,extra}}, {\"Auction\":{id,item_name,description,initial_bid,reserve,date_time,expires,seller,category,extra}} or {\"Bid\":{auction,bidder,price,channel,url,date_time,extra}}; times in ms, prices in cents";

/// Events per epoch at the default rate: 100,000 in 10 ms.
pub const DEFAULT_EPOCH_MS: u64 = 10;

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
        Event::Auction(auction) => Some(*auction),
        _ => None,
    });
    (auctions, events.flat_map(bid))
}
