//! The test harness: a real Parley server on a random port over a fresh database
//! (a temp SQLite file, or a PostgreSQL schema of its own that is dropped afterwards).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;

use futures::FutureExt;
use parley_core::Role;
use parley_store::{NewUser, Store};
use parley_web::{AppState, WebConfig};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    pub site_id: i64,
}

pub struct Account {
    pub id: i64,
    pub token: String,
}

/// Runs `case` against a fresh server on `backend`, then removes its database even if
/// the case panicked.
pub async fn run<F, Fut>(backend: Backend, config: WebConfig, case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let tmp = tempfile::tempdir().expect("temp dir");
    let schema = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", tmp.path().join("parley.db").display());
            Arc::new(parley_store::sqlite::open(&url).await.expect("open sqlite"))
        }
        Backend::Postgres => {
            let mut admin = sqlx::PgConnection::connect(&postgres_url())
                .await
                .expect("connect postgres");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await
                .expect("create schema");
            let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
                .expect("pg url")
                .options([("search_path", schema.as_str())]);
            Arc::new(
                parley_store::postgres::open_with(options)
                    .await
                    .expect("open postgres"),
            )
        }
    };
    let site = store
        .create_site("courier", &["https://courier.example".to_owned()], 1)
        .await
        .expect("site");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(store.clone(), config);
    let server = tokio::spawn(parley_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let app = TestApp {
        base,
        store,
        http: reqwest::Client::new(),
        site_id: site.id,
    };
    let outcome = AssertUnwindSafe(case(app)).catch_unwind().await;
    let _ = stop.send(());
    let _ = server.await;
    if let Backend::Postgres = backend
        && let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_url()).await
    {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut admin)
            .await;
    }
    drop(tmp);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Generates one test per backend for each listed case `async fn case(app: TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run($crate::common::Backend::Sqlite, Default::default(), super::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run($crate::common::Backend::Postgres, Default::default(), super::$case).await
                }
            )*
        }
    };
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The error code of an error reply.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "server error: {body}"
        );
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Registers a reader through the API and returns a bearer token.
    pub async fn reader(&self, name: &str) -> Account {
        let email = format!("{}@readers.example", name.to_lowercase().replace(' ', "."));
        let r = self
            .post(
                "/api/v1/accounts",
                None,
                json!({"email": email, "display_name": name, "password": "a good password", "session": "token"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        Account {
            id: r.body["user"]["id"].as_i64().expect("id"),
            token: r.body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// Creates an account with `role` in the store, then signs in through the API.
    pub async fn member(&self, name: &str, role: Role) -> Account {
        let email = format!("{}@newsroom.example", name.to_lowercase().replace(' ', "."));
        let hash = parley_web::auth::hash_password("a good password".into())
            .await
            .expect("hash");
        self.store
            .create_user(NewUser {
                site_id: self.site_id,
                email: email.clone(),
                display_name: name.to_owned(),
                password_hash: Some(hash),
                role,
                now: parley_web::now_ms(),
            })
            .await
            .expect("user");
        let r = self
            .post(
                "/api/v1/sessions",
                None,
                json!({"email": email, "password": "a good password", "session": "token"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        Account {
            id: r.body["user"]["id"].as_i64().expect("id"),
            token: r.body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// A story written by a staff member; returns its id.
    pub async fn story(&self, staff: &Account, slug: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/stories",
                Some(&staff.token),
                json!({
                    "url": format!("https://courier.example/{slug}"),
                    "slug": slug,
                    "headline": format!("Headline of {slug}"),
                    "standfirst": "One sentence that sums it up.",
                    "body": "## A subheading\n\nSome text.",
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["story"]["id"].as_i64().expect("story id")
    }

    /// Posts a comment (or a reply) and returns its id.
    pub async fn comment(&self, who: &Account, story: i64, parent: Option<i64>, body: &str) -> i64 {
        let r = self
            .post(
                &format!("/api/v1/stories/{story}/comments"),
                Some(&who.token),
                json!({"body": body, "parent_id": parent}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["comment"]["id"].as_i64().expect("comment id")
    }
}
