//! What a recording says about the program and settings that made it.

use reprise_engine::{Clock, EpochConfig, Params};

use super::{Input, WorkloadInfo};

/// The header of an input log recorded from `input` with these settings.
pub fn log_header(
    info: &WorkloadInfo,
    params: &Params,
    input: &Input,
    epochs: &EpochConfig,
    workers: usize,
) -> reprise_engine::log::LogHeader {
    use reprise_engine::log::{LogHeader, RecordedClock, format::FORMAT_VERSION};
    let epoch_ms = epochs.epoch_ms;
    LogHeader {
        format_version: FORMAT_VERSION,
        engine_version: reprise_engine::ENGINE_VERSION.to_string(),
        git_revision: reprise_engine::GIT_REVISION.to_string(),
        workload: info.name.to_string(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        input: input.describe(),
        seed: match input {
            Input::Generated { seed, .. } => Some(*seed),
            _ => None,
        },
        clock: match epochs.clock {
            Clock::Event => RecordedClock::Event { epoch_ms },
            Clock::Processing => RecordedClock::Processing { epoch_ms },
        },
        workers,
        processes: 1,
        started_unix_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        // Set by the run: its process and the id its processes share.
        recording_id: 0,
        part: 0,
        program: program_name(),
    }
}

/// This program's name: its executable's file name (`reprise` for the built-in one).
pub fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "reprise".to_string())
}

/// The epoch settings a log was recorded with.
pub fn recorded_epochs(clock: reprise_engine::log::RecordedClock) -> EpochConfig {
    use reprise_engine::log::RecordedClock;
    match clock {
        RecordedClock::Event { epoch_ms } => EpochConfig {
            epoch_ms,
            clock: Clock::Event,
        },
        RecordedClock::Processing { epoch_ms } => EpochConfig {
            epoch_ms,
            clock: Clock::Processing,
        },
    }
}
