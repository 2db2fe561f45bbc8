//! Command-line arguments (clap derive), before validation.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  reprise list
  reprise run filter-count --events 10000000 --workers 2
  reprise run wordcount --param window_ms=5000 --output counts.csv --check baseline
  reprise gen events --events 1000 --seed 7 -o events.csv
  reprise run filter-count --input events.csv --format json
  reprise run wordcount --clock processing --record run.rlog
  reprise replay run.rlog --workers 3
  reprise inspect run.rlog
  reprise cluster --processes 2 run wordcount --workers 2
  reprise compare filter-count wordcount --workers 1,2 --baseline -o results";

/// Reprise: a dataflow engine with deterministic, checkable output.
#[derive(Debug, Parser)]
#[command(
    name = "reprise",
    version,
    about = "Reprise: a dataflow engine with deterministic, replayable, checkable output",
    after_help = EXAMPLES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the workloads, what they compute, their parameters and input formats.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Run a workload on generated data or a dataset file, and report throughput and digest.
    Run(RunArgs),
    /// Write a generated dataset to a CSV or JSON-lines file.
    Gen(GenArgs),
    /// Replay a recorded input log and check every epoch's output digest against the recording.
    Replay(ReplayArgs),
    /// Show an input log's header and per-epoch events, sizes and digests.
    Inspect(InspectArgs),
    /// Reduce a failing log to a 1-minimal one: removing any one of its remaining events
    /// makes the failure go away.
    Shrink(ShrinkArgs),
    /// Start a cluster of processes on this machine (loopback), run a job on it, and report.
    Cluster(ClusterCommand),
    /// Compare throughput across configurations: every combination in a fresh process,
    /// repeated and interleaved, every digest checked; writes a table, JSON, CSV and a chart.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  reprise compare filter-count wordcount --events 10000000 --workers 1,2 --record off,on --repeat 3 --baseline -o bench-results/today"
)]
pub struct CompareArgs {
    /// Workloads to compare (see `reprise list`).
    #[arg(required = true)]
    pub workloads: Vec<String>,
    /// Generated events per run.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: u64,
    /// Read every run's input from this file instead of generating it (for a job without
    /// a generator, or your own dataset; `--events` then does not apply). A comma list is
    /// an axis, `gen` the generated input: `--input gen,bids.jsonl` runs every
    /// configuration on both.
    #[arg(long, value_name = "FILE|gen,...", value_delimiter = ',')]
    pub input: Vec<String>,
    /// Worker counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub workers: Vec<usize>,
    /// Epoch lengths in ms, comma-separated [default: each workload's].
    #[arg(long, value_delimiter = ',')]
    pub epoch_ms: Vec<u64>,
    /// Recording to an input log: off, on (generated input by index), full (every event
    /// kept, `--record-full`), replay (`reprise replay` of a full log of the same
    /// configuration, recorded once before the timed runs), or several (off,on,full,replay).
    #[arg(long, value_delimiter = ',', default_value = "off")]
    pub record: Vec<Recording>,
    /// Runs per configuration (interleaved across configurations).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also run each workload's hand-written baseline (the COST view).
    #[arg(long)]
    pub baseline: bool,
    /// Workload parameter for every run, NAME=VALUE (repeatable); NAME=V1,V2,... is an
    /// axis, like --workers: every configuration runs with each value.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE[,VALUE...]")]
    pub params: Vec<String>,
    /// A build to compare, NAME=PATH of a `reprise` binary (or of your own job's binary);
    /// repeatable. Every configuration runs on every build, interleaved; the first build is
    /// the reference: a build whose digests differ from it is marked RESULTS CHANGED (with
    /// the first differing epoch) and gets no speed verdict. [default: this binary]
    #[arg(long = "build", value_name = "NAME=PATH")]
    pub builds: Vec<String>,
    /// A saved comparison (its folder, holding results.json) to compare with: per
    /// configuration, the change of the median with a 95% bootstrap interval and a verdict
    /// (faster, slower, no significant change).
    #[arg(long, value_name = "DIR")]
    pub against: Option<PathBuf>,
    /// Exit with code 1 when a verdict is "slower" by more than PCT (e.g. 5%), against
    /// the first build or --against: for CI.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub fail_above: Option<f64>,
    /// Folder for results.json, results.csv, throughput.svg and README.md.
    #[arg(long, short = 'o', default_value = "compare-results")]
    pub output: PathBuf,
    /// Test hook: corrupt the digest reported by run number N (1-based).
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true)]
    pub inject_mismatch: Option<usize>,
}

