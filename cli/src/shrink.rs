//! `reprise shrink`: from a failing log to a 1-minimal one. Delta debugging (Zeller's
//! ddmin) over whole epochs first, then over single events, each candidate written as a
//! log and tried in a fresh process with a timeout, so a candidate that crashes or hangs
//! counts as "does not fail" and the search goes on.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reprise_engine::Epoch;
use reprise_engine::log::{RecordSpec, scan};

use crate::args::{Check, ShrinkArgs};
use crate::commands::print;
use crate::replay::workload_of;
use crate::report::plural;
use crate::workload::Workload;

/// The failure a shrunk log must keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The replay panics with the same message.
    Panic,
    /// The replay's digests differ from those recorded (the log is cut after the first
    /// differing epoch; removing events would change what the recorded digests mean).
    Diverges,
    /// The engine and the baseline differ.
    Baseline,
    /// The output depends on the worker count.
    Workers(Vec<usize>),
    /// A command exits non-zero; `{}` stands for the candidate log.
    Exec(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Panic => f.write_str("panic"),
            Failure::Diverges => f.write_str("diverges"),
            Failure::Baseline => f.write_str("baseline"),
            Failure::Workers(counts) => Check::Workers(counts.clone()).fmt(f),
            Failure::Exec(command) => write!(f, "exec '{command}'"),
        }
    }
}

impl std::str::FromStr for Failure {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "panic" => Failure::Panic,
            "diverges" => Failure::Diverges,
            "baseline" => Failure::Baseline,
            _ if text.starts_with("exec ") => {
                let command = text["exec ".len()..].trim();
                let command = command.trim_matches(|c| c == '\'' || c == '"');
                if !command.contains("{}") {
                    return Err(format!(
                        "`{text}`: the command needs `{{}}` where the candidate log goes"
                    ));
                }
                Failure::Exec(command.to_string())
            }
            _ if text.starts_with("workers=") => match text.parse::<Check>()? {
                Check::Workers(counts) => Failure::Workers(counts),
                _ => unreachable!("workers= parses as a worker check"),
            },
            _ => {
                return Err(format!(
                    "`{text}`: expected panic, diverges, baseline, workers=1,N or exec 'CMD {{}}'"
                ));
            }
        })
    }
}

/// How one candidate fared.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Verdict {
    Fails,
    Passes,
}

/// Tries candidates: writes each as a log and runs the check in a fresh process.
struct Tester<'a> {
    args: &'a ShrinkArgs,
    workload: &'static dyn Workload,
    spec: RecordSpec,
    workers: usize,
    panic_message: Option<String>,
    tried: u64,
    started: Instant,
}

