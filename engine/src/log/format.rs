//! The byte layout of an input log: a file header, then framed, checksummed blocks.
//! `docs/log-format.md` specifies it for readers in other languages.

use serde::{Deserialize, Serialize};

use crate::Epoch;

/// The first eight bytes of every log.
pub const MAGIC: [u8; 8] = *b"RPRSLOG\0";
/// The format version this build writes.
pub const FORMAT_VERSION: u16 = 1;
/// The oldest format version this build reads.
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Bytes before the first block: magic, version, reserved.
pub const FILE_HEADER_LEN: usize = 12;
/// Bytes before a block's body: body length and CRC32C.
pub const FRAME_HEADER_LEN: usize = 8;
/// The largest block body, and the largest decompressed payload. A reader refuses
/// anything larger, so a corrupt length can never cause a huge allocation.
pub const MAX_BLOCK_BYTES: usize = 16 << 20;
/// Encoded events are cut into blocks of about this size: small enough that an epoch's
/// blocks spread over the workers when it is replayed, large enough to compress well.
pub const TARGET_EVENTS_BLOCK_BYTES: usize = 128 << 10;

/// What a block holds (the first byte of its body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum BlockKind {
    /// The [`LogHeader`]; always the first block.
    Header = 1,
    /// Events of one epoch: `epoch`, `count` (postcard varints), then `count` events.
    Events = 2,
    /// [`InputClosed`]: every event of the epochs before `before` is in the log.
    InputClosed = 3,
    /// [`OutputDigests`]: the output is complete, and digested, before `before`.
    OutputDigests = 4,
    /// [`LogEnd`]: the run ended.
    End = 5,
}

impl BlockKind {
    /// The kind with this tag byte.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => BlockKind::Header,
            2 => BlockKind::Events,
            3 => BlockKind::InputClosed,
            4 => BlockKind::OutputDigests,
            5 => BlockKind::End,
            _ => return None,
        })
    }
}

/// How a block's payload is stored (the second byte of its body).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Codec {
    /// Stored as is.
    Raw = 0,
    /// An LZ4 block, preceded by its decompressed length as a u32 LE.
    Lz4 = 1,
}

/// How epochs were assigned when the log was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordedClock {
    /// Event time: `epoch = event_time_ms / epoch_ms`.
    Event {
        /// Epoch length in ms.
        epoch_ms: u64,
    },
    /// Processing time: a new epoch every `epoch_ms` of wall-clock time.
    Processing {
        /// Epoch length in ms.
        epoch_ms: u64,
    },
}

/// Everything replay needs besides the events, and what `reprise inspect` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHeader {
    /// The format version the log was written with.
    pub format_version: u16,
    /// The engine version that wrote it.
    pub engine_version: String,
    /// The git revision of the build that wrote it.
    pub git_revision: String,
    /// The workload.
    pub workload: String,
    /// Every workload parameter, `(name, value)`.
    pub params: Vec<(String, String)>,
    /// Where the input came from (generator and seed, or a file name).
    pub input: String,
    /// The dataset seed, for generated input.
    pub seed: Option<u64>,
    /// How epochs were cut.
    pub clock: RecordedClock,
    /// Window lateness and other knobs live in `params`; these are the run's shape.
    pub workers: usize,
    /// Processes of the recording run.
    pub processes: usize,
    /// Wall-clock time the recording started, in ms since the Unix epoch.
    pub started_unix_ms: u64,
}

/// Every event of the epochs before `before` is in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputClosed {
    /// The first epoch that may still have events.
    pub before: Epoch,
}

/// The output is complete before `before`; `digests` lists the epochs with output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputDigests {
    /// The first epoch whose output may still change.
    pub before: Epoch,
    /// `(epoch, digest, updates)` for epochs with output, in order.
    pub digests: Vec<(Epoch, u64, u64)>,
}

/// How the recorded run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEnd {
    /// Events recorded.
    pub events: u64,
    /// `None` if the run completed; otherwise why it stopped.
    pub failure: Option<String>,
}

/// Frames one block: `len | crc32c(body) | kind | codec | payload`. Compresses the
/// payload with LZ4 when asked to and when that makes it smaller.
pub fn frame(kind: BlockKind, payload: &[u8], compress: bool) -> Vec<u8> {
    let compressed = compress.then(|| lz4_flex::block::compress_prepend_size(payload));
    let (codec, stored) = match &compressed {
        Some(c) if c.len() < payload.len() => (Codec::Lz4, c.as_slice()),
        _ => (Codec::Raw, payload),
    };
    let body_len = 2 + stored.len();
    let mut block = Vec::with_capacity(FRAME_HEADER_LEN + body_len);
    block.extend_from_slice(&(body_len as u32).to_le_bytes());
    block.extend_from_slice(&[0; 4]);
    block.push(kind as u8);
    block.push(codec as u8);
    block.extend_from_slice(stored);
    let crc = crc32c::crc32c(&block[FRAME_HEADER_LEN..]);
    block[4..8].copy_from_slice(&crc.to_le_bytes());
    block
}

/// The file header: magic, format version, reserved.
pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header
}

/// Encodes a block payload with postcard.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("log records are plain serde data")
}
