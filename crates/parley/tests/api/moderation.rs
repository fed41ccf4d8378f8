//! Moderation: every pipeline phase through the API, on both backends.

use parley_core::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Account, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    ordinary_comments_publish_under_the_default_policy,
    a_banned_word_is_rejected_with_its_reason_and_audited,
    a_suspect_word_is_held_with_its_reason_for_moderators,
    links_are_held_when_the_policy_says_so,
    premoderation_holds_every_comment,
    new_commenters_are_held_until_approved,
    the_rate_limit_refuses_too_many_comments_a_minute,
    a_repeated_comment_is_held,
    an_edit_that_adds_a_banned_word_is_rejected_and_a_suspect_one_held,
);

async fn set_policy(app: &TestApp, policy: Value) {
    app.store
        .set_site_settings(app.site_id, json!({ "policy": policy }).to_string())
        .await
        .unwrap();
}

async fn setup(app: &TestApp) -> (i64, Account) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "moderated").await;
    let sam = app.reader("Sam").await;
    (story, sam)
}

async fn try_post(app: &TestApp, who: &Account, story: i64, body: &str) -> Reply {
    app.post(
        &format!("/api/v1/stories/{story}/comments"),
        Some(&who.token),
        json!({ "body": body }),
    )
    .await
}

async fn public_ids(app: &TestApp, story: i64) -> Vec<i64> {
    let page = app
        .get(&format!("/api/v1/stories/{story}/comments"), None)
        .await;
    page.body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["comment"]["id"].as_i64().or(c["id"].as_i64()).unwrap())
        .collect()
}

/// Posts and expects the comment to be held; returns its id.
async fn held(app: &TestApp, who: &Account, story: i64, body: &str) -> i64 {
    let r = try_post(app, who, story, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["comment"]["status"], "pending", "{}", r.body);
    let id = r.body["comment"]["id"].as_i64().unwrap();
    assert!(!public_ids(app, story).await.contains(&id));
    id
}

async fn latest_reasons(app: &TestApp, id: i64) -> String {
    let revs = app.store.revisions(id).await.unwrap();
    revs.iter().max_by_key(|r| r.id).unwrap().reasons.clone()
}

async fn ordinary_comments_publish_under_the_default_policy(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let a = app.comment(&sam, story, None, "A fair point.").await;
    let b = app
        .comment(&sam, story, None, "See https://courier.example/x for more.")
        .await;
    let ids = public_ids(&app, story).await;
    assert!(ids.contains(&a) && ids.contains(&b));
    assert!(app.store.audit_for("comment", a).await.unwrap().is_empty());
}

async fn a_banned_word_is_rejected_with_its_reason_and_audited(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "banned": "orc*\n" })).await;
    let r = try_post(&app, &sam, story, "You are all 0.r.c.s").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.code(), "comment_rejected");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("0.r.c.s")
    );
    assert!(public_ids(&app, story).await.is_empty());
    let audit = app.store.audit_for("user", sam.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "reject");
    assert_eq!(audit[0].actor_rule.as_deref(), Some("banned_words"));
    // "force" is not an orc.
    app.comment(&sam, story, None, "May the force be with you.")
        .await;
}

async fn a_suspect_word_is_held_with_its_reason_for_moderators(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "suspect": "crypto\n" })).await;
    let id = held(&app, &sam, story, "Buy CRYPT0 today").await;
    assert!(
        latest_reasons(&app, id)
            .await
            .contains("suspect entry \"crypto\"")
    );
    let audit = app.store.audit_for("comment", id).await.unwrap();
    assert_eq!(audit[0].action, "hold");
    assert_eq!(audit[0].actor_rule.as_deref(), Some("spam_signals"));
}

async fn links_are_held_when_the_policy_says_so(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "hold_links": true })).await;
    let id = held(&app, &sam, story, "Read www.example.org first").await;
    assert!(latest_reasons(&app, id).await.starts_with("site_policy:"));
    app.comment(&sam, story, None, "No links here.").await;
}

async fn premoderation_holds_every_comment(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let id = held(&app, &sam, story, "Just a thought.").await;
    let audit = app.store.audit_for("comment", id).await.unwrap();
    assert_eq!(audit[0].actor_rule.as_deref(), Some("site_policy"));
    // The author still sees their own held comment.
    let v = app
        .get(&format!("/api/v1/stories/{story}/viewer"), Some(&sam.token))
        .await;
    assert_eq!(v.body["pending"][0]["id"], id, "{}", v.body);
}

async fn new_commenters_are_held_until_approved(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let old = app.reader("Old Hand").await;
    app.comment(&old, story, None, "An earlier comment.").await;
    set_policy(&app, json!({ "hold_new_commenters": 1 })).await;
    let id = held(&app, &sam, story, "My first comment.").await;
    assert!(latest_reasons(&app, id).await.starts_with("author_status:"));
    app.comment(&old, story, None, "A later comment.").await;
}

async fn the_rate_limit_refuses_too_many_comments_a_minute(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "rate_per_minute": 2 })).await;
    app.comment(&sam, story, None, "one").await;
    app.comment(&sam, story, None, "two").await;
    let r = try_post(&app, &sam, story, "three").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(public_ids(&app, story).await.len(), 2);
    let audit = app.store.audit_for("user", sam.id).await.unwrap();
    assert_eq!(audit[0].actor_rule.as_deref(), Some("rate_limit"));
}

async fn a_repeated_comment_is_held(app: TestApp) {
    let (story, sam) = setup(&app).await;
    app.comment(&sam, story, None, "Vote for me!").await;
    let id = held(&app, &sam, story, "vote  for me!").await;
    assert!(latest_reasons(&app, id).await.contains("last comment"));
}

async fn an_edit_that_adds_a_banned_word_is_rejected_and_a_suspect_one_held(app: TestApp) {
    let (story, sam) = setup(&app).await;
    set_policy(&app, json!({ "banned": "orc\n", "suspect": "crypto\n" })).await;
    let id = app.comment(&sam, story, None, "Harmless.").await;
    let path = format!("/api/v1/comments/{id}");
    let r = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(&sam.token),
            Some(json!({ "body": "You orc" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(public_ids(&app, story).await.contains(&id));
    let r = app
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(&sam.token),
            Some(json!({ "body": "Harmless crypto." })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["comment"]["status"], "pending");
    assert!(!public_ids(&app, story).await.contains(&id));
    let audit = app.store.audit_for("comment", id).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["reject", "hold"]);
}
