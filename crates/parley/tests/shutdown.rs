//! Graceful shutdown: SIGTERM ends live event streams cleanly, lets the request in
//! flight finish, and the process exits 0 at once instead of waiting on the clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_event_streams_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("PARLEY_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the server stopped");
        if let Some(addr) = line.trim().strip_prefix("Parley is listening on ") {
            break addr.to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));

    let http = reqwest::Client::new();
    let stream = http
        .get(format!("{base}/api/v1/stories/1/events"))
        .send()
        .await
        .unwrap();
    assert!(stream.status().is_success());
    let mut stream = stream.bytes_stream();

    let stopped_at = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // The stream ends (no error) well before any client timeout.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            chunk.expect("a clean end, not a broken connection");
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the event stream was still open 10 s after SIGTERM"
    );

    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(10));
}
