//! `reprise replay` and `reprise inspect`: reproduce a recorded run, or look inside a log.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use reprise_engine::digest::Divergence;
use std::path::Path;

use crate::workload::{Input, recorded_epochs};
use reprise_engine::digest::DigestLog;
use reprise_engine::log::{LogScan, RecordedClock, bless, scan};
use reprise_engine::{Epoch, RunConfig};
use serde::Serialize;

use crate::args::{Check, InspectArgs, ReplayArgs, ReportFormat};
use crate::check::{RowDiff, Side};
use crate::commands::{EXIT_MISMATCH, ProgressDisplay, default_workers, find_workload, print};
use crate::report::{human_bytes, human_rate};
use reprise_engine::output::OutputSpec;

/// What `reprise replay` reports.
#[derive(Debug, Serialize)]
struct ReplayReport {
    log: String,
    workload: String,
    workers: usize,
    recorded_workers: usize,
    events: u64,
    epochs_replayed: usize,
    epochs_compared: usize,
    updates_compared: u64,
    /// What the replay was checked against: `recording`, `baseline`, `workers=1,3`.
    against: String,
    /// `None` when nothing could be compared (see `unverified`).
    matches: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_divergence: Option<Divergence>,
    /// The side that differs (with `--check baseline` or `workers=...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    differing: Option<String>,
    /// The rows of the first differing epoch (with `--check baseline` or `workers=...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<RowDiff>,
    /// Why the replay could not be checked, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    unverified: Option<String>,
    truncated_at: Option<u64>,
    recorded_failure: Option<String>,
    elapsed_s: f64,
    events_per_sec: f64,
    latency_p50_ms: f64,
    latency_p99_ms: f64,
    peak_memory_bytes: Option<u64>,
    digest: String,
}

/// One replayed log: the report and this build's digests.
struct Replayed {
    report: ReplayReport,
    recorded: DigestLog,
    actual: DigestLog,
}

