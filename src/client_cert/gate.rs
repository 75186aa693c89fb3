//! Cold decisions behind a bound: a cold decision (parse, chain, CRL) costs about a thousand
//! times a cached one, so a flood of distinct certificates must not take the async workers
//! that cached decisions and `health` run on.
//!
//! A cold decision waits for one of `workers` permits (one fewer than the machine's cores, at
//! least one) and then runs on tokio's blocking pool. At most `max_queued` requests may wait;
//! the next one is answered at once with [`GateError::Busy`] (503 `busy`), so the queue holds at
//! most `max_queued` certificates (each at most the header cap). A request whose caller goes
//! away leaves the queue. The work runs inside the caller's tracing span.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// The default number of cold decisions that may wait for a worker.
pub const DEFAULT_MAX_QUEUED: usize = 64;

/// Why the gate did not run a cold decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The queue is full.
    #[error("too many certificate checks waiting ({0}); refused until the queue drains")]
    Busy(usize),
    /// The decision panicked (a defect); the request fails, the process goes on.
    #[error("the certificate check failed unexpectedly")]
    Failed,
}

/// Bounded concurrency and a bounded queue for cold decisions.
#[derive(Debug)]
pub struct ColdGate {
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
    max_queued: usize,
}

impl ColdGate {
    pub fn new(workers: usize, max_queued: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            queued: AtomicUsize::new(0),
            max_queued,
        }
    }

    /// One worker fewer than the machine's cores (at least one), [`DEFAULT_MAX_QUEUED`] waiting.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores.saturating_sub(1), DEFAULT_MAX_QUEUED)
    }

    /// Runs `work` on the blocking pool once a worker is free.
    ///
    /// # Errors
    /// [`GateError::Busy`] at once when `max_queued` requests are already waiting;
    /// [`GateError::Failed`] if `work` panicked.
    pub async fn run<T, F>(&self, work: F) -> Result<T, GateError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = {
            let _waiting = Waiting::enter(&self.queued, self.max_queued)?;
            Arc::clone(&self.permits)
                .acquire_owned()
                .await
                .map_err(|_| GateError::Failed)?
        };
        // The blocking pool has no span of its own: carry the request's, so that the decision
        // line written there says which request (method, path, invocation id) it is about.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            span.in_scope(work)
        })
        .await
        .map_err(|_| GateError::Failed)
    }
}

/// A place in the queue, given back when dropped (also when the request is cancelled).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(queued: &'a AtomicUsize, max: usize) -> Result<Self, GateError> {
        queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now < max).then_some(now + 1)
            })
            .map(|_| Self(queued))
            .map_err(|_| GateError::Busy(max))
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_answers_busy_at_once_and_drains() {
        let gate = Arc::new(ColdGate::new(1, 2));
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        // One running (holding the only worker), two waiting: the queue is full.
        let mut running = Vec::new();
        for _ in 0..3 {
            let (gate, released) = (Arc::clone(&gate), Arc::clone(&released));
            running.push(tokio::spawn(async move {
                gate.run(move || {
                    let _ = released.lock().map(|r| r.recv());
                })
                .await
            }));
        }
        // Wait until the worker is taken and both others queue.
        while gate.queued.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let refused = gate.run(|| ()).await;
        assert_eq!(refused, Err(GateError::Busy(2)), "the fourth is refused");
        for _ in 0..3 {
            release.send(()).expect("a worker waits");
        }
        for task in running {
            assert_eq!(task.await.expect("task"), Ok(()), "queued work runs");
        }
        assert_eq!(gate.queued.load(Ordering::Acquire), 0, "the queue drained");
        assert_eq!(gate.run(|| 7).await, Ok(7), "room again");
    }

    #[tokio::test]
    async fn a_cancelled_waiter_leaves_the_queue() {
        let gate = Arc::new(ColdGate::new(1, 1));
        let held = Arc::clone(&gate.permits)
            .acquire_owned()
            .await
            .expect("permit");
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.run(|| ()).await })
        };
        while gate.queued.load(Ordering::Acquire) < 1 {
            tokio::task::yield_now().await;
        }
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(
            gate.queued.load(Ordering::Acquire),
            0,
            "the place was given back"
        );
        drop(held);
        assert_eq!(gate.run(|| 1).await, Ok(1));
    }

    #[tokio::test]
    async fn a_panicking_decision_fails_the_request_only() {
        let gate = ColdGate::new(1, 4);
        let failed = gate.run(|| -> u8 { panic!("defect") }).await;
        assert_eq!(failed, Err(GateError::Failed));
        assert_eq!(gate.run(|| 2).await, Ok(2), "the worker is free again");
    }
}
