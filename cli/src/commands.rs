//! The commands `list`, `run` and `gen`, and the entry point that dispatches every command.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::io::{Address, kafka_bounds, output_spec};
use crate::registry::Registry;
use crate::workload::{Input, Workload, log_header};
use reprise_engine::cluster::ClusterSpec;
use reprise_engine::log::RecordSpec;
use reprise_engine::{Clock, EngineError, Progress, RunConfig};
use reprise_kafka::TopicWriter;

use crate::args::{Check, Cli, ClockArg, Command, GenArgs, ReportFormat, RunArgs};
use crate::check::Side;
use crate::report::{CheckReport, OutputReport, RecordReport, RunReport};
use crate::{check, cluster, compare, replay, shrink};

/// Exit code when a check finds a different result.
pub(crate) const EXIT_MISMATCH: u8 = 1;
/// Exit code for every other error.
const EXIT_ERROR: u8 = 2;

/// The program's jobs, set once by [`main`].
static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();

/// The program's jobs.
pub(crate) fn registry() -> &'static Registry {
    REGISTRY.get_or_init(Registry::new)
}

/// Runs the whole command line (list, run, gen, replay, inspect, shrink, compare, cluster) for the
/// jobs of `registry`, and returns the exit code: 0 success, 1 a check found a different
/// result, 2 any other error.
pub fn main(registry: Registry) -> ExitCode {
    let _ = REGISTRY.set(registry);
    let cli = Cli::parse();
    cluster::stop_with_launcher();
    let result = match cli.command {
        Command::List { format } => list(format),
        Command::Run(args) => run(args),
        Command::Gen(args) => generate(args),
        Command::Replay(args) => replay::replay(args, interrupt_flag()),
        Command::Inspect(args) => replay::inspect(args),
        Command::Shrink(args) => shrink::shrink(args),
        Command::Compare(args) => compare::compare(args),
        Command::Cluster(args) => cluster::cluster(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Set by Ctrl-C: the run stops, keeping what completed. A second Ctrl-C exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler_flag = Arc::clone(&flag);
    let _ = ctrlc::set_handler(move || {
        if handler_flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the completed epochs (Ctrl-C again to quit at once)");
    });
    flag
}

/// Runs generate this many events unless `--events` says otherwise.
const DEFAULT_EVENTS: u64 = 1_000_000;

/// The cluster this process belongs to, if `--processes` is above 1.
pub(crate) fn cluster_spec(
    args: &crate::args::ClusterArgs,
    fingerprint: String,
) -> anyhow::Result<Option<ClusterSpec>> {
    if args.processes <= 1 {
        if args.process != 0 || args.hosts.is_some() {
            anyhow::bail!("--process and --hosts need --processes 2 or more");
        }
        return Ok(None);
    }
    let addresses: Vec<String> = match &args.hosts {
        None => (0..args.processes)
            .map(|p| format!("127.0.0.1:{}", 2101 + p))
            .collect(),
        Some(hosts) => {
            let text = if Path::new(hosts).is_file() {
                std::fs::read_to_string(hosts)
                    .with_context(|| format!("reading the hosts file {hosts}"))?
            } else {
                hosts.replace(',', "\n")
            };
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        }
    };
    if addresses.len() != args.processes {
        anyhow::bail!(
            "--processes {} but --hosts lists {} addresses (one host:port per process)",
            args.processes,
            addresses.len()
        );
    }
    if args.process >= args.processes {
        anyhow::bail!(
            "--process {} is out of range: processes are numbered 0 to {}",
            args.process,
            args.processes - 1
        );
    }
    Ok(Some(ClusterSpec {
        process: args.process,
        addresses,
        fingerprint,
        connect_timeout: Duration::from_secs(args.connect_timeout),
    }))
}

pub(crate) fn default_workers(workers: Option<usize>) -> usize {
    workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

pub(crate) fn find_workload(name: &str) -> anyhow::Result<&'static dyn Workload> {
    registry().find(name).with_context(|| {
        let names: Vec<_> = registry().all().iter().map(|w| w.info().name).collect();
        format!("unknown workload `{name}`; available: {}", names.join(", "))
    })
}

/// One job as `list --format json` shows it.
#[derive(serde::Serialize)]
struct ListEntry {
    #[serde(flatten)]
    info: &'static crate::workload::WorkloadInfo,
    output_columns: Vec<String>,
    partition_by: &'static [&'static str],
}

fn list(format: ReportFormat) -> anyhow::Result<ExitCode> {
    let entries: Vec<ListEntry> = registry()
        .all()
        .iter()
        .map(|w| ListEntry {
            info: w.info(),
            output_columns: w.output_columns(),
            partition_by: w.partition_by(),
        })
        .collect();
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&entries)? + "\n",
        ReportFormat::Text => {
            let mut text = String::new();
            for ListEntry {
                info,
                output_columns,
                partition_by,
            } in entries
            {
                text += &format!("{}\n    {}\n", info.name, info.summary);
                text += &format!("    dataset: {} ({})\n", info.dataset, info.input_format);
                text += &format!(
                    "    output:  epoch,kind,{},diff\n",
                    output_columns.join(",")
                );
                if !partition_by.is_empty() {
                    text += &format!(
                        "    partitioned by {} (--output DIR/)\n",
                        partition_by.join(",")
                    );
                }
                text += &format!("    default --epoch-ms {}\n", info.default_epoch_ms);
                let params = info.params.iter().map(|p| ("", p));
                let generator = info.generator_params.iter().map(|p| ("generator: ", p));
                for (kind, p) in params.chain(generator) {
                    let range = (p.range)().map_or(String::new(), |r| format!(" ({r})"));
                    text += &format!(
                        "    --param {:<26} {kind}{}{range}\n",
                        format!("{}={}", p.name, p.default),
                        p.help
                    );
                }
                text += "\n";
            }
            text
        }
    };
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let workload = find_workload(&args.workload)?;
    let info = workload.info();
    let params = info.parse_params(&args.params)?;
    let workers = default_workers(args.workers);
    let epoch_ms = args.epoch_ms.unwrap_or(info.default_epoch_ms);
    if args.check.is_some() && args.clock == ClockArg::Processing {
        anyhow::bail!(
            "--check needs --clock event: processing-time epochs come from the wall clock; record the run with --record and check it with `reprise replay`"
        );
    }
    if args.check == Some(Check::Recording) {
        anyhow::bail!(
            "--check recording compares a replay with its recording: record with --record, then `reprise replay LOG`"
        );
    }
    let generated = Input::Generated {
        events: args.events.unwrap_or(DEFAULT_EVENTS),
        seed: args.seed,
    };
    let bounds = kafka_bounds(args.events, args.until_idle);
    let input = crate::io::input(
        args.input.as_deref(),
        args.input_format,
        info,
        generated,
        bounds,
    )?;
    // The generator's parameters do nothing on input it does not generate: say so
    // rather than accept them and report them as if they had shaped the run.
    if !matches!(input, Input::Generated { .. }) {
        let given: Vec<&str> = args
            .params
            .iter()
            .filter_map(|p| p.split_once('=').map(|(name, _)| name.trim()))
            .filter(|name| info.is_generator_param(name))
            .collect();
        if !given.is_empty() {
            let (shapes, it) = if given.len() == 1 {
                ("shapes", "it")
            } else {
                ("shape", "them")
            };
            let names: Vec<String> = given.iter().map(|n| format!("`{n}`")).collect();
            anyhow::bail!(
                "{} only {shapes} generated input; with --input {it} would do nothing: drop {it}",
                names.join(", ")
            );
        }
    }
    if args.check.is_some() && matches!(input, Input::File { path: None, .. } | Input::Kafka { .. })
    {
        anyhow::bail!(
            "--check runs the same input again, so it needs a file or generated input, not standard input or a Kafka topic (record the run with --record, then check the log with `reprise replay LOG --check ...`)"
        );
    }
    if args.check.is_some() && args.cluster.processes > 1 {
        anyhow::bail!(
            "--check compares runs within one process: drop --processes, or record the run and check the log with `reprise replay LOG --check ...`"
        );
    }
    if args.until_idle.is_some() && !matches!(input, Input::Kafka { .. }) {
        anyhow::bail!(
            "--until-idle ends a run on a Kafka topic; give --input kafka://HOST:PORT/TOPIC"
        );
    }
    let mut config = RunConfig::new(workers, epoch_ms);
    config.max_epochs_ahead = args.max_epochs_ahead;
    config.output = output_spec(
        &args.output,
        args.emit,
        workload,
        args.partition_by.as_deref(),
    )?;
    config.interrupt = Some(interrupt_flag());
    #[cfg(feature = "test-hooks")]
    config.inject_panic_at(args.inject_panic_at_epoch);
    let fingerprint = format!(
        "run {} [{}] workers={workers} epoch_ms={epoch_ms} clock={:?} input={} output={} record={}",
        info.name,
        params.to_overrides().join(" "),
        args.clock,
        input.describe(),
        args.output.is_some(),
        args.record.is_some(),
    );
    config.cluster = cluster_spec(&args.cluster, fingerprint)?;
    if config.cluster.is_some() && matches!(input, Input::File { path: None, .. }) {
        anyhow::bail!(
            "--input - (standard input) can feed only a single process: give every process the same file instead"
        );
    }
    config.epochs.clock = match args.clock {
        ClockArg::Event => Clock::Event,
        ClockArg::Processing => Clock::Processing,
    };
    if let Some(path) = &args.record {
        let mut header = log_header(info, &params, &input, &config.epochs, workers);
        header.processes = args.cluster.processes;
        config.record = Some(RecordSpec {
            path: path.clone(),
            header,
            compress: !args.no_compress,
            full: args.record_full,
        });
        config.record_output = args.record_output;
    }

    if args.baseline_only {
        let baseline =
            workload.baseline(&params, &input, &config.epochs, config.output.as_ref())?;
        let mut report =
            RunReport::of_baseline(info.name, &params, input.describe(), epoch_ms, &baseline);
        if let (Some(path), Some(stats)) = (&args.output, baseline.output) {
            report.output = Some(OutputReport {
                path: path.display().to_string(),
                update_rows: stats.update_rows,
                final_rows: stats.final_rows,
                files: stats.files,
            });
        }
        return print_report(report, &args).map(|()| ExitCode::SUCCESS);
    }

    let mut progress = ProgressDisplay::new(args.quiet);
    let result = workload.run(&params, &input, &config, &mut |p| progress.update(p));
    progress.finish();
    let result = result.map_err(|e| annotate(e, &args))?;

    if result.process != 0 {
        // Process 0 gathers the whole run's digests and counts, and reports them.
        eprintln!(
            "process {} finished; process 0 reports the run",
            result.process
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = RunReport::new(
        info.name,
        &params,
        input.describe(),
        workers * args.cluster.processes,
        epoch_ms,
        &result,
    );
    report.processes = args.cluster.processes;
    if let (Some(path), Some(stats)) = (&args.output, result.output) {
        report.output = Some(OutputReport {
            path: path.display().to_string(),
            update_rows: stats.update_rows,
            final_rows: stats.final_rows,
            files: stats.files,
        });
    }
    if let Some(stats) = &result.record {
        report.record = Some(RecordReport {
            path: stats.path.display().to_string(),
            bytes: stats.bytes,
        });
    }
    let mut code = ExitCode::SUCCESS;
    if let Some(check) = &args.check {
        report.check = Some(check_run(
            check, workload, &params, &input, &config, &result,
        )?);
        if report.check.as_ref().is_some_and(|c| !c.matches) {
            code = ExitCode::from(EXIT_MISMATCH);
        }
    }
    let divergence = report.check.as_ref().and_then(|c| c.first_divergence);
    print_report(report, &args)?;
    if let Some(divergence) = divergence {
        eprintln!("error: the output differs at {divergence}");
    }
    Ok(code)
}

/// Checks a finished run: against the baseline, or on other worker counts.
fn check_run(
    check: &Check,
    workload: &dyn Workload,
    params: &reprise_engine::Params,
    input: &Input,
    config: &RunConfig,
    result: &reprise_engine::RunResult,
) -> anyhow::Result<CheckReport> {
    // A rerun: this run's settings on `workers`, writing its rows where asked.
    let rerun = |workers: usize, output: Option<&reprise_engine::output::OutputSpec>| {
        let again = check::rerun_config(config, workers, output);
        workload
            .run(params, input, &again, &mut |_| {})
            .map(|r| r.digests)
    };
    let scratch = std::env::temp_dir().join(format!("reprise-check-{}", std::process::id()));
    let report = match check {
        Check::Recording => unreachable!("refused before the run"),
        Check::Baseline => {
            let baseline = workload.baseline(params, input, &config.epochs, None)?;
            let sides = [
                Side {
                    label: "baseline".into(),
                    digests: Some(baseline.digests.clone()),
                    run: Box::new(|out| {
                        let output = out.map(|(spec, _)| spec);
                        Ok(workload
                            .baseline(params, input, &config.epochs, output)?
                            .digests)
                    }),
                },
                Side {
                    label: "engine".into(),
                    digests: Some(result.digests.clone()),
                    run: Box::new(|out| Ok(rerun(config.workers, out.map(|(spec, _)| spec))?)),
                },
            ];
            let mut report = CheckReport::of("baseline".into(), check::compare(&sides, &scratch)?);
            report.baseline_events_per_sec = Some(baseline.events_per_sec());
            report.baseline_digest = Some(baseline.digests.run_digest().to_string());
            report
        }
        Check::Workers(counts) => {
            let sides: Vec<Side> = counts
                .iter()
                .map(|&workers| Side {
                    label: format!("run on {}", crate::report::plural(workers, "worker")),
                    digests: (workers == config.workers).then(|| result.digests.clone()),
                    run: Box::new(move |out| Ok(rerun(workers, out.map(|(spec, _)| spec))?)),
                })
                .collect();
            CheckReport::of(check.to_string(), check::compare(&sides, &scratch)?)
        }
    };
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(report)
}

fn print_report(report: RunReport, args: &RunArgs) -> anyhow::Result<()> {
    #[cfg(feature = "test-hooks")]
    let report = RunReport {
        digest: match args.corrupt_digest {
            true => format!("{:016x}", u64::from_str_radix(&report.digest, 16)? ^ 1),
            false => report.digest,
        },
        ..report
    };
    match args.format {
        ReportFormat::Text => print(&report.to_text()),
        ReportFormat::Json => print(&(serde_json::to_string(&report)? + "\n")),
    }
}

/// Adds what the user can do next to an engine error: a hint, and the command that
/// replays what was recorded.
fn annotate(error: EngineError, args: &RunArgs) -> anyhow::Error {
    let hint = match &error {
        EngineError::Input { at, .. } if at == "reading" => {
            "the input stopped; the epochs before it are complete"
        }
        EngineError::Input { .. } => {
            "the epochs before it are complete; fix or remove that record of the input and run again"
        }
        EngineError::WorkerPanic { .. } => {
            "this is a bug in the workload or in Reprise; please report it with the command line and the input log"
        }
        EngineError::Config(_) => "see `reprise run --help` and `reprise list`",
        EngineError::PeerLost { .. } => "the other processes' output says why it stopped",
        _ => "",
    };
    let mut message = error.to_string();
    if !hint.is_empty() {
        message += &format!("\nhint: {hint}");
    }
    if let Some(log) = &args.record
        && log.exists()
    {
        message += &format!(
            "\nthe input log keeps every completed epoch; reproduce with:\n  {} replay {}",
            crate::workload::program_name(),
            shell_quote(&log.display().to_string())
        );
    }
    anyhow::anyhow!(message).context(format!("running workload `{}`", args.workload))
}

/// Quotes a path for a shell command line when it needs it.
fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn generate(args: GenArgs) -> anyhow::Result<ExitCode> {
    let all = registry().all();
    let Some(workload) = all
        .iter()
        .find(|w| w.info().dataset == args.dataset || w.info().name == args.dataset)
    else {
        let names: Vec<_> = all
            .iter()
            .map(|w| format!("{} (for {})", w.info().dataset, w.info().name))
            .collect();
        bail!(
            "unknown dataset `{}`; available: {}",
            args.dataset,
            names.join(", ")
        );
    };
    let params = workload.info().parse_params(&args.params)?;
    let address = Address::parse(&args.output)?;
    let format = address.format(args.format, workload.info().csv)?;
    if let Address::Kafka(url) = address {
        let mut writer = TopicWriter::connect(&url)?;
        let partitions = writer.partitions() as u64;
        // Record i to partition i mod N: each partition is in generation (time) order.
        workload.generate_messages(
            &params,
            args.events,
            args.seed,
            format,
            &mut |i, payload| writer.send(Some((i % partitions) as i32), None, payload),
        )?;
        writer.flush()?;
        eprintln!(
            "wrote {} {} records to {url} ({partitions} partitions)",
            writer.sent(),
            workload.info().dataset
        );
        return Ok(ExitCode::SUCCESS);
    }
    let file = std::fs::File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let written = match workload.generate(&params, args.events, args.seed, &mut out, format) {
        Ok(written) => written,
        Err(error) => {
            // Leave no half-written dataset behind.
            drop(out);
            let _ = std::fs::remove_file(&args.output);
            return Err(error.into());
        }
    };
    out.flush()
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "wrote {written} {} records to {}",
        workload.info().dataset,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on standard error, shown only on a terminal and only after a second.
pub(crate) struct ProgressDisplay {
    enabled: bool,
    bar: Option<ProgressBar>,
}

impl ProgressDisplay {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    pub(crate) fn update(&mut self, progress: &Progress) {
        if !self.enabled || progress.elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar =
                ProgressBar::with_draw_target(progress.total_events, ProgressDrawTarget::stderr());
            let template = if progress.total_events.is_some() {
                "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} events ({rate}, eta {eta})"
            } else {
                "{elapsed_precise} {human_pos} events ({rate})"
            };
            // indicatif's own {per_sec} prints `1476454.9947/s`; this prints `1.48M events/s`.
            let rate = |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&crate::report::human_rate(state.per_sec()));
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .expect("valid template")
                    .with_key("rate", rate)
                    .progress_chars("=> "),
            );
            bar
        });
        bar.set_position(progress.events);
    }

    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