/// Replays one log and compares its digests with the recorded ones.
fn replay_log(
    log: &Path,
    args: &ReplayArgs,
    interrupt: Arc<AtomicBool>,
) -> anyhow::Result<Replayed> {
    let scan = scan(log)?;
    let header = &scan.header;
    let workload = workload_of(header, log)?;
    let overrides: Vec<String> = header
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let params = workload.info().parse_params(&overrides).with_context(|| {
        format!(
            "the parameters recorded in {} do not fit this build's `{}`",
            log.display(),
            header.workload
        )
    })?;
    let epochs = recorded_epochs(header.clock);
    let workers = default_workers(args.workers);
    let mut config = RunConfig::new(workers, epochs.epoch_ms);
    config.epochs = epochs;
    config.output = crate::io::output_spec(&args.output, args.emit, workload, None)?;
    config.interrupt = Some(interrupt);
    let fingerprint = format!(
        "replay {} workers={workers}",
        log.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    config.cluster = crate::commands::cluster_spec(&args.cluster, fingerprint)?;
    let input = Input::Log {
        path: log.to_path_buf(),
        until: args.until_epoch,
    };

    let mut progress = ProgressDisplay::new(args.quiet);
    let result = workload.run(&params, &input, &config, &mut |p| progress.update(p));
    progress.finish();
    let result = result.with_context(|| format!("replaying {}", log.display()))?;
    if result.process != 0 {
        eprintln!(
            "process {} finished; process 0 reports the replay",
            result.process
        );
        std::process::exit(0);
    }

    // Compare the epochs whose recorded output is complete (all of them, unless the
    // recording was cut short) and, with --until-epoch, no later ones.
    let compare_before: Epoch = args
        .until_epoch
        .map_or(scan.output_complete_before, |until| {
            scan.output_complete_before.min(until.saturating_add(1))
        });
    let recorded = scan.digests.before(compare_before);
    let actual = result.digests.before(compare_before);
    let divergence = recorded.first_divergence(&actual);
    let replayed = scan
        .epochs
        .keys()
        .filter(|e| args.until_epoch.is_none_or(|u| **e <= u))
        .count();
    let mut report = ReplayReport {
        log: log.display().to_string(),
        workload: header.workload.clone(),
        against: "recording".into(),
        differing: None,
        rows: None,
        workers: workers * args.cluster.processes,
        recorded_workers: header.workers * header.processes,
        events: result.events,
        epochs_replayed: replayed,
        epochs_compared: recorded.len(),
        updates_compared: recorded.total_updates(),
        // A log with no complete epoch of recorded output can show no match.
        matches: (compare_before > 0).then_some(divergence.is_none()),
        unverified: (compare_before == 0).then(|| {
            format!("no epoch with recorded output to compare; {replayed} input epochs replayed")
        }),
        first_divergence: divergence,
        truncated_at: scan.truncated_at,
        recorded_failure: scan.end.as_ref().and_then(|end| end.failure.clone()),
        elapsed_s: result.elapsed.as_secs_f64(),
        events_per_sec: result.events_per_sec(),
        latency_p50_ms: result.latency.p50.as_secs_f64() * 1000.0,
        latency_p99_ms: result.latency.p99.as_secs_f64() * 1000.0,
        peak_memory_bytes: result.peak_memory_bytes,
        digest: result.digests.run_digest().to_string(),
    };
    // With recorded output rows, a divergence shows the rows recorded and those produced.
    if let (Some(divergence), true) = (report.first_divergence, scan.output_row_blocks > 0)
        && !matches!(args.check, Some(Check::Baseline | Check::Workers(_)))
    {
        let recorded = Side {
            label: "recorded".into(),
            digests: None,
            run: Box::new(|out| {
                let (spec, epoch) = out.expect("asked for rows");
                workload.write_recorded_rows(log, epoch, spec)?;
                Ok(DigestLog::default())
            }),
        };
        let replayed = Side {
            label: "replayed".into(),
            digests: None,
            run: Box::new(|out| {
                let (spec, epoch) = out.expect("asked for rows");
                let again = crate::check::rerun_config(&config, workers, Some(spec));
                let input = Input::Log {
                    path: log.to_path_buf(),
                    until: Some(epoch),
                };
                Ok(workload.run(&params, &input, &again, &mut |_| {})?.digests)
            }),
        };
        let scratch = std::env::temp_dir().join(format!("reprise-rows-{}", std::process::id()));
        report.rows = Some(crate::check::rows_at(
            &recorded,
            &replayed,
            divergence.epoch,
            &scratch,
        )?);
        let _ = std::fs::remove_dir_all(&scratch);
    }
    if let Some(check @ (Check::Baseline | Check::Workers(_))) = &args.check {
        if args.cluster.processes > 1 {
            anyhow::bail!(
                "--check baseline and --check workers=... replay within one process: drop --processes"
            );
        }
        let sides = check_sides(
            check,
            workload,
            &params,
            log,
            args.until_epoch,
            &config,
            &result.digests,
        );
        let scratch = std::env::temp_dir().join(format!("reprise-check-{}", std::process::id()));
        let outcome = crate::check::compare(&sides, &scratch)?;
        let _ = std::fs::remove_dir_all(&scratch);
        report.against = check.to_string();
        report.epochs_compared = outcome.epochs_compared;
        report.updates_compared = outcome.digests[0].total_updates();
        report.matches = Some(outcome.divergence.is_none());
        report.unverified = None;
        (report.differing, report.first_divergence) = outcome.divergence.unzip();
        report.rows = outcome.rows;
    }
    Ok(Replayed {
        report,
        recorded,
        actual,
    })
}

/// The job that recorded a log, or an error naming the program that has it.
pub(crate) fn workload_of(
    header: &reprise_engine::log::LogHeader,
    log: &Path,
) -> anyhow::Result<&'static dyn crate::workload::Workload> {
    find_workload(&header.workload).with_context(|| {
        let this = crate::workload::program_name();
        let hint = if header.program == this {
            String::new()
        } else {
            format!(
                ": replay it with the program that has that job, `{} replay {}`",
                header.program,
                log.display()
            )
        };
        format!(
            "the log {} was recorded by job `{}` of program `{}`, and this program (`{this}`) has no such job{hint}",
            log.display(),
            header.workload,
            header.program
        )
    })
}

