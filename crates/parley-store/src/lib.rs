//! Parley's storage layer: the [`Store`] interface and its SQLite and PostgreSQL
//! backends, chosen by the database URL.

pub mod account_data;
pub mod backup;
pub mod error;
pub mod import;
pub mod inspect;
pub mod model;
#[path = "sql/moderation_context.rs"]
pub mod moderation_context;
pub mod nodes;
pub mod postgres;
mod sql;
pub mod sqlite;
mod store;

use std::sync::Arc;

pub use error::{StoreError, StoreResult};
pub use model::*;
pub use moderation_context::{AuditLine, AuditQuery, AuthorRecord, ModerationContext, ReportNote};
pub use sql::account_mail;
pub use sql::mail;
pub use sql::sso;
pub use sql::webhooks;
pub use sql::{Backend, SqlStore};
pub use store::Store;

/// Opens (creating if needed) the database at `url` and brings its schema up to date.
/// `sqlite://path`, `sqlite:path` or a bare file path mean SQLite; `postgres://` or
/// `postgresql://` mean PostgreSQL.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::open(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::open(url).await?))
    } else if url.contains("://") {
        Err(StoreError::BadUrl(format!(
            "{url}: use sqlite://FILE or postgres://USER@HOST/DATABASE"
        )))
    } else {
        Ok(Arc::new(sqlite::open(&format!("sqlite://{url}")).await?))
    }
}
