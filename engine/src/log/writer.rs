//! Writing a log as the run goes: workers encode their events, one thread writes blocks
//! and flushes whenever every worker has closed another epoch.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// A block of generated events, by index: with its checksum, or, `checksummed` false,
    /// without, for the writer to make the events again and checksum them (off the
    /// workers' path).
    Generated {
        block: GeneratedEvents,
        checksummed: bool,
    },
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

/// How the log writer checksums the generated blocks handed to it, on its own thread.
pub(crate) struct ChecksumGenerated {
    /// Checksums a block's events, making them again with the run's generator.
    pub(crate) checksum: Box<dyn FnMut(&GeneratedEvents) -> u64 + Send>,
    /// The recorders' count of the events they handed over.
    pub(crate) backlog: ChecksumBacklog,
}

/// How a recorder records generated events.
#[derive(Clone, Debug)]
pub(crate) enum RecordGenerated {
    /// Encoded, as any event (`--record-full`).
    Events,
    /// By index, checksummed by the worker as it feeds them.
    Indices,
    /// By index, checksummed by the log writer, which makes them again, as long as it
    /// keeps up; past its backlog, by the worker. When the machine has a core the workers
    /// leave idle, recording costs them next to nothing, and the run never waits long at
    /// its end for the writer to catch up.
    Offloaded(ChecksumBacklog),
}

/// The generated events handed to the log writer to checksum that it has not checksummed
/// yet, shared by a process's recorders and its writer.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChecksumBacklog(Arc<AtomicU64>);

impl ChecksumBacklog {
    /// Events, at most, a recorder leaves to the writer before it checksums blocks itself:
    /// four blocks, some 15 ms of the writer's work, so a run's end waits no longer.
    const MOST_EVENTS: u64 = 4 * GENERATED_BLOCK_EVENTS;

    /// Whether the writer has room for another block.
    fn has_room(&self) -> bool {
        self.0.load(Ordering::Relaxed) < Self::MOST_EVENTS
    }

    fn hand_over(&self, events: u64) {
        self.0.fetch_add(events, Ordering::Relaxed);
    }

    /// The writer checksummed `events` it was handed.
    fn done(&self, events: u64) {
        self.0.fetch_sub(events, Ordering::Relaxed);
    }
}

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
    /// The generated events noted since the last block, and their checksum so far when
    /// this worker checksums them.
    generated: Option<(GeneratedEvents, Option<EventsChecksum>)>,
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
        if matches!(self.generated_as, RecordGenerated::Events) {
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
                let checksummed_here = match &self.generated_as {
                    RecordGenerated::Offloaded(backlog) => !backlog.has_room(),
                    _ => true,
                };
                self.generated = Some((block, checksummed_here.then(EventsChecksum::new)));
                continue;
            }
            let (now, later) = events.split_at(events.len().min(room as usize));
            let (block, checksum) = self.generated.as_mut().expect("a block is open");
            block.count += now.len() as u64;
            if let Some(checksum) = checksum {
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

    /// Sends the open block of generated events, if any: each block as soon as it is
    /// whole, so a writer that checksums them works beside the worker, not after it.
    fn flush_generated(&mut self) {
        let Some((mut block, checksum)) = self.generated.take() else {
            return;
        };
        let checksummed = checksum.is_some();
        match (checksum, &self.generated_as) {
            (Some(checksum), _) => block.checksum = checksum.finish(),
            (None, RecordGenerated::Offloaded(backlog)) => backlog.hand_over(block.count),
            (None, _) => {}
        }
        let _ = self.log.send(LogMessage::Generated { block, checksummed });
    }

    /// The input ended.
    pub(crate) fn finish(mut self) {
        self.advance(Epoch::MAX);
    }
}

