//! The service clock: wall time in Unix milliseconds, with an offset that tests move forward
//! to exercise expiry (init records, the 90-second token window) without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A cheap, cloneable clock. Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        wall + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Microseconds since the epoch (for rate limiting, where milliseconds are too coarse).
    pub fn now_us(&self) -> u64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        (wall + self.offset_ms.load(Ordering::Relaxed) * 1000).max(0) as u64
    }

    /// Seconds since the epoch.
    pub fn now_s(&self) -> i64 {
        self.now_ms() / 1000
    }

    /// Move this clock (and its clones) forward. For tests.
    pub fn advance_ms(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