impl Tester<'_> {
    /// Whether the log made of `events` still fails.
    fn fails(&mut self, events: &[(Epoch, &[u8])]) -> anyhow::Result<bool> {
        self.tried += 1;
        let epochs = by_epoch(events);
        self.workload
            .write_log_events(self.spec.clone(), &epochs)
            .context("writing a candidate log")?;
        Ok(self.verdict(&self.spec.path)? == Verdict::Fails)
    }

    /// Runs the check on the log at `path`.
    fn verdict(&self, path: &Path) -> anyhow::Result<Verdict> {
        let exe = std::env::current_exe().context("finding this program")?;
        let workers = self.workers.to_string();
        let mut command = match &self.args.until {
            Failure::Exec(line) => {
                let line = line.replace("{}", &path.display().to_string());
                let mut command = Command::new("sh");
                command.args(["-c", &line]);
                command
            }
            failure => {
                let mut command = Command::new(exe);
                command
                    .arg("replay")
                    .arg(path)
                    .args(["-q", "--workers", &workers]);
                if let Failure::Baseline | Failure::Workers(_) = failure {
                    command.args(["--check", &failure.to_string()]);
                }
                command
            }
        };
        let outcome = run_with_timeout(&mut command, Duration::from_secs(self.args.timeout))?;
        let Some((code, stderr)) = outcome else {
            return Ok(Verdict::Passes); // it hung: not the failure we are after
        };
        let fails = match &self.args.until {
            Failure::Panic => panic_message(&stderr) == self.panic_message,
            Failure::Baseline | Failure::Workers(_) | Failure::Diverges => code == Some(1),
            Failure::Exec(_) => code != Some(0),
        };
        Ok(if fails {
            Verdict::Fails
        } else {
            Verdict::Passes
        })
    }

    fn progress(&self, left: usize) {
        if !self.args.quiet {
            eprintln!(
                "shrink: {left} events left, {} candidates tried ({:.1} s)",
                self.tried,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Runs `command`, its output captured; `None` if it ran past `limit` (it is killed).
fn run_with_timeout(
    command: &mut Command,
    limit: Duration,
) -> anyhow::Result<Option<(Option<i32>, String)>> {
    let stderr_path = std::env::temp_dir().join(format!(
        "reprise-shrink-{}-{:?}.err",
        std::process::id(),
        std::thread::current().id()
    ));
    let stderr_file = std::fs::File::create(&stderr_path)?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .context("starting a candidate's check")?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    Ok(status.map(|s| (s.code(), stderr)))
}

/// The message of a worker panic reported on standard error.
fn panic_message(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .find(|l| l.contains(" panicked while epoch "))?;
    let (_, message) = line.split_once(" was open: ")?;
    Some(message.to_string())
}

/// Events grouped by epoch, in order, as a log holds them.
fn by_epoch<'a>(events: &[(Epoch, &'a [u8])]) -> Vec<(Epoch, Vec<&'a [u8]>)> {
    let mut epochs: Vec<(Epoch, Vec<&[u8]>)> = Vec::new();
    for &(epoch, event) in events {
        match epochs.last_mut() {
            Some((last, list)) if *last == epoch => list.push(event),
            _ => epochs.push((epoch, vec![event])),
        }
    }
    epochs
}

/// Zeller's ddmin: a 1-minimal sublist of `units` (removing any one unit makes
/// `fails` false), given that `units` fails.
fn ddmin<U: Clone>(
    mut units: Vec<U>,
    fails: &mut dyn FnMut(&[U]) -> anyhow::Result<bool>,
    progress: &mut dyn FnMut(&[U]),
) -> anyhow::Result<Vec<U>> {
    let mut n = 2;
    while units.len() >= 2 {
        let size = units.len().div_ceil(n);
        let chunks: Vec<std::ops::Range<usize>> = (0..units.len())
            .step_by(size)
            .map(|start| start..(start + size).min(units.len()))
            .collect();
        let mut reduced = None;
        for chunk in &chunks {
            if fails(&units[chunk.clone()])? {
                reduced = Some((units[chunk.clone()].to_vec(), 2));
                break;
            }
        }
        if reduced.is_none() && chunks.len() > 2 {
            for chunk in &chunks {
                let rest: Vec<U> = units[..chunk.start]
                    .iter()
                    .chain(&units[chunk.end..])
                    .cloned()
                    .collect();
                if fails(&rest)? {
                    reduced = Some((rest, (n - 1).max(2)));
                    break;
                }
            }
        }
        match reduced {
            Some((smaller, next)) => {
                units = smaller;
                n = next;
                progress(&units);
            }
            None if n >= units.len() => break,
            None => n = (n * 2).min(units.len()),
        }
    }
    if units.len() == 1 && fails(&[])? {
        units.clear();
    }
    Ok(units)
}

