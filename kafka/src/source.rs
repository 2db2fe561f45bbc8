//! A topic as a source of records: every partition, one record per message.
//!
//! With the event clock, the partitions are merged by event time (ties by partition): a
//! record is handed on only when every partition has one buffered or has reached its
//! current end, so a topic whose partitions are each in time order reads as one stream in
//! time order, and the run's epochs, and digests, are those of the same data read from a
//! file, whatever the broker's interleaving. A partition at its end does not hold the
//! others back (as Flink treats idle partitions); one far ahead is paused while the others
//! catch up, so buffering stays bounded. With the processing clock, records are handed on
//! as they arrive.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use reprise_engine::{EngineError, Records, SourceError};

use crate::client::{self, Watched};
use crate::{KafkaUrl, Start};

/// In what order records leave the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Merged by event time across partitions (the event clock).
    EventTime,
    /// As they arrive (the processing clock).
    Arrival,
}

/// When a read of a topic ends.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bounds {
    /// After this many records.
    pub records: Option<u64>,
    /// After no record arrived for this long.
    pub until_idle: Option<Duration>,
}

/// Parses one message's payload into a record, or says what is wrong with it.
pub type Parse<E> = Box<dyn Fn(&[u8]) -> Result<E, String> + Send>;

/// A partition buffered beyond this many records is paused until it drains to half.
const MAX_BUFFERED: usize = 50_000;
const POLL: Duration = Duration::from_millis(50);
/// How often a stalled merge asks the broker where its empty partitions end.
const END_CHECK: Duration = Duration::from_millis(200);

/// The records of `url`'s topic, parsed by `parse`, in `order` (`time` gives a record's
/// event time), until `bounds`. Connects first: an unreachable broker or a missing topic
/// is an error here, before the run starts.
pub fn records<E: Send + 'static>(
    url: &KafkaUrl,
    order: Order,
    bounds: Bounds,
    parse: Parse<E>,
    time: fn(&E) -> u64,
) -> Result<Records<E>, EngineError> {
    let watched = Watched::default();
    let mut config = client::config(url);
    let group = url
        .group
        .clone()
        .unwrap_or_else(|| format!("reprise-{}", std::process::id()));
    config
        .set("group.id", &group)
        .set("enable.auto.commit", url.group.is_some().to_string())
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer<Watched> = config
        .create_with_context(watched.clone())
        .map_err(|e| client::unreachable(url, &e.to_string()))?;
    let partitions = client::partitions(&consumer, url)?;
    if let Start::Offsets(offsets) = &url.start
        && let Some((p, _)) = offsets.iter().find(|(p, _)| !partitions.contains(p))
    {
        return Err(EngineError::config(format!(
            "{url} has no partition {p} (it has {})",
            partitions.len()
        )));
    }
    // Explicit start offsets, so that the end of a partition can be checked against them.
    let committed = match url.start {
        Start::Committed => Some(
            consumer
                .committed(url.timeout)
                .map_err(|e| client::unreachable(url, &e.to_string()))?,
        ),
        _ => None,
    };
    let mut assignment = TopicPartitionList::new();
    let mut next_offset = BTreeMap::new();
    for &partition in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(&url.topic, partition, url.timeout)
            .map_err(|e| client::unreachable(url, &e.to_string()))?;
        let stored = || match committed
            .as_ref()?
            .find_partition(&url.topic, partition)?
            .offset()
        {
            Offset::Offset(offset) => Some(offset),
            _ => None,
        };
        let start = match &url.start {
            Start::Earliest => low,
            Start::Latest => high,
            Start::Committed => stored().unwrap_or(low),
            Start::Offsets(offsets) => offsets
                .iter()
                .find(|(p, _)| *p == partition)
                .map_or(low, |(_, offset)| *offset),
        };
        next_offset.insert(partition, start);
        assignment
            .add_partition_offset(&url.topic, partition, Offset::Offset(start))
            .map_err(|e| EngineError::config(format!("{url}: partition {partition}: {e}")))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| EngineError::config(format!("{url}: cannot read its partitions: {e}")))?;
    Ok(Box::new(TopicRecords {
        consumer,
        watched,
        url: url.clone(),
        order,
        bounds,
        parse,
        time,
        buffered: partitions.iter().map(|p| (*p, VecDeque::new())).collect(),
        at_end: Vec::new(),
        next_offset,
        paused: Vec::new(),
        arrived: VecDeque::new(),
        handed: 0,
        last_record: Instant::now(),
        last_end_check: Instant::now(),
        draining: false,
        failed: false,
    }))
}

struct TopicRecords<E> {
    consumer: BaseConsumer<Watched>,
    watched: Watched,
    url: KafkaUrl,
    order: Order,
    bounds: Bounds,
    parse: Parse<E>,
    time: fn(&E) -> u64,
    /// Event-time order: each partition's records not yet handed on, `(time, record)`.
    buffered: BTreeMap<i32, VecDeque<(u64, E)>>,
    /// Partitions at their current end.
    at_end: Vec<i32>,
    /// Per partition, the offset after the last record read (at first, where reading starts).
    next_offset: BTreeMap<i32, i64>,
    paused: Vec<i32>,
    /// Arrival order: records not yet handed on.
    arrived: VecDeque<E>,
    handed: u64,
    last_record: Instant,
    last_end_check: Instant,
    /// The input has ended: hand on what is buffered, in order, then stop.
    draining: bool,
    failed: bool,
}

