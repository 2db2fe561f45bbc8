//! Every workload's dataflow produces its hand-written baseline's digest at every epoch,
//! for 1, 2 and 4 workers, on several seeds, including empty, tiny and single-epoch inputs.

mod common;

use common::small_params;
use reprise_cli::workload::{Input, Workload};
use reprise_engine::output::{Emit, FileFormat, OutputSpec};
use reprise_engine::{EpochConfig, RunConfig};

fn check(workload: &dyn Workload, events: u64, seed: u64, epoch_ms: Option<u64>) {
    let name = workload.info().name;
    let (overrides, default_epoch_ms) = small_params(name);
    let params = workload.info().parse_params(&overrides).unwrap();
    let epochs = EpochConfig {
        clock: reprise_engine::Clock::Event,
        epoch_ms: epoch_ms.unwrap_or(default_epoch_ms),
    };
    let input = Input::Generated { events, seed };
    let expected = workload
        .baseline(&params, &input, &epochs, None)
        .unwrap()
        .digests;
    if events > 100 && epoch_ms.is_none() {
        assert!(
            expected.len() > 3,
            "{name}: too few epochs with output to test anything"
        );
    }
    for workers in [1, 2, 4] {
        let config = RunConfig::new(workers, epochs.epoch_ms);
        let result = workload.run(&params, &input, &config, &mut |_| {}).unwrap();
        assert_eq!(result.events, events);
        if let Some(divergence) = expected.first_divergence(&result.digests) {
            panic!("{name}, {events} events, seed {seed}, {workers} workers: {divergence}");
        }
    }
}

#[test]
fn every_workload_matches_its_baseline_on_several_seeds() {
    for workload in reprise_workloads::all() {
        for seed in [1, 2, 3] {
            check(workload, 3000, seed, None);
        }
    }
}

#[test]
fn every_workload_matches_its_baseline_on_tiny_and_empty_inputs() {
    for workload in reprise_workloads::all() {
        for events in [0, 1, 7] {
            check(workload, events, 5, None);
        }
    }
}

#[test]
fn every_workload_matches_its_baseline_in_a_single_epoch() {
    for workload in reprise_workloads::all() {
        check(workload, 500, 9, Some(u64::MAX / 4));
    }
}

