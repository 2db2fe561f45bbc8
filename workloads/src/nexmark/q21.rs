//! Nexmark q21, add a channel id (not in the original suite; Flink's `q21.sql`): bids of
//! the four big channels, with ids 0 to 3, and the bids whose URL carries a
//! `channel_id=` parameter, with its value:
//!
//! ```sql
//! SELECT auction, bidder, price, channel,
//!     CASE
//!         WHEN lower(channel) = 'apple' THEN '0'
//!         WHEN lower(channel) = 'google' THEN '1'
//!         WHEN lower(channel) = 'facebook' THEN '2'
//!         WHEN lower(channel) = 'baidu' THEN '3'
//!         ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
//!     END AS channel_id
//! FROM bid
//! WHERE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) IS NOT NULL
//!    OR lower(channel) IN ('apple', 'google', 'facebook', 'baidu');
//! ```

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

/// A bid with its channel's id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChannelBid {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// The channel's name.
    pub channel: String,
    /// The channel's id.
    pub channel_id: String,
}

/// The first `channel_id=` parameter's value: the parameter at the start of `url` or after
/// an `&`, its value up to the next `&`.
fn channel_id_param(url: &str) -> Option<&str> {
    const KEY: &str = "channel_id=";
    url.match_indices(KEY)
        .find(|(at, _)| *at == 0 || url.as_bytes()[at - 1] == b'&')
        .map(|(at, _)| {
            let value = &url[at + KEY.len()..];
            value.split('&').next().unwrap_or(value)
        })
}

/// The bid's row, if its channel has an id.
fn with_channel_id(bid: Bid) -> Option<ChannelBid> {
    let id = match bid.channel.to_lowercase().as_str() {
        "apple" => "0",
        "google" => "1",
        "facebook" => "2",
        "baidu" => "3",
        _ => channel_id_param(&bid.url)?,
    }
    .to_string();
    Some(ChannelBid {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        channel: bid.channel.into_owned(),
        channel_id: id,
    })
}

/// The q21 job.
#[derive(Clone, Debug)]
pub struct Q21;

impl Job for Q21 {
    type Event = Event;
    type Output = ChannelBid;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, ChannelBid> {
        events.flat_map(|event| super::bid(event).and_then(with_channel_id))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &ChannelBid, i64),
    ) -> Result<(), NoBaseline> {
        let big = ["apple", "google", "facebook", "baidu"];
        for (epoch, event) in events {
            let Event::Bid(bid) = event else { continue };
            // REGEXP_EXTRACT: the URL's `&`-separated pieces; the first piece is the
            // start of the URL (`^`), every other one follows an `&`.
            let extracted = bid
                .url
                .split('&')
                .find_map(|piece| piece.strip_prefix("channel_id="));
            let lower = bid.channel.to_lowercase();
            let id = match big.iter().position(|name| *name == lower) {
                Some(index) => index.to_string(),
                None => match extracted {
                    Some(value) => value.to_string(),
                    None => continue,
                },
            };
            let row = ChannelBid {
                auction: bid.auction,
                bidder: bid.bidder,
                price: bid.price,
                channel: bid.channel.to_string(),
                channel_id: id,
            };
            emit(epoch, &row, 1);
        }
        Ok(())
    }
}
