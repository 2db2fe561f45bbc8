//! # Reprise's command line, for any set of jobs
//!
//! A program built on Reprise is a [`Registry`] of jobs handed to [`main`]: it then has
//! every command (`list`, `run`, `gen`, `replay`, `inspect`, `shrink`, `compare`, `cluster`) for
//! those jobs. The built-in `reprise` binary is exactly that, over the built-in workloads.
//!
//! A job is a [`reprise_engine::Job`] (its dataflow and baseline) and a
//! [`workload::Definition`] (its name, parameters, formats and generator):
//!
//! ```no_run
//! # use reprise_cli::Registry;
//! # fn jobs() -> Registry { Registry::new() }
//! fn main() -> std::process::ExitCode {
//!     reprise_cli::main(jobs()) // e.g. Registry::new().with::<CardSpend>()
//! }
//! ```

#![deny(missing_docs)]

mod args;
mod chart;
mod check;
mod cluster;
mod commands;
mod compare;
mod io;
mod registry;
mod replay;
mod report;
mod shrink;
mod verdict;
pub mod workload;

pub use commands::main;
pub use registry::Registry;
