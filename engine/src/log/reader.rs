//! Reading a log: a validating scan (header, epochs, digests, where it ends), then a
//! stream of complete epochs for replay.
//!
//! Nothing a log contains can make the reader panic, hang, or allocate more than
//! [`MAX_BLOCK_BYTES`] at once: lengths are checked before anything is read, every block's
//! CRC32C before it is decoded, and decompressed sizes before anything is decompressed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::EventsChecksum;
use super::format::{
    BlockKind, Codec, EpochChecks, FILE_HEADER_LEN, FIRST_ANCILLARY_KIND, FORMAT_VERSION,
    FRAME_HEADER_LEN, GENERATED_BLOCK_EVENTS, GeneratedEvents, InputClosed, LogEnd, LogHeader,
    MAGIC, MAX_BLOCK_BYTES, OLDEST_READABLE_VERSION, OUTPUT_ROWS_KIND, OutputDigests,
    decode_exactly, events_checksum,
};
use crate::digest::{DigestLog, EpochDigest};
use crate::{EngineError, Epoch, Generate};

/// One block, checked and decompressed.
struct Block {
    /// `None` for an ancillary block (skipped by replay).
    kind: Option<BlockKind>,
    /// The kind's tag byte.
    tag: u8,
    offset: u64,
    payload: Vec<u8>,
    stored_len: u64,
    /// The block's bytes as stored (frame header and body), when the reader keeps them.
    raw: Option<Vec<u8>>,
}

/// Where a log's blocks stop.
enum Stop {
    /// A clean end of file after a whole block.
    End,
    /// The file ends inside a block: the crash case.
    Truncated { offset: u64 },
}

