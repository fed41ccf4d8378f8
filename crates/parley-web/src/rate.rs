//! Comments posted per network address in the last minute, for the pipeline's address
//! rate limit. In-process: on several nodes each node counts its own posts.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct PostsByAddress {
    window: Duration,
    posts: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

/// Addresses kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;
/// Posts remembered per address: more than any sensible limit.
const KEEP_PER_ADDRESS: usize = 1_000;

impl PostsByAddress {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            posts: Mutex::new(HashMap::new()),
        }
    }

    /// Posts from `ip` within the window.
    pub fn recent(&self, ip: IpAddr) -> i64 {
        let map = self.posts.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&ip).map_or(0, |times| {
            let fresh = times.iter().filter(|t| t.elapsed() < self.window).count();
            i64::try_from(fresh).unwrap_or(i64::MAX)
        })
    }

    pub fn note(&self, ip: IpAddr) {
        let mut map = self.posts.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.window;
        if map.len() >= SWEEP_AT {
            map.retain(|_, times| times.back().is_some_and(|t| t.elapsed() < window));
        }
        let times = map.entry(ip).or_default();
        while times.front().is_some_and(|t| t.elapsed() >= window)
            || times.len() >= KEEP_PER_ADDRESS
        {
            times.pop_front();
        }
        times.push_back(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_posts_per_address_within_the_window() {
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let posts = PostsByAddress::new(Duration::from_secs(60));
        assert_eq!(posts.recent(a), 0);
        posts.note(a);
        posts.note(a);
        posts.note(b);
        assert_eq!(posts.recent(a), 2);
        assert_eq!(posts.recent(b), 1);
    }

    #[test]
    fn old_posts_stop_counting() {
        let a: IpAddr = [10, 0, 0, 1].into();
        let posts = PostsByAddress::new(Duration::from_millis(0));
        posts.note(a);
        assert_eq!(posts.recent(a), 0);
    }
}
