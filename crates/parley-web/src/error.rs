//! The one error type of the HTTP layer and its single mapping to responses:
//! `{"error":{"code","message","field"?}}`. Unexpected failures are logged in full and
//! reach the client as a plain 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parley_core::ValidationError;
use parley_core::thread::ReplyRefusal;
use parley_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub enum ApiError {
    /// A client mistake the client can fix.
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// Anything else: logged, never shown.
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(self, f: &'static str) -> Self {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                ..
            } => ApiError::Client {
                status,
                code,
                message,
                field: Some(f),
            },
            other => other,
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "sign in first")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict {
                code,
                field,
                message,
            } => ApiError::Client {
                status: StatusCode::CONFLICT,
                code,
                message,
                field,
            },
            StoreError::Refused { code, message } => {
                let status = match code {
                    "not_author" | "account_restricted" => StatusCode::FORBIDDEN,
                    "link_invalid" => StatusCode::BAD_REQUEST,
                    "link_expired" | "link_used" => StatusCode::GONE,
                    _ => StatusCode::CONFLICT,
                };
                ApiError::new(status, code, message)
            }
            StoreError::Reply(refusal) => {
                let (status, code) = match refusal {
                    ReplyRefusal::ParentMissing => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "parent_missing")
                    }
                    ReplyRefusal::ParentDeleted => (StatusCode::CONFLICT, "parent_deleted"),
                    ReplyRefusal::ParentNotPublished => {
                        (StatusCode::CONFLICT, "parent_not_published")
                    }
                    ReplyRefusal::TooDeep { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "too_deep"),
                };
                ApiError::new(status, code, refusal.to_string()).with_field("parent_id")
            }
            StoreError::Unavailable => ApiError::Client {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "unavailable",
                message: "the service is busy; try again shortly".into(),
                field: None,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

pub fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> Response {
    let body = Body {
        error: Inner {
            code,
            message,
            field,
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Client {
                status,
                code,
                message,
                field,
            } => error_response(status, code, &message, field),
            ApiError::TooManyRequests { retry_after_secs } => {
                let mut r = error_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "too many attempts; wait a while and try again",
                    None,
                );
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side",
                    None,
                )
            }
        }
    }
}
