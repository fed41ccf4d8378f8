//! Messages between Parley nodes that share one database: PostgreSQL NOTIFY carries
//! them, LISTEN hears them. SQLite has a single node and no such channel.

use tokio::sync::mpsc;

/// What a node hears from the others (and from itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeMessage {
    /// A message some node sent, in the order the database committed it.
    Message(String),
    /// The connection dropped and came back: messages sent meanwhile are lost.
    Lost,
}

/// A node's subscription; ends when dropped.
pub struct NodeFeed {
    pub(crate) messages: mpsc::Receiver<NodeMessage>,
}

impl NodeFeed {
    /// The next message; None once the feed has stopped for good.
    pub async fn recv(&mut self) -> Option<NodeMessage> {
        self.messages.recv().await
    }
}

/// The NOTIFY channel: one per schema, so databases shared by several Parley
/// installations (or tests) keep their messages apart.
pub(crate) const CHANNEL_SQL: &str = "'parley_' || current_schema()";
