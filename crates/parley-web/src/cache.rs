//! Rendered comment pages kept in memory per story. A write to a story drops its pages;
//! a page computed while a write happened is not stored (generation check); entries
//! also age out after a short TTL. Each page remembers the story version it shows, so
//! nodes sharing a database can check a hit against the version there (see
//! `AppState::cached_page`) and never serve a page older than another node's write.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

#[derive(Clone)]
pub struct CachedPage {
    pub body: Bytes,
    pub etag: String,
    /// The story version the page shows.
    pub version: i64,
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

    /// The page under `key`, if fresh and (when `version` is given) of that version.
    pub fn get(&self, story: i64, key: &str, version: Option<i64>) -> Option<CachedPage> {
        let map = self.stories.read().unwrap_or_else(|p| p.into_inner());
        let page = map.get(&story)?.pages.get(key)?;
        (page.stored.elapsed() < self.ttl && version.is_none_or(|v| v == page.version))
            .then(|| page.clone())
    }

    /// The story's generation now; pass it back to `put`.
    pub fn generation(&self, story: i64) -> u64 {
        let map = self.stories.read().unwrap_or_else(|p| p.into_inner());
        map.get(&story).map_or(0, |s| s.generation)
    }

    pub fn put(
        &self,
        story: i64,
        generation: u64,
        version: i64,
        key: String,
        body: Bytes,
        etag: String,
    ) {
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
                version,
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
        cache.put(1, g, 1, "k".into(), Bytes::from_static(b"old"), "e".into());
        assert!(cache.get(1, "k", None).is_none());
        let g = cache.generation(1);
        cache.put(1, g, 2, "k".into(), Bytes::from_static(b"new"), "e".into());
        assert_eq!(
            cache.get(1, "k", None).map(|p| p.body),
            Some(Bytes::from_static(b"new"))
        );
        cache.invalidate(1);
        assert!(cache.get(1, "k", None).is_none());
    }

    #[test]
    fn a_hit_of_another_version_is_a_miss() {
        let cache = PageCache::new(Duration::from_secs(60), 10);
        cache.put(1, 0, 7, "k".into(), Bytes::from_static(b"v7"), "e".into());
        assert!(cache.get(1, "k", Some(7)).is_some());
        assert!(cache.get(1, "k", Some(8)).is_none());
        assert!(cache.get(1, "k", None).is_some());
    }

    #[test]
    fn pages_expire() {
        let cache = PageCache::new(Duration::from_millis(0), 10);
        cache.put(1, 0, 1, "k".into(), Bytes::new(), "e".into());
        assert!(cache.get(1, "k", None).is_none());
    }
}
