//! Live updates: an in-process bus of per-story events, fanned out to Server-Sent Event
//! streams. Each story keeps its recent events so a reconnecting client can resume from
//! its Last-Event-ID; one that fell further behind is told to reload.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::broadcast;

/// Events kept per story for resuming streams.
const RECENT: usize = 512;
/// Channels kept before idle ones are dropped.
const MAX_IDLE_CHANNELS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    CommentPublished,
    CommentEdited,
    CommentDeleted,
    CommentFeatured,
    CommentUnfeatured,
    ReactionsChanged,
    StoryChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CommentPublished => "comment_published",
            EventKind::CommentEdited => "comment_edited",
            EventKind::CommentDeleted => "comment_deleted",
            EventKind::CommentFeatured => "comment_featured",
            EventKind::CommentUnfeatured => "comment_unfeatured",
            EventKind::ReactionsChanged => "reactions_changed",
            EventKind::StoryChanged => "story_changed",
        }
    }
}

/// What happened, by id only: clients fetch what they need to show.
#[derive(Debug, Clone, Serialize)]
pub struct StoryEvent {
    pub id: u64,
    pub kind: EventKind,
    pub story_id: i64,
    pub comment_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub author_id: Option<i64>,
    pub reaction_count: Option<i64>,
}

struct Channel {
    sender: broadcast::Sender<Arc<StoryEvent>>,
    recent: VecDeque<Arc<StoryEvent>>,
}

pub struct EventBus {
    next_id: AtomicU64,
    channels: Mutex<HashMap<i64, Channel>>,
}

/// Where a subscriber starts: the events it missed, then the live feed.
pub struct Subscription {
    pub missed: Vec<Arc<StoryEvent>>,
    /// The client's Last-Event-ID is older than what we keep: it must reload.
    pub gap: bool,
    pub live: broadcast::Receiver<Arc<StoryEvent>>,
}

impl EventBus {
    /// Event ids start from the clock so they keep growing across restarts.
    pub fn new(now_ms: i64) -> Self {
        Self {
            next_id: AtomicU64::new(u64::try_from(now_ms).unwrap_or(0).saturating_mul(1000)),
            channels: Mutex::new(HashMap::new()),
        }
    }

    pub fn publish(&self, mut event: StoryEvent) {
        event.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let event = Arc::new(event);
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(event.story_id).or_insert_with(|| Channel {
            sender: broadcast::channel(RECENT).0,
            recent: VecDeque::with_capacity(16),
        });
        if channel.recent.len() == RECENT {
            channel.recent.pop_front();
        }
        channel.recent.push_back(event.clone());
        let _ = channel.sender.send(event);
        if channels.len() > MAX_IDLE_CHANNELS {
            channels.retain(|_, c| c.sender.receiver_count() > 0);
        }
    }

    pub fn subscribe(&self, story_id: i64, last_event_id: Option<u64>) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(story_id).or_insert_with(|| Channel {
            sender: broadcast::channel(RECENT).0,
            recent: VecDeque::new(),
        });
        let live = channel.sender.subscribe();
        let Some(last) = last_event_id else {
            return Subscription {
                missed: Vec::new(),
                gap: false,
                live,
            };
        };
        let oldest = channel.recent.front().map(|e| e.id);
        let gap = channel.recent.len() == RECENT && oldest.is_some_and(|o| o > last + 1);
        let missed = channel
            .recent
            .iter()
            .filter(|e| e.id > last)
            .cloned()
            .collect();
        Subscription { missed, gap, live }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(story_id: i64, comment_id: i64) -> StoryEvent {
        StoryEvent {
            id: 0,
            kind: EventKind::CommentPublished,
            story_id,
            comment_id: Some(comment_id),
            parent_id: None,
            author_id: None,
            reaction_count: None,
        }
    }

    #[test]
    fn a_resumed_subscription_gets_exactly_what_it_missed() {
        let bus = EventBus::new(1);
        bus.publish(event(1, 10));
        bus.publish(event(2, 99));
        bus.publish(event(1, 11));
        bus.publish(event(1, 12));
        let all = bus.subscribe(1, Some(0));
        let ids: Vec<Option<i64>> = all.missed.iter().map(|e| e.comment_id).collect();
        assert_eq!(ids, vec![Some(10), Some(11), Some(12)]);
        let after_first = bus.subscribe(1, Some(all.missed[0].id));
        assert_eq!(after_first.missed.len(), 2);
        assert!(!after_first.gap);
        assert!(bus.subscribe(1, None).missed.is_empty());
    }

    #[test]
    fn a_subscriber_too_far_behind_is_told_to_reload() {
        let bus = EventBus::new(1);
        let first = {
            bus.publish(event(1, 0));
            bus.subscribe(1, Some(0)).missed[0].id
        };
        for i in 0..RECENT as i64 + 5 {
            bus.publish(event(1, i));
        }
        assert!(bus.subscribe(1, Some(first)).gap);
    }

    #[tokio::test]
    async fn live_subscribers_receive_new_events() {
        let bus = EventBus::new(1);
        let mut sub = bus.subscribe(3, None);
        bus.publish(event(3, 7));
        let got = sub.live.recv().await.map(|e| e.comment_id);
        assert_eq!(got.ok().flatten(), Some(7));
    }
}
