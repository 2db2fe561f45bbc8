//! `reprise compare`: throughput across configurations, each run in a fresh process,
//! repeats interleaved, every digest checked before a number is reported.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::ValueEnum;
use reprise_engine::log::scan;
use serde::Serialize;

use crate::args::{CompareArgs, Recording};
use crate::commands::{EXIT_MISMATCH, find_workload, print};
use crate::report::human_rate;
use crate::verdict::Verdict;

/// One configuration of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Config {
    /// The build's name (`--build NAME=PATH`); empty for this binary alone.
    pub build: String,
    pub workload: String,
    /// `engine` or `baseline`.
    pub kind: &'static str,
    pub workers: usize,
    pub epoch_ms: u64,
    pub record: Recording,
    /// The swept parameters' values (`--param NAME=V1,V2`), as NAME=VALUE.
    pub params: Vec<String>,
    /// The input when `--input` lists several (`gen` for the generated one); else empty.
    pub input: String,
}

impl Config {
    pub fn label(&self) -> String {
        let build = if self.build.is_empty() {
            String::new()
        } else {
            format!("[{}] ", self.build)
        };
        build + &self.kind_label() + &self.axes()
    }

    /// The swept parameters and input, as the labels show them (` window_ms=500 in=gen`).
    pub fn axes(&self) -> String {
        let mut text: String = self.params.iter().map(|p| format!(" {p}")).collect();
        if !self.input.is_empty() {
            text += &format!(" in={}", self.input);
        }
        text
    }

    fn kind_label(&self) -> String {
        match self.kind {
            "baseline" => format!("{} baseline, {} ms", self.workload, self.epoch_ms),
            _ => format!(
                "{} w{} {}ms{}",
                self.workload,
                self.workers,
                self.epoch_ms,
                self.record.suffix()
            ),
        }
    }

    /// The configuration's key in the chart: the same for every workload.
    pub fn setting(&self) -> String {
        format!(
            "{}{}w {}ms{}{}",
            if self.build.is_empty() {
                String::new()
            } else {
                format!("{} ", self.build)
            },
            self.workers,
            self.epoch_ms,
            self.record.suffix(),
            self.axes()
        )
    }

    /// What must give the same digest: the workload, epoch length, swept parameters and
    /// input (whatever the workers, recording, baseline or build).
    fn digest_key(&self) -> DigestKey {
        (
            self.workload.clone(),
            self.epoch_ms,
            self.params.clone(),
            self.input.clone(),
        )
    }

    /// The same configuration on another build.
    fn on(&self, build: &str) -> Config {
        Config {
            build: build.to_string(),
            ..self.clone()
        }
    }
}

/// See [`Config::digest_key`].
type DigestKey = (String, u64, Vec<String>, String);

/// Whether `--param NAME=V1,V2` is an axis (a comma list) rather than one value.
fn is_axis(param: &str) -> bool {
    param
        .split_once('=')
        .is_some_and(|(_, value)| value.contains(','))
}

/// The parameters every run gets.
fn fixed_params(params: &[String]) -> Vec<String> {
    params.iter().filter(|p| !is_axis(p)).cloned().collect()
}

/// Every combination of the swept parameters' values, each a list of NAME=VALUE (one
/// empty list when nothing is swept).
fn param_axes(params: &[String]) -> Vec<Vec<String>> {
    let mut combinations = vec![Vec::new()];
    for axis in params.iter().filter(|p| is_axis(p)) {
        let (name, values) = axis.split_once('=').expect("an axis has a value");
        combinations = combinations
            .into_iter()
            .flat_map(|chosen| {
                values.split(',').map(move |value| {
                    let mut chosen = chosen.clone();
                    chosen.push(format!("{}={}", name.trim(), value.trim()));
                    chosen
                })
            })
            .collect();
    }
    combinations
}

/// A binary to run the configurations with.
#[derive(Clone, Debug)]
struct Build {
    name: String,
    path: PathBuf,
}

