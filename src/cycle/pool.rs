//! The image workers (SPEC §7 "Isolation"): picture challenges are drawn on threads of
//! their own, one per core, so they can never take the threads that serve verification.
//! Waiting for a worker is fair between tenants — each tenant has its own queue and the
//! queues are served in turn — so one tenant's backlog adds at most one job's wait per
//! other busy tenant to anyone else's. Queues are bounded: a request that would wait behind
//! too much work is refused at once (`Refusal::Throttled`, for the node) instead of
//! queueing without end.
//!
//! A worker that finishes a job takes the next one itself. (Until 2026-12-07 a finished
//! job handed its slot to the next waiter's task, which then started its job on Tokio's
//! blocking pool: two thread wake-ups between one picture and the next, during which a
//! core could sit idle — about a fifth of the two cores under a flood of inits.) A job
//! whose caller has given up (a closed connection) is skipped rather than drawn.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::oneshot;

use crate::capacity::Refusal;

/// How long a client refused by a full pool is told to wait.
const FULL_RETRY_MS: u64 = 200;

/// A queued job: does the work and sends its result to its caller, if the caller still
/// waits.
type Queued = Box<dyn FnOnce() + Send>;

struct Inner {
    state: Mutex<State>,
    /// Signalled when a job is queued or the pool closes.
    ready: Condvar,
    /// Most requests one tenant may have waiting.
    per_tenant: usize,
    /// Most requests waiting in all.
    total: usize,
}

#[derive(Default)]
struct State {
    waiting: usize,
    closed: bool,
    /// Tenants with waiting jobs, in the order they are served.
    turn: VecDeque<String>,
    queues: HashMap<String, VecDeque<Queued>>,
}

impl State {
    /// The next job in turn: the head of the first tenant's queue, that tenant going to the
    /// back of the turn if it has more.
    fn next(&mut self) -> Option<Queued> {
        while let Some(tenant) = self.turn.pop_front() {
            let Some(queue) = self.queues.get_mut(&tenant) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                self.queues.remove(&tenant);
            } else {
                self.turn.push_back(tenant);
            }
            if let Some(q) = next {
                self.waiting -= 1;
                return Some(q);
            }
        }
        None
    }
}

/// Closes the pool when the last handle goes: its workers finish the job in hand and stop.
struct Closer(Arc<Inner>);

impl Drop for Closer {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        st.closed = true;
        // Jobs still queued are dropped unrun: their callers hear the pool is gone.
        st.queues.clear();
        st.turn.clear();
        st.waiting = 0;
        drop(st);
        self.0.ready.notify_all();
    }
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct FairPool {
    inner: Arc<Inner>,
    _closer: Arc<Closer>,
}

impl FairPool {
    /// `workers` threads; at most `per_tenant` jobs waiting per tenant and `total` in all.
    pub fn new(workers: usize, per_tenant: usize, total: usize) -> Self {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            per_tenant: per_tenant.max(1),
            total: total.max(1),
        });
        for n in 0..workers.max(1) {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name(format!("stile-image-{n}"))
                .spawn(move || work(&inner))
                .expect("an image worker thread starts");
        }
        Self {
            _closer: Arc::new(Closer(inner.clone())),
            inner,
        }
    }

    /// Run `f` for `tenant` on a worker: at once if one is free and nobody waits, else after
    /// the tenants ahead in turn; refused at once when the queues are full. `None` if `f`
    /// panicked.
    pub async fn run<T, F>(&self, tenant: &str, f: F) -> Result<Option<T>, Refusal>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<T>();
        // Done only if the caller still waits (dropping this call drops `rx`); a panic
        // drops `tx`, and the caller hears `None`.
        let queued: Queued = Box::new(move || {
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        });
        {
            let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            let mine = st.queues.get(tenant).map_or(0, VecDeque::len);
            if st.closed || st.waiting >= self.inner.total || mine >= self.inner.per_tenant {
                return Err(Refusal::Throttled {
                    retry_after_ms: FULL_RETRY_MS,
                    node: true,
                });
            }
            if mine == 0 {
                st.turn.push_back(tenant.to_owned());
            }
            st.queues
                .entry(tenant.to_owned())
                .or_default()
                .push_back(queued);
            st.waiting += 1;
        }
        self.inner.ready.notify_one();
        Ok(rx.await.ok())
    }

    /// Jobs waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
    }
}

