//! Every workload's dataflow produces its hand-written baseline's digest at every epoch,
//! for 1, 2 and 4 workers, on several seeds, including empty, tiny and single-epoch inputs.

mod common;

use common::small_params;
use reprise_engine::{EpochConfig, Params, RunConfig};
use reprise_workloads::workload::{Input, Workload};

fn check(workload: &dyn Workload, events: u64, seed: u64, epoch_ms: Option<u64>) {
    let name = workload.info().name;
    let (overrides, default_epoch_ms) = small_params(name);
    let params = Params::parse(workload.info().params, &overrides).unwrap();
    let epochs = EpochConfig {
        clock: reprise_engine::Clock::Event,
        epoch_ms: epoch_ms.unwrap_or(default_epoch_ms),
    };
    let input = Input::Generated { events, seed };
    let expected = workload.baseline(&params, &input, &epochs).unwrap().digests;
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
