//! Runs as a timely cluster of processes on loopback: same digests as one process, logs
//! that replay on any layout, and clear, fast errors when the cluster is wrong or a
//! process dies.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::small_params;

fn reprise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn free_ports(n: usize) -> Vec<String> {
    let listeners: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| format!("127.0.0.1:{}", l.local_addr().unwrap().port()))
        .collect()
}

fn run_args(workload: &str) -> Vec<String> {
    let (params, epoch_ms) = small_params(workload);
    let mut args: Vec<String> = vec![
        workload.into(),
        "--events".into(),
        "3000".into(),
        "--epoch-ms".into(),
        epoch_ms.to_string(),
    ];
    args.extend(params.iter().flat_map(|p| ["-p".to_string(), p.clone()]));
    args.extend(["--format", "json", "-q"].map(String::from));
    args
}

#[test]
fn every_workload_gives_the_same_digests_on_2_processes_as_on_1() {
    for workload in ["filter-count", "traffic-share", "user-visits", "wordcount"] {
        let args = run_args(workload);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let single = json(&reprise(
            &[&["run"][..], &args, &["--workers", "1"]].concat(),
        ));
        for workers in ["1", "2"] {
            let cluster = json(&reprise(
                &[
                    &["cluster", "--processes", "2", "run"][..],
                    &args,
                    &["--workers", workers],
                ]
                .concat(),
            ));
            assert_eq!(
                cluster["digest"], single["digest"],
                "{workload}, 2 processes x {workers} workers"
            );
            assert_eq!(cluster["events"], single["events"], "{workload}");
            assert_eq!(
                cluster["output_updates"], single["output_updates"],
                "{workload}"
            );
            assert_eq!(cluster["processes"], 2);
        }
    }
}