/// The sides of a replay checked against the baseline, or on several worker counts.
fn check_sides<'a>(
    check: &Check,
    workload: &'a dyn crate::workload::Workload,
    params: &'a reprise_engine::Params,
    log: &'a Path,
    until: Option<Epoch>,
    config: &'a RunConfig,
    replayed: &DigestLog,
) -> Vec<Side<'a>> {
    // The log, up to the epoch asked for, or (when rows are wanted) to the one compared.
    let input = move |rows_until: Option<Epoch>| Input::Log {
        path: log.to_path_buf(),
        until: rows_until.or(until),
    };
    let replay = move |workers: usize, out: Option<(&OutputSpec, Epoch)>| {
        let again = crate::check::rerun_config(config, workers, out.map(|(spec, _)| spec));
        let input = input(out.map(|(_, epoch)| epoch));
        Ok(workload.run(params, &input, &again, &mut |_| {})?.digests)
    };
    match check {
        Check::Workers(counts) => counts
            .iter()
            .map(|&workers| Side {
                label: format!("replay on {}", crate::report::plural(workers, "worker")),
                digests: (workers == config.workers).then(|| replayed.clone()),
                run: Box::new(move |out| replay(workers, out)),
            })
            .collect(),
        _ => vec![
            Side {
                label: "baseline".into(),
                digests: None,
                run: Box::new(move |out| {
                    let input = input(out.map(|(_, epoch)| epoch));
                    let output = out.map(|(spec, _)| spec);
                    Ok(workload
                        .baseline(params, &input, &config.epochs, output)?
                        .digests)
                }),
            },
            Side {
                label: "engine".into(),
                digests: Some(replayed.clone()),
                run: Box::new(move |out| replay(config.workers, out)),
            },
        ],
    }
}

/// Rewrites a log's digests with this build's; returns a line saying which epochs changed.
fn bless_log(log: &Path, replayed: &Replayed) -> anyhow::Result<String> {
    let epochs: std::collections::BTreeSet<Epoch> = replayed
        .recorded
        .iter()
        .chain(replayed.actual.iter())
        .map(|(e, _)| e)
        .collect();
    let changed: Vec<Epoch> = epochs
        .into_iter()
        .filter(|e| replayed.recorded.get(*e) != replayed.actual.get(*e))
        .collect();
    if changed.is_empty() {
        return Ok(format!(
            "{}: digests unchanged, nothing to bless",
            log.display()
        ));
    }
    bless(log, &replayed.actual).with_context(|| format!("blessing {}", log.display()))?;
    let shown: Vec<String> = changed.iter().take(20).map(|e| e.to_string()).collect();
    let more = if changed.len() > 20 {
        format!(" and {} more", changed.len() - 20)
    } else {
        String::new()
    };
    Ok(format!(
        "{}: blessed; {} of {} epochs changed: {}{more}",
        log.display(),
        changed.len(),
        replayed.recorded.len().max(replayed.actual.len()),
        shown.join(", ")
    ))
}

