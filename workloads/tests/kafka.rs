//! Kafka source and sink against a real Kafka-protocol broker: tansu 0.6 with its SQLite
//! storage engine, started per test on a free loopback port (`scripts/install-tansu.sh`
//! installs it; `scripts/test.sh`, the README's test command that CI runs, does, and sets
//! `REPRISE_KAFKA_TESTS=require` so that a missing broker fails instead of skipping these
//! tests).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reprise_kafka::{Bounds, KafkaUrl, Order};

/// A tansu broker in a scratch folder, stopped (and its folder removed) on drop.
struct Broker {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Broker {
    /// Starts a broker, or returns `None` (test skipped) when tansu is not installed and
    /// not required.
    fn start(test: &str) -> Option<Broker> {
        let tansu = std::env::var("TANSU").unwrap_or_else(|_| "tansu".into());
        if Command::new(&tansu).arg("--help").output().is_err() {
            let required = std::env::var("REPRISE_KAFKA_TESTS").is_ok_and(|v| v == "require");
            assert!(
                !required,
                "tansu is not installed: run scripts/install-tansu.sh (or set TANSU=/path/to/tansu)"
            );
            eprintln!("skipping {test}: tansu is not installed (scripts/install-tansu.sh)");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("reprise-kafka-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listener = format!("tcp://127.0.0.1:{port}");
        let mut child = Command::new(&tansu)
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            // The SQLite path must be relative to the broker's folder.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        let (ready_tx, ready_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        // Drain the broker's output for as long as it runs, so it never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("ready in") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let broker = Broker { child, dir, port };
        ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("tansu prints `ready in` within 30 s");
        Some(broker)
    }

    fn url(&self, topic: &str) -> String {
        format!("kafka://127.0.0.1:{}/{topic}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `reprise` to completion, or kills it after two minutes (a hang fails the test
/// with what it printed).
fn reprise(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the reprise binary runs");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "reprise {args:?} hung; it printed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "reprise failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn digest(out: &Output) -> String {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["digest"].as_str().unwrap().to_string()
}

fn scratch(test: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("reprise-kafka-files-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every message of a topic, as text, read until it has been idle for a second.
fn messages(url: &str) -> Vec<String> {
    let url = KafkaUrl::parse(url).unwrap();
    let bounds = Bounds {
        records: None,
        until_idle: Some(Duration::from_secs(1)),
    };
    let parse = Box::new(|bytes: &[u8]| Ok(String::from_utf8_lossy(bytes).into_owned()));
    reprise_kafka::records(&url, Order::Arrival, bounds, parse, |_| 0)
        .unwrap()
        .map(|m| m.unwrap())
        .collect()
}

#[test]
fn a_topic_with_three_partitions_gives_the_digests_of_the_generated_dataset() {
    let Some(broker) = Broker::start("partitions") else {
        return;
    };
    // A JSON workload (Nexmark, windows) with partitions of several fetches each (a broker
    // may report the end of a fetch as the end of the partition), and a CSV one.
    for (workload, events, dataset_params, job_params) in [
        (
            "nexmark-q5",
            "60000",
            vec!["-p", "rate=1000"],
            vec!["-p", "window_ms=500", "-p", "slide_ms=100"],
        ),
        (
            "filter-count",
            "3000",
            vec!["-p", "rate=5000"],
            vec!["-p", "window_ms=100"],
        ),
    ] {
        let topic = broker.url(&format!("{workload}?partitions=3"));
        let mut gen_args = vec![
            "gen", workload, "--events", events, "--seed", "3", "-o", &topic,
        ];
        gen_args.extend(&dataset_params);
        let out = ok(reprise(&gen_args));
        assert!(String::from_utf8_lossy(&out.stderr).contains("3 partitions"));
        // The generator's parameters shape the generated run only: a run from the topic
        // refuses them.
        let common: Vec<&str> = ["--epoch-ms", "20", "--format", "json", "--quiet"]
            .into_iter()
            .chain(job_params.iter().copied())
            .collect();
        let mut generated = vec![
            "run",
            workload,
            "--events",
            events,
            "--seed",
            "3",
            "--workers",
            "1",
        ];
        generated.extend(&common);
        generated.extend(&dataset_params);
        let expected = digest(&ok(reprise(&generated)));
        let from_topic = broker.url(workload);
        for workers in ["1", "2"] {
            let mut args = vec!["run", workload, "--input", &from_topic, "--events", events];
            args.extend(["--workers", workers]);
            args.extend(&common);
            assert_eq!(
                digest(&ok(reprise(&args))),
                expected,
                "{workload} from a 3-partition topic, {workers} workers"
            );
        }
    }
}

#[test]
fn a_processing_time_run_from_kafka_replays_without_the_broker() {
    let Some(mut broker) = Broker::start("processing") else {
        return;
    };
    let dir = scratch("processing");
    let log = dir.join("run.rlog").display().to_string();
    let topic = broker.url("lines?partitions=2");
    ok(reprise(&[
        "gen",
        "wordcount",
        "--events",
        "5000",
        "-o",
        &topic,
        "-p",
        "vocabulary=300",
    ]));
    let from_topic = broker.url("lines");
    ok(reprise(&[
        "run",
        "wordcount",
        "--input",
        &from_topic,
        "--until-idle",
        "1000",
        "--clock",
        "processing",
        "--epoch-ms",
        "2",
        "-p",
        "window_ms=10",
        "--workers",
        "2",
        "--record",
        &log,
        "--quiet",
    ]));
    broker.stop();
    let out = ok(reprise(&["replay", &log, "--workers", "3"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("replay matches"), "{text}");
}

#[test]
fn the_output_topic_holds_the_rows_of_the_output_file() {
    let Some(broker) = Broker::start("sink") else {
        return;
    };
    let dir = scratch("sink");
    let file = dir.join("out.jsonl").display().to_string();
    let out_topic = broker.url("out?partitions=3");
    let run = |output: &str| {
        let out = ok(reprise(&[
            "run",
            "nexmark-q7",
            "--events",
            "3000",
            "-p",
            "rate=1000",
            "-p",
            "window_ms=200",
            "--epoch-ms",
            "20",
            "--workers",
            "2",
            "--output",
            output,
            "--format",
            "json",
        ]));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let to_file = run(&file);
    let to_topic = run(&out_topic);
    let rows = |report: &serde_json::Value| {
        report["output"]["update_rows"].as_u64().unwrap()
            + report["output"]["final_rows"].as_u64().unwrap()
    };
    assert_eq!(
        rows(&to_topic),
        rows(&to_file),
        "the report counts the messages"
    );
    let count = |lines: Vec<String>| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        lines
            .into_iter()
            .for_each(|l| *counts.entry(l).or_default() += 1);
        counts
    };
    let file_rows = count(
        std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(String::from)
            .collect(),
    );
    assert!(file_rows.len() > 10, "too little output to compare");
    assert_eq!(count(messages(&broker.url("out"))), file_rows);
}

#[test]
fn a_broker_that_stops_mid_run_is_a_clear_error_and_the_log_replays() {
    let Some(mut broker) = Broker::start("stops") else {
        return;
    };
    let dir = scratch("stops");
    let log = dir.join("run.rlog").display().to_string();
    ok(reprise(&[
        "gen",
        "nexmark",
        "--events",
        "400000",
        "-p",
        "rate=20000",
        "-o",
        &broker.url("bids"),
    ]));
    let from_topic = broker.url("bids?timeout_ms=2000");
    let run = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args([
            "run",
            "nexmark-q7",
            "--input",
            &from_topic,
            "--events",
            "400000",
        ])
        .args(["-p", "window_ms=100", "--record", &log, "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let some epochs complete (the broker serves tens of thousands of records a second).
    std::thread::sleep(Duration::from_millis(2500));
    let stopped = Instant::now();
    broker.stop();
    let out = run.wait_with_output().unwrap();
    let waited = stopped.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "lost the Kafka broker at 127.0.0.1:{}",
            broker.port
        )),
        "{stderr}"
    );
    assert!(
        waited < Duration::from_secs(20),
        "the error took {waited:?}"
    );
    let replay = ok(reprise(&["replay", &log, "--workers", "2"]));
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(
        text.contains("replay matches") && !text.contains("matches: 0 epochs"),
        "{text}"
    );
}

#[test]
fn a_missing_topic_and_a_malformed_message_are_named() {
    let Some(broker) = Broker::start("errors") else {
        return;
    };
    let missing = reprise(&[
        "run",
        "nexmark-q0",
        "--input",
        &broker.url("nope"),
        "--events",
        "1",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("topic `nope` does not exist"), "{stderr}");

    // CSV filter-count events are not Nexmark JSON.
    ok(reprise(&[
        "gen",
        "filter-count",
        "--events",
        "10",
        "-o",
        &broker.url("csv"),
    ]));
    let bad = reprise(&[
        "run",
        "nexmark-q0",
        "--input",
        &broker.url("csv"),
        "--events",
        "10",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("partition 0, offset 0") && stderr.contains("the message begins `"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_broker_is_an_error_naming_it_within_the_timeout() {
    // Nothing listens on port 9 of loopback; no broker needed.
    let started = Instant::now();
    let out = reprise(&[
        "run",
        "nexmark-q0",
        "--input",
        "kafka://127.0.0.1:9/bids?timeout_ms=1500",
        "--events",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the Kafka broker at 127.0.0.1:9 within 1500 ms"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
