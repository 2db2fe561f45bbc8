//! The Nexmark auction benchmark's events: people, auctions and bids.
//!
//! The rules follow the Apache Beam / Flink Nexmark generators (`GeneratorConfig`,
//! `PersonGenerator`, `AuctionGenerator`, `BidGenerator`), with these conventions:
//! - event kind by `event_id % 50`: 0 person, 1-3 auction, 4-49 bid (1:3:46);
//! - person and auction ids are sequential from 1000;
//! - hot sellers (3 in 4 auctions: `(last person / 100) * 100`), hot auctions (1 in 2
//!   bids: `(last auction / 100) * 100`), hot bidders (3 in 4 bids:
//!   `(last person / 100) * 100 + 1`); otherwise uniform over the 1000 most recent people
//!   (plus a lead of 10) or the 100 in-flight auctions (plus a lead of 10), so some bids
//!   name auctions that do not exist yet;
//! - prices log-uniform from 1 to 1,000,000 (in cents: `round(10^(6u) * 100)`), reserve =
//!   initial bid + another such price; categories `10 + uniform{0..4}`;
//! - an auction expires `1 + uniform[0, 2h)` ms after it starts, `h` being the event-time
//!   span of the next `100 * 50 / 3` events;
//! - channels: half the bids from Google, Facebook, Baidu or Apple, the rest from
//!   `channel-i`, `i < 10,000`, each with one URL (as Beam's cache of channel URLs), nine
//!   in ten of which carry `&channel_id=`;
//! - `extra` pads events to average sizes of 200 (person), 500 (auction) and 100 (bid)
//!   bytes, within plus or minus 20%.
//!
//! Where we differ: event `i` draws from its own portable random stream
//! ([`EventRng`], seeded by `(seed, i)`), not Beam's `java.util.Random`
//! or Flink's unseeded one, so the events are identical on every platform and for any split
//! over workers; event time is integer milliseconds, `i * 1000 / rate` (no float drift);
//! bidder ids do not repeat Flink's double first-person-id offset (since 2021 its bidders
//! are off by 1000).

use std::borrow::Cow;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::Generator;
use crate::rng::EventRng;

/// Persons, auctions and bids per 50 events.
const PERSON_PROPORTION: u64 = 1;
const AUCTION_PROPORTION: u64 = 3;
const TOTAL_PROPORTION: u64 = 50;
/// The first id of persons and of auctions.
pub const FIRST_ID: u64 = 1000;
const FIRST_CATEGORY: u64 = 10;
const CATEGORIES: u64 = 5;
const HOT_RATIO: u64 = 100;
const ACTIVE_PEOPLE: u64 = 1000;
const IN_FLIGHT_AUCTIONS: u64 = 100;
const PERSON_LEAD: u64 = 10;
const AUCTION_LEAD: u64 = 10;
const CHANNELS: u64 = 10_000;

const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
/// The states people live in.
pub const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// Text that is usually one of a few fixed strings: those are borrowed, not allocated
/// per event (events read from a file own theirs).
pub type Text = Cow<'static, str>;

static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
    FIRST_NAMES
        .iter()
        .flat_map(|f| LAST_NAMES.iter().map(move |l| format!("{f} {l}")))
        .collect()
});
/// The seed of the channels' URLs: one URL per channel, the same in every dataset.
const CHANNEL_SEED: u64 = 0x6368_616e_6e65_6c73;

/// Channel `i`'s name and URL (Beam caches one URL per channel number the same way),
/// built once so that bids borrow them instead of formatting two strings each.
static CHANNEL_TABLE: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    (0..CHANNELS)
        .map(|number| {
            let mut rng = EventRng::new(CHANNEL_SEED, number);
            let mut url = String::from("https://www.nexmark.com/");
            (0..5).for_each(|_| url.push((b'a' + rng.below(26) as u8) as char));
            url.push_str("/item.htm?query=1");
            if rng.below(10) > 0 {
                url.push_str(&format!("&channel_id={number}"));
            }
            (format!("channel-{number}"), url)
        })
        .collect()
});
static HOT_URLS: LazyLock<Vec<String>> = LazyLock::new(|| {
    HOT_CHANNELS
        .iter()
        .map(|c| format!("https://www.nexmark.com/{c}/item.htm?query=1"))
        .collect()
});

/// A person joining the auction site.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Sequential from 1000.
    pub id: u64,
    /// First and last name.
    pub name: Text,
    /// Email address.
    pub email_address: String,
    /// Four groups of four digits.
    pub credit_card: String,
    /// City.
    pub city: Text,
    /// US state (one of [`STATES`]).
    pub state: Text,
    /// Event time in milliseconds.
    pub date_time: u64,
    /// Padding.
    pub extra: String,
}

