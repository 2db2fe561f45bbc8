//! The byte layout of an input log: a file header, then framed, checksummed blocks.
//! `docs/log-format.md` specifies it for readers in other languages.

use serde::{Deserialize, Serialize};

use crate::Epoch;

/// The first eight bytes of every log.
pub const MAGIC: [u8; 8] = *b"RPRSLOG\0";
/// The format version this build writes.
pub const FORMAT_VERSION: u16 = 3;
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
///
/// From version 2, a kind below [`FIRST_ANCILLARY_KIND`] is critical: a reader that does
/// not know it refuses the log (it may change what replays). A kind from there on is
/// ancillary: it only adds information (recorded output rows, say), and a reader that
/// does not know it skips it. So later additions of either sort need no new version.
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
    /// [`GeneratedEvents`]: events of one epoch that the workload's generator makes
    /// again on replay, by index, with the checksum they had when recorded.
    Generated = 6,
}

/// The first ancillary block kind (see [`BlockKind`]).
pub const FIRST_ANCILLARY_KIND: u8 = 64;

/// Ancillary block: one worker's consolidated output updates of one epoch
/// (`--record-output`): `epoch`, `count` (postcard varints), then `count` pairs
/// `(record, diff)`, each postcard-encoded. A reader that does not know it skips it.
pub const OUTPUT_ROWS_KIND: u8 = FIRST_ANCILLARY_KIND;

impl BlockKind {
    /// The kind with this tag byte.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => BlockKind::Header,
            2 => BlockKind::Events,
            3 => BlockKind::InputClosed,
            4 => BlockKind::OutputDigests,
            5 => BlockKind::End,
            6 => BlockKind::Generated,
            _ => return None,
        })
    }
}

/// A generated-events block holds at most this many events: like an events block's
/// 128 KiB, small enough that an epoch's blocks spread over the workers of a replay.
pub const GENERATED_BLOCK_EVENTS: u64 = 16 << 10;

/// Events that a generator (a pure function of the event index) makes again on replay:
/// `generate(first + i * step)` for `i < count`, all of `epoch`. A generated run records
/// these instead of the events: a few bytes per block instead of every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedEvents {
    /// The epoch the events were fed at.
    pub epoch: Epoch,
    /// The first event's index.
    pub first: u64,
    /// The distance between consecutive indices (the recording's worker count).
    pub step: u64,
    /// How many events.
    pub count: u64,
    /// The [`super::EventsChecksum`] of the events, in order: a replay whose generator
    /// makes other events stops at the first block that differs.
    pub checksum: u64,
}

impl GeneratedEvents {
    /// The indices of the events.
    pub fn indices(&self) -> crate::Indices {
        crate::Indices::new(self.first, self.step, self.count)
    }
}

/// Appends one event's postcard encoding to `buf`, as events blocks hold it.
pub fn encode_event<E: Serialize>(event: &E, buf: &mut Vec<u8>) {
    postcard::serialize_with_flavor(event, AppendTo(buf)).expect("events are plain serde data");
}

/// A postcard output that appends to a buffer in place: encoding an event neither moves
/// the buffer (as `to_extend` does) nor calls `write_all` per byte (as `to_io` does).
struct AppendTo<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for AppendTo<'_> {
    type Output = ();

    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        // Varints arrive as slices of 1 to 10 bytes: pushing them one by one beats a
        // call to `memmove` per slice.
        if data.len() <= 10 {
            data.iter().for_each(|&byte| self.0.push(byte));
        } else {
            self.0.extend_from_slice(data);
        }
        Ok(())
    }

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// The checksum of an events block's events (the bytes after its `(epoch, count)`
/// header, uncompressed). An epoch's checksum is the wrapping sum of its blocks':
/// order-free, as the blocks of an epoch may come in any order.
pub fn events_checksum(events: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(events, EVENTS_CHECKSUM_SEED)
}

const EVENTS_CHECKSUM_SEED: u64 = 0x5245_5052_4953_4549; // "REPRISEI"

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
    /// A random id shared by every part of one recording (0 in version-1 logs).
    pub recording_id: u64,
    /// Which process wrote this part (0 for a single-process log).
    pub part: u32,
    /// The program that recorded it (its executable's name): the one whose jobs include
    /// `workload` (`reprise` in version-1 logs).
    pub program: String,
}

impl LogHeader {
    /// Reads a header block's payload of format `version`.
    pub fn decode(version: u16, payload: &[u8]) -> Result<Self, String> {
        if version >= 2 {
            return decode_exactly(payload);
        }
        let v1: LogHeaderV1 = decode_exactly(payload)?;
        Ok(LogHeader {
            format_version: v1.format_version,
            engine_version: v1.engine_version,
            git_revision: v1.git_revision,
            workload: v1.workload,
            params: v1.params,
            input: v1.input,
            seed: v1.seed,
            clock: v1.clock,
            workers: v1.workers,
            processes: v1.processes,
            started_unix_ms: v1.started_unix_ms,
            recording_id: 0,
            part: 0,
            program: "reprise".to_string(),
        })
    }
}

/// The header of version 1, which had no recording id and no part number.
#[derive(Deserialize)]
struct LogHeaderV1 {
    format_version: u16,
    engine_version: String,
    git_revision: String,
    workload: String,
    params: Vec<(String, String)>,
    input: String,
    seed: Option<u64>,
    clock: RecordedClock,
    workers: usize,
    processes: usize,
    started_unix_ms: u64,
}

/// Every event of the epochs before `before` is in the log (this part of it), and these
/// are the epochs it closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputClosed {
    /// The first epoch that may still have events.
    pub before: Epoch,
    /// Each epoch this marker closes that has events in this part:
    /// `(epoch, events, checksum)`, the checksum being the sum of its blocks'
    /// [`events_checksum`]. Absent in version-1 logs; an epoch not listed has no events.
    pub epochs: EpochChecks,
}

impl InputClosed {
    /// Reads an input-closed block's payload of format `version`: `before`, and the
    /// closed epochs' checks (`None` before version 2).
    pub fn decode(version: u16, payload: &[u8]) -> Result<(Epoch, Option<EpochChecks>), String> {
        if version >= 2 {
            let marker: InputClosed = decode_exactly(payload)?;
            return Ok((marker.before, Some(marker.epochs)));
        }
        Ok((decode_exactly(payload)?, None))
    }
}

/// `(epoch, events, checksum)` of the epochs an input-closed marker closes.
pub type EpochChecks = Vec<(Epoch, u64, u64)>;

/// Decodes a whole payload: a value, and nothing after it.
pub fn decode_exactly<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(value),
        Ok(_) => Err("has trailing bytes".into()),
        Err(e) => Err(format!("does not decode: {e}")),
    }
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
    frame_tagged(kind as u8, payload, compress)
}

/// Frames one block of kind `tag` (an ancillary kind, say): as [`frame`].
pub fn frame_tagged(tag: u8, payload: &[u8], compress: bool) -> Vec<u8> {
    let compressed = compress.then(|| lz4_flex::block::compress_prepend_size(payload));
    let (codec, stored) = match &compressed {
        Some(c) if c.len() < payload.len() => (Codec::Lz4, c.as_slice()),
        _ => (Codec::Raw, payload),
    };
    let body_len = 2 + stored.len();
    let mut block = Vec::with_capacity(FRAME_HEADER_LEN + body_len);
    block.extend_from_slice(&(body_len as u32).to_le_bytes());
    block.extend_from_slice(&[0; 4]);
    block.push(tag);
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
