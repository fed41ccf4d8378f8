//! Story versions read fresh from the database for nodes that share it, many requests
//! per query. A request's check joins the next query to start, and a query that starts
//! after the request arrived sees every write committed before it: so a page cached on
//! this node is never served after another node changed the story, yet a busy story
//! costs one small query per batch instead of one per request.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parley_store::Store;
use tokio::sync::{mpsc, oneshot};

/// Checks waiting in one batch at most.
const MAX_BATCH: usize = 1024;

type Ask = (i64, oneshot::Sender<Option<i64>>);

pub struct StoryVersions {
    asks: mpsc::Sender<Ask>,
}

impl StoryVersions {
    /// Starts the batching task; it ends when the store is dropped or this is.
    pub fn start(store: &Arc<dyn Store>) -> Self {
        let (asks, queue) = mpsc::channel(16 * MAX_BATCH);
        tokio::spawn(run(Arc::downgrade(store), queue));
        Self { asks }
    }

    /// The story's version now; None for an unknown story or when the database could
    /// not be asked (the caller then renders afresh).
    pub async fn current(&self, story: i64) -> Option<i64> {
        let (reply, answer) = oneshot::channel();
        self.asks.send((story, reply)).await.ok()?;
        answer.await.ok().flatten()
    }
}

async fn run(store: Weak<dyn Store>, mut queue: mpsc::Receiver<Ask>) {
    let mut batch: Vec<Ask> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(ask) => batch.push(ask),
                Err(_) => break,
            }
        }
        let Some(store) = store.upgrade() else { break };
        let mut ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let found: HashMap<i64, i64> = match store.story_versions(&ids).await {
            Ok(rows) => rows.into_iter().collect(),
            Err(e) => {
                tracing::warn!(error = %e, "reading story versions");
                HashMap::new()
            }
        };
        for (id, reply) in batch.drain(..) {
            let _ = reply.send(found.get(&id).copied());
        }
    }
}