/// Whether a compared run records its input, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Recording {
    Off,
    /// `--record` (generated input by index).
    On,
    /// `--record --record-full`.
    Full,
    /// `reprise replay` of a `--record-full` log of the same run.
    Replay,
}

impl Recording {
    /// As a label shows it: nothing, ` rec`, ` rec full`.
    pub fn suffix(self) -> &'static str {
        match self {
            Recording::Off => "",
            Recording::On => " rec",
            Recording::Full => " rec full",
            Recording::Replay => " replay",
        }
    }

    /// From a saved results.json: a name, or (before `full`) a bool.
    pub fn from_json(value: &serde_json::Value) -> Self {
        match (value.as_bool(), value.as_str()) {
            (Some(true), _) | (_, Some("on")) => Recording::On,
            (_, Some("full")) => Recording::Full,
            (_, Some("replay")) => Recording::Replay,
            _ => Recording::Off,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reprise run wordcount --record run.rlog\n  reprise replay run.rlog --workers 3\n  reprise replay run.rlog --until-epoch 20 --output first-20.csv\n  reprise replay tests/golden/      (every log in the folder, one line each)\n  reprise replay run.rlog --bless   (after a deliberate change of results)"
)]
pub struct ReplayArgs {
    /// The input log (written by `reprise run --record`), or a folder: every `*.rlog` in it.
    pub log: PathBuf,
    /// What to check the replay against: `recording` (the default: the recorded digests),
    /// `baseline` (the hand-written baseline on the same input) or `workers=1,2,4` (this
    /// replay on each worker count). Exit code 1 on a difference, with the rows that differ
    /// at the first differing epoch.
    #[arg(long, conflicts_with = "bless", value_name = "WHAT", num_args = 0..=1, default_missing_value = "recording")]
    pub check: Option<Check>,
    /// Rewrite the recorded digests (only those) with this build's, after a deliberate change of
    /// semantics; prints which epochs changed. The recorded input is never rewritten.
    #[arg(long)]
    pub bless: bool,
    /// Worker threads [default: the number of CPU cores].
    #[arg(long, short = 'w')]
    pub workers: Option<usize>,
    /// Replay epochs up to and including this one, and compare only those.
    #[arg(long, value_name = "EPOCH")]
    pub until_epoch: Option<u64>,
    /// Write the replay's output updates to FILE (.csv or .json/.jsonl).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which rows --output holds.
    #[arg(long, value_enum, default_value_t = EmitArg::Both)]
    pub emit: EmitArg,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  reprise shrink run.rlog -o small.rlog --until panic\n  reprise shrink run.rlog -o small.rlog --until workers=1,3\n  reprise shrink run.rlog -o small.rlog --until \"exec './check.sh {}'\""
)]
pub struct ShrinkArgs {
    /// The failing input log.
    pub log: PathBuf,
    /// Where to write the shrunk log.
    #[arg(short = 'o', long = "output", value_name = "SMALL.rlog")]
    pub output: PathBuf,
    /// The failure to keep: `panic` (the same panic message), `baseline` (engine and
    /// baseline differ), `workers=1,N` (the output depends on the worker count),
    /// `exec 'CMD {}'` (CMD exits non-zero on the candidate log, `{}` its path), or
    /// `diverges` (the replay differs from the recording; the log is cut after the first
    /// differing epoch, and no event is removed: that would change what the recorded
    /// digests describe).
    #[arg(long, value_name = "FAILURE")]
    pub until: crate::shrink::Failure,
    /// Workers of each candidate's replay [default: the recording's].
    #[arg(long, short = 'w')]
    pub workers: Option<usize>,
    /// Seconds a candidate may run; one that runs longer counts as not failing.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// No progress lines.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Running as one process of a timely cluster.
#[derive(Debug, Args, Clone)]
pub struct ClusterArgs {
    /// Number of processes in the cluster (each runs --workers threads).
    #[arg(long, default_value_t = 1, help_heading = "Cluster")]
    pub processes: usize,
    /// This process's index, 0 to processes-1. Process 0 prints the report and writes --output.
    #[arg(long, default_value_t = 0, help_heading = "Cluster")]
    pub process: usize,
    /// A file with one host:port per line, or a comma-separated list, in process order
    /// [default: 127.0.0.1 from port 2101 up].
    #[arg(long, value_name = "FILE|LIST", help_heading = "Cluster")]
    pub hosts: Option<String>,
    /// Seconds to wait for the other processes at start-up.
    #[arg(
        long,
        default_value_t = 30,
        value_name = "SECONDS",
        help_heading = "Cluster"
    )]
    pub connect_timeout: u64,
}

