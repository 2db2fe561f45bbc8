//! A topic as a sink: generated datasets (`reprise gen ... -o kafka://...`) and a run's
//! output updates (`--output kafka://...`).

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use reprise_engine::output::MessageSink;
use reprise_engine::{EngineError, Epoch};

use crate::KafkaUrl;
use crate::client::{self, Watched};

/// A producer for one topic, created with the address's `partitions` if it is missing.
pub struct TopicWriter {
    producer: BaseProducer<Watched>,
    watched: Watched,
    url: KafkaUrl,
    partitions: i32,
    sent: u64,
}

impl std::fmt::Debug for TopicWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TopicWriter({}, {} sent)", self.url, self.sent)
    }
}

impl TopicWriter {
    /// Connects, creating the topic if it does not exist.
    pub fn connect(url: &KafkaUrl) -> Result<Self, EngineError> {
        let watched = Watched::default();
        let probe: BaseConsumer<Watched> = client::config(url)
            .create_with_context(watched.clone())
            .map_err(|e| client::unreachable(url, &e.to_string()))?;
        let partitions = match client::partitions(&probe, url) {
            Ok(partitions) => partitions.len() as i32,
            Err(EngineError::Config(missing)) if missing.contains("does not exist") => {
                create_topic(url)?;
                url.partitions
            }
            Err(e) => return Err(e),
        };
        let producer: BaseProducer<Watched> = client::config(url)
            .set("linger.ms", "5")
            .set("message.timeout.ms", url.timeout.as_millis().to_string())
            .create_with_context(watched.clone())
            .map_err(|e| client::unreachable(url, &e.to_string()))?;
        Ok(Self {
            producer,
            watched,
            url: url.clone(),
            partitions,
            sent: 0,
        })
    }

    /// The topic's partition count.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Queues one message, to `partition` or by its key; waits while the queue is full.
    pub fn send(
        &mut self,
        partition: Option<i32>,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), EngineError> {
        let mut record = BaseRecord::<[u8], [u8]>::to(&self.url.topic).payload(payload);
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        let started = Instant::now();
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(10));
                    self.check(started)?;
                }
                Err((e, _)) => {
                    return Err(EngineError::config(format!(
                        "{}: cannot send a message: {e}",
                        self.url
                    )));
                }
            }
        }
        self.sent += 1;
        if self.sent.is_multiple_of(1024) {
            self.producer.poll(Duration::ZERO);
            self.check(Instant::now())?;
        }
        Ok(())
    }

    /// Fails if a delivery failed, or if the broker has been failing since `since` for
    /// longer than the timeout.
    fn check(&self, since: Instant) -> Result<(), EngineError> {
        if let Some(trouble) = self.watched.0.lasting(Duration::ZERO)
            && (trouble.starts_with("a message was not delivered")
                || since.elapsed() >= self.url.timeout)
        {
            return Err(EngineError::config(format!(
                "writing to {}: {trouble}",
                self.url
            )));
        }
        Ok(())
    }

    /// Waits until every queued message is delivered.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        self.producer.flush(self.url.timeout).map_err(|e| {
            EngineError::config(format!(
                "writing to {}: not every message was delivered within {} ms: {e}",
                self.url,
                self.url.timeout.as_millis()
            ))
        })?;
        self.check(Instant::now() - self.url.timeout)
    }
}

impl MessageSink for TopicWriter {
    fn send(&mut self, key: &[u8], payload: &[u8]) -> Result<(), EngineError> {
        TopicWriter::send(self, None, Some(key), payload)
    }

    fn epoch_done(&mut self, _: Epoch) -> Result<(), EngineError> {
        // Delivery reports arrive through polling; batching continues across epochs.
        self.producer.poll(Duration::ZERO);
        self.check(Instant::now())
    }

    fn finish(mut self: Box<Self>) -> Result<(), EngineError> {
        self.flush()
    }
}

/// Creates `url`'s topic with its `partitions` (replication 1).
fn create_topic(url: &KafkaUrl) -> Result<(), EngineError> {
    let admin: AdminClient<Watched> = client::config(url)
        .create_with_context(Watched::default())
        .map_err(|e| client::unreachable(url, &e.to_string()))?;
    let topic = NewTopic::new(&url.topic, url.partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(url.timeout));
    let results = futures_executor::block_on(admin.create_topics([&topic], &options))
        .map_err(|e| client::unreachable(url, &e.to_string()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(EngineError::config(format!(
                    "cannot create topic `{name}` on {}: {code}",
                    url.brokers
                )));
            }
        }
    }
    Ok(())
}