/// An auction opening.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    /// Sequential from 1000.
    pub id: u64,
    /// Item name.
    pub item_name: String,
    /// Description.
    pub description: String,
    /// Initial bid, in cents.
    pub initial_bid: u64,
    /// Reserve price, in cents.
    pub reserve: u64,
    /// Event time in milliseconds.
    pub date_time: u64,
    /// When the auction closes, in milliseconds.
    pub expires: u64,
    /// The selling person's id.
    pub seller: u64,
    /// Category, 10 to 14.
    pub category: u64,
    /// Padding.
    pub extra: String,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    /// The auction's id (it may not exist yet).
    pub auction: u64,
    /// The bidding person's id.
    pub bidder: u64,
    /// Price in cents.
    pub price: u64,
    /// Where the bid came from.
    pub channel: Text,
    /// The page it came from.
    pub url: Text,
    /// Event time in milliseconds.
    pub date_time: u64,
    /// Padding.
    pub extra: String,
}

/// One Nexmark event. JSON lines: `{"Person":{...}}`, `{"Auction":{...}}`, `{"Bid":{...}}`.
///
/// Persons and auctions (8% of events) are boxed so that an event is the size of a bid
/// (104 bytes, not 160): every event is moved several times on its way into the dataflow,
/// and moving the larger one was a fifth of q2's time. Boxes serialize as their contents,
/// so logs and files are unchanged.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Event {
    /// A new person.
    Person(Box<Person>),
    /// A new auction.
    Auction(Box<Auction>),
    /// A bid.
    Bid(Bid),
}

impl Event {
    /// The event time in milliseconds.
    pub fn date_time(&self) -> u64 {
        match self {
            Event::Person(p) => p.date_time,
            Event::Auction(a) => a.date_time,
            Event::Bid(b) => b.date_time,
        }
    }
}

/// The Nexmark generator: event `i` is a pure function of `(seed, i)`.
#[derive(Clone, Debug)]
pub struct Nexmark {
    /// Dataset seed.
    pub seed: u64,
    /// Events per second of event time (default 10 million, as in the Flink setup).
    pub rate_per_sec: u64,
    /// Event time of event 0 in milliseconds.
    pub start_ms: u64,
}

impl Default for Nexmark {
    fn default() -> Self {
        Self {
            seed: 1,
            rate_per_sec: 10_000_000,
            start_ms: 0,
        }
    }
}

/// How many persons are among events `0..=event` (minus one): the last person's base-0 id.
fn last_person(event: u64) -> u64 {
    let epoch = event / TOTAL_PROPORTION;
    // Persons come first in each group of 50: after them, the group's last person.
    let offset = match event % TOTAL_PROPORTION {
        offset if offset < PERSON_PROPORTION => offset,
        _ => PERSON_PROPORTION - 1,
    };
    epoch * PERSON_PROPORTION + offset
}

/// The last auction's base-0 id at `event` (0 before the first auction).
fn last_auction(event: u64) -> u64 {
    let epoch = event / TOTAL_PROPORTION;
    let offset = event % TOTAL_PROPORTION;
    if offset < PERSON_PROPORTION {
        // Before this epoch's first auction: the previous epoch's last one.
        (epoch * AUCTION_PROPORTION).saturating_sub(1)
    } else if offset >= PERSON_PROPORTION + AUCTION_PROPORTION {
        epoch * AUCTION_PROPORTION + AUCTION_PROPORTION - 1
    } else {
        epoch * AUCTION_PROPORTION + offset - PERSON_PROPORTION
    }
}

impl Nexmark {
    /// Event time of event `index`, in milliseconds.
    pub fn time_ms(&self, index: u64) -> u64 {
        let timeline = crate::Timeline {
            start_ms: self.start_ms,
            rate_per_sec: self.rate_per_sec,
        };
        timeline.time_ms(index)
    }

    /// A person among the most recent ones (with a small lead), base-0.
    fn recent_person(event: u64, rng: &mut EventRng) -> u64 {
        let people = last_person(event) + 1;
        let active = people.min(ACTIVE_PEOPLE);
        people - active + rng.below(active + PERSON_LEAD)
    }

    fn price(rng: &mut EventRng) -> u64 {
        // 10^(6u) * 100 for uniform u, in integer steps: 2^53 points of u.
        let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // 10^(6u) as e^(6u ln 10): exp is about twice as fast as powf.
        ((u * 6.0 * std::f64::consts::LN_10).exp() * 100.0).round() as u64
    }

    fn padding(rng: &mut EventRng, current: usize, average: usize) -> String {
        let target = average * 4 / 5 + rng.below(average as u64 * 2 / 5 + 1) as usize;
        Self::letters(rng, target.saturating_sub(current))
    }

