//! What the workers and the run's other threads share: the first failure, which stops
//! everyone, and the count of events fed; the helper threads that report to it, and how
//! the writers among them take their messages.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// `messages` until every sender is gone, taken by polling, for the log and output
/// writers: while a writer waits in `recv`, every send is a kernel wakeup (at 1 worker,
/// user-visits' four log messages an epoch cost its worker 15 µs an epoch, 9% of the
/// run), where a writer that naps while its queue is empty costs the senders nothing.
/// The nap is 5 ms, then 10 ms while nothing comes, so a closed epoch reaches its file
/// within 10 ms; a first nap of 1 ms woke the writer five times as often while messages
/// flowed, and at 2 workers on 2 cores each wake takes a core from a worker.
pub(crate) fn polled<T>(messages: Receiver<T>) -> impl Iterator<Item = T> {
    const FIRST_NAP: Duration = Duration::from_millis(5);
    const LONGEST_NAP: Duration = Duration::from_millis(10);
    let mut nap = FIRST_NAP;
    std::iter::from_fn(move || {
        loop {
            match messages.try_recv() {
                Ok(message) => {
                    nap = FIRST_NAP;
                    return Some(message);
                }
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {
                    std::thread::sleep(nap);
                    nap = (nap * 2).min(LONGEST_NAP);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::polled;

    #[test]
    fn polling_takes_every_message_in_order_until_the_senders_are_gone() {
        let (tx, rx) = std::sync::mpsc::channel();
        let sender = std::thread::spawn(move || {
            for i in 0..100u32 {
                tx.send(i).unwrap();
                if i % 25 == 0 {
                    // Long enough for the receiver to nap, and its nap to grow.
                    std::thread::sleep(std::time::Duration::from_millis(15));
                }
            }
        });
        let received: Vec<u32> = polled(rx).collect();
        sender.join().unwrap();
        assert_eq!(received, (0..100).collect::<Vec<_>>());
    }
}
