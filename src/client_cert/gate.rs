//! Cold decisions behind a bound: a cold decision (parse, chain, CRL) costs about a hundred
//! times a cached one, so a flood of distinct certificates must not take the async workers
//! that cached decisions and `health` run on, nor the turn of callers who could be admitted.
//!
//! A cold decision runs on tokio's blocking pool, at most `workers` at a time (one fewer than
//! the machine's cores, at least one). The others wait in one of three [`Lane`]s, each bounded
//! in requests and in bytes of certificate held ([`LaneLimit`]); a request that finds its lane
//! full is answered at once with [`GateError::Busy`] (503 `busy`). When a worker is free, the
//! oldest request of the first non-empty lane goes next: [`Lane::Familiar`], then
//! [`Lane::Candidate`], then [`Lane::Unlikely`] (`triage.rs` says which lane). So certificates
//! that could not be admitted are worked only when nothing that could be waits, and they are
//! the ones shed. A request whose caller goes away leaves its lane. The work runs inside the
//! caller's tracing span.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// Where a cold decision waits, in the order workers take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A certificate admitted before (its decision left the cache, e.g. after 5 minutes or a
    /// CRL reload): the callers the service already serves.
    Familiar = 0,
    /// Pinned, or from a configured issuer with a name a rule allows: it could be admitted.
    Candidate = 1,
    /// Anything else that needs the full decision: no rule could admit it.
    Unlikely = 2,
}

/// How much one lane may hold while it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneLimit {
    pub requests: usize,
    /// Bytes of DER held by the waiting requests.
    pub bytes: usize,
}

/// The default limits, by lane: room for a burst of returning callers (every one goes cold
/// after a CRL reload), less for the rest. At most 5 MiB of certificates wait in all, whatever
/// the header cap.
pub const DEFAULT_LIMITS: [LaneLimit; 3] = [
    LaneLimit {
        requests: 256,
        bytes: 2 << 20,
    },
    LaneLimit {
        requests: 64,
        bytes: 2 << 20,
    },
    LaneLimit {
        requests: 64,
        bytes: 1 << 20,
    },
];

/// Why the gate did not run a cold decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// The request's lane is full (requests waiting, or bytes they hold).
    #[error("too many certificate checks waiting in the {0:?} lane; refused until it drains")]
    Busy(Lane),
    /// The decision panicked (a defect); the request fails, the process goes on.
    #[error("the certificate check failed unexpectedly")]
    Failed,
}

/// Bounded concurrency and bounded, prioritised lanes for cold decisions.
#[derive(Debug)]
pub struct ColdGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    workers: usize,
    limits: [LaneLimit; 3],
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    running: usize,
    lanes: [VecDeque<Waiter>; 3],
    bytes: [usize; 3],
}

#[derive(Debug)]
struct Waiter {
    wake: oneshot::Sender<Permit>,
    bytes: usize,
}

/// The right to run one cold decision; dropping it hands it to the next waiter.
#[derive(Debug)]
struct Permit {
    inner: Option<Arc<Inner>>,
}

impl ColdGate {
    pub fn new(workers: usize, limits: [LaneLimit; 3]) -> Self {
        Self {
            inner: Arc::new(Inner {
                workers: workers.max(1),
                limits,
                state: Mutex::default(),
            }),
        }
    }

    /// One worker fewer than the machine's cores (at least one), [`DEFAULT_LIMITS`].
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::new(cores.saturating_sub(1), DEFAULT_LIMITS)
    }

    /// Runs `work`, which holds `bytes` of certificate, on the blocking pool once a worker is
    /// free and no request of an earlier lane waits.
    ///
    /// # Errors
    /// [`GateError::Busy`] at once when `lane` is full; [`GateError::Failed`] if `work`
    /// panicked.
    pub async fn run<T, F>(&self, lane: Lane, bytes: usize, work: F) -> Result<T, GateError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = match self.inner.enter(lane, bytes)? {
            Entry::Run(permit) => permit,
            Entry::Wait(woken) => woken.await.map_err(|_| GateError::Failed)?,
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

    /// Requests waiting (whose callers are still there), by lane.
    pub fn waiting(&self) -> [usize; 3] {
        let state = self.inner.lock();
        state.lanes.each_ref().map(|lane| {
            lane.iter()
                .filter(|waiter| !waiter.wake.is_closed())
                .count()
        })
    }
}

