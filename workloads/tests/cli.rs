//! The `reprise` command end to end: reports, files, errors and exit codes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn reprise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(args)
        .output()
        .expect("the reprise binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

#[test]
fn run_reports_as_json_with_the_documented_fields() {
    let out = reprise(&[
        "run",
        "filter-count",
        "--events",
        "20000",
        "--workers",
        "2",
        "--format",
        "json",
        "--check",
        "baseline",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    for field in [
        "workload",
        "workers",
        "events",
        "epochs",
        "events_per_sec",
        "digest",
        "latency_p50_ms",
        "latency_p99_ms",
    ] {
        assert!(report.get(field).is_some(), "missing {field} in {report}");
    }
    assert_eq!(report["workload"], "filter-count");
    assert_eq!(report["events"], 20000);
    assert_eq!(report["check"]["matches"], true);
    assert_eq!(report["digest"], report["check"]["baseline_digest"]);
}

#[test]
fn list_names_every_workload_and_its_parameters() {
    let out = reprise(&["list"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for name in [
        "filter-count",
        "traffic-share",
        "user-visits",
        "wordcount",
        "threshold=100",
        "id,value,ts",
    ] {
        assert!(text.contains(name), "`reprise list` lacks {name}");
    }
}

#[test]
fn a_bad_flag_is_clap_usage_error() {
    let out = reprise(&["run", "filter-count", "--wokers", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--wokers'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_unknown_parameter_lists_the_known_ones() {
    let out = reprise(&["run", "filter-count", "--param", "treshold=5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown parameter `treshold`") && stderr(&out).contains("threshold"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn malformed_input_lines_are_named() {
    let dir = scratch("malformed");
    let csv = path(&dir, "bad.csv");
    std::fs::write(&csv, "id,value,ts\n1,200,5\n2,300,6\n3,many,7\n4,500,8\n").unwrap();
    let out = reprise(&["run", "filter-count", "--input", &csv, "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.csv, line 4"), "{}", stderr(&out));

    let json = path(&dir, "bad.jsonl");
    std::fs::write(
        &json,
        "{\"id\":1,\"value\":200,\"ts\":5}\n{\"id\":2,\"value\":200}\n",
    )
    .unwrap();
    let out = reprise(&["run", "filter-count", "--input", &json, "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.jsonl, line 2") && stderr(&out).contains("missing field `ts`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn gen_is_byte_identical_and_files_give_the_generated_digest() {
    let dir = scratch("gen");
    let (a, b) = (path(&dir, "a.csv"), path(&dir, "b.csv"));
    for file in [&a, &b] {
        let out = reprise(&[
            "gen", "lines", "--events", "3000", "--seed", "4", "-o", file,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let json = path(&dir, "a.jsonl");
    assert!(
        reprise(&[
            "gen",
            "wordcount",
            "--events",
            "3000",
            "--seed",
            "4",
            "-o",
            &json
        ])
        .status
        .success()
    );

    let digest = |args: &[&str]| -> String {
        let out = reprise(&[&["run", "wordcount", "--format", "json", "-q"], args].concat());
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let generated = digest(&["--events", "3000", "--seed", "4"]);
    assert_eq!(digest(&["--input", &a]), generated);
    assert_eq!(digest(&["--input", &json, "--workers", "2"]), generated);
}

#[test]
fn stdin_input_is_read() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args([
            "run",
            "filter-count",
            "--input",
            "-",
            "--format",
            "json",
            "-q",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"id,value,ts\n1,200,5\n2,300,1500\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["events"], 2);
    assert_eq!(report["output_updates"], 4); // two windows: each inserted, then retracted
}

/// Reads an output CSV into rows of (epoch, kind, fields..., diff).
fn rows(file: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("epoch,kind,window_start,key,count,diff"));
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn output_files_are_identical_for_any_worker_count_and_final_rows_are_the_window_counts() {
    let dir = scratch("output");
    let events = path(&dir, "events.csv");
    assert!(
        reprise(&[
            "gen",
            "events",
            "--events",
            "5000",
            "--seed",
            "3",
            "-o",
            &events,
            "-p",
            "rate=2000"
        ])
        .status
        .success()
    );
    let (one, two) = (path(&dir, "one.csv"), path(&dir, "two.csv"));
    for (file, workers) in [(&one, "1"), (&two, "2")] {
        let out = reprise(&[
            "run",
            "filter-count",
            "--input",
            &events,
            "--workers",
            workers,
            "--output",
            file,
            "--epoch-ms",
            "250",
            "-q",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());

    // Final rows, counted independently from the dataset.
    let mut expected: BTreeMap<(u64, u64), i64> = BTreeMap::new();
    let text = std::fs::read_to_string(&events).unwrap();
    for line in text.lines().skip(1) {
        let f: Vec<u64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        if f[1] > 100 {
            *expected.entry((f[2] / 1000 * 1000, f[0] % 3)).or_default() += 1;
        }
    }
    let finals: BTreeMap<(u64, u64), i64> = rows(&one)
        .into_iter()
        .filter(|r| r[1] == "final")
        .map(|r| {
            (
                (r[2].parse().unwrap(), r[3].parse().unwrap()),
                r[4].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(finals, expected);

    // The updates, summed per window and key, cancel out: every window was retracted.
    let mut net: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in rows(&one).into_iter().filter(|r| r[1] == "update") {
        *net.entry((r[2].clone(), r[3].clone())).or_default() += r[5].parse::<i64>().unwrap();
    }
    assert!(net.values().all(|n| *n == 0), "{net:?}");
}

#[test]
fn out_of_order_input_beyond_lateness_is_dropped_and_counted() {
    let dir = scratch("late");
    let csv = path(&dir, "late.csv");
    // Window [0, 1000) closes at epoch 10 (epoch 100 ms); ts 50 arrives after ts 1200.
    std::fs::write(&csv, "id,value,ts\n0,500,10\n0,500,1200\n0,500,50\n").unwrap();
    let json = |lateness: &str| -> serde_json::Value {
        let out = reprise(&[
            "run",
            "filter-count",
            "--input",
            &csv,
            "--format",
            "json",
            "-q",
            "-p",
            &format!("lateness_ms={lateness}"),
            "--check",
            "baseline",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    assert_eq!(json("0")["late_events"], 1);
    assert_eq!(json("500")["late_events"], 0);
}

fn replay_json(log: &str) -> serde_json::Value {
    let out = reprise(&["replay", log, "--workers", "3", "--format", "json", "-q"]);
    assert!(
        out.status.success(),
        "replay failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn a_run_killed_with_sigkill_leaves_a_log_whose_complete_epochs_replay() {
    let dir = scratch("sigkill");
    let log = path(&dir, "killed.rlog");
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args([
            "run",
            "filter-count",
            "--events",
            "2000000000",
            "--workers",
            "2",
            "--record",
            &log,
            // The test waits for the log to grow: keep every event.
            "--record-full",
            "-q",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&log).map_or(0, |m| m.len()) < 8 << 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run recorded nothing in 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let report = replay_json(&log);
    assert_eq!(report["matches"], true);
    assert!(report["epochs_compared"].as_u64().unwrap() >= 2, "{report}");
    assert!(report["events"].as_u64().unwrap() > 100_000, "{report}");
}

#[test]
fn a_panicking_run_names_the_replay_command_and_its_log_replays() {
    let dir = scratch("panic");
    let log = path(&dir, "panic.rlog");
    let out = reprise(&[
        "run",
        "wordcount",
        "--events",
        "200000",
        "--workers",
        "2",
        "--record",
        &log,
        "--inject-panic-at-epoch",
        "12",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("worker 0 panicked") && message.contains("injected failure"),
        "{message}"
    );
    assert!(
        message
            .trim_end()
            .ends_with(&format!("reprise replay {log}")),
        "{message}"
    );
    let report = replay_json(&log);
    assert_eq!(report["matches"], true);
    assert!(report["epochs_replayed"].as_u64().unwrap() >= 8, "{report}");
    assert!(
        report["recorded_failure"]
            .as_str()
            .unwrap()
            .contains("injected failure"),
        "{report}"
    );
}

#[test]
fn replay_of_a_damaged_log_is_a_clear_error() {
    let dir = scratch("damaged");
    let log = path(&dir, "run.rlog");
    assert!(
        reprise(&[
            "run",
            "filter-count",
            "--events",
            "100000",
            "--record",
            &log,
            "-q"
        ])
        .status
        .success()
    );
    let mut bytes = std::fs::read(&log).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&log, &bytes).unwrap();
    let out = reprise(&["replay", &log, "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("run.rlog") && message.contains("at byte") && message.contains("checksum"),
        "{message}"
    );
}

#[test]
fn replay_of_a_folder_prints_one_line_per_log() {
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/golden");
    let out = reprise(&["replay", golden, "--workers", "2", "--format", "json", "-q"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let entries: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(entries.len() >= 4);
    assert!(
        entries.iter().all(|e| e["result"] == "matches"),
        "{entries:?}"
    );
}

#[test]
fn bless_rewrites_only_the_digests_and_says_which_epochs_changed() {
    let dir = scratch("bless");
    let (log, copy) = (path(&dir, "run.rlog"), path(&dir, "copy.rlog"));
    let run = [
        "run",
        "filter-count",
        "--events",
        "3000",
        "--epoch-ms",
        "20",
        "-p",
        "rate=5000",
        "-p",
        "window_ms=100",
        "-q",
    ];
    assert!(
        reprise(&[&run[..], &["--record", &log]].concat())
            .status
            .success()
    );
    std::fs::copy(&log, &copy).unwrap();
    let inspect = |log: &str| -> serde_json::Value {
        serde_json::from_slice(&reprise(&["inspect", log, "--format", "json"]).stdout).unwrap()
    };

    // What a change of semantics looks like to replay: one epoch's recorded digest differs.
    let tampered = tamper_one_digest(&copy);
    let out = reprise(&["replay", &copy, "-q"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("DIVERGES at epoch {tampered}:")),
        "{}",
        stdout(&out)
    );

    let out = reprise(&["replay", &copy, "--bless", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(
        said.contains("blessed; 1 of ")
            && said
                .trim_end()
                .ends_with(&format!("epochs changed: {tampered}")),
        "{said}"
    );
    assert!(
        reprise(&["replay", &copy, "--check", "-q"])
            .status
            .success()
    );
    assert_eq!(inspect(&copy)["digests"], inspect(&log)["digests"]);
    // The input blocks are copied unchanged: the same events and bytes in every epoch.
    assert_eq!(inspect(&copy)["epochs"], inspect(&log)["epochs"]);
    assert_eq!(inspect(&copy)["header"], inspect(&log)["header"]);
}

/// Changes one recorded digest of `log`, as a change of semantics would; returns its epoch.
fn tamper_one_digest(log: &str) -> u64 {
    use reprise_engine::digest::{DigestLog, EpochDigest};
    let scanned = reprise_engine::log::scan(Path::new(log)).unwrap();
    let (epoch, _) = scanned.digests.iter().nth(3).unwrap();
    let mut tampered = DigestLog::default();
    for (e, d) in scanned.digests.iter() {
        let digest = if e == epoch { d.digest ^ 1 } else { d.digest };
        tampered.add(
            e,
            EpochDigest {
                digest,
                updates: d.updates,
            },
        );
    }
    reprise_engine::log::bless(Path::new(log), &tampered).unwrap();
    epoch
}

#[cfg(unix)]
#[test]
fn compare_replays_a_full_log_of_each_replayed_configuration() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("compare-replay");
    let out_dir = path(&dir, "out");
    // The build compared is the binary behind a script that notes each command it runs.
    let calls = path(&dir, "calls.txt");
    let traced = path(&dir, "traced.sh");
    let script = format!(
        "#!/bin/sh\necho \"$1\" >> '{calls}'\nexec '{}' \"$@\"\n",
        env!("CARGO_BIN_EXE_reprise")
    );
    std::fs::write(&traced, script).unwrap();
    std::fs::set_permissions(&traced, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = reprise(&[
        "compare",
        "nexmark-q5",
        "--events",
        "20000",
        "--workers",
        "1,2",
        "--record",
        "off,replay",
        "--repeat",
        "2",
        "--build",
        &format!("traced={traced}"),
        "-o",
        &out_dir,
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // Two recordings (one per worker count), then 4 live runs and 4 replays.
    let commands = std::fs::read_to_string(&calls).unwrap();
    let count = |command: &str| commands.lines().filter(|l| *l == command).count();
    assert_eq!((count("run"), count("replay")), (6, 4), "{commands}");
    for workers in [1, 2] {
        assert!(
            stderr(&out).contains(&format!(
                "recording [traced] nexmark-q5 w{workers} 10ms replay in full"
            )),
            "{}",
            stderr(&out)
        );
    }
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{out_dir}/results.json")).unwrap())
            .unwrap();
    let runs = results["runs"].as_array().unwrap();
    let replays: Vec<_> = runs.iter().filter(|r| r["record"] == "replay").collect();
    assert_eq!(replays.len(), 4, "{runs:?}");
    // Each replay fed the whole recorded input and gave the live run's digest.
    for replay in replays {
        assert_eq!(replay["events"], 20000, "{replay}");
        assert_eq!(replay["digest_ok"], true, "{replay}");
        assert!(replay["events_per_sec"].as_f64().unwrap() > 0.0);
    }
    let summary = results["summary"].as_array().unwrap();
    let replayed = summary.iter().find(|s| s["record"] == "replay").unwrap();
    assert!(replayed["log_bytes_per_event"].is_null(), "{replayed}");
    assert!(
        replayed["peak_memory_bytes"].as_u64().unwrap() > 0,
        "{replayed}"
    );
    assert!(stdout(&out).contains("[traced] nexmark-q5 w2 10ms replay"));
    // The logs replayed are scratch: none is left behind.
    assert!(!Path::new(&format!("{out_dir}/scratch")).exists());
}

#[test]
fn compare_writes_json_csv_and_svg_and_reports_a_wrong_digest_as_a_failure() {
    let dir = scratch("compare");
    let base = [
        "compare",
        "filter-count",
        "--events",
        "20000",
        "--workers",
        "1,2",
        "--repeat",
        "2",
        "--baseline",
        "-o",
    ];
    let good = path(&dir, "good");
    let out = reprise(&[&base[..], &[good.as_str()]].concat());
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("[6/6]"),
        "progress lines: {}",
        stderr(&out)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{good}/results.json")).unwrap())
            .unwrap();
    for field in [
        "command",
        "git_revision",
        "engine_version",
        "cpu_model",
        "cpus",
        "events",
        "repeat",
    ] {
        assert!(results["meta"].get(field).is_some(), "meta lacks {field}");
    }
    let summary = results["summary"].as_array().unwrap();
    assert_eq!(summary.len(), 3); // baseline, 1 worker, 2 workers
    for s in summary {
        for field in [
            "workload",
            "kind",
            "workers",
            "epoch_ms",
            "record",
            "runs",
            "median_events_per_sec",
            "min_events_per_sec",
            "max_events_per_sec",
            "latency_p50_ms",
            "latency_p99_ms",
            "peak_memory_bytes",
            "status",
        ] {
            assert!(s.get(field).is_some(), "summary lacks {field}: {s}");
        }
        assert_eq!(s["status"], "ok");
    }
    let two_workers = summary
        .iter()
        .find(|s| s["workers"] == 2 && s["kind"] == "engine")
        .unwrap();
    assert!(two_workers["speedup_over_1_worker"].as_f64().unwrap() > 0.0);
    assert!(two_workers["ratio_to_baseline"].as_f64().unwrap() > 0.0);
    assert_eq!(results["runs"].as_array().unwrap().len(), 6);
    assert!(
        results["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["digest_ok"] == true)
    );
    let csv = std::fs::read_to_string(format!("{good}/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    assert!(
        csv.starts_with("build,workload,kind,workers,epoch_ms,record,params,input,repeat,events,")
    );
    let svg = std::fs::read_to_string(format!("{good}/throughput.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("filter-count"));
    assert!(
        std::fs::read_to_string(format!("{good}/README.md"))
            .unwrap()
            .contains("reprise compare")
    );

    // Run 2 is the 1-worker configuration's first run: make it report a wrong digest.
    let bad = path(&dir, "bad");
    let out = reprise(&[&base[..], &[bad.as_str(), "--inject-mismatch", "2"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("WRONG DIGEST") && stderr(&out).contains("wrong digest"),
        "{}",
        stdout(&out)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{bad}/results.json")).unwrap())
            .unwrap();
    let wrong: Vec<&serde_json::Value> = results["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] != "ok")
        .collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0]["workers"], 1);
}

/// Runs `reprise` with `args`, killing it after `limit`: a hang fails the test.
fn reprise_within(args: &[&str], limit: std::time::Duration) -> (Output, std::time::Duration) {
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "reprise {args:?} still ran after {limit:?}: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

#[test]
fn a_log_or_output_that_cannot_be_written_stops_the_run_at_once() {
    // Regression: the run went on to the end (a minute and more) before saying so.
    let dir = scratch("unwritable");
    let endless = ["run", "filter-count", "--events", "3000000000", "-q"];
    let missing = path(&dir, "no/such/folder/run.rlog");
    let limit = std::time::Duration::from_secs(20);
    let (out, took) = reprise_within(&[&endless[..], &["--record", &missing]].concat(), limit);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&missing), "{}", stderr(&out));
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");

    // A full disk: /dev/full refuses every write with "no space left on device".
    if Path::new("/dev/full").exists() {
        let (out, took) =
            reprise_within(&[&endless[..], &["--record", "/dev/full"]].concat(), limit);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("/dev/full"), "{}", stderr(&out));
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
        let full = dir.join("full.csv");
        std::os::unix::fs::symlink("/dev/full", &full).unwrap();
        let full = full.display().to_string();
        let (out, took) = reprise_within(&[&endless[..], &["--output", &full]].concat(), limit);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(&full), "{}", stderr(&out));
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    }
}

#[test]
fn a_replay_that_compares_nothing_does_not_claim_a_match() {
    let dir = scratch("compares-nothing");
    let log = path(&dir, "early.rlog");
    // A run that panics in its first epoch leaves a log with no complete output.
    let out = reprise(&[
        "run",
        "wordcount",
        "--events",
        "3000",
        "--epoch-ms",
        "20",
        "-p",
        "rate=2000",
        "--inject-panic-at-epoch",
        "0",
        "--record",
        &log,
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = reprise(&["replay", &log, "--format", "json", "-q"]);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["matches"], serde_json::Value::Null, "{report}");
    assert!(
        report["unverified"]
            .as_str()
            .unwrap()
            .contains("no epoch with recorded output"),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(1));
    let out = reprise(&["replay", &log]);
    assert!(
        stdout(&out).contains("NOT CHECKED") && !stdout(&out).contains("matches"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn generator_sizes_out_of_range_are_refused_before_the_run() {
    // Regression: a failed 80 GB allocation, "capacity overflow" panics, a worker panic.
    let cases = [
        ("wordcount", "vocabulary=10000000000"),
        ("wordcount", "max_words=18446744073709551615"),
        ("traffic-share", "hosts=18446744073709551615"),
        ("user-visits", "users=18446744073709551615"),
        ("filter-count", "rate=0"),
    ];
    for (workload, param) in cases {
        let out = reprise(&["run", workload, "--events", "10", "-p", param, "-q"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{workload} {param}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(param) && stderr(&out).contains("out of range"),
            "{workload} {param}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn command_line_rough_edges_are_errors_or_honoured() {
    let dir = scratch("rough-edges");
    // --emit final on a workload without windows would write nothing.
    let out = reprise(&[
        "run",
        "nexmark-q0",
        "--events",
        "100",
        "--emit",
        "final",
        "--output",
        &path(&dir, "q0.csv"),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no windows"), "{}", stderr(&out));
    let golden = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/golden/nexmark-q0-2w-20ms.rlog"
    );
    let out = reprise(&[
        "replay",
        golden,
        "--emit",
        "final",
        "--output",
        &path(&dir, "q0-replay.csv"),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no windows"), "{}", stderr(&out));
    // A generator's parameter with input it does not generate would do nothing.
    let lines = path(&dir, "lines.csv");
    assert!(
        reprise(&["gen", "lines", "--events", "50", "-o", &lines])
            .status
            .success()
    );
    let out = reprise(&[
        "run",
        "wordcount",
        "--input",
        &lines,
        "-p",
        "vocabulary=5",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("`vocabulary`"), "{}", stderr(&out));
    // --input-format holds for a file whose name does not tell.
    let out = reprise(&[
        "run",
        "wordcount",
        "--input",
        "/dev/null",
        "--input-format",
        "csv",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Invalid UTF-8 in JSON lines names the line.
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, b"\xff\xfe\n").unwrap();
    let out = reprise(&[
        "run",
        "nexmark-q0",
        "--input",
        &bad.display().to_string(),
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 1") && stderr(&out).contains("UTF-8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_output_with_no_rows_still_has_its_header() {
    // Every workload's CSV header, from a run with rows and from one without: the same.
    for workload in [
        "filter-count",
        "wordcount",
        "nexmark-q2",
        "nexmark-q5",
        "nexmark-q11",
    ] {
        let dir = scratch(&format!("header-{workload}"));
        let header = |events: &str| {
            let file = path(&dir, &format!("{events}.csv"));
            let out = reprise(&["run", workload, "--events", events, "--output", &file, "-q"]);
            assert!(out.status.success(), "{}", stderr(&out));
            let text = std::fs::read_to_string(&file).unwrap();
            text.lines().next().map(str::to_string)
        };
        let with_rows = header("20000");
        assert!(with_rows.is_some(), "{workload}: no rows in 20000 events");
        assert_eq!(header("0"), with_rows, "{workload}");
    }
}

#[test]
fn list_shows_output_columns_from_the_type_and_generator_parameters_apart() {
    let text = stdout(&reprise(&["list"]));
    // The columns are the output type's fields, not a hand-copied string.
    assert!(
        text.contains("output:  epoch,kind,window_start,auction,bids,diff"),
        "{text}"
    );
    assert!(
        text.contains("generator: events per second of event time"),
        "{text}"
    );
    assert!(
        text.contains("(0 to 2^60)") && text.contains("(at least 1)"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&reprise(&["list", "--format", "json"]))).unwrap();
    let q5 = json
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "nexmark-q5")
        .unwrap();
    assert_eq!(
        q5["output_columns"],
        serde_json::json!(["window_start", "auction", "bids"])
    );
    assert_eq!(q5["generator_params"][0]["name"], "rate");
    assert_eq!(q5["params"][0]["range"], "0 to 2^60");
}

/// The JSON report of a q7 run on `workers` workers, with its final rows in `output`.
fn q7_report(workers: &str, output: &str) -> serde_json::Value {
    let out = reprise(&[
        "run",
        "nexmark-q7",
        "--events",
        "300000",
        "--param",
        "rate=10000",
        "--workers",
        workers,
        "--output",
        output,
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn the_report_previews_the_last_closed_windows_whatever_the_worker_count() {
    let dir = scratch("preview");
    let one = q7_report("1", &path(&dir, "one.csv"));
    let three = q7_report("3", &path(&dir, "three.csv"));
    assert_eq!(one["preview"], three["preview"]);
    let preview = &one["preview"];
    assert_eq!(preview["kind"], "final", "{preview}");
    assert_eq!(
        preview["columns"],
        serde_json::json!([
            "window_start",
            "auction",
            "bidder",
            "price",
            "date_time",
            "extra"
        ])
    );
    // The preview's rows are final rows of the output at its epoch, and it counts them all.
    let epoch = preview["epoch"].as_u64().unwrap().to_string();
    let text = std::fs::read_to_string(dir.join("one.csv")).unwrap();
    let finals: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(&format!("{epoch},final,")))
        .collect();
    assert!(!finals.is_empty());
    assert_eq!(preview["rows_at_epoch"], finals.len() as u64);
    for row in preview["rows"].as_array().unwrap() {
        let window_start = row[0].as_str().unwrap();
        let auction = row[1].as_str().unwrap();
        assert!(
            finals
                .iter()
                .any(|l| l.starts_with(&format!("{epoch},final,{window_start},{auction},"))),
            "{row} is not a final row at epoch {epoch}"
        );
    }
    // No final row after the preview's epoch: it shows the last windows to close.
    let last = text
        .lines()
        .filter(|l| l.contains(",final,"))
        .filter_map(|l| l.split(',').next()?.parse::<u64>().ok())
        .max();
    assert_eq!(last, preview["epoch"].as_u64());
    // The text report ends with the preview as a table.
    let out = reprise(&[
        "run",
        "nexmark-q7",
        "--events",
        "300000",
        "--param",
        "rate=10000",
    ]);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "results         the last windows to close, epoch {epoch}"
        )),
        "{text}"
    );
    assert!(text.contains("window_start  auction"), "{text}");
}

#[test]
fn addresses_that_cannot_be_inputs_or_outputs_say_what_to_do() {
    let dir = scratch("addresses");
    let log = path(&dir, "run.rlog");
    let out = reprise(&["run", "wordcount", "--input", &log, "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is an input log, not a dataset: replay it with `reprise replay"),
        "{}",
        stderr(&out)
    );
    let out = reprise(&["run", "wordcount", "--events", "10", "--output", "-", "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--output - is not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn checks_on_other_worker_counts_pass_for_a_deterministic_job_and_refuse_what_they_cannot_do() {
    let out = reprise(&[
        "run",
        "wordcount",
        "--events",
        "5000",
        "--check",
        "workers=1,3",
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["check"]["against"], "workers=1,3");
    assert_eq!(report["check"]["matches"], true);
    assert!(report["check"].get("rows").is_none());
    let refused = |args: &[&str], why: &str| {
        let out = reprise(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    };
    refused(
        &["run", "wordcount", "--input", "-", "--check", "workers=1,2"],
        "needs a file or generated input",
    );
    refused(
        &["run", "wordcount", "--check", "recording"],
        "compares a replay with its recording",
    );
    refused(
        &["run", "wordcount", "--check", "workers=2"],
        "two or more worker counts",
    );
    refused(&["run", "wordcount", "--record-output"], "--record");
    refused(
        &["shrink", "x.rlog", "-o", "y.rlog", "--until", "exec 'true'"],
        "needs `{}` where the candidate log goes",
    );
}

/// Every file under `dir`, by its path relative to `dir`, with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn a_directory_output_is_the_single_file_split_by_partition_identically_for_any_worker_count() {
    let dir = scratch("partitions");
    let run = |workers: &str, output: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "nexmark-q10",
            "--events",
            "3000",
            "--seed",
            "3",
            "-p",
            "rate=1",
            "--epoch-ms",
            "10000",
            "--workers",
            workers,
            "--output",
            output,
        ];
        args.extend(extra);
        let out = reprise(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    let single = path(&dir, "single.csv");
    run("2", &single, &[]);
    let one = path(&dir, "one") + "/";
    let three = path(&dir, "three") + "/";
    let one_report = stdout(&run("1", &one, &[]));
    run("3", &three, &[]);
    let partitions = files_under(&dir.join("one"));
    assert_eq!(
        partitions,
        files_under(&dir.join("three")),
        "1 and 3 workers differ"
    );

    // Split the single file's rows by (dt, hm), in order: those are the partitions' files.
    let text = std::fs::read_to_string(&single).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let (dt, hm) = (
        columns.iter().position(|c| *c == "dt").unwrap(),
        columns.iter().position(|c| *c == "hm").unwrap(),
    );
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let name = format!(
            "dt={}/hm={}/part-0.csv",
            fields[dt],
            fields[hm].replace(':', "%3A")
        );
        expected
            .entry(name)
            .or_insert_with(|| format!("{header}\n"))
            .push_str(&format!("{line}\n"));
    }
    assert!(
        expected.len() > 40,
        "3000 bids a second apart span 50 minutes: {}",
        expected.len()
    );
    let got: BTreeMap<String, String> = partitions
        .into_iter()
        .map(|(name, bytes)| (name, String::from_utf8(bytes).unwrap()))
        .collect();
    assert_eq!(got, expected);
    let files = format!("in {} files", expected.len());
    assert!(one_report.contains(&files), "{one_report}");

    // Other columns on request; a column the output lacks, a non-empty directory and a
    // partitioned file are refused, naming what to do.
    let by_bidder = path(&dir, "by-bidder") + "/";
    let out = run("2", &by_bidder, &["--partition-by", "dt"]);
    assert!(out.status.success());
    assert_eq!(files_under(&dir.join("by-bidder")).len(), 1, "one day");
    for (output, extra, says) in [
        (
            path(&dir, "bad") + "/",
            vec!["--partition-by", "minute"],
            "the output's columns are auction, bidder, price, date_time, extra, dt, hm",
        ),
        (one.clone(), vec![], "is not empty"),
        (
            path(&dir, "file.csv"),
            vec!["--partition-by", "dt"],
            "end the --output path with /",
        ),
    ] {
        let mut args = vec!["run", "nexmark-q10", "--events", "10", "--output", &output];
        args.extend(extra);
        let out = reprise(&args);
        assert_eq!(out.status.code(), Some(2), "{output}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{output}: {}", stderr(&out));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compare_sweeps_a_parameter_and_inputs_as_axes_with_a_sweep_chart() {
    let dir = scratch("compare-sweep");
    let data = path(&dir, "events.csv");
    let out = reprise(&[
        "gen", "events", "--events", "20000", "--seed", "1", "-o", &data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results_dir = path(&dir, "out");
    let input = format!("gen,{data}");
    let out = reprise(&[
        "compare",
        "filter-count",
        "--events",
        "20000",
        "--workers",
        "1",
        "--repeat",
        "1",
        "-p",
        "window_ms=100,250",
        "--input",
        &input,
        "-o",
        &results_dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{results_dir}/results.json")).unwrap(),
    )
    .unwrap();
    let mut axes: Vec<(String, String)> = results["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["params"].to_string(),
                s["input"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    axes.sort();
    assert_eq!(
        axes,
        vec![
            ("[\"window_ms=100\"]".to_string(), data.clone()),
            ("[\"window_ms=100\"]".to_string(), "gen".to_string()),
            ("[\"window_ms=250\"]".to_string(), data.clone()),
            ("[\"window_ms=250\"]".to_string(), "gen".to_string()),
        ]
    );
    let sweep = std::fs::read_to_string(format!("{results_dir}/sweep.svg")).unwrap();
    assert!(sweep.contains("events/s by window_ms"), "{sweep}");
    std::fs::remove_dir_all(&dir).unwrap();
}
