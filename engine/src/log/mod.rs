//! The input log: what entered the dataflow, per epoch, so any run replays exactly.
//!
//! A log is one file: magic bytes and a format version, then framed blocks (length,
//! CRC32C, kind, codec, payload) holding a header (workload, parameters, seeds, clock,
//! the recording's workers), the events of each epoch as they were fed (or, for generated
//! input, their indices and checksum), markers saying which epochs are complete, and the
//! per-epoch output digests. It is written as the run
//! goes and flushed whenever an epoch's input is complete, so a run that crashes leaves a
//! log whose complete epochs replay. See `docs/log-format.md` for the byte layout.

mod checksum;
pub mod format;
mod reader;
mod writer;

pub use checksum::EventsChecksum;
pub use format::{LogEnd, LogHeader, RecordedClock};
pub use reader::{
    EncodedEvents, EpochInput, LogScan, bless, epoch_blocks, epochs, read_header, recorded_rows,
    scan,
};
pub(crate) use writer::{
    ChecksumGenerated, EncodeRows, LogMessage, RecordGenerated, Recorder, write_log,
};
pub use writer::{INPUT_ONLY, RecordSpec, RecordStats, write_events_log};

/// The file of process `process`'s part of a log recorded by a cluster: the log's own path
/// for process 0, `LOG.1`, `LOG.2`, ... for the others.
pub fn part_path(path: &std::path::Path, process: usize) -> std::path::PathBuf {
    if process == 0 {
        return path.to_path_buf();
    }
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{process}"));
    std::path::PathBuf::from(name)
}
