//! Admission control (SPEC §7): each tenant's QPS quota, an optional ceiling for the whole
//! node, node dedication, and the priorities between requests. Pure and synchronous: the
//! caller passes the time in, and nothing here waits — a request is admitted or refused at
//! once, never queued.
//!
//! Each tenant (and the node, when it has a ceiling) is a *generic cell rate* limiter: a
//! theoretical arrival time (TAT) that every admitted request moves on by one interval of
//! `1 s / quota`. A request is admitted when, counting itself, the TAT is no further ahead
//! of now than its class tolerates:
//!
//! | class | tolerance | meaning |
//! |---|---|---|
//! | [`Class::Init`] | `(100 − criticalShare)%` of a second | ordinary inits stop first |
//! | [`Class::CriticalInit`] | one second | a critical scene keeps the reserved share to burst into, and displaces ordinary inits in sustained overload |
//! | [`Class::InFlight`] | ten seconds | answers and server verifications finish what a person has done; they displace inits |
//!
//! The sustained rate is the quota for every class (the TAT moves by the same interval
//! whoever is admitted), so the scheme is work-conserving: a tenant with no critical scene
//! still gets its whole quota for ordinary inits, only its instant burst is smaller. Under
//! overload the lower classes are refused first: a flood of inits cannot push out the
//! verification of tokens already issued. In-flight work is bounded by what admitted inits
//! created (each cycle allows a few answers and its token one verification), and it comes
//! seconds after its init — after the think time — so a tenant that used its whole quota on
//! inits a moment ago may owe more in-flight work than its quota for a while. Its tolerance
//! is therefore ten seconds of quota: long enough that every answer and verification of
//! cycles its inits were admitted for goes through, while inits wait; short enough that a
//! tenant's own backend looping on verification is still stopped.
//!
//! State is per node and in memory (as the embedded engine's counters are): a node that
//! restarts starts with full allowances.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// One second, the window a QPS quota is counted over, in microseconds.
const SECOND_US: u64 = 1_000_000;

/// What a request is, for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A new cycle on an ordinary scene.
    Init,
    /// A new cycle on a scene marked critical.
    CriticalInit,
    /// Work that completes what a person has already done: the answer to a challenge in
    /// flight, or the server verification of an issued token.
    InFlight,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the tenant's quota (or, with `node`, over the node's ceiling); the class would
    /// be admitted again after `retry_after_ms`.
    Throttled { retry_after_ms: u64, node: bool },
    /// This node is dedicated to other tenants.
    NotServed,
}

/// The quota a tenant has on this node, as its configuration says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Requests per second, at least 1.
    pub qps: u32,
    /// Percent of a second's burst kept for critical scenes (0–90).
    pub critical_share: u8,
}

/// A generic-cell-rate limiter's state: the theoretical arrival time, in µs, and the
/// quota it was reached under.
#[derive(Debug, Default, Clone, Copy)]
struct Cell {
    tat_us: u64,
    qps: u32,
    /// The time of the last admission: a clock found behind it went back, and the TAT
    /// goes back with it (a wall clock stepped back must not read as a burst).
    seen_us: u64,
}

impl Cell {
    /// This cell seen from `now_us`: when the clock went back since the last look, the TAT
    /// goes back as far.
    fn anchored(self, now_us: u64) -> Cell {
        if now_us >= self.seen_us {
            return self;
        }
        Cell {
            tat_us: self.tat_us.saturating_sub(self.seen_us - now_us),
            seen_us: now_us,
            ..self
        }
    }

    /// Where the TAT would go if one more request were admitted now, and how far ahead of
    /// now that is beyond what `class` tolerates (0: admissible).
    fn probe(&self, quota: Quota, class: Class, now_us: u64) -> (u64, u64) {
        let interval = (SECOND_US / u64::from(quota.qps.max(1))).max(1);
        let tat_us = self.anchored(now_us).tat_us;
        let base = if tat_us > now_us && self.qps != quota.qps && self.qps > 0 {
            // The quota changed: the requests still counted keep their number, so the
            // time they take up scales with the new interval.
            let ahead =
                (tat_us - now_us) as u128 * u128::from(self.qps) / u128::from(quota.qps.max(1));
            now_us + ahead as u64
        } else {
            tat_us.max(now_us)
        };
        let next = base + interval;
        let ahead = next - now_us;
        (next, ahead.saturating_sub(tolerance(quota, class)))
    }
}

/// How far ahead of now the TAT may be, counting the request, for `class` to be admitted.
fn tolerance(quota: Quota, class: Class) -> u64 {
    match class {
        Class::Init => SECOND_US * u64::from(100 - quota.critical_share.min(90)) / 100,
        Class::CriticalInit => SECOND_US,
        Class::InFlight => 10 * SECOND_US,
    }
}

