//! `kafka://HOST:PORT/TOPIC?options` addresses.

use std::time::Duration;

use reprise_engine::EngineError;

/// Where a topic's reading starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// Every partition from its first record.
    Earliest,
    /// Only records that arrive after the run starts.
    Latest,
    /// The consumer group's committed offsets (`group` set, `start` not).
    Committed,
    /// `partition:offset` pairs; partitions not listed start from the earliest.
    Offsets(Vec<(i32, i64)>),
}

/// A topic on a Kafka broker, with the options of one use of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaUrl {
    /// `host:port` of the bootstrap broker (or several, comma-separated).
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// Consumer group: offsets are committed as records are read, so a later run with the
    /// same group continues where this one stopped.
    pub group: Option<String>,
    /// Where reading starts.
    pub start: Start,
    /// Partitions of the topic when writing creates it.
    pub partitions: i32,
    /// How long the broker may stay unreachable before the run fails.
    pub timeout: Duration,
}

const OPTIONS: &str = "group=G, start=earliest|latest|P:O,P:O..., partitions=N, timeout_ms=MS";

impl KafkaUrl {
    /// Whether `text` is meant as a Kafka address.
    pub fn is_kafka(text: &str) -> bool {
        text.starts_with("kafka://")
    }

    /// Parses `kafka://HOST:PORT/TOPIC[?group=G&start=earliest|latest|P:O,...&partitions=N&timeout_ms=MS]`.
    ///
    /// # Examples
    /// ```
    /// use reprise_kafka::{KafkaUrl, Start};
    /// let url = KafkaUrl::parse("kafka://127.0.0.1:9092/bids?start=0:10,2:5&partitions=3").unwrap();
    /// assert_eq!(url.brokers, "127.0.0.1:9092");
    /// assert_eq!(url.topic, "bids");
    /// assert_eq!(url.start, Start::Offsets(vec![(0, 10), (2, 5)]));
    /// assert_eq!(url.partitions, 3);
    /// assert!(KafkaUrl::parse("kafka://127.0.0.1:9092/").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let bad = |why: &str| {
            EngineError::config(format!(
                "bad Kafka address `{text}`: {why} (expected kafka://HOST:PORT/TOPIC?{OPTIONS})"
            ))
        };
        let rest = text
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("it must start with kafka://"))?;
        let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topic) = address
            .split_once('/')
            .ok_or_else(|| bad("no topic after the broker address"))?;
        if brokers.is_empty() || !brokers.split(',').all(|b| b.contains(':')) {
            return Err(bad("the broker address must be HOST:PORT"));
        }
        if topic.is_empty() || topic.contains('/') {
            return Err(bad("the topic must be one non-empty name"));
        }
        let mut url = KafkaUrl {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            group: None,
            start: Start::Earliest,
            partitions: 1,
            timeout: Duration::from_secs(10),
        };
        let mut start = None;
        for option in query.split('&').filter(|o| !o.is_empty()) {
            let (name, value) = option
                .split_once('=')
                .ok_or_else(|| bad(&format!("option `{option}` has no value")))?;
            match name {
                "group" if !value.is_empty() => url.group = Some(value.to_string()),
                "start" => {
                    start = Some(match value {
                        "earliest" => Start::Earliest,
                        "latest" => Start::Latest,
                        offsets => Start::Offsets(
                            offsets
                                .split(',')
                                .map(|pair| {
                                    let (p, o) = pair.split_once(':')?;
                                    Some((p.parse().ok()?, o.parse().ok()?))
                                })
                                .collect::<Option<Vec<_>>>()
                                .ok_or_else(|| {
                                    bad("start must be earliest, latest or PARTITION:OFFSET pairs")
                                })?,
                        ),
                    })
                }
                "partitions" => {
                    url.partitions = value
                        .parse()
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| bad("partitions must be a number, at least 1"))?
                }
                "timeout_ms" => {
                    url.timeout =
                        Duration::from_millis(
                            value.parse().ok().filter(|t| *t >= 1).ok_or_else(|| {
                                bad("timeout_ms must be a number of milliseconds")
                            })?,
                        )
                }
                _ => return Err(bad(&format!("unknown option `{name}`"))),
            }
        }
        url.start = match (start, &url.group) {
            (Some(start), _) => start,
            (None, Some(_)) => Start::Committed,
            (None, None) => Start::Earliest,
        };
        Ok(url)
    }
}

impl std::fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kafka://{}/{}", self.brokers, self.topic)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_mistakes_are_named() {
        let url = KafkaUrl::parse("kafka://h:1/t?group=g&timeout_ms=500").unwrap();
        assert_eq!(url.group.as_deref(), Some("g"));
        assert_eq!(url.start, Start::Committed);
        assert_eq!(url.timeout, Duration::from_millis(500));
        assert_eq!(url.to_string(), "kafka://h:1/t");
        for (bad, says) in [
            ("kafka://h/t", "HOST:PORT"),
            ("kafka://h:1/t?start=soon", "start must be"),
            ("kafka://h:1/t?colour=red", "unknown option `colour`"),
            ("kafka://h:1/t?partitions=0", "at least 1"),
        ] {
            let message = KafkaUrl::parse(bad).unwrap_err().to_string();
            assert!(message.contains(says), "{bad}: {message}");
        }
    }
}
