//! Failed sign-in counting per key (account, client address) in fixed windows.
//! In-process: on several nodes each node counts on its own (see docs/SCALING.md).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Throttle {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (Instant, u32)>>,
}

/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when `key` has used up its failures, else None.
    pub fn blocked_for(&self, key: &str) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (start, count) = map.get(key)?;
        let elapsed = start.elapsed();
        if elapsed < self.window && *count >= self.limit {
            Some((self.window - elapsed).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn fail(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= SWEEP_AT {
            let window = self.window;
            map.retain(|_, (start, _)| start.elapsed() < window);
        }
        let now = Instant::now();
        let entry = map.entry(key.to_owned()).or_insert((now, 0));
        if entry.0.elapsed() >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_clears() {
        let t = Throttle::new(2, Duration::from_secs(60));
        t.fail("a");
        assert_eq!(t.blocked_for("a"), None);
        t.fail("a");
        assert!(t.blocked_for("a").is_some());
        assert_eq!(t.blocked_for("b"), None);
        t.clear("a");
        assert_eq!(t.blocked_for("a"), None);
    }

    #[test]
    fn a_window_expires() {
        let t = Throttle::new(1, Duration::from_millis(0));
        t.fail("a");
        assert_eq!(t.blocked_for("a"), None);
    }
}
