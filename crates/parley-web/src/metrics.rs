//! Prometheus metrics: requests and latencies by route, comments by outcome, open
//! Server-Sent Event streams and database connections, served at `/metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// What a new comment came to: the pipeline's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentOutcome {
    Published,
    Held,
    Rejected,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~1.6 s
    Histogram::new(exponential_buckets(0.000_1, 2.0, 15))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    comments: Family<OutcomeLabels, Counter>,
    sse_streams: Gauge,
    db_connections: Family<PoolLabels, Gauge>,
    db_connections_max: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("parley");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route",
            latency.clone(),
        );
        let comments = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "comments",
            "New comments by the moderation pipeline's verdict (published, held, rejected)",
            comments.clone(),
        );
        let sse_streams = Gauge::default();
        registry.register(
            "sse_connections",
            "Open Server-Sent Event streams",
            sse_streams.clone(),
        );
        let db_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections, by state (in_use, idle)",
            db_connections.clone(),
        );
        let db_connections_max = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "Most connections the database pool opens",
            db_connections_max.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            comments,
            sse_streams,
            db_connections,
            db_connections_max,
        }
    }

    pub fn comment(&self, outcome: CommentOutcome) {
        let outcome = match outcome {
            CommentOutcome::Published => "published",
            CommentOutcome::Held => "held",
            CommentOutcome::Rejected => "rejected",
        };
        self.comments
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Counts an open event stream until the returned guard is dropped.
    pub fn sse_stream(self: &Arc<Self>) -> StreamGuard {
        self.sse_streams.inc();
        StreamGuard(self.clone())
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }
}

/// Keeps an event stream counted while it lives.
pub struct StreamGuard(Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.sse_streams.dec();
    }
}

/// Times every request and counts it under its route pattern (never the raw path, so
/// the number of series stays bounded).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// GET /metrics in Prometheus' text format.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let pool = state.store.pool_use();
    let m = &state.metrics;
    m.db_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(i64::from(pool.open.saturating_sub(pool.idle)));
    m.db_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(pool.idle));
    m.db_connections_max.set(i64::from(pool.max));
    let mut body = String::new();
    if encode(&mut body, &m.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