/// Node-wide settings for admission (`[capacity]` in the settings file).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodePolicy {
    /// Requests per second this node takes from all tenants together (0: no ceiling).
    pub node_qps: u32,
    /// Tenants this node serves; empty means every tenant.
    pub dedicated_to: Vec<String>,
}

/// Admission state for one node.
#[derive(Debug)]
pub struct Admission {
    node_qps: u32,
    dedicated_to: HashSet<String>,
    /// Tenant cells, sharded by tenant id so that tenants rarely share a lock.
    shards: Vec<Mutex<HashMap<String, Cell>>>,
    node: Mutex<Cell>,
}

const SHARDS: usize = 16;

impl Admission {
    pub fn new(policy: &NodePolicy) -> Self {
        Self {
            node_qps: policy.node_qps,
            dedicated_to: policy.dedicated_to.iter().cloned().collect(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            node: Mutex::new(Cell::default()),
        }
    }

    /// Whether this node serves `tenant_id` at all.
    pub fn serves(&self, tenant_id: &str) -> bool {
        self.dedicated_to.is_empty() || self.dedicated_to.contains(tenant_id)
    }

    fn shard(&self, tenant_id: &str) -> &Mutex<HashMap<String, Cell>> {
        let h = tenant_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h % SHARDS as u64) as usize]
    }

    /// Admit one request of `class` for `tenant_id` under `quota` at `now_us`, or say why not.
    /// An admitted request is charged to the tenant and to the node; a refused one to
    /// neither.
    pub fn admit(
        &self,
        tenant_id: &str,
        quota: Quota,
        class: Class,
        now_us: u64,
    ) -> Result<(), Refusal> {
        if !self.serves(tenant_id) {
            return Err(Refusal::NotServed);
        }
        let mut shard = self
            .shard(tenant_id)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let seen = shard.get(tenant_id).copied().unwrap_or_default();
        let cell = seen.anchored(now_us);
        if cell.seen_us != seen.seen_us {
            shard.insert(tenant_id.to_owned(), cell);
        }
        let (next, over) = cell.probe(quota, class, now_us);
        if over > 0 {
            return Err(Refusal::Throttled {
                retry_after_ms: over.div_ceil(1000),
                node: false,
            });
        }
        if self.node_qps > 0 {
            // Lock order: tenant shard, then node.
            let mut node = self.node.lock().unwrap_or_else(|p| p.into_inner());
            *node = node.anchored(now_us);
            let node_quota = Quota {
                qps: self.node_qps,
                critical_share: quota.critical_share,
            };
            let (node_next, node_over) = node.probe(node_quota, class, now_us);
            if node_over > 0 {
                return Err(Refusal::Throttled {
                    retry_after_ms: node_over.div_ceil(1000),
                    node: true,
                });
            }
            *node = Cell {
                tat_us: node_next,
                qps: self.node_qps,
                seen_us: now_us,
            };
        }
        if shard.len() > 100_000 && !shard.contains_key(tenant_id) {
            // Tenants are few; a map this large holds long-idle ones. Idle cells carry no
            // state worth keeping (their TAT is in the past).
            shard.retain(|_, c| c.tat_us > now_us);
        }
        shard.insert(
            tenant_id.to_owned(),
            Cell {
                tat_us: next,
                qps: quota.qps,
                seen_us: now_us,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: Quota = Quota {
        qps: 100,
        critical_share: 20,
    };

    fn open() -> Admission {
        Admission::new(&NodePolicy::default())
    }

    /// How many of `n` requests of `class` arriving together at `now_us` are admitted.
    fn burst(a: &Admission, tenant: &str, quota: Quota, class: Class, n: u32, now_us: u64) -> u32 {
        (0..n)
            .filter(|_| a.admit(tenant, quota, class, now_us).is_ok())
            .count() as u32
    }

    #[test]
    fn a_burst_gets_the_share_of_a_second_its_class_tolerates() {
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::Init, 500, 0), 80);
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::CriticalInit, 500, 0), 100);
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::InFlight, 5000, 0), 1000);
        let no_share = Quota {
            critical_share: 0,
            ..Q
        };
        let a = open();
        assert_eq!(burst(&a, "t", no_share, Class::Init, 500, 0), 100);
    }

    #[test]
    fn the_sustained_rate_is_the_quota_and_refusals_say_when_to_retry() {
        let a = open();
        let mut admitted = 0;
        // 10 s at 3x the quota, one request every 1/300 s.
        for i in 0..3000u64 {
            if a.admit("t", Q, Class::Init, i * SECOND_US / 300).is_ok() {
                admitted += 1;
            }
        }
        // 10 s of quota plus the initial burst.
        assert!((1000..=1000 + 81).contains(&admitted), "{admitted}");
        let now = 10 * SECOND_US;
        let refused = (0..3).find_map(|_| a.admit("t", Q, Class::Init, now).err());
        let Some(Refusal::Throttled {
            retry_after_ms,
            node: false,
        }) = refused
        else {
            panic!("expected throttling");
        };
        assert!((1..=10).contains(&retry_after_ms), "{retry_after_ms}");
        assert!(
            a.admit("t", Q, Class::Init, now + retry_after_ms * 1000)
                .is_ok()
        );
    }

    #[test]
    fn in_flight_work_displaces_inits_under_overload() {
        let a = open();
        let (mut inits, mut in_flight) = (0, 0);
        // 5 s: inits at 5x the quota, answers and verifications at half of it.
        for i in 0..2500u64 {
            let now = i * SECOND_US / 500;
            if a.admit("t", Q, Class::Init, now).is_ok() {
                inits += 1;
            }
            if i % 10 == 0 && a.admit("t", Q, Class::InFlight, now).is_ok() {
                in_flight += 1;
            }
        }
        assert_eq!(in_flight, 250, "every in-flight request got through");
        assert!(
            inits <= 5 * 100 - 250 + 80,
            "inits took the remainder: {inits}"
        );
        assert!(inits >= 5 * 100 - 250, "{inits}");
    }

    #[test]
    fn a_critical_scene_keeps_its_share_while_ordinary_inits_flood() {
        let a = open();
        let mut critical = 0;
        for i in 0..5000u64 {
            let now = i * SECOND_US / 1000;
            let _ = a.admit("t", Q, Class::Init, now);
            // A checkout at a fifth of the quota, in bursts of 5.
            if i % 250 == 0 {
                critical += burst(&a, "t", Q, Class::CriticalInit, 5, now);
            }
        }
        assert_eq!(critical, 100);
    }

    #[test]
    fn tenants_are_counted_apart_and_the_node_ceiling_binds_them_all() {
        let a = open();
        assert_eq!(burst(&a, "a", Q, Class::Init, 500, 0), 80);
        assert_eq!(burst(&a, "b", Q, Class::Init, 500, 0), 80);
        let node = Admission::new(&NodePolicy {
            node_qps: 120,
            dedicated_to: vec![],
        });
        assert_eq!(burst(&node, "a", Q, Class::Init, 500, 0), 80);
        let b = burst(&node, "b", Q, Class::Init, 500, 0);
        assert!(b < 80, "the node's ceiling left b {b}");
        let Err(Refusal::Throttled { node: true, .. }) = node.admit("b", Q, Class::Init, 0) else {
            panic!("the node refuses");
        };
        // A refusal by the node charged nothing to the tenant.
        assert!(node.admit("b", Q, Class::InFlight, 0).is_ok());
    }

    #[test]
    fn a_raised_quota_is_in_force_at_once_and_a_lowered_one_counts_what_was_admitted() {
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::Init, 500, 0), 80);
        let raised = Quota { qps: 1000, ..Q };
        // 80 of 800 used: 720 left.
        assert_eq!(burst(&a, "t", raised, Class::Init, 2000, 0), 720);
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::Init, 40, 0), 40);
        let lowered = Quota { qps: 50, ..Q };
        // 40 of a burst of 40 used.
        assert_eq!(burst(&a, "t", lowered, Class::Init, 10, 0), 0);
    }

    #[test]
    fn a_dedicated_node_serves_only_its_tenants() {
        let a = Admission::new(&NodePolicy {
            node_qps: 0,
            dedicated_to: vec!["vip".into()],
        });
        assert!(a.admit("vip", Q, Class::Init, 0).is_ok());
        assert_eq!(
            a.admit("other", Q, Class::InFlight, 0),
            Err(Refusal::NotServed)
        );
    }

    #[test]
    fn a_clock_that_went_back_does_not_lock_a_tenant_out() {
        let a = open();
        assert_eq!(burst(&a, "t", Q, Class::Init, 500, 100 * SECOND_US), 80);
        // The wall clock stepped back a minute: the burst is as far behind as before.
        assert!(a.admit("t", Q, Class::Init, 40 * SECOND_US).is_err());
        assert!(a.admit("t", Q, Class::Init, 41 * SECOND_US).is_ok());
        // A clock that goes forward three seconds and back two between requests (a test
        // clock set attempt by attempt) reads as one second each: never a burst, even for
        // a quota of 2.
        let a = open();
        let two = Quota {
            qps: 2,
            critical_share: 0,
        };
        let mut now = 1_000 * SECOND_US;
        for i in 0..200 {
            now += if i % 2 == 0 { 3 * SECOND_US } else { 0 };
            assert!(a.admit("t", two, Class::Init, now).is_ok(), "request {i}");
            if i % 2 == 1 {
                now -= 2 * SECOND_US;
            }
        }
    }
}
