//! Webhooks against a local receiver: deliveries are signed, retried on errors and
//! logged; only subscribed events are sent; only the site's admin manages endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use parley_core::Role;
use parley_web::WebConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{Account, Backend, TestApp, run};

/// One test per backend, with quick webhook retries and loopback receivers allowed.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run(super::Backend::Sqlite, super::config(), super::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run(super::Backend::Postgres, super::config(), super::$case).await
                }
            )*
        }
    };
}

on_both!(
    a_published_comment_is_delivered_signed_with_the_secret,
    a_failing_receiver_gets_retries_and_the_log_shows_each_attempt,
    held_rejected_featured_and_closed_events_are_delivered,
    only_subscribed_events_are_sent,
    only_the_sites_admin_manages_webhooks,
    the_secret_is_shown_only_once,
    urls_must_be_http_or_https,
);

fn config() -> WebConfig {
    WebConfig {
        webhooks_allow_private: true,
        webhook_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(20)],
        webhook_poll_every: Duration::from_millis(20),
        ..WebConfig::default()
    }
}

/// A request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// An HTTP receiver on loopback that answers with `statuses` in turn (then 200) and
/// records every request.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(statuses.into_iter()));
        let record = got.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let record = record.clone();
                let statuses = statuses.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let (head_end, length) = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..end]).to_string();
                            let length = head
                                .lines()
                                .filter_map(|l| l.split_once(':'))
                                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (end + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let headers = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                    record.lock().unwrap().push(Received { headers, body });
                    let status = statuses.lock().unwrap().next().unwrap_or(200);
                    let answer = format!("answer {status}");
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Receiver { url, got }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits (a few seconds at most) until `n` requests came.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} requests, got {:?}", self.received());
    }
}

