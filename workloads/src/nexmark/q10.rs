//! Nexmark q10, log to file system (not in the original suite; Flink's `q10.sql`): every
//! bid with its date and minute, written partitioned by them:
//!
//! ```sql
//! CREATE TABLE nexmark_q10 (auction BIGINT, bidder BIGINT, price BIGINT,
//!     dateTime TIMESTAMP(3), extra VARCHAR, dt STRING, hm STRING)
//! PARTITIONED BY (dt, hm) WITH ('connector' = 'filesystem', 'format' = 'csv', ...);
//!
//! INSERT INTO nexmark_q10
//! SELECT auction, bidder, price, dateTime, extra,
//!     DATE_FORMAT(dateTime, 'yyyy-MM-dd'), DATE_FORMAT(dateTime, 'HH:mm')
//! FROM bid;
//! ```
//!
//! `reprise run nexmark-q10 --output DIR/` writes `DIR/dt=.../hm=.../part-0.csv`, one file
//! per minute of event time (times UTC). Flink commits a partition's file a minute after
//! the partition's time passes (`sink.partition-commit.delay`); here every file is
//! complete when the run ends, and each holds its rows in epoch order.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

use super::date;
use crate::baseline::{calendar_day, calendar_time};

/// A bid with its date and minute.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LoggedBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// Event time in ms.
    pub date_time: u64,
    /// Padding.
    pub extra: String,
    /// The day, `yyyy-MM-dd` (UTC): the first partition column.
    pub dt: String,
    /// The minute, `HH:mm` (UTC): the second partition column.
    pub hm: String,
}

/// The q10 job.
#[derive(Clone, Debug)]
pub struct Q10;

impl Job for Q10 {
    type Event = Event;
    type Output = LoggedBid;

    const PARTITION_BY: &'static [&'static str] = &["dt", "hm"];

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, LoggedBid> {
        events.flat_map(|event| {
            super::bid(event).map(|bid| LoggedBid {
                dt: date::day(bid.date_time),
                hm: date::hour_minute(bid.date_time),
                auction: bid.auction,
                bidder: bid.bidder,
                price: bid.price,
                date_time: bid.date_time,
                extra: bid.extra,
            })
        })
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &LoggedBid, i64),
    ) -> Result<(), NoBaseline> {
        for (epoch, event) in events {
            let Event::Bid(Bid {
                auction,
                bidder,
                price,
                date_time,
                extra,
                ..
            }) = event
            else {
                continue;
            };
            let row = LoggedBid {
                auction,
                bidder,
                price,
                date_time,
                extra,
                dt: calendar_day(date_time),
                hm: calendar_time(date_time),
            };
            emit(epoch, &row, 1);
        }
        Ok(())
    }
}