/// Decompressed payload buffers, given back by whoever is done with a block (the worker
/// that decoded it, or the scan), for the reader to fill again: memory already mapped,
/// rather than fresh pages faulted in, and zeroed, for every block.
#[derive(Clone, Debug, Default)]
struct Buffers(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl Buffers {
    /// Enough for the blocks in flight between the reader and its workers, and no more
    /// than this many bytes of them kept idle.
    const KEEP: usize = 32;
    const KEEP_BYTES: usize = 64 << 20;

    /// A buffer that holds `size` bytes without growing: a spare, or a new one with room
    /// to spare (the next power of two). Blocks differ in size by an event or so, and a
    /// spare grown a little copied its bytes into fresh pages, faulted in and zeroed (a
    /// quarter of the reader's time in a Nexmark replay).
    fn take(&self, size: usize) -> Vec<u8> {
        let mut spare = self.0.lock().unwrap_or_else(|p| p.into_inner());
        spare
            .pop()
            .filter(|buffer| buffer.capacity() >= size)
            .unwrap_or_else(|| Vec::with_capacity(size.next_power_of_two()))
    }

    fn give(&self, buffer: Vec<u8>) {
        let mut spare = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let held: usize = spare.iter().map(Vec::capacity).sum();
        if spare.len() < Self::KEEP && held + buffer.capacity() <= Self::KEEP_BYTES {
            spare.push(buffer);
        }
    }
}

/// Reads blocks one by one.
struct BlockReader {
    path: PathBuf,
    file: BufReader<File>,
    /// The block being read, as stored: one buffer for them all.
    body: Vec<u8>,
    /// Where events payloads come from, and go back to once decoded.
    buffers: Buffers,
    offset: u64,
    /// The epoch being read, for error messages: the first epoch not yet closed.
    epoch: Epoch,
    /// Keep each block's stored bytes (to copy blocks unchanged).
    keep_raw: bool,
    /// The file's format version.
    version: u16,
    /// Where the end block was: any byte after it is damage.
    ended_at: Option<u64>,
}

impl BlockReader {
    fn open(path: &Path) -> Result<(Self, u16), EngineError> {
        let file = File::open(path)
            .map_err(|e| EngineError::io(format!("opening input log {}", path.display()), e))?;
        let mut reader = Self {
            path: path.to_path_buf(),
            file: BufReader::with_capacity(1 << 20, file),
            body: Vec::new(),
            buffers: Buffers::default(),
            offset: 0,
            epoch: 0,
            keep_raw: false,
            version: 0,
            ended_at: None,
        };
        let mut header = [0u8; FILE_HEADER_LEN];
        match read_full(&mut reader.file, &mut header) {
            Ok(true) => {}
            Ok(false) => {
                return Err(reader.corrupt(0, "the file is too short to be a Reprise log".into()));
            }
            Err(e) => {
                return Err(EngineError::io(
                    format!("reading input log {}", path.display()),
                    e,
                ));
            }
        }
        if header[..8] != MAGIC {
            return Err(reader.corrupt(
                0,
                "this is not a Reprise input log (wrong magic bytes)".into(),
            ));
        }
        let version = u16::from_le_bytes([header[8], header[9]]);
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(reader.corrupt(
                8,
                format!("recorded with format version {version}; this build reads versions {OLDEST_READABLE_VERSION}..={FORMAT_VERSION}"),
            ));
        }
        reader.offset = FILE_HEADER_LEN as u64;
        reader.version = version;
        Ok((reader, version))
    }

    fn corrupt(&self, offset: u64, message: String) -> EngineError {
        EngineError::Log {
            path: self.path.display().to_string(),
            offset,
            epoch: self.epoch,
            message,
        }
    }

    /// The next block, or where the blocks stop.
    fn next(&mut self) -> Result<Result<Block, Stop>, EngineError> {
        let offset = self.offset;
        let io = |e: std::io::Error| {
            EngineError::io(format!("reading input log {}", self.path.display()), e)
        };
        let mut frame = [0u8; FRAME_HEADER_LEN];
        let mut first = [0u8; 1];
        // Distinguish a clean end (no byte at all) from a frame cut short.
        match self.file.read(&mut first) {
            Ok(0) => return Ok(Err(Stop::End)),
            Ok(_) if self.ended_at.is_some() => {
                let end = self.ended_at.unwrap_or_default();
                return Err(self.corrupt(
                    offset,
                    format!("bytes follow the end block (at byte {end})"),
                ));
            }
            Ok(_) => frame[0] = first[0],
            Err(e) if e.kind() == ErrorKind::Interrupted => return self.next(),
            Err(e) => return Err(io(e)),
        }
        if !read_full(&mut self.file, &mut frame[1..]).map_err(io)? {
            return Ok(Err(Stop::Truncated { offset }));
        }
        let body_len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(frame[4..].try_into().expect("4 bytes"));
        if !(2..=MAX_BLOCK_BYTES).contains(&body_len) {
            return Err(self.corrupt(
                offset,
                format!(
                    "block length {body_len} is outside 2..={MAX_BLOCK_BYTES}: the log is corrupt"
                ),
            ));
        }
        let mut body = std::mem::take(&mut self.body);
        // Only a block larger than any before it writes zeros first.
        body.resize(body_len, 0);
        if !read_full(&mut self.file, &mut body).map_err(io)? {
            // A crash cuts the last block short. A block that claims more bytes than the
            // file has, with whole blocks after it, has a damaged length instead.
            if let Some(next) =
                find_block_after(&self.path, offset + 1, self.version).map_err(io)?
            {
                return Err(self.corrupt(
                    offset,
                    format!(
                        "block length {body_len} runs past the end of the file, yet a whole block follows at byte {next}: the length is damaged (a log cut short by a crash ends inside its last block)"
                    ),
                ));
            }
            return Ok(Err(Stop::Truncated { offset }));
        }
        self.offset += (FRAME_HEADER_LEN + body_len) as u64;
        if crc32c::crc32c(&body) != crc {
            return Err(self.corrupt(offset, "block checksum mismatch: the log is corrupt".into()));
        }
        let raw = self.keep_raw.then(|| [&frame[..], &body[..]].concat());
        let body_tag = body[0];
        let kind = match BlockKind::from_tag(body[0]) {
            Some(BlockKind::End) => {
                self.ended_at = Some(offset);
                Some(BlockKind::End)
            }
            Some(kind) => Some(kind),
            None if self.version >= 2 && body[0] >= FIRST_ANCILLARY_KIND => None,
            None => {
                return Err(self.corrupt(
                    offset,
                    format!(
                        "unknown block kind {}: a newer Reprise may read this log",
                        body[0]
                    ),
                ));
            }
        };
        let (size, compressed) = match body[1] {
            c if c == Codec::Raw as u8 => (body.len() - 2, None),
            c if c == Codec::Lz4 as u8 => {
                let (size, compressed) = lz4_flex::block::uncompressed_size(&body[2..])
                    .map_err(|e| self.corrupt(offset, format!("bad compressed block: {e}")))?;
                if size > MAX_BLOCK_BYTES {
                    return Err(self.corrupt(
                        offset,
                        format!("decompressed size {size} exceeds {MAX_BLOCK_BYTES}"),
                    ));
                }
                (size, Some(compressed))
            }
            other => return Err(self.corrupt(offset, format!("unknown block codec {other}"))),
        };
        // Only events blocks come back to the pool: a marker would take a spare and drop it.
        let mut payload = if kind == Some(BlockKind::Events) {
            self.buffers.take(size)
        } else {
            Vec::new()
        };
        match compressed {
            None => {
                payload.clear();
                payload.extend_from_slice(&body[2..]);
            }
            Some(compressed) => {
                payload.resize(size, 0);
                let written = lz4_flex::block::decompress_into(compressed, &mut payload)
                    .map_err(|e| self.corrupt(offset, format!("bad compressed block: {e}")))?;
                if written != size {
                    return Err(self.corrupt(offset, "compressed block has the wrong size".into()));
                }
            }
        }
        self.body = body;
        Ok(Ok(Block {
            tag: body_tag,
            kind,
            offset,
            payload,
            stored_len: (FRAME_HEADER_LEN + body_len) as u64,
            raw,
        }))
    }

    /// Reads the header block, which must come first.
    fn header(&mut self) -> Result<LogHeader, EngineError> {
        match self.next()? {
            Ok(block) if block.kind == Some(BlockKind::Header) => {
                LogHeader::decode(self.version, &block.payload)
                    .map_err(|e| self.corrupt(block.offset, format!("header block {e}")))
            }
            Ok(block) => Err(self.corrupt(block.offset, "the first block is not a header".into())),
            Err(_) => Err(self.corrupt(
                FILE_HEADER_LEN as u64,
                "the log ends before its header".into(),
            )),
        }
    }

    fn decode<T: DeserializeOwned>(&self, block: &Block, what: &str) -> Result<T, EngineError> {
        decode_exactly(&block.payload)
            .map_err(|e| self.corrupt(block.offset, format!("{what} block {e}")))
    }

    /// An input-closed marker: `before`, and the checks of the epochs it closes.
    fn marker(&self, block: &Block) -> Result<(Epoch, Option<EpochChecks>), EngineError> {
        InputClosed::decode(self.version, &block.payload)
            .map_err(|e| self.corrupt(block.offset, format!("input-closed block {e}")))
    }
}

