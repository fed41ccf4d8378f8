//! Operations endpoints: readiness and Prometheus metrics, on both backends.

use std::time::Duration;

use futures::StreamExt;
use parley_core::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    readyz_says_ready_on_a_current_database,
    metrics_carry_the_named_series,
);

async fn readyz_says_ready_on_a_current_database(app: TestApp) {
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ready");
    assert!(["sqlite", "postgres"].contains(&r.body["database"].as_str().unwrap()));
}

async fn scrape(app: &TestApp) -> String {
    let r = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    r.text().await.unwrap()
}

/// The value of the series whose line starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_carry_the_named_series(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "measured").await;
    app.store
        .set_site_settings(
            app.site_id,
            json!({ "policy": { "banned": "orc\n", "suspect": "crypto\n" } }).to_string(),
        )
        .await
        .unwrap();
    let sam = app.reader("Sam").await;
    app.comment(&sam, story, None, "A fine comment.").await;
    let held = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&sam.token),
            json!({ "body": "Buy crypto now" }),
        )
        .await;
    assert_eq!(held.body["comment"]["status"], "pending");
    let rejected = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&sam.token),
            json!({ "body": "You orc." }),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    let events = app
        .http
        .get(app.url(&format!("/api/v1/stories/{story}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let mut body = events.bytes_stream();

    let text = scrape(&app).await;
    for (series, want) in [
        ("parley_comments_total{outcome=\"published\"}", 1.0),
        ("parley_comments_total{outcome=\"held\"}", 1.0),
        ("parley_comments_total{outcome=\"rejected\"}", 1.0),
        ("parley_sse_connections", 1.0),
    ] {
        assert_eq!(value(&text, series), Some(want), "{series} in\n{text}");
    }
    assert_eq!(
        value(
            &text,
            "parley_http_requests_total{method=\"POST\",route=\"/api/v1/stories/{id}/comments\",status=\"201\"}"
        ),
        Some(2.0),
        "{text}"
    );
    assert!(
        text.contains(
            "parley_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"POST\",route=\"/api/v1/stories/{id}/comments\"}"
        ) || text.contains("parley_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/stories/{id}/comments\"}"),
        "{text}"
    );
    assert!(
        value(&text, "parley_db_pool_connections{state=\"idle\"}").is_some(),
        "{text}"
    );
    assert!(value(&text, "parley_db_pool_max_connections").unwrap() >= 1.0);
    // Raw paths never become labels: one series per route pattern.
    assert!(!text.contains(&format!("/api/v1/stories/{story}/comments")));

    // The stream closes: the gauge comes back down.
    let _ = tokio::time::timeout(Duration::from_millis(50), body.next()).await;
    drop(body);
    let mut open = None;
    for _ in 0..100 {
        open = value(&scrape(&app).await, "parley_sse_connections");
        if open == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open, Some(0.0));
}
