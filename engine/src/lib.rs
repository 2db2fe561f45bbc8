//! # Reprise engine
//!
//! A single-node, high-throughput dataflow engine with deterministic output, built on
//! timely-dataflow and differential-dataflow.
//!
//! A [`Job`] says how an input collection of events becomes an output collection. The
//! engine owns everything else: worker threads, epochs ([`EventClock`]), sources
//! ([`Source`]), the digest sink ([`digest`]), the output file ([`output`]) and metrics.
//! Windows are differential collections ([`window`]).
//!
//! Every run produces a digest per epoch, the wrapping sum of `diff * h(record)` over the
//! epoch's output updates, which is the same for any number of workers.
//!
//! # Examples
//!
//! A job that counts events per key per one-second tumbling window:
//!
//! ```
//! use std::sync::Arc;
//! use differential_dataflow::VecCollection;
//! use reprise_engine::window::{TumblingWindow, WindowSum};
//! use reprise_engine::{Epoch, EpochConfig, Generate, Job, JobContext, RunConfig, Source, run};
//!
//! struct CountPerKey;
//!
//! impl Job for CountPerKey {
//!     type Event = (u64, u64); // (key, time in ms)
//!     type Output = (u64, u64, i64); // (window start, key, count)
//!     fn event_time_ms(event: &(u64, u64)) -> u64 { event.1 }
//!     fn build<'s>(&self, ctx: &JobContext, events: VecCollection<'s, Epoch, (u64, u64)>)
//!         -> VecCollection<'s, Epoch, (u64, u64, i64)> {
//!         let window = TumblingWindow::new(1000, 0).unwrap();
//!         events.map(|(key, time)| (key, time, 1)).window_sum(window, ctx)
//!     }
//! }
//!
//! let source = Source::Generated { events: 10_000, generate: Generate::new(|i| (i % 7, i / 10)) };
//! let one = run(Arc::new(CountPerKey), source, &RunConfig::new(1, 100), &mut |_| {}).unwrap();
//! let source = Source::Generated { events: 10_000, generate: Generate::new(|i| (i % 7, i / 10)) };
//! let two = run(Arc::new(CountPerKey), source, &RunConfig::new(2, 100), &mut |_| {}).unwrap();
//! assert_eq!(one.digests, two.digests);
//! assert_eq!(one.events, 10_000);
//! ```

#![deny(missing_docs)]

pub mod cluster;
pub mod digest;
mod epoch;
mod error;
pub mod io;
mod job;
pub mod log;
pub mod lookup;
pub mod metrics;
pub mod output;
pub mod params;
pub mod preview;
mod run;
mod serde_words;
pub mod sink;
mod source;
pub mod testing;
pub mod top;
pub mod window;

pub(crate) use epoch::HeldPerEpoch;
/// This engine's version.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision this engine was built from (`unknown` outside a git checkout).
pub const GIT_REVISION: &str = env!("REPRISE_GIT_REVISION");

pub(crate) use epoch::check_duration;
pub use epoch::{
    Clock, Epoch, EpochConfig, EventClock, MAX_DURATION_MS, MAX_EVENT_TIME_MS, check_event_time,
};
pub use error::EngineError;
pub use job::{Job, JobContext, NoBaseline, Record};
pub use params::{ParamSpec, Params};
pub use run::{Progress, RunConfig, RunResult, run};
pub use source::{Generate, Indices, RecordedEpochs, Records, Source, SourceError};
