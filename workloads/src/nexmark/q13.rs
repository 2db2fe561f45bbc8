//! Nexmark q13, bounded side input join (not in the original suite; Flink's `q13.sql`):
//! every bid with the value of its auction's row in a side table:
//!
//! ```sql
//! CREATE TABLE side_input (key BIGINT, `value` VARCHAR)
//!     WITH ('connector.type' = 'filesystem', 'connector.path' = '.../side_input.txt', ...);
//!
//! SELECT B.auction, B.bidder, B.price, B.dateTime, S.`value`
//! FROM (SELECT *, PROCTIME() AS p_time FROM bid) B
//! JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//! ON mod(B.auction, 10000) = S.key;
//! ```
//!
//! The side table is part of the input, so a log holds it and a replay needs no other
//! file: its rows are events (`{"Side":{"key":1,"value":"1"}}` beside the Nexmark events
//! of a JSON-lines file; Flink's `side_input_gen.sh` writes rows `i,i` for `i` below
//! 10,000, and so does the generator, before the Nexmark events). A bid meets the rows of
//! its epoch and earlier (the table as of the bid's arrival, as `FOR SYSTEM_TIME AS OF
//! p_time`), so the side rows should come first. The table is broadcast to every worker
//! and bids are not moved or kept ([`LookupJoin`]).

use differential_dataflow::VecCollection;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::Generator;
use reprise_datasets::RATE_RANGE;
use reprise_datasets::nexmark::{Auction, Bid, Event, Nexmark, Person};
use reprise_engine::lookup::LookupJoin;
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The side table's key of a bid: `mod(auction, 10000)`.
const MODULUS: u64 = 10_000;

/// A row of the side table.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SideRow {
    /// Joined with `auction % 10000`.
    pub key: u64,
    /// The value a bid gets.
    pub value: String,
}

/// q13's input: the Nexmark events, and the side table's rows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SideInputEvent {
    /// A new person.
    Person(Person),
    /// A new auction.
    Auction(Auction),
    /// A bid.
    Bid(Bid),
    /// A row of the side table (no event time: it enters at the current epoch).
    Side(SideRow),
}

impl From<Event> for SideInputEvent {
    fn from(event: Event) -> Self {
        match event {
            Event::Person(person) => Self::Person(*person),
            Event::Auction(auction) => Self::Auction(*auction),
            Event::Bid(bid) => Self::Bid(bid),
        }
    }
}

/// A bid with its side table value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EnrichedBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// Event time in ms.
    pub date_time: u64,
    /// The side table's value for `auction % 10000`.
    pub value: String,
}

fn enriched(bid: &Bid, value: &str) -> EnrichedBid {
    EnrichedBid {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        date_time: bid.date_time,
        value: value.to_string(),
    }
}

/// The q13 job.
#[derive(Clone, Debug)]
pub struct Q13;

impl Job for Q13 {
    type Event = SideInputEvent;
    type Output = EnrichedBid;

    fn event_time_ms(event: &SideInputEvent) -> u64 {
        match event {
            SideInputEvent::Person(person) => person.date_time,
            SideInputEvent::Auction(auction) => auction.date_time,
            SideInputEvent::Bid(bid) => bid.date_time,
            SideInputEvent::Side(_) => 0,
        }
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, SideInputEvent>,
    ) -> VecCollection<'s, Epoch, EnrichedBid> {
        let table = events.clone().flat_map(|event| match event {
            SideInputEvent::Side(row) => Some((row.key, row.value)),
            _ => None,
        });
        events
            .flat_map(|event| match event {
                SideInputEvent::Bid(bid) => Some((bid.auction % MODULUS, bid)),
                _ => None,
            })
            .lookup_join(table, |bid, value| enriched(bid, value))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, SideInputEvent)>,
        emit: &mut dyn FnMut(Epoch, &EnrichedBid, i64),
    ) -> Result<(), NoBaseline> {
        // Per epoch: its side rows join the table, then its bids look their key up.
        let mut table: FxHashMap<u64, Vec<String>> = FxHashMap::default();
        let mut bids: Vec<Bid> = Vec::new();
        let mut current = None;
        let mut flush = |epoch, table: &FxHashMap<u64, Vec<String>>, bids: &mut Vec<Bid>| {
            for bid in bids.drain(..) {
                for value in table.get(&(bid.auction % 10000)).into_iter().flatten() {
                    emit(epoch, &enriched(&bid, value), 1);
                }
            }
        };
        for (epoch, event) in events {
            if current.is_some_and(|c| c != epoch) {
                flush(current.unwrap_or_default(), &table, &mut bids);
            }
            current = Some(epoch);
            match event {
                SideInputEvent::Side(row) => table.entry(row.key).or_default().push(row.value),
                SideInputEvent::Bid(bid) => bids.push(bid),
                _ => {}
            }
        }
        if let Some(epoch) = current {
            flush(epoch, &table, &mut bids);
        }
        Ok(())
    }
}

/// The generated input: Flink's side table (rows `i,i` for `i` below `side_rows`), then
/// the Nexmark events.
#[derive(Clone, Debug)]
pub struct NexmarkWithSideTable {
    nexmark: Nexmark,
    side_rows: u64,
}

impl Generator for NexmarkWithSideTable {
    type Event = SideInputEvent;

    fn generate(&self, index: u64) -> SideInputEvent {
        if index < self.side_rows {
            SideInputEvent::Side(SideRow {
                key: index,
                value: index.to_string(),
            })
        } else {
            self.nexmark.generate(index - self.side_rows).into()
        }
    }
}

reprise_engine::params! {
    /// q13's generator parameters.
    pub struct Q13GeneratorParams {
        /// events per second of event time (Flink's setup: 10 million)
        rate: u64 = "10000000" in RATE_RANGE,
        /// rows of the generated side table, the first events (Flink's side_input_gen.sh: 10,000)
        side_rows: u64 = "10000" in 0..=100_000_000,
    }
}

impl Definition for Q13 {
    type Data = NexmarkWithSideTable;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "nexmark-q13",
        summary: "Nexmark q13: every bid with the value of auction % 10000 in a side table (the side table is part of the input)",
        params: &[],
        generator_params: Q13GeneratorParams::SPECS,
        dataset: "nexmark with a side table",
        input_format: SIDE_INPUT_FORMAT,
        default_epoch_ms: super::DEFAULT_EPOCH_MS,
        csv: false,
        windowed: false,
    };

    fn from_params(_: &Params) -> Result<Self, EngineError> {
        Ok(Q13)
    }

    fn dataset(params: &Params, seed: u64) -> Result<NexmarkWithSideTable, EngineError> {
        let p = Q13GeneratorParams::from_params(params)?;
        Ok(NexmarkWithSideTable {
            nexmark: Nexmark {
                seed,
                rate_per_sec: p.rate,
                start_ms: 0,
            },
            side_rows: p.side_rows,
        })
    }
}

/// q13's input format: the Nexmark events and the side table's rows.
const SIDE_INPUT_FORMAT: &str = "JSON lines, one event each: the side table's rows {\"Side\":{key,value}} (first), then Nexmark events {\"Person\":{...}}, {\"Auction\":{...}} or {\"Bid\":{auction,bidder,price,channel,url,date_time,extra}}";