#[test]
fn every_workload_writes_the_same_output_file_as_its_baseline() {
    let dir = std::env::temp_dir().join(format!("reprise-final-rows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        let (overrides, epoch_ms) = small_params(name);
        let params = workload.info().parse_params(&overrides).unwrap();
        let input = Input::Generated {
            events: 3000,
            seed: 4,
        };
        let path = |file: &str| dir.join(format!("{name}-{file}.jsonl"));
        let spec = |file: &str| OutputSpec::file(path(file), FileFormat::JsonLines, Emit::Both);
        let mut config = RunConfig::new(2, epoch_ms);
        config.output = Some(spec("engine"));
        let engine = workload.run(&params, &input, &config, &mut |_| {}).unwrap();
        let baseline = workload
            .baseline(&params, &input, &config.epochs, Some(&spec("baseline")))
            .unwrap();
        let (engine_stats, baseline_stats) = (engine.output.unwrap(), baseline.output.unwrap());
        assert!(engine_stats.update_rows > 0, "{name}: no output to compare");
        assert_eq!(
            engine_stats.final_rows > 0,
            workload.info().windowed,
            "{name}: final rows ({}) only for windowed output",
            engine_stats.final_rows
        );
        let read = |file| std::fs::read_to_string(path(file)).unwrap();
        let (engine_rows, baseline_rows) = (read("engine"), read("baseline"));
        if engine_rows != baseline_rows {
            let first = engine_rows
                .lines()
                .zip(baseline_rows.lines())
                .position(|(a, b)| a != b);
            panic!(
                "{name}: output files differ (engine {engine_stats:?}, baseline {baseline_stats:?}), first at line {first:?}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_nexmark_query_matches_its_baseline_on_out_of_order_input() {
    // Every 10th event arrives 60 events (60 ms at this rate) late: past window closes,
    // auction expiries and session gaps, so the late-event rules of every query are used.
    let dir = std::env::temp_dir().join(format!("reprise-out-of-order-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut late = 0;
    for workload in reprise_workloads::all() {
        let name = workload.info().name;
        if !name.starts_with("nexmark") {
            continue;
        }
        let (overrides, epoch_ms) = small_params(name);
        let params = workload.info().parse_params(&overrides).unwrap();
        let mut data = Vec::new();
        workload
            .generate(&params, 3000, 6, &mut data, FileFormat::JsonLines)
            .unwrap();
        let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
        let mut order: Vec<usize> = (0..lines.len()).collect();
        order.sort_by_key(|&i| 2 * i + if i % 10 == 0 { 121 } else { 0 });
        let path = dir.join(format!("{name}.jsonl"));
        std::fs::write(
            &path,
            order
                .iter()
                .flat_map(|&i| lines[i])
                .copied()
                .collect::<Vec<u8>>(),
        )
        .unwrap();
        let input = Input::File {
            path: Some(path),
            format: FileFormat::JsonLines,
        };
        let epochs = EpochConfig {
            clock: reprise_engine::Clock::Event,
            epoch_ms,
        };
        let expected = workload
            .baseline(&params, &input, &epochs, None)
            .unwrap()
            .digests;
        let mut late_by_workers = Vec::new();
        for workers in [1, 3] {
            let config = RunConfig::new(workers, epoch_ms);
            let result = workload.run(&params, &input, &config, &mut |_| {}).unwrap();
            if let Some(divergence) = expected.first_divergence(&result.digests) {
                panic!("{name}, out of order, {workers} workers: {divergence}");
            }
            late += result.late_events;
            late_by_workers.push(result.late_events);
        }
        // Late events are counted before any pre-aggregation can merge them.
        assert_eq!(
            late_by_workers[0], late_by_workers[1],
            "{name}: late events at 1 and 3 workers"
        );
    }
    assert!(late > 0, "the shuffled input should have late events");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn late_bids_of_one_auction_and_time_count_one_by_one() {
    // Five bids of an unknown auction, all at 10 ms, arrive after an event at 1000 ms: each
    // is late (its auction can no longer arrive in time), although the winning-bids join
    // folds bids of the same auction and time into the best before they cross workers.
    let dir = std::env::temp_dir().join(format!("reprise-late-bids-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bids.jsonl");
    let mut lines = vec![
        r#"{"Person":{"id":1000,"name":"a","email_address":"a","credit_card":"a","city":"a","state":"a","date_time":1000,"extra":""}}"#.to_string(),
    ];
    for price in [7, 9, 8, 9, 1] {
        lines.push(format!(
            r#"{{"Bid":{{"auction":5000,"bidder":{price},"price":{price},"channel":"c","url":"u","date_time":10,"extra":""}}}}"#
        ));
    }
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let input = Input::File {
        path: Some(path),
        format: FileFormat::JsonLines,
    };
    for name in ["nexmark-q4", "nexmark-q6", "nexmark-q9"] {
        let workload = reprise_workloads::find(name).unwrap();
        let params = workload.info().parse_params(&[]).unwrap();
        for workers in [1, 2] {
            let result = workload
                .run(&params, &input, &RunConfig::new(workers, 10), &mut |_| {})
                .unwrap();
            assert_eq!(result.late_events, 5, "{name}, {workers} workers");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn per_day_queries_close_each_day_as_their_baselines_do() {
    // Generated events with their times stretched 100,000 times: 3000 events over three
    // and a half days, so days close (and are retracted) during the run; every 10th event
    // arrives an hour late, past the close of the day before with lateness_ms=0, within it
    // with 2 hours.
    let dir = std::env::temp_dir().join(format!("reprise-days-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["nexmark-q15", "nexmark-q16", "nexmark-q17"] {
        let workload = reprise_workloads::find(name).unwrap();
        let generated = workload.info().parse_params(&["rate=1000".into()]).unwrap();
        let mut data = Vec::new();
        workload
            .generate(&generated, 3000, 8, &mut data, FileFormat::JsonLines)
            .unwrap();
        let mut events: Vec<serde_json::Value> = data
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect();
        for event in &mut events {
            let fields = event.as_object_mut().unwrap().values_mut().next().unwrap();
            for field in ["date_time", "expires"] {
                if let Some(time) = fields.get_mut(field) {
                    *time = (time.as_u64().unwrap() * 100_000).into();
                }
            }
        }
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| 2 * i + if i % 10 == 0 { 73 } else { 0 });
        let path = dir.join(format!("{name}.jsonl"));
        let lines: Vec<String> = order
            .iter()
            .map(|&i| events[i].to_string() + "\n")
            .collect();
        std::fs::write(&path, lines.concat()).unwrap();
        let input = Input::File {
            path: Some(path),
            format: FileFormat::JsonLines,
        };
        let epochs = EpochConfig {
            clock: reprise_engine::Clock::Event,
            epoch_ms: 600_000,
        };
        for lateness in ["0", "7200000"] {
            let params = workload
                .info()
                .parse_params(&[format!("lateness_ms={lateness}")])
                .unwrap();
            let expected = workload.baseline(&params, &input, &epochs, None).unwrap();
            for workers in [1, 2, 4] {
                let config = RunConfig::new(workers, epochs.epoch_ms);
                let result = workload.run(&params, &input, &config, &mut |_| {}).unwrap();
                if let Some(divergence) = expected.digests.first_divergence(&result.digests) {
                    panic!("{name}, lateness {lateness}, {workers} workers: {divergence}");
                }
                assert_eq!(
                    result.late_events > 0,
                    lateness == "0",
                    "{name}, lateness {lateness}: late events {}",
                    result.late_events
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
