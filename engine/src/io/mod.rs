//! Where records come from and go to, and in which format: one format enum for every
//! file, standard stream and message (a dataset, an input, an output, a Kafka payload).

use std::path::Path;

use serde::Serialize;

use crate::EngineError;

mod records;
pub use records::{
    FormatError, decode_record, encode_record, read_checked_records, read_records, write_records,
};

/// File format of an output or dataset file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// Comma-separated values with a header line (`.csv`).
    Csv,
    /// One JSON object per line (`.json`, `.jsonl`, `.ndjson`).
    JsonLines,
}

impl FileFormat {
    /// The format of `path`, by extension.
    pub fn of_path(path: &Path) -> Result<Self, EngineError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(FileFormat::Csv),
            Some("json" | "jsonl" | "ndjson") => Ok(FileFormat::JsonLines),
            _ => Err(EngineError::config(format!(
                "cannot tell the format of `{}`: use a .csv, .json, .jsonl or .ndjson file name",
                path.display()
            ))),
        }
    }
}
