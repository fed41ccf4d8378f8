//! Two `parley serve` processes on one PostgreSQL database behave as one service:
//! sessions, live updates, resumed streams, background jobs and cached pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;

fn postgres_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of its own, dropped at the end; the URL points the nodes at it.
struct Schema {
    name: String,
}

impl Schema {
    async fn create() -> Self {
        let name = format!("n_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Schema { name }
    }

    fn url(&self) -> String {
        let sep = if postgres_url().contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            postgres_url(),
            self.name
        )
    }

    async fn drop(self) {
        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        let _ = sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&mut admin)
            .await;
    }
}

fn cli(url: &str, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["--database", url])
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One `parley serve` process; killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(url: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args(["--database", url, "serve", "--listen", "127.0.0.1:0"])
            .env("PARLEY_JOBS_EVERY_MS", "100")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let base = loop {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the node stopped");
            if let Some(addr) = line.trim().strip_prefix("Parley is listening on ") {
                break addr.to_owned();
            }
        };
        // Keep reading its log so a full pipe never blocks it.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Node { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_success(), "{status}: {body}");
    body
}

/// Reads SSE frames until `want` events arrived; returns (id, event, data) triples.
async fn read_events(
    stream: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    want: usize,
) -> Vec<(u64, String, Value)> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while out.len() < want {
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), Value::Null);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                }
            }
            if let Some(id) = id {
                out.push((id, event, data));
            }
        }
        if out.len() >= want {
            break;
        }
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events in time")
            .expect("stream open")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_behave_as_one_service() {
    let schema = Schema::create().await;
    let url = schema.url();
    cli(
        &url,
        &[
            "site",
            "create",
            "--name",
            "courier",
            "--origin",
            "https://courier.example",
        ],
        &[],
    );
    cli(
        &url,
        &[
            "user",
            "create",
            "--email",
            "desk@courier.example",
            "--name",
            "News Desk",
            "--role",
            "staff",
        ],
        &[("PARLEY_PASSWORD", "a good password")],
    );
    cli(
        &url,
        &[
            "user",
            "create",
            "--email",
            "mod@courier.example",
            "--name",
            "Mo Derator",
            "--role",
            "moderator",
        ],
        &[("PARLEY_PASSWORD", "a good password")],
    );
    let a = Node::start(&url);
    let b = Node::start(&url);
    let http = reqwest::Client::new();

    // A session made on A works on B.
    let staff = post(
        &http,
        a.url("/api/v1/sessions"),
        None,
        json!({ "email": "desk@courier.example", "password": "a good password", "session": "token" }),
    )
    .await;
    let staff_token = staff["token"].as_str().unwrap().to_owned();
    let me = http
        .get(b.url("/api/v1/me"))
        .bearer_auth(&staff_token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["user"]["display_name"], "News Desk");

    let story = post(
        &http,
        b.url("/api/v1/stories"),
        Some(&staff_token),
        json!({
            "url": "https://courier.example/two-nodes",
            "slug": "two-nodes",
            "headline": "Two nodes, one conversation",
        }),
    )
    .await;
    let story_id = story["story"]["id"].as_i64().unwrap();
    let reader = post(
        &http,
        a.url("/api/v1/accounts"),
        None,
        json!({ "email": "sam@readers.example", "display_name": "Sam", "password": "a good password", "session": "token" }),
    )
    .await;
    let reader_token = reader["token"].as_str().unwrap().to_owned();
    let comment = |body: &'static str, node: &Node| {
        let http = http.clone();
        let url = node.url(&format!("/api/v1/stories/{story_id}/comments"));
        let token = reader_token.clone();
        async move {
            post(&http, url, Some(&token), json!({ "body": body })).await["comment"]["id"]
                .as_i64()
                .unwrap()
        }
    };

    // A page read on B is cached there; a write on A shows at once on B.
    let page = |node: &Node| {
        let http = http.clone();
        let url = node.url("/stories/two-nodes");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    };
    assert!(!page(&b).await.contains("First from A"));
    let _ = page(&b).await;
    comment("First from A", &a).await;
    assert!(
        page(&b).await.contains("First from A"),
        "no stale page on B"
    );

    // A comment posted on A reaches a live stream on B.
    let live = http
        .get(b.url(&format!("/api/v1/stories/{story_id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let mut live = live.bytes_stream();
    let mut buffer = String::new();
    let first = comment("Second from A", &a).await;
    let got = read_events(&mut live, &mut buffer, 1).await;
    assert_eq!(got[0].1, "comment_published");
    assert_eq!(got[0].2["comment_id"], first);
    let last_seen = got[0].0;
    drop(live);

    // Missed while away, resumed on the other node: every event once, in order.
    let mut missed = Vec::new();
    for (body, node) in [("Third", &a), ("Fourth", &b), ("Fifth", &a)] {
        missed.push(comment(body, node).await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let resumed = http
        .get(a.url(&format!("/api/v1/stories/{story_id}/events")))
        .header("Last-Event-ID", last_seen.to_string())
        .send()
        .await
        .unwrap();
    let mut resumed = resumed.bytes_stream();
    let mut buffer = String::new();
    let got = read_events(&mut resumed, &mut buffer, 3).await;
    let ids: Vec<i64> = got
        .iter()
        .map(|(_, _, d)| d["comment_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, missed, "no gaps, no duplicates, in order");
    assert!(got.iter().all(|(id, _, _)| *id > last_seen));
    // And the next live one arrives once.
    let sixth = comment("Sixth", &b).await;
    let got = read_events(&mut resumed, &mut buffer, 1).await;
    assert_eq!(got[0].2["comment_id"], sixth);

    // A moderator's live queue on B hears of a report made through A.
    let moderator = post(
        &http,
        b.url("/api/v1/sessions"),
        None,
        json!({ "email": "mod@courier.example", "password": "a good password", "session": "token" }),
    )
    .await;
    let queue = http
        .get(b.url("/api/v1/moderation/events"))
        .bearer_auth(moderator["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(queue.status(), StatusCode::OK);
    let mut queue = queue.bytes_stream();
    let mut buffer = String::new();
    post(
        &http,
        a.url(&format!("/api/v1/comments/{sixth}/reports")),
        Some(&staff_token),
        json!({ "reason": "spam" }),
    )
    .await;
    let got = read_events(&mut queue, &mut buffer, 1).await;
    assert_eq!(got[0].1, "reported", "{got:?}");
    assert_eq!(got[0].2["comment_id"], sixth);
    drop(queue);

    // Failed sign-ins count on every node: five wrong passwords spread over A and B
    // block the account on both.
    for n in 0..5 {
        let node = if n % 2 == 0 { &a } else { &b };
        let r = http
            .post(node.url("/api/v1/sessions"))
            .json(&json!({ "email": "sam@readers.example", "password": "not the password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    for node in [&a, &b] {
        let r = http
            .post(node.url("/api/v1/sessions"))
            .json(&json!({ "email": "sam@readers.example", "password": "a good password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "blocked on {}",
            node.base
        );
    }

    // A background job runs once with both nodes up: an old story is closed once.
    let old = post(
        &http,
        a.url("/api/v1/stories"),
        Some(&staff_token),
        json!({
            "url": "https://courier.example/old",
            "slug": "old",
            "headline": "An old story",
            "published_at": "2020-01-01T00:00:00Z",
        }),
    )
    .await["story"]["id"]
        .as_i64()
        .unwrap();
    let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE sites SET settings = $1")
        .bind(json!({ "policy": { "auto_close_days": 30 } }).to_string())
        .execute(&mut db)
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..100 {
        let (c,): (bool,) = sqlx::query_as("SELECT is_closed FROM stories WHERE id = $1")
            .bind(old)
            .fetch_one(&mut db)
            .await
            .unwrap();
        if c {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the job closed the old story");
    // Give both nodes a few more rounds to (not) do it again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (closes,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM audit_log WHERE target_kind = 'story' AND target_id = $1 AND action = 'close'",
    )
    .bind(old)
    .fetch_one(&mut db)
    .await
    .unwrap();
    assert_eq!(closes, 1, "closed and audited once");
    db.close().await.unwrap();

    drop(a);
    drop(b);
    schema.drop().await;
}