fn hmac_hex(secret: &str, message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Registers an endpoint; returns (id, secret).
async fn register(app: &TestApp, admin: &Account, url: &str, events: &[&str]) -> (i64, String) {
    let r = app
        .post(
            "/api/v1/sites/courier/webhooks",
            Some(&admin.token),
            json!({ "url": url, "events": events }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (
        r.body["webhook"]["id"].as_i64().unwrap(),
        r.body["webhook"]["secret"].as_str().unwrap().to_owned(),
    )
}

async fn set_policy(app: &TestApp, settings: Value) {
    app.store
        .set_site_settings(app.site_id, settings.to_string())
        .await
        .unwrap();
}

async fn a_published_comment_is_delivered_signed_with_the_secret(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let receiver = Receiver::start(vec![]).await;
    let (_, secret) = register(&app, &admin, &receiver.url, &["comment.published"]).await;
    let story = app.story(&admin, "signed").await;
    let sam = app.reader("Sam Reader").await;
    let id = app.comment(&sam, story, None, "Hello, newsroom.").await;

    let got = receiver.wait_for(1).await;
    let req = &got[0];
    assert_eq!(req.header("parley-event"), Some("comment.published"));
    assert!(req.header("parley-delivery").is_some());
    let signature = req.header("parley-signature").unwrap();
    let (t, v1) = signature
        .split_once(',')
        .map(|(t, v)| {
            (
                t.strip_prefix("t=").unwrap().to_owned(),
                v.strip_prefix("v1=").unwrap().to_owned(),
            )
        })
        .unwrap();
    assert_eq!(v1, hmac_hex(&secret, &format!("{t}.{}", req.body)));
    assert_ne!(v1, hmac_hex("another secret", &format!("{t}.{}", req.body)));
    let body = req.json();
    assert_eq!(body["event"], "comment.published");
    assert_eq!(body["data"]["comment"]["id"], id);
    assert_eq!(body["data"]["comment"]["author_name"], "Sam Reader");
    assert_eq!(body["data"]["comment"]["body"], "Hello, newsroom.");
    assert_eq!(body["data"]["story"]["id"], story);
    assert_eq!(
        body["data"]["story"]["url"],
        "https://courier.example/signed"
    );
    assert!(
        !req.body.contains("@readers.example"),
        "no email in a payload: {}",
        req.body
    );
}

async fn a_failing_receiver_gets_retries_and_the_log_shows_each_attempt(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let receiver = Receiver::start(vec![500, 500, 200]).await;
    let (hook, _) = register(&app, &admin, &receiver.url, &["comment.published"]).await;
    let story = app.story(&admin, "retry").await;
    let sam = app.reader("Sam Reader").await;
    app.comment(&sam, story, None, "Try, try again.").await;

    let got = receiver.wait_for(3).await;
    let ids: Vec<_> = got.iter().map(|r| r.header("parley-delivery")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one delivery: {ids:?}");
    let path = format!("/api/v1/sites/courier/webhooks/{hook}/deliveries");
    let mut log = Value::Null;
    for _ in 0..200 {
        log = app.get(&path, Some(&admin.token)).await.body;
        if log["deliveries"][0]["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let delivery = &log["deliveries"][0];
    assert_eq!(delivery["status"], "delivered", "{log}");
    assert_eq!(delivery["attempts"], 3);
    let statuses: Vec<_> = delivery["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(delivery["attempt_log"][0]["body"], "answer 500");
    assert_eq!(delivery["attempt_log"][0]["error"], "HTTP 500");
    assert_eq!(got.len(), 3, "no attempt after success");
}

async fn held_rejected_featured_and_closed_events_are_delivered(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let receiver = Receiver::start(vec![]).await;
    register(
        &app,
        &admin,
        &receiver.url,
        &[
            "comment.held",
            "comment.rejected",
            "comment.featured",
            "story.closed",
        ],
    )
    .await;
    let story = app.story(&admin, "events").await;
    let sam = app.reader("Sam Reader").await;
    let featured = app.comment(&sam, story, None, "A fine point.").await;
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/comments/{featured}/featured"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    receiver.wait_for(1).await;

    set_policy(&app, json!({ "policy": { "premoderate": true } })).await;
    let held = app.comment(&sam, story, None, "Hold me.").await;
    receiver.wait_for(2).await;
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{held}/reject"),
            Some(&admin.token),
            json!({ "reason_code": "abuse" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    receiver.wait_for(3).await;
    let r = app
        .post(
            &format!("/api/v1/moderation/stories/{story}/close"),
            Some(&admin.token),
            json!({ "message": "Thanks, all." }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let got = receiver.wait_for(4).await;
    let events: Vec<_> = got
        .iter()
        .map(|r| r.header("parley-event").unwrap().to_owned())
        .collect();
    assert_eq!(
        events,
        [
            "comment.featured",
            "comment.held",
            "comment.rejected",
            "story.closed"
        ]
    );
    let held_body = got[1].json();
    assert_eq!(held_body["data"]["comment"]["id"], held);
    assert_eq!(held_body["data"]["comment"]["status"], "pending");
    assert!(
        held_body["data"]["comment"]["body"].is_null(),
        "a held comment's text is not sent: {held_body}"
    );
    assert_eq!(got[0].json()["data"]["comment"]["body"], "A fine point.");
    let closed = got[3].json();
    assert_eq!(closed["data"]["story"]["id"], story);
    assert_eq!(closed["data"]["story"]["closed_message"], "Thanks, all.");
}

async fn only_subscribed_events_are_sent(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let closing = Receiver::start(vec![]).await;
    let publishing = Receiver::start(vec![]).await;
    register(&app, &admin, &closing.url, &["story.closed"]).await;
    register(&app, &admin, &publishing.url, &["comment.published"]).await;
    let story = app.story(&admin, "subscribed").await;
    let sam = app.reader("Sam Reader").await;
    app.comment(&sam, story, None, "First.").await;
    let r = app
        .post(
            &format!("/api/v1/moderation/stories/{story}/close"),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let closed = closing.wait_for(1).await;
    let published = publishing.wait_for(1).await;
    // Give a stray delivery time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(closing.received().len(), 1);
    assert_eq!(publishing.received().len(), 1);
    assert_eq!(closed[0].header("parley-event"), Some("story.closed"));
    assert_eq!(
        published[0].header("parley-event"),
        Some("comment.published")
    );
}

async fn only_the_sites_admin_manages_webhooks(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let moderator = app.member("Mo Moderator", Role::Moderator).await;
    let sam = app.reader("Sam Reader").await;
    let (hook, _) = register(&app, &admin, "http://127.0.0.1:9/hook", &["story.closed"]).await;
    let create = json!({ "url": "http://127.0.0.1:9/x", "events": ["story.closed"] });
    let r = app
        .post("/api/v1/sites/courier/webhooks", None, create.clone())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for who in [&moderator, &sam] {
        let r = app
            .post(
                "/api/v1/sites/courier/webhooks",
                Some(&who.token),
                create.clone(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app
            .get("/api/v1/sites/courier/webhooks", Some(&who.token))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v1/sites/courier/webhooks/{hook}"),
                Some(&who.token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = app
            .get(
                &format!("/api/v1/sites/courier/webhooks/{hook}/deliveries"),
                Some(&who.token),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let hooks = app
        .get("/api/v1/sites/courier/webhooks", Some(&admin.token))
        .await;
    assert_eq!(hooks.body["webhooks"].as_array().unwrap().len(), 1);
    let r = app
        .get("/api/v1/sites/elsewhere/webhooks", Some(&admin.token))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/sites/courier/webhooks/{hook}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let hooks = app
        .get("/api/v1/sites/courier/webhooks", Some(&admin.token))
        .await;
    assert_eq!(hooks.body["webhooks"], json!([]));
}

async fn the_secret_is_shown_only_once(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let (hook, secret) = register(&app, &admin, "http://127.0.0.1:9/", &["story.closed"]).await;
    assert!(secret.len() >= 32);
    let list = app
        .get("/api/v1/sites/courier/webhooks", Some(&admin.token))
        .await;
    let log = app
        .get(
            &format!("/api/v1/sites/courier/webhooks/{hook}/deliveries"),
            Some(&admin.token),
        )
        .await;
    assert_eq!(log.status, StatusCode::OK);
    for body in [list.body, log.body] {
        assert!(!body.to_string().contains(&secret), "{body}");
        assert!(!body.to_string().contains("secret"), "{body}");
    }
}

async fn urls_must_be_http_or_https(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    for (url, events) in [
        ("ftp://example.org/hook", json!(["story.closed"])),
        ("not a url", json!(["story.closed"])),
        ("https://example.org/hook", json!(["comment.liked"])),
        ("https://example.org/hook", json!([])),
    ] {
        let r = app
            .post(
                "/api/v1/sites/courier/webhooks",
                Some(&admin.token),
                json!({ "url": url, "events": events }),
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            r.body
        );
    }
    let hooks = app
        .get("/api/v1/sites/courier/webhooks", Some(&admin.token))
        .await;
    assert_eq!(hooks.body["webhooks"], json!([]));
}
