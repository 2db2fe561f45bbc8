//! Nexmark q16, channel statistics report (not in the original suite; Flink's `q16.sql`):
//! q15 per channel and day, with the latest minute of the group's bids:
//!
//! ```sql
//! SELECT channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`,
//!     max(DATE_FORMAT(dateTime, 'HH:mm')) AS `minute`,
//!     count(*) AS total_bids, ... (as q15: bids, distinct bidders and distinct auctions,
//!     each overall and per price rank)
//! FROM bid
//! GROUP BY channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd');
//! ```
//!
//! State and days as q15: a day's rows are final, and retracted, when it ends.

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Event, Text};
use reprise_engine::window::TumblingWindow;
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

use super::date::{self, DAY_MS};
use super::q15::{GroupCounts, GroupSets, group_counts, group_counts_baseline};
pub use super::q17::DailyParams;
use crate::baseline::calendar_day;

/// One channel's bids on one day.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChannelDay {
    /// The channel.
    pub channel: Text,
    /// The day, `yyyy-MM-dd` (UTC).
    pub day: String,
    /// The latest bid's `HH:mm`.
    pub minute: String,
    /// Bids.
    pub total_bids: u64,
    /// Bids under 10,000 (cents).
    pub rank1_bids: u64,
    /// Bids from 10,000 to under 1,000,000.
    pub rank2_bids: u64,
    /// Bids of 1,000,000 and over.
    pub rank3_bids: u64,
    /// Distinct bidders.
    pub total_bidders: u64,
    /// Distinct bidders of rank-1 bids.
    pub rank1_bidders: u64,
    /// Distinct bidders of rank-2 bids.
    pub rank2_bidders: u64,
    /// Distinct bidders of rank-3 bids.
    pub rank3_bidders: u64,
    /// Distinct auctions.
    pub total_auctions: u64,
    /// Distinct auctions of rank-1 bids.
    pub rank1_auctions: u64,
    /// Distinct auctions of rank-2 bids.
    pub rank2_auctions: u64,
    /// Distinct auctions of rank-3 bids.
    pub rank3_auctions: u64,
}

impl ChannelDay {
    fn new(channel: Text, day: String, minute: String, counts: &GroupCounts) -> Self {
        let [total_bids, rank1_bids, rank2_bids, rank3_bids] = counts.bids;
        let [total_bidders, rank1_bidders, rank2_bidders, rank3_bidders] = counts.bidders;
        let [total_auctions, rank1_auctions, rank2_auctions, rank3_auctions] = counts.auctions;
        Self {
            channel,
            day,
            minute,
            total_bids,
            rank1_bids,
            rank2_bids,
            rank3_bids,
            total_bidders,
            rank1_bidders,
            rank2_bidders,
            rank3_bidders,
            total_auctions,
            rank1_auctions,
            rank2_auctions,
            rank3_auctions,
        }
    }
}

/// The q16 job.
#[derive(Clone, Debug)]
pub struct Q16 {
    day: TumblingWindow,
}

impl Job for Q16 {
    type Event = Event;
    type Output = ChannelDay;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, ChannelDay> {
        let bids = events.flat_map(|event| super::bid(event).map(|bid| (bid.channel.clone(), bid)));
        group_counts(self.day, ctx, bids).map(|(start, channel, counts)| {
            let minute = date::hour_minute(counts.latest_ms);
            ChannelDay::new(channel, date::day(start), minute, &counts)
        })
    }

    fn closing_epoch(&self, record: &ChannelDay, epochs: &EpochConfig) -> Option<Epoch> {
        let start = date::day_start_ms(&record.day).expect("q16 writes its days");
        Some(self.day.closing_epoch(start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &ChannelDay, i64),
    ) -> Result<(), NoBaseline> {
        let row = |start: u64, channel: &Text, group: &GroupSets| {
            let day = calendar_day(start);
            ChannelDay::new(channel.clone(), day, group.minute.clone(), &group.counts())
        };
        group_counts_baseline(self.day, epochs, events, |bid| bid.channel.clone(), row, emit);
        Ok(())
    }
}

impl Q16 {
    /// The job, from its parameters.
    pub fn new(params: &DailyParams) -> Result<Self, EngineError> {
        Ok(Q16 {
            day: TumblingWindow::new(DAY_MS, params.lateness_ms)?,
        })
    }
}