    /// `len` random lowercase letters, eight per random word.
    fn letters(rng: &mut EventRng, len: usize) -> String {
        const LETTER: [u8; 256] = {
            let mut table = [0u8; 256];
            let mut i = 0;
            while i < 256 {
                table[i] = b'a' + (i % 26) as u8;
                i += 1;
            }
            table
        };
        let mut bytes = vec![0u8; len];
        for chunk in bytes.chunks_mut(8) {
            let word = rng.next_u64().to_le_bytes();
            for (byte, random) in chunk.iter_mut().zip(word) {
                *byte = LETTER[random as usize];
            }
        }
        String::from_utf8(bytes).expect("ASCII letters")
    }

    fn person(&self, event: u64, rng: &mut EventRng) -> Person {
        let id = FIRST_ID + last_person(event);
        let name = Cow::Borrowed(NAMES[rng.below(NAMES.len() as u64) as usize].as_str());
        let email_address = format!("{}@{}.com", Self::letters(rng, 7), Self::letters(rng, 5));
        let card = rng.below(10_000_000_000_000_000);
        let credit_card = format!(
            "{:04} {:04} {:04} {:04}",
            card / 1_000_000_000_000,
            card / 100_000_000 % 10_000,
            card / 10_000 % 10_000,
            card % 10_000
        );
        let city = Cow::Borrowed(CITIES[rng.below(CITIES.len() as u64) as usize]);
        let state = Cow::Borrowed(STATES[rng.below(STATES.len() as u64) as usize]);
        let used =
            name.len() + email_address.len() + credit_card.len() + city.len() + state.len() + 16;
        let extra = Self::padding(rng, used, 200);
        Person {
            id,
            name,
            email_address,
            credit_card,
            city,
            state,
            date_time: self.time_ms(event),
            extra,
        }
    }

    fn auction(&self, event: u64, rng: &mut EventRng) -> Auction {
        let id = FIRST_ID + last_auction(event);
        let seller = FIRST_ID
            + if rng.below(4) > 0 {
                last_person(event) / HOT_RATIO * HOT_RATIO
            } else {
                Self::recent_person(event, rng)
            };
        let category = FIRST_CATEGORY + rng.below(CATEGORIES);
        let initial_bid = Self::price(rng);
        let reserve = initial_bid + Self::price(rng);
        let date_time = self.time_ms(event);
        // Expiry: within twice the time the next 100 in-flight auctions take to appear.
        let horizon = self
            .time_ms(event + IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION / AUCTION_PROPORTION)
            - date_time;
        let expires = date_time + 1 + rng.below((horizon * 2).max(1));
        let item_name = Self::letters(rng, 20);
        let description = Self::letters(rng, 100);
        let extra = Self::padding(rng, item_name.len() + description.len() + 48, 500);
        Auction {
            id,
            item_name,
            description,
            initial_bid,
            reserve,
            date_time,
            expires,
            seller,
            category,
            extra,
        }
    }

    fn bid(&self, event: u64, rng: &mut EventRng) -> Bid {
        let last = last_auction(event);
        let auction = FIRST_ID
            + if rng.below(2) > 0 {
                last / HOT_RATIO * HOT_RATIO
            } else {
                let oldest = last.saturating_sub(IN_FLIGHT_AUCTIONS);
                oldest + rng.below(last - oldest + 1 + AUCTION_LEAD)
            };
        let bidder = FIRST_ID
            + if rng.below(4) > 0 {
                last_person(event) / HOT_RATIO * HOT_RATIO + 1
            } else {
                Self::recent_person(event, rng)
            };
        let price = Self::price(rng);
        let (channel, url) = if rng.below(2) > 0 {
            let hot = rng.below(HOT_CHANNELS.len() as u64) as usize;
            (
                Cow::Borrowed(HOT_CHANNELS[hot]),
                Cow::Borrowed(HOT_URLS[hot].as_str()),
            )
        } else {
            let (channel, url) = &CHANNEL_TABLE[rng.below(CHANNELS) as usize];
            (Cow::Borrowed(channel.as_str()), Cow::Borrowed(url.as_str()))
        };
        let extra = Self::padding(rng, channel.len() + url.len() + 32, 100);
        Bid {
            auction,
            bidder,
            price,
            channel,
            url,
            date_time: self.time_ms(event),
            extra,
        }
    }
}

impl Generator for Nexmark {
    type Event = Event;

