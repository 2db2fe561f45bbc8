//! # Reprise workloads
//!
//! Each workload is one file: a [`reprise_engine::Job`] (its dataflow), its hand-written
//! single-threaded baseline, and its parameters and formats
//! ([`reprise_cli::workload::Definition`]). [`registry`] lists them for the `reprise`
//! command, which is [`reprise_cli::main`] over that registry.

#![deny(missing_docs)]

pub mod baseline;
pub mod nexmark;

use reprise_cli::Registry;
use reprise_cli::workload::Workload;

/// Declares the built-in workloads besides Nexmark (whose queries have their own table in
/// [`nexmark`]): each one's module and job, in the order `reprise list` shows them. Adding
/// a workload is its file and one line here.
macro_rules! workloads {
    ($( $module:ident :: $job:ident ),* $(,)?) => {
        $( pub mod $module; )*

        /// The built-in workloads, for `reprise_cli::main`.
        pub fn registry() -> Registry {
            let registry = Registry::new() $( .with::<$module::$job>() )*;
            nexmark::register(registry)
        }
    };
}

workloads! {
    filter_count::FilterCount,
    traffic_share::TrafficShare,
    user_visits::UserVisitsJob,
    wordcount::Wordcount,
}

/// Every workload, in the order `reprise list` shows them.
pub fn all() -> Vec<&'static dyn Workload> {
    registry().all().to_vec()
}

/// The workload called `name`.
pub fn find(name: &str) -> Option<&'static dyn Workload> {
    registry().find(name)
}
