//! Live-update fan-out benchmark (bench/fanout runs it): opens many Server-Sent Event
//! streams on one node, posts comments at a steady rate on another, and reports how
//! long each comment took to reach every stream.
//!
//!   fanout BASE_A BASE_B STORY_ID TOKEN [CONNECTIONS] [RATE_PER_SEC] [SECONDS]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Barrier, mpsc};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: fanout BASE_A BASE_B STORY_ID TOKEN [CONNECTIONS] [RATE] [SECONDS]");
        std::process::exit(2);
    }
    let (a, b, story, token) = (&args[1], &args[2], &args[3], &args[4]);
    let connections: usize = args.get(5).map_or(2_000, |v| v.parse().unwrap());
    let rate: u64 = args.get(6).map_or(50, |v| v.parse().unwrap());
    let seconds: u64 = args.get(7).map_or(20, |v| v.parse().unwrap());

    // Receipts: (comment id, when it arrived).
    let (tx, mut rx) = mpsc::unbounded_channel::<(i64, Instant)>();
    let ready = Arc::new(Barrier::new(connections + 1));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    for _ in 0..connections {
        let (client, tx, ready) = (client.clone(), tx.clone(), ready.clone());
        let url = format!("{b}/api/v1/stories/{story}/events");
        tokio::spawn(async move {
            let response = client.get(url).send().await.expect("open a stream");
            assert!(response.status().is_success());
            let mut body = response.bytes_stream();
            ready.wait().await;
            let mut pending = Vec::new();
            while let Some(Ok(chunk)) = body.next().await {
                let now = Instant::now();
                pending.extend_from_slice(&chunk);
                while let Some(end) = find(&pending, b"\n\n") {
                    let frame: Vec<u8> = pending.drain(..end + 2).collect();
                    if let Some(id) = comment_id(&frame) {
                        let _ = tx.send((id, now));
                    }
                }
            }
        });
    }
    drop(tx);
    ready.wait().await;
    eprintln!(
        "{connections} streams open on B in {:.1} s; posting {rate}/s on A for {seconds} s",
        started.elapsed().as_secs_f64()
    );

    // Post at a steady rate; remember when each comment was sent.
    let sent: Arc<std::sync::Mutex<HashMap<i64, Instant>>> = Arc::default();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let total = rate * seconds;
    let mut posts = Vec::new();
    for n in 0..total {
        tick.tick().await;
        let (client, sent) = (client.clone(), sent.clone());
        let url = format!("{a}/api/v1/stories/{story}/comments");
        let token = token.clone();
        posts.push(tokio::spawn(async move {
            let at = Instant::now();
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "body": format!("Benchmark comment number {n}.") }))
                .send()
                .await
                .expect("post");
            let v: Value = r.json().await.expect("json");
            let id = v["comment"]["id"].as_i64().expect("comment id");
            sent.lock().unwrap().insert(id, at);
        }));
    }
    for p in posts {
        p.await.unwrap();
    }
    // Let the last ones arrive.
    let mut latencies = Vec::with_capacity(connections * total as usize);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let expected = connections * total as usize;
    let mut receipts = Vec::with_capacity(expected);
    while receipts.len() < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(r)) => receipts.push(r),
            _ => break,
        }
    }
    let sent = sent.lock().unwrap();
    for (id, at) in receipts {
        if let Some(t0) = sent.get(&id) {
            latencies.push(at.saturating_duration_since(*t0).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(|x, y| x.total_cmp(y));
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "streams={connections} posted={total} delivered={}/{expected} latency_ms p50={:.1} p90={:.1} p99={:.1} max={:.1}",
        latencies.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
    );
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The comment id of a comment_published frame.
fn comment_id(frame: &[u8]) -> Option<i64> {
    if find(frame, b"event: comment_published").is_none()
        && find(frame, b"event:comment_published").is_none()
    {
        return None;
    }
    let at = find(frame, b"\"comment_id\":")? + b"\"comment_id\":".len();
    let digits: String = frame[at..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .map(|&c| c as char)
        .collect();
    digits.parse().ok()
}