/// The offset of the first whole, intact block that starts at or after `from`, if any: a
/// frame whose length fits the file and the bounds, whose kind and codec are known, and
/// whose CRC matches. Reads the file in chunks and checks a CRC only for the rare
/// positions that pass the cheap tests.
fn find_block_after(path: &Path, from: u64, version: u16) -> std::io::Result<Option<u64>> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path)?;
    let end = file.metadata()?.len();
    let mut verify = File::open(path)?;
    let mut chunk = vec![0u8; 1 << 20];
    let mut at = from;
    while at + (FRAME_HEADER_LEN as u64) + 2 <= end {
        file.seek(SeekFrom::Start(at))?;
        let filled = read_up_to(&mut file, &mut chunk)?;
        // Positions whose frame header and kind/codec bytes lie inside this chunk.
        let usable = filled.saturating_sub(FRAME_HEADER_LEN + 1);
        for i in 0..usable {
            let position = at + i as u64;
            let len = u32::from_le_bytes(chunk[i..i + 4].try_into().expect("4 bytes")) as usize;
            let (kind, codec) = (chunk[i + 8], chunk[i + 9]);
            let known_kind = BlockKind::from_tag(kind).is_some()
                || (version >= 2 && kind >= FIRST_ANCILLARY_KIND);
            if !(2..=MAX_BLOCK_BYTES).contains(&len)
                || position + (FRAME_HEADER_LEN + len) as u64 > end
                || !known_kind
                || codec > Codec::Lz4 as u8
            {
                continue;
            }
            let crc = u32::from_le_bytes(chunk[i + 4..i + 8].try_into().expect("4 bytes"));
            let mut body = vec![0u8; len];
            verify.seek(SeekFrom::Start(position + FRAME_HEADER_LEN as u64))?;
            if read_full(&mut verify, &mut body)? && crc32c::crc32c(&body) == crc {
                return Ok(Some(position));
            }
        }
        if usable == 0 {
            break;
        }
        at += usable as u64;
    }
    Ok(None)
}

/// Reads as much of `buf` as the file has; the number of bytes read.
fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Gathers events blocks per epoch until an input-closed marker completes the epoch, and
/// checks each completed epoch against the marker: a block removed, duplicated, moved to
/// another epoch or changed (even with its CRC recomputed) is an error naming the epoch,
/// never a different input replayed as if it were the recorded one.
struct EpochAssembler<T> {
    /// Per open epoch: events and checksum of its blocks so far, and what they gather.
    pending: BTreeMap<Epoch, (u64, u64, T)>,
    /// Every epoch before this one is closed.
    closed_before: Epoch,
}

impl<T: Default> EpochAssembler<T> {
    fn new() -> Self {
        Self {
            pending: BTreeMap::new(),
            closed_before: 0,
        }
    }

    /// An events block of `epoch` with `count` events whose checksum is `checksum`;
    /// returns the epoch's gathered value to add the block to.
    fn events(
        &mut self,
        reader: &BlockReader,
        block: &Block,
        epoch: Epoch,
        count: u64,
        checksum: u64,
    ) -> Result<&mut T, EngineError> {
        if epoch < self.closed_before {
            return Err(reader.corrupt(
                block.offset,
                format!(
                    "an events block of epoch {epoch} comes after the input-closed marker that completed that epoch: a block was moved or duplicated"
                ),
            ));
        }
        let (events_so_far, sum, value) = self.pending.entry(epoch).or_default();
        *events_so_far += count;
        *sum = sum.wrapping_add(checksum);
        Ok(value)
    }