enum Entry {
    Run(Permit),
    Wait(oneshot::Receiver<Permit>),
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enter(self: &Arc<Self>, lane: Lane, bytes: usize) -> Result<Entry, GateError> {
        let mut state = self.lock();
        if state.running < self.workers {
            state.running += 1;
            return Ok(Entry::Run(Permit {
                inner: Some(Arc::clone(self)),
            }));
        }
        let index = lane as usize;
        let limit = self.limits[index];
        let fits = |state: &State| {
            state.lanes[index].len() < limit.requests
                && state.bytes[index].saturating_add(bytes) <= limit.bytes
        };
        if !fits(&state) {
            // Callers who went away still hold their places until someone looks.
            state.lanes[index].retain(|waiter| !waiter.wake.is_closed());
            state.bytes[index] = state.lanes[index].iter().map(|waiter| waiter.bytes).sum();
            if !fits(&state) {
                return Err(GateError::Busy(lane));
            }
        }
        let (wake, woken) = oneshot::channel();
        state.lanes[index].push_back(Waiter { wake, bytes });
        state.bytes[index] += bytes;
        Ok(Entry::Wait(woken))
    }
}

impl Drop for Permit {
    /// Hands the permit to the oldest waiter of the first non-empty lane whose caller is still
    /// there, or gives the worker back.
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut state = inner.lock();
        loop {
            let Some((index, waiter)) = (0..3).find_map(|index| {
                let waiter = state.lanes[index].pop_front()?;
                Some((index, waiter))
            }) else {
                state.running = state.running.saturating_sub(1);
                return;
            };
            state.bytes[index] = state.bytes[index].saturating_sub(waiter.bytes);
            let handed = Permit {
                inner: Some(Arc::clone(&inner)),
            };
            match waiter.wake.send(handed) {
                Ok(()) => return,
                // That caller went away: this permit goes to the next one, without a drop that
                // would take the lock again.
                Err(mut unwanted) => unwanted.inner = None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    const ROOMY: LaneLimit = LaneLimit {
        requests: 8,
        bytes: 1 << 20,
    };

    type Task = tokio::task::JoinHandle<Result<(), GateError>>;

    /// A gate whose one worker is held by a decision until `release`, and the order in which
    /// decisions started.
    struct Held {
        gate: Arc<ColdGate>,
        started: Arc<Mutex<Vec<&'static str>>>,
        release: mpsc::Sender<()>,
        holder: Task,
    }

    impl Held {
        async fn new(limits: [LaneLimit; 3]) -> Self {
            let gate = Arc::new(ColdGate::new(1, limits));
            let started = Arc::new(Mutex::new(Vec::new()));
            let (release, released) = mpsc::channel::<()>();
            let released = Arc::new(Mutex::new(released));
            let holder = spawn_in(
                &gate,
                Lane::Unlikely,
                1,
                &started,
                "running",
                Some(released),
            );
            while started.lock().expect("log").is_empty() {
                tokio::task::yield_now().await;
            }
            Self {
                gate,
                started,
                release,
                holder,
            }
        }

        /// Queues a decision named `name` in `lane` and waits until the lanes hold `waiting`.
        async fn queue(
            &self,
            lane: Lane,
            bytes: usize,
            name: &'static str,
            waiting: [usize; 3],
        ) -> Task {
            let task = spawn_in(&self.gate, lane, bytes, &self.started, name, None);
            while self.gate.waiting() != waiting {
                tokio::task::yield_now().await;
            }
            task
        }

        /// Frees the worker, waits for `tasks`, and returns the order decisions started in.
        async fn release(self, tasks: Vec<Task>) -> Vec<&'static str> {
            self.release.send(()).expect("the holder waits");
            assert_eq!(self.holder.await.expect("task"), Ok(()));
            for task in tasks {
                assert_eq!(task.await.expect("task"), Ok(()));
            }
            assert_eq!(self.gate.waiting(), [0, 0, 0], "every lane drained");
            self.started.lock().expect("log").clone()
        }
    }

    /// A task that runs a decision named `name` in `lane` (holding `bytes`), logging when it
    /// starts and waiting for `release` if given.
    fn spawn_in(
        gate: &Arc<ColdGate>,
        lane: Lane,
        bytes: usize,
        started: &Arc<Mutex<Vec<&'static str>>>,
        name: &'static str,
        release: Option<Arc<Mutex<mpsc::Receiver<()>>>>,
    ) -> Task {
        let (gate, started) = (Arc::clone(gate), Arc::clone(started));
        tokio::spawn(async move {
            gate.run(lane, bytes, move || {
                started.lock().expect("log").push(name);
                if let Some(release) = release {
                    let _ = release.lock().map(|released| released.recv());
                }
            })
            .await
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_free_worker_takes_the_first_lane_first_and_each_lane_in_order() {
        let held = Held::new([ROOMY; 3]).await;
        let mut tasks = Vec::new();
        for (lane, name, waiting) in [
            (Lane::Unlikely, "unlikely-1", [0, 0, 1]),
            (Lane::Candidate, "candidate-1", [0, 1, 1]),
            (Lane::Unlikely, "unlikely-2", [0, 1, 2]),
            (Lane::Familiar, "familiar", [1, 1, 2]),
            (Lane::Candidate, "candidate-2", [1, 2, 2]),
        ] {
            tasks.push(held.queue(lane, 1, name, waiting).await);
        }
        let gate = Arc::clone(&held.gate);
        assert_eq!(
            held.release(tasks).await,
            [
                "running",
                "familiar",
                "candidate-1",
                "candidate-2",
                "unlikely-1",
                "unlikely-2"
            ]
        );
        assert_eq!(gate.run(Lane::Unlikely, 1, || 7).await, Ok(7), "room again");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_lane_answers_busy_at_once_while_the_others_still_queue() {
        let tight = LaneLimit {
            requests: 2,
            bytes: 100,
        };
        let held = Held::new([ROOMY, ROOMY, tight]).await;
        let mut tasks = vec![held.queue(Lane::Unlikely, 60, "a", [0, 0, 1]).await];
        let over_bytes = held.gate.run(Lane::Unlikely, 41, || ()).await;
        assert_eq!(
            over_bytes,
            Err(GateError::Busy(Lane::Unlikely)),
            "60 + 41 > 100"
        );
        tasks.push(held.queue(Lane::Unlikely, 40, "b", [0, 0, 2]).await);
        let over_requests = held.gate.run(Lane::Unlikely, 0, || ()).await;
        assert_eq!(
            over_requests,
            Err(GateError::Busy(Lane::Unlikely)),
            "two wait"
        );
        tasks.push(held.queue(Lane::Candidate, 10_000, "c", [0, 1, 2]).await);
        assert_eq!(held.release(tasks).await, ["running", "c", "a", "b"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_waiter_leaves_its_lane_and_its_place_is_reused() {
        let one = LaneLimit {
            requests: 1,
            bytes: 1 << 20,
        };
        let held = Held::new([one; 3]).await;
        let waiter = held.queue(Lane::Candidate, 1, "gone", [0, 1, 0]).await;
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(held.gate.waiting(), [0, 0, 0], "the caller left");
        let next = held.queue(Lane::Candidate, 1, "next", [0, 1, 0]).await;
        let gate = Arc::clone(&held.gate);
        assert_eq!(held.release(vec![next]).await, ["running", "next"]);
        assert_eq!(gate.run(Lane::Candidate, 1, || 1).await, Ok(1));
    }

    #[tokio::test]
    async fn a_panicking_decision_fails_the_request_only() {
        let gate = ColdGate::new(1, DEFAULT_LIMITS);
        let failed = gate
            .run(Lane::Candidate, 1, || -> u8 { panic!("defect") })
            .await;
        assert_eq!(failed, Err(GateError::Failed));
        assert_eq!(
            gate.run(Lane::Candidate, 1, || 2).await,
            Ok(2),
            "the worker is free again"
        );
    }
}