impl<E> TopicRecords<E> {
    /// The next record to hand on, if the order allows one now.
    fn ready(&mut self) -> Option<E> {
        if self.order == Order::Arrival {
            return self.arrived.pop_front();
        }
        let mut earliest: Option<(u64, i32)> = None;
        for (partition, queue) in &self.buffered {
            match queue.front() {
                // Ties go to the lowest partition (the map is ordered).
                Some((time, _)) if earliest.is_none_or(|(t, _)| *time < t) => {
                    earliest = Some((*time, *partition));
                }
                Some(_) => {}
                // An empty partition that may still receive earlier records blocks.
                None if !self.draining && !self.at_end.contains(partition) => return None,
                None => {}
            }
        }
        let (_, partition) = earliest?;
        let queue = self.buffered.get_mut(&partition).expect("listed above");
        let (_, record) = queue.pop_front().expect("not empty");
        if queue.len() < MAX_BUFFERED / 2 && self.paused.contains(&partition) {
            self.paused.retain(|p| *p != partition);
            let _ = self.consumer.resume(&self.one(partition));
        }
        Some(record)
    }

    /// Whether `partition` has nothing past what was read: the end-of-partition event
    /// alone is not trusted, as a broker may report the end of a fetch as the end of the
    /// partition (which would hand on later records before earlier ones).
    fn really_at_end(&self, partition: i32) -> bool {
        let next = self.next_offset[&partition];
        match self
            .consumer
            .fetch_watermarks(&self.url.topic, partition, self.url.timeout)
        {
            Ok((_, high)) => next >= high,
            Err(_) => false,
        }
    }

    fn one(&self, partition: i32) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.url.topic, partition);
        list
    }

    /// Nothing arrived: fails if the broker has been in trouble for the whole timeout, or
    /// ends the input if it has been idle (and healthy) for `until_idle`.
    fn stalled(&mut self) -> Option<Result<E, SourceError>> {
        // An end-of-partition event may have been missed (or came while the check failed):
        // while waiting, ask the broker whether the empty partitions are at their end.
        if self.order == Order::EventTime && self.last_end_check.elapsed() >= END_CHECK {
            self.last_end_check = Instant::now();
            let empty: Vec<i32> = self
                .buffered
                .iter()
                .filter(|(p, queue)| queue.is_empty() && !self.at_end.contains(p))
                .map(|(p, _)| *p)
                .collect();
            for partition in empty {
                if self.really_at_end(partition) {
                    self.at_end.push(partition);
                }
            }
        }
        if let Some(trouble) = self.watched.0.lasting(self.url.timeout) {
            let message = format!(
                "lost the Kafka broker at {}: no progress for {} ms: {trouble}",
                self.url.brokers,
                self.url.timeout.as_millis()
            );
            return self.fail("reading".into(), message);
        }
        let idle = self
            .bounds
            .until_idle
            .is_some_and(|idle| self.last_record.elapsed() >= idle);
        if idle && !self.watched.0.pending() {
            self.draining = true;
        }
        None
    }

    fn fail(&mut self, at: String, message: String) -> Option<Result<E, SourceError>> {
        self.failed = true;
        Some(Err(SourceError { at, message }))
    }
}

impl<E> Iterator for TopicRecords<E> {
    type Item = Result<E, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed || self.bounds.records.is_some_and(|n| self.handed >= n) {
                return None;
            }
            if let Some(record) = self.ready() {
                self.handed += 1;
                return Some(Ok(record));
            }
            if self.draining {
                return None;
            }
            match self.consumer.poll(POLL) {
                Some(Ok(message)) => {
                    let (partition, offset) = (message.partition(), message.offset());
                    let payload = message.payload().unwrap_or_default();
                    let record = match (self.parse)(payload) {
                        Ok(record) => record,
                        Err(why) => {
                            let start = &payload[..payload.len().min(64)];
                            let message =
                                format!("{why}; the message begins `{}`", start.escape_ascii());
                            return self
                                .fail(format!("partition {partition}, offset {offset}"), message);
                        }
                    };
                    self.last_record = Instant::now();
                    self.watched.0.clear();
                    self.at_end.retain(|p| *p != partition);
                    self.next_offset.insert(partition, offset + 1);
                    match self.order {
                        Order::Arrival => self.arrived.push_back(record),
                        Order::EventTime => {
                            let time = (self.time)(&record);
                            let queue = self.buffered.entry(partition).or_default();
                            queue.push_back((time, record));
                            if queue.len() >= MAX_BUFFERED && !self.paused.contains(&partition) {
                                self.paused.push(partition);
                                let _ = self.consumer.pause(&self.one(partition));
                            }
                        }
                    }
                }
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    if !self.at_end.contains(&partition) && self.really_at_end(partition) {
                        self.at_end.push(partition);
                    }
                }
                // The broker may come back: fail only if it stays away.
                Some(Err(KafkaError::MessageConsumption(code))) => {
                    self.watched.0.report(code.to_string());
                    if let Some(failure) = self.stalled() {
                        return Some(failure);
                    }
                }
                Some(Err(e)) => {
                    let message = format!("the broker at {} failed: {e}", self.url.brokers);
                    return self.fail("reading".into(), message);
                }
                None => {
                    if let Some(failure) = self.stalled() {
                        return Some(failure);
                    }
                }
            }
        }
    }
}
