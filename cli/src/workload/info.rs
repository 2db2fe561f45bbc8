//! A job's description: what `reprise list` shows and what every command checks against.

use reprise_engine::{EngineError, ParamSpec, Params};
use serde::Serialize;

/// What `reprise list` shows about a workload.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct WorkloadInfo {
    /// Name on the command line.
    pub name: &'static str,
    /// One line: what it computes.
    pub summary: &'static str,
    /// The job's parameters, with defaults (a `params!` struct's `SPECS`).
    pub params: &'static [ParamSpec],
    /// The generator's parameters: they shape only generated input, so a run from a file,
    /// a topic or a log refuses them.
    pub generator_params: &'static [ParamSpec],
    /// The dataset it reads (`reprise gen` name).
    pub dataset: &'static str,
    /// The dataset file format: CSV header and JSON fields.
    pub input_format: &'static str,
    /// Default epoch length in milliseconds of event time.
    pub default_epoch_ms: u64,
    /// Whether its events fit CSV's flat rows (nested events need JSON lines).
    pub csv: bool,
    /// Whether its output is windowed: its output file can hold `final` rows.
    pub windowed: bool,
}

impl WorkloadInfo {
    /// The job's and the generator's parameters, from `name=value` overrides: each known,
    /// of its type and in its range, the rest defaulted.
    pub fn parse_params(&self, overrides: &[String]) -> Result<Params, EngineError> {
        Params::parse(self.params.iter().chain(self.generator_params), overrides)
    }

    /// Whether `name` is one of the generator's parameters.
    pub fn is_generator_param(&self, name: &str) -> bool {
        self.generator_params.iter().any(|p| p.name == name)
    }
}