    /// An input-closed marker: returns the epochs it completes, in order, once they
    /// match its checks (version 2 on; a version-1 marker has none).
    fn close(
        &mut self,
        reader: &mut BlockReader,
        block: &Block,
        before: Epoch,
        checks: Option<EpochChecks>,
    ) -> Result<Vec<(Epoch, u64, T)>, EngineError> {
        if before < self.closed_before {
            return Err(reader.corrupt(block.offset, "input-closed markers go backwards".into()));
        }
        let still_open = self.pending.split_off(&before);
        let closed = std::mem::replace(&mut self.pending, still_open);
        if let Some(checks) = checks {
            let mut recorded: BTreeMap<Epoch, (u64, u64)> = BTreeMap::new();
            for (epoch, events, checksum) in checks {
                if !(self.closed_before..before).contains(&epoch)
                    || recorded.insert(epoch, (events, checksum)).is_some()
                {
                    return Err(reader.corrupt(
                        block.offset,
                        format!(
                            "the input-closed marker lists epoch {epoch}, which it does not close ({}..{before})",
                            self.closed_before
                        ),
                    ));
                }
            }
            let epochs: std::collections::BTreeSet<Epoch> =
                recorded.keys().chain(closed.keys()).copied().collect();
            for epoch in epochs {
                let (held, held_sum) = closed.get(&epoch).map_or((0, 0), |(n, c, _)| (*n, *c));
                let (expected, expected_sum) = recorded.get(&epoch).copied().unwrap_or((0, 0));
                let message = if held != expected {
                    format!(
                        "epoch {epoch}: the log holds {held} events, its input-closed marker recorded {expected}: an events block is missing, duplicated or moved"
                    )
                } else if held_sum != expected_sum {
                    format!(
                        "epoch {epoch}: its {held} events differ from the recorded ones (checksum {held_sum:016x}, recorded {expected_sum:016x}): an events block was changed or swapped"
                    )
                } else {
                    continue;
                };
                return Err(reader.corrupt(block.offset, message));
            }
        }
        self.closed_before = before;
        reader.epoch = before;
        Ok(closed.into_iter().map(|(e, (n, _, v))| (e, n, v)).collect())
    }
}

/// Fills `buf`; false if the file ended first (having read part of it or nothing).
fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    Ok(read_up_to(file, buf)? == buf.len())
}

/// Per-epoch input statistics.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct EpochInput {
    /// Events recorded in the epoch.
    pub events: u64,
    /// Bytes of its events blocks in the file.
    pub bytes: u64,
}

/// What a validating pass over a log found.
#[derive(Clone, Debug, Serialize)]
pub struct LogScan {
    /// The file.
    pub path: PathBuf,
    /// The file's format version.
    pub format_version: u16,
    /// The header.
    pub header: LogHeader,
    /// Input per epoch, for the epochs whose input is complete.
    pub epochs: BTreeMap<Epoch, EpochInput>,
    /// Every epoch before this one has its complete input in the log.
    pub input_complete_before: Epoch,
    /// Recorded output digests, complete before `output_complete_before`.
    pub digests: DigestLog,
    /// Every epoch before this one has its recorded output digest.
    pub output_complete_before: Epoch,
    /// How the run ended, if the log says.
    pub end: Option<LogEnd>,
    /// Where the file ends inside a block (a crash or a copy cut short).
    pub truncated_at: Option<u64>,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Blocks of recorded output rows (`--record-output`); 0 when none were recorded.
    pub output_row_blocks: u64,
    /// Blocks of generated events, recorded by index: a replay makes their events again
    /// with the workload's generator. 0 in a log that holds every event.
    pub generated_blocks: u64,
}

impl LogScan {
    /// Events in the complete epochs.
    pub fn events(&self) -> u64 {
        self.epochs.values().map(|e| e.events).sum()
    }
}

