//! `reprise compare`: throughput across configurations, each run in a fresh process,
//! repeats interleaved, every digest checked before a number is reported.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::args::{CompareArgs, OnOff};
use crate::commands::{EXIT_MISMATCH, find_workload, print};
use crate::report::human_rate;

/// One configuration of the comparison.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Config {
    pub workload: String,
    /// `engine` or `baseline`.
    pub kind: &'static str,
    pub workers: usize,
    pub epoch_ms: u64,
    pub record: bool,
}

impl Config {
    pub fn label(&self) -> String {
        match self.kind {
            "baseline" => format!("{} baseline, {} ms", self.workload, self.epoch_ms),
            _ => format!(
                "{} w{} {}ms{}",
                self.workload,
                self.workers,
                self.epoch_ms,
                if self.record { " rec" } else { "" }
            ),
        }
    }

    /// The configuration's key in the chart: the same for every workload.
    pub fn setting(&self) -> String {
        format!(
            "{}w {}ms{}",
            self.workers,
            self.epoch_ms,
            if self.record { " rec" } else { "" }
        )
    }
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
    /// `ok`, `WRONG DIGEST` or `FAILED`.
    pub status: &'static str,
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

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs one configuration in a fresh process.
fn run_once(
    config: &Config,
    args: &CompareArgs,
    number: usize,
    scratch: &Path,
) -> anyhow::Result<serde_json::Value> {
    let exe = std::env::current_exe().context("finding the reprise executable")?;
    let mut command = Command::new(exe);
    command.args(["run", &config.workload, "--format", "json", "--quiet"]);
    match &args.input {
        Some(input) => command.arg("--input").arg(input),
        None => command.args(["--events", &args.events.to_string()]),
    };
    command.args(["--epoch-ms", &config.epoch_ms.to_string()]);
    command.args(["--workers", &config.workers.to_string()]);
    for param in &args.params {
        command.args(["--param", param]);
    }
    let log = scratch.join(format!("run-{number}.rlog"));
    if config.kind == "baseline" {
        command.arg("--baseline-only");
    } else if config.record {
        command.arg("--record").arg(&log);
    }
    #[cfg(feature = "test-hooks")]
    if args.inject_mismatch == Some(number) {
        command.arg("--corrupt-digest");
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .context("starting a run")?;
    let _ = std::fs::remove_file(&log);
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
    let mut configs = Vec::new();
    for name in &args.workloads {
        let workload = find_workload(name)?;
        let epochs = if args.epoch_ms.is_empty() {
            vec![workload.info().default_epoch_ms]
        } else {
            args.epoch_ms.clone()
        };
        for &epoch_ms in &epochs {
            if args.baseline {
                configs.push(Config {
                    workload: name.clone(),
                    kind: "baseline",
                    workers: 1,
                    epoch_ms,
                    record: false,
                });
            }
            for &workers in &args.workers {
                for record in &args.record {
                    let record = *record == OnOff::On;
                    configs.push(Config {
                        workload: name.clone(),
                        kind: "engine",
                        workers,
                        epoch_ms,
                        record,
                    });
                }
            }
        }
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let scratch = args.output.join("scratch");
    std::fs::create_dir_all(&scratch)?;

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
            let run = match run_once(config, &args, number, &scratch) {
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
    let _ = std::fs::remove_dir(&scratch);

    // Every run of a workload and epoch length must produce the same digest: the
    // baseline's when there is one, else the first configuration's.
    let mut reference: BTreeMap<(String, u64), String> = BTreeMap::new();
    for config in &configs {
        let key = (config.workload.clone(), config.epoch_ms);
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
        let key = (run.config.workload.clone(), run.config.epoch_ms);
        run.digest_ok = run.error.is_empty() && reference.get(&key) == Some(&run.digest);
    }

    let summary = summarize(&configs, &runs);
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
    let failed = results.summary.iter().filter(|s| s.status != "ok").count();
    eprintln!(
        "wrote {}/results.json, results.csv, throughput.svg, README.md",
        args.output.display()
    );
    if failed > 0 {
        eprintln!(
            "error: {failed} configuration(s) produced a wrong digest or failed: their numbers do not count"
        );
        return Ok(ExitCode::from(EXIT_MISMATCH));
    }
    Ok(ExitCode::SUCCESS)
}

fn summarize(configs: &[Config], runs: &[Run]) -> Vec<Summary> {
    let medians: BTreeMap<&Config, f64> = configs
        .iter()
        .map(|c| {
            let mut rates: Vec<f64> = runs
                .iter()
                .filter(|r| &r.config == c && r.digest_ok)
                .map(|r| r.events_per_sec)
                .collect();
            (c, median(&mut rates))
        })
        .collect();
    configs
        .iter()
        .map(|config| {
            let mine: Vec<&Run> = runs.iter().filter(|r| &r.config == config).collect();
            let good: Vec<&Run> = mine.iter().copied().filter(|r| r.digest_ok).collect();
            let status = if mine.iter().any(|r| !r.error.is_empty()) {
                "FAILED"
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
                record: false,
                ..config.clone()
            };
            let ratio = |other: &Config| {
                medians
                    .get(other)
                    .filter(|m| **m > 0.0 && median_rate > 0.0)
                    .map(|m| median_rate / m)
            };
            let mut p50: Vec<f64> = good.iter().map(|r| r.latency_p50_ms).collect();
            let mut p99: Vec<f64> = good.iter().map(|r| r.latency_p99_ms).collect();
            let mut per_event: Vec<f64> = good
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
                latency_p50_ms: median(&mut p50),
                latency_p99_ms: median(&mut p99),
                peak_memory_bytes: good.iter().map(|r| r.peak_memory_bytes).max().unwrap_or(0),
                log_bytes_per_event: config.record.then(|| median(&mut per_event)),
                status,
            }
        })
        .collect()
}

fn table(summary: &[Summary]) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| configuration | events/s (median, min-max) | vs 1 worker | vs baseline | epoch latency p50 / p99 | peak memory | log bytes/event | digest |"
    );
    let _ = writeln!(text, "|---|---|---|---|---|---|---|---|");
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.2}x"));
    for s in summary {
        let _ = writeln!(
            text,
            "| {} | {} ({:.2}-{:.2}M) | {} | {} | {} | {:.0} MiB | {} | {} |",
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
                .map_or("-".to_string(), |b| format!("{b:.1}")),
            s.status,
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
        "workload",
        "kind",
        "workers",
        "epoch_ms",
        "record",
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
            c.workload.clone(),
            c.kind.to_string(),
            c.workers.to_string(),
            c.epoch_ms.to_string(),
            c.record.to_string(),
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

    let readme = format!(
        "# reprise compare\n\nCommand: `{}`\n\nMachine: {} ({} CPUs); git {}; engine {}; {} events per run, {} runs per configuration, interleaved, each in a fresh process.\n\n{}\n![throughput](throughput.svg)\n\nEvery run's digest was checked against the baseline's (or, without `--baseline`, the first configuration's) for the same workload and epoch length; a configuration marked WRONG DIGEST or FAILED has no number that counts. \"vs 1 worker\" divides medians of the same configuration; \"vs baseline\" divides by the hand-written single-threaded baseline's median (the COST view: above 1, the engine beats one well-written thread). Latencies are the medians over runs of each run's epoch latency percentiles; peak memory is the largest peak resident memory of a run. `results.json` and `results.csv` hold every run.\n",
        m.command,
        m.cpu_model,
        m.cpus,
        m.git_revision,
        m.engine_version,
        m.events,
        m.repeat,
        table(&results.summary)
    );
    write("README.md", readme.as_bytes())
}