/// The `--build NAME=PATH` list, or this binary alone.
fn builds(args: &CompareArgs) -> anyhow::Result<Vec<Build>> {
    if args.builds.is_empty() {
        let path = std::env::current_exe().context("finding the reprise executable")?;
        return Ok(vec![Build {
            name: String::new(),
            path,
        }]);
    }
    let mut builds: Vec<Build> = Vec::new();
    for spec in &args.builds {
        let Some((name, path)) = spec
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
        else {
            bail!(
                "--build takes NAME=PATH (a name for the report, the binary to run), got `{spec}`"
            );
        };
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!(
                "--build {name}: {} is not a file (give the path of a built binary, e.g. target/release/reprise)",
                path.display()
            );
        }
        if builds.iter().any(|b| b.name == name) {
            bail!("--build {name} is given twice: every build needs its own name");
        }
        builds.push(Build {
            name: name.to_string(),
            path,
        });
    }
    Ok(builds)
}

/// One run, as written to results.json and results.csv.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    #[serde(flatten)]
    pub config: Config,
    pub repeat: usize,
    pub events: u64,
    pub elapsed_s: f64,
    pub events_per_sec: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub peak_memory_bytes: u64,
    pub log_bytes: u64,
    pub digest: String,
    /// The digest equals the reference (the baseline's, or the first configuration's).
    pub digest_ok: bool,
    pub error: String,
}

/// Per configuration: medians and the checks.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub config: Config,
    pub runs: usize,
    pub median_events_per_sec: f64,
    pub min_events_per_sec: f64,
    pub max_events_per_sec: f64,
    /// Median events/s over the same configuration on 1 worker.
    pub speedup_over_1_worker: Option<f64>,
    /// Median events/s over the baseline's (the COST view).
    pub ratio_to_baseline: Option<f64>,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
    pub peak_memory_bytes: u64,
    pub log_bytes_per_event: Option<f64>,
    /// `ok`, `WRONG DIGEST`, `FAILED`, or (another build's) `RESULTS CHANGED`.
    pub status: &'static str,
    /// With `RESULTS CHANGED`: the first epoch whose output differs from the reference
    /// build's.
    pub first_changed_epoch: Option<u64>,
    /// Against the first build (for the other builds) and against `--against`.
    pub verdicts: Vec<Verdict>,
}

/// Where and how the comparison ran.
#[derive(Clone, Debug, Serialize)]
pub struct Meta {
    pub command: String,
    pub git_revision: String,
    pub engine_version: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub date_unix_s: u64,
    pub events: u64,
    pub repeat: usize,
}

/// What results.json holds.
#[derive(Debug, Serialize)]
pub struct Results {
    pub meta: Meta,
    pub summary: Vec<Summary>,
    pub runs: Vec<Run>,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn median(values: &[f64]) -> f64 {
    crate::verdict::median(values).unwrap_or(0.0)
}

/// Runs one configuration in a fresh process of `exe`; with `keep_log`, records its input
/// (and digests) there whatever the configuration says (in full for a `full` one). A
/// `replay` configuration replays `replaying`, a full log of its run.
fn run_once(
    config: &Config,
    args: &CompareArgs,
    number: usize,
    scratch: &Path,
    exe: &Path,
    keep_log: Option<&Path>,
    replaying: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let mut command = Command::new(exe);
    if let Some(log) = replaying {
        command.arg("replay").arg(log);
        command.args(["--workers", &config.workers.to_string()]);
        command.args(["--format", "json", "--quiet"]);
        return report_of(command);
    }
    command.args(["run", &config.workload, "--format", "json", "--quiet"]);
    let input = match (config.input.as_str(), args.input.as_slice()) {
        ("", [only]) => only.as_str(),
        ("", _) => "gen",
        (input, _) => input,
    };
    match input {
        "gen" => command.args(["--events", &args.events.to_string()]),
        file => command.args(["--input", file]),
    };
    command.args(["--epoch-ms", &config.epoch_ms.to_string()]);
    command.args(["--workers", &config.workers.to_string()]);
    for param in fixed_params(&args.params).iter().chain(&config.params) {
        command.args(["--param", param]);
    }
    let log = scratch.join(format!("run-{number}.rlog"));
    if let Some(keep) = keep_log {
        command.arg("--record").arg(keep);
        if config.record == Recording::Full {
            command.arg("--record-full");
        }
    } else if config.kind == "baseline" {
        command.arg("--baseline-only");
    } else if config.record != Recording::Off {
        command.arg("--record").arg(&log);
        if config.record == Recording::Full {
            command.arg("--record-full");
        }
    }
    #[cfg(feature = "test-hooks")]
    if args.inject_mismatch == Some(number) {
        command.arg("--corrupt-digest");
    }
    let report = report_of(command);
    let _ = std::fs::remove_file(&log);
    report
}

/// Runs `command` (a run or a replay with `--format json`) and reads its report.
fn report_of(mut command: Command) -> anyhow::Result<serde_json::Value> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .context("starting a run")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "{}",
            stderr
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("the run failed")
        );
    }
    serde_json::from_slice(&output.stdout).context("reading the run's JSON report")
}