/// Reads and checks a whole log without decoding events. A damaged block is an error;
/// a file that ends inside a block is a truncated log, scanned up to the damage.
fn scan_part(path: &Path) -> Result<LogScan, EngineError> {
    let (mut reader, format_version) = BlockReader::open(path)?;
    let header = reader.header()?;
    let mut scan = LogScan {
        path: path.to_path_buf(),
        format_version,
        header,
        epochs: BTreeMap::new(),
        input_complete_before: 0,
        digests: DigestLog::default(),
        output_complete_before: 0,
        end: None,
        truncated_at: None,
        file_bytes: 0,
        output_row_blocks: 0,
        generated_blocks: 0,
    };
    let mut epochs: EpochAssembler<u64> = EpochAssembler::new();
    let mut end_offset = 0;
    loop {
        let block = match reader.next()? {
            Ok(block) => block,
            Err(Stop::End) => break,
            Err(Stop::Truncated { offset }) => {
                scan.truncated_at = Some(offset);
                break;
            }
        };
        match block.kind {
            None if block.tag == OUTPUT_ROWS_KIND => scan.output_row_blocks += 1,
            None => {}
            Some(BlockKind::Header) => {
                return Err(reader.corrupt(block.offset, "a second header block".into()));
            }
            Some(BlockKind::Events) => {
                let (epoch, count, start) = events_header(&reader, &block)?;
                let checksum = events_checksum(&block.payload[start..]);
                *epochs.events(&reader, &block, epoch, count, checksum)? += block.stored_len;
                reader.buffers.give(block.payload);
            }
            Some(BlockKind::Generated) => {
                let generated = generated_header(&reader, &block)?;
                let (epoch, count) = (generated.epoch, generated.count);
                let checksum = generated.checksum;
                *epochs.events(&reader, &block, epoch, count, checksum)? += block.stored_len;
                scan.generated_blocks += 1;
            }
            Some(BlockKind::InputClosed) => {
                let (before, checks) = reader.marker(&block)?;
                for (epoch, events, bytes) in epochs.close(&mut reader, &block, before, checks)? {
                    scan.epochs.insert(epoch, EpochInput { events, bytes });
                }
                scan.input_complete_before = before;
            }
            Some(BlockKind::OutputDigests) => {
                let OutputDigests { before, digests } = reader.decode(&block, "output-digests")?;
                for (epoch, digest, updates) in digests {
                    scan.digests.add(epoch, EpochDigest { digest, updates });
                }
                scan.output_complete_before = scan.output_complete_before.max(before);
            }
            Some(BlockKind::End) => {
                scan.end = Some(reader.decode(&block, "end")?);
                end_offset = block.offset;
            }
        }
    }
    // A completed run's log is whole: every epoch closed and digested, every event counted.
    if let Some(LogEnd {
        events,
        failure: None,
    }) = &scan.end
    {
        let complete = |what: &str, before: Epoch| {
            if before == Epoch::MAX {
                return Ok(());
            }
            Err(reader.corrupt(
                end_offset,
                format!(
                    "the end block says the run completed, but {what} stop before epoch {before}: a block is missing"
                ),
            ))
        };
        complete("the closed input epochs", scan.input_complete_before)?;
        complete("the output digests", scan.output_complete_before)?;
        let held = scan.events();
        if held != *events {
            return Err(reader.corrupt(
                end_offset,
                format!("the end block counts {events} events, the log holds {held}"),
            ));
        }
    }
    scan.file_bytes = std::fs::metadata(path).map_or(reader.offset, |m| m.len());
    Ok(scan)
}

/// Reads a log's header only.
pub fn read_header(path: &Path) -> Result<LogHeader, EngineError> {
    BlockReader::open(path)?.0.header()
}

/// An events block's `(epoch, count)` and where its events start in the payload. Each
/// event takes at least one byte: a larger count is corrupt, not a reason to allocate.
fn events_header(reader: &BlockReader, block: &Block) -> Result<(Epoch, u64, usize), EngineError> {
    let ((epoch, count), rest) = postcard::take_from_bytes::<(Epoch, u64)>(&block.payload)
        .map_err(|e| reader.corrupt(block.offset, format!("events block does not decode: {e}")))?;
    if count > rest.len() as u64 {
        return Err(reader.corrupt(
            block.offset,
            format!("events block claims {count} events in {} bytes", rest.len()),
        ));
    }
    Ok((epoch, count, block.payload.len() - rest.len()))
}

/// A generated-events block's payload. A block of no events, or whose indices overflow, is
/// corrupt (a writer never makes one).
fn generated_header(reader: &BlockReader, block: &Block) -> Result<GeneratedEvents, EngineError> {
    let generated: GeneratedEvents = reader.decode(block, "generated-events")?;
    let last = generated
        .count
        .checked_sub(1)
        .and_then(|n| n.checked_mul(generated.step))
        .and_then(|span| span.checked_add(generated.first));
    if last.is_none() || generated.count > GENERATED_BLOCK_EVENTS {
        return Err(reader.corrupt(
            block.offset,
            format!(
                "generated-events block of {} events from index {} by {} is out of bounds",
                generated.count, generated.first, generated.step
            ),
        ));
    }
    Ok(generated)
}

/// One events block as recorded: decoded (or, for generated events, made again) by
/// whichever worker replays it, so that work runs in parallel.
#[derive(Debug)]
pub struct EncodedEvents {
    path: std::sync::Arc<str>,
    offset: u64,
    epoch: Epoch,
    count: u64,
    events: BlockEvents,
    /// Where the stored payload goes back to once decoded.
    buffers: Option<Buffers>,
}

impl Drop for EncodedEvents {
    fn drop(&mut self) {
        if let (Some(buffers), BlockEvents::Stored { payload, .. }) =
            (&self.buffers, &mut self.events)
        {
            buffers.give(std::mem::take(payload));
        }
    }
}

/// What an events block holds.
#[derive(Debug)]
enum BlockEvents {
    /// The events, encoded from `payload[start..]`.
    Stored { payload: Vec<u8>, start: usize },
    /// The indices of generated events, and their checksum as the log's format version
    /// computes it.
    Generated(GeneratedEvents, u16),
}

