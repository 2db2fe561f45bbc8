//! `reprise compare --build`: builds compared by their results first, then by speed, with
//! verdicts a noisy machine cannot fake. The builds are the planted binary under wrapper
//! scripts: the same job, the same job made slower (PLANTED_SLOW_MS), the job with its
//! planted bug (no PLANTED_FIXED).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("reprise-compare-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A "build": a script that runs the planted binary with `env` set.
fn build(dir: &Path, name: &str, env: &[(&str, &str)]) -> String {
    let path = dir.join(name);
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect();
    let script = format!(
        "#!/bin/sh\n{exports}exec '{}' \"$@\"\n",
        env!("CARGO_BIN_EXE_planted")
    );
    std::fs::write(&path, script).unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&path)
        .status()
        .unwrap();
    format!("{name}={}", path.display())
}

fn compare(builds: &[String], extra: &[&str], out: &Path) -> (Output, serde_json::Value) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_planted"));
    command.args([
        "compare",
        "off-by-one",
        "--workers",
        "1",
        "--epoch-ms",
        "50",
    ]);
    for b in builds {
        command.args(["--build", b]);
    }
    command.args(extra).arg("-o").arg(out);
    let output = command.output().unwrap();
    let results = std::fs::read_to_string(out.join("results.json"))
        .map(|text| serde_json::from_str(&text).unwrap())
        .unwrap_or_default();
    (output, results)
}

/// The summary entries of `build`.
fn of_build<'a>(results: &'a serde_json::Value, build: &str) -> Vec<&'a serde_json::Value> {
    results["summary"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["build"] == build)
        .collect()
}

#[test]
fn the_same_binary_under_two_names_shows_no_change_and_a_slower_build_is_caught() {
    let dir = scratch("speed");
    let main = build(&dir, "main", &[("PLANTED_FIXED", "1")]);
    let same = build(&dir, "same", &[("PLANTED_FIXED", "1")]);
    let slow = build(
        &dir,
        "slow",
        &[("PLANTED_FIXED", "1"), ("PLANTED_SLOW_MS", "3")],
    );
    let events = ["--events", "100000", "--repeat", "5", "--fail-above", "5%"];

    let (out, results) = compare(&[main.clone(), same], &events, &dir.join("out-same"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let branch = of_build(&results, "same");
    assert_eq!(branch.len(), 1);
    assert_eq!(branch[0]["status"], "ok");
    assert_eq!(
        branch[0]["verdicts"][0]["verdict"], "no significant change",
        "{results}"
    );

    let (out, results) = compare(&[main, slow], &events, &dir.join("out-slow"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "--fail-above: {stderr}");
    assert!(stderr.contains("slower beyond --fail-above"), "{stderr}");
    let verdict = &of_build(&results, "slow")[0]["verdicts"][0];
    assert_eq!(verdict["verdict"], "slower", "{results}");
    let high = verdict["interval"][1].as_f64().unwrap();
    assert!(high < 0.0, "the interval excludes zero: {verdict}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_build_whose_results_differ_is_results_changed_at_its_first_epoch_with_no_verdict() {
    let dir = scratch("results");
    let main = build(&dir, "main", &[("PLANTED_FIXED", "1")]);
    let buggy = build(&dir, "buggy", &[]);
    let (out, results) = compare(
        &[main, buggy],
        &["--events", "3000", "--repeat", "1"],
        &dir.join("out"),
    );
    assert_eq!(out.status.code(), Some(1));
    let changed = of_build(&results, "buggy");
    assert_eq!(changed[0]["status"], "RESULTS CHANGED", "{results}");
    // One event per ms, 50 ms epochs: the event at 100 ms, the first at a window start
    // after 0, is in epoch 2; the bug moves it to the window before.
    assert_eq!(changed[0]["first_changed_epoch"], 2, "{results}");
    assert_eq!(changed[0]["verdicts"], serde_json::json!([]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("RESULTS CHANGED at epoch 2"), "{table}");
    assert_eq!(of_build(&results, "main")[0]["status"], "ok");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_saved_comparison_is_compared_with_and_bad_builds_are_refused() {
    let dir = scratch("against");
    let main = build(&dir, "main", &[("PLANTED_FIXED", "1")]);
    let slow = build(
        &dir,
        "slow",
        &[("PLANTED_FIXED", "1"), ("PLANTED_SLOW_MS", "3")],
    );
    let events = ["--events", "100000", "--repeat", "5"];
    let (out, _) = compare(&[main], &events, &dir.join("saved"));
    assert!(out.status.success());
    let against = dir.join("saved").display().to_string();
    let mut extra = events.to_vec();
    extra.extend(["--against", &against, "--fail-above", "5%"]);
    let (out, results) = compare(&[slow.replace("slow=", "main=")], &extra, &dir.join("now"));
    assert_eq!(out.status.code(), Some(1));
    let verdict = &results["summary"][0]["verdicts"][0];
    assert_eq!(verdict["verdict"], "slower", "{results}");
    assert!(verdict["against"].as_str().unwrap().starts_with("saved "));

    for (builds, says) in [
        (vec!["nameless".to_string()], "--build takes NAME=PATH"),
        (vec!["a=/no/such/binary".to_string()], "is not a file"),
    ] {
        let (out, _) = compare(&builds, &["--events", "10"], &dir.join("bad"));
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
