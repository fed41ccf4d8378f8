//! Live updates: a bus of per-story events, fanned out to Server-Sent Event streams,
//! and per-site moderation events for the moderators' live queues. Each story (and each
//! site's moderation feed) keeps its recent events so a reconnecting client can resume
//! from its Last-Event-ID; one that fell further behind is told to reload.
//!
//! On one node (SQLite) events go straight to the local channels. With several nodes
//! on PostgreSQL the bus has a relay (see `fanout.rs`): the node that makes an event
//! gives it its id and sends it through the database, and every node, itself included,
//! delivers what it hears in the database's order. So every node keeps the same events
//! under the same ids in the same order, and a stream resumes on any node.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

/// Events kept per story for resuming streams.
const RECENT: usize = 512;
/// Channels kept before idle ones are dropped.
const MAX_IDLE_CHANNELS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModerationEvent {
    pub id: u64,
    pub kind: ModerationKind,
    pub site_id: i64,
    pub story_id: i64,
    pub comment_id: i64,
    /// The comment's status after the change.
    pub status: Cow<'static, str>,
}

/// An event on its way between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Relayed {
    Story(StoryEvent),
    Moderation(ModerationEvent),
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
    /// Events may have been lost here (the link to the other nodes dropped): a client
    /// whose Last-Event-ID we no longer hold must reload.
    lost: bool,
}

impl<T> Channel<T> {
    fn new() -> Self {
        Channel {
            sender: broadcast::channel(RECENT).0,
            recent: VecDeque::with_capacity(16),
            lost: false,
        }
    }
}

/// Channels by key (a story id, or a site id for moderation).
struct Topics<T>(Mutex<HashMap<i64, Channel<T>>>);

impl<T: BusEvent> Topics<T> {
    fn new() -> Self {
        Topics(Mutex::new(HashMap::new()))
    }

    fn publish(&self, key: i64, event: Arc<T>) {
        let mut channels = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let channel = channels.entry(key).or_insert_with(Channel::new);
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
        let channel = channels.entry(key).or_insert_with(Channel::new);
        let live = channel.sender.subscribe();
        let Some(last) = last_event_id else {
            return Subscription {
                missed: Vec::new(),
                gap: false,
                live,
            };
        };
        // Events are kept in delivery order, the same on every node: resume right after
        // the client's last one.
        if let Some(at) = channel.recent.iter().position(|e| e.event_id() == last) {
            return Subscription {
                missed: channel.recent.iter().skip(at + 1).cloned().collect(),
                gap: false,
                live,
            };
        }
        // Not held (any more): its id came from a clock, so newer ids are later events,
        // unless what came after it was dropped or may have been lost.
        let oldest = channel.recent.front().map(|e| e.event_id());
        let evicted = channel.recent.len() == RECENT && oldest.is_some_and(|o| o > last);
        let gap = evicted || channel.lost;
        let missed = if gap {
            Vec::new()
        } else {
            channel
                .recent
                .iter()
                .filter(|e| e.event_id() > last)
                .cloned()
                .collect()
        };
        Subscription { missed, gap, live }
    }

    /// The link to the other nodes dropped: forget what we hold, end the live streams
    /// (their clients reconnect and, not found, are told to reload).
    fn lost(&self) {
        let mut channels = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for channel in channels.values_mut() {
            *channel = Channel {
                lost: true,
                ..Channel::new()
            };
        }
    }
}

pub struct EventBus {
    next_id: AtomicU64,
    stories: Topics<StoryEvent>,
    moderation: Topics<ModerationEvent>,
    /// Set when other nodes share the database: events go out through it instead.
    relay: OnceLock<mpsc::UnboundedSender<Relayed>>,
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
            relay: OnceLock::new(),
        }
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn publish(&self, mut event: StoryEvent) {
        event.id = self.next_id();
        self.send(Relayed::Story(event));
    }

    fn send(&self, event: Relayed) {
        match self.relay.get() {
            Some(relay) => {
                if let Err(unsent) = relay.send(event) {
                    // The relay stopped (shutting down): this node's own clients still hear.
                    self.deliver(unsent.0);
                }
            }
            None => self.deliver(event),
        }
    }

    /// From now on events go to `relay`, and reach local clients only through
    /// `deliver` when they come back from the database. Set once.
    pub fn relay_through(&self, relay: mpsc::UnboundedSender<Relayed>) {
        let _ = self.relay.set(relay);
    }

    /// Hands an event, with the id its node gave it, to the local subscribers.
    pub fn deliver(&self, event: Relayed) {
        match event {
            Relayed::Story(e) => self.stories.publish(e.story_id, Arc::new(e)),
            Relayed::Moderation(e) => self.moderation.publish(e.site_id, Arc::new(e)),
        }
    }

    /// Events from other nodes may have been lost: streams must start over.
    pub fn connection_lost(&self) {
        self.stories.lost();
        self.moderation.lost();
    }

    pub fn subscribe(&self, story_id: i64, last_event_id: Option<u64>) -> Subscription {
        self.stories.subscribe(story_id, last_event_id)
    }

    /// Tells the moderators of `event.site_id` about a change to a comment.
    pub fn publish_moderation(&self, mut event: ModerationEvent) {
        event.id = self.next_id();
        self.send(Relayed::Moderation(event));
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
            status: "pending".into(),
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

    #[test]
    fn resuming_follows_delivery_order_not_id_order() {
        // Two nodes' clocks differ: a later event may carry a smaller id.
        let bus = EventBus::new(1);
        for (id, comment) in [(500, 1), (900, 2), (700, 3), (800, 4)] {
            bus.deliver(Relayed::Story(StoryEvent {
                id,
                ..event(1, comment)
            }));
        }
        let after = bus.subscribe(1, Some(900));
        let ids: Vec<Option<i64>> = after.missed.iter().map(|e| e.comment_id).collect();
        assert_eq!(ids, vec![Some(3), Some(4)]);
        assert!(!after.gap);
    }

    #[test]
    fn after_a_lost_link_an_unknown_position_means_reload() {
        let bus = EventBus::new(1);
        bus.publish(event(1, 1));
        let seen = bus.subscribe(1, Some(0)).missed[0].id;
        bus.connection_lost();
        bus.publish(event(1, 2));
        assert!(
            bus.subscribe(1, Some(seen)).gap,
            "what came between may be lost"
        );
        let fresh = bus.subscribe(1, None);
        assert!(!fresh.gap && fresh.missed.is_empty());
    }

    #[tokio::test]
    async fn with_a_relay_events_reach_subscribers_only_when_delivered() {
        let bus = EventBus::new(1);
        let (tx, mut relayed) = mpsc::unbounded_channel();
        bus.relay_through(tx);
        let mut sub = bus.subscribe(4, None);
        bus.publish(event(4, 9));
        assert!(sub.live.try_recv().is_err(), "not before it went round");
        let Some(out) = relayed.recv().await else {
            panic!("the event went to the relay");
        };
        bus.deliver(out);
        assert_eq!(
            sub.live.recv().await.ok().and_then(|e| e.comment_id),
            Some(9)
        );
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
