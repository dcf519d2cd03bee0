//! The image workers' admission (SPEC §7 "Isolation"): picture challenges are drawn on the
//! blocking pool, at most one per core at a time, so they can never take the threads that
//! serve verification. Waiting for a worker is fair between tenants — each tenant has its
//! own queue and the queues are served in turn — so one tenant's backlog adds at most one
//! job's wait per other busy tenant to anyone else's. Queues are bounded: a request that
//! would wait behind too much work is refused at once (`Refusal::Throttled`, for the node)
//! instead of queueing without end.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::capacity::Refusal;

/// How long a client refused by a full pool is told to wait.
const FULL_RETRY_MS: u64 = 200;

/// A worker slot; the slot goes to the next waiter (or back to the pool) when dropped.
pub struct Slot {
    pool: Arc<Inner>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.release();
    }
}

struct Inner {
    state: Mutex<State>,
    /// Most requests one tenant may have waiting.
    per_tenant: usize,
    /// Most requests waiting in all.
    total: usize,
}

#[derive(Default)]
struct State {
    free: usize,
    waiting: usize,
    /// Tenants with waiters, in the order they are served.
    turn: VecDeque<String>,
    queues: HashMap<String, VecDeque<oneshot::Sender<()>>>,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct FairPool {
    inner: Arc<Inner>,
}

impl FairPool {
    /// `workers` jobs at a time; at most `per_tenant` waiting per tenant and `total` in all.
    pub fn new(workers: usize, per_tenant: usize, total: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    free: workers.max(1),
                    ..State::default()
                }),
                per_tenant: per_tenant.max(1),
                total: total.max(1),
            }),
        }
    }

    /// A worker slot for `tenant`: at once if one is free and nobody waits, else after the
    /// tenants ahead in turn; refused at once when the queues are full.
    pub async fn acquire(&self, tenant: &str) -> Result<Slot, Refusal> {
        let rx = {
            let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            if st.free > 0 && st.waiting == 0 {
                st.free -= 1;
                return Ok(Slot {
                    pool: self.inner.clone(),
                });
            }
            let mine = st.queues.get(tenant).map_or(0, VecDeque::len);
            if st.waiting >= self.inner.total || mine >= self.inner.per_tenant {
                return Err(Refusal::Throttled {
                    retry_after_ms: FULL_RETRY_MS,
                    node: true,
                });
            }
            let (tx, rx) = oneshot::channel();
            if mine == 0 {
                st.turn.push_back(tenant.to_owned());
            }
            st.queues
                .entry(tenant.to_owned())
                .or_default()
                .push_back(tx);
            st.waiting += 1;
            rx
        };
        // The sender is only dropped unsent when the pool itself is gone.
        rx.await.map_err(|_| Refusal::Throttled {
            retry_after_ms: FULL_RETRY_MS,
            node: true,
        })?;
        Ok(Slot {
            pool: self.inner.clone(),
        })
    }

    /// Requests waiting for a worker now.
    pub fn waiting(&self) -> usize {
        self.inner
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .waiting
    }
}

impl Inner {
    /// Hand a finished job's slot to the next tenant in turn (skipping waiters that gave
    /// up), or back to the pool.
    fn release(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(tenant) = st.turn.pop_front() {
            let Some(queue) = st.queues.get_mut(&tenant) else {
                continue;
            };
            let next = queue.pop_front();
            let more = !queue.is_empty();
            if more {
                st.turn.push_back(tenant);
            } else {
                st.queues.remove(&tenant);
            }
            if let Some(tx) = next {
                st.waiting -= 1;
                if tx.send(()).is_ok() {
                    return;
                }
            }
        }
        st.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_are_served_by_tenant_in_turn_not_in_arrival_order() {
        let pool = FairPool::new(1, 100, 100);
        let busy = pool.acquire("a").await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Tenant a queues 5 jobs, then b queues 2.
        for (i, tenant) in ["a", "a", "a", "a", "a", "b", "b"].into_iter().enumerate() {
            let (p, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = p.acquire(tenant).await.unwrap();
                order.lock().unwrap().push(format!("{tenant}{i}"));
            }));
            tokio::task::yield_now().await;
            while pool.waiting() < i + 1 {
                tokio::task::yield_now().await;
            }
        }
        drop(busy);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order, ["a0", "b5", "a1", "b6", "a2", "a3", "a4"]);
    }

    #[tokio::test]
    async fn full_queues_refuse_at_once_and_a_gone_waiter_passes_its_turn_on() {
        let pool = FairPool::new(1, 2, 3);
        let busy = pool.acquire("a").await.unwrap();
        let w1 = tokio::spawn({
            let p = pool.clone();
            async move { p.acquire("a").await.map(|_| ()) }
        });
        let w2 = tokio::spawn({
            let p = pool.clone();
            async move { p.acquire("a").await.map(|_| ()) }
        });
        while pool.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            pool.acquire("a").await,
            Err(Refusal::Throttled { node: true, .. })
        ));
        // b still has room, until the pool's total is reached.
        let p = pool.clone();
        let w3 = tokio::spawn(async move { p.acquire("b").await.map(|_| ()) });
        while pool.waiting() < 3 {
            tokio::task::yield_now().await;
        }
        assert!(pool.acquire("c").await.is_err());
        w1.abort();
        let _ = w1.await;
        drop(busy);
        assert!(w2.await.unwrap().is_ok());
        assert!(w3.await.unwrap().is_ok());
        assert_eq!(pool.waiting(), 0);
        // Every slot came back.
        let _s = pool.acquire("d").await.unwrap();
    }
}
