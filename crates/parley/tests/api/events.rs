//! Live updates over Server-Sent Events, resumable with Last-Event-ID.

use std::time::Duration;

use futures::StreamExt;
use parley_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(new_comments_arrive_live_and_a_resumed_stream_has_no_gaps_or_duplicates);

/// Reads SSE events until `n` have arrived (or a timeout passes): (id, name, data).
async fn read_events(res: reqwest::Response, n: usize) -> Vec<(String, String, Value)> {
    let mut stream = res.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, stream.next()).await;
        let Ok(Some(Ok(bytes))) = chunk else { break };
        buffer.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut name, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !name.is_empty() {
                events.push((id, name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
        }
    }
    events
}

async fn new_comments_arrive_live_and_a_resumed_stream_has_no_gaps_or_duplicates(app: TestApp) {
    let staff = app.member("Cal Staff", Role::Staff).await;
    let story = app.story(&staff, "live").await;
    let reader = app.reader("Dot").await;
    let events_url = app.url(&format!("/api/v1/stories/{story}/events"));
    let res = app.http.get(&events_url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let first = app.comment(&reader, story, None, "live one").await;
    let second = app.comment(&reader, story, Some(first), "live two").await;
    let seen = read_events(res, 2).await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].1, "comment_published");
    assert_eq!(seen[0].2["comment_id"], first);
    assert_eq!(seen[1].2["comment_id"], second);
    assert_eq!(seen[1].2["parent_id"], first);
    // Disconnected after the first event: resume from it.
    let third = app.comment(&reader, story, None, "while away").await;
    app.post(
        &format!("/api/v1/comments/{first}/reactions"),
        Some(&staff.token),
        json!({}),
    )
    .await;
    let resumed = app
        .http
        .get(&events_url)
        .header("last-event-id", &seen[0].0)
        .send()
        .await
        .unwrap();
    let got = read_events(resumed, 3).await;
    let ids: Vec<(String, Value)> = got
        .iter()
        .map(|(_, name, data)| (name.clone(), data["comment_id"].clone()))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("comment_published".to_owned(), json!(second)),
            ("comment_published".to_owned(), json!(third)),
            ("reactions_changed".to_owned(), json!(first)),
        ]
    );
    assert_eq!(got[2].2["reaction_count"], 1);
    let missing = app
        .http
        .get(app.url("/api/v1/stories/999/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
