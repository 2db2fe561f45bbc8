//! # Reprise datasets
//!
//! Deterministic, seeded generators and the dataset file formats.
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

pub mod format;
pub mod nexmark;
pub mod rng;
mod seed_workloads;
mod timeline;
pub mod zipf;

pub use format::{FormatError, read_records, write_records};
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
