//! Nexmark q18, find the last bid (not in the original suite; Flink's `q18.sql`): of each
//! bidder's bids on each auction, the latest:
//!
//! ```sql
//! SELECT auction, bidder, price, channel, url, dateTime, extra
//! FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC)
//!       AS rank_number FROM bid)
//! WHERE rank_number <= 1;
//! ```
//!
//! Equal times are broken explicitly, so the answer is unique: the higher price wins, then
//! the greater bid in its fields' order. State: as the SQL, one bid per (bidder, auction)
//! for ever ([`TopPerKey`] with `n = 1`: a bid that is not the latest can never become
//! it, bids are never retracted), so it grows with the pairs, not with the bids.

use differential_dataflow::VecCollection;
use std::cmp::Ordering;

use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::top::TopPerKey;
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A bid ordered as q18 ranks it: the greatest is the latest, then the highest price,
/// then the greater in its fields' order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Latest(Bid);

impl Ord for Latest {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        (a.date_time, a.price, a).cmp(&(b.date_time, b.price, b))
    }
}

impl PartialOrd for Latest {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The q18 job.
#[derive(Clone, Debug)]
pub struct Q18;

impl Job for Q18 {
    type Event = Event;
    type Output = Bid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, Bid> {
        events
            .flat_map(|event| super::bid(event).map(|bid| ((bid.bidder, bid.auction), Latest(bid))))
            .top_per_key(1)
            .map(|(_, _, Latest(bid))| bid)
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &Bid, i64),
    ) -> Result<(), NoBaseline> {
        // ROW_NUMBER() ... ORDER BY dateTime DESC = 1, ties by price, then the bid: a bid
        // replaces the pair's row when it comes later in that order.
        let later = |a: &Bid, b: &Bid| {
            a.date_time > b.date_time
                || (a.date_time == b.date_time
                    && (a.price > b.price || (a.price == b.price && a > b)))
        };
        let mut rows: FxHashMap<(u64, u64), Bid> = FxHashMap::default();
        // The pairs whose row changed in the current epoch, with their row before it.
        let mut before: FxHashMap<(u64, u64), Option<Bid>> = FxHashMap::default();
        let mut current = None;
        let mut flush = |epoch: Epoch,
                         rows: &FxHashMap<(u64, u64), Bid>,
                         before: &mut FxHashMap<(u64, u64), Option<Bid>>| {
            for (pair, old) in before.drain() {
                let new = &rows[&pair];
                if old.as_ref() == Some(new) {
                    continue;
                }
                if let Some(old) = old {
                    emit(epoch, &old, -1);
                }
                emit(epoch, new, 1);
            }
        };
        for (epoch, event) in events {
            if current.is_some_and(|c| c != epoch) {
                flush(current.unwrap_or_default(), &rows, &mut before);
            }
            current = Some(epoch);
            let Event::Bid(bid) = event else { continue };
            let pair = (bid.bidder, bid.auction);
            match rows.get(&pair) {
                Some(row) if !later(&bid, row) => {}
                row => {
                    before.entry(pair).or_insert_with(|| row.cloned());
                    rows.insert(pair, bid);
                }
            }
        }
        if let Some(epoch) = current {
            flush(epoch, &rows, &mut before);
        }
        Ok(())
    }
}