pub fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if args.repeat == 0 || args.workers.contains(&0) {
        bail!("--repeat and every --workers value must be at least 1");
    }
    let builds = builds(&args)?;
    let mut configs = Vec::new();
    for name in &args.workloads {
        let workload = find_workload(name)?;
        let epochs = if args.epoch_ms.is_empty() {
            vec![workload.info().default_epoch_ms]
        } else {
            args.epoch_ms.clone()
        };
        let inputs = if args.input.len() > 1 {
            args.input.clone()
        } else {
            vec![String::new()]
        };
        for (&epoch_ms, params, input) in epochs
            .iter()
            .flat_map(|e| param_axes(&args.params).into_iter().map(move |p| (e, p)))
            .flat_map(|(e, p)| inputs.iter().map(move |i| (e, p.clone(), i)))
        {
            // The first build's configurations first: the first of a workload, epoch
            // length, swept parameters and input is its digest reference.
            for build in &builds {
                let config = |kind, workers, record| Config {
                    build: build.name.clone(),
                    workload: name.clone(),
                    kind,
                    workers,
                    epoch_ms,
                    record,
                    params: params.clone(),
                    input: input.clone(),
                };
                if args.baseline {
                    configs.push(config("baseline", 1, Recording::Off));
                }
                for &workers in &args.workers {
                    for record in &args.record {
                        configs.push(config("engine", workers, *record));
                    }
                }
            }
        }
    }
    let exe_of = |config: &Config| -> &Path {
        &builds
            .iter()
            .find(|b| b.name == config.build)
            .expect("every configuration is of a build")
            .path
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let scratch = args.output.join("scratch");
    std::fs::create_dir_all(&scratch)?;

    // A replayed configuration replays a full log of its own run, recorded once, untimed.
    let mut replay_logs: BTreeMap<&Config, PathBuf> = BTreeMap::new();
    for config in configs.iter().filter(|c| c.record == Recording::Replay) {
        let log = scratch.join(format!("replay-{}.rlog", replay_logs.len()));
        eprintln!("recording {} in full, for its replays", config.label());
        let recording = Config {
            record: Recording::Full,
            ..config.clone()
        };
        run_once(
            &recording,
            &args,
            0,
            &scratch,
            exe_of(config),
            Some(&log),
            None,
        )
        .with_context(|| format!("recording the log that {} replays", config.label()))?;
        replay_logs.insert(config, log);
    }

    // Interleave: every repeat runs every configuration, starting one later each time, so
    // a machine that drifts (heat, neighbours) does not favour one configuration.
    let total = configs.len() * args.repeat;
    let started = Instant::now();
    let mut runs = Vec::new();
    let mut number = 0;
    for repeat in 0..args.repeat {
        for i in 0..configs.len() {
            let config = &configs[(i + repeat) % configs.len()];
            number += 1;
            eprintln!(
                "[{number}/{total}] {} (repeat {}; {:.0} s elapsed)",
                config.label(),
                repeat + 1,
                started.elapsed().as_secs_f64()
            );
            let replaying = replay_logs.get(config).map(PathBuf::as_path);
            let run = match run_once(
                config,
                &args,
                number,
                &scratch,
                exe_of(config),
                None,
                replaying,
            ) {
                Ok(report) => {
                    let f = |k: &str| report[k].as_f64().unwrap_or(0.0);
                    Run {
                        config: config.clone(),
                        repeat,
                        events: report["events"].as_u64().unwrap_or(0),
                        elapsed_s: f("elapsed_s"),
                        events_per_sec: f("events_per_sec"),
                        latency_p50_ms: f("latency_p50_ms"),
                        latency_p99_ms: f("latency_p99_ms"),
                        peak_memory_bytes: report["peak_memory_bytes"].as_u64().unwrap_or(0),
                        log_bytes: report["record"]["bytes"].as_u64().unwrap_or(0),
                        digest: report["digest"].as_str().unwrap_or_default().to_string(),
                        digest_ok: false,
                        error: String::new(),
                    }
                }
                Err(error) => Run {
                    config: config.clone(),
                    repeat,
                    events: 0,
                    elapsed_s: 0.0,
                    events_per_sec: 0.0,
                    latency_p50_ms: 0.0,
                    latency_p99_ms: 0.0,
                    peak_memory_bytes: 0,
                    log_bytes: 0,
                    digest: String::new(),
                    digest_ok: false,
                    error: format!("{error:#}"),
                },
            };
            runs.push(run);
        }
    }

    // Every run of a workload and epoch length must produce the same digest: the
    // baseline's when there is one, else the first configuration's.
    let mut reference: BTreeMap<DigestKey, String> = BTreeMap::new();
    for config in &configs {
        let key = config.digest_key();
        if reference.contains_key(&key) {
            continue;
        }
        let mut digests: Vec<&str> = runs
            .iter()
            .filter(|r| &r.config == config && r.error.is_empty())
            .map(|r| r.digest.as_str())
            .collect();
        // The digest most runs of the reference configuration agree on.
        digests.sort();
        if let Some(most) = digests.chunk_by(|a, b| a == b).max_by_key(|c| c.len()) {
            reference.insert(key, most[0].to_string());
        }
    }
    for run in &mut runs {
        let key = run.config.digest_key();
        run.digest_ok = run.error.is_empty() && reference.get(&key) == Some(&run.digest);
    }

    let mut summary = summarize(&configs, &runs, &builds[0].name);
    // Where a build's results changed, the first epoch that differs: one more run of the
    // reference configuration and of the changed one, each recorded, digests compared.
    for changed in summary.iter_mut().filter(|s| s.status == RESULTS_CHANGED) {
        let config = &changed.config;
        let engine = Config {
            kind: "engine",
            record: Recording::Off,
            ..config.clone()
        };
        let reference = engine.on(&builds[0].name);
        eprintln!(
            "{}: results differ from build {}'s; recording one run of each to find the first epoch that differs",
            config.label(),
            builds[0].name
        );
        let logs = [&reference, &engine]
            .map(|c| scratch.join(format!("{}.rlog", c.label().replace(['/', ' '], "_"))));
        number += 1;
        let recorded = run_once(
            &reference,
            &args,
            number,
            &scratch,
            exe_of(&reference),
            Some(&logs[0]),
            None,
        )
        .and_then(|_| {
            run_once(
                &engine,
                &args,
                number + 1,
                &scratch,
                exe_of(&engine),
                Some(&logs[1]),
                None,
            )
        });
        number += 1;
        if recorded.is_ok()
            && let (Ok(expected), Ok(actual)) = (scan(&logs[0]), scan(&logs[1]))
        {
            changed.first_changed_epoch = expected
                .digests
                .first_divergence(&actual.digests)
                .map(|d| d.epoch);
        }
        for log in &logs {
            let _ = std::fs::remove_file(log);
        }
    }
    for log in replay_logs.values() {
        let _ = std::fs::remove_file(log);
    }
    let _ = std::fs::remove_dir(&scratch);
    let rates = |config: &Config| -> Vec<f64> {
        runs.iter()
            .filter(|r| &r.config == config && r.digest_ok)
            .map(|r| r.events_per_sec)
            .collect()
    };
    let saved = args.against.as_deref().map(SavedRuns::read).transpose()?;
    let statuses: BTreeMap<Config, &'static str> = summary
        .iter()
        .map(|s| (s.config.clone(), s.status))
        .collect();
    for s in summary.iter_mut().filter(|s| s.status == "ok") {
        let reference = s.config.on(&builds[0].name);
        if reference != s.config && statuses.get(&reference) == Some(&"ok") {
            let against = format!("build {}", builds[0].name);
            s.verdicts
                .push(Verdict::of(&rates(&s.config), &rates(&reference), against));
        }
        if let (Some(saved), Some(dir)) = (&saved, &args.against) {
            let against = format!("saved {}", dir.display());
            let digest = runs
                .iter()
                .find(|r| r.config == s.config)
                .map(|r| r.digest.as_str());
            match saved.find(&s.config) {
                Some((_, digests)) if digest.is_some_and(|d| !digests.iter().any(|x| x == d)) => {
                    s.verdicts.push(Verdict::results_changed(against))
                }
                Some((rates_saved, _)) => {
                    s.verdicts
                        .push(Verdict::of(&rates(&s.config), rates_saved, against))
                }
                None => {}
            }
        }
    }
    let meta = Meta {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        git_revision: reprise_engine::GIT_REVISION.to_string(),
        engine_version: reprise_engine::ENGINE_VERSION.to_string(),
        cpu_model: cpu_model(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        date_unix_s: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        events: args.events,
        repeat: args.repeat,
    };
    let results = Results {
        meta,
        summary,
        runs,
    };
    write_results(&args.output, &results)?;
    let table = table(&results.summary);
    print(&table)?;
    let changed = results
        .summary
        .iter()
        .filter(|s| s.status == RESULTS_CHANGED)
        .count();
    let failed = results.summary.iter().filter(|s| s.status != "ok").count() - changed;
    eprintln!(
        "wrote {}/results.json, results.csv, throughput.svg, README.md",
        args.output.display()
    );
    if changed > 0 {
        eprintln!(
            "error: {changed} configuration(s) of another build than `{}` give different results (RESULTS CHANGED): no speed verdict for them",
            builds[0].name
        );
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} configuration(s) produced a wrong digest or failed: their numbers do not count"
        );
    }
    let saved_changed = results
        .summary
        .iter()
        .flat_map(|s| &s.verdicts)
        .filter(|v| v.verdict == "RESULTS CHANGED")
        .count();
    if saved_changed > 0 {
        eprintln!(
            "error: {saved_changed} configuration(s) give different results from the saved comparison (RESULTS CHANGED)"
        );
    }
    let too_slow: Vec<String> = match args.fail_above {
        Some(limit) => results
            .summary
            .iter()
            .flat_map(|s| s.verdicts.iter().map(move |v| (s, v)))
            .filter(|(_, v)| v.slower_than(limit))
            .map(|(s, v)| format!("{}: {}", s.config.label(), v.describe()))
            .collect(),
        None => Vec::new(),
    };
    for slow in &too_slow {
        eprintln!("error: slower beyond --fail-above: {slow}");
    }
    if failed + changed + saved_changed > 0 || !too_slow.is_empty() {
        return Ok(ExitCode::from(EXIT_MISMATCH));
    }
    Ok(ExitCode::SUCCESS)
}

