//! The embedded SQLite backend: WAL mode, foreign keys on, a busy timeout, a small pool
//! of read-only connections and one write connection behind group commit.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite};

use crate::error::{StoreError, StoreResult};
use crate::sql::writer::BatchWriter;
use crate::sql::{Backend, SqlStore, Writer};

/// The schema migrations of the SQLite dialect.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

pub async fn open(url: &str) -> StoreResult<SqlStore<Sqlite>> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::BadUrl(e.to_string()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before anyone hears it succeeded.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let mut writer = options.connect().await?;
    MIGRATOR.run(&mut writer).await?;
    let reads = SqlitePoolOptions::new()
        .min_connections(1)
        .max_connections(4)
        .connect_with(options.read_only(true))
        .await?;
    Ok(SqlStore::new(
        reads,
        Writer::Batched(BatchWriter::start(writer, Sqlite::BEGIN)),
        &MIGRATOR,
    ))
}
