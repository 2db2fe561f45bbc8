//! Final results depend on the input alone: not on the epoch length, the worker count or
//! the order of out-of-order input within the allowed lateness.
//!
//! For every workload under the event clock, the `final` rows of the output file (for
//! windowed output; without their epoch) or the consolidated output (for the rest) are
//! the same for epochs of 1, 3, 7, 10 and 100 ms and the workload's default, on 1 and 3
//! workers, and for the baseline; on generated input, and on the same events shuffled by
//! at most the allowed lateness. Then the exact bounds: events exactly a session gap
//! apart, exactly at a tumbling window's end, exactly at a hopping window's slide.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::small_params;
use reprise_cli::workload::{Input, Workload};
use reprise_engine::output::{Emit, FileFormat, OutputSpec};
use reprise_engine::{Clock, EpochConfig, Params, RunConfig};
use serde_json::{Map, Value};

const EPOCH_LENGTHS: [u64; 5] = [1, 3, 7, 10, 100];

/// How far, in ms, the shuffled input moves an event back; the runs allow this lateness.
const DISORDER_MS: u64 = 40;

/// Queries without state that closes, whose results do not depend on input order at all.
const ORDER_FREE: &[&str] = &["nexmark-q0", "nexmark-q1", "nexmark-q2", "nexmark-q3"];

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-epoch-length-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The parameters of this test: a short span of event time (so 1 ms epochs stay cheap),
/// and the allowed lateness where the workload has one.
fn params(workload: &dyn Workload) -> Params {
    let info = workload.info();
    let (mut overrides, _) = small_params(info.name);
    if info.name == "user-visits" {
        // Its small parameters span minutes: 1 ms epochs would be a million of them.
        overrides = vec![
            "rate=1000".into(),
            "window_ms=200".into(),
            "users=300".into(),
        ];
    }
    if [
        "nexmark-q10",
        "nexmark-q14",
        "nexmark-q15",
        "nexmark-q16",
        "nexmark-q17",
    ]
    .contains(&info.name)
    {
        // Likewise (one event a second, for the hours and minutes of the day).
        overrides = vec!["rate=1000".into()];
    }
    if info.params.iter().any(|p| p.name == "lateness_ms") {
        overrides.push(format!("lateness_ms={DISORDER_MS}"));
    }
    info.parse_params(&overrides).unwrap()
}

fn has_lateness(workload: &dyn Workload) -> bool {
    workload
        .info()
        .params
        .iter()
        .any(|p| p.name == "lateness_ms")
}

/// The event time of a dataset line: `ts`, or a Nexmark event's `date_time`; `None` for a
/// row of q13's side table, which has none (it stays first: the table loaded at start).
fn event_time(line: &str) -> Option<u64> {
    let value: Value = serde_json::from_str(line).unwrap();
    if value.get("Side").is_some() {
        return None;
    }
    let time = value.get("ts").or_else(|| {
        let (_, event) = value.as_object()?.iter().next()?;
        event.get("date_time")
    });
    Some(
        time.and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("no event time in {line}")),
    )
}

/// Writes the generated dataset, and the same events with each one moved back by up to
/// [`DISORDER_MS`] of event time (ordered by time plus a pseudo-random delay in
/// `0..=DISORDER_MS`), so no event arrives after one more than that later than itself.
fn datasets(workload: &dyn Workload, params: &Params, events: u64, dir: &Path) -> [PathBuf; 2] {
    let name = workload.info().name;
    let mut data = Vec::new();
    workload
        .generate(params, events, 11, &mut data, FileFormat::JsonLines)
        .unwrap();
    let text = String::from_utf8(data).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut order: Vec<usize> = (0..lines.len()).collect();
    let delay = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58; // 0..=63
    order.sort_by_key(|&i| {
        let moved = event_time(lines[i]).map(|time| time + delay(i) * DISORDER_MS / 63);
        (moved, i)
    });
    let in_order = dir.join(format!("{name}-in-order.jsonl"));
    let shuffled = dir.join(format!("{name}-shuffled.jsonl"));
    std::fs::write(&in_order, lines.join("\n") + "\n").unwrap();
    let moved: Vec<&str> = order.iter().map(|&i| lines[i]).collect();
    assert_ne!(moved, lines, "{name}: the shuffle moved nothing");
    std::fs::write(&shuffled, moved.join("\n") + "\n").unwrap();
    [in_order, shuffled]
}

