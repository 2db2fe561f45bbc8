//! `wordcount`: occurrences of each word per tumbling window.
//!
//! Words are maximal runs of letters, digits and apostrophes, lowercased, so `Hello,`
//! and `hello` are the same word.

use differential_dataflow::VecCollection;
use reprise_datasets::zipf::Zipf;
use reprise_datasets::{TextLine, TextLines, Timeline};
use reprise_engine::window::{TumblingWindow, WindowAggregateBy};
use reprise_engine::{EngineError, Epoch, EpochConfig, Job, JobContext, NoBaseline, Params};
use serde::{Deserialize, Serialize};

use crate::baseline::count_per_window;
use reprise_cli::workload::{Definition, WorkloadInfo};
use reprise_datasets::{RATE_RANGE, SKEW_RANGE, ZIPF_KEYS_RANGE};
use reprise_engine::params::DURATION_MS;

/// One word's occurrences in one window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WordCount {
    /// Window start, in milliseconds.
    pub window_start: u64,
    /// The word, lowercased.
    pub word: String,
    /// Occurrences in the window.
    pub count: i64,
}

/// The words of a line, normalised.
///
/// # Examples
/// ```
/// let words: Vec<String> = reprise_workloads::wordcount::words("Hello, hello world!").collect();
/// assert_eq!(words, ["hello", "hello", "world"]);
/// ```
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_uppercase()) || !w.is_ascii() {
                w.to_lowercase()
            } else {
                w.to_string()
            }
        })
}

/// The `wordcount` job.
#[derive(Clone, Debug)]
pub struct Wordcount {
    window: TumblingWindow,
}

impl Job for Wordcount {
    type Event = TextLine;
    type Output = WordCount;

    fn event_time_ms(line: &TextLine) -> u64 {
        line.ts
    }

    fn build<'s>(
        &self,
        ctx: &JobContext,
        lines: VecCollection<'s, Epoch, TextLine>,
    ) -> VecCollection<'s, Epoch, WordCount> {
        lines
            .window_sum_by(self.window, ctx, |line| {
                words(&line.text)
                    .map(|w| (w, line.ts, 1))
                    .collect::<Vec<_>>()
            })
            .map(|(window_start, word, count)| WordCount {
                window_start,
                word,
                count,
            })
    }

    fn closing_epoch(&self, record: &WordCount, epochs: &EpochConfig) -> Option<Epoch> {
        Some(self.window.closing_epoch(record.window_start, epochs))
    }

    fn baseline(
        &self,
        epochs: &EpochConfig,
        lines: &mut dyn Iterator<Item = (Epoch, TextLine)>,
        emit: &mut dyn FnMut(Epoch, &WordCount, i64),
    ) -> Result<(), NoBaseline> {
        let each_word = |line: &TextLine, count: &mut dyn FnMut(String, u64)| {
            words(&line.text).for_each(|word| count(word, line.ts));
        };
        let record = |window_start, word: &String, count| WordCount {
            window_start,
            word: word.clone(),
            count,
        };
        count_per_window(&self.window, epochs, lines, each_word, record, emit);
        Ok(())
    }
}

reprise_engine::params! {
    /// wordcount's parameters.
    pub struct WordcountParams {
        /// tumbling window size in ms
        window_ms: u64 = "1000" in DURATION_MS,
        /// allowed lateness in ms
        lateness_ms: u64 = "0" in DURATION_MS,
    }
}

reprise_engine::params! {
    /// The lines generator's parameters.
    pub struct LinesParams {
        /// lines per second of event time
        rate: u64 = "100000" in RATE_RANGE,
        /// distinct words
        vocabulary: u64 = "50000" in ZIPF_KEYS_RANGE,
        /// Zipf exponent of word frequency
        skew: f64 = "1.0" in SKEW_RANGE,
        /// 1 to max_words words per line
        max_words: u64 = "12" in 1..=10_000,
    }
}

impl Definition for Wordcount {
    type Data = TextLines;

    const INFO: WorkloadInfo = WorkloadInfo {
        name: "wordcount",
        summary: "occurrences of each word per tumbling window",
        params: WordcountParams::SPECS,
        generator_params: LinesParams::SPECS,
        dataset: "lines",
        input_format: "CSV header `ts,text`; JSON lines {\"ts\":u64,\"text\":string}; ts in ms",
        default_epoch_ms: 100,
        csv: true,
        windowed: true,
    };

    fn from_params(params: &Params) -> Result<Self, EngineError> {
        let p = WordcountParams::from_params(params)?;
        Ok(Self {
            window: TumblingWindow::new(p.window_ms, p.lateness_ms)?,
        })
    }

    fn dataset(params: &Params, seed: u64) -> Result<TextLines, EngineError> {
        let p = LinesParams::from_params(params)?;
        Ok(TextLines {
            seed,
            timeline: Timeline {
                start_ms: 0,
                rate_per_sec: p.rate,
            },
            vocabulary: Zipf::new(p.vocabulary, p.skew),
            max_words: p.max_words,
        })
    }
}
