//! The PostgreSQL backend: a connection pool shared by reads and writes. Many Parley
//! nodes may use one database; migrations take PostgreSQL's advisory lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::error::{StoreError, StoreResult};
use crate::nodes::{CHANNEL_SQL, NodeFeed, NodeMessage};
use crate::sql::{SqlStore, Writer};

/// The schema migrations of the PostgreSQL dialect.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub async fn open(url: &str) -> StoreResult<SqlStore<Postgres>> {
    let options = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
    open_with(options).await
}

/// Opens with explicit options, e.g. a `search_path` for a per-test schema.
pub async fn open_with(options: PgConnectOptions) -> StoreResult<SqlStore<Postgres>> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(SqlStore::new(pool.clone(), Writer::Pooled(pool), &MIGRATOR))
}

pub(crate) async fn notify_nodes(pool: &sqlx::PgPool, message: String) -> StoreResult<bool> {
    sqlx::query(&format!("SELECT pg_notify({CHANNEL_SQL}, $1)"))
        .bind(message)
        .execute(pool)
        .await?;
    Ok(true)
}

/// LISTENs on its own connection and forwards what it hears; after a lost connection
/// it says so (what was sent meanwhile is gone) and listens again.
pub(crate) async fn listen_nodes(pool: &sqlx::PgPool) -> StoreResult<NodeFeed> {
    let (channel,): (String,) = sqlx::query_as(&format!("SELECT {CHANNEL_SQL}"))
        .fetch_one(pool)
        .await?;
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(&channel).await?;
    let (tx, messages) = mpsc::channel(4096);
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                // Nobody listens any more: close the connection.
                () = tx.closed() => break,
                r = listener.try_recv() => r,
            };
            let heard = match received {
                Ok(Some(n)) => NodeMessage::Message(n.payload().to_owned()),
                // try_recv reconnects (and listens again) on the next call.
                Ok(None) => NodeMessage::Lost,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for other nodes");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    NodeMessage::Lost
                }
            };
            if tx.send(heard).await.is_err() {
                break;
            }
        }
    });
    Ok(NodeFeed { messages })
}
