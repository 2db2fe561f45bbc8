//! Sources: where a run's events come from, and how they reach the workers.
//!
//! - [`Source::Generated`]: a pure function of the event index. Worker `i` of `W`
//!   generates indices `i, i+W, ...`, so each epoch holds the same events for any `W`.
//! - [`Source::Read`]: records read in order (a file, standard input) by one reader
//!   thread, which assigns epochs and deals chunks to the workers.
//! - [`Source::Replay`]: the complete epochs of an input log, each with its recorded
//!   events, dealt the same way.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use crate::log::EncodedEvents;
use crate::{Clock, EngineError, Epoch, EpochConfig, EventClock};

/// A record that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// Where in the source: `line 12` (1-based, counting a header line), or a topic's
    /// `partition 2, offset 1234`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl SourceError {
    /// A malformed record at 1-based line `line` of a file.
    pub fn line(line: u64, message: impl Into<String>) -> Self {
        Self {
            at: format!("line {line}"),
            message: message.into(),
        }
    }
}

/// Records read in order, each either an event or the reason it could not be read.
pub type Records<E> = Box<dyn Iterator<Item = Result<E, SourceError>> + Send>;

/// A generator: event `i` of a generated input, a pure function of `i`.
pub type Generate<E> = std::sync::Arc<dyn Fn(u64) -> E + Send + Sync>;

/// Recorded epochs in order, each with its encoded events blocks.
pub type RecordedEpochs =
    Box<dyn Iterator<Item = Result<(Epoch, Vec<EncodedEvents>), EngineError>> + Send>;

/// Where a run's events come from.
pub enum Source<E> {
    /// `events` events, event `i` being `generate(i)`; event times never decrease with `i`.
    Generated {
        /// How many events.
        events: u64,
        /// The generator: a pure function of the index.
        generate: Generate<E>,
    },
    /// Records read in order; epochs are assigned in that order by the run's clock.
    Read {
        /// The file name, or `<stdin>`, for error messages.
        name: String,
        /// The records.
        records: Records<E>,
    },
    /// Epochs replayed from an input log, with the epochs they were recorded at.
    Replay {
        /// The log's name, for messages.
        name: String,
        /// The epochs; workers decode the blocks, in parallel.
        epochs: RecordedEpochs,
        /// The recording's generator, for a log of generated input that holds its events'
        /// indices rather than the events (see [`crate::log::EncodedEvents::replay`]).
        generate: Option<Generate<E>>,
    },
}

impl<E> std::fmt::Debug for Source<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Generated { events, .. } => write!(f, "Source::Generated({events} events)"),
            Source::Read { name, .. } => write!(f, "Source::Read({name})"),
            Source::Replay { name, .. } => write!(f, "Source::Replay({name})"),
        }
    }
}

/// What the reader thread sends a worker.
#[derive(Debug)]
pub(crate) enum Dealt<E> {
    /// Events of one epoch.
    Events(Epoch, Vec<E>),
    /// Recorded events of one epoch, still encoded.
    Encoded(Epoch, EncodedEvents),
    /// The input has moved on to this epoch.
    Advance(Epoch),
}

/// A worker's end of the dealing channel.
pub(crate) type DealtReceiver<E> = Receiver<Dealt<E>>;

const CHUNK: usize = 1024;

/// Deals chunks of events round-robin to the workers, and epoch advances to all.
struct Dealer<'a, E> {
    workers: Vec<SyncSender<Dealt<E>>>,
    next: usize,
    stop: &'a dyn Fn() -> bool,
}

impl<E> Dealer<'_, E> {
    /// Sends, waiting while the worker is behind (backpressure); false if it is gone or
    /// the run stopped.
    fn send(&self, worker: usize, mut message: Dealt<E>) -> bool {
        loop {
            match self.workers[worker].try_send(message) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(returned)) => {
                    if (self.stop)() {
                        return false;
                    }
                    message = returned;
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
    }

    fn events(&mut self, epoch: Epoch, events: Vec<E>) -> bool {
        if events.is_empty() {
            return true;
        }
        let worker = self.next;
        self.next = (self.next + 1) % self.workers.len();
        self.send(worker, Dealt::Events(epoch, events))
    }

    fn encoded(&mut self, epoch: Epoch, block: EncodedEvents) -> bool {
        let worker = self.next;
        self.next = (self.next + 1) % self.workers.len();
        self.send(worker, Dealt::Encoded(epoch, block))
    }

    fn advance(&self, epoch: Epoch) -> bool {
        (0..self.workers.len()).all(|worker| self.send(worker, Dealt::Advance(epoch)))
    }
}

/// Cuts a stream of events into per-epoch chunks.
struct Chunker<E> {
    epoch: Option<Epoch>,
    chunk: Vec<E>,
}