/// Replays `args.log` (a log, or every log in a folder) and compares every epoch's digest
/// with the recorded one; with `--bless`, records this build's digests instead.
pub fn replay(args: ReplayArgs, interrupt: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    if args.log.is_dir() {
        return replay_folder(&args, interrupt);
    }
    let replayed = replay_log(&args.log, &args, interrupt)?;
    let report = &replayed.report;
    if args.bless {
        print(&(bless_log(&args.log, &replayed)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        ReportFormat::Json => print(&(serde_json::to_string(report)? + "\n"))?,
        ReportFormat::Text => {
            let mut text = String::new();
            if let Some(offset) = report.truncated_at {
                let _ = writeln!(
                    text,
                    "the log ends early (cut at byte {offset}): replayed its {} complete epochs",
                    report.epochs_replayed
                );
            }
            match report.recorded_failure.as_deref() {
                Some(reprise_engine::log::INPUT_ONLY) => {
                    let _ = writeln!(text, "the log holds input only (no recorded output)");
                }
                Some(failure) => {
                    let _ = writeln!(text, "the recorded run stopped with: {failure}");
                }
                None => {}
            }
            let _ = writeln!(
                text,
                "replayed {} events of `{}` on {} workers (recorded on {}) at {}",
                report.events,
                report.workload,
                report.workers,
                report.recorded_workers,
                human_rate(report.events_per_sec)
            );
            match (&report.first_divergence, &report.unverified) {
                (Some(d), _) if report.against != "recording" => {
                    let side = report.differing.as_deref().unwrap_or("replay");
                    let _ = writeln!(text, "check {} DIFFERS: the {side} at {d}", report.against);
                }
                (Some(d), _) => {
                    let _ = writeln!(text, "replay DIVERGES at {d}");
                }
                (None, Some(reason)) => {
                    let _ = writeln!(text, "replay NOT CHECKED: {reason}");
                }
                (None, None) if report.against != "recording" => {
                    let _ = writeln!(
                        text,
                        "check {} matches: {} epochs, {} updates",
                        report.against, report.epochs_compared, report.updates_compared
                    );
                }
                (None, None) => {
                    let _ = writeln!(
                        text,
                        "replay matches: {} epochs, {} updates",
                        report.epochs_compared, report.updates_compared
                    );
                }
            }
            if let Some(rows) = &report.rows {
                text += &rows.to_text();
            }
            print(&text)?;
        }
    }
    Ok(if report.matches == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_MISMATCH)
    })
}

/// One log of a folder replay.
#[derive(Debug, Serialize)]
struct FolderEntry {
    log: String,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<ReplayReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    blessed: Option<String>,
}

impl FolderEntry {
    fn line(&self) -> String {
        let name = Path::new(&self.log)
            .file_name()
            .map_or(self.log.clone(), |n| n.to_string_lossy().into_owned());
        let detail = match (&self.report, &self.error, &self.blessed) {
            (_, _, Some(blessed)) => blessed.clone(),
            (Some(r), _, _) => match (&r.first_divergence, &r.unverified) {
                (Some(d), _) => format!("at {d}"),
                (None, Some(reason)) => reason.clone(),
                (None, None) => format!(
                    "{} epochs, {} updates",
                    r.epochs_compared, r.updates_compared
                ),
            },
            (None, Some(error), _) => error.clone(),
            (None, None, _) => String::new(),
        };
        format!("{name:<36} {:<9} {detail}\n", self.result)
    }
}

/// Replays every `*.rlog` of a folder, one line each; fails if any diverges or errs.
fn replay_folder(args: &ReplayArgs, interrupt: Arc<AtomicBool>) -> anyhow::Result<ExitCode> {
    if args.output.is_some() {
        anyhow::bail!("--output takes one log, not a folder");
    }
    let mut logs: Vec<_> = std::fs::read_dir(&args.log)
        .with_context(|| format!("reading folder {}", args.log.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "rlog"))
        .collect();
    logs.sort();
    if logs.is_empty() {
        anyhow::bail!("no *.rlog files in {}", args.log.display());
    }
    let mut entries = Vec::new();
    for log in &logs {
        let entry = match replay_log(log, args, Arc::clone(&interrupt)) {
            Ok(replayed) => {
                let blessed = if args.bless {
                    Some(bless_log(log, &replayed)?)
                } else {
                    None
                };
                let result = match (&blessed, replayed.report.matches) {
                    (Some(_), _) => "blessed",
                    (None, Some(true)) => "matches",
                    (None, Some(false)) => "DIVERGES",
                    (None, None) => "UNCHECKED",
                };
                FolderEntry {
                    log: log.display().to_string(),
                    result,
                    report: Some(replayed.report),
                    error: None,
                    blessed,
                }
            }
            Err(error) => FolderEntry {
                log: log.display().to_string(),
                result: "ERROR",
                report: None,
                error: Some(format!("{error:#}")),
                blessed: None,
            },
        };
        if args.format == ReportFormat::Text {
            print(&entry.line())?;
        }
        entries.push(entry);
    }
    let failed = entries
        .iter()
        .filter(|e| ["DIVERGES", "ERROR", "UNCHECKED"].contains(&e.result))
        .count();
    match args.format {
        ReportFormat::Json => print(&(serde_json::to_string(&entries)? + "\n"))?,
        ReportFormat::Text => print(&format!("{} logs, {failed} failed\n", entries.len()))?,
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_MISMATCH)
    })
}