impl EncodedEvents {
    /// The `count` events of `epoch` stored in `block` (of the log `path`), encoded from
    /// `payload[start..]`; the payload goes back to `buffers`, if any, once decoded.
    fn stored(
        path: &std::sync::Arc<str>,
        block: Block,
        epoch: Epoch,
        count: u64,
        start: usize,
        buffers: Option<&Buffers>,
    ) -> Self {
        Self {
            path: std::sync::Arc::clone(path),
            offset: block.offset,
            epoch,
            count,
            events: BlockEvents::Stored {
                payload: block.payload,
                start,
            },
            buffers: buffers.cloned(),
        }
    }

    /// Number of events in the block.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// True for a block without events.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn corrupt(&self, message: String) -> EngineError {
        EngineError::Log {
            path: self.path.to_string(),
            offset: self.offset,
            epoch: self.epoch,
            message,
        }
    }

    /// Decodes the events, calling `each` on every one; an error names the block. A block
    /// of generated events needs their generator: see [`EncodedEvents::replay`].
    pub fn decode<E: DeserializeOwned>(&self, mut each: impl FnMut(E)) -> Result<(), EngineError> {
        let (payload, start) = match &self.events {
            BlockEvents::Stored { payload, start } => (payload, *start),
            BlockEvents::Generated(..) => {
                return Err(self.corrupt(
                    "this block records generated events by index: making them again needs the workload's generator".into(),
                ));
            }
        };
        // One deserializer for the block: `take_from_bytes` per event builds a result with
        // the rest of the bytes each time, which compiled to stalled stores (filter-count
        // decoded at 0.6x the speed in one build).
        let mut events = postcard::Deserializer::from_bytes(&payload[start..]);
        for _ in 0..self.count {
            let event = E::deserialize(&mut events).map_err(|e| {
                self.corrupt(format!(
                    "events block does not decode as this workload's events: {e}"
                ))
            })?;
            each(event);
        }
        let rest = events
            .finalize()
            .map_err(|e| self.corrupt(format!("events block does not end cleanly: {e}")))?;
        if !rest.is_empty() {
            return Err(self.corrupt("events block has trailing bytes".into()));
        }
        Ok(())
    }

    /// The block's events, calling `each` on every one: decoded, or made again by
    /// `generate` (the recording's generator) and checked against the recorded checksum.
    /// A generator that makes other events than it did when the log was recorded is an
    /// error that says so, before the epoch can complete.
    pub fn replay<E: DeserializeOwned + Serialize>(
        &self,
        generate: Option<&Generate<E>>,
        mut each: impl FnMut(E),
    ) -> Result<(), EngineError> {
        let BlockEvents::Generated(generated, version) = &self.events else {
            return self.decode(each);
        };
        let Some(generate) = generate else {
            return self.decode(each);
        };
        let mut sum = EventsChecksum::of_format(*version);
        generate.for_each_block(generated.indices(), |events| {
            sum.add_all(events);
            events.drain(..).for_each(&mut each);
        });
        let checksum = sum.finish();
        if checksum != generated.checksum {
            return Err(self.corrupt(format!(
                "the events at indices {}, {}, ... ({} events) differ from the recorded ones (checksum {checksum:016x}, recorded {:016x}): the workload's generator makes other events than when this log was recorded, or the block was altered. Replay with the build that recorded it (`reprise inspect` shows its git revision), or record again; `--record-full` keeps the events themselves in a log",
                generated.first,
                generated.first + generated.step,
                generated.count,
                generated.checksum
            )));
        }
        Ok(())
    }
}

/// The output rows a log recorded for `epoch` (`--record-output`), a block per worker
/// (decode each as `(record, diff)` pairs); `None` when the log recorded no rows at all.
pub fn recorded_rows(path: &Path, epoch: Epoch) -> Result<Option<Vec<EncodedEvents>>, EngineError> {
    let (mut reader, _) = BlockReader::open(path)?;
    let shared_path: std::sync::Arc<str> = path.display().to_string().into();
    let mut rows = None;
    while let Ok(block) = reader.next()? {
        if block.tag != OUTPUT_ROWS_KIND {
            continue;
        }
        let found = rows.get_or_insert_with(Vec::new);
        let (block_epoch, count, start) = events_header(&reader, &block)?;
        if block_epoch == epoch {
            found.push(EncodedEvents::stored(
                &shared_path,
                block,
                epoch,
                count,
                start,
                None,
            ));
        }
    }
    Ok(rows)
}

/// The complete epochs of a log in order, each with its events blocks: what replay feeds.
/// Epochs after `until` (inclusive) are not read. Events after the last input-closed
/// marker belong to incomplete epochs and are left out.
fn part_blocks(
    path: &Path,
    until: Option<Epoch>,
) -> Result<
    impl Iterator<Item = Result<(Epoch, Vec<EncodedEvents>), EngineError>> + Send + 'static,
    EngineError,