/// Writes the log from the workers' messages until every sender is gone.
///
/// Generated blocks that come without their checksum are checksummed with
/// `checksum_generated`.
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
            LogMessage::Generated {
                mut block,
                checksummed,
            } => {
                if !checksummed {
                    let generated = checksum_generated.as_mut().ok_or_else(|| {
                        EngineError::Bug(
                            "a generated block came unchecksummed, without its generator".into(),
                        )
                    })?;
                    block.checksum = (generated.checksum)(&block);
                    generated.backlog.done(block.count);
                }
                let (events, sum) = open.entry(block.epoch).or_default();
                *events += block.count;
                *sum = sum.wrapping_add(block.checksum);
                write(
                    &mut out,
                    &frame(BlockKind::Generated, &encode(&block), false),
                )?
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

    /// The block a message carries, and whether it came checksummed, or `None` for a
    /// message of another kind.
    fn block(message: LogMessage) -> Option<(GeneratedEvents, bool)> {
        match message {
            LogMessage::Generated { block, checksummed } => Some((block, checksummed)),
            _ => None,
        }
    }

    /// The event at index `i` in these tests.
    fn event(i: u64) -> u64 {
        i * 7 + 1
    }

    /// The blocks a recorder sends for `runs` of events at indices `2i` (2 workers' first).
    fn recorded_blocks(runs: &[std::ops::Range<u64>]) -> Vec<GeneratedEvents> {
        let (log, messages) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(0, RecordGenerated::Indices, log);
        for run in runs {
            let events: Vec<u64> = run.clone().map(event).collect();
            recorder.record_generated(run.start * 2, 2, &events);
        }
        recorder.finish();
        messages
            .try_iter()
            .filter_map(block)
            .map(|(b, _)| b)
            .collect()
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

    /// The checksum of the events at indices `first, first + step, ...`, from the
    /// definition: a test's own loop, not the recorder's.
    fn checksum_of(block: &GeneratedEvents) -> u64 {
        let mut sum = EventsChecksum::new();
        for n in 0..block.count {
            sum.add_all(&[event(block.first + n * block.step)]);
        }
        sum.finish()
    }

    #[test]
    fn offloaded_blocks_go_as_they_fill_and_past_the_backlog_the_worker_checksums_them() {
        let backlog = ChecksumBacklog::default();
        let (log, messages) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(0, RecordGenerated::Offloaded(backlog.clone()), log);
        let handed_over = ChecksumBacklog::MOST_EVENTS / GENERATED_BLOCK_EVENTS;
        let mut index = 0;
        let mut feed = |recorder: &mut Recorder, events: u64| {
            for _ in 0..events {
                recorder.record_generated(index * 2, 2, &[event(index * 2)]);
                index += 1;
            }
        };
        // Each whole block goes at once, without its checksum, until the writer's backlog
        // is full.
        feed(&mut recorder, 1);
        for n in 0..handed_over {
            feed(&mut recorder, GENERATED_BLOCK_EVENTS - 1);
            assert!(messages.try_recv().is_err(), "block {n} is still open");
            feed(&mut recorder, 1);
            let (sent, checksummed) = block(messages.try_recv().unwrap()).unwrap();
            assert_eq!(sent.first, 2 * n * GENERATED_BLOCK_EVENTS);
            assert_eq!(
                (sent.count, sent.checksum, checksummed),
                (GENERATED_BLOCK_EVENTS, 0, false)
            );
            assert_eq!(
                backlog.0.load(Ordering::Relaxed),
                (n + 1) * GENERATED_BLOCK_EVENTS
            );
        }
        // The block opened with the backlog full, the worker checksums itself.
        feed(&mut recorder, 9);
        recorder.advance(1);
        let (sent, checksummed) = block(messages.try_recv().unwrap()).unwrap();
        assert!(checksummed);
        assert_eq!((sent.count, sent.epoch), (10, 0));
        assert_eq!(sent.checksum, checksum_of(&sent));
        assert!(matches!(
            messages.try_recv(),
            Ok(LogMessage::InputClosed { before: 1, .. })
        ));
        // Once the writer catches up, blocks go to it again.
        backlog.done(backlog.0.load(Ordering::Relaxed));
        feed(&mut recorder, 3);
        recorder.finish();
        let (sent, checksummed) = block(messages.try_recv().unwrap()).unwrap();
        assert_eq!((sent.count, sent.epoch, checksummed), (3, 1, false));
    }

    fn header() -> LogHeader {
        LogHeader {
            format_version: super::super::format::FORMAT_VERSION,
            engine_version: "test".into(),
            git_revision: "test".into(),
            workload: "test".into(),
            params: Vec::new(),
            input: "generated".into(),
            seed: Some(1),
            clock: super::super::format::RecordedClock::Event { epoch_ms: 1 },
            workers: 1,
            processes: 1,
            started_unix_ms: 0,
            recording_id: 7,
            part: 0,
            program: "test".into(),
        }
    }

    /// The log of `epochs` epochs of generated events, recorded as `generated_as` says.
    fn generated_log(name: &str, generated_as: RecordGenerated, epochs: u64) -> Vec<u8> {
        let path = std::env::temp_dir().join(format!("reprise-{}-{name}.log", std::process::id()));
        let spec = RecordSpec {
            path: path.clone(),
            header: header(),
            compress: true,
            full: false,
        };
        let checksum_generated = match &generated_as {
            RecordGenerated::Offloaded(backlog) => Some(ChecksumGenerated {
                checksum: Box::new(checksum_of),
                backlog: backlog.clone(),
            }),
            _ => None,
        };
        let (log, messages) = std::sync::mpsc::channel();
        let mut recorder = Recorder::new(0, generated_as, log);
        let writer = std::thread::spawn(move || write_log(spec, 1, messages, checksum_generated));
        let per_epoch = 3 * GENERATED_BLOCK_EVENTS + 11;
        for epoch in 0..epochs {
            let events: Vec<u64> = (epoch * per_epoch..(epoch + 1) * per_epoch)
                .map(event)
                .collect();
            recorder.record_generated(epoch * per_epoch, 1, &events);
            recorder.advance(epoch + 1);
        }
        recorder.finish();
        writer.join().unwrap().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        bytes
    }

    #[test]
    fn a_log_is_the_same_whoever_checksums_its_generated_blocks() {
        let by_worker = generated_log("by-worker", RecordGenerated::Indices, 8);
        // Some blocks by the writer, some by the worker: however a run's threads keep pace.
        let backlog = ChecksumBacklog::default();
        let shared = generated_log("shared", RecordGenerated::Offloaded(backlog.clone()), 8);
        assert_eq!(
            backlog.0.load(Ordering::Relaxed),
            0,
            "the writer checksummed every block it was handed"
        );
        // The first blocks always go to the writer: its checksums are the worker's.
        assert_eq!(shared, by_worker);
    }
}
