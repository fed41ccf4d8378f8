//! Webhooks against a local receiver: deliveries are signed, retried on errors and
//! logged; only subscribed events are sent; only the site's admin manages endpoints;
//! an endpoint can be changed, paused and resumed, and given a new secret; the jobs
//! sweep the old log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use parley_core::Role;
use parley_store::NewUser;
use parley_web::WebConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{Account, Backend, TestApp, run};

/// One test per backend, with quick webhook retries and loopback receivers allowed
/// (or with the settings of `config => ...`).
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        on_both!(config => $($case),*);
    };
    ($config:ident => $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run(super::Backend::Sqlite, super::$config(), super::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::run(super::Backend::Postgres, super::$config(), super::$case).await
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
    a_rotated_secret_signs_the_next_delivery,
    a_patch_is_checked_in_full_before_anything_changes,
    only_the_sites_admin_changes_an_endpoint_or_its_secret,
);

/// Cases that need a second between retries.
mod slow_retries {
    use super::*;

    on_both!(slow_retries => pausing_holds_deliveries_and_resuming_sends_them);
}

/// Cases that need the jobs running often.
mod quick_sweeps {
    use super::*;

    on_both!(quick_sweeps => the_jobs_sweep_the_finished_log_and_keep_pending_deliveries);
}

fn config() -> WebConfig {
    WebConfig {
        webhooks_allow_private: true,
        webhook_retry_delays: vec![Duration::from_millis(20), Duration::from_millis(20)],
        webhook_poll_every: Duration::from_millis(20),
        ..WebConfig::default()
    }
}

/// Retries a second apart: time to pause an endpoint between two attempts.
fn slow_retries() -> WebConfig {
    WebConfig {
        webhook_retry_delays: vec![Duration::from_secs(1), Duration::from_secs(1)],
        ..config()
    }
}

/// Jobs (and so the log sweep) every few milliseconds, a log kept for 1 ms and retries
/// a minute away, so a failing delivery stays pending through the test.
fn quick_sweeps() -> WebConfig {
    WebConfig {
        jobs_every: Duration::from_millis(5),
        webhook_log_retention: Duration::from_millis(1),
        webhook_retry_delays: vec![Duration::from_secs(60)],
        ..config()
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

/// Whether the request's `Parley-Signature` was made with `secret`.
fn signed_with(req: &Received, secret: &str) -> bool {
    let signature = req.header("parley-signature").unwrap();
    let (t, v1) = signature.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    v1 == hmac_hex(secret, &format!("{t}.{}", req.body))
}

/// PATCHes an endpoint of courier.
async fn patch(app: &TestApp, token: &str, hook: i64, body: Value) -> crate::common::Reply {
    app.call(
        reqwest::Method::PATCH,
        &format!("/api/v1/sites/courier/webhooks/{hook}"),
        Some(token),
        Some(body),
    )
    .await
}

/// The site's endpoints as the admin's list shows them.
async fn listed(app: &TestApp, admin: &Account) -> Value {
    let r = app
        .get("/api/v1/sites/courier/webhooks", Some(&admin.token))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["webhooks"].clone()
}

/// The admin of another site, gazette.
async fn gazette_admin(app: &TestApp) -> Account {
    let site = app.store.create_site("gazette", &[], 1).await.unwrap();
    let hash = parley_web::auth::hash_password("a good password".into())
        .await
        .unwrap();
    app.store
        .create_user(NewUser {
            site_id: site.id,
            email: "ed@gazette.example".into(),
            display_name: "Ed Editor".into(),
            password_hash: Some(hash),
            role: Role::Admin,
            now: parley_web::now_ms(),
        })
        .await
        .unwrap();
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({
                "email": "ed@gazette.example",
                "password": "a good password",
                "session": "token",
                "site": "gazette",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    Account {
        id: r.body["user"]["id"].as_i64().unwrap(),
        token: r.body["token"].as_str().unwrap().to_owned(),
    }
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

async fn pausing_holds_deliveries_and_resuming_sends_them(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let receiver = Receiver::start(vec![500]).await;
    let (hook, _) = register(&app, &admin, &receiver.url, &["comment.published"]).await;
    let story = app.story(&admin, "paused").await;
    let sam = app.reader("Sam Reader").await;
    let first = app.comment(&sam, story, None, "Before the pause.").await;
    // The first attempt fails; its retry is due in a second. Pause before then.
    let got = receiver.wait_for(1).await;
    let r = patch(&app, &admin.token, hook, json!({ "active": false })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["webhook"]["active"], false);
    assert_eq!(r.body["webhook"]["id"], hook);
    assert!(r.body["webhook"].get("secret").is_none(), "{}", r.body);
    assert_eq!(listed(&app, &admin).await[0]["active"], false);
    // An event while paused is not queued for it.
    app.comment(&sam, story, None, "During the pause.").await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(receiver.received().len(), 1, "nothing sent while paused");
    let log = app
        .get(
            &format!("/api/v1/sites/courier/webhooks/{hook}/deliveries"),
            Some(&admin.token),
        )
        .await
        .body;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 1, "{log}");
    assert_eq!(log["deliveries"][0]["status"], "pending");

    let r = patch(&app, &admin.token, hook, json!({ "active": true })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["webhook"]["active"], true);
    let got_after = receiver.wait_for(2).await;
    assert_eq!(
        got_after[1].header("parley-delivery"),
        got[0].header("parley-delivery"),
        "the delivery that waited"
    );
    assert_eq!(got_after[1].json()["data"]["comment"]["id"], first);
    // And new events are delivered again.
    let third = app.comment(&sam, story, None, "After the pause.").await;
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].json()["data"]["comment"]["id"], third);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), 3);
}

async fn a_rotated_secret_signs_the_next_delivery(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let receiver = Receiver::start(vec![]).await;
    let (hook, old) = register(&app, &admin, &receiver.url, &["comment.published"]).await;
    let story = app.story(&admin, "rotated").await;
    let sam = app.reader("Sam Reader").await;
    app.comment(&sam, story, None, "Signed with the first secret.")
        .await;
    let got = receiver.wait_for(1).await;
    assert!(signed_with(&got[0], &old));

    let r = app
        .post(
            &format!("/api/v1/sites/courier/webhooks/{hook}/secret"),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new = r.body["webhook"]["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new.len() >= 32, "{new}");
    assert_ne!(new, old);
    assert_eq!(r.body["webhook"]["id"], hook);
    assert_eq!(r.body["webhook"]["url"], receiver.url);
    assert_eq!(r.body["webhook"]["active"], true);
    // Shown this once.
    let list = listed(&app, &admin).await;
    assert!(!list.to_string().contains(&new), "{list}");
    assert!(!list.to_string().contains("secret"), "{list}");

    app.comment(&sam, story, None, "Signed with the second secret.")
        .await;
    let got = receiver.wait_for(2).await;
    assert!(signed_with(&got[1], &new), "signed with the new secret");
    assert!(!signed_with(&got[1], &old), "not with the old one");

    let r = app
        .post(
            &format!("/api/v1/sites/courier/webhooks/{}/secret", hook + 100),
            Some(&admin.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

async fn a_patch_is_checked_in_full_before_anything_changes(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let (hook, _) = register(&app, &admin, "http://127.0.0.1:9/a", &["story.closed"]).await;
    let before = listed(&app, &admin).await;
    let good_url = "https://receiver.example/b";
    for (body, field) in [
        (json!({ "url": "ftp://example.org/hook" }), Some("url")),
        (json!({ "url": "not a url" }), Some("url")),
        (json!({ "events": ["comment.liked"] }), Some("events")),
        (json!({ "events": [] }), Some("events")),
        // A good field with a bad one: the good one is not applied either.
        (
            json!({ "url": good_url, "events": ["nope"], "active": false }),
            Some("events"),
        ),
        (
            json!({ "url": "ftp://x", "events": ["comment.held"], "active": false }),
            Some("url"),
        ),
        (json!({ "secret": "mine" }), None),
        (json!({ "site_id": 2 }), None),
        (json!({ "active": "no" }), None),
        (json!({ "events": "story.closed" }), None),
    ] {
        let r = patch(&app, &admin.token, hook, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.code(), "invalid", "{body}: {}", r.body);
        if let Some(field) = field {
            assert_eq!(r.body["error"]["field"], field, "{body}: {}", r.body);
        }
        assert_eq!(listed(&app, &admin).await, before, "{body} changed nothing");
    }
    let r = patch(&app, &admin.token, hook + 100, json!({ "active": false })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // Good input: only what is named changes; events keep their order, repeats dropped.
    let r = patch(
        &app,
        &admin.token,
        hook,
        json!({ "url": good_url, "events": ["comment.held", "story.closed", "comment.held"] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let view = &r.body["webhook"];
    assert_eq!(view["url"], good_url);
    assert_eq!(view["events"], json!(["comment.held", "story.closed"]));
    assert_eq!(view["active"], true);
    assert_eq!(view["created_at"], before[0]["created_at"]);
    assert_eq!(listed(&app, &admin).await, json!([view]));
    // An empty patch changes nothing and answers the endpoint.
    let r = patch(&app, &admin.token, hook, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(&r.body["webhook"], view);
}

async fn only_the_sites_admin_changes_an_endpoint_or_its_secret(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let moderator = app.member("Mo Moderator", Role::Moderator).await;
    let staff = app.member("Sal Staff", Role::Staff).await;
    let sam = app.reader("Sam Reader").await;
    let other = gazette_admin(&app).await;
    let receiver = Receiver::start(vec![]).await;
    let (hook, secret) = register(&app, &admin, &receiver.url, &["comment.published"]).await;
    let before = listed(&app, &admin).await;
    let change = json!({ "active": false, "url": "http://127.0.0.1:9/stolen" });
    let rotate = format!("/api/v1/sites/courier/webhooks/{hook}/secret");

    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/sites/courier/webhooks/{hook}"),
            None,
            Some(change.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = app.post(&rotate, None, json!({})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for who in [&moderator, &staff, &sam] {
        let r = patch(&app, &who.token, hook, change.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = app.post(&rotate, Some(&who.token), json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(!r.body.to_string().contains("whsec_"), "{}", r.body);
    }
    // Another site's admin: courier is not their site, and their own site has no such
    // endpoint.
    let r = patch(&app, &other.token, hook, change.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app.post(&rotate, Some(&other.token), json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/sites/gazette/webhooks/{hook}"),
            Some(&other.token),
            Some(change.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/sites/gazette/webhooks/{hook}/secret"),
            Some(&other.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(!r.body.to_string().contains("whsec_"), "{}", r.body);

    // Nothing changed: same endpoint, still active, still signing with its secret.
    assert_eq!(listed(&app, &admin).await, before);
    let story = app.story(&admin, "untouched").await;
    app.comment(&sam, story, None, "Still here.").await;
    let got = receiver.wait_for(1).await;
    assert!(signed_with(&got[0], &secret), "the secret was not rotated");
}

async fn the_jobs_sweep_the_finished_log_and_keep_pending_deliveries(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let good = Receiver::start(vec![]).await;
    let failing = Receiver::start(vec![500]).await;
    let (delivered, _) = register(&app, &admin, &good.url, &["comment.published"]).await;
    let (waiting, _) = register(&app, &admin, &failing.url, &["comment.published"]).await;
    let story = app.story(&admin, "swept").await;
    let sam = app.reader("Sam Reader").await;
    app.comment(&sam, story, None, "Soon forgotten.").await;
    good.wait_for(1).await;
    failing.wait_for(1).await;
    let log = |hook: i64| {
        let app = &app;
        let token = admin.token.clone();
        async move {
            let r = app
                .get(
                    &format!("/api/v1/sites/courier/webhooks/{hook}/deliveries"),
                    Some(&token),
                )
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.body["deliveries"].as_array().unwrap().clone()
        }
    };
    // Sweeps come every 60 job rounds (here a few hundred milliseconds).
    let mut swept = false;
    for _ in 0..400 {
        if log(delivered).await.is_empty() {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(swept, "the delivered delivery was never swept");
    let pending = log(waiting).await;
    assert_eq!(pending.len(), 1, "pending stays: {pending:?}");
    assert_eq!(pending[0]["status"], "pending");
    assert_eq!(pending[0]["attempts"], 1);
}
