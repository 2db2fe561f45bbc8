//! A few rows of a run's results, for its report: the final rows of the last windows to
//! close, or (for a job without windows) the last epoch's new rows. The rows shown are the
//! smallest of that epoch in the record's order, so they do not depend on the worker count.

use serde::{Deserialize, Serialize};

use crate::output::record_columns;
use crate::{Epoch, Record};

/// How many rows a preview shows.
pub const PREVIEW_ROWS: usize = 10;

/// What a preview's rows are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PreviewKind {
    /// Rows inserted at the epoch (the job has no windows, or none closed).
    #[default]
    Update,
    /// Windows' final values, at the epoch where they closed.
    Final,
}

/// The preview of a run's results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preview {
    /// What the rows are.
    pub kind: PreviewKind,
    /// The epoch they belong to.
    pub epoch: Epoch,
    /// How many such rows that epoch has (the preview shows at most [`PREVIEW_ROWS`]).
    pub rows_at_epoch: u64,
    /// The record's columns.
    pub columns: Vec<String>,
    /// The rows' values, column by column.
    pub rows: Vec<Vec<String>>,
}

/// One worker's candidates for the preview, kept while its sink consolidates epochs.
#[derive(Debug)]
pub(crate) struct PreviewRows<R> {
    kind: PreviewKind,
    epoch: Epoch,
    count: u64,
    /// The smallest rows seen at `epoch`, sorted, at most [`PREVIEW_ROWS`].
    rows: Vec<R>,
}

impl<R: Record> PreviewRows<R> {
    pub(crate) fn new() -> Self {
        Self {
            kind: PreviewKind::Update,
            epoch: 0,
            count: 0,
            rows: Vec::new(),
        }
    }

    /// Offers one consolidated update at `epoch`: a retraction at its window's close is a
    /// final row, an insertion an update row. Final rows take precedence over updates, and
    /// a later epoch over an earlier one.
    /// (`closing` is asked only for a retraction.)
    pub(crate) fn offer(
        &mut self,
        epoch: Epoch,
        record: &R,
        diff: i64,
        closing: impl FnOnce() -> Option<Epoch>,
    ) {
        let kind = if diff > 0 {
            PreviewKind::Update
        } else if closing() == Some(epoch) {
            PreviewKind::Final
        } else {
            return;
        };
        match (kind, epoch).cmp(&(self.kind, self.epoch)) {
            std::cmp::Ordering::Less => return,
            std::cmp::Ordering::Greater => {
                (self.kind, self.epoch, self.count) = (kind, epoch, 0);
                self.rows.clear();
            }
            std::cmp::Ordering::Equal => {}
        }
        self.count += 1;
        let full = self.rows.len() == PREVIEW_ROWS;
        if full && self.rows.last().is_some_and(|last| record >= last) {
            return;
        }
        let at = self.rows.partition_point(|r| r < record);
        self.rows.insert(at, record.clone());
        self.rows.truncate(PREVIEW_ROWS);
    }

    /// This worker's share, to merge with the other workers' ([`merge`]).
    pub(crate) fn share(&self) -> PreviewShare {
        PreviewShare {
            kind: self.kind,
            epoch: self.epoch,
            count: self.count,
            rows: self
                .rows
                .iter()
                .filter_map(|r| postcard::to_allocvec(r).ok())
                .collect(),
        }
    }
}

/// One worker's preview rows, encoded so they can travel to worker 0 with its summary.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct PreviewShare {
    kind: PreviewKind,
    epoch: Epoch,
    count: u64,
    rows: Vec<Vec<u8>>,
}

/// The run's preview from every worker's share: the rows of the latest epoch of the
/// strongest kind, the smallest first. `None` when the run produced no rows.
pub(crate) fn merge<R: Record>(shares: &[&PreviewShare]) -> Option<Preview> {
    let best = shares
        .iter()
        .filter(|s| s.count > 0)
        .map(|s| (s.kind, s.epoch))
        .max()?;
    let chosen = shares.iter().filter(|s| (s.kind, s.epoch) == best);
    let mut count = 0;
    let mut rows: Vec<R> = Vec::new();
    for share in chosen {
        count += share.count;
        rows.extend(
            share
                .rows
                .iter()
                .filter_map(|b| postcard::from_bytes(b).ok()),
        );
    }
    rows.sort();
    rows.truncate(PREVIEW_ROWS);
    Some(Preview {
        kind: best.0,
        epoch: best.1,
        rows_at_epoch: count,
        columns: record_columns::<R>(),
        rows: rows.iter().map(record_fields).collect(),
    })
}

/// A record's values, column by column (a nested record's values as one JSON column).
fn record_fields<R: Serialize>(record: &R) -> Vec<String> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let line = writer
        .serialize(record)
        .ok()
        .and_then(|()| writer.into_inner().ok());
    let fields = line.and_then(|bytes| {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes.as_slice())
            .records()
            .next()
            .and_then(Result::ok)
    });
    match fields {
        Some(fields) => fields.iter().map(str::to_string).collect(),
        None => vec![serde_json::to_string(record).unwrap_or_default()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An update offered to a preview: epoch, key, diff, closing epoch.
    type Offer = (Epoch, u64, i64, Option<Epoch>);

    fn rows_of(worker_rows: &[&[Offer]]) -> Option<Preview> {
        let shares: Vec<PreviewShare> = worker_rows
            .iter()
            .map(|rows| {
                let mut preview = PreviewRows::<(u64, u64)>::new();
                for &(epoch, key, diff, closing) in rows.iter() {
                    preview.offer(epoch, &(key, 7), diff, || closing);
                }
                preview.share()
            })
            .collect();
        merge::<(u64, u64)>(&shares.iter().collect::<Vec<_>>())
    }

    #[test]
    fn final_rows_of_the_last_closing_epoch_win_whatever_the_split() {
        // Worker 0 closes a window at epoch 3, worker 1 one at epoch 5 and has later updates.
        let preview = rows_of(&[
            &[(2, 1, 1, Some(3)), (3, 1, -1, Some(3))],
            &[(5, 9, -1, Some(5)), (5, 4, -1, Some(5)), (6, 2, 1, None)],
        ])
        .unwrap();
        assert_eq!(
            (preview.kind, preview.epoch, preview.rows_at_epoch),
            (PreviewKind::Final, 5, 2)
        );
        assert_eq!(preview.rows, vec![vec!["4", "7"], vec!["9", "7"]]);
        assert_eq!(preview.columns, ["c1", "c2"]);
        // The same rows on one worker give the same preview.
        let one = rows_of(&[&[
            (2, 1, 1, Some(3)),
            (3, 1, -1, Some(3)),
            (5, 9, -1, Some(5)),
            (5, 4, -1, Some(5)),
            (6, 2, 1, None),
        ]])
        .unwrap();
        assert_eq!(one, preview);
    }

    #[test]
    fn without_windows_the_last_epoch_insertions_show_the_smallest_first() {
        let many: Vec<_> = (0..30).rev().map(|k| (4, k, 1, None)).collect();
        let preview = rows_of(&[&[(1, 100, 1, None)], &many]).unwrap();
        assert_eq!(
            (preview.kind, preview.epoch, preview.rows_at_epoch),
            (PreviewKind::Update, 4, 30)
        );
        assert_eq!(preview.rows.len(), PREVIEW_ROWS);
        assert_eq!(preview.rows[0], ["0", "7"]);
        assert_eq!(
            rows_of(&[&[(1, 3, -1, None)]]),
            None,
            "a retraction alone is no row"
        );
    }
}
