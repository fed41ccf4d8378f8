//! A look at a database without changing it, for `parley doctor`: can we reach it, and
//! how does its schema compare with this binary's migrations.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::error::{StoreError, StoreResult};
use crate::model::Readiness;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// A SQLite file that does not exist yet: the first start creates it.
    Missing,
    /// The database answered; `schema` compares its migrations with ours.
    Reached {
        backend: &'static str,
        schema: Readiness,
    },
}

/// Connects to `url` (same forms as [`crate::connect`]) without creating or migrating
/// anything.
pub async fn inspect(url: &str) -> StoreResult<Inspection> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options =
            PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl(e.to_string()))?;
        let mut conn = options.connect().await?;
        let applied = applied_versions_pg(&mut conn).await?;
        conn.close().await?;
        return Ok(Inspection::Reached {
            backend: "postgres",
            schema: compare(&crate::postgres::MIGRATOR, &applied),
        });
    }
    let url = if url.starts_with("sqlite:") {
        url.to_owned()
    } else if url.contains("://") {
        return Err(StoreError::BadUrl(format!(
            "{url}: use sqlite://FILE or postgres://USER@HOST/DATABASE"
        )));
    } else {
        format!("sqlite://{url}")
    };
    let options = SqliteConnectOptions::from_str(&url)
        .map_err(|e| StoreError::BadUrl(e.to_string()))?
        .create_if_missing(false)
        .read_only(true);
    if !options.get_filename().exists() {
        return Ok(Inspection::Missing);
    }
    let mut conn = options.connect().await?;
    let (has_table,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    let applied: Vec<i64> = if has_table > 0 {
        sqlx::query_as::<_, (i64,)>(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&mut conn)
        .await?
        .into_iter()
        .map(|(v,)| v)
        .collect()
    } else {
        Vec::new()
    };
    conn.close().await?;
    Ok(Inspection::Reached {
        backend: "sqlite",
        schema: compare(&crate::sqlite::MIGRATOR, &applied),
    })
}

async fn applied_versions_pg(conn: &mut sqlx::PgConnection) -> StoreResult<Vec<i64>> {
    let (has_table,): (bool,) =
        sqlx::query_as("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?;
    if !has_table {
        return Ok(Vec::new());
    }
    Ok(sqlx::query_as::<_, (i64,)>(
        "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|(v,)| v)
    .collect())
}

fn compare(migrator: &Migrator, applied: &[i64]) -> Readiness {
    let known: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    Readiness::compare(&known, applied)
}
