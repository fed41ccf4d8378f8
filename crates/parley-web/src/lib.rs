//! Parley's HTTP layer: the JSON API, authentication, and the mapping of every error to
//! one response shape. Domain rules live in `parley-core`, persistence in `parley-store`.

pub mod account_mail;
pub mod api;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanout;
pub mod jobs;
pub mod mail;
pub mod mail_content;
pub mod metrics;
pub mod notify;
pub mod pages;
pub mod publish;
pub mod rate;
pub mod service;
pub mod sso;
pub mod versions;
pub mod view;
pub mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Response, StatusCode, header};
use axum::response::IntoResponse;
use parley_store::{Site, Store, Story};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;

pub use config::WebConfig;

use auth::Throttle;
use cache::PageCache;
use error::{ApiError, ApiResult, error_response};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<WebConfig>,
    pub cache: Arc<PageCache>,
    pub account_throttle: Arc<Throttle>,
    pub ip_throttle: Arc<Throttle>,
    pub events: Arc<events::EventBus>,
    pub metrics: Arc<metrics::Metrics>,
    /// Turns true when the server starts shutting down: event streams end then, so
    /// the graceful shutdown does not wait on clients that never hang up.
    shutdown: Arc<tokio::sync::watch::Sender<bool>>,
    /// With other nodes on the database (PostgreSQL): fresh story versions, batched.
    versions: Option<Arc<versions::StoryVersions>>,
    /// Comments posted per network address, for the pipeline's address rate limit.
    pub posts_by_address: Arc<rate::PostsByAddress>,
    /// Compiled moderation rules by policy: compiling a 5,000-word list takes
    /// milliseconds, too much to repeat on every post.
    pub rules: Arc<
        std::sync::Mutex<std::collections::HashMap<String, Arc<parley_core::moderation::Rules>>>,
    >,
    /// What the HTML pages remember between requests (story ids by slug and by URL).
    pub pages: Arc<pages::PageState>,
    /// Sites by name ("" for the default): sites are never removed, so a found site can
    /// be kept for the life of the process.
    sites: Arc<std::sync::RwLock<std::collections::HashMap<String, Site>>>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: WebConfig) -> Self {
        let account_throttle = Throttle::new(
            "account",
            config.signin_failures_per_account,
            config.signin_window,
        );
        let ip_throttle = Throttle::new("ip", config.signin_failures_per_ip, config.signin_window);
        let versions =
            (store.backend() != "sqlite").then(|| Arc::new(versions::StoryVersions::start(&store)));
        Self {
            store,
            cache: Arc::new(PageCache::new(Duration::from_secs(1), 2_000)),
            config: Arc::new(config),
            account_throttle: Arc::new(account_throttle),
            ip_throttle: Arc::new(ip_throttle),
            sites: Arc::default(),
            pages: Arc::default(),
            events: Arc::new(events::EventBus::new(now_ms())),
            posts_by_address: Arc::new(rate::PostsByAddress::new(Duration::from_secs(60))),
            metrics: Arc::default(),
            versions,
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
            rules: Arc::default(),
        }
    }

    /// The named site, or the default one when no name is given.
    pub async fn site(&self, name: Option<&str>) -> ApiResult<Site> {
        let name = name.or(self.config.default_site.as_deref());
        let key = name.unwrap_or_default();
        if let Some(site) = self
            .sites
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
        {
            return Ok(site.clone());
        }
        let site = match name {
            Some(name) => self.store.site_by_name(name).await?,
            None => self.store.list_sites().await?.into_iter().next(),
        };
        let site = site.ok_or_else(|| ApiError::not_found("site"))?;
        self.sites
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), site.clone());
        Ok(site)
    }

    /// Completes when the server begins to shut down.
    pub fn shutting_down(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut signal = self.shutdown.subscribe();
        async move {
            let _ = signal.wait_for(|stopping| *stopping).await;
        }
    }

    /// A cached page of `story`. With other nodes on the same database (PostgreSQL)
    /// their writes may not have reached this node's cache yet, so a hit is checked
    /// against the story's version there: one primary-key read instead of a render.
    pub async fn cached_page(&self, story: i64, key: &str) -> Option<cache::CachedPage> {
        match &self.versions {
            None => self.cache.get(story, key, None),
            Some(versions) => {
                let version = versions.current(story).await?;
                self.cache.get(story, key, Some(version))
            }
        }
    }

    pub async fn story(&self, id: i64) -> ApiResult<Story> {
        self.store
            .story_by_id(id)
            .await?
            .ok_or_else(|| ApiError::not_found("story"))
    }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit_bytes;
    api::routes()
        .merge(pages::routes())
        .merge(assets::routes())
        .route("/healthz", axum::routing::get(api::meta::healthz))
        .route("/readyz", axum::routing::get(api::meta::readyz))
        .route("/metrics", axum::routing::get(metrics::scrape))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::map_response(uniform_errors))
        .layer(axum::middleware::from_fn(assets::public_cors))
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(|_| {
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "something went wrong on our side",
                None,
            )
        }))
        .with_state(state)
}

/// Unknown API addresses answer in JSON; anything else gets the HTML page.
async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    if uri.path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "there is nothing at this address",
        )
        .into_response()
    } else {
        pages::not_found_page().into_response()
    }
}

/// Errors produced outside our handlers (unknown method, unparsable path segment...)
/// get the API's error shape too.
async fn uniform_errors(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    // Only bare or plain-text errors (from axum's own rejections) are rewritten; JSON and
    // HTML error responses are already in their final shape.
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|v| v.as_bytes().starts_with(b"text/plain"));
    if !status.is_client_error() && !status.is_server_error() || !plain {
        return response;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this method is not allowed here"),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
        StatusCode::NOT_FOUND => ("not_found", "there is nothing at this address"),
        s if s.is_server_error() => ("internal", "something went wrong on our side"),
        _ => ("bad_request", "this request is not valid"),
    };
    let mut fixed = error_response(status, code, message, None);
    if let Some(allow) = response.headers().get(header::ALLOW) {
        fixed.headers_mut().insert(header::ALLOW, allow.clone());
    }
    fixed
}

/// Serves, and runs the background jobs, until `shutdown` completes; then finishes
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let fanout = fanout::connect(&state).await.map_err(|e| {
        std::io::Error::other(format!("listening for the other nodes' live updates: {e}"))
    })?;
    let jobs = jobs::spawn(state.clone());
    let webhook_worker = webhooks::spawn_worker(state.clone());
    let mail_worker = mail::spawn_worker(state.clone());
    let stopping = state.shutdown.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.send_replace(true);
        })
        .await;
    jobs.abort();
    webhook_worker.abort();
    mail_worker.abort();
    drop(fanout);
    served
}
