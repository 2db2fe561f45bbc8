//! The jobs a program offers on its command line.

use crate::workload::{Definition, Registered, Workload};

/// The jobs of a program, in the order `list` shows them.
#[derive(Default)]
pub struct Registry {
    workloads: Vec<&'static dyn Workload>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.workloads.iter().map(|w| w.info().name).collect();
        f.debug_struct("Registry")
            .field("workloads", &names)
            .finish()
    }
}

impl Registry {
    /// A registry without jobs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the job `D`.
    ///
    /// # Panics
    /// If a job of the same name is already registered: names identify jobs in logs.
    pub fn with<D: Definition>(mut self) -> Self {
        // `Registered<D>` holds no data: leaking one costs nothing, and the registry can
        // hand out `'static` references like the statics of the built-in binary.
        let workload: &'static Registered<D> = Box::leak(Box::new(Registered::<D>::new()));
        let name = workload.info().name;
        assert!(
            self.find(name).is_none(),
            "two jobs are registered as `{name}`"
        );
        self.workloads.push(workload);
        self
    }

    /// Every job.
    pub fn all(&self) -> &[&'static dyn Workload] {
        &self.workloads
    }

    /// The job called `name`.
    pub fn find(&self, name: &str) -> Option<&'static dyn Workload> {
        self.workloads
            .iter()
            .copied()
            .find(|w| w.info().name == name)
    }
}
