//! Checks that compare whole runs: the engine against the hand-written baseline, or the
//! engine on one worker count against another. At the first epoch whose digests differ,
//! both sides run again with their output written, and the rows of that epoch are
//! compared: the user sees which rows differ, not only that a digest does.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use reprise_engine::digest::{DigestLog, Divergence};
use reprise_engine::output::{Emit, OutputSpec};
use reprise_engine::{Epoch, RunConfig, io::FileFormat};
use serde::Serialize;

/// At most this many rows of each sign are shown.
const ROWS_SHOWN: usize = 20;

/// Runs one side of a comparison: with `Some((output, until))`, writes its output updates
/// to `output`, and may stop after epoch `until`. Returns its per-epoch digests.
pub(crate) type RunSide<'a> =
    Box<dyn Fn(Option<(&OutputSpec, Epoch)>) -> anyhow::Result<DigestLog> + 'a>;

/// One side of a comparison.
pub(crate) struct Side<'a> {
    /// What it is: `baseline`, `engine`, `3 workers`.
    pub label: String,
    /// Its digests, if it has already run.
    pub digests: Option<DigestLog>,
    /// Runs it (again).
    pub run: RunSide<'a>,
}

/// The rows of the first differing epoch, as JSON objects (the record's fields and `diff`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RowDiff {
    /// The epoch.
    pub epoch: Epoch,
    /// The side taken as expected.
    pub expected: String,
    /// The side that differs from it.
    pub produced: String,
    /// Rows only the expected side has, sorted.
    pub missing: Vec<String>,
    /// Rows only the produced side has, sorted.
    pub unexpected: Vec<String>,
}

impl RowDiff {
    /// `-` expected rows the produced side lacks, `+` rows it has in excess, at most
    /// [`ROWS_SHOWN`] of each, with the counts.
    pub(crate) fn to_text(&self) -> String {
        let mut text = format!(
            "rows at epoch {}: {} missing, {} unexpected (- {}, + {})\n",
            self.epoch,
            self.missing.len(),
            self.unexpected.len(),
            self.expected,
            self.produced
        );
        for (sign, rows) in [("-", &self.missing), ("+", &self.unexpected)] {
            for row in rows.iter().take(ROWS_SHOWN) {
                text += &format!("{sign} {row}\n");
            }
            if rows.len() > ROWS_SHOWN {
                text += &format!("{sign} ... and {} more\n", rows.len() - ROWS_SHOWN);
            }
        }
        text
    }
}

/// What a comparison found.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Epochs with output on either side of the first comparison that differs, or of the last.
    pub epochs_compared: usize,
    /// The first side that differs from the first, and where.
    pub divergence: Option<(String, Divergence)>,
    /// The rows of that epoch.
    pub rows: Option<RowDiff>,
    /// Every side's digests, in order.
    pub digests: Vec<DigestLog>,
}

/// Runs every side that has not run, compares each with the first, and at the first
/// difference, the rows of that epoch.
pub(crate) fn compare(sides: &[Side<'_>], scratch: &Path) -> anyhow::Result<Outcome> {
    let mut digests = Vec::new();
    for side in sides {
        digests.push(match &side.digests {
            Some(d) => d.clone(),
            None => (side.run)(None).with_context(|| format!("running the {}", side.label))?,
        });
    }
    let mut outcome = Outcome {
        epochs_compared: 0,
        divergence: None,
        rows: None,
        digests: Vec::new(),
    };
    for (index, side) in sides.iter().enumerate().skip(1) {
        outcome.epochs_compared = digests[0].len().max(digests[index].len());
        if let Some(divergence) = digests[0].first_divergence(&digests[index]) {
            outcome.rows = Some(rows_at(&sides[0], side, divergence.epoch, scratch)?);
            outcome.divergence = Some((side.label.clone(), divergence));
            break;
        }
    }
    outcome.digests = digests;
    Ok(outcome)
}

/// Runs both sides again, up to `epoch`, writing their output, and compares its rows there.
pub(crate) fn rows_at(
    expected: &Side<'_>,
    produced: &Side<'_>,
    epoch: Epoch,
    scratch: &Path,
) -> anyhow::Result<RowDiff> {
    std::fs::create_dir_all(scratch)
        .with_context(|| format!("creating the scratch folder {}", scratch.display()))?;
    let rows = |side: &Side<'_>, name: &str| -> anyhow::Result<BTreeSet<String>> {
        let path = scratch.join(name);
        let spec = OutputSpec::file(&path, FileFormat::JsonLines, Emit::Updates);
        (side.run)(Some((&spec, epoch)))
            .with_context(|| format!("running the {} again for its rows", side.label))?;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let _ = std::fs::remove_file(&path);
        // The writer puts `epoch` and `kind` first; the rest is the record and its diff.
        let prefix = format!("{{\"epoch\":{epoch},\"kind\":\"update\",");
        Ok(text
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .map(|rest| format!("{{{rest}"))
            .collect())
    };
    let expected_rows = rows(expected, "expected.jsonl")?;
    let produced_rows = rows(produced, "produced.jsonl")?;
    Ok(RowDiff {
        epoch,
        expected: expected.label.clone(),
        produced: produced.label.clone(),
        missing: expected_rows.difference(&produced_rows).cloned().collect(),
        unexpected: produced_rows.difference(&expected_rows).cloned().collect(),
    })
}

/// The settings of a check's rerun: `config`'s epochs and backpressure on `workers`,
/// writing `output` if given, and nothing else (no log, no cluster, no interrupt).
pub(crate) fn rerun_config(
    config: &RunConfig,
    workers: usize,
    output: Option<&OutputSpec>,
) -> RunConfig {
    let mut again = RunConfig::new(workers, config.epochs.epoch_ms);
    again.epochs = config.epochs;
    again.max_epochs_ahead = config.max_epochs_ahead;
    again.output = output.cloned();
    again
}
