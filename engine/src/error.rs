//! The engine's error type: user errors, resource errors, and bugs kept apart.

use crate::Epoch;

/// Everything that can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A bad flag, parameter or configuration: the user can fix it.
    #[error("{0}")]
    Config(String),
    /// A malformed input record.
    #[error("{source_name}, {at}: {message}")]
    Input {
        /// The file name, `<stdin>`, or a topic's URL.
        source_name: String,
        /// Where: `line 12` (1-based, counting a header line), or `partition 2, offset 1234`.
        at: String,
        /// What is wrong with it.
        message: String,
    },
    /// A worker panicked: a bug in a job or in the engine.
    #[error("worker {worker} panicked while epoch {epoch} was open: {message}")]
    WorkerPanic {
        /// Index of the worker that panicked first.
        worker: usize,
        /// The earliest epoch not yet complete at the time.
        epoch: Epoch,
        /// The panic message.
        message: String,
    },
    /// An input log is damaged or not a log this build can read.
    #[error("{path}: {message} (at byte {offset}, {})", log_epoch(*epoch))]
    Log {
        /// The log file.
        path: String,
        /// Byte offset of the damaged block.
        offset: u64,
        /// The first epoch whose input was not complete before the damage.
        epoch: Epoch,
        /// What is wrong.
        message: String,
    },
    /// Another process of the cluster went away in the middle of the run.
    #[error("lost contact with {peer}: it stopped or its connection broke; this process stops too")]
    PeerLost {
        /// Which process, and its address.
        peer: String,
    },
    /// The run was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An internal invariant was broken: a bug.
    #[error("internal error (a bug in Reprise): {0}")]
    Bug(String),
}

impl EngineError {
    /// A configuration error with a message the user can act on.
    pub fn config(message: impl Into<String>) -> Self {
        EngineError::Config(message.into())
    }

    /// An I/O error with context naming what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Where in a log's epochs damage lies, for messages: after the last marker of a complete
/// log, every epoch is closed.
fn log_epoch(epoch: Epoch) -> String {
    if epoch == Epoch::MAX {
        "after every epoch".to_string()
    } else {
        format!("epoch {epoch}")
    }
}