    fn generate(&self, index: u64) -> Event {
        let mut rng = EventRng::new(self.seed, index);
        match index % TOTAL_PROPORTION {
            offset if offset < PERSON_PROPORTION => {
                Event::Person(Box::new(self.person(index, &mut rng)))
            }
            offset if offset < PERSON_PROPORTION + AUCTION_PROPORTION => {
                Event::Auction(Box::new(self.auction(index, &mut rng)))
            }
            _ => Event::Bid(self.bid(index, &mut rng)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_no_larger_than_a_bid() {
        // The rare kinds are boxed (see `Event`); an unboxed person would make it 160 bytes.
        assert_eq!(std::mem::size_of::<Event>(), std::mem::size_of::<Bid>());
    }

    #[test]
    fn proportions_ids_and_hot_ratios_follow_the_rules() {
        let nexmark = Nexmark {
            rate_per_sec: 10_000,
            ..Nexmark::default()
        };
        let (mut persons, mut auctions, mut bids) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..100_000 {
            match nexmark.generate(i) {
                Event::Person(p) => persons.push(p),
                Event::Auction(a) => auctions.push(a),
                Event::Bid(b) => bids.push(b),
            }
        }
        assert_eq!(
            (persons.len(), auctions.len(), bids.len()),
            (2_000, 6_000, 92_000)
        );
        // Sequential ids from 1000.
        assert!(
            persons
                .iter()
                .enumerate()
                .all(|(i, p)| p.id == FIRST_ID + i as u64)
        );
        assert!(
            auctions
                .iter()
                .enumerate()
                .all(|(i, a)| a.id == FIRST_ID + i as u64)
        );
        // Hot auctions: about half the bids name a multiple of 100 (plus 1000).
        let hot_auction = bids
            .iter()
            .filter(|b| (b.auction - FIRST_ID).is_multiple_of(HOT_RATIO))
            .count() as f64
            / bids.len() as f64;
        assert!((0.49..0.53).contains(&hot_auction), "{hot_auction}");
        // Hot bidders: about three in four are (k * 100 + 1) + 1000.
        let hot_bidder = bids
            .iter()
            .filter(|b| (b.bidder - FIRST_ID) % HOT_RATIO == 1)
            .count() as f64
            / bids.len() as f64;
        assert!((0.74..0.77).contains(&hot_bidder), "{hot_bidder}");
        let hot_seller = auctions
            .iter()
            .filter(|a| (a.seller - FIRST_ID).is_multiple_of(HOT_RATIO))
            .count() as f64
            / auctions.len() as f64;
        assert!((0.73..0.78).contains(&hot_seller), "{hot_seller}");
        // Some bids name auctions that do not exist yet, none more than the lead ahead.
        let mut future = 0;
        for (i, b) in bids.iter().enumerate() {
            let event = (i as u64 / 46) * 50 + 4 + i as u64 % 46;
            let last = FIRST_ID + last_auction(event);
            assert!(b.auction <= last + AUCTION_LEAD, "bid {i}");
            future += (b.auction > last) as usize;
        }
        assert!(future > 0);
        // Prices are log-uniform from 1 to 1,000,000 dollars.
        assert!(bids.iter().all(|b| (100..=100_000_000).contains(&b.price)));
        let below_100_dollars =
            bids.iter().filter(|b| b.price < 10_000).count() as f64 / bids.len() as f64;
        assert!(
            (0.31..0.36).contains(&below_100_dollars),
            "{below_100_dollars}"
        );
        assert!(auctions.iter().all(|a| a.reserve > a.initial_bid
            && (10..15).contains(&a.category)
            && a.expires > a.date_time));
        assert!(persons.iter().all(|p| STATES.contains(&&*p.state)));
        // Channels: half hot; of the rest, nine in ten URLs carry the channel id.
        let hot = bids
            .iter()
            .filter(|b| HOT_CHANNELS.contains(&&*b.channel))
            .count() as f64
            / bids.len() as f64;
        assert!((0.48..0.52).contains(&hot), "{hot}");
        // Average sizes (serialized as JSON, roughly the padded sizes).
        let size = |v: &[String]| v.iter().map(|s| s.len()).sum::<usize>() as f64 / v.len() as f64;
        let bid_json: Vec<String> = bids
            .iter()
            .take(5000)
            .map(|b| serde_json::to_string(b).unwrap())
            .collect();
        assert!(
            (90.0..200.0).contains(&size(&bid_json)),
            "{}",
            size(&bid_json)
        );
    }

    #[test]
    fn time_follows_the_rate_and_events_are_pure_functions_of_the_index() {
        let nexmark = Nexmark::default();
        assert_eq!(nexmark.generate(123_456), nexmark.generate(123_456));
        assert_eq!(nexmark.generate(20_000_000).date_time(), 2000);
        assert_ne!(
            Nexmark {
                seed: 2,
                ..Nexmark::default()
            }
            .generate(7),
            nexmark.generate(7)
        );
    }
}