/// The runs of a saved comparison (`--against DIR`): events/s of the runs whose digest
/// was right, and every digest, per configuration.
struct SavedRuns {
    runs: BTreeMap<Config, (Vec<f64>, Vec<String>)>,
}

impl SavedRuns {
    fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("results.json");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} (give --against the folder of an earlier `reprise compare -o`)",
                path.display()
            )
        })?;
        let results: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a comparison's results.json", path.display()))?;
        let mut runs: BTreeMap<Config, (Vec<f64>, Vec<String>)> = BTreeMap::new();
        for run in results["runs"].as_array().into_iter().flatten() {
            let text = |k: &str| run[k].as_str().unwrap_or_default().to_string();
            let number = |k: &str| run[k].as_u64().unwrap_or(0);
            let config = Config {
                build: text("build"),
                workload: text("workload"),
                kind: if text("kind") == "baseline" {
                    "baseline"
                } else {
                    "engine"
                },
                workers: number("workers") as usize,
                epoch_ms: number("epoch_ms"),
                record: Recording::from_json(&run["record"]),
                params: run["params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect(),
                input: text("input"),
            };
            let entry = runs.entry(config).or_default();
            if run["digest_ok"].as_bool() == Some(true) {
                entry.0.push(run["events_per_sec"].as_f64().unwrap_or(0.0));
                entry.1.push(text("digest"));
            }
        }
        Ok(Self { runs })
    }

    /// The saved runs of `config`: of the build of the same name, or of the saved
    /// comparison's only build.
    fn find(&self, config: &Config) -> Option<&(Vec<f64>, Vec<String>)> {
        if let Some(found) = self.runs.get(config) {
            return Some(found);
        }
        let mut builds = self.runs.keys().map(|c| c.build.as_str());
        let first = builds.next()?;
        if builds.all(|build| build == first) {
            self.runs.get(&config.on(first))
        } else {
            None
        }
    }
}

