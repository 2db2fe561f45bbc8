//! Sources: where a run's events come from, and how they reach the workers.
//!
//! - [`Source::Generated`]: a pure function of the event index. Worker `i` of `W`
//!   generates indices `i, i+W, ...`, so each epoch holds the same events for any `W`.
//! - [`Source::Read`]: records read in order (a file, standard input) by one reader
//!   thread, which assigns epochs with an [`EventClock`] and deals chunks to the workers.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use crate::{EngineError, Epoch, EventClock};

/// A record that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// 1-based line number (counting a header line).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// Records read in order, each either an event or the reason it could not be read.
pub type Records<E> = Box<dyn Iterator<Item = Result<E, SourceError>> + Send>;

/// Where a run's events come from.
pub enum Source<E> {
    /// `events` events, event `i` being `generate(i)`; event times never decrease with `i`.
    Generated {
        /// How many events.
        events: u64,
        /// The generator: a pure function of the index.
        generate: Arc<dyn Fn(u64) -> E + Send + Sync>,
    },
    /// Records read in order; epochs are assigned in that order.
    Read {
        /// The file name, or `<stdin>`, for error messages.
        name: String,
        /// The records.
        records: Records<E>,
    },
}

impl<E> std::fmt::Debug for Source<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Generated { events, .. } => write!(f, "Source::Generated({events} events)"),
            Source::Read { name, .. } => write!(f, "Source::Read({name})"),
        }
    }
}

/// What the reader thread sends a worker.
#[derive(Debug)]
pub(crate) enum Dealt<E> {
    /// Events of one epoch.
    Events(Epoch, Vec<E>),
    /// The input has moved on to this epoch.
    Advance(Epoch),
}

const CHUNK: usize = 1024;

/// Reads `records` in order, assigns epochs, and deals chunks round-robin to `workers`.
/// Returns how many records were read, or the first bad record's error (after dealing
/// everything before it, so completed epochs still complete).
pub(crate) fn deal<E>(
    name: &str,
    records: Records<E>,
    time_of: fn(&E) -> u64,
    epoch_ms: u64,
    workers: Vec<SyncSender<Dealt<E>>>,
    stop: &dyn Fn() -> bool,
) -> Result<u64, EngineError> {
    let mut clock = EventClock::new(epoch_ms);
    let mut chunk: Vec<E> = Vec::with_capacity(CHUNK);
    let mut chunk_epoch: Option<Epoch> = None;
    let mut next_worker = 0;
    let mut read = 0u64;
    let send = |worker: usize, message: Dealt<E>| -> bool {
        // Blocks while the worker is behind (backpressure); false if it has gone.
        let mut message = message;
        loop {
            match workers[worker].try_send(message) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(returned)) => {
                    if stop() {
                        return false;
                    }
                    message = returned;
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }
        }
    };
    let mut failure = None;
    for record in records {
        let event = match record {
            Ok(event) => event,
            Err(e) => {
                failure = Some(EngineError::Input {
                    source_name: name.to_string(),
                    line: e.line,
                    message: e.message,
                });
                break;
            }
        };
        read += 1;
        let epoch = clock.assign(time_of(&event));
        if chunk_epoch != Some(epoch) {
            if let Some(previous) = chunk_epoch {
                if !chunk.is_empty() {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if !send(next_worker, Dealt::Events(previous, full)) {
                        return Ok(read);
                    }
                    next_worker = (next_worker + 1) % workers.len();
                }
                for worker in 0..workers.len() {
                    if !send(worker, Dealt::Advance(epoch)) {
                        return Ok(read);
                    }
                }
            }
            chunk_epoch = Some(epoch);
        }
        chunk.push(event);
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if !send(next_worker, Dealt::Events(epoch, full)) {
                return Ok(read);
            }
            next_worker = (next_worker + 1) % workers.len();
        }
    }
    if let (Some(epoch), false) = (chunk_epoch, chunk.is_empty()) {
        send(next_worker, Dealt::Events(epoch, chunk));
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(read),
    }
}

/// A worker's end of the dealing channel.
pub(crate) type DealtReceiver<E> = Receiver<Dealt<E>>;
