//! Live updates: an in-process bus of per-story events, fanned out to Server-Sent Event
//! streams, and per-site moderation events for the moderators' live queues. Each story
//! (and each site's moderation feed) keeps its recent events so a reconnecting client
//! can resume from its Last-Event-ID; one that fell further behind is told to reload.

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

/// What a moderation event says happened to a comment: each may move it into or out
/// of a queue, so a live queue page asks again about the comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationKind {
    /// Posted and published at once (the Approved queue).
    Published,
    /// Posted or edited and held for a moderator (the Pending queue).
    Held,
    Edited,
    Deleted,
    Reported,
    Approved,
    Rejected,
    Featured,
    Unfeatured,
}

impl ModerationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationKind::Published => "published",
            ModerationKind::Held => "held",
            ModerationKind::Edited => "edited",
            ModerationKind::Deleted => "deleted",
            ModerationKind::Reported => "reported",
            ModerationKind::Approved => "approved",
            ModerationKind::Rejected => "rejected",
            ModerationKind::Featured => "featured",
            ModerationKind::Unfeatured => "unfeatured",
        }
    }
}

/// Something moderators of a site should see at once, by id only.
#[derive(Debug, Clone, Serialize)]
pub struct ModerationEvent {
    pub id: u64,
    pub kind: ModerationKind,
    pub site_id: i64,
    pub story_id: i64,
    pub comment_id: i64,
    /// The comment's status after the change.
    pub status: &'static str,
}

/// An event a channel keeps: it has an id the bus assigns.
pub trait BusEvent: Send + Sync + 'static {
    fn event_id(&self) -> u64;
}

impl BusEvent for StoryEvent {
    fn event_id(&self) -> u64 {
        self.id
    }
}

impl BusEvent for ModerationEvent {
    fn event_id(&self) -> u64 {
        self.id
    }
}

struct Channel<T> {
    sender: broadcast::Sender<Arc<T>>,
    recent: VecDeque<Arc<T>>,
}

/// Channels by key (a story id, or a site id for moderation).
struct Topics<T>(Mutex<HashMap<i64, Channel<T>>>);

impl<T: BusEvent> Topics<T> {
    fn new() -> Self {
        Topics(Mutex::new(HashMap::new()))
    }

    fn publish(&self, key: i64, event: Arc<T>) {
        let mut channels = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(key).or_insert_with(|| Channel {
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

    fn subscribe(&self, key: i64, last_event_id: Option<u64>) -> Subscription<T> {
        let mut channels = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(key).or_insert_with(|| Channel {
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
        let oldest = channel.recent.front().map(|e| e.event_id());
        let gap = channel.recent.len() == RECENT && oldest.is_some_and(|o| o > last + 1);
        let missed = channel
            .recent
            .iter()
            .filter(|e| e.event_id() > last)
            .cloned()
            .collect();
        Subscription { missed, gap, live }
    }
}

pub struct EventBus {
    next_id: AtomicU64,
    stories: Topics<StoryEvent>,
    moderation: Topics<ModerationEvent>,
}

/// Where a subscriber starts: the events it missed, then the live feed.
pub struct Subscription<T = StoryEvent> {
    pub missed: Vec<Arc<T>>,
    /// The client's Last-Event-ID is older than what we keep: it must reload.
    pub gap: bool,
    pub live: broadcast::Receiver<Arc<T>>,
}

impl EventBus {
    /// Event ids start from the clock so they keep growing across restarts.
    pub fn new(now_ms: i64) -> Self {
        Self {
            next_id: AtomicU64::new(u64::try_from(now_ms).unwrap_or(0).saturating_mul(1000)),
            stories: Topics::new(),
            moderation: Topics::new(),
        }
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn publish(&self, mut event: StoryEvent) {
        event.id = self.next_id();
        self.stories.publish(event.story_id, Arc::new(event));
    }

    pub fn subscribe(&self, story_id: i64, last_event_id: Option<u64>) -> Subscription {
        self.stories.subscribe(story_id, last_event_id)
    }

    /// Tells the moderators of `event.site_id` about a change to a comment.
    pub fn publish_moderation(&self, mut event: ModerationEvent) {
        event.id = self.next_id();
        self.moderation.publish(event.site_id, Arc::new(event));
    }

    pub fn subscribe_moderation(
        &self,
        site_id: i64,
        last_event_id: Option<u64>,
    ) -> Subscription<ModerationEvent> {
        self.moderation.subscribe(site_id, last_event_id)
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

    fn moderation(site_id: i64, comment_id: i64) -> ModerationEvent {
        ModerationEvent {
            id: 0,
            kind: ModerationKind::Held,
            site_id,
            story_id: 1,
            comment_id,
            status: "pending",
        }
    }

    #[test]
    fn moderation_events_go_to_their_site_only_and_resume() {
        let bus = EventBus::new(1);
        bus.publish(event(1, 5));
        bus.publish_moderation(moderation(1, 10));
        bus.publish_moderation(moderation(2, 20));
        bus.publish_moderation(moderation(1, 11));
        let site1 = bus.subscribe_moderation(1, Some(0));
        let ids: Vec<i64> = site1.missed.iter().map(|e| e.comment_id).collect();
        assert_eq!(ids, vec![10, 11]);
        let after = bus.subscribe_moderation(1, Some(site1.missed[0].id));
        assert_eq!(after.missed.len(), 1);
        // Story streams never see moderation events, nor the other way round.
        assert_eq!(bus.subscribe(1, Some(0)).missed.len(), 1);
        assert!(bus.subscribe_moderation(3, Some(0)).missed.is_empty());
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
