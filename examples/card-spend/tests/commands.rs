//! Every command of the card-spend program, as its user would type them: a job in its own
//! crate gets the whole command line from `reprise_cli::main`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PAYMENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/payments.csv");

fn card_spend(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_card-spend"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The last line of standard output as JSON, asserting success.
fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", said(out));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("card-spend-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(extra: &[&str]) -> serde_json::Value {
    let args = [
        &[
            "run",
            "card-spend",
            "--input",
            PAYMENTS,
            "--format",
            "json",
            "-q",
        ][..],
        extra,
    ];
    json(&card_spend(&args.concat()))
}

#[test]
fn list_shows_the_job_and_its_parameters() {
    let out = card_spend(&["list"]);
    let text = said(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("card-spend") && text.contains("threshold_cents=50000"),
        "{text}"
    );
}

#[test]
fn run_matches_its_baseline_on_every_worker_count() {
    let one = run(&["--workers", "1", "--check", "baseline"]);
    assert_eq!(one["events"], 6000);
    assert!(one["output_updates"].as_u64().unwrap() > 10, "{one}");
    for workers in ["2", "3"] {
        let many = run(&["--workers", workers, "--check", "baseline"]);
        assert_eq!(many["digest"], one["digest"], "{workers} workers");
    }
}

#[test]
fn a_recorded_run_replays_on_1_and_3_workers_and_inspects() {
    let log = scratch("recorded.rlog").display().to_string();
    let recorded = run(&["--workers", "2", "--record", &log]);
    for workers in ["1", "3"] {
        let replayed = json(&card_spend(&[
            "replay",
            &log,
            "--workers",
            workers,
            "--format",
            "json",
            "-q",
        ]));
        assert_eq!(replayed["matches"], true, "{replayed}");
        assert_eq!(replayed["digest"], recorded["digest"]);
    }
    let inspected = card_spend(&["inspect", &log]);
    let text = said(&inspected);
    assert!(
        text.contains("card-spend") && text.contains("program          card-spend"),
        "{text}"
    );
}

#[test]
fn final_alerts_are_the_windows_over_the_threshold() {
    // From the file, by hand: the spend of every (window, card), windows of 60 s every 10 s.
    let text = std::fs::read_to_string(PAYMENTS).unwrap();
    let mut spend = std::collections::BTreeMap::<(u64, u64), i64>::new();
    for line in text.lines().skip(1) {
        let f: Vec<u64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let (card, amount, ts) = (f[0], f[1] as i64, f[2]);
        let mut start = ts - ts % 10_000;
        loop {
            *spend.entry((start, card)).or_default() += amount;
            if start < 10_000 || start - 10_000 + 60_000 <= ts {
                break;
            }
            start -= 10_000;
        }
    }
    let mut expected: Vec<String> = spend
        .iter()
        .filter(|(_, s)| **s > 50_000)
        .map(|((start, card), s)| format!("{start},{card},{s}"))
        .collect();
    let file = scratch("alerts.csv");
    run(&["--output", &file.display().to_string(), "--emit", "final"]);
    let written = std::fs::read_to_string(&file).unwrap();
    let mut alerts: Vec<String> = written
        .lines()
        .skip(1)
        .map(|row| row.split(',').skip(2).take(3).collect::<Vec<_>>().join(","))
        .collect();
    expected.sort();
    alerts.sort();
    assert!(!expected.is_empty());
    assert_eq!(alerts, expected);
}

#[test]
fn without_a_generator_generated_input_is_a_clear_error() {
    for args in [
        &["run", "card-spend"][..],
        &["gen", "card-spend", "--events", "5", "-o", "x.csv"],
    ] {
        let out = card_spend(args);
        assert_eq!(out.status.code(), Some(2), "{}", said(&out));
        assert!(
            said(&out).contains("has no generator") && said(&out).contains("--input"),
            "{}",
            said(&out)
        );
    }
}

#[test]
fn its_golden_log_replays() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let out = card_spend(&["replay", &golden.display().to_string(), "--workers", "3"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("0 failed"), "{}", said(&out));
}

#[test]
fn a_log_of_another_program_names_that_program() {
    let other =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/nexmark-q5-2w-20ms-v2.rlog");
    let out = card_spend(&["replay", &other.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let text = said(&out);
    assert!(
        text.contains("`nexmark-q5` of program `reprise`") && text.contains("reprise replay"),
        "{text}"
    );
}

#[test]
fn compare_and_cluster_work_on_the_users_job() {
    let dir = scratch("compare");
    let out = card_spend(&[
        "compare",
        "card-spend",
        "--input",
        PAYMENTS,
        "--workers",
        "1,2",
        "--repeat",
        "1",
        "--baseline",
        "-o",
        &dir.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(dir.join("results.json").exists());
    let single = run(&["--workers", "1"]);
    let cluster = json(&card_spend(&[
        "cluster",
        "--processes",
        "2",
        "run",
        "card-spend",
        "--input",
        PAYMENTS,
        "--workers",
        "1",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(cluster["digest"], single["digest"]);
}