/// `reprise cluster`: try a cluster on this machine.
#[derive(Debug, Args)]
#[command(
    after_help = "Everything after the options is a `reprise run` (or `reprise replay`) command line, run by every process.\nExamples:\n  reprise cluster --processes 2 run filter-count --workers 2 --events 10000000\n  reprise cluster --processes 3 replay run.rlog --workers 1"
)]
pub struct ClusterCommand {
    /// Processes to start on this machine (loopback ports).
    #[arg(long, default_value_t = 2)]
    pub processes: usize,
    /// The command every process runs: `run WORKLOAD ...` or `replay LOG ...`.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "run|replay ARGS"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The input log.
    pub log: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Print the recorded events instead, one per line, as a dataset `run --input` reads
    /// back (CSV with a header where the workload's events fit it, else JSON lines).
    #[arg(long)]
    pub events: bool,
    /// With --events: only the events of this epoch.
    #[arg(long, value_name = "EPOCH", requires = "events")]
    pub epoch: Option<u64>,
    /// With --events: csv or json (JSON lines).
    #[arg(long, value_enum, requires = "events")]
    pub events_format: Option<DataFormat>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Every workload parameter can be set with --param NAME=VALUE; `reprise list` shows them."
)]
pub struct RunArgs {
    /// The workload (see `reprise list`).
    pub workload: String,
    /// Number of generated events [default: 1000000]; with a Kafka input, stop after N records.
    #[arg(long)]
    pub events: Option<u64>,
    /// Seed of the generated dataset.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads [default: the number of CPU cores].
    #[arg(long, short = 'w')]
    pub workers: Option<usize>,
    /// Epoch length in milliseconds of event time [default: the workload's].
    #[arg(long)]
    pub epoch_ms: Option<u64>,
    /// Read events from a dataset file (.csv, .json, .jsonl), `-` for standard input, or a Kafka topic: kafka://HOST:PORT/TOPIC[?group=G&start=earliest|latest|P:O,...&timeout_ms=MS].
    #[arg(long, value_name = "FILE|-|kafka://...")]
    pub input: Option<PathBuf>,
    /// Format of standard input and of Kafka messages [default: CSV where the workload has it, else JSON] (files are recognised by extension).
    #[arg(long, value_enum)]
    pub input_format: Option<DataFormat>,
    /// With a Kafka input: end the run once no record has arrived for MS milliseconds.
    #[arg(long, value_name = "MS")]
    pub until_idle: Option<u64>,
    /// Write the output updates (and final rows of windows) to FILE (.csv or .json/.jsonl); to DIR/ as CSV files, one per partition (DIR/COL=VALUE/.../part-0.csv; the directory must be new or empty); or as JSON messages to kafka://HOST:PORT/TOPIC[?partitions=N] (created if missing).
    #[arg(long, value_name = "FILE|DIR/|kafka://...")]
    pub output: Option<PathBuf>,
    /// Which rows --output holds: every update, final window results, or both.
    #[arg(long, value_enum, default_value_t = EmitArg::Both)]
    pub emit: EmitArg,
    /// The output columns a directory output (--output DIR/) is partitioned by, in order
    /// [default: the workload's own, as `reprise list` shows; none: one file].
    #[arg(long, value_name = "COLUMN,...", value_delimiter = ',')]
    pub partition_by: Option<Vec<String>>,
    /// Also check every epoch's digest: `baseline` (the hand-written baseline on the same
    /// input) or `workers=1,2,4` (the same input on each worker count). Exit code 1 on a
    /// difference, with the rows that differ at the first differing epoch.
    #[arg(long, value_name = "WHAT")]
    pub check: Option<Check>,
    /// Workload parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Record the input, as it enters the dataflow, to an input log that `reprise replay`
    /// reproduces. Generated input is recorded by index (a replay makes it again with the
    /// workload's generator, and checks it): a few bytes a block, next to no cost.
    #[arg(long, value_name = "LOG")]
    pub record: Option<PathBuf>,
    /// Keep generated events themselves in the log, not their indices: a self-contained
    /// log (a golden log, say) that replays without the generator, and faster.
    #[arg(long, requires = "record")]
    pub record_full: bool,
    /// Also record each epoch's output rows in the log: a replay that differs then prints
    /// the rows expected and the rows produced at the first differing epoch.
    #[arg(long, requires = "record")]
    pub record_output: bool,
    /// Store the input log's blocks uncompressed (default: LZ4).
    #[arg(long)]
    pub no_compress: bool,
    /// Epochs by event time (deterministic) or processing time (wall clock; reproducible only from a log).
    #[arg(long, value_enum, default_value_t = ClockArg::Event)]
    pub clock: ClockArg,
    /// Run the workload's hand-written single-threaded baseline instead of the dataflow (same report; with --output, the same output file).
    #[arg(long, conflicts_with_all = ["check", "record"])]
    pub baseline_only: bool,
    /// Test hook: report a wrong digest (used to test `reprise compare`).
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true)]
    pub corrupt_digest: bool,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Test hook: make worker 0 panic when its input reaches this epoch.
    #[cfg(feature = "test-hooks")]
    #[arg(long, hide = true, value_name = "EPOCH")]
    pub inject_panic_at_epoch: Option<u64>,
    /// How many epochs the input may run ahead of the completed output.
    #[arg(long, default_value_t = 4)]
    pub max_epochs_ahead: u64,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// The dataset (events, flows, visits, lines) or a workload name.
    pub dataset: String,
    /// Number of events.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file (.csv, .json, .jsonl, .ndjson), or a Kafka topic kafka://HOST:PORT/TOPIC[?partitions=N] (created if missing; record i goes to partition i mod N, one record per message).
    #[arg(long, short = 'o', value_name = "FILE|kafka://...")]
    pub output: PathBuf,
    /// Message format for a Kafka topic [default: CSV where the dataset has it, else JSON].
    #[arg(long, value_enum)]
    pub format: Option<DataFormat>,
    /// Generator parameter, NAME=VALUE (repeatable; see `reprise list`).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Csv,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    Updates,
    Final,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ClockArg {
    /// epoch = event time / epoch length
    Event,
    /// a new epoch every --epoch-ms of wall-clock time
    Processing,
}