impl<E> Chunker<E> {
    /// Adds an event at `epoch` (never decreasing); false if the run stopped.
    fn push(&mut self, dealer: &mut Dealer<'_, E>, epoch: Epoch, event: E) -> bool {
        if !self.move_to(dealer, epoch) {
            return false;
        }
        self.chunk.push(event);
        self.chunk.len() < CHUNK || self.flush(dealer)
    }

    /// Moves the input to `epoch`, closing the epochs before it.
    fn move_to(&mut self, dealer: &mut Dealer<'_, E>, epoch: Epoch) -> bool {
        match self.epoch {
            Some(current) if epoch <= current => true,
            None => {
                self.epoch = Some(epoch);
                true
            }
            Some(_) => {
                let flushed = self.flush(dealer);
                self.epoch = Some(epoch);
                flushed && dealer.advance(epoch)
            }
        }
    }

    fn flush(&mut self, dealer: &mut Dealer<'_, E>) -> bool {
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        dealer.events(self.epoch.unwrap_or(0), chunk)
    }
}

/// Reads the source on this thread and deals it to the workers. Returns the number of
/// events dealt, or the first bad record's error after dealing everything before it.
pub(crate) fn deal<E: Send + 'static>(
    source: Source<E>,
    time_of: fn(&E) -> u64,
    epochs: EpochConfig,
    started: Instant,
    workers: Vec<SyncSender<Dealt<E>>>,
    (process, processes): (usize, usize),
    stop: &dyn Fn() -> bool,
) -> Result<u64, EngineError> {
    let mut dealer = Dealer {
        workers,
        next: 0,
        stop,
    };
    // In a cluster every process reads the whole input and feeds every `processes`-th
    // record (or log block) to its own workers, under either clock; under the event clock
    // every process also assigns the same epochs.
    let mut counter = 0usize;
    let mut mine = move || {
        counter += 1;
        (counter - 1) % processes == process
    };
    let mut chunker = Chunker {
        epoch: None,
        chunk: Vec::with_capacity(CHUNK),
    };
    let mut dealt = 0u64;
    let input_error = |name: &str, e: SourceError| EngineError::Input {
        source_name: name.to_string(),
        at: e.at,
        message: e.message,
    };
    let outcome = match source {
        Source::Generated { .. } => Err(EngineError::Bug("generated sources are not dealt".into())),
        Source::Replay {
            epochs: recorded, ..
        } => (|| {
            for epoch in recorded {
                let (epoch, blocks) = epoch?;
                if !chunker.move_to(&mut dealer, epoch) {
                    break;
                }
                for block in blocks.into_iter().filter(|_| mine()) {
                    dealt += block.len();
                    if !dealer.encoded(epoch, block) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })(),
        Source::Read { name, records } => match epochs.clock {
            Clock::Event => (|| {
                let mut clock = EventClock::new(epochs.epoch_ms);
                for record in records {
                    let event = record.map_err(|e| input_error(&name, e))?;
                    let epoch = clock.assign(time_of(&event));
                    if !mine() {
                        // Another process feeds it; the epoch still moves for everyone.
                        if !chunker.move_to(&mut dealer, epoch) {
                            break;
                        }
                        continue;
                    }
                    dealt += 1;
                    if !chunker.push(&mut dealer, epoch, event) {
                        break;
                    }
                }
                Ok(())
            })(),
            Clock::Processing => (|| {
                // A helper thread reads, so epochs advance with the wall clock even while
                // the input is idle (a terminal, a slow pipe).
                let (tx, rx) = std::sync::mpsc::sync_channel(CHUNK * 4);
                std::thread::Builder::new()
                    .name("reprise-read".into())
                    .spawn(move || {
                        for record in records {
                            if tx.send(record).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(|e| EngineError::io("starting the input thread", e))?;
                let epoch_ms = epochs.epoch_ms;
                let now_epoch = || started.elapsed().as_millis() as u64 / epoch_ms;
                loop {
                    let epoch = now_epoch();
                    if !chunker.move_to(&mut dealer, epoch) {
                        break;
                    }
                    let next_boundary = Duration::from_millis((epoch + 1) * epoch_ms);
                    let wait = next_boundary.saturating_sub(started.elapsed());
                    match rx.recv_timeout(wait) {
                        Ok(record) => {
                            let event = record.map_err(|e| input_error(&name, e))?;
                            if !mine() {
                                continue; // another process feeds it
                            }
                            dealt += 1;
                            if !chunker.push(&mut dealer, now_epoch().max(epoch), event) {
                                break;
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
                Ok(())
            })(),
        },
    };
    // Deal what was read before stopping, so every epoch before an error completes.
    chunker.flush(&mut dealer);
    outcome.map(|()| dealt)
}