> {
    let (mut reader, _) = BlockReader::open(path)?;
    reader.header()?;
    let name: std::sync::Arc<str> = path.display().to_string().into();
    let mut pending: EpochAssembler<Vec<EncodedEvents>> = EpochAssembler::new();
    let mut ready: std::collections::VecDeque<(Epoch, Vec<EncodedEvents>)> = Default::default();
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        loop {
            if let Some(epoch) = ready.pop_front() {
                if until.is_some_and(|until| epoch.0 > until) {
                    done = true;
                    ready.clear();
                    return None;
                }
                return Some(Ok(epoch));
            }
            if done {
                return None;
            }
            let step = match reader.next() {
                Ok(Ok(block)) => read_block(&mut reader, block, &name, &mut pending, &mut ready),
                Ok(Err(_)) => {
                    done = true;
                    return None;
                }
                Err(e) => Err(e),
            };
            if let Err(e) = step {
                done = true;
                return Some(Err(e));
            }
        }
    }))
}

fn read_block(
    reader: &mut BlockReader,
    block: Block,
    name: &std::sync::Arc<str>,
    pending: &mut EpochAssembler<Vec<EncodedEvents>>,
    ready: &mut std::collections::VecDeque<(Epoch, Vec<EncodedEvents>)>,
) -> Result<(), EngineError> {
    match block.kind {
        Some(BlockKind::Events) => {
            let (epoch, count, start) = events_header(reader, &block)?;
            let checksum = events_checksum(&block.payload[start..]);
            let blocks = pending.events(reader, &block, epoch, count, checksum)?;
            let buffers = Some(&reader.buffers);
            blocks.push(EncodedEvents::stored(
                name, block, epoch, count, start, buffers,
            ));
        }
        Some(BlockKind::Generated) => {
            let generated = generated_header(reader, &block)?;
            let (epoch, count) = (generated.epoch, generated.count);
            let blocks = pending.events(reader, &block, epoch, count, generated.checksum)?;
            blocks.push(EncodedEvents {
                path: std::sync::Arc::clone(name),
                offset: block.offset,
                epoch,
                count,
                events: BlockEvents::Generated(generated, reader.version),
                buffers: None,
            });
        }
        Some(BlockKind::InputClosed) => {
            let (before, checks) = reader.marker(&block)?;
            for (epoch, _, blocks) in pending.close(reader, &block, before, checks)? {
                ready.push_back((epoch, blocks));
            }
        }
        _ => {}
    }
    Ok(())
}

/// The complete epochs of a log, in order, each with all its events: decoded, or, in a
/// log of generated input recorded by index, made again by `generate` (the recording's
/// generator) and checked.
pub fn epochs<E: DeserializeOwned + Serialize + Send + 'static>(
    path: &Path,
    until: Option<Epoch>,
    generate: Option<Generate<E>>,
) -> Result<impl Iterator<Item = Result<(Epoch, Vec<E>), EngineError>> + Send + 'static, EngineError>
{
    Ok(epoch_blocks(path, until)?.map(move |epoch| {
        let (epoch, blocks) = epoch?;
        let mut events = Vec::with_capacity(blocks.iter().map(|b| b.len() as usize).sum());
        for block in &blocks {
            block.replay(generate.as_ref(), |event| events.push(event))?;
        }
        Ok((epoch, events))
    }))
}

/// Replaces a log's recorded output digests (and nothing else) with `digests`, for the
/// epochs before the log's output marker. Every other block is copied byte for byte; a
/// truncated tail is dropped. The file is replaced atomically.
pub fn bless(path: &Path, digests: &DigestLog) -> Result<(), EngineError> {
    use std::io::Write;
    let scanned = scan(path)?;
    if scanned.header.processes > 1 {
        return Err(EngineError::config(format!(
            "{} was recorded by {} processes: bless works on single-process logs",
            path.display(),
            scanned.header.processes
        )));
    }
    let (mut reader, version) = BlockReader::open(path)?;
    reader.keep_raw = true;
    let temporary = path.with_extension("rlog.blessing");
    let io = |e: std::io::Error| EngineError::io(format!("writing {}", temporary.display()), e);
    let mut out = std::io::BufWriter::new(File::create(&temporary).map_err(io)?);
    let mut header = super::format::file_header();
    header[8..10].copy_from_slice(&version.to_le_bytes());
    out.write_all(&header).map_err(io)?;
    let before = scanned.output_complete_before;
    let blessed = OutputDigests {
        before,
        digests: digests
            .before(before)
            .iter()
            .map(|(e, d)| (e, d.digest, d.updates))
            .collect(),
    };
    let blessed = super::format::frame(
        BlockKind::OutputDigests,
        &super::format::encode(&blessed),
        true,
    );
    let mut written = false;
    while let Ok(block) = reader.next()? {
        // Recorded output rows are the old build's: they go with its digests.
        if block.kind == Some(BlockKind::OutputDigests) || block.tag == OUTPUT_ROWS_KIND {
            continue;
        }
        if block.kind == Some(BlockKind::End) {
            out.write_all(&blessed).map_err(io)?;
            written = true;
        }
        out.write_all(block.raw.as_deref().expect("raw blocks are kept"))
            .map_err(io)?;
    }
    if !written {
        out.write_all(&blessed).map_err(io)?;
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&temporary, path)
        .map_err(|e| EngineError::io(format!("replacing {}", path.display()), e))
}