/// The result of an output file: its final rows, or else its consolidated updates; each
/// row without its epoch, counted.
fn result(path: &Path) -> BTreeMap<String, i64> {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Map<String, Value>> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let finals = rows.iter().any(|row| row["kind"] == "final");
    let mut result = BTreeMap::new();
    for mut row in rows {
        if (row["kind"] == "final") != finals {
            continue;
        }
        row.remove("epoch");
        row.remove("kind");
        let diff = row.remove("diff").and_then(|d| d.as_i64()).unwrap();
        *result.entry(Value::Object(row).to_string()).or_insert(0) += diff;
    }
    result.retain(|_, count| *count != 0);
    result
}

/// Runs the engine (or, with `workers` 0, the baseline) and returns its result.
fn outcome(
    workload: &dyn Workload,
    params: &Params,
    input: &Input,
    epoch_ms: u64,
    workers: usize,
    file: &Path,
) -> BTreeMap<String, i64> {
    let spec = OutputSpec::file(file, FileFormat::JsonLines, Emit::Both);
    let epochs = EpochConfig {
        epoch_ms,
        clock: Clock::Event,
    };
    if workers == 0 {
        workload
            .baseline(params, input, &epochs, Some(&spec))
            .unwrap();
    } else {
        let mut config = RunConfig::new(workers, epoch_ms);
        config.output = Some(spec);
        workload.run(params, input, &config, &mut |_| {}).unwrap();
    }
    result(file)
}

