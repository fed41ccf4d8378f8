//! Durability: the server is killed with SIGKILL in the middle of a burst of comment
//! posts; after a restart every comment that got a 2xx answer is there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::sync::Mutex;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run_cli(db: &str, args: &[&str], password: Option<&str>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.arg("--database").arg(db).args(args);
    if let Some(p) = password {
        cmd.env("PARLEY_PASSWORD", p);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn start(db: &str, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .args([
            "--database",
            db,
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("PARLEY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not start");
}

async fn crash_in_the_middle_of_posts(db: &str) {
    run_cli(db, &["site", "create", "--name", "courier"], None);
    run_cli(
        db,
        &[
            "user",
            "create",
            "--email",
            "ed@courier.example",
            "--name",
            "Ed",
            "--role",
            "staff",
        ],
        Some("a good password"),
    );
    let port = free_port();
    let mut server = start(db, port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let signin: Value = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({"email": "ed@courier.example", "password": "a good password", "session": "token"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signin["token"].as_str().unwrap().to_owned();
    let story: Value = client
        .post(format!("{base}/api/v1/stories"))
        .bearer_auth(&token)
        .json(&json!({"url": "https://courier.example/crash", "headline": "Crash"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let story_id = story["story"]["id"].as_i64().unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::<i64>::new()));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let sent = client
                    .post(format!("{base}/api/v1/stories/{story_id}/comments"))
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("writer {w} comment {i}")}))
                    .send()
                    .await;
                let Ok(res) = sent else { break };
                if !res.status().is_success() {
                    break;
                }
                let Ok(body) = res.json::<Value>().await else {
                    break;
                };
                acknowledged
                    .lock()
                    .await
                    .push(body["comment"]["id"].as_i64().unwrap());
            }
        }));
    }
    // Let the burst run, then pull the plug.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 50,
        "the burst was too small to mean anything: {}",
        acknowledged.len()
    );
    let mut server = start(db, port).await;
    let mut missing = Vec::new();
    for id in &acknowledged {
        let res = client
            .get(format!("{base}/api/v1/comments/{id}"))
            .send()
            .await
            .unwrap();
        if res.status() != reqwest::StatusCode::OK {
            missing.push(*id);
        }
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged comments were lost: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_comments_survive_a_kill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_in_the_middle_of_posts(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_comments_survive_a_kill_on_postgres() {
    let admin_url = std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let name = format!("parley_crash_{:08x}", rand::thread_rng().r#gen::<u32>());
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap();
    let db = format!("{base}/{name}");
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        crash_in_the_middle_of_posts(&db),
    ))
    .await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
