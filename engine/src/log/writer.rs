//! Writing a log as the run goes: workers encode their events, one thread writes blocks
//! and flushes whenever every worker has closed another epoch.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender};

use serde::Serialize;

use super::EventsChecksum;
use super::format::{
    BlockKind, GENERATED_BLOCK_EVENTS, GeneratedEvents, InputClosed, LogEnd, LogHeader,
    OutputDigests, TARGET_EVENTS_BLOCK_BYTES, encode, encode_event, events_checksum, file_header,
    frame,
};
use crate::digest::{DigestLog, EpochDigest};
use crate::{EngineError, Epoch};

/// What workers send the log writer.
#[derive(Debug)]
pub(crate) enum LogMessage {
    /// The payload of an events block of `epoch` (`(epoch, count)`, then the events),
    /// with `count` events and their checksum; the writer frames and compresses it.
    Events {
        payload: Vec<u8>,
        epoch: Epoch,
        count: u64,
        checksum: u64,
    },
    /// Blocks of generated events, by index, with their checksum, or, when the writer is
    /// to make them again to checksum them (off the workers' path), without: an epoch's
    /// blocks in one message, since waking the writer costs more than writing a block.
    Generated(Vec<GeneratedEvents>),
    /// A worker has recorded every event of the epochs before `before`.
    InputClosed { worker: usize, before: Epoch },
    /// A worker's sink finished `epoch` with this digest share.
    Output { epoch: Epoch, share: EpochDigest },
    /// A worker's sink frontier moved to `frontier` (`None`: complete).
    OutputFrontier {
        worker: usize,
        frontier: Option<Epoch>,
    },
    /// One worker's output rows of an epoch (`--record-output`): frames them as a block
    /// when called, on the writer's thread.
    OutputRows { encode: EncodeRows },
    /// The run is over; sent by the driving thread after the workers stopped.
    End(LogEnd),
}

/// Checksums generated events by making them again: the run's generator, on the log
/// writer's thread.
pub(crate) type ChecksumGenerated = Box<dyn FnMut(&GeneratedEvents) -> u64 + Send>;

/// How a recorder records generated events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RecordGenerated {
    /// Encoded, as any event (`--record-full`).
    Events,
    /// By index, checksummed by the worker as it feeds them.
    Indices,
    /// By index, checksummed by the log writer, which makes them again: when the machine
    /// has a core the workers leave idle, recording costs them next to nothing.
    IndicesOnly,
}

/// Blocks of generated events a recorder sends at once, at most (a million events).
const UNSENT_BLOCKS: usize = 64;

/// Frames a worker's output rows as a log block, when called.
pub(crate) struct EncodeRows(pub(crate) Box<dyn FnOnce() -> Vec<u8> + Send>);

impl std::fmt::Debug for EncodeRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncodeRows")
    }
}

/// How to record.
#[derive(Clone, Debug)]
pub struct RecordSpec {
    /// The log file.
    pub path: PathBuf,
    /// Its header.
    pub header: LogHeader,
    /// Compress blocks with LZ4.
    pub compress: bool,
    /// Keep generated events themselves (`--record-full`): a self-contained log that
    /// replays without the generator. Otherwise a generated run records each block's
    /// indices and checksum, and a replay makes the events again.
    pub full: bool,
}

/// What was recorded.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordStats {
    /// The log file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// One worker's recorder: encodes the events it feeds, one epoch at a time, or, for
/// generated events, notes their indices.
#[derive(Debug)]
pub(crate) struct Recorder {
    worker: usize,
    log: Sender<LogMessage>,
    epoch: Epoch,
    count: u64,
    encoded: Vec<u8>,
    /// How to record generated events.
    generated_as: RecordGenerated,
    /// The generated events noted since the last block, and their checksum so far.
    generated: Option<(GeneratedEvents, EventsChecksum)>,
    /// Whole blocks of generated events, sent with the marker that closes their epoch.
    unsent: Vec<GeneratedEvents>,
}

