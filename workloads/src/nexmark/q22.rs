//! Nexmark q22, URL directories (not in the original suite; Flink's `q22.sql`): every bid
//! with the fourth, fifth and sixth `/`-separated pieces of its URL (SPLIT_INDEX counts
//! from 0; a piece past the end is NULL):
//!
//! ```sql
//! SELECT auction, bidder, price, channel,
//!     SPLIT_INDEX(url, '/', 3) AS dir1,
//!     SPLIT_INDEX(url, '/', 4) AS dir2,
//!     SPLIT_INDEX(url, '/', 5) AS dir3
//! FROM bid;
//! ```

use differential_dataflow::VecCollection;
use reprise_datasets::nexmark::{Bid, Event};
use reprise_engine::{Epoch, EpochConfig, Job, JobContext, NoBaseline};
use serde::{Deserialize, Serialize};

/// A bid with its URL's directories.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UrlDirs {
    /// The auction.
    pub auction: u64,
    /// The bidder.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// The channel's name.
    pub channel: String,
    /// The URL's piece 3 (`https:`, ``, host, then this), if it has one.
    pub dir1: Option<String>,
    /// Piece 4.
    pub dir2: Option<String>,
    /// Piece 5.
    pub dir3: Option<String>,
}

fn dirs(bid: Bid) -> UrlDirs {
    let mut pieces = bid.url.split('/').skip(3).map(str::to_string);
    UrlDirs {
        auction: bid.auction,
        bidder: bid.bidder,
        price: bid.price,
        dir1: pieces.next(),
        dir2: pieces.next(),
        dir3: pieces.next(),
        channel: bid.channel.into_owned(),
    }
}

/// The q22 job.
#[derive(Clone, Debug)]
pub struct Q22;

impl Job for Q22 {
    type Event = Event;
    type Output = UrlDirs;

    fn event_time_ms(event: &Event) -> u64 {
        event.date_time()
    }

    fn build<'s>(
        &self,
        _: &JobContext,
        events: VecCollection<'s, Epoch, Event>,
    ) -> VecCollection<'s, Epoch, UrlDirs> {
        events.flat_map(|event| super::bid(event).map(dirs))
    }

    fn baseline(
        &self,
        _: &EpochConfig,
        events: &mut dyn Iterator<Item = (Epoch, Event)>,
        emit: &mut dyn FnMut(Epoch, &UrlDirs, i64),
    ) -> Result<(), NoBaseline> {
        for (epoch, event) in events {
            let Event::Bid(bid) = event else { continue };
            let pieces: Vec<&str> = bid.url.split('/').collect();
            let split_index = |index: usize| pieces.get(index).map(|piece| piece.to_string());
            let row = UrlDirs {
                auction: bid.auction,
                bidder: bid.bidder,
                price: bid.price,
                channel: bid.channel.to_string(),
                dir1: split_index(3),
                dir2: split_index(4),
                dir3: split_index(5),
            };
            emit(epoch, &row, 1);
        }
        Ok(())
    }
}