/// A worker: take the next job in turn, run it, again, until the pool closes.
fn work(inner: &Inner) {
    loop {
        let queued = {
            let mut st = inner.state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if st.closed {
                    return;
                }
                if let Some(q) = st.next() {
                    break q;
                }
                st = inner.ready.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        };
        // A panicking job drops its sender; the worker goes on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(queued));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Gate = Arc<(Mutex<bool>, Condvar)>;

    /// Run a job that holds the pool's one worker until `gate` opens; back once it runs.
    async fn hold(
        pool: &FairPool,
        gate: &Gate,
    ) -> tokio::task::JoinHandle<Result<Option<()>, Refusal>> {
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, job, s) = (pool.clone(), held(gate), started.clone());
        let busy = tokio::spawn(async move {
            p.run("a", move || {
                s.store(true, std::sync::atomic::Ordering::SeqCst);
                job()
            })
            .await
        });
        while !started.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        busy
    }

    /// A job that waits until `gate` opens.
    fn held(gate: &Gate) -> impl FnOnce() + Send + 'static {
        let gate = gate.clone();
        move || {
            let (open, cv) = &*gate;
            let mut o = open.lock().unwrap();
            while !*o {
                o = cv.wait(o).unwrap();
            }
        }
    }

    fn open(gate: &Gate) {
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
    }

    async fn until_waiting(pool: &FairPool, n: usize) {
        while pool.waiting() != n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_are_run_by_tenant_in_turn_not_in_arrival_order() {
        let pool = FairPool::new(1, 100, 100);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let busy = hold(&pool, &gate).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Tenant a queues 5 jobs, then b queues 2, while the one worker is held.
        for (i, tenant) in ["a", "a", "a", "a", "a", "b", "b"].into_iter().enumerate() {
            let (p, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                p.run(tenant, move || {
                    order.lock().unwrap().push(format!("{tenant}{i}"))
                })
                .await
            }));
            until_waiting(&pool, i + 1).await;
        }
        open(&gate);
        assert!(matches!(busy.await.unwrap(), Ok(Some(()))));
        for t in tasks {
            assert!(matches!(t.await.unwrap(), Ok(Some(()))));
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order, ["a0", "b5", "a1", "b6", "a2", "a3", "a4"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn full_queues_refuse_at_once_and_a_gone_caller_s_job_is_skipped() {
        let pool = FairPool::new(1, 2, 3);
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let busy = hold(&pool, &gate).await;
        let ran = Arc::new(Mutex::new(Vec::new()));
        let queue = |tenant: &'static str, n: u32| {
            let (p, ran) = (pool.clone(), ran.clone());
            tokio::spawn(async move { p.run(tenant, move || ran.lock().unwrap().push(n)).await })
        };
        let w1 = queue("a", 1);
        until_waiting(&pool, 1).await;
        let w2 = queue("a", 2);
        until_waiting(&pool, 2).await;
        assert!(matches!(
            pool.run("a", || ()).await,
            Err(Refusal::Throttled { node: true, .. })
        ));
        // b still has room, until the pool's total is reached.
        let w3 = queue("b", 3);
        until_waiting(&pool, 3).await;
        assert!(pool.run("c", || ()).await.is_err());
        // The first waiter gives up: its job is not run.
        w1.abort();
        let _ = w1.await;
        open(&gate);
        assert!(busy.await.unwrap().is_ok());
        assert!(matches!(w2.await.unwrap(), Ok(Some(()))));
        assert!(matches!(w3.await.unwrap(), Ok(Some(()))));
        assert_eq!(*ran.lock().unwrap(), [3, 2]);
        assert_eq!(pool.waiting(), 0);
        // A panicking job answers None, and the worker goes on.
        assert!(matches!(
            pool.run("d", || panic!("boom")).await,
            Ok(None::<()>)
        ));
        assert!(matches!(pool.run("d", || 7).await, Ok(Some(7))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_workers_stop_when_the_pool_goes() {
        let pool = FairPool::new(2, 10, 10);
        let weak = Arc::downgrade(&pool.inner);
        assert_eq!(pool.run("a", || 1).await.unwrap(), Some(1));
        drop(pool);
        // Each worker holds the pool's state until it has stopped.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while weak.strong_count() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "workers still running"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
