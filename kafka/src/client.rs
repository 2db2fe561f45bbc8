//! What the source and the sink share: client settings, and a context that keeps the
//! errors librdkafka reports on its own threads so that a run can fail with them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use reprise_engine::EngineError;

use crate::KafkaUrl;

/// The first error since the client last made progress, with when it happened.
#[derive(Debug, Default)]
pub(crate) struct Trouble {
    first: Mutex<Option<(Instant, String)>>,
}

impl Trouble {
    pub(crate) fn report(&self, message: String) {
        let mut first = self.first.lock().expect("not poisoned");
        first.get_or_insert_with(|| (Instant::now(), message));
    }

    /// The client made progress: forget earlier errors.
    pub(crate) fn clear(&self) {
        *self.first.lock().expect("not poisoned") = None;
    }

    /// The error, if one has lasted at least `timeout`.
    pub(crate) fn lasting(&self, timeout: Duration) -> Option<String> {
        let first = self.first.lock().expect("not poisoned");
        first
            .as_ref()
            .filter(|(since, _)| since.elapsed() >= timeout)
            .map(|(_, message)| message.clone())
    }

    /// Whether any error is pending.
    pub(crate) fn pending(&self) -> bool {
        self.first.lock().expect("not poisoned").is_some()
    }
}

/// Collects librdkafka's errors (broker down, failed deliveries) instead of logging them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watched(pub(crate) Arc<Trouble>);

impl ClientContext for Watched {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        // Reaching the end of a partition is news, not trouble.
        if error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            self.0.report(format!("{error} ({reason})"));
        }
    }
}

impl ConsumerContext for Watched {}

impl ProducerContext for Watched {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            self.0
                .report(format!("a message was not delivered: {error}"));
        }
    }
}

/// Settings every client of `url` uses.
pub(crate) fn config(url: &KafkaUrl) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &url.brokers)
        .set(
            "socket.connection.setup.timeout.ms",
            url.timeout.as_millis().max(1000).to_string(),
        )
        .set("log_level", "0");
    config
}

/// The partitions of the topic, or an error naming the broker or the missing topic.
pub(crate) fn partitions(
    client: &BaseConsumer<Watched>,
    url: &KafkaUrl,
) -> Result<Vec<i32>, EngineError> {
    let metadata = client
        .fetch_metadata(Some(&url.topic), url.timeout)
        .map_err(|e| unreachable(url, &e.to_string()))?;
    let topic = metadata
        .topics()
        .iter()
        .find(|t| t.name() == url.topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty());
    match topic {
        Some(topic) => Ok(topic.partitions().iter().map(|p| p.id()).collect()),
        None => Err(EngineError::config(format!(
            "topic `{}` does not exist on the Kafka broker at {}: create it, or write to it first (`reprise gen <dataset> ... -o {url}?partitions=N`)",
            url.topic, url.brokers
        ))),
    }
}

/// The error for a broker that does not answer.
pub(crate) fn unreachable(url: &KafkaUrl, why: &str) -> EngineError {
    EngineError::config(format!(
        "cannot reach the Kafka broker at {} within {} ms ({why}); is it running? (`timeout_ms=` in the address changes the wait)",
        url.brokers,
        url.timeout.as_millis()
    ))
}
