//! Failed sign-ins counted per key (an account, a client address) in fixed windows.
//! The counts live in the database, so a limit holds however many nodes share it.

use std::time::Duration;

use parley_store::{Store, StoreResult};

pub struct Throttle {
    /// Keeps the keys of one throttle apart from another's.
    scope: &'static str,
    limit: u32,
    window_ms: i64,
}

impl Throttle {
    pub fn new(scope: &'static str, limit: u32, window: Duration) -> Self {
        Self {
            scope,
            limit,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:{key}", self.scope)
    }

    /// Seconds to wait when `key` has used up its failures, else None.
    pub async fn blocked_for(
        &self,
        store: &dyn Store,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<u64>> {
        let Some((start, failures)) = store.signin_failures(&self.key(key)).await? else {
            return Ok(None);
        };
        Ok(blocked_for(
            start,
            failures,
            self.limit,
            self.window_ms,
            now,
        ))
    }

    pub async fn fail(&self, store: &dyn Store, key: &str, now: i64) -> StoreResult<()> {
        store
            .record_signin_failure(&self.key(key), now, self.window_ms)
            .await
    }

    pub async fn clear(&self, store: &dyn Store, key: &str) -> StoreResult<()> {
        store.clear_signin_failures(&self.key(key)).await
    }

    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }
}

/// The rule itself: blocked while the window that saw `limit` failures lasts.
fn blocked_for(start: i64, failures: i64, limit: u32, window_ms: i64, now: i64) -> Option<u64> {
    let ends = start.saturating_add(window_ms);
    if now < ends && failures >= i64::from(limit) {
        let secs = (ends - now + 999) / 1000;
        Some(u64::try_from(secs).unwrap_or(1).max(1))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_from_the_limit_until_the_window_ends() {
        assert_eq!(blocked_for(0, 1, 2, 60_000, 10), None);
        assert_eq!(blocked_for(0, 2, 2, 60_000, 10), Some(60));
        assert_eq!(blocked_for(0, 9, 2, 60_000, 59_500), Some(1));
        assert_eq!(blocked_for(0, 9, 2, 60_000, 60_000), None);
    }
}
