//! What the command line knows of a job: its description ([`WorkloadInfo`]), the interface
//! the registry holds ([`Workload`]), and the adapter ([`Registered`]) that makes any
//! [`Definition`] (a [`reprise_engine::Job`] with a name and parameters) one.

mod baseline;
mod definition;
mod info;
mod input;
mod recording;
mod registered;

pub use baseline::BaselineResult;
pub use definition::{Definition, NoGenerator};
pub use info::WorkloadInfo;
pub use input::Input;
pub use recording::{log_header, program_name, recorded_epochs};
pub use registered::{EncodedEpochs, Registered, SendMessage, Workload};