/// Reads and checks a whole log, without decoding events: a damaged block is an error; a
/// file that ends inside a block is a truncated log, scanned up to the damage. A log
/// recorded by a cluster of P processes is P files (see [`super::part_path`]), read as one.
pub fn scan(path: &Path) -> Result<LogScan, EngineError> {
    let mut whole = scan_part(path)?;
    for process in 1..whole.header.processes.max(1) {
        let part = super::part_path(path, process);
        if !part.exists() {
            return Err(EngineError::Log {
                path: part.display().to_string(),
                offset: 0,
                epoch: 0,
                message: format!(
                    "part {process} of a log recorded by {} processes is missing",
                    whole.header.processes
                ),
            });
        }
        let scanned = scan_part(&part)?;
        let (mine, theirs) = (&whole.header, &scanned.header);
        if theirs.recording_id != mine.recording_id
            || theirs.workload != mine.workload
            || theirs.params != mine.params
            || theirs.processes != mine.processes
            || (theirs.format_version >= 2 && theirs.part as usize != process)
        {
            return Err(EngineError::Log {
                path: part.display().to_string(),
                offset: 0,
                epoch: 0,
                message: format!(
                    "this part belongs to another recording than {} (recording {:016x}, part {} of `{}`; expected recording {:016x}, part {process} of `{}`): record the run again, or put its own parts beside it",
                    path.display(),
                    theirs.recording_id,
                    theirs.part,
                    theirs.workload,
                    mine.recording_id,
                    mine.workload
                ),
            });
        }
        whole.input_complete_before = whole
            .input_complete_before
            .min(scanned.input_complete_before);
        whole.output_complete_before = whole
            .output_complete_before
            .min(scanned.output_complete_before);
        whole.output_row_blocks += scanned.output_row_blocks;
        whole.generated_blocks += scanned.generated_blocks;
        whole.digests.merge(&scanned.digests);
        for (epoch, input) in scanned.epochs {
            let entry = whole.epochs.entry(epoch).or_default();
            entry.events += input.events;
            entry.bytes += input.bytes;
        }
        whole.truncated_at = whole.truncated_at.or(scanned.truncated_at);
        whole.file_bytes += scanned.file_bytes;
        whole.end = match (whole.end.take(), scanned.end) {
            (Some(a), Some(b)) => Some(LogEnd {
                events: a.events + b.events,
                failure: a.failure.or(b.failure),
            }),
            _ => None,
        };
    }
    let complete = whole.input_complete_before;
    whole.epochs.retain(|epoch, _| *epoch < complete);
    Ok(whole)
}

/// The complete epochs of a log in order, each with its events blocks: what replay feeds.
/// Epochs after `until` (inclusive) are not read. Events after the last input-closed
/// marker belong to incomplete epochs and are left out. The parts of a cluster's log are
/// merged epoch by epoch.
pub fn epoch_blocks(
    path: &Path,
    until: Option<Epoch>,
) -> Result<crate::RecordedEpochs, EngineError> {
    // Only a cluster's log needs the whole-log scan (for where its parts all end).
    if read_header(path)?.processes <= 1 {
        return Ok(Box::new(part_blocks(path, until)?));
    }
    let scanned = scan(path)?;
    let processes = scanned.header.processes;
    let complete = scanned.input_complete_before;
    let mut parts = Vec::new();
    for process in 0..processes {
        parts.push(part_blocks(&super::part_path(path, process), until)?.peekable());
    }
    Ok(Box::new(std::iter::from_fn(move || {
        // The smallest epoch any part has next; every part contributes its blocks of it.
        let mut next: Option<Epoch> = None;
        for part in parts.iter_mut() {
            match part.peek() {
                Some(Ok((epoch, _))) => next = Some(next.map_or(*epoch, |n| n.min(*epoch))),
                Some(Err(_)) => {
                    return part
                        .next()
                        .map(|e| e.map(|_| unreachable!("peeked an error")));
                }
                None => {}
            }
        }
        let epoch = next.filter(|e| *e < complete)?;
        let mut blocks = Vec::new();
        for part in parts.iter_mut() {
            if let Some(Ok((e, _))) = part.peek()
                && *e == epoch
                && let Some(Ok((_, mut more))) = part.next()
            {
                blocks.append(&mut more);
            }
        }
        Some(Ok((epoch, blocks)))
    })))
}
