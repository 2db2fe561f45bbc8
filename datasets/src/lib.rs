//! # Reprise datasets
//!
//! Deterministic, seeded generators (their files are written by `reprise_engine::io`).
//!
//! Every generator is a pure function of `(seed, event index)`: event `i` is drawn from a
//! [`rng::EventRng`] seeded by a hash of the seed and `i`, never from a shared generator,
//! so any split of the indices over workers yields the same events. Event times come from
//! a [`Timeline`] in integer milliseconds and never decrease with the index.
//!
//! # Examples
//! ```
//! use reprise_datasets::{FilterEvents, Generator};
//! let events = FilterEvents::default();
//! assert_eq!(events.generate(7), events.generate(7));
//! assert!(events.generate(8).ts >= events.generate(7).ts);
//! ```

#![deny(missing_docs)]

pub mod nexmark;
pub mod rng;
mod seed_workloads;
mod timeline;
pub mod zipf;

pub use seed_workloads::{
    FilterEvent, FilterEvents, Flow, Flows, TextLine, TextLines, Visit, Visits, word,
};
pub use timeline::Timeline;

/// A dataset generator: event `index` is a pure function of the generator's settings and
/// the index.
pub trait Generator: Send + Sync + 'static {
    /// One event.
    type Event;
    /// The event at `index`.
    fn generate(&self, index: u64) -> Self::Event;
}

/// The range of a generator's event rate, in events per second of event time.
pub const RATE_RANGE: std::ops::RangeInclusive<u64> = 1..=1_000_000_000_000;
/// The range of a key count drawn with Zipf skew (its table takes 8 bytes a key).
pub const ZIPF_KEYS_RANGE: std::ops::RangeInclusive<u64> = 1..=100_000_000;
/// The range of a Zipf exponent.
pub const SKEW_RANGE: std::ops::RangeInclusive<f64> = 0.0..=10.0;