impl Recorder {
    pub(crate) fn new(
        worker: usize,
        generated_as: RecordGenerated,
        log: Sender<LogMessage>,
    ) -> Self {
        Self {
            worker,
            log,
            epoch: 0,
            count: 0,
            encoded: Vec::new(),
            generated_as,
            generated: None,
            unsent: Vec::new(),
        }
    }

    /// Records one event of the current epoch.
    pub(crate) fn record<E: Serialize>(&mut self, event: &E) {
        encode_event(event, &mut self.encoded);
        self.count += 1;
        if self.encoded.len() >= TARGET_EVENTS_BLOCK_BYTES {
            self.flush();
        }
    }

    /// Records events of the current epoch, in order.
    pub(crate) fn record_all<E: Serialize>(&mut self, events: &[E]) {
        events.iter().for_each(|event| self.record(event));
    }

    /// Records generated events of the current epoch, at indices `first`, `first + step`,
    /// ...: by index (a block per run of up to `GENERATED_BLOCK_EVENTS` consecutive
    /// indices), unless the log keeps every event.
    pub(crate) fn record_generated<E: Serialize>(&mut self, first: u64, step: u64, events: &[E]) {
        if self.generated_as == RecordGenerated::Events {
            return self.record_all(events);
        }
        let (mut index, mut events) = (first, events);
        while !events.is_empty() {
            let room = match &self.generated {
                Some((block, _)) if block.step == step && block.indices().end() == index => {
                    GENERATED_BLOCK_EVENTS - block.count
                }
                _ => 0,
            };
            if room == 0 {
                self.flush_generated();
                let block = GeneratedEvents {
                    epoch: self.epoch,
                    first: index,
                    step,
                    count: 0,
                    checksum: 0,
                };
                self.generated = Some((block, EventsChecksum::new()));
                continue;
            }
            let (now, later) = events.split_at(events.len().min(room as usize));
            let (block, checksum) = self.generated.as_mut().expect("a block is open");
            block.count += now.len() as u64;
            if self.generated_as == RecordGenerated::Indices {
                checksum.add_all(now);
            }
            index += now.len() as u64 * step;
            events = later;
        }
    }

    /// The input moved on to `epoch`: everything before it is recorded.
    pub(crate) fn advance(&mut self, epoch: Epoch) {
        self.flush();
        self.flush_generated();
        self.send_generated();
        self.epoch = epoch;
        let _ = self.log.send(LogMessage::InputClosed {
            worker: self.worker,
            before: epoch,
        });
    }

    fn flush(&mut self) {
        if self.count == 0 {
            return;
        }
        let checksum = events_checksum(&self.encoded);
        let mut payload = encode(&(self.epoch, self.count));
        payload.extend_from_slice(&self.encoded);
        let _ = self.log.send(LogMessage::Events {
            payload,
            epoch: self.epoch,
            count: self.count,
            checksum,
        });
        self.encoded.clear();
        self.count = 0;
    }

    fn flush_generated(&mut self) {
        if let Some((mut block, checksum)) = self.generated.take() {
            if self.generated_as == RecordGenerated::Indices {
                block.checksum = checksum.finish();
            }
            self.unsent.push(block);
            // A long epoch's blocks go on in batches, so the writer keeps up with them.
            if self.unsent.len() == UNSENT_BLOCKS {
                self.send_generated();
            }
        }
    }

    fn send_generated(&mut self) {
        if !self.unsent.is_empty() {
            let _ = self
                .log
                .send(LogMessage::Generated(std::mem::take(&mut self.unsent)));
        }
    }

    /// The input ended.
    pub(crate) fn finish(mut self) {
        self.advance(Epoch::MAX);
    }
}