fn check_epoch_lengths(events: u64) {
    let dir = scratch();
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        let params = params(workload);
        let [in_order, shuffled] = datasets(workload, &params, events, &dir);
        let file = |path: &Path| Input::File {
            path: Some(path.to_path_buf()),
            format: FileFormat::JsonLines,
        };
        let out = dir.join(format!("{name}-out.jsonl"));
        let default_ms = workload.info().default_epoch_ms;
        let expected = outcome(workload, &params, &file(&in_order), default_ms, 1, &out);
        assert!(!expected.is_empty(), "{name}: no result to compare");
        let mut inputs = vec![("generated", file(&in_order))];
        if has_lateness(workload) || ORDER_FREE.contains(&name) {
            inputs.push(("shuffled within the lateness", file(&shuffled)));
        }
        for (what, input) in &inputs {
            for epoch_ms in EPOCH_LENGTHS.into_iter().chain([default_ms]) {
                for workers in [0, 1, 3] {
                    let got = outcome(workload, &params, input, epoch_ms, workers, &out);
                    if got != expected {
                        let missing: Vec<_> = expected
                            .iter()
                            .filter(|(r, n)| got.get(*r) != Some(n))
                            .collect();
                        let extra: Vec<_> = got
                            .iter()
                            .filter(|(r, n)| expected.get(*r) != Some(n))
                            .collect();
                        let by = match workers {
                            0 => "the baseline".to_string(),
                            w => format!("{w} workers"),
                        };
                        panic!(
                            "{name}, {what} input, {epoch_ms} ms epochs, {by}: the result differs \
                             from {default_ms} ms epochs on 1 worker\n  missing {} rows, e.g. {:?}\n  \
                             extra {} rows, e.g. {:?}",
                            missing.len(),
                            missing.first(),
                            extra.len(),
                            extra.first()
                        );
                    }
                }
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn final_results_do_not_depend_on_the_epoch_length() {
    check_epoch_lengths(1500);
}

#[test]
#[ignore = "slow: 20,000 events per workload at 1 ms epochs (a few minutes in release)"]
fn final_results_do_not_depend_on_the_epoch_length_on_a_larger_input() {
    check_epoch_lengths(20_000);
}

/// Runs `workload` on JSON lines at every epoch length and worker count (and the
/// baseline), asserts the result is the same for all, and returns it.
fn same_everywhere(name: &str, overrides: &[&str], lines: &[String]) -> Vec<String> {
    let dir = scratch();
    let workload = reprise_workloads::find(name).unwrap();
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let params = workload.info().parse_params(&overrides).unwrap();
    let path = dir.join(format!("{name}-bounds.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let input = Input::File {
        path: Some(path),
        format: FileFormat::JsonLines,
    };
    let out = dir.join(format!("{name}-bounds-out.jsonl"));
    let mut results = BTreeMap::new();
    for epoch_ms in EPOCH_LENGTHS
        .into_iter()
        .chain([workload.info().default_epoch_ms])
    {
        for workers in [0, 1, 3] {
            let got = outcome(workload, &params, &input, epoch_ms, workers, &out);
            results.insert((epoch_ms, workers), got);
        }
    }
    let first = results.values().next().unwrap().clone();
    for ((epoch_ms, workers), got) in &results {
        assert_eq!(
            got, &first,
            "{name}: {epoch_ms} ms epochs, {workers} workers (0: baseline)"
        );
    }
    first
        .into_iter()
        .flat_map(|(row, n)| std::iter::repeat_n(row, n as usize))
        .collect()
}

fn bid(bidder: u64, auction: u64, date_time: u64) -> String {
    format!(
        r#"{{"Bid":{{"auction":{auction},"bidder":{bidder},"price":100,"channel":"Google","url":"u","date_time":{date_time},"extra":""}}}}"#
    )
}

#[test]
fn bids_exactly_one_gap_apart_share_a_session_whatever_the_epoch_length() {
    // Regression: a session ending on an epoch boundary closed in the epoch holding the
    // bid exactly at its end, which then started a session of its own (10 ms epochs).
    let lines = [
        bid(1, 5, 0),
        bid(1, 5, 10_000), // exactly the gap after: the same session
        bid(2, 5, 10_000),
        bid(2, 5, 20_001), // one ms more than the gap: a new session
        bid(3, 5, 29_990),
    ];
    let sessions = same_everywhere("nexmark-q11", &[], &lines);
    let expected = [
        r#"{"bid_count":1,"bidder":2,"end_time":20000,"start_time":10000}"#,
        r#"{"bid_count":1,"bidder":2,"end_time":30001,"start_time":20001}"#,
        r#"{"bid_count":1,"bidder":3,"end_time":39990,"start_time":29990}"#,
        r#"{"bid_count":2,"bidder":1,"end_time":20000,"start_time":0}"#,
    ];
    assert_eq!(sessions, expected);
}

#[test]
fn an_event_exactly_at_a_tumbling_windows_end_opens_the_next_window() {
    let line = |id: u64, ts: u64| format!(r#"{{"id":{id},"value":500,"ts":{ts}}}"#);
    let lines = [
        line(1, 0),
        line(1, 99),
        line(1, 100),
        line(1, 199),
        line(1, 200),
    ];
    let params = ["window_ms=100", "partitions=1", "threshold=0"];
    let windows = same_everywhere("filter-count", &params, &lines);
    let expected = [
        r#"{"count":1,"key":0,"window_start":200}"#,
        r#"{"count":2,"key":0,"window_start":0}"#,
        r#"{"count":2,"key":0,"window_start":100}"#,
    ];
    assert_eq!(windows, expected);
}

#[test]
fn a_bid_exactly_at_a_slide_belongs_to_the_windows_starting_there_not_before() {
    // Windows of 400 ms every 200 ms: 199 is in [0, 400); 200 is in [0, 400) and
    // [200, 600); 599 in [200, 600) and [400, 800); 600 in [400, 800) and [600, 1000).
    let lines = [
        bid(1, 7, 199),
        bid(1, 7, 200),
        bid(1, 8, 599),
        bid(1, 8, 600),
    ];
    let hot = same_everywhere("nexmark-q5", &["window_ms=400", "slide_ms=200"], &lines);
    let expected = [
        r#"{"auction":7,"bids":1,"window_start":200}"#,
        r#"{"auction":7,"bids":2,"window_start":0}"#,
        r#"{"auction":8,"bids":1,"window_start":200}"#,
        r#"{"auction":8,"bids":1,"window_start":600}"#,
        r#"{"auction":8,"bids":2,"window_start":400}"#,
    ];
    assert_eq!(hot, expected);
}

// Bounds near the top of u64: the right answer, or an error naming the value.

/// The largest event time accepted (`reprise_engine::MAX_EVENT_TIME_MS`), written out so
/// that a change to it shows here.
const TOP: u64 = 1 << 62;

#[test]
fn windows_near_the_largest_event_time_give_the_right_counts() {
    let line = |ts: u64, text: &str| format!(r#"{{"ts":{ts},"text":"{text}"}}"#);
    let start = TOP - TOP % 100;
    let lines = [
        line(start - 1, "a"),
        line(start, "a b"),
        line(TOP, "a"), // exactly the largest time: accepted, in the same window
    ];
    let counts = same_everywhere(
        "wordcount",
        &["window_ms=100", "lateness_ms=1000000"],
        &lines,
    );
    let row = |start: u64, word: &str, count: u64| {
        format!(r#"{{"count":{count},"window_start":{start},"word":"{word}"}}"#)
    };
    assert_eq!(
        counts,
        [
            row(start - 100, "a", 1),
            row(start, "b", 1),
            row(start, "a", 2)
        ]
    );
}

#[test]
fn an_auction_that_never_expires_still_takes_its_bids() {
    // Regression: `expires + 1` wrapped to 0, so the auction closed on arrival.
    let auction = format!(
        r#"{{"Auction":{{"id":1000,"item_name":"i","description":"d","initial_bid":1,"reserve":1,"date_time":5,"expires":{},"seller":1,"category":10,"extra":""}}}}"#,
        u64::MAX
    );
    let lines = [auction, bid(7, 1000, 6)];
    let winners = same_everywhere("nexmark-q9", &[], &lines);
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert!(winners[0].contains(r#""bidder":7"#), "{winners:?}");
}

/// The error of a run on `lines`.
fn run_error(name: &str, overrides: &[&str], lines: &[&str], file: &str) -> String {
    let dir = scratch();
    let workload = reprise_workloads::find(name).unwrap();
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let params = match workload.info().parse_params(&overrides) {
        Ok(params) => params,
        Err(e) => return e.to_string(),
    };
    let path = dir.join(file);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let input = Input::File {
        format: FileFormat::of_path(&path).unwrap(),
        path: Some(path),
    };
    let engine = workload.run(&params, &input, &RunConfig::new(2, 10), &mut |_| {});
    let epochs = EpochConfig::event_time(10);
    let baseline = workload.baseline(&params, &input, &epochs, None);
    match (engine, baseline) {
        (Err(engine), Err(baseline)) => {
            assert_eq!(engine.to_string(), baseline.to_string());
            engine.to_string()
        }
        (engine, baseline) => panic!(
            "{name}: expected errors, got engine {:?} and baseline {:?}",
            engine.map(|r| r.events),
            baseline.map(|r| r.events)
        ),
    }
}

#[test]
fn an_event_time_beyond_the_largest_is_an_error_naming_line_and_value() {
    // Regression: this line was dropped as 2 late events and the run succeeded.
    let lines = ["ts,text", "5,hello", "18446744073709551000,hello world"];
    let error = run_error("wordcount", &[], &lines, "huge-time.csv");
    assert!(
        error.contains("line 3") && error.contains("18446744073709551000"),
        "{error}"
    );
    let top = format!("{},hello", TOP + 1);
    let error = run_error("wordcount", &[], &["ts,text", &top], "above-top.csv");
    assert!(
        error.contains("line 2") && error.contains(&(TOP + 1).to_string()),
        "{error}"
    );
}

#[test]
fn durations_beyond_the_largest_are_errors_naming_the_parameter() {
    // Regression: lateness_ms=u64::MAX wrapped round to the digests of lateness_ms=0.
    let cases: &[(&str, &str)] = &[
        ("wordcount", "lateness_ms=18446744073709551615"),
        ("filter-count", "window_ms=18446744073709551615"),
        ("nexmark-q11", "gap_ms=18446744073709551615"),
        ("nexmark-q5", "lateness_ms=1152921504606846977"), // 2^60 + 1
    ];
    for (name, param) in cases {
        let error = run_error(name, &[param], &[], "unused.jsonl");
        assert!(
            error.contains(param) && error.contains("out of range: 0 to 2^60"),
            "{name} {param}: {error}"
        );
    }
}
