//! Writing and finding stories; comment counts by URL.

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    staff_write_stories_and_readers_cannot,
    stories_are_found_by_id_url_and_slug,
    editing_a_story_bumps_its_version,
    story_fields_are_checked,
    counts_cover_up_to_a_hundred_urls,
);

async fn staff_write_stories_and_readers_cannot(app: TestApp) {
    let reader = app.reader("Jo").await;
    let body = json!({"url": "https://courier.example/x", "headline": "X"});
    let r = app
        .post("/api/v1/stories", Some(&reader.token), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post("/api/v1/stories", None, body.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let staff = app.member("Kit Staff", Role::Staff).await;
    let r = app
        .post("/api/v1/stories", Some(&staff.token), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["story"]["slug"], "x");
    let dup = app.post("/api/v1/stories", Some(&staff.token), body).await;
    assert_eq!(
        (dup.status, dup.code()),
        (StatusCode::CONFLICT, "story_exists")
    );
}

async fn stories_are_found_by_id_url_and_slug(app: TestApp) {
    let staff = app.member("Lu Staff", Role::Staff).await;
    let id = app.story(&staff, "bridge-vote").await;
    let by_id = app.get(&format!("/api/v1/stories/{id}"), None).await;
    assert_eq!(by_id.body["story"]["headline"], "Headline of bridge-vote");
    assert!(
        by_id.body["story"]["body_html"]
            .as_str()
            .unwrap()
            .contains("<h2>A subheading</h2>")
    );
    let by_url = app
        .get(
            "/api/v1/stories?url=https://courier.example/bridge-vote",
            None,
        )
        .await;
    assert_eq!(by_url.body["story"]["id"], id);
    let by_slug = app
        .get("/api/v1/stories?slug=bridge-vote&site=courier", None)
        .await;
    assert_eq!(by_slug.body["story"]["id"], id);
    let list = app.get("/api/v1/stories", None).await;
    assert_eq!(list.body["stories"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get("/api/v1/stories?slug=nope", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/stories/999", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/stories?slug=x&site=other", None)
            .await
            .code(),
        "not_found"
    );
}

async fn editing_a_story_bumps_its_version(app: TestApp) {
    let staff = app.member("Mo Staff", Role::Staff).await;
    let id = app.story(&staff, "edit-me").await;
    let before = app.get(&format!("/api/v1/stories/{id}"), None).await.body["story"]["version"]
        .as_i64()
        .unwrap();
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/stories/{id}"),
            Some(&staff.token),
            Some(json!({"standfirst": "New standfirst", "is_closed": true, "closed_message": "Closed now.",
                        "picture_url": "https://courier.example/p.jpg", "picture_caption": "A bridge", "picture_credit": "CREDIT: DESK"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let s = &r.body["story"];
    assert_eq!(s["standfirst"], "New standfirst");
    assert_eq!(s["headline"], "Headline of edit-me", "fields not sent stay");
    assert_eq!(s["is_closed"], true);
    assert_eq!(s["picture"]["credit"], "CREDIT: DESK");
    assert!(s["version"].as_i64().unwrap() > before);
    let reader = app.reader("Ned").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/stories/{id}"),
            Some(&reader.token),
            Some(json!({"headline": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn story_fields_are_checked(app: TestApp) {
    let staff = app.member("Ola Staff", Role::Staff).await;
    for (body, field) in [
        (json!({"url": "ftp://x", "headline": "H"}), "url"),
        (
            json!({"url": "https://courier.example/h", "headline": "  "}),
            "headline",
        ),
        (
            json!({"url": "https://courier.example/h", "headline": "H", "published_at": "yesterday"}),
            "published_at",
        ),
        (
            json!({"url": "https://courier.example/h", "headline": "H", "picture_url": "javascript:alert(1)"}),
            "picture_url",
        ),
    ] {
        let r = app.post("/api/v1/stories", Some(&staff.token), body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }
}

async fn counts_cover_up_to_a_hundred_urls(app: TestApp) {
    let staff = app.member("Pia Staff", Role::Staff).await;
    let reader = app.reader("Quin").await;
    let a = app.story(&staff, "a").await;
    app.story(&staff, "b").await;
    let c1 = app.comment(&reader, a, None, "one").await;
    app.comment(&reader, a, Some(c1), "two").await;
    let r = app
        .get("/api/v1/counts?url=https://courier.example/a&url=https://courier.example/b&url=https://courier.example/none", None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["counts"]["https://courier.example/a"], 2);
    assert_eq!(r.body["counts"]["https://courier.example/b"], 0);
    assert_eq!(r.body["counts"]["https://courier.example/none"], 0);
    let urls: Vec<String> = (0..100)
        .map(|i| format!("https://courier.example/{i}"))
        .collect();
    let ok = app
        .post("/api/v1/counts", None, json!({"urls": urls}))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let urls: Vec<String> = (0..101)
        .map(|i| format!("https://courier.example/{i}"))
        .collect();
    let too_many = app
        .post("/api/v1/counts", None, json!({"urls": urls}))
        .await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get("/api/v1/counts", None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
