//! Rendered comment pages kept in memory per story. A write to a story drops its pages;
//! a page computed while a write happened is not stored (generation check); entries
//! also age out after a short TTL, which bounds staleness from writers in other
//! processes.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

#[derive(Clone)]
pub struct CachedPage {
    pub body: Bytes,
    pub etag: String,
    stored: Instant,
}

#[derive(Default)]
struct StoryPages {
    generation: u64,
    pages: HashMap<String, CachedPage>,
}

pub struct PageCache {
    stories: RwLock<HashMap<i64, StoryPages>>,
    ttl: Duration,
    max_stories: usize,
    max_pages_per_story: usize,
}

impl PageCache {
    pub fn new(ttl: Duration, max_stories: usize) -> Self {
        Self {
            stories: RwLock::new(HashMap::new()),
            ttl,
            max_stories,
            max_pages_per_story: 64,
        }
    }

    pub fn get(&self, story: i64, key: &str) -> Option<CachedPage> {
        let map = self.stories.read().unwrap_or_else(|p| p.into_inner());
        let page = map.get(&story)?.pages.get(key)?;
        (page.stored.elapsed() < self.ttl).then(|| page.clone())
    }

    /// The story's generation now; pass it back to `put`.
    pub fn generation(&self, story: i64) -> u64 {
        let map = self.stories.read().unwrap_or_else(|p| p.into_inner());
        map.get(&story).map_or(0, |s| s.generation)
    }

    pub fn put(&self, story: i64, generation: u64, key: String, body: Bytes, etag: String) {
        let mut map = self.stories.write().unwrap_or_else(|p| p.into_inner());
        if !map.contains_key(&story) && map.len() >= self.max_stories {
            // Crude but bounded: start over rather than track recency on the hot path.
            map.clear();
        }
        let entry = map.entry(story).or_default();
        if entry.generation != generation {
            return;
        }
        if entry.pages.len() >= self.max_pages_per_story {
            entry.pages.clear();
        }
        entry.pages.insert(
            key,
            CachedPage {
                body,
                etag,
                stored: Instant::now(),
            },
        );
    }

    pub fn invalidate(&self, story: i64) {
        let mut map = self.stories.write().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(story).or_default();
        entry.generation += 1;
        entry.pages.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_during_a_read_keeps_the_stale_page_out() {
        let cache = PageCache::new(Duration::from_secs(60), 10);
        let g = cache.generation(1);
        cache.invalidate(1);
        cache.put(1, g, "k".into(), Bytes::from_static(b"old"), "e".into());
        assert!(cache.get(1, "k").is_none());
        let g = cache.generation(1);
        cache.put(1, g, "k".into(), Bytes::from_static(b"new"), "e".into());
        assert_eq!(
            cache.get(1, "k").map(|p| p.body),
            Some(Bytes::from_static(b"new"))
        );
        cache.invalidate(1);
        assert!(cache.get(1, "k").is_none());
    }

    #[test]
    fn pages_expire() {
        let cache = PageCache::new(Duration::from_millis(0), 10);
        cache.put(1, 0, "k".into(), Bytes::new(), "e".into());
        assert!(cache.get(1, "k").is_none());
    }
}