/// What `reprise inspect --format json` prints.
#[derive(Debug, Serialize)]
struct InspectReport<'a> {
    #[serde(flatten)]
    scan: &'a LogScan,
    events: u64,
}

/// Prints a log's header and per-epoch contents.
pub fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let scan = scan(&args.log)?;
    if args.events {
        let workload = workload_of(&scan.header, &args.log)?;
        let format = crate::io::Address::Stdio.format(args.events_format, workload.info().csv)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        workload.export_events(&args.log, args.epoch, format, &mut out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.format == ReportFormat::Json {
        print(
            &(serde_json::to_string(&InspectReport {
                scan: &scan,
                events: scan.events(),
            })? + "\n"),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let h = &scan.header;
    let mut text = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(text, "{k:<16} {v}");
    };
    line(
        "log",
        format!("{} ({})", scan.path.display(), human_bytes(scan.file_bytes)),
    );
    line("format version", scan.format_version.to_string());
    line(
        "engine",
        format!("{} (git {})", h.engine_version, h.git_revision),
    );
    line("workload", h.workload.clone());
    line(
        "params",
        h.params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    line("input", h.input.clone());
    line("seed", h.seed.map_or("-".into(), |s| s.to_string()));
    line(
        "clock",
        match h.clock {
            RecordedClock::Event { epoch_ms } => format!("event time, {epoch_ms} ms epochs"),
            RecordedClock::Processing { epoch_ms } => {
                format!("processing time, {epoch_ms} ms epochs")
            }
        },
    );
    line(
        "recorded on",
        format!("{} workers, {} processes", h.workers, h.processes),
    );
    if scan.format_version >= 2 {
        line("recording", format!("{:016x}", h.recording_id));
        line("program", h.program.clone());
    }
    if scan.generated_blocks > 0 {
        line(
            "generated",
            format!(
                "{} blocks recorded by index: a replay makes their events again with `{}`'s generator, and checks them",
                scan.generated_blocks, h.workload
            ),
        );
    }
    if scan.output_row_blocks > 0 {
        line(
            "output rows",
            format!(
                "recorded ({} blocks): a differing replay prints them",
                scan.output_row_blocks
            ),
        );
    }
    line(
        "events",
        format!("{} in {} complete epochs", scan.events(), scan.epochs.len()),
    );
    line(
        "ended",
        match (&scan.end, scan.truncated_at) {
            (_, Some(offset)) => {
                format!("cut short at byte {offset} (a crash?): the complete epochs replay")
            }
            (Some(end), _) => end
                .failure
                .clone()
                .map_or("completed".to_string(), |f| format!("failed: {f}")),
            (None, None) => {
                "without an end block (killed?): the complete epochs replay".to_string()
            }
        },
    );
    let _ = writeln!(
        text,
        "\n{:>10} {:>12} {:>12} {:>18} {:>10}",
        "epoch", "events", "bytes", "output digest", "updates"
    );
    let epochs: std::collections::BTreeSet<Epoch> = scan
        .epochs
        .keys()
        .copied()
        .chain(scan.digests.iter().map(|(e, _)| e))
        .collect();
    for epoch in epochs {
        let input = scan.epochs.get(&epoch).copied().unwrap_or_default();
        let output = scan.digests.get(epoch);
        let digest = if output.updates > 0 {
            format!("{:016x}", output.digest)
        } else {
            "-".into()
        };
        let _ = writeln!(
            text,
            "{epoch:>10} {:>12} {:>12} {digest:>18} {:>10}",
            input.events, input.bytes, output.updates
        );
    }
    print(&text)?;
    Ok(ExitCode::SUCCESS)
}
