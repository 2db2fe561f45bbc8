//! Sources: where a run's events come from, and how they reach the workers.
//!
//! - [`Source::Generated`]: a pure function of the event index. Worker `i` of `W`
//!   generates indices `i, i+W, ...`, so each epoch holds the same events for any `W`.
//! - [`Source::Read`]: records read in order (a file, standard input) by one reader
//!   thread, which assigns epochs and deals chunks to the workers.
//! - [`Source::Replay`]: the complete epochs of an input log, each with its recorded
//!   events, dealt the same way: as encoded blocks that each worker decodes, or, with a
//!   core to spare, decoded by the reader thread itself.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::log::EncodedEvents;
use crate::serde_words::holds_variable_data;
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
///
/// Made from a function of one index ([`Generate::new`]), it makes events a block of
/// indices at a time ([`Generate::fill`]): one dynamic call a block, the function inlined
/// in its loop. Called through `dyn Fn` once per event, each event was copied out of the
/// call by loads that waited on the generator's stores: with the call, 12% of
/// filter-count's samples.
pub struct Generate<E>(Arc<FillBlock<E>>);

/// Appends the events at some indices to a vector.
type FillBlock<E> = dyn Fn(Indices, &mut Vec<E>) + Send + Sync;

impl<E> Generate<E> {
    /// How many events to make at a call: a block of 16 KiB stays in the L1 cache between
    /// being made and being fed (682 filter-count events, 157 Nexmark events).
    pub(crate) const BLOCK: u64 = {
        let size = std::mem::size_of::<E>();
        let events = (16 << 10) / if size == 0 { 1 } else { size };
        if events == 0 { 1 } else { events as u64 }
    };

    /// The generator whose event `i` is `event(i)`.
    pub fn new(event: impl Fn(u64) -> E + Send + Sync + 'static) -> Self {
        Self(Arc::new(move |indices: Indices, out: &mut Vec<E>| {
            out.reserve(indices.count as usize);
            for index in indices.iter() {
                out.push(event(index));
            }
        }))
    }

    /// Appends the events at `indices` to `out`, in order.
    pub fn fill(&self, indices: Indices, out: &mut Vec<E>) {
        (self.0)(indices, out)
    }

    /// Calls `each` on the events at `indices`, a block at a time (of up to 16 KiB), in
    /// order; `each` may take them out of the block.
    pub fn for_each_block(&self, indices: Indices, mut each: impl FnMut(&mut Vec<E>)) {
        let mut events = Vec::with_capacity(indices.count.min(Self::BLOCK) as usize);
        for block in indices.chunks(Self::BLOCK) {
            self.fill(block, &mut events);
            each(&mut events);
            events.clear();
        }
    }

    /// The event at `index`.
    pub fn event(&self, index: u64) -> E {
        let mut one = Vec::with_capacity(1);
        self.fill(Indices::new(index, 1, 1), &mut one);
        one.pop().expect("a generator makes one event per index")
    }
}

impl<E> Clone for Generate<E> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<E> std::fmt::Debug for Generate<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Generate")
    }
}

/// Event indices `first, first + step, ...`, `count` of them: a worker's share of a
/// generated input (`step` is the worker count), or a part of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Indices {
    /// The first index.
    pub first: u64,
    /// The distance between consecutive indices.
    pub step: u64,
    /// How many indices.
    pub count: u64,
}

impl Indices {
    /// `count` indices from `first`, `step` apart.
    pub const fn new(first: u64, step: u64, count: u64) -> Self {
        Self { first, step, count }
    }

    /// The indices, in order.
    pub fn iter(self) -> impl Iterator<Item = u64> {
        let Self { first, step, count } = self;
        (0..count).map(move |i| first + i * step)
    }

    /// The index after the last: where a run of these indices goes on.
    pub const fn end(self) -> u64 {
        self.first + self.count * self.step
    }