/// Writes the log from the workers' messages until every sender is gone.
///
/// With `checksum_generated`, generated events come without their checksum, and the
/// writer computes it.
pub(crate) fn write_log(
    spec: RecordSpec,
    workers: usize,
    messages: Receiver<LogMessage>,
    mut checksum_generated: Option<ChecksumGenerated>,
) -> Result<RecordStats, EngineError> {
    let context = || format!("writing input log {}", spec.path.display());
    let file = File::create(&spec.path)
        .map_err(|e| EngineError::io(format!("creating input log {}", spec.path.display()), e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut bytes = 0u64;
    let mut write = |out: &mut BufWriter<File>, block: &[u8]| -> Result<(), EngineError> {
        bytes += block.len() as u64;
        out.write_all(block)
            .map_err(|e| EngineError::io(context(), e))
    };
    write(&mut out, &file_header())?;
    write(
        &mut out,
        &frame(BlockKind::Header, &encode(&spec.header), false),
    )?;
    out.flush().map_err(|e| EngineError::io(context(), e))?;

    let mut input_closed = vec![0; workers];
    let mut closed_before = 0;
    // Per open epoch, its events and checksum so far, for the marker that closes it.
    let mut open: std::collections::BTreeMap<Epoch, (u64, u64)> = Default::default();
    let mut output_frontiers = vec![0; workers];
    let mut output_before = 0;
    let mut shares = DigestLog::default();
    for message in crate::run::polled(messages) {
        match message {
            LogMessage::Events {
                payload,
                epoch,
                count,
                checksum,
            } => {
                let (events, sum) = open.entry(epoch).or_default();
                *events += count;
                *sum = sum.wrapping_add(checksum);
                write(&mut out, &frame(BlockKind::Events, &payload, spec.compress))?
            }
            LogMessage::Generated(blocks) => {
                for mut block in blocks {
                    if let Some(checksum) = checksum_generated.as_mut() {
                        block.checksum = checksum(&block);
                    }
                    let (events, sum) = open.entry(block.epoch).or_default();
                    *events += block.count;
                    *sum = sum.wrapping_add(block.checksum);
                    write(
                        &mut out,
                        &frame(BlockKind::Generated, &encode(&block), false),
                    )?
                }
            }
            LogMessage::InputClosed { worker, before } => {
                input_closed[worker] = before;
                let all = input_closed.iter().copied().min().unwrap_or(0);
                if all > closed_before {
                    closed_before = all;
                    let still_open = open.split_off(&all);
                    let closed = std::mem::replace(&mut open, still_open);
                    let marker = InputClosed {
                        before: all,
                        epochs: closed.into_iter().map(|(e, (n, c))| (e, n, c)).collect(),
                    };
                    write(
                        &mut out,
                        &frame(BlockKind::InputClosed, &encode(&marker), true),
                    )?;
                    // A crash from here on loses nothing before `all`.
                    out.flush().map_err(|e| EngineError::io(context(), e))?;
                }
            }
            LogMessage::Output { epoch, share } => shares.add(epoch, share),
            LogMessage::OutputFrontier { worker, frontier } => {
                output_frontiers[worker] = frontier.unwrap_or(Epoch::MAX);
                let all = output_frontiers.iter().copied().min().unwrap_or(0);
                if all > output_before {
                    output_before = all;
                    let digests = shares.take_before(all);
                    let block = OutputDigests {
                        before: all,
                        digests,
                    };
                    write(
                        &mut out,
                        &frame(BlockKind::OutputDigests, &encode(&block), true),
                    )?;
                }
            }
            LogMessage::OutputRows { encode } => write(&mut out, &(encode.0)())?,
            LogMessage::End(end) => {
                write(&mut out, &frame(BlockKind::End, &encode(&end), false))?;
            }
        }
    }
    out.flush().map_err(|e| EngineError::io(context(), e))?;
    Ok(RecordStats {
        path: spec.path,
        bytes,
    })
}

/// What the end block of a log without recorded output says.
pub const INPUT_ONLY: &str = "input only: written from recorded events (by `reprise shrink`), without output digests to compare";

/// Writes a complete log of these epochs' events, without recorded output: the input of a
/// run that `reprise replay` can reproduce (a shrunk log, say). Epochs must increase.
///
/// Each event is a block of its own. A replay deals blocks to the workers in turn, so an
/// epoch's events spread over the workers as widely as they can: a job whose output
/// depends on how its input is split still shows it on a log of a few events.
pub fn write_events_log<E: Serialize>(
    spec: RecordSpec,
    epochs: impl IntoIterator<Item = (Epoch, Vec<E>)>,
) -> Result<RecordStats, EngineError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut recorder = Recorder::new(0, RecordGenerated::Events, tx.clone());
    let mut events = 0;
    for (epoch, epoch_events) in epochs {
        recorder.advance(epoch);
        for event in &epoch_events {
            recorder.record(event);
            recorder.flush();
        }
        events += epoch_events.len() as u64;
    }
    recorder.finish();
    // No output was recorded: the end block says so, and a replay reports the log as not
    // checked against a recording (its other checks, `--check baseline` or `workers=`, run).
    let _ = tx.send(LogMessage::End(LogEnd {
        events,
        failure: Some(INPUT_ONLY.to_string()),
    }));
    drop(tx);
    write_log(spec, 1, rx, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The blocks a message carries, or `None` for a message of another kind.
    fn blocks(message: LogMessage) -> Option<Vec<GeneratedEvents>> {
        match message {
            LogMessage::Generated(blocks) => Some(blocks),
            _ => None,
        }
    }

    /// The blocks a recorder sends for `runs` of events at indices `2i` (2 workers' first).
    fn recorded_blocks(runs: &[std::ops::Range<u64>]) -> Vec<GeneratedEvents> {
        let (log, messages) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(0, RecordGenerated::Indices, log);
        for run in runs {
            let events: Vec<u64> = run.clone().map(|i| i * 7 + 1).collect();
            recorder.record_generated(run.start * 2, 2, &events);
        }
        recorder.finish();
        messages.try_iter().filter_map(blocks).flatten().collect()
    }

    #[test]
    fn runs_of_generated_events_make_the_blocks_single_events_make() {
        let events = 2 * GENERATED_BLOCK_EVENTS + 5;
        let singles: Vec<_> = (0..events).map(|i| i..i + 1).collect();
        let expected = recorded_blocks(&singles);
        let counts: Vec<u64> = expected.iter().map(|b| b.count).collect();
        assert_eq!(counts, [GENERATED_BLOCK_EVENTS, GENERATED_BLOCK_EVENTS, 5]);
        // Runs that cross the blocks' bounds, of odd lengths, split at the same events.
        let mut runs = Vec::new();
        let mut start = 0;
        for length in [1, 3, 1000, GENERATED_BLOCK_EVENTS, 7].iter().cycle() {
            let end = (start + length).min(events);
            runs.push(start..end);
            start = end;
            if start == events {
                break;
            }
        }
        assert_eq!(recorded_blocks(&runs), expected);
        // A run that skips an index starts a block.
        let skipped = recorded_blocks(&[0..10, 11..20]);
        let firsts: Vec<u64> = skipped.iter().map(|b| b.first).collect();
        assert_eq!(firsts, [0, 22]);
    }

    #[test]
    fn an_epochs_generated_blocks_go_in_batches_before_its_marker() {
        let (log, messages) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(0, RecordGenerated::IndicesOnly, log);
        let events = UNSENT_BLOCKS as u64 * GENERATED_BLOCK_EVENTS + 1;
        for index in 0..events {
            recorder.record_generated(index * 2, 2, &[index]);
        }
        // A long epoch's first 64 blocks have gone, in one message; the last is held.
        let first = blocks(messages.try_recv().unwrap()).unwrap();
        assert_eq!(first.len(), UNSENT_BLOCKS);
        assert!(messages.try_recv().is_err());
        for (i, block) in first.iter().enumerate() {
            assert_eq!(block.first, 2 * i as u64 * GENERATED_BLOCK_EVENTS);
            assert_eq!(block.count, GENERATED_BLOCK_EVENTS);
        }
        // Closing the epoch sends the rest, then the marker.
        recorder.advance(1);
        let rest = blocks(messages.try_recv().unwrap()).unwrap();
        assert_eq!((rest.len(), rest[0].count, rest[0].epoch), (1, 1, 0));
        assert!(matches!(
            messages.try_recv(),
            Ok(LogMessage::InputClosed { before: 1, .. })
        ));
        assert!(messages.try_recv().is_err());
    }
}
