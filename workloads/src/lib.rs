//! # Reprise workloads
//!
//! Each workload is one file: a [`reprise_engine::Job`] (its dataflow), its hand-written
//! single-threaded baseline, and its parameters and formats
//! ([`reprise_cli::workload::Definition`]). [`registry`] lists them for the `reprise`
//! command, which is [`reprise_cli::main`] over that registry.

#![deny(missing_docs)]

pub mod baseline;
pub mod filter_count;
pub mod nexmark;
pub mod traffic_share;
pub mod user_visits;
pub mod wordcount;

use reprise_cli::Registry;
use reprise_cli::workload::Workload;

/// The built-in workloads, for `reprise_cli::main`.
pub fn registry() -> Registry {
    let registry = Registry::new()
        .with::<filter_count::FilterCount>()
        .with::<traffic_share::TrafficShare>()
        .with::<user_visits::UserVisitsJob>()
        .with::<wordcount::Wordcount>();
    nexmark::register(registry)
}

/// Every workload, in the order `reprise list` shows them.
pub fn all() -> Vec<&'static dyn Workload> {
    registry().all().to_vec()
}

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    registry().find(name)
}