/// The status of a configuration of another build whose runs agree with each other but
/// not with the reference build.
pub const RESULTS_CHANGED: &str = "RESULTS CHANGED";

fn summarize(configs: &[Config], runs: &[Run], reference_build: &str) -> Vec<Summary> {
    let medians: BTreeMap<&Config, f64> = configs
        .iter()
        .map(|c| {
            let rates: Vec<f64> = runs
                .iter()
                .filter(|r| &r.config == c && r.digest_ok)
                .map(|r| r.events_per_sec)
                .collect();
            (c, median(&rates))
        })
        .collect();
    configs
        .iter()
        .map(|config| {
            let mine: Vec<&Run> = runs.iter().filter(|r| &r.config == config).collect();
            let good: Vec<&Run> = mine.iter().copied().filter(|r| r.digest_ok).collect();
            let agree = mine.windows(2).all(|w| w[0].digest == w[1].digest);
            let status = if mine.iter().any(|r| !r.error.is_empty()) {
                "FAILED"
            } else if good.is_empty() && agree && config.build != reference_build {
                RESULTS_CHANGED
            } else if good.len() < mine.len() {
                "WRONG DIGEST"
            } else {
                "ok"
            };
            let rates: Vec<f64> = good.iter().map(|r| r.events_per_sec).collect();
            let median_rate = medians[config];
            let one_worker = Config {
                workers: 1,
                ..config.clone()
            };
            let baseline = Config {
                kind: "baseline",
                workers: 1,
                record: Recording::Off,
                ..config.clone()
            };
            let ratio = |other: &Config| {
                medians
                    .get(other)
                    .filter(|m| **m > 0.0 && median_rate > 0.0)
                    .map(|m| median_rate / m)
            };
            let p50: Vec<f64> = good.iter().map(|r| r.latency_p50_ms).collect();
            let p99: Vec<f64> = good.iter().map(|r| r.latency_p99_ms).collect();
            let per_event: Vec<f64> = good
                .iter()
                .filter(|r| r.events > 0)
                .map(|r| r.log_bytes as f64 / r.events as f64)
                .collect();
            Summary {
                config: config.clone(),
                runs: mine.len(),
                median_events_per_sec: median_rate,
                min_events_per_sec: rates
                    .iter()
                    .copied()
                    .fold(f64::INFINITY, f64::min)
                    .min(median_rate),
                max_events_per_sec: rates.iter().copied().fold(0.0, f64::max),
                speedup_over_1_worker: (config.kind == "engine")
                    .then(|| ratio(&one_worker))
                    .flatten(),
                ratio_to_baseline: (config.kind == "engine")
                    .then(|| ratio(&baseline))
                    .flatten(),
                latency_p50_ms: median(&p50),
                latency_p99_ms: median(&p99),
                peak_memory_bytes: good.iter().map(|r| r.peak_memory_bytes).max().unwrap_or(0),
                log_bytes_per_event: matches!(config.record, Recording::On | Recording::Full)
                    .then(|| median(&per_event)),
                status,
                first_changed_epoch: None,
                verdicts: Vec::new(),
            }
        })
        .collect()
}

