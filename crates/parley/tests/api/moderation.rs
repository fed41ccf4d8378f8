//! Moderation: every pipeline phase through the API, on both backends.

use parley_core::Role;
use reqwest::{Method, StatusCode};
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
    approving_shows_a_held_comment_and_rejecting_removes_it,
    queues_filter_by_story_and_text_and_show_reasons,
    account_actions_change_standing_and_are_audited,
    an_admin_sets_the_site_policy_and_bad_lists_are_refused,
    the_role_matrix_covers_every_moderation_endpoint,
    a_story_override_changes_the_policy_for_that_story_only,
    reports_past_the_threshold_enter_the_reported_queue_until_decided,
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

async fn approving_shows_a_held_comment_and_rejecting_removes_it(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    let top = app.comment(&sam, story, None, "Published first.").await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let tia = app.reader("Tia").await;
    let reply = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&tia.token),
            json!({ "body": "A held reply.", "parent_id": top }),
        )
        .await;
    let reply = reply.body["comment"]["id"].as_i64().unwrap();
    let before = app.get(&format!("/api/v1/stories/{story}"), None).await;
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{reply}/approve"),
            Some(&modr.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["comment"]["status"], "published");
    let page = app
        .get(&format!("/api/v1/stories/{story}/comments"), None)
        .await;
    assert_eq!(page.body["comments"][0]["reply_count"], 1, "{}", page.body);
    assert_eq!(
        page.body["comments"][0]["replies"][0]["id"], reply,
        "{}",
        page.body
    );
    assert_eq!(
        page.body["comment_count"],
        before.body["story"]["comment_count"].as_i64().unwrap() + 1
    );
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{reply}/reject"),
            Some(&modr.token),
            json!({ "reason_code": "abuse", "note": "Be kind." }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["comment"]["status"], "rejected");
    let page = app
        .get(&format!("/api/v1/stories/{story}/comments"), None)
        .await;
    assert_eq!(page.body["comments"][0]["reply_count"], 0);
    assert!(
        page.body["comments"][0]["replies"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let audit = app
        .get(
            &format!("/api/v1/moderation/audit?target_kind=comment&target_id={reply}"),
            Some(&modr.token),
        )
        .await;
    let actions: Vec<&str> = audit.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["reject", "approve", "hold"]);
    assert_eq!(audit.body["entries"][0]["reason"], "abuse: Be kind.");
    assert_eq!(audit.body["entries"][0]["actor_id"], modr.id);
    let bad = app
        .post(
            &format!("/api/v1/moderation/comments/{reply}/reject"),
            Some(&modr.token),
            json!({ "reason_code": "meh" }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn queues_filter_by_story_and_text_and_show_reasons(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    set_policy(&app, json!({ "suspect": "crypto\n" })).await;
    let a = held(&app, &sam, story, "Crypto riches await").await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let b = held(&app, &sam, story, "Plain words").await;
    let q = app
        .get("/api/v1/moderation/queues/pending", Some(&modr.token))
        .await;
    assert_eq!(q.status, StatusCode::OK, "{}", q.body);
    let items = q.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["comment"]["id"], a);
    assert!(items[1]["reasons"].as_str().unwrap().contains("crypto"));
    let q = app
        .get(
            &format!("/api/v1/moderation/queues/pending?story={story}&q=plain"),
            Some(&modr.token),
        )
        .await;
    assert_eq!(q.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(q.body["items"][0]["comment"]["id"], b);
    let q = app
        .get(
            "/api/v1/moderation/queues/pending?story=999999",
            Some(&modr.token),
        )
        .await;
    assert!(q.body["items"].as_array().unwrap().is_empty());
    let r = app
        .post(
            &format!("/api/v1/comments/{b}/reports"),
            Some(&modr.token),
            json!({ "reason": "spam" }),
        )
        .await;
    assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let bad = app
        .get("/api/v1/moderation/queues/nonsense", Some(&modr.token))
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}

async fn account_actions_change_standing_and_are_audited(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    let act = |what: &'static str, body: Value| {
        let app = app.clone();
        let token = modr.token.clone();
        let id = sam.id;
        async move {
            app.post(
                &format!("/api/v1/moderation/users/{id}/{what}"),
                Some(&token),
                body,
            )
            .await
        }
    };
    let r = act("ban", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["status"]["kind"], "banned");
    assert_eq!(
        try_post(&app, &sam, story, "hello").await.status,
        StatusCode::FORBIDDEN
    );
    let r = act("suspend", json!({ "days": 3 })).await;
    assert_eq!(r.body["user"]["status"]["kind"], "suspended");
    assert_eq!(
        try_post(&app, &sam, story, "hello").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        act("suspend", json!({ "days": 0 })).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    act("premoderate", json!({})).await;
    held(&app, &sam, story, "held for review").await;
    act("lift", json!({})).await;
    app.comment(&sam, story, None, "free again").await;
    let log = app
        .get(
            &format!(
                "/api/v1/moderation/audit?target_kind=user&target_id={}",
                sam.id
            ),
            Some(&modr.token),
        )
        .await;
    let actions: Vec<&str> = log.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // The refused posts are audited too, as automatic rejects.
    assert_eq!(
        actions,
        ["lift", "premoderate", "reject", "suspend", "reject", "ban"]
    );
    assert_eq!(log.body["entries"][2]["actor_rule"], "author_status");
    assert_eq!(log.body["entries"][3]["actor_id"], modr.id);
    // A moderator cannot act on an admin.
    let boss = app.member("Ada Admin", Role::Admin).await;
    let r = app
        .post(
            &format!("/api/v1/moderation/users/{}/ban", boss.id),
            Some(&modr.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn an_admin_sets_the_site_policy_and_bad_lists_are_refused(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let admin = app.member("Ada Admin", Role::Admin).await;
    let put = |body: Value| {
        let app = app.clone();
        let token = admin.token.clone();
        async move {
            app.call(
                Method::PUT,
                "/api/v1/sites/courier/policy",
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let r = put(json!({ "hold_links": true })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["policy"]["hold_links"], true);
    assert_eq!(r.body["policy"]["max_chars"], 5000);
    held(&app, &sam, story, "see https://x.example").await;
    assert_eq!(
        put(json!({ "banned": "*\n" })).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(json!({ "hold_linkz": true })).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = app
        .call(
            Method::PUT,
            "/api/v1/sites/elsewhere/policy",
            Some(&admin.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The refused updates left the policy as it was.
    held(&app, &sam, story, "and https://y.example").await;
}

/// Every moderation endpoint, for every role: signed out 401, reader and staff 403 (and
/// nothing changes), moderator and admin succeed (the policy is admin only).
async fn the_role_matrix_covers_every_moderation_endpoint(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let staff = app.member("Stef Staff", Role::Staff).await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    let admin = app.member("Ada Admin", Role::Admin).await;
    let reader = app.reader("Reed Reader").await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let c = held(&app, &sam, story, "waiting").await;
    let u = sam.id;
    let endpoints: Vec<(Method, String, Value, bool)> = vec![
        (
            Method::GET,
            "/api/v1/moderation/queues/pending".into(),
            Value::Null,
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/queues/reported".into(),
            Value::Null,
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/queues/rejected".into(),
            Value::Null,
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/queues/approved".into(),
            Value::Null,
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/queues/featured".into(),
            Value::Null,
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/comments/{c}/approve"),
            json!({}),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/comments/{c}/reject"),
            json!({ "reason_code": "spam" }),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/users/{u}/ban"),
            json!({}),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/users/{u}/suspend"),
            json!({ "days": 2 }),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/users/{u}/premoderate"),
            json!({}),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/users/{u}/lift"),
            json!({}),
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/audit".into(),
            Value::Null,
            false,
        ),
        (
            Method::GET,
            "/api/v1/moderation/audit?action=ban&actor=site_policy".into(),
            Value::Null,
            false,
        ),
        (
            Method::POST,
            "/api/v1/moderation/bulk".into(),
            json!({ "ids": [c], "action": "approve" }),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/stories/{story}/close"),
            json!({ "message": "Closed for now." }),
            false,
        ),
        (
            Method::POST,
            format!("/api/v1/moderation/stories/{story}/reopen"),
            json!({}),
            false,
        ),
        (
            Method::PUT,
            format!("/api/v1/stories/{story}/policy"),
            json!({ "premoderate": true }),
            false,
        ),
        (
            Method::PUT,
            "/api/v1/sites/courier/policy".into(),
            json!({ "premoderate": true, "max_links": 3 }),
            true,
        ),
    ];
    let settings = app.store.site_settings(app.site_id).await.unwrap();
    let audit_len = app
        .store
        .audit_log(app.site_id, None, None, 1000)
        .await
        .unwrap()
        .len();
    let roles: [(&str, Option<&Account>); 5] = [
        ("signed out", None),
        ("reader", Some(&reader)),
        ("staff", Some(&staff)),
        ("moderator", Some(&modr)),
        ("admin", Some(&admin)),
    ];
    for (role, who) in roles {
        for (method, path, body, admin_only) in &endpoints {
            let body = (!body.is_null()).then(|| body.clone());
            let r = app
                .call(method.clone(), path, who.map(|a| a.token.as_str()), body)
                .await;
            let expected = match role {
                "signed out" => StatusCode::UNAUTHORIZED,
                "reader" | "staff" => StatusCode::FORBIDDEN,
                "moderator" if *admin_only => StatusCode::FORBIDDEN,
                _ => StatusCode::OK,
            };
            assert_eq!(r.status, expected, "{role} {method} {path}: {}", r.body);
        }
        // The live moderation stream: checked by status only (it never ends).
        let mut req = app.http.get(app.url("/api/v1/moderation/events"));
        if let Some(a) = who {
            req = req.bearer_auth(&a.token);
        }
        let status = req.send().await.unwrap().status();
        let expected = match role {
            "signed out" => StatusCode::UNAUTHORIZED,
            "reader" | "staff" => StatusCode::FORBIDDEN,
            _ => StatusCode::OK,
        };
        assert_eq!(status, expected, "{role} GET /api/v1/moderation/events");
        if role == "staff" {
            // Nothing the unauthorised tried changed anything.
            assert_eq!(
                app.store.site_settings(app.site_id).await.unwrap(),
                settings
            );
            let cm = app.store.comment_by_id(c).await.unwrap().unwrap();
            assert_eq!(cm.status, parley_core::thread::CommentStatus::Pending);
            let user = app.store.user_by_id(u).await.unwrap().unwrap();
            assert_eq!(user.status, parley_core::UserStatus::Active);
            let s = app.store.story_by_id(story).await.unwrap().unwrap();
            assert!(!s.fields.is_closed);
            let now = app
                .store
                .audit_log(app.site_id, None, None, 1000)
                .await
                .unwrap()
                .len();
            assert_eq!(now, audit_len);
        }
    }
}

async fn a_story_override_changes_the_policy_for_that_story_only(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let staff = app.member("Stef Staff", Role::Staff).await;
    let other = app.story(&staff, "calm").await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    set_policy(&app, json!({ "suspect": "crypto\n" })).await;
    let path = format!("/api/v1/stories/{story}/policy");
    let r = app
        .call(
            Method::PUT,
            &path,
            Some(&modr.token),
            Some(json!({ "premoderate": true })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["policy"]["premoderate"], true);
    assert_eq!(r.body["policy"]["suspect"], "crypto\n");
    held(&app, &sam, story, "Heated story.").await;
    app.comment(&sam, other, None, "Calm story.").await;
    held(&app, &sam, other, "crypto on the calm story").await;
    for bad in [
        json!({ "premoderat": true }),
        json!({ "max_links": "many" }),
        json!({ "banned": "*\n" }),
    ] {
        let r = app
            .call(Method::PUT, &path, Some(&modr.token), Some(bad))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    }
    let r = app
        .call(Method::PUT, &path, Some(&modr.token), Some(json!({})))
        .await;
    assert_eq!(r.body["policy"]["premoderate"], false);
    app.comment(&sam, story, None, "Cooler now.").await;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/stories/999999/policy",
            Some(&modr.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn reports_past_the_threshold_enter_the_reported_queue_until_decided(app: TestApp) {
    let (story, sam) = setup(&app).await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    set_policy(&app, json!({ "report_threshold": 2 })).await;
    let c = app.comment(&sam, story, None, "Contested claim.").await;
    let reported = || async {
        let q = app
            .get("/api/v1/moderation/queues/reported", Some(&modr.token))
            .await;
        assert_eq!(q.status, StatusCode::OK, "{}", q.body);
        q.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["comment"]["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    for (n, name) in ["Ann", "Ben"].into_iter().enumerate() {
        let who = app.reader(name).await;
        let r = app
            .post(
                &format!("/api/v1/comments/{c}/reports"),
                Some(&who.token),
                json!({ "reason": "misinformation" }),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        let expected: Vec<i64> = if n == 0 { vec![] } else { vec![c] };
        assert_eq!(reported().await, expected);
    }
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{c}/approve"),
            Some(&modr.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(reported().await.is_empty());
    assert!(public_ids(&app, story).await.contains(&c));
}
