//! The moderators' HTML pages: who may see them, what a queue item shows, every form
//! action with its audit entry, bulk decisions, closing and reopening a story, the
//! audit log page and the live queue's item fragments. On both backends.

use parley_core::Role;
use parley_core::UserStatus;
use parley_core::thread::CommentStatus;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::{Account, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_pages_are_for_moderators_only,
    a_queue_item_shows_the_comment_in_context,
    filters_narrow_the_queue_without_javascript,
    approve_and_reject_forms_decide_and_audit,
    feature_and_unfeature_forms_change_the_selected_block,
    account_forms_change_standing_and_audit,
    close_and_reopen_forms_change_the_story_and_audit,
    bulk_forms_decide_every_ticked_comment,
    forms_from_elsewhere_or_with_bad_input_change_nothing,
    the_audit_page_filters_by_action_target_and_actor,
    item_fragments_say_whether_a_comment_is_in_a_queue,
    the_moderation_event_stream_is_for_moderators,
);

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn read(res: reqwest::Response) -> Page {
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = res.text().await.unwrap();
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    Page {
        status,
        location,
        body,
    }
}

async fn get(app: &TestApp, who: Option<&Account>, path: &str) -> Page {
    let mut req = client().get(app.url(path));
    if let Some(a) = who {
        req = req.bearer_auth(&a.token);
    }
    read(req.send().await.unwrap()).await
}

/// A form post as our own pages send it (with our Origin).
async fn post(app: &TestApp, who: &Account, path: &str, fields: &[(&str, &str)]) -> Page {
    read(
        client()
            .post(app.url(path))
            .bearer_auth(&who.token)
            .header("origin", &app.base)
            .form(fields)
            .send()
            .await
            .unwrap(),
    )
    .await
}

struct World {
    story: i64,
    sam: Account,
    modr: Account,
}

async fn set_policy(app: &TestApp, policy: serde_json::Value) {
    app.store
        .set_site_settings(app.site_id, json!({ "policy": policy }).to_string())
        .await
        .unwrap();
}

async fn world(app: &TestApp) -> World {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "heated").await;
    let sam = app.reader("Sam Reader").await;
    let modr = app.member("Mo Derator", Role::Moderator).await;
    World { story, sam, modr }
}

/// Posts a comment that the policy holds; returns its id.
async fn held(app: &TestApp, who: &Account, story: i64, parent: Option<i64>, body: &str) -> i64 {
    let r = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&who.token),
            json!({ "body": body, "parent_id": parent }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["comment"]["status"], "pending", "{}", r.body);
    r.body["comment"]["id"].as_i64().unwrap()
}

async fn status_of(app: &TestApp, id: i64) -> CommentStatus {
    app.store.comment_by_id(id).await.unwrap().unwrap().status
}

