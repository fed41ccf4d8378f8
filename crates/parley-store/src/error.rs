//! What can go wrong in the store, in terms the HTTP layer can map once.

use std::sync::Arc;

use parley_core::thread::ReplyRefusal;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule: the email is taken, the reaction exists already...
    #[error("{message}")]
    Conflict {
        code: &'static str,
        field: Option<&'static str>,
        message: String,
    },
    /// A rule of the domain says no (closed story, edit window over, not the author...).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Reply(#[from] ReplyRefusal),
    #[error("the database is unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Database(Arc<sqlx::Error>),
    #[error("migration error: {0}")]
    Migration(Arc<sqlx::migrate::MigrateError>),
    #[error("bad database URL: {0}")]
    BadUrl(String),
}

impl StoreError {
    pub(crate) fn refused(code: &'static str, message: impl Into<String>) -> Self {
        StoreError::Refused {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn conflict(
        code: &'static str,
        field: Option<&'static str>,
        message: impl Into<String>,
    ) -> Self {
        StoreError::Conflict {
            code,
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => StoreError::Unavailable,
            other => StoreError::Database(Arc::new(other)),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(Arc::new(e))
    }
}

/// True when `e` broke a UNIQUE or PRIMARY KEY constraint, on either backend.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub type StoreResult<T> = Result<T, StoreError>;
