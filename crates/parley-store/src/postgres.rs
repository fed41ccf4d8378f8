//! The PostgreSQL backend: a connection pool shared by reads and writes. Many Parley
//! nodes may use one database; migrations take PostgreSQL's advisory lock.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::error::{StoreError, StoreResult};
use crate::sql::{SqlStore, Writer};

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
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(SqlStore::new(pool.clone(), Writer::Pooled(pool)))
}
