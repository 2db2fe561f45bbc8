//! The seed workloads' datasets: keyed events, network flows, page visits, text lines.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::rng::EventRng;
use crate::zipf::Zipf;
use crate::{Generator, Timeline};

/// A keyed measurement. CSV header `id,value,ts`; JSON `{"id":..,"value":..,"ts":..}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FilterEvent {
    /// Source id.
    pub id: u64,
    /// Measured value.
    pub value: u64,
    /// Event time in milliseconds.
    pub ts: u64,
}

/// Generates [`FilterEvent`]s: ids uniform in `0..ids`, values uniform in `0..max_value`.
#[derive(Clone, Debug)]
pub struct FilterEvents {
    /// Dataset seed.
    pub seed: u64,
    /// Event times.
    pub timeline: Timeline,
    /// Number of distinct ids.
    pub ids: u64,
    /// Values are below this.
    pub max_value: u64,
}

impl Default for FilterEvents {
    fn default() -> Self {
        Self {
            seed: 1,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: 1_000_000,
            },
            ids: 1_000_000,
            max_value: 1000,
        }
    }
}

impl Generator for FilterEvents {
    type Event = FilterEvent;
    #[inline]
    fn generate(&self, index: u64) -> FilterEvent {
        let mut rng = EventRng::new(self.seed, index);
        FilterEvent {
            id: rng.below(self.ids.max(1)),
            value: rng.below(self.max_value.max(1)),
            ts: self.timeline.time_ms(index),
        }
    }
}

/// A network flow. CSV header `ip,bytes,ts` (`ip` dotted, like `10.0.3.7`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Flow {
    /// Source address.
    pub ip: Ipv4Addr,
    /// Bytes transferred.
    pub bytes: u64,
    /// Event time in milliseconds.
    pub ts: u64,
}

/// Generates [`Flow`]s: addresses Zipf-distributed over `hosts` addresses in 10.0.0.0/8,
/// sizes log-uniform from 64 bytes to about 4 MiB.
#[derive(Clone, Debug)]
pub struct Flows {
    /// Dataset seed.
    pub seed: u64,
    /// Event times.
    pub timeline: Timeline,
    /// Distribution of source addresses by popularity rank.
    pub hosts: Zipf,
}

impl Flows {
    /// Flows over `hosts` addresses with Zipf exponent `skew`.
    pub fn new(seed: u64, timeline: Timeline, hosts: u64, skew: f64) -> Self {
        Self {
            seed,
            timeline,
            hosts: Zipf::new(hosts, skew),
        }
    }
}

impl Generator for Flows {
    type Event = Flow;
    #[inline]
    fn generate(&self, index: u64) -> Flow {
        let mut rng = EventRng::new(self.seed, index);
        let rank = self.hosts.sample(&mut rng);
        // An odd multiplier is a bijection on 24 bits: popular hosts are spread out.
        let host = (rank.wrapping_mul(0x9E_3779) & 0x00FF_FFFF) as u32;
        let scale = rng.below(17);
        let bytes = (64u64 << scale) + rng.below(64u64 << scale);
        Flow {
            ip: Ipv4Addr::from(0x0A00_0000 | host),
            bytes,
            ts: self.timeline.time_ms(index),
        }
    }
}

/// A page visit. CSV header `user_id,ts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Visit {
    /// The visiting user.
    pub user_id: u64,
    /// Event time in milliseconds.
    pub ts: u64,
}

/// Generates [`Visit`]s: users Zipf-distributed over `users` users.
#[derive(Clone, Debug)]
pub struct Visits {
    /// Dataset seed.
    pub seed: u64,
    /// Event times.
    pub timeline: Timeline,
    /// Distribution of users by activity rank.
    pub users: Zipf,
}

impl Generator for Visits {
    type Event = Visit;
    #[inline]
    fn generate(&self, index: u64) -> Visit {
        let mut rng = EventRng::new(self.seed, index);
        let rank = self.users.sample(&mut rng);
        Visit {
            user_id: rank.wrapping_mul(0x9E37_79B9) % 1_000_000_007,
            ts: self.timeline.time_ms(index),
        }
    }
}

/// A line of text. CSV header `ts,text`; JSON `{"ts":..,"text":".."}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TextLine {
    /// Event time in milliseconds.
    pub ts: u64,
    /// The text: words separated by single spaces.
    pub text: String,
}

/// Generates [`TextLine`]s of 1 to `max_words` words, each Zipf-distributed over a
/// vocabulary of pronounceable made-up words ([`word`]).
#[derive(Clone, Debug)]
pub struct TextLines {
    /// Dataset seed.
    pub seed: u64,
    /// Event times.
    pub timeline: Timeline,
    /// Distribution of words by frequency rank.
    pub vocabulary: Zipf,
    /// Most words in a line.
    pub max_words: u64,
}

impl Generator for TextLines {
    type Event = TextLine;
    #[inline]
    fn generate(&self, index: u64) -> TextLine {
        let mut rng = EventRng::new(self.seed, index);
        let words = 1 + rng.below(self.max_words.max(1));
        let mut text = String::with_capacity(words as usize * 8);
        for i in 0..words {
            if i > 0 {
                text.push(' ');
            }
            push_word(&mut text, self.vocabulary.sample(&mut rng));
        }
        TextLine {
            ts: self.timeline.time_ms(index),
            text,
        }
    }
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "an", "el", "ir", "os", "ul", "be", "do", "fa",
];

/// The made-up word of frequency rank `rank`: its base-16 digits as syllables, so every
/// rank has its own word (`0` is `ka`, `17` is `lolo`).
///
/// # Examples
/// ```
/// assert_eq!(reprise_datasets::word(0), "ka");
/// assert_eq!(reprise_datasets::word(17), "lolo");
/// ```
pub fn word(rank: u64) -> String {
    let mut text = String::new();
    push_word(&mut text, rank);
    text
}

fn push_word(text: &mut String, rank: u64) {
    let mut digits = [0usize; 16];
    let mut len = 0;
    let mut rest = rank;
    loop {
        digits[len] = (rest % 16) as usize;
        len += 1;
        rest /= 16;
        if rest == 0 {
            break;
        }
    }
    for digit in digits[..len].iter().rev() {
        text.push_str(SYLLABLES[*digit]);
    }
}