    /// The same indices in consecutive parts of at most `size` (at least 1) each.
    pub fn chunks(self, size: u64) -> impl Iterator<Item = Indices> {
        let size = size.max(1);
        (0..self.count.div_ceil(size)).map(move |chunk| {
            let done = chunk * size;
            Indices::new(
                self.first + done * self.step,
                self.step,
                size.min(self.count - done),
            )
        })
    }
}

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
        /// The epochs, their blocks decoded by the workers in parallel or, with a core to
        /// spare and events that own no heap memory, by the reader thread.
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

/// How the reader thread deals: its process's share of the input, who decodes a replay,
/// and how it sees the run stop (`stop`) or stops it (`fail`: a replayed block that does
/// not decode, whose epoch must not complete).
pub(crate) struct Dealing<'a> {
    /// This process and the number of processes.
    pub(crate) share: (usize, usize),
    /// Decode a replay's blocks on this thread.
    pub(crate) decode_replay: bool,
    pub(crate) stop: &'a dyn Fn() -> bool,
    pub(crate) fail: &'a dyn Fn(EngineError),
}

/// Reads the source on this thread and deals it to the workers. Returns the number of
/// events dealt, or the first bad record's error after dealing everything before it.
///
/// A replay's blocks go to the workers still encoded, unless `decode_replay`: then this
/// thread decodes them (or makes generated events again) and deals the events, so that
/// a worker with a core beside it only feeds them.
pub(crate) fn deal<E: Send + Serialize + DeserializeOwned + 'static>(
    source: Source<E>,
    time_of: fn(&E) -> u64,
    epochs: EpochConfig,
    started: Instant,
    workers: Vec<SyncSender<Dealt<E>>>,
    Dealing {
        share: (process, processes),
        decode_replay,
        stop,
        fail,
    }: Dealing<'_>,
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
            epochs: recorded,
            generate,
            ..
        } => (|| {
            // Events that own heap memory (strings, say) go to the workers encoded after
            // all: a worker frees what it was fed, and freeing memory another thread
            // allocated costs it more than decoding (Nexmark q2: 25% slower). The first
            // block decides.
            let (mut decode, mut probed) = (decode_replay, false);
            for epoch in recorded {
                let (epoch, blocks) = epoch?;
                if !chunker.move_to(&mut dealer, epoch) {
                    break;
                }
                for block in blocks.into_iter().filter(|_| mine()) {
                    dealt += block.len();
                    if !decode {
                        if !dealer.encoded(epoch, block) {
                            return Ok(());
                        }
                        continue;
                    }
                    let mut events = Vec::with_capacity(block.len() as usize);
                    if let Err(error) = block.replay(generate.as_ref(), |e| events.push(e)) {
                        // As a worker that decodes it would: the run stops before the
                        // epoch completes.
                        fail(error);
                        return Ok(());
                    }
                    if !probed {
                        probed = true;
                        decode = !events.iter().any(holds_variable_data);
                    }
                    if !dealer.events(epoch, events) {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{Generate, Indices};

    proptest! {
        /// Made a block at a time, in parts of any size, the events are those of the
        /// function at each index, in order.
        #[test]
        fn blocks_make_the_events_at_the_indices_in_order(
            first in 0u64..1000, step in 1u64..5, count in 0u64..3000, size in 1u64..2000,
        ) {
            let generate = Generate::new(|i| i * 3 + 1);
            let indices = Indices::new(first, step, count);
            let defined: Vec<u64> = (0..count).map(|k| (first + k * step) * 3 + 1).collect();
            let mut filled = Vec::new();
            indices.chunks(size).for_each(|part| generate.fill(part, &mut filled));
            prop_assert_eq!(&filled, &defined);
            let mut each = Vec::new();
            generate.for_each_block(indices, |block| each.append(block));
            prop_assert_eq!(&each, &defined);
            prop_assert!(indices.chunks(size).all(|part| part.count > 0 && part.count <= size));
        }
    }
}
