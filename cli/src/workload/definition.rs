//! What a user writes to make a [`Job`] a command-line job.

use reprise_datasets::Generator;
use reprise_engine::{EngineError, Job, Params};

use super::WorkloadInfo;

/// A [`Job`] with what the registry needs to construct and feed it.
pub trait Definition: Job + Sized {
    /// The dataset generator; [`NoGenerator`] for a job whose input is always brought
    /// (`run` then needs `--input`).
    type Data: Generator<Event = Self::Event>;
    /// Name, parameters and formats.
    const INFO: WorkloadInfo;
    /// The job, from validated parameters.
    fn from_params(params: &Params) -> Result<Self, EngineError>;
    /// The dataset generator, from validated parameters and a seed. Left out for a job
    /// without a generator: generated input is then refused with a clear error.
    fn dataset(_params: &Params, _seed: u64) -> Result<Self::Data, EngineError> {
        Err(EngineError::config(format!(
            "`{}` has no generator: give its input with --input FILE, --input - or --input kafka://HOST:PORT/TOPIC",
            Self::INFO.name
        )))
    }
}

/// The [`Definition::Data`] of a job without a generator.
pub struct NoGenerator<E>(std::marker::PhantomData<fn() -> E>);

impl<E> std::fmt::Debug for NoGenerator<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoGenerator")
    }
}

impl<E: 'static> Generator for NoGenerator<E> {
    type Event = E;
    fn generate(&self, _index: u64) -> E {
        // No value of this type exists: `Definition::dataset` refuses to make one.
        unreachable!("a job without a generator generates nothing")
    }
}
