//! Live updates across nodes. With PostgreSQL, events leave this node as NOTIFY
//! messages (ids only, never comment text) and come back, from every node, through
//! LISTEN; each node then drops its cached pages of the story and hands the event to
//! its own subscribers. With SQLite there is one node and the bus stays in-process.

use std::sync::{Arc, Weak};

use parley_store::nodes::NodeMessage;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::events::{EventBus, Relayed};

/// The relay's tasks; dropping it stops them and closes the LISTEN connection.
#[derive(Default)]
pub struct Fanout {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Fanout {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts relaying the node's events through the database when it has a channel
/// between nodes; does nothing on SQLite.
pub async fn connect(state: &AppState) -> parley_store::StoreResult<Fanout> {
    let Some(mut feed) = state.store.listen_nodes().await? else {
        return Ok(Fanout::default());
    };
    let (relay, mut outgoing) = mpsc::unbounded_channel::<Relayed>();
    state.events.relay_through(relay);

    // Out: each event, in the order this node made them.
    let store = state.store.clone();
    let out = tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            let message = match serde_json::to_string(&event) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(error = %e, "encoding a live event");
                    continue;
                }
            };
            if let Err(e) = store.notify_nodes(message).await {
                tracing::warn!(error = %e, "telling the other nodes; their live streams will reload");
            }
        }
    });

    // In: from every node, this one included, in commit order. Holds the bus weakly so
    // the task ends with the server.
    let bus: Weak<EventBus> = Arc::downgrade(&state.events);
    let cache = Arc::downgrade(&state.cache);
    let into = tokio::spawn(async move {
        while let Some(heard) = feed.recv().await {
            let (Some(bus), Some(cache)) = (bus.upgrade(), cache.upgrade()) else {
                break;
            };
            match heard {
                NodeMessage::Message(text) => match serde_json::from_str::<Relayed>(&text) {
                    Ok(event) => {
                        if let Relayed::Story(e) = &event {
                            cache.invalidate(e.story_id);
                        }
                        bus.deliver(event);
                    }
                    Err(e) => tracing::warn!(error = %e, "an unreadable message from another node"),
                },
                NodeMessage::Lost => {
                    tracing::warn!("lost the link to the other nodes; live streams will reload");
                    bus.connection_lost();
                }
            }
        }
    });
    Ok(Fanout {
        tasks: vec![out, into],
    })
}