#[test]
fn a_log_recorded_on_2_processes_replays_on_1_and_the_reverse() {
    let args = run_args("wordcount");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let two = scratch("two.rlog").display().to_string();
    let recorded = json(&reprise(
        &[
            &["cluster", "--processes", "2", "run"][..],
            &args,
            &["--workers", "2", "--record", &two],
        ]
        .concat(),
    ));
    assert!(
        PathBuf::from(format!("{two}.1")).exists(),
        "process 1 writes its own part"
    );
    let replayed = json(&reprise(&[
        "replay",
        &two,
        "--workers",
        "3",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(replayed["matches"], true);
    assert_eq!(replayed["digest"], recorded["digest"]);

    let one = scratch("one.rlog").display().to_string();
    let recorded = json(&reprise(
        &[&["run"][..], &args, &["--workers", "2", "--record", &one]].concat(),
    ));
    let replayed = json(&reprise(&[
        "cluster",
        "--processes",
        "2",
        "replay",
        &one,
        "--workers",
        "1",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(replayed["matches"], true, "{replayed}");
    assert_eq!(replayed["digest"], recorded["digest"]);
}

#[test]
fn a_cluster_with_different_worker_counts_is_refused_quickly() {
    let hosts = free_ports(2).join(",");
    let spawn = |process: &str, workers: &str| {
        Command::new(env!("CARGO_BIN_EXE_reprise"))
            .args([
                "run",
                "filter-count",
                "--events",
                "1000",
                "-q",
                "--processes",
                "2",
                "--process",
                process,
            ])
            .args([
                "--hosts",
                &hosts,
                "--workers",
                workers,
                "--connect-timeout",
                "20",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let (one, two) = (spawn("0", "1"), spawn("1", "2"));
    let (one, two) = (
        one.wait_with_output().unwrap(),
        two.wait_with_output().unwrap(),
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(!one.status.success() && !two.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&one.stderr),
        String::from_utf8_lossy(&two.stderr)
    );
    assert!(
        said.contains("run different jobs")
            && said.contains("workers=1")
            && said.contains("workers=2"),
        "{said}"
    );
}

#[test]
fn a_peer_that_never_comes_and_a_port_in_use_are_clear_errors() {
    let hosts = free_ports(2);
    let out = reprise(&[
        "run",
        "filter-count",
        "--events",
        "1000",
        "-q",
        "--processes",
        "2",
        "--process",
        "0",
        "--hosts",
        &hosts.join(","),
        "--connect-timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("timed out") && said.contains(&hosts[1]),
        "{said}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_address = format!("127.0.0.1:{}", busy.local_addr().unwrap().port());
    let out = reprise(&[
        "run",
        "filter-count",
        "-q",
        "--processes",
        "2",
        "--process",
        "0",
        "--hosts",
        &format!("{busy_address},{}", hosts[1]),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&busy_address) && said.contains("port in use"),
        "{said}"
    );
}

#[test]
fn killing_one_process_stops_the_others_with_an_error_naming_it_and_the_log_replays() {
    let hosts = free_ports(2);
    let log = scratch("killed.rlog").display().to_string();
    let spawn = |process: &str| {
        Command::new(env!("CARGO_BIN_EXE_reprise"))
            .args([
                "run",
                "filter-count",
                "--events",
                "3000000000",
                "-q",
                "--workers",
                "1",
                "--record",
                &log,
                // The test waits for the log to grow: keep every event.
                "--record-full",
            ])
            .args([
                "--processes",
                "2",
                "--process",
                process,
                "--hosts",
                &hosts.join(","),
            ])
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (survivor, mut victim) = (spawn("0"), spawn("1"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&log).map_or(0, |m| m.len()) < 4 << 20 {
        assert!(Instant::now() < deadline, "the cluster recorded nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
    let killed_at = Instant::now();
    let out = survivor.wait_with_output().unwrap();
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "the survivor took {:?} to stop",
        killed_at.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("lost contact with process 1 at {}", hosts[1])),
        "{said}"
    );
    // Only that error: not the panics of timely's communication threads before it.
    assert!(
        !said.contains("communication error") && !said.contains("panicked"),
        "{said}"
    );
    assert!(said.contains("reprise replay"), "{said}");
    let replayed = json(&reprise(&[
        "replay",
        &log,
        "--workers",
        "2",
        "--format",
        "json",
        "-q",
    ]));
    assert_eq!(replayed["matches"], true, "{replayed}");
    assert!(replayed["events"].as_u64().unwrap() > 0, "{replayed}");
}

/// The events of a dataset file and of an input log, each as a sorted list of JSON texts.
fn file_and_log_events<E>(file: &str, log: &str) -> (Vec<String>, Vec<String>)
where
    E: serde::de::DeserializeOwned + serde::Serialize + Send + 'static,
{
    let reader = Box::new(std::fs::File::open(file).unwrap());
    let mut read: Vec<String> =
        reprise_engine::io::read_records::<E>(reader, reprise_engine::io::FileFormat::Csv)
            .map(|event| serde_json::to_string(&event.unwrap()).unwrap())
            .collect();
    let mut logged: Vec<String> = reprise_engine::log::epochs::<E>(log.as_ref(), None, None)
        .unwrap()
        .flat_map(|epoch| epoch.unwrap().1)
        .map(|event| serde_json::to_string(&event).unwrap())
        .collect();
    read.sort();
    logged.sort();
    (read, logged)
}

#[test]
fn under_the_processing_clock_each_record_enters_a_cluster_once() {
    // Regression: under the processing clock every process fed every record, so a
    // 2-process run counted (and recorded) each one twice.
    use reprise_datasets::{FilterEvent, Flow, TextLine, Visit};
    for workload in ["filter-count", "traffic-share", "user-visits", "wordcount"] {
        let (params, _) = small_params(workload);
        // The generator's parameters do nothing on a file: keep the window's.
        let params: Vec<String> = params
            .into_iter()
            .filter(|p| p.starts_with("window_ms="))
            .collect();
        let dataset = scratch(&format!("{workload}-processing.csv"))
            .display()
            .to_string();
        let log = scratch(&format!("{workload}-processing.rlog"))
            .display()
            .to_string();
        let params: Vec<&str> = params.iter().flat_map(|p| ["-p", p.as_str()]).collect();
        let data = match workload {
            "filter-count" => "events",
            "traffic-share" => "flows",
            "user-visits" => "visits",
            _ => "lines",
        };
        let out = reprise(&["gen", data, "--events", "3000", "-o", &dataset]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = json(&reprise(
            &[
                &["cluster", "--processes", "2", "run", workload][..],
                &params,
                &[
                    "--input",
                    &dataset,
                    "--clock",
                    "processing",
                    "--epoch-ms",
                    "20",
                ],
                &["--workers", "1", "--record", &log, "--format", "json", "-q"],
            ]
            .concat(),
        ));
        assert_eq!(run["events"], 3000, "{workload}: {run}");
        let (read, logged) = match workload {
            "filter-count" => file_and_log_events::<FilterEvent>(&dataset, &log),
            "traffic-share" => file_and_log_events::<Flow>(&dataset, &log),
            "user-visits" => file_and_log_events::<Visit>(&dataset, &log),
            _ => file_and_log_events::<TextLine>(&dataset, &log),
        };
        assert_eq!(read.len(), 3000);
        assert!(
            read == logged,
            "{workload}: the log holds {} events, not the file's 3000 once each",
            logged.len()
        );
        let replayed = json(&reprise(&[
            "replay",
            &log,
            "--workers",
            "3",
            "--format",
            "json",
            "-q",
        ]));
        assert_eq!(replayed["matches"], true, "{workload}: {replayed}");
        assert_eq!(replayed["events"], 3000, "{workload}: {replayed}");
    }
}

/// The processes whose parent is `parent`, from /proc.
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // The fields after the command (in parentheses): state, then the parent.
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(parent)
            })
        })
        .collect()
}

#[test]
fn killing_the_launcher_stops_its_processes() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return; // no /proc to find the children by
    }
    let mut launcher = Command::new(env!("CARGO_BIN_EXE_reprise"))
        .args(["cluster", "--processes", "2", "run", "filter-count"])
        .args(["--events", "3000000000", "--workers", "1", "-q"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut children = Vec::new();
    while children.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the launcher started no processes"
        );
        std::thread::sleep(Duration::from_millis(50));
        children = children_of(launcher.id());
    }
    launcher.kill().unwrap(); // SIGKILL: the launcher cannot clean up
    launcher.wait().unwrap();
    let killed = Instant::now();
    let alive = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
    };
    while children.iter().any(alive) {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "processes {children:?} still run 10 s after their launcher was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_cluster_replay_that_diverges_exits_1_with_the_report() {
    let args = run_args("wordcount");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = scratch("diverging.rlog").display().to_string();
    json(&reprise(
        &[&["run"][..], &args, &["--record", &log]].concat(),
    ));
    // Bless the log with another run's digests: replaying it now diverges.
    let other = scratch("other.rlog").display().to_string();
    let mut other_args = args.clone();
    let seed_at = other_args.len() - 3;
    other_args.splice(seed_at..seed_at, ["--seed", "77"]);
    json(&reprise(
        &[&["run"][..], &other_args, &["--record", &other]].concat(),
    ));
    let theirs = reprise_engine::log::scan(other.as_ref()).unwrap().digests;
    reprise_engine::log::bless(log.as_ref(), &theirs).unwrap();
    let out = reprise(&[
        "cluster",
        "--processes",
        "2",
        "replay",
        &log,
        "--workers",
        "1",
    ]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("replay DIVERGES at epoch"), "{said}");
}

#[test]
fn a_part_from_another_recording_is_refused_by_name() {
    // Two recordings of the same job: only their recording ids tell their parts apart.
    let args = run_args("filter-count");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let [first, second] = ["first.rlog", "second.rlog"].map(|n| scratch(n).display().to_string());
    for log in [&first, &second] {
        json(&reprise(
            &[
                &["cluster", "--processes", "2", "run"][..],
                &args,
                &["--record", log],
            ]
            .concat(),
        ));
    }
    let part = format!("{first}.1");
    std::fs::copy(format!("{second}.1"), &part).unwrap();
    let out = reprise(&["replay", &first, "-q"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&part) && said.contains("another recording"),
        "{said}"
    );
}