fn table(summary: &[Summary]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| configuration | events/s (median, min-max) | vs 1 worker | vs baseline | epoch latency p50 / p99 | peak memory | log bytes/event | digest | verdict |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|---|---|");
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
    for s in summary {
        let _ = writeln!(
            text,
            "| {} | {} ({:.2}-{:.2}M) | {} | {} | {} | {:.0} MiB | {} | {} | {} |",
            s.config.label(),
            human_rate(s.median_events_per_sec),
            s.min_events_per_sec / 1e6,
            s.max_events_per_sec / 1e6,
            ratio(s.speedup_over_1_worker),
            ratio(s.ratio_to_baseline),
            if s.config.kind == "baseline" {
                "-".to_string()
            } else {
                format!("{:.1} / {:.1} ms", s.latency_p50_ms, s.latency_p99_ms)
            },
            s.peak_memory_bytes as f64 / 1048576.0,
            s.log_bytes_per_event
                .map_or("-".to_string(), crate::report::bytes_per_event),
            match s.first_changed_epoch {
                Some(epoch) => format!("{} at epoch {epoch}", s.status),
                None => s.status.to_string(),
            },
            if s.verdicts.is_empty() {
                "-".to_string()
            } else {
                s.verdicts
                    .iter()
                    .map(Verdict::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            },
        );
    }
    text
}

fn write_results(dir: &Path, results: &Results) -> anyhow::Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .with_context(|| format!("writing {}", dir.join(name).display()))
    };
    write(
        "results.json",
        serde_json::to_string_pretty(results)?.as_bytes(),
    )?;

    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "build",
        "workload",
        "kind",
        "workers",
        "epoch_ms",
        "record",
        "params",
        "input",
        "repeat",
        "events",
        "elapsed_s",
        "events_per_sec",
        "latency_p50_ms",
        "latency_p99_ms",
        "peak_memory_bytes",
        "log_bytes",
        "digest",
        "digest_ok",
        "error",
        "git_revision",
        "engine_version",
        "cpu_model",
        "cpus",
        "command",
    ])?;
    let m = &results.meta;
    for r in &results.runs {
        let c = &r.config;
        csv.write_record([
            c.build.clone(),
            c.workload.clone(),
            c.kind.to_string(),
            c.workers.to_string(),
            c.epoch_ms.to_string(),
            // As `--record` spells it.
            c.record
                .to_possible_value()
                .expect("every recording mode has a name")
                .get_name()
                .to_string(),
            c.params.join(" "),
            c.input.clone(),
            r.repeat.to_string(),
            r.events.to_string(),
            format!("{:.6}", r.elapsed_s),
            format!("{:.0}", r.events_per_sec),
            format!("{:.3}", r.latency_p50_ms),
            format!("{:.3}", r.latency_p99_ms),
            r.peak_memory_bytes.to_string(),
            r.log_bytes.to_string(),
            r.digest.clone(),
            r.digest_ok.to_string(),
            r.error.clone(),
            m.git_revision.clone(),
            m.engine_version.clone(),
            m.cpu_model.clone(),
            m.cpus.to_string(),
            m.command.clone(),
        ])?;
    }
    write(
        "results.csv",
        &csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?,
    )?;
    write(
        "throughput.svg",
        crate::chart::throughput_svg(&results.summary)?.as_bytes(),
    )?;
    let sweep = crate::chart::sweep_svg(&results.summary)?;
    if let Some(svg) = &sweep {
        write("sweep.svg", svg.as_bytes())?;
    }

    let readme = format!(
        "# reprise compare\n\nCommand: `{}`\n\nMachine: {} ({} CPUs); git {}; engine {}; {} events per run, {} runs per configuration, interleaved, each in a fresh process.\n\n{}\n![throughput](throughput.svg)\n{}\nEvery run's digest was checked against the baseline's (or, without `--baseline`, the first configuration's) for the same workload and epoch length; a configuration marked WRONG DIGEST or FAILED has no number that counts. \"vs 1 worker\" divides medians of the same configuration; \"vs baseline\" divides by the hand-written single-threaded baseline's median (the COST view: above 1, the engine beats one well-written thread). Latencies are the medians over runs of each run's epoch latency percentiles; peak memory is the largest peak resident memory of a run. `results.json` and `results.csv` hold every run.\n",
        m.command,
        m.cpu_model,
        m.cpus,
        m.git_revision,
        m.engine_version,
        m.events,
        m.repeat,
        table(&results.summary),
        if sweep.is_some() {
            "\n![sweep](sweep.svg)\n"
        } else {
            ""
        }
    );
    write("README.md", readme.as_bytes())
}
