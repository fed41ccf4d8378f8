//! Policy switches beyond the pipeline's word and link rules: the per-address rate
//! limit, the edit window, automatic closing, and what readers see of a comment a
//! moderator removes from under its replies. Both backends.

use std::time::Duration;

use parley_core::Role;
use parley_web::WebConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, run};
use crate::on_both_backends;

on_both_backends!(
    the_address_rate_limit_counts_every_account_on_the_address,
    the_policy_edit_window_replaces_the_servers,
    a_rejected_comment_with_replies_leaves_a_placeholder_for_readers,
);

async fn set_policy(app: &TestApp, settings: Value) {
    app.store
        .set_site_settings(app.site_id, settings.to_string())
        .await
        .unwrap();
}

async fn the_address_rate_limit_counts_every_account_on_the_address(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "busy").await;
    set_policy(&app, json!({ "policy": { "ip_rate_per_minute": 2 } })).await;
    let (a, b, c) = (
        app.reader("Ann").await,
        app.reader("Ben").await,
        app.reader("Cal").await,
    );
    app.comment(&a, story, None, "one").await;
    app.comment(&b, story, None, "two").await;
    let r = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&c.token),
            json!({ "body": "three, from a third account on the same address" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.code(), "rate_limited");
    let audit = app.store.audit_for("user", c.id).await.unwrap();
    assert_eq!(audit[0].actor_rule.as_deref(), Some("rate_limit"));
    assert_eq!(
        app.store
            .story_by_id(story)
            .await
            .unwrap()
            .unwrap()
            .comment_count,
        2
    );
}

async fn edit(app: &TestApp, token: &str, id: i64, body: &str) -> crate::common::Reply {
    app.call(
        Method::PATCH,
        &format!("/api/v1/comments/{id}"),
        Some(token),
        Some(json!({ "body": body })),
    )
    .await
}

async fn the_policy_edit_window_replaces_the_servers(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let quick = app.story(&staff, "quick").await;
    let slow = app.story(&staff, "slow").await;
    // The site allows no time at all; one story allows an hour.
    set_policy(
        &app,
        json!({
            "policy": { "edit_window_secs": 0 },
            "stories": { slow.to_string(): { "edit_window_secs": 3600 } }
        }),
    )
    .await;
    let sam = app.reader("Sam").await;
    let on_quick = app.comment(&sam, quick, None, "typo").await;
    let on_slow = app.comment(&sam, slow, None, "typo").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The pages offer Edit by the same rule: the story's window, not the server's.
    for (id, offered) in [(on_quick, false), (on_slow, true)] {
        let r = app
            .get(&format!("/comments/{id}/fragment"), Some(&sam.token))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let html = r.body.as_str().unwrap_or_default().to_owned();
        assert_eq!(
            html.contains(&format!("href=\"/comments/{id}/edit\"")),
            offered,
            "{html}"
        );
    }
    let r = edit(&app, &sam.token, on_quick, "fixed").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "edit_window_over")
    );
    let r = edit(&app, &sam.token, on_slow, "fixed").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["comment"]["body"], "fixed");
}

async fn a_rejected_comment_with_replies_leaves_a_placeholder_for_readers(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let moderator = app.member("Mo Derator", Role::Moderator).await;
    let story = app.story(&staff, "heated").await;
    let troll = app.reader("Trollish Name").await;
    let fair = app.reader("Fair Reader").await;
    let top = app.comment(&troll, story, None, "An insult here.").await;
    let reply = app.comment(&fair, story, Some(top), "A calm answer.").await;

    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{top}/reject"),
            Some(&moderator.token),
            json!({ "reason_code": "abuse" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let page = app
        .get(&format!("/api/v1/stories/{story}/comments"), None)
        .await;
    let text = page.body.to_string();
    assert!(!text.contains("An insult here."), "{text}");
    assert!(!text.contains("Trollish Name"), "{text}");
    assert!(
        text.contains("A calm answer."),
        "the reply is still reachable: {text}"
    );
    let first = &page.body["comments"][0];
    assert_eq!(first["id"], top, "{text}");
    assert_eq!(first["deleted"], true);
    assert_eq!(first["replies"][0]["id"], reply);

    let html = reqwest::get(app.url("/stories/heated"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("A calm answer."));
    assert!(!html.contains("An insult here."));
    assert!(!html.contains("Trollish Name"));
    let single = app.get(&format!("/api/v1/comments/{top}"), None).await;
    assert!(
        !single.body.to_string().contains("An insult here."),
        "{}",
        single.body
    );
}

fn quick_jobs() -> WebConfig {
    WebConfig {
        jobs_every: Duration::from_millis(50),
        ..WebConfig::default()
    }
}

async fn stories_past_the_auto_close_age_close_by_themselves(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let r = app
        .post(
            "/api/v1/stories",
            Some(&staff.token),
            json!({
                "url": "https://courier.example/old",
                "slug": "old",
                "headline": "An old story",
                "published_at": "2020-01-01T00:00:00Z",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let old = r.body["story"]["id"].as_i64().unwrap();
    let fresh = app.story(&staff, "fresh").await;
    set_policy(&app, json!({ "policy": { "auto_close_days": 30 } })).await;

    // The job runs every 50 ms; give it a few seconds at most.
    let mut closed = false;
    for _ in 0..200 {
        let s = app.store.story_by_id(old).await.unwrap().unwrap();
        if s.fields.is_closed {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(closed, "the old story was closed by the job");
    let sam = app.reader("Sam").await;
    let r = app
        .post(
            &format!("/api/v1/stories/{old}/comments"),
            Some(&sam.token),
            json!({ "body": "too late" }),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "story_closed"));
    app.comment(&sam, fresh, None, "still open").await;
    let audit = app.store.audit_for("story", old).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "close");
    assert_eq!(audit[0].actor_rule.as_deref(), Some("auto_close"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_past_the_auto_close_age_close_by_themselves_on_sqlite() {
    run(
        Backend::Sqlite,
        quick_jobs(),
        stories_past_the_auto_close_age_close_by_themselves,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_past_the_auto_close_age_close_by_themselves_on_postgres() {
    run(
        Backend::Postgres,
        quick_jobs(),
        stories_past_the_auto_close_age_close_by_themselves,
    )
    .await;
}
