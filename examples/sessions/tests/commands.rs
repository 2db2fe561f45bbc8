//! The sessions program's commands: a job with neither generator nor baseline is still
//! run, recorded, replayed and checked across worker counts.

use std::path::Path;
use std::process::{Command, Output};

const CLICKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/clicks.jsonl");

fn sessions(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sessions"))
        .args(args)
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

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", said(out));
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn run(extra: &[&str]) -> serde_json::Value {
    let args = [
        &[
            "run", "sessions", "--input", CLICKS, "--format", "json", "-q",
        ][..],
        extra,
    ];
    json(&sessions(&args.concat()))
}

#[test]
fn visits_do_not_depend_on_workers_and_replay_exactly() {
    let one = run(&["--workers", "1"]);
    let three = run(&["--workers", "3"]);
    assert_eq!(one["digest"], three["digest"]);
    let log = std::env::temp_dir().join(format!("sessions-{}.rlog", std::process::id()));
    let log = log.display().to_string();
    run(&["--workers", "2", "--record", &log]);
    let replayed = json(&sessions(&[
        "replay",
        &log,
        "--workers",
        "3",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(replayed["matches"], true, "{replayed}");
    assert_eq!(replayed["digest"], one["digest"]);
}

#[test]
fn final_visits_are_the_runs_of_clicks_at_most_a_gap_apart() {
    // From the file, by hand: per user, clicks at most 30 minutes apart share a visit.
    let mut clicks: Vec<(String, u64)> = std::fs::read_to_string(CLICKS)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["user"].as_str().unwrap().to_string(),
                v["ts"].as_u64().unwrap(),
            )
        })
        .collect();
    clicks.sort();
    let mut expected = Vec::new();
    for user_clicks in clicks.chunk_by(|a, b| a.0 == b.0) {
        for visit in user_clicks.chunk_by(|a, b| b.1 - a.1 <= 1_800_000) {
            let (start, last) = (visit[0].1, visit[visit.len() - 1].1);
            expected.push(format!(
                "{},{start},{},{}",
                visit[0].0,
                last + 1_800_000,
                visit.len()
            ));
        }
    }
    let file = std::env::temp_dir().join(format!("visits-{}.csv", std::process::id()));
    run(&[
        "--output",
        &file.display().to_string(),
        "--emit",
        "final",
        "--workers",
        "2",
    ]);
    let mut visits: Vec<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|row| row.split(',').skip(2).take(4).collect::<Vec<_>>().join(","))
        .collect();
    expected.sort();
    visits.sort();
    assert!(expected.len() > 20, "{} visits", expected.len());
    assert_eq!(visits, expected);
}

#[test]
fn without_a_baseline_the_check_says_so() {
    let out = sessions(&[
        "run", "sessions", "--input", CLICKS, "--check", "baseline", "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));
    assert!(
        said(&out).contains("`sessions` has no baseline"),
        "{}",
        said(&out)
    );
}

#[test]
fn its_golden_log_replays() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let out = sessions(&["replay", &golden.display().to_string(), "--workers", "3"]);
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("0 failed"), "{}", said(&out));
}