/// What a run or a replay is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// The digests recorded in the log (a replay's default).
    Recording,
    /// The workload's hand-written single-threaded baseline.
    Baseline,
    /// The same input on each of these worker counts.
    Workers(Vec<usize>),
}

impl std::fmt::Display for Check {
    /// As written on the command line: `recording`, `baseline`, `workers=1,3`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Check::Recording => f.write_str("recording"),
            Check::Baseline => f.write_str("baseline"),
            Check::Workers(counts) => {
                let list: Vec<String> = counts.iter().map(|n| n.to_string()).collect();
                write!(f, "workers={}", list.join(","))
            }
        }
    }
}

impl std::str::FromStr for Check {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "recording" => Ok(Check::Recording),
            "baseline" => Ok(Check::Baseline),
            _ => {
                let list = text.strip_prefix("workers=").ok_or_else(|| {
                    format!("`{text}`: expected recording, baseline or workers=1,2,4")
                })?;
                let counts = list
                    .split(',')
                    .map(|n| match n.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(format!(
                            "`{n}` in `{text}` is not a worker count (1 or more)"
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if counts.len() < 2 {
                    return Err(format!(
                        "`{text}`: give two or more worker counts to compare, as workers=1,3"
                    ));
                }
                Ok(Check::Workers(counts))
            }
        }
    }
}

/// `5%` or `5` as 0.05.
fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%');
    match number.parse::<f64>() {
        Ok(pct) if pct.is_finite() && pct >= 0.0 => Ok(pct / 100.0),
        _ => Err(format!("`{text}` is not a percentage (e.g. 5%)")),
    }
}
