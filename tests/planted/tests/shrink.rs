//! From a failing log to the rows that differ and the smallest input that still fails, on
//! jobs with planted bugs. Each shrunk log is checked for 1-minimality here, independently
//! of the shrinker: without any one of its events, the failure is gone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use planted_bugs::{Numbered, Scored};
use reprise_engine::Epoch;
use reprise_engine::log::{LogHeader, RecordSpec, read_header, write_events_log};

fn planted(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_planted"))
        .args(args)
        .output()
        .expect("the planted binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-planted-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A log's events, epoch by epoch.
fn events<E: serde::Serialize + serde::de::DeserializeOwned + Send + 'static>(
    log: &str,
) -> Vec<(Epoch, Vec<E>)> {
    reprise_engine::log::epochs::<E>(Path::new(log), None, None)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The logs with one event each left out, written next to `log`.
fn without_each<E: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + 'static>(
    log: &str,
) -> Vec<String> {
    let header: LogHeader = read_header(Path::new(log)).unwrap();
    let epochs = events::<E>(log);
    let flat: Vec<(Epoch, E)> = epochs
        .iter()
        .flat_map(|(epoch, events)| events.iter().map(move |e| (*epoch, e.clone())))
        .collect();
    (0..flat.len())
        .map(|skip| {
            let path = format!("{log}.without-{skip}.rlog");
            let mut kept: Vec<(Epoch, Vec<E>)> = Vec::new();
            for (index, (epoch, event)) in flat.iter().enumerate() {
                if index == skip {
                    continue;
                }
                match kept.last_mut() {
                    Some((last, list)) if last == epoch => list.push(event.clone()),
                    _ => kept.push((*epoch, vec![event.clone()])),
                }
            }
            let spec = RecordSpec {
                path: PathBuf::from(&path),
                header: header.clone(),
                compress: false,
                full: true,
            };
            write_events_log(spec, kept).unwrap();
            path
        })
        .collect()
}

#[test]
fn a_panic_on_one_event_in_200000_shrinks_to_that_event() {
    let dir = scratch("panic");
    let log = path(&dir, "run.rlog");
    let small = path(&dir, "small.rlog");
    let out = planted(&[
        "run", "poisoned", "--events", "200000", "--record", &log, "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "the run panics");
    assert!(
        text(&out.stderr).contains("poisoned event 123457"),
        "{}",
        text(&out.stderr)
    );
    let out = planted(&["shrink", &log, "-o", &small, "--until", "panic", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("to 1 event in 1 epoch"), "{report}");
    assert!(
        report.contains(&format!("planted replay {small}")),
        "{report}"
    );
    let kept = events::<Numbered>(&small);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0].1,
        vec![Numbered {
            id: 123457,
            ts: 12345
        }]
    );
    // The shrunk log still fails the same way; without its event, it does not.
    let out = planted(&["replay", &small, "-q"]);
    assert!(
        text(&out.stderr).contains("poisoned event 123457"),
        "{}",
        text(&out.stderr)
    );
    for without in without_each::<Numbered>(&small) {
        let out = planted(&["replay", &without, "-q"]);
        assert!(
            !text(&out.stderr).contains("panicked"),
            "{}",
            text(&out.stderr)
        );
    }
    // A user's command decides too: here, "the log still holds event 123457".
    let exec_small = path(&dir, "exec.rlog");
    let command = format!(
        "exec '! {} inspect {{}} --events | grep -q ^123457,'",
        env!("CARGO_BIN_EXE_planted")
    );
    let out = planted(&["shrink", &log, "-o", &exec_small, "--until", &command, "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(events::<Numbered>(&exec_small)[0].1, kept[0].1);
}

#[test]
fn an_output_that_depends_on_the_worker_count_is_named_and_shrunk_to_the_tie() {
    let dir = scratch("workers");
    let log = path(&dir, "run.rlog");
    let small = path(&dir, "small.rlog");
    let out = planted(&[
        "run",
        "first-arrived",
        "--events",
        "20000",
        "--workers",
        "2",
        "--record",
        &log,
        "-q",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = planted(&["replay", &log, "--check", "workers=1,3", "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(
        report.contains("check workers=1,3 DIFFERS: the replay on 3 workers at epoch "),
        "{report}"
    );
    let minus = report.lines().filter(|l| l.starts_with("- {")).count();
    let plus = report.lines().filter(|l| l.starts_with("+ {")).count();
    assert!(minus + plus >= 1, "{report}");

    let out = planted(&["shrink", &log, "-o", &small, "--until", "workers=1,3", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Two events: equal keys and ranks, different values, in one epoch. One event has no
    // tie, so two is the fewest that can show the bug.
    let kept = events::<Scored>(&small);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let pair = &kept[0].1;
    assert_eq!(pair.len(), 2, "{pair:?}");
    assert_eq!((pair[0].key, pair[0].rank), (pair[1].key, pair[1].rank));
    assert_ne!(pair[0].value, pair[1].value);
    let out = planted(&["replay", &small, "--check", "workers=1,3", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    for without in without_each::<Scored>(&small) {
        let out = planted(&["replay", &without, "--check", "workers=1,3", "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    }
}

#[test]
fn an_off_by_one_window_bound_shows_the_rows_and_shrinks_to_the_boundary_event() {
    let dir = scratch("off-by-one");
    let log = path(&dir, "run.rlog");
    let small = path(&dir, "small.rlog");
    // The run itself, checked against the baseline, prints the rows.
    let out = planted(&[
        "run",
        "off-by-one",
        "--events",
        "1000",
        "--record",
        &log,
        "--check",
        "baseline",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains("check           baseline DIFFERS: the engine at epoch 10"),
        "{report}"
    );
    // The event at 100 ms belongs to the window starting at 100, not to the one at 0.
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("- {\"window_start\":100,")),
        "{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("+ {\"window_start\":0,")),
        "{report}"
    );
    // So does a replay of its log.
    let out = planted(&["replay", &log, "--check", "baseline", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("rows at epoch 10: "),
        "{}",
        text(&out.stdout)
    );
    // The smallest input that still differs: one event, on a window boundary.
    let out = planted(&["shrink", &log, "-o", &small, "--until", "baseline", "-q"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kept = events::<Numbered>(&small);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].1.len(), 1, "{kept:?}");
    assert_eq!(kept[0].1[0].ts % 100, 0, "{kept:?}");
    assert!(kept[0].1[0].ts > 0, "{kept:?}");
    for without in without_each::<Numbered>(&small) {
        let out = planted(&["replay", &without, "--check", "baseline", "-q"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    }
}

#[test]
fn inspect_events_prints_a_dataset_that_runs_again() {
    let dir = scratch("inspect");
    let log = path(&dir, "run.rlog");
    let out = planted(&[
        "run",
        "off-by-one",
        "--events",
        "300",
        "--record",
        &log,
        "-q",
    ]);
    assert!(out.status.success());
    let out = planted(&["inspect", &log, "--events"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert_eq!(csv.lines().next(), Some("id,ts"));
    assert_eq!(csv.lines().count(), 301);
    let one = text(&planted(&["inspect", &log, "--events", "--epoch", "3"]).stdout);
    let ts: Vec<u64> = one
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(ts.len(), 10);
    assert!(ts.iter().all(|t| (30..40).contains(t)), "{ts:?}");
    let json = text(
        &planted(&[
            "inspect",
            &log,
            "--events",
            "--events-format",
            "json",
            "--epoch",
            "3",
        ])
        .stdout,
    );
    assert!(json.lines().all(|l| l.starts_with("{\"id\":")), "{json}");
    // The printed events are a dataset: a run on them gives the recorded run's digest.
    let file = dir.join("events.csv");
    std::fs::write(&file, &csv).unwrap();
    let digest = |out: Output| -> String {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["digest"].as_str().unwrap().to_string()
    };
    let from_file = digest(planted(&[
        "run",
        "off-by-one",
        "--input",
        file.to_str().unwrap(),
        "--format",
        "json",
        "-q",
    ]));
    let generated = digest(planted(&[
        "run",
        "off-by-one",
        "--events",
        "300",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(from_file, generated);
}

#[test]
fn a_golden_style_replay_with_recorded_output_prints_the_rows_that_changed() {
    let dir = scratch("recorded-output");
    let log = path(&dir, "golden.rlog");
    // Recorded by a build without the bug, with its output rows...
    let out = Command::new(env!("CARGO_BIN_EXE_planted"))
        .args([
            "run",
            "off-by-one",
            "--events",
            "1000",
            "--record",
            &log,
            "--record-output",
            "-q",
        ])
        .env("PLANTED_FIXED", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let inspect = text(&planted(&["inspect", &log]).stdout);
    assert!(inspect.contains("output rows      recorded ("), "{inspect}");
    // ...and replayed by one with it: the rows recorded and the rows replayed, at the
    // first epoch that differs, from the log alone.
    let out = planted(&["replay", &log, "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(report.contains("replay DIVERGES at epoch 10"), "{report}");
    assert!(
        report.contains("rows at epoch 10: 1 missing, 3 unexpected (- recorded, + replayed)"),
        "{report}"
    );
    assert!(
        report.contains("- {\"window_start\":100,\"key\":0,\"count\":2,\"diff\":1}"),
        "{report}"
    );
    assert!(
        report.contains("+ {\"window_start\":100,\"key\":0,\"count\":1,\"diff\":1}"),
        "{report}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&planted(&["replay", &log, "-q", "--format", "json"]).stdout)
            .unwrap();
    assert_eq!(json["rows"]["epoch"], 10);
    assert_eq!(json["rows"]["missing"].as_array().unwrap().len(), 1);
    // Blessing takes the new digests and drops the old build's rows with the old digests.
    assert!(planted(&["replay", &log, "--bless"]).status.success());
    assert!(!text(&planted(&["inspect", &log]).stdout).contains("output rows"));
    assert!(planted(&["replay", &log, "-q"]).status.success());
}
