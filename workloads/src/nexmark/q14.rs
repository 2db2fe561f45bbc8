//! Nexmark q14, calculation (not in the original suite; Flink's `q14.sql`): bids whose
//! price in euros lies strictly between 10,000 and 500,000 (`0.908 * price`, prices in
//! cents here, so between 1,000,000 and 50,000,000 euro cents), with the time of day of
//! the bid and the number of `c` characters in its `extra`:
//!
//! ```sql
//! SELECT auction, bidder, 0.908 * price AS price,
//!     CASE
//!         WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'
//!         WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime'
//!         ELSE 'otherTime'
//!     END AS bidTimeType,
//!     dateTime, extra, count_char(extra, 'c') AS c_counts
//! FROM bid
//! WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
//! ```
//!
//! `0.908 * price` is exact as Flink's `DECIMAL(23, 3)`: `price` holds it in thousandths
//! of a euro cent. The hour is UTC, of the event time in ms since the epoch.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

/// A bid in the price band, with its time of day and `c` count.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimedBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// `0.908 * price` in thousandths of a euro cent (exact).
    pub price: u64,
    /// `dayTime` (8:00 to 18:59), `nightTime` (20:00 to 6:59) or `otherTime`.
    pub bid_time_type: String,
    /// Event time in ms.
    pub date_time: u64,
    /// Padding, as in the bid.
    pub extra: String,
    /// How many `c` characters `extra` holds.
    pub c_counts: u64,
}

/// The time of day of each hour, 0 to 23.
const TIME_OF_DAY: [&str; 24] = {
    let mut kinds = ["otherTime"; 24];
    let mut hour = 0;
    while hour < 24 {
        if hour >= 8 && hour <= 18 {
            kinds[hour] = "dayTime";
        } else if hour <= 6 || hour >= 20 {
            kinds[hour] = "nightTime";
        }
        hour += 1;
    }
    kinds
};

/// The bid's row, if its euro price is in the band.
fn timed(bid: Bid) -> Option<TimedBid> {
    let millicents = u128::from(bid.price) * 908;
    if !(1_000_000_001..50_000_000_000).contains(&millicents) {
        return None;
    }
    let hour = (bid.date_time / 3_600_000 % 24) as usize;
    Some(TimedBid {
        auction: bid.auction,
        bidder: bid.bidder,
        price: millicents as u64,
        bid_time_type: TIME_OF_DAY[hour].to_string(),
        date_time: bid.date_time,
        c_counts: bid.extra.bytes().filter(|b| *b == b'c').count() as u64,
        extra: bid.extra,
    })
}

/// The q14 job.
#[derive(Clone, Debug)]
pub struct Q14;

impl Job for Q14 {
    type Event = Event;
    type Output = TimedBid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, TimedBid> {
        events.flat_map(|event| super::bid(event).and_then(timed))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &TimedBid, i64),
    ) -> Result<(), NoBaseline> {
        // From the SQL: the price test in whole thousandths, the CASE as written.
        for (epoch, event) in events {
            let Event::Bid(bid) = event else { continue };
            let euro_thousandths = bid.price as u128 * 908;
            if euro_thousandths <= 1_000_000 * 1000 || euro_thousandths >= 50_000_000 * 1000 {
                continue;
            }
            let hour = bid.date_time / 1000 / 60 / 60 % 24;
            let kind = if (8..=18).contains(&hour) {
                "dayTime"
            } else if hour <= 6 || hour >= 20 {
                "nightTime"
            } else {
                "otherTime"
            };
            let row = TimedBid {
                auction: bid.auction,
                bidder: bid.bidder,
                price: euro_thousandths as u64,
                bid_time_type: kind.into(),
                date_time: bid.date_time,
                c_counts: bid.extra.chars().filter(|c| *c == 'c').count() as u64,
                extra: bid.extra,
            };
            emit(epoch, &row, 1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bid in the price band at `ms`, with `c`s in its extra.
    fn bid_at(ms: u64) -> Bid {
        Bid {
            auction: 1000,
            bidder: 1001,
            price: 2_000_000,
            channel: "Google".into(),
            url: "https://www.nexmark.com/a/item.htm".into(),
            date_time: ms,
            extra: "abcabcc".into(),
        }
    }

    #[test]
    fn every_hour_has_the_time_of_day_the_sql_gives_it_in_the_job_and_the_baseline() {
        let mut expected = vec!["nightTime"; 7];
        expected.push("otherTime"); // 7:00
        expected.extend(["dayTime"; 11]); // 8:00 to 18:59
        expected.push("otherTime"); // 19:00
        expected.extend(["nightTime"; 4]); // 20:00 to 23:59
        let epochs = EpochConfig::event_time(1000);
        for (hour, kind) in expected.iter().enumerate() {
            // The last millisecond of the hour, on the third day.
            let ms = (2 * 24 + hour as u64 + 1) * 3_600_000 - 1;
            let row = timed(bid_at(ms)).expect("in the band");
            assert_eq!((row.bid_time_type.as_str(), row.c_counts), (*kind, 3), "hour {hour}");
            let mut rows = Vec::new();
            let mut events = std::iter::once((0, Event::Bid(bid_at(ms))));
            Q14.baseline(&epochs, &mut events, &mut |_, row, _| rows.push(row.clone()))
                .unwrap();
            assert_eq!(rows, vec![row], "hour {hour}");
        }
    }

    #[test]
    fn the_price_band_is_exclusive_and_exact() {
        // 0.908 * price > 1,000,000 and < 50,000,000: prices 1,101,322 and 55,066,079
        // are the first and last cents in.
        for (price, kept) in [
            (1_101_321, false),
            (1_101_322, true),
            (55_066_079, true),
            (55_066_080, false),
        ] {
            let bid = Bid { price, ..bid_at(0) };
            assert_eq!(timed(bid).is_some(), kept, "price {price}");
        }
    }
}
