//! Record files and messages: CSV with a header line, or one JSON object per line.
//!
//! Readers report the 1-based line number of a malformed record (the header is line 1
//! of a CSV file); writers produce byte-identical files for identical records.

use std::io::{BufRead, BufReader, Read, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::FileFormat;

/// A record that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// A malformed line.
    #[error("line {line}: {message}")]
    Malformed {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The underlying reader or writer failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FormatError {
    /// The line number of a malformed record (0 for an I/O error).
    pub fn line(&self) -> u64 {
        match self {
            FormatError::Malformed { line, .. } => *line,
            FormatError::Io(_) => 0,
        }
    }
}

/// Reads records of type `E` from `reader`, lazily, in file order.
///
/// # Examples
/// ```
/// use reprise_engine::io::{FileFormat, read_records};
/// # #[derive(serde::Deserialize, Debug, PartialEq)] struct FilterEvent { id: u64, value: u64, ts: u64 }
/// let data = "id,value,ts\n1,200,5\n2,oops,6\n";
/// let mut records = read_records::<FilterEvent>(Box::new(data.as_bytes()), FileFormat::Csv);
/// assert_eq!(records.next().unwrap().unwrap(), FilterEvent { id: 1, value: 200, ts: 5 });
/// assert_eq!(records.next().unwrap().unwrap_err().line(), 3);
/// ```
pub fn read_records<E: DeserializeOwned + Send + 'static>(
    reader: Box<dyn Read + Send>,
    format: FileFormat,
) -> Box<dyn Iterator<Item = Result<E, FormatError>> + Send> {
    read_checked_records(reader, format, |_| Ok(()))
}

/// Reads records as [`read_records`] does, and reports a record that `check` refuses
/// (a value out of range) as malformed, at its line.
///
/// # Examples
/// ```
/// use reprise_engine::io::{FileFormat, read_checked_records};
/// # #[derive(serde::Deserialize, Debug, PartialEq)] struct FilterEvent { id: u64, value: u64, ts: u64 }
/// let data = "id,value,ts\n1,200,5\n2,300,99999\n";
/// let check = |e: &FilterEvent| if e.ts > 1000 { Err(format!("ts {} too large", e.ts)) } else { Ok(()) };
/// let mut records = read_checked_records(Box::new(data.as_bytes()), FileFormat::Csv, check);
/// assert!(records.next().unwrap().is_ok());
/// assert_eq!(records.next().unwrap().unwrap_err().to_string(), "line 3: ts 99999 too large");
/// ```
pub fn read_checked_records<E: DeserializeOwned + Send + 'static>(
    reader: Box<dyn Read + Send>,
    format: FileFormat,
    check: impl Fn(&E) -> Result<(), String> + Send + 'static,
) -> Box<dyn Iterator<Item = Result<E, FormatError>> + Send> {
    let checked = move |line: u64, record: E| match check(&record) {
        Ok(()) => Ok(record),
        Err(message) => Err(FormatError::Malformed { line, message }),
    };
    match format {
        FileFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .trim(csv::Trim::All)
                .from_reader(reader);
            let headers = reader.headers().cloned().unwrap_or_default();
            let mut row = csv::StringRecord::new();
            Box::new(std::iter::from_fn(move || {
                let line = |position: Option<&csv::Position>| position.map_or(1, |p| p.line());
                match reader.read_record(&mut row) {
                    Ok(false) => None,
                    Err(e) => Some(Err(FormatError::Malformed {
                        line: line(e.position()),
                        message: e.to_string(),
                    })),
                    Ok(true) => {
                        let at = line(row.position());
                        Some(match row.deserialize::<E>(Some(&headers)) {
                            Ok(record) => checked(at, record),
                            Err(e) => Err(FormatError::Malformed {
                                line: at,
                                message: csv_message(&e, &headers),
                            }),
                        })
                    }
                }
            }))
        }
        FileFormat::JsonLines => {
            let lines = BufReader::with_capacity(1 << 16, reader).lines();
            Box::new(lines.enumerate().filter_map(move |(n, line)| {
                let line_number = n as u64 + 1;
                match line {
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        Some(Err(FormatError::Malformed {
                            line: line_number,
                            message: "the line is not valid UTF-8".to_string(),
                        }))
                    }
                    Err(e) => Some(Err(FormatError::Io(e))),
                    Ok(text) if text.trim().is_empty() => None,
                    Ok(text) => Some(match serde_json::from_str(&text) {
                        Ok(record) => checked(line_number, record),
                        Err(e) => Err(FormatError::Malformed {
                            line: line_number,
                            message: format!("{e} in `{}`", shorten(&text)),
                        }),
                    }),
                }
            }))
        }
    }
}

/// What is wrong with a CSV record: the column and its header name where known.
fn csv_message(e: &csv::Error, headers: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!(
                "column {} (`{}`): {}",
                i + 1,
                headers.get(i as usize).unwrap_or("?"),
                err.kind()
            ),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Writes `records` to `writer`; returns how many were written.
pub fn write_records<E: Serialize>(
    records: impl Iterator<Item = E>,
    writer: impl Write,
    format: FileFormat,
) -> Result<u64, FormatError> {
    let mut count = 0;
    match format {
        FileFormat::Csv => {
            let mut out = csv::Writer::from_writer(writer);
            for record in records {
                out.serialize(&record)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                count += 1;
            }
            out.flush()?;
        }
        FileFormat::JsonLines => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, writer);
            for record in records {
                serde_json::to_writer(&mut out, &record).map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
                count += 1;
            }
            out.flush()?;
        }
    }
    Ok(count)
}

/// One record as a message: a JSON object, or a CSV line without header (no newline).
///
/// # Examples
/// ```
/// use reprise_engine::io::{FileFormat, decode_record, encode_record};
/// # #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)] struct FilterEvent { id: u64, value: u64, ts: u64 }
/// let event = FilterEvent { id: 1, value: 200, ts: 5 };
/// let csv = encode_record(&event, FileFormat::Csv).unwrap();
/// assert_eq!(csv, b"1,200,5");
/// assert_eq!(decode_record::<FilterEvent>(&csv, FileFormat::Csv).unwrap(), event);
/// assert!(decode_record::<FilterEvent>(b"1,x,5", FileFormat::Csv).unwrap_err().contains("column 2"));
/// ```
pub fn encode_record<E: Serialize>(record: &E, format: FileFormat) -> Result<Vec<u8>, FormatError> {
    match format {
        FileFormat::JsonLines => {
            serde_json::to_vec(record).map_err(|e| std::io::Error::other(e).into())
        }
        FileFormat::Csv => {
            let mut out = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            out.serialize(record)
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let mut bytes = out
                .into_inner()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                bytes.pop();
            }
            Ok(bytes)
        }
    }
}

/// Parses one record from a message made by [`encode_record`]; the error says what is wrong.
pub fn decode_record<E: DeserializeOwned>(bytes: &[u8], format: FileFormat) -> Result<E, String> {
    match format {
        FileFormat::JsonLines => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        FileFormat::Csv => csv::ReaderBuilder::new()
            .has_headers(false)
            .trim(csv::Trim::All)
            .from_reader(bytes)
            .deserialize()
            .next()
            .unwrap_or_else(|| Err(csv::Error::from(std::io::Error::other("an empty message"))))
            .map_err(|e| match e.kind() {
                csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                    Some(i) => format!("column {}: {}", i + 1, err.kind()),
                    None => err.kind().to_string(),
                },
                _ => e.to_string(),
            }),
    }
}
