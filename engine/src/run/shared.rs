//! What the workers and the run's other threads share: the first failure, which stops
//! everyone, and the count of events fed; and the helper threads that report to it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::EngineError;

/// State shared by the workers and the driving thread.
#[derive(Debug, Default)]
pub(super) struct Shared {
    pub(super) events: AtomicU64,
    abort: AtomicBool,
    pub(super) failure: Mutex<Option<EngineError>>,
}

impl Shared {
    pub(super) fn fail(&self, error: EngineError) {
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(error);
        self.abort.store(true, Ordering::SeqCst);
    }

    /// The first failure, taken (`None` once taken).
    pub(super) fn take_failure(&self) -> Option<EngineError> {
        self.failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub(super) fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
}

/// A writer thread of the run (output file, input log): its first error stops the run at
/// once (a full disk, a missing folder), instead of when the run ends.
pub(super) fn writer<T: Send + 'static>(
    name: &str,
    shared: &Arc<Shared>,
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<std::thread::JoinHandle<Option<T>>, EngineError> {
    let shared = Arc::clone(shared);
    helper(name, move || match work() {
        Ok(done) => Some(done),
        Err(error) => {
            shared.fail(error);
            None
        }
    })
}

/// A thread of the run besides the workers, started only when needed.
pub(super) fn helper<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<std::thread::JoinHandle<T>, EngineError> {
    std::thread::Builder::new()
        .name(format!("reprise-{name}"))
        .spawn(work)
        .map_err(|e| EngineError::io(format!("starting the {name} thread"), e))
}
