//! # Reprise's Kafka connector
//!
//! A topic is a source of records (`--input kafka://HOST:PORT/TOPIC`, [`records`]) and a
//! sink for generated datasets and a run's output ([`TopicWriter`]). Records are one per
//! message, in the workload's dataset format (a JSON object, or a CSV line without header).
//!
//! What arrives from a broker, and when, is not reproducible; the input log is: record a
//! run from Kafka with `--record`, and `reprise replay` reproduces it without the broker.

mod client;
mod sink;
mod source;
mod url;

pub use sink::TopicWriter;
pub use source::{Bounds, Order, Parse, records};
pub use url::{KafkaUrl, Start};