/// `reprise shrink`.
pub fn shrink(args: ShrinkArgs) -> anyhow::Result<ExitCode> {
    let scanned = scan(&args.log)?;
    if scanned.header.processes > 1 {
        bail!(
            "{} is one part of a {}-process recording: shrink works on single-process logs (replay the parts together, then record on one process)",
            args.log.display(),
            scanned.header.processes
        );
    }
    if args.output == args.log {
        bail!("-o must name a new file: the log being shrunk is never overwritten");
    }
    let workload = workload_of(&scanned.header, &args.log)?;
    let workers = args
        .workers
        .unwrap_or(scanned.header.workers * scanned.header.processes)
        .max(1);
    let epochs = workload.log_events(&args.log)?;
    let mut header = scanned.header.clone();
    header.workers = 1;
    header.processes = 1;
    header.part = 0;
    header.input = format!("shrunk from {}", args.log.display());
    let candidate = args.output.with_extension("candidate.rlog");
    let mut tester = Tester {
        args: &args,
        workload,
        spec: RecordSpec {
            path: candidate.clone(),
            header: header.clone(),
            compress: true,
            full: true,
        },
        workers,
        panic_message: None,
        tried: 0,
        started: Instant::now(),
    };
    // The log itself must fail as asked.
    if args.until == Failure::Panic {
        let exe = std::env::current_exe()?;
        let out = run_with_timeout(
            Command::new(exe).arg("replay").arg(&args.log).args([
                "-q",
                "--workers",
                &workers.to_string(),
            ]),
            Duration::from_secs(args.timeout),
        )?;
        tester.panic_message = out.and_then(|(_, stderr)| panic_message(&stderr));
        if tester.panic_message.is_none() {
            bail!(
                "replaying {} does not panic: nothing to shrink",
                args.log.display()
            );
        }
    } else if tester.verdict(&args.log)? != Verdict::Fails {
        bail!(
            "{} does not fail as asked (--until {}): nothing to shrink",
            args.log.display(),
            args.until
        );
    }
    let all: Vec<(Epoch, &[u8])> = epochs
        .iter()
        .flat_map(|(epoch, events)| events.iter().map(move |e| (*epoch, e.as_slice())))
        .collect();
    let total = all.len();
    let kept: Vec<(Epoch, &[u8])> = if args.until == Failure::Diverges {
        // Cut after the first differing epoch: the recorded digests of the epochs before
        // it still describe this input.
        let first = first_divergence(&args.log, workers)?;
        all.into_iter().filter(|(e, _)| *e <= first).collect()
    } else {
        // Whole epochs first (cheap, large steps), then single events.
        let epoch_units: Vec<Epoch> = epochs.iter().map(|(e, _)| *e).collect();
        let events_of = |chosen: &[Epoch]| -> Vec<(Epoch, &[u8])> {
            all.iter()
                .copied()
                .filter(|(e, _)| chosen.binary_search(e).is_ok())
                .collect()
        };
        let kept_epochs = ddmin(
            epoch_units,
            &mut |chosen| tester.fails(&events_of(chosen)),
            &mut |_| {},
        )?;
        let remaining = events_of(&kept_epochs);
        tester.progress(remaining.len());
        let mut progress = |left: &[(Epoch, &[u8])]| {
            if !args.quiet {
                eprintln!("shrink: {} events left", left.len());
            }
        };
        ddmin(remaining, &mut |chosen| tester.fails(chosen), &mut progress)?
    };
    let _ = std::fs::remove_file(&candidate);
    let epochs_kept = by_epoch(&kept);
    workload
        .write_log_events(
            RecordSpec {
                path: args.output.clone(),
                header,
                compress: true,
                full: true,
            },
            &epochs_kept,
        )
        .with_context(|| format!("writing {}", args.output.display()))?;
    let program = crate::workload::program_name();
    let check = match &args.until {
        until @ (Failure::Baseline | Failure::Workers(_)) => format!(" --check {until}"),
        _ => String::new(),
    };
    print(&format!(
        "shrunk {total} events in {} to {} in {} ({} candidates tried, {:.1} s)\nwrote {}\nreplay it: {program} replay {}{check} --workers {workers}\n",
        plural(epochs.len(), "epoch"),
        plural(kept.len(), "event"),
        plural(epochs_kept.len(), "epoch"),
        tester.tried,
        tester.started.elapsed().as_secs_f64(),
        args.output.display(),
        args.output.display(),
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The first epoch whose replay differs from the recorded digests.
fn first_divergence(log: &PathBuf, workers: usize) -> anyhow::Result<Epoch> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("replay")
        .arg(log)
        .args(["-q", "--format", "json", "--workers", &workers.to_string()])
        .output()
        .context("replaying the log")?;
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading the replay's report")?;
    report["first_divergence"]["epoch"]
        .as_u64()
        .with_context(|| {
            format!(
                "replaying {} does not diverge: nothing to shrink",
                log.display()
            )
        })
}