async fn actions_on(app: &TestApp, kind: &str, id: i64) -> Vec<String> {
    app.store
        .audit_for(kind, id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

async fn the_pages_are_for_moderators_only(app: TestApp) {
    let w = world(&app).await;
    let admin = app.member("Ada Admin", Role::Admin).await;
    let staff = app.member("Stef Staff", Role::Staff).await;
    for path in [
        "/moderate",
        "/moderate/pending",
        "/moderate/reported",
        "/moderate/rejected",
        "/moderate/approved",
        "/moderate/featured",
        "/moderate/audit",
    ] {
        let out = get(&app, None, path).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{path}");
        assert!(out.location.starts_with("/signin?next="), "{path}");
        for refused in [&w.sam, &staff] {
            let r = get(&app, Some(refused), path).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
            assert!(r.body.contains("Not allowed"), "{}", r.body);
        }
        for allowed in [&w.modr, &admin] {
            let r = get(&app, Some(allowed), path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
            assert!(r.body.contains("Moderation"), "{path}");
        }
    }
    assert_eq!(
        get(&app, Some(&w.modr), "/moderate/nonsense").await.status,
        StatusCode::NOT_FOUND
    );
    // The page's own script and styles are served.
    let page = get(&app, Some(&w.modr), "/moderate").await;
    assert!(page.body.contains("/assets/moderation.js?v="));
    assert!(page.body.contains("Keyboard shortcuts"));
    for asset in ["/assets/moderation.js", "/assets/moderation.css"] {
        let r = client().get(app.url(asset)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{asset}");
    }
    // Readers' forms are refused too, and change nothing.
    let c = held_after_premoderation(&app, &w).await;
    let r = post(
        &app,
        &w.sam,
        &format!("/moderate/comments/{c}/approve"),
        &[("back", "/moderate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, c).await, CommentStatus::Pending);
}

async fn held_after_premoderation(app: &TestApp, w: &World) -> i64 {
    set_policy(app, json!({ "premoderate": true })).await;
    held(app, &w.sam, w.story, None, "Hold me for review.").await
}

async fn a_queue_item_shows_the_comment_in_context(app: TestApp) {
    let w = world(&app).await;
    let tia = app.reader("Tia Parent").await;
    let parent = app
        .comment(&tia, w.story, None, "The parent comment says this.")
        .await;
    app.comment(&w.sam, w.story, None, "An earlier published one.")
        .await;
    set_policy(&app, json!({ "suspect": "crypto\n" })).await;
    let c = held(
        &app,
        &w.sam,
        w.story,
        Some(parent),
        "Buy crypto now, friends.",
    )
    .await;
    let page = get(&app, Some(&w.modr), "/moderate/pending").await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(b.contains(&format!("id=\"item-{c}\"")), "{b}");
    assert!(b.contains("Headline of heated"), "the story headline");
    assert!(b.contains("/stories/heated#c"), "a link to the story");
    assert!(b.contains("In reply to Tia Parent"), "the parent's author");
    assert!(b.contains("The parent comment says this."), "the parent");
    assert!(b.contains("Sam Reader"), "the author");
    assert!(
        b.contains("1 published, 0 rejected, 1 pending"),
        "the author's record: {b}"
    );
    assert!(b.contains("Held because"), "the hold reasons");
    assert!(b.contains("crypto"), "the suspect word");
    assert!(b.contains("Past moderation"), "the author's history");
    // Reports show in the Reported queue with their reasons and notes.
    set_policy(&app, json!({ "report_threshold": 1 })).await;
    let r = app
        .post(
            &format!("/api/v1/comments/{parent}/reports"),
            Some(&w.sam.token),
            json!({ "reason": "misinformation", "note": "Check the figures." }),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let page = get(&app, Some(&w.modr), "/moderate/reported").await;
    assert!(page.body.contains(&format!("id=\"item-{parent}\"")));
    assert!(page.body.contains("Reports: 1 open of 1"), "{}", page.body);
    assert!(page.body.contains("False or misleading information"));
    assert!(page.body.contains("Check the figures."));
    // The JSON queue carries the same context.
    let q = app
        .get("/api/v1/moderation/queues/pending", Some(&w.modr.token))
        .await;
    let item = &q.body["items"][0];
    assert_eq!(item["comment"]["id"], c);
    assert_eq!(item["story"]["headline"], "Headline of heated");
    assert_eq!(item["parent"]["id"], parent);
    assert_eq!(item["parent"]["author_name"], "Tia Parent");
    assert_eq!(item["author"]["published"], 1);
    assert_eq!(item["author"]["pending"], 1);
    assert_eq!(item["author"]["status"], "active");
    assert_eq!(item["author"]["history"][0]["action"], "hold");
    let q = app
        .get("/api/v1/moderation/queues/reported", Some(&w.modr.token))
        .await;
    assert_eq!(q.body["items"][0]["open_reports"], 1);
    assert_eq!(
        q.body["items"][0]["reports"][0]["note"],
        "Check the figures."
    );
}

async fn filters_narrow_the_queue_without_javascript(app: TestApp) {
    let w = world(&app).await;
    let staff = app.member("Other Staff", Role::Staff).await;
    let calm = app.story(&staff, "calm").await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let a = held(&app, &w.sam, w.story, None, "Apples on the heated story").await;
    let b = held(&app, &w.sam, calm, None, "Bananas on the calm story").await;
    let tia = app.reader("Tia Other").await;
    let t = held(&app, &tia, calm, None, "Cherries by Tia").await;
    let has = |body: &str, id: i64| body.contains(&format!("id=\"item-{id}\""));
    let all = get(&app, Some(&w.modr), "/moderate/pending").await.body;
    assert!(has(&all, a) && has(&all, b) && has(&all, t));
    let one = get(
        &app,
        Some(&w.modr),
        &format!("/moderate/pending?story={calm}"),
    )
    .await
    .body;
    assert!(!has(&one, a) && has(&one, b) && has(&one, t));
    // The filtered story gets its close / reopen form.
    assert!(one.contains(&format!("/moderate/stories/{calm}/close")));
    let text = get(&app, Some(&w.modr), "/moderate/pending?q=BANANA")
        .await
        .body;
    assert!(!has(&text, a) && has(&text, b) && !has(&text, t));
    let author = get(&app, Some(&w.modr), "/moderate/pending?q=tia+other")
        .await
        .body;
    assert!(!has(&author, a) && !has(&author, b) && has(&author, t));
    let blank = get(&app, Some(&w.modr), "/moderate/pending?story=&q=")
        .await
        .body;
    assert!(has(&blank, a) && has(&blank, b));
    let none = get(&app, Some(&w.modr), "/moderate/approved").await.body;
    assert!(none.contains("Nothing in this queue."));
    // A cut-off queue offers the rest (newest first), up to the largest page.
    let two = get(&app, Some(&w.modr), "/moderate/pending?limit=2")
        .await
        .body;
    assert!(has(&two, t) && has(&two, b) && !has(&two, a));
    assert!(two.contains("/moderate/pending?limit=100"), "{two}");
    let one = get(&app, Some(&w.modr), "/moderate/pending?limit=0")
        .await
        .body;
    assert!(has(&one, t) && !has(&one, b));
    assert!(!all.contains("Show more of this queue"));
}

async fn approve_and_reject_forms_decide_and_audit(app: TestApp) {
    let w = world(&app).await;
    let c = held_after_premoderation(&app, &w).await;
    let d = held(&app, &w.sam, w.story, None, "Another one to reject.").await;
    let back = format!("/moderate/pending?story={}", w.story);
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/approve"),
        &[("back", &back)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        r.location,
        format!("/moderate/pending?story={}&notice=approved", w.story)
    );
    assert_eq!(status_of(&app, c).await, CommentStatus::Published);
    assert_eq!(actions_on(&app, "comment", c).await, ["hold", "approve"]);
    let shown = get(&app, Some(&w.modr), &r.location).await;
    assert!(shown.body.contains("The comment was approved."));
    assert!(!shown.body.contains(&format!("id=\"item-{c}\"")));
    // On the story page for readers now.
    let story = get(&app, None, "/stories/heated").await;
    assert!(story.body.contains("Hold me for review."));

    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{d}/reject"),
        &[
            ("back", "/moderate/pending"),
            ("reason_code", "off_topic"),
            ("note", "Stay on the story, please."),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(&app, d).await, CommentStatus::Rejected);
    let audit = app.store.audit_for("comment", d).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.action, "reject");
    assert_eq!(last.reason, "off_topic: Stay on the story, please.");
    assert_eq!(last.actor_id, Some(w.modr.id));
    let rejected = get(&app, Some(&w.modr), "/moderate/rejected").await;
    assert!(rejected.body.contains(&format!("id=\"item-{d}\"")));
    // A published comment can be rejected from the Approved queue, and leaves the page.
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/reject"),
        &[("back", "/moderate/approved"), ("reason_code", "abuse")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let story = get(&app, None, "/stories/heated").await;
    assert!(!story.body.contains("Hold me for review."));
}

async fn feature_and_unfeature_forms_change_the_selected_block(app: TestApp) {
    let w = world(&app).await;
    let c = app
        .comment(&w.sam, w.story, None, "A comment worth selecting.")
        .await;
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/feature"),
        &[("back", "/moderate/approved")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(app.store.comment_by_id(c).await.unwrap().unwrap().featured);
    assert!(
        actions_on(&app, "comment", c)
            .await
            .contains(&"feature".to_owned())
    );
    let featured = get(&app, Some(&w.modr), "/moderate/featured").await;
    assert!(featured.body.contains(&format!("id=\"item-{c}\"")));
    assert!(featured.body.contains("Unfeature"));
    let api = app
        .get(&format!("/api/v1/stories/{}/featured", w.story), None)
        .await;
    assert!(api.body.to_string().contains("A comment worth selecting."));
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/unfeature"),
        &[("back", "/moderate/featured")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!app.store.comment_by_id(c).await.unwrap().unwrap().featured);
    let featured = get(&app, Some(&w.modr), "/moderate/featured").await;
    assert!(!featured.body.contains(&format!("id=\"item-{c}\"")));
    // A held comment cannot be featured.
    let h = held_after_premoderation(&app, &w).await;
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{h}/feature"),
        &[("back", "/moderate/pending")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!app.store.comment_by_id(h).await.unwrap().unwrap().featured);
}

async fn account_forms_change_standing_and_audit(app: TestApp) {
    let w = world(&app).await;
    held_after_premoderation(&app, &w).await;
    let page = get(&app, Some(&w.modr), "/moderate/pending").await;
    assert!(
        page.body
            .contains(&format!("/moderate/users/{}/ban", w.sam.id))
    );
    let user = |path: &'static str| format!("/moderate/users/{}/{path}", w.sam.id);
    let back = [("back", "/moderate/pending")];
    let r = post(&app, &w.modr, &user("ban"), &back).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let standing = || async {
        app.store
            .user_by_id(w.sam.id)
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(standing().await, UserStatus::Banned);
    let r = post(
        &app,
        &w.modr,
        &user("suspend"),
        &[("back", "/moderate/pending"), ("days", "3")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(matches!(standing().await, UserStatus::Suspended { .. }));
    let shown = get(&app, Some(&w.modr), "/moderate/pending").await;
    assert!(shown.body.contains("(suspended until"), "{}", shown.body);
    post(&app, &w.modr, &user("premoderate"), &back).await;
    assert_eq!(standing().await, UserStatus::PreModerated);
    post(&app, &w.modr, &user("lift"), &back).await;
    assert_eq!(standing().await, UserStatus::Active);
    assert_eq!(
        actions_on(&app, "user", w.sam.id).await,
        ["ban", "suspend", "premoderate", "lift"]
    );
    // A bad number of days changes nothing.
    let r = post(
        &app,
        &w.modr,
        &user("suspend"),
        &[("back", "/moderate/pending"), ("days", "many")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(standing().await, UserStatus::Active);
    // Nobody acts on an account of their own rank or higher; the page offers no form.
    let admin = app.member("Ada Admin", Role::Admin).await;
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/users/{}/ban", admin.id),
        &back,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn close_and_reopen_forms_change_the_story_and_audit(app: TestApp) {
    let w = world(&app).await;
    let back = format!("/moderate/pending?story={}", w.story);
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/stories/{}/close", w.story),
        &[
            ("back", &back),
            ("message", "Comments closed after the verdict."),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let story = app.store.story_by_id(w.story).await.unwrap().unwrap();
    assert!(story.fields.is_closed);
    assert_eq!(
        story.fields.closed_message.as_deref(),
        Some("Comments closed after the verdict.")
    );
    let page = get(&app, None, "/stories/heated").await;
    assert!(page.body.contains("Comments closed after the verdict."));
    let r = app
        .post(
            &format!("/api/v1/stories/{}/comments", w.story),
            Some(&w.sam.token),
            json!({ "body": "Too late?" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let shown = get(&app, Some(&w.modr), &back).await;
    assert!(shown.body.contains("Reopen the story"));
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/stories/{}/reopen", w.story),
        &[("back", &back)],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let story = app.store.story_by_id(w.story).await.unwrap().unwrap();
    assert!(!story.fields.is_closed);
    assert_eq!(story.fields.closed_message, None);
    app.comment(&w.sam, w.story, None, "Open again.").await;
    assert_eq!(
        actions_on(&app, "story", w.story).await,
        ["close", "reopen"]
    );
    let audit = app.store.audit_for("story", w.story).await.unwrap();
    assert_eq!(audit[0].reason, "Comments closed after the verdict.");
    assert_eq!(audit[0].actor_id, Some(w.modr.id));
    // The JSON API does the same.
    let r = app
        .post(
            &format!("/api/v1/moderation/stories/{}/close", w.story),
            Some(&w.modr.token),
            json!({ "message": "Closed by API." }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["story"]["is_closed"], true);
    assert_eq!(r.body["story"]["closed_message"], "Closed by API.");
    let r = app
        .post(
            &format!("/api/v1/moderation/stories/{}/reopen", w.story),
            Some(&w.modr.token),
            json!({}),
        )
        .await;
    assert_eq!(r.body["story"]["is_closed"], false);
}

async fn bulk_forms_decide_every_ticked_comment(app: TestApp) {
    let w = world(&app).await;
    set_policy(&app, json!({ "premoderate": true })).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(held(&app, &w.sam, w.story, None, &format!("Bulk comment {n}")).await);
    }
    let (a, b, c) = (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
    let r = post(
        &app,
        &w.modr,
        "/moderate/bulk",
        &[
            ("back", "/moderate/pending"),
            ("action", "approve"),
            ("reason_code", "spam"),
            ("ids", &a),
            ("ids", &b),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location, "/moderate/pending?notice=bulk&n=2");
    assert_eq!(status_of(&app, ids[0]).await, CommentStatus::Published);
    assert_eq!(status_of(&app, ids[1]).await, CommentStatus::Published);
    assert_eq!(status_of(&app, ids[2]).await, CommentStatus::Pending);
    let shown = get(&app, Some(&w.modr), &r.location).await;
    assert!(shown.body.contains("2 comments were done."));
    let r = post(
        &app,
        &w.modr,
        "/moderate/bulk",
        &[
            ("back", "/moderate/pending"),
            ("action", "reject"),
            ("reason_code", "spam"),
            ("ids", &c),
            ("ids", &a),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(status_of(&app, ids[2]).await, CommentStatus::Rejected);
    assert_eq!(status_of(&app, ids[0]).await, CommentStatus::Rejected);
    assert_eq!(
        actions_on(&app, "comment", ids[0]).await,
        ["hold", "approve", "reject"]
    );
    // Nothing ticked, or no action: nothing happens.
    let r = post(
        &app,
        &w.modr,
        "/moderate/bulk",
        &[("back", "/moderate/pending"), ("action", "approve")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(
        &app,
        &w.modr,
        "/moderate/bulk",
        &[("back", "/moderate/pending"), ("ids", &b)],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&app, ids[1]).await, CommentStatus::Published);
    // The JSON API's bulk endpoint.
    let r = app
        .post(
            "/api/v1/moderation/bulk",
            Some(&w.modr.token),
            json!({ "ids": [ids[1], 999_999], "action": "reject", "reason_code": "abuse" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["results"][0]["ok"], true);
    assert_eq!(r.body["results"][1]["ok"], false);
    assert_eq!(status_of(&app, ids[1]).await, CommentStatus::Rejected);
}

async fn forms_from_elsewhere_or_with_bad_input_change_nothing(app: TestApp) {
    let w = world(&app).await;
    let c = held_after_premoderation(&app, &w).await;
    let r = read(
        client()
            .post(app.url(&format!("/moderate/comments/{c}/approve")))
            .bearer_auth(&w.modr.token)
            .header("origin", "https://evil.example")
            .form(&[("back", "/moderate")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, c).await, CommentStatus::Pending);
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/reject"),
        &[("back", "/moderate"), ("reason_code", "because")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Back to the queue"));
    assert_eq!(status_of(&app, c).await, CommentStatus::Pending);
    // "back" never leads off the site.
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/approve"),
        &[("back", "https://evil.example/")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.starts_with("/moderate?"), "{}", r.location);
    let r = post(
        &app,
        &w.modr,
        "/moderate/comments/999999/approve",
        &[("back", "/moderate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/explode"),
        &[("back", "/moderate")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn the_audit_page_filters_by_action_target_and_actor(app: TestApp) {
    let w = world(&app).await;
    let c = held_after_premoderation(&app, &w).await;
    post(
        &app,
        &w.modr,
        &format!("/moderate/comments/{c}/approve"),
        &[("back", "/moderate")],
    )
    .await;
    post(
        &app,
        &w.modr,
        &format!("/moderate/users/{}/ban", w.sam.id),
        &[("back", "/moderate")],
    )
    .await;
    let all = get(&app, Some(&w.modr), "/moderate/audit").await;
    assert_eq!(all.status, StatusCode::OK);
    for word in ["hold", "approve", "ban", "Mo Derator", "rule: site_policy"] {
        assert!(all.body.contains(word), "{word}: {}", all.body);
    }
    let rows = |body: &str| body.matches("<tr><td>").count();
    assert_eq!(rows(&all.body), 3);
    let bans = get(&app, Some(&w.modr), "/moderate/audit?action=ban").await;
    assert_eq!(rows(&bans.body), 1);
    let on_comment = get(
        &app,
        Some(&w.modr),
        &format!("/moderate/audit?target_kind=comment&target_id={c}"),
    )
    .await;
    assert_eq!(rows(&on_comment.body), 2);
    let by_rule = get(&app, Some(&w.modr), "/moderate/audit?actor=site_policy").await;
    assert_eq!(rows(&by_rule.body), 1);
    let by_name = get(&app, Some(&w.modr), "/moderate/audit?actor=mo+derator").await;
    assert_eq!(rows(&by_name.body), 2);
    let bad = get(&app, Some(&w.modr), "/moderate/audit?target_id=abc").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    // The JSON audit log filters the same way.
    let api = app
        .get(
            "/api/v1/moderation/audit?action=ban&actor=Mo%20Derator",
            Some(&w.modr.token),
        )
        .await;
    assert_eq!(api.body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(api.body["entries"][0]["actor_name"], "Mo Derator");
}

async fn item_fragments_say_whether_a_comment_is_in_a_queue(app: TestApp) {
    let w = world(&app).await;
    let c = held_after_premoderation(&app, &w).await;
    let path = |queue: &str| format!("/moderate/{queue}/items/{c}");
    let r = get(&app, Some(&w.modr), &path("pending")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.starts_with("<li class=\"mod-item\""), "{}", r.body);
    assert!(!r.body.contains("<html"));
    assert_eq!(
        get(&app, Some(&w.modr), &path("approved")).await.status,
        StatusCode::NO_CONTENT
    );
    let other_story = format!("/moderate/pending/items/{c}?story=999999");
    assert_eq!(
        get(&app, Some(&w.modr), &other_story).await.status,
        StatusCode::NO_CONTENT
    );
    let other_text = format!("/moderate/pending/items/{c}?q=nothing+like+it");
    assert_eq!(
        get(&app, Some(&w.modr), &other_text).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, Some(&w.sam), &path("pending")).await.status,
        StatusCode::FORBIDDEN
    );
    app.post(
        &format!("/api/v1/moderation/comments/{c}/approve"),
        Some(&w.modr.token),
        json!({}),
    )
    .await;
    assert_eq!(
        get(&app, Some(&w.modr), &path("pending")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&app, Some(&w.modr), &path("approved")).await.status,
        StatusCode::OK
    );
    // A report past the threshold moves it into Reported; a decision takes it out.
    assert_eq!(
        get(&app, Some(&w.modr), &path("reported")).await.status,
        StatusCode::NO_CONTENT
    );
    set_policy(&app, json!({ "report_threshold": 1 })).await;
    let rita = app.reader("Rita Reporter").await;
    let r = app
        .post(
            &format!("/api/v1/comments/{c}/reports"),
            Some(&rita.token),
            json!({ "reason": "spam" }),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let reported = get(&app, Some(&w.modr), &path("reported")).await;
    assert_eq!(reported.status, StatusCode::OK);
    assert!(reported.body.contains("Reports: 1 open of 1"));
    app.post(
        &format!("/api/v1/moderation/comments/{c}/approve"),
        Some(&w.modr.token),
        json!({}),
    )
    .await;
    assert_eq!(
        get(&app, Some(&w.modr), &path("reported")).await.status,
        StatusCode::NO_CONTENT
    );
}

/// Reads SSE frames until one names `event`; returns its data.
async fn next_event(res: &mut reqwest::Response, event: &str, buf: &mut String) -> String {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if frame.lines().any(|l| l == format!("event: {event}")) {
                return frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap_or_default()
                    .to_owned();
            }
            continue;
        }
        let chunk = res.chunk().await.unwrap().expect("stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn the_moderation_event_stream_is_for_moderators(app: TestApp) {
    let w = world(&app).await;
    let url = app.url("/api/v1/moderation/events");
    let anon = client().get(&url).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
    let reader = client()
        .get(&url)
        .bearer_auth(&w.sam.token)
        .send()
        .await
        .unwrap();
    assert_eq!(reader.status(), StatusCode::FORBIDDEN);
    let mut stream = client()
        .get(&url)
        .bearer_auth(&w.modr.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let c = held_after_premoderation(&app, &w).await;
    let mut buf = String::new();
    let data = next_event(&mut stream, "held", &mut buf).await;
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["comment_id"], c);
    assert_eq!(v["story_id"], w.story);
    assert_eq!(v["status"], "pending");
    app.post(
        &format!("/api/v1/moderation/comments/{c}/approve"),
        Some(&w.modr.token),
        json!({}),
    )
    .await;
    let data = next_event(&mut stream, "approved", &mut buf).await;
    assert!(data.contains(&format!("\"comment_id\":{c}")), "{data}");
    let r = app
        .post(
            &format!("/api/v1/comments/{c}/reports"),
            Some(&app.reader("Rita Reporter").await.token),
            json!({ "reason": "spam" }),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let data = next_event(&mut stream, "reported", &mut buf).await;
    assert!(data.contains(&format!("\"comment_id\":{c}")), "{data}");
}
