//! A reader's own data over HTTP: the download holds exactly theirs; deleting the
//! account signs them out everywhere, leaves the thread's shape with no trace of their
//! name, and keeps the moderators' audit log without their name or email.

use parley_core::Role;
use parley_store::NewUser;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Account, TestApp};

crate::on_both_backends!(
    the_download_holds_exactly_the_readers_data,
    deleting_an_account_signs_out_everywhere_and_keeps_the_thread,
    a_wrong_password_deletes_nothing,
    with_the_remove_policy_unanswered_comments_are_gone,
    an_account_without_a_password_confirms_with_a_word,
    the_account_page_offers_the_download_and_deletes_with_a_form,
    live_readers_hear_that_the_story_changed,
);

const PASSWORD: &str = "a good password";

/// A story with Alice's comments: one Bob answered, one on its own; Bob's own comment,
/// which Alice reacted to and reported.
struct Scene {
    story: i64,
    slug: String,
    alice: Account,
    bob: Account,
    moderator: Account,
    answered: i64,
    bobs_reply: i64,
    lone: i64,
    bobs_own: i64,
}

async fn scene(app: &TestApp) -> Scene {
    let staff = app.member("Stella Staff", Role::Staff).await;
    let moderator = app.member("Mo Derator", Role::Moderator).await;
    let story = app.story(&staff, "the-bridge").await;
    let alice = app.reader("Alice Liddell").await;
    let bob = app.reader("Bob Builder").await;
    let answered = app
        .comment(&alice, story, None, "Alice thinks the bridge is lovely")
        .await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/comments/{answered}"),
            Some(&alice.token),
            Some(json!({"body": "Alice thinks the bridge is lovely (edited)"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bobs_reply = app
        .comment(&bob, story, Some(answered), "Bob disagrees with Alice")
        .await;
    let lone = app.comment(&alice, story, None, "Alice on her own").await;
    let bobs_own = app.comment(&bob, story, None, "Bob's own view").await;
    let r = app
        .post(
            &format!("/api/v1/comments/{bobs_own}/reactions"),
            Some(&alice.token),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/comments/{bobs_own}/reports"),
            Some(&alice.token),
            json!({"reason": "other", "note": "Alice finds this odd"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    Scene {
        story,
        slug: "the-bridge".into(),
        alice,
        bob,
        moderator,
        answered,
        bobs_reply,
        lone,
        bobs_own,
    }
}

async fn delete_me(app: &TestApp, token: &str, body: Value) -> crate::common::Reply {
    app.call(Method::DELETE, "/api/v1/me", Some(token), Some(body))
        .await
}

async fn the_download_holds_exactly_the_readers_data(app: TestApp) {
    let s = scene(&app).await;
    let res = app
        .http
        .get(app.url("/api/v1/me/export"))
        .bearer_auth(&s.alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".json"),
        "{disposition}"
    );
    let text = res.text().await.unwrap();
    let data: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(data["format"], "parley-account-data");
    assert_eq!(data["profile"]["id"], s.alice.id);
    assert_eq!(data["profile"]["email"], "alice.liddell@readers.example");
    assert_eq!(data["email_verified_at"], Value::Null, "never confirmed");
    assert_eq!(data["notifications"]["reply"], "immediate");
    assert_eq!(data["newsroom_id"], Value::Null);
    let ids: Vec<i64> = data["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![s.answered, s.lone]);
    let revisions = data["comments"][0]["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2, "the first text and the edit");
    assert_eq!(
        revisions[0]["body_src"],
        "Alice thinks the bridge is lovely"
    );
    assert_eq!(data["reactions"].as_array().unwrap().len(), 1);
    assert_eq!(data["reactions"][0]["comment_id"], s.bobs_own);
    assert_eq!(data["reports"][0]["note"], "Alice finds this odd");
    for other in [
        "Bob disagrees",
        "Bob's own view",
        "bob.builder@",
        "Mo Derator",
    ] {
        assert!(!text.contains(other), "{other} is not Alice's data");
    }
    let r = app.get("/api/v1/me/export", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn story_html(app: &TestApp, slug: &str) -> String {
    app.http
        .get(app.url(&format!("/stories/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn sign_in(app: &TestApp, email: &str) -> crate::common::Reply {
    app.post(
        "/api/v1/sessions",
        None,
        json!({"email": email, "password": PASSWORD, "session": "token"}),
    )
    .await
}

async fn deleting_an_account_signs_out_everywhere_and_keeps_the_thread(app: TestApp) {
    let s = scene(&app).await;
    let email = "alice.liddell@readers.example";
    let second = sign_in(&app, email).await;
    let second_token = second.body["token"].as_str().unwrap().to_owned();
    // A moderator's decision whose note names her.
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{}/reject", s.lone),
            Some(&s.moderator.token),
            json!({"reason_code": "off_topic", "note": "Alice Liddell, stay on topic"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The page is rendered (and cached) with her name before she leaves.
    let before = story_html(&app, &s.slug).await;
    assert!(before.contains("Alice Liddell"));
    let r = delete_me(&app, &s.alice.token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    for token in [&s.alice.token, &second_token] {
        assert_eq!(
            app.get("/api/v1/me", Some(token)).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(sign_in(&app, email).await.status, StatusCode::UNAUTHORIZED);
    // The thread keeps its shape: her answered comment is a nameless tombstone.
    let page = app
        .get(
            &format!("/api/v1/stories/{}/comments?sort=oldest", s.story),
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let text = page.body.to_string();
    assert!(
        !text.contains("Alice Liddell") && !text.contains("alice.liddell"),
        "{text}"
    );
    let comments = page.body["comments"].as_array().unwrap();
    let top_ids: Vec<i64> = comments.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(
        top_ids,
        vec![s.answered, s.bobs_own],
        "the lone one left the page"
    );
    assert_eq!(comments[0]["status"], "deleted");
    assert_eq!(comments[0]["author"], Value::Null);
    assert_eq!(comments[0]["body"], "");
    assert_eq!(comments[0]["replies"][0]["id"], s.bobs_reply);
    let story = app.get(&format!("/api/v1/stories/{}", s.story), None).await;
    assert_eq!(story.body["story"]["comment_count"], 2, "Bob's two");
    let bobs = app
        .get(&format!("/api/v1/comments/{}", s.bobs_own), None)
        .await;
    assert_eq!(
        bobs.body["comment"]["reaction_count"], 0,
        "her reaction went"
    );
    // The story page shows no trace of her.
    let html = story_html(&app, &s.slug).await;
    assert!(
        html.contains("Bob disagrees with Alice"),
        "others' words stay"
    );
    assert!(!html.contains("Alice Liddell") && !html.contains("alice.liddell"));
    // The audit log keeps the decision on her comment, without her name or email.
    let log = app
        .get("/api/v1/moderation/audit", Some(&s.moderator.token))
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let entries = log.body["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "reject" && e["target_id"] == s.lone),
        "{}",
        log.body
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "delete_account" && e["target_id"] == s.alice.id)
    );
    let log_text = log.body.to_string();
    assert!(
        !log_text.contains("Alice") && !log_text.contains("alice.liddell"),
        "{log_text}"
    );
    // Bob is untouched.
    assert_eq!(
        app.get("/api/v1/me", Some(&s.bob.token)).await.status,
        StatusCode::OK
    );
}

async fn a_wrong_password_deletes_nothing(app: TestApp) {
    let s = scene(&app).await;
    let r = delete_me(&app, &s.alice.token, json!({"password": "not my password"})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.code(), "wrong_password");
    let r = delete_me(&app, &s.alice.token, json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = delete_me(
        &app,
        &s.alice.token,
        json!({"password": PASSWORD, "everything": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        app.get("/api/v1/me", Some(&s.alice.token)).await.status,
        StatusCode::OK
    );
    let c = app.get(&format!("/api/v1/comments/{}", s.lone), None).await;
    assert_eq!(
        c.body["comment"]["author"]["name"], "Alice Liddell",
        "{}",
        c.body
    );
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/me",
            None,
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn with_the_remove_policy_unanswered_comments_are_gone(app: TestApp) {
    app.store
        .set_site_settings(
            app.site_id,
            json!({"policy": {"on_account_delete": "remove"}}).to_string(),
        )
        .await
        .unwrap();
    let s = scene(&app).await;
    let r = delete_me(&app, &s.alice.token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    assert_eq!(
        app.get(&format!("/api/v1/comments/{}", s.lone), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(app.store.comment_by_id(s.lone).await.unwrap().is_none());
    // Bob answered this one: it stays, as a tombstone.
    let kept = app.store.comment_by_id(s.answered).await.unwrap().unwrap();
    assert_eq!(kept.status, parley_core::thread::CommentStatus::Deleted);
    assert_eq!(kept.reply_count, 1);
}

async fn an_account_without_a_password_confirms_with_a_word(app: TestApp) {
    let guest = app
        .store
        .create_user(NewUser {
            site_id: app.site_id,
            email: "guest@old.example".into(),
            display_name: "Old Guest".into(),
            password_hash: None,
            role: Role::Reader,
            now: 1,
        })
        .await
        .unwrap();
    let token = "a-token-for-the-guest-account-0123456789abcdef";
    app.store
        .create_session(
            &parley_web::auth::token_hash(token),
            guest.id,
            1,
            parley_web::now_ms() + 3_600_000,
        )
        .await
        .unwrap();
    let r = delete_me(&app, token, json!({"password": ""})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"]["field"], "confirm");
    let r = delete_me(&app, token, json!({"confirm": "delete"})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let row = app.store.user_by_id(guest.id).await.unwrap().unwrap();
    assert!(!row.email.contains("guest@"));
}

// ---- the account page, as a browser without JavaScript uses it ----

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn form(
    c: &Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    ours: bool,
) -> (StatusCode, String, String) {
    let mut req = c.post(app.url(path)).form(fields);
    if ours {
        req = req.header("origin", &app.base);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, res.text().await.unwrap())
}

async fn the_account_page_offers_the_download_and_deletes_with_a_form(app: TestApp) {
    let c = browser();
    let (status, _, body) = form(
        &c,
        &app,
        "/register",
        &[
            ("email", "page.reader@pages.example"),
            ("display_name", "Page Reader"),
            ("password", PASSWORD),
            ("next", "/account"),
        ],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let page = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("href=\"/api/v1/me/export\""), "{html}");
    assert!(html.contains("action=\"/account/delete\""));
    assert!(html.contains("page.reader@pages.example"));
    let download = c.get(app.url("/api/v1/me/export")).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );

    // From another site: refused, nothing deleted.
    let (status, _, _) = form(
        &c,
        &app,
        "/account/delete",
        &[("password", PASSWORD)],
        false,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A wrong password: the page again with the reason.
    let (status, _, body) = form(
        &c,
        &app,
        "/account/delete",
        &[("password", "nope nope nope")],
        true,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("not your password"), "{body}");
    assert_eq!(
        c.get(app.url("/account")).send().await.unwrap().status(),
        StatusCode::OK
    );

    let (status, location, _) =
        form(&c, &app, "/account/delete", &[("password", PASSWORD)], true).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location, "/account/deleted");
    let done = c.get(app.url("/account/deleted")).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("account is deleted"));
    // Signed out: the account page sends to sign in.
    let again = c.get(app.url("/account")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/signin")
    );
}

async fn live_readers_hear_that_the_story_changed(app: TestApp) {
    use futures::StreamExt;
    let s = scene(&app).await;
    let res = app
        .http
        .get(app.url(&format!("/api/v1/stories/{}/events", s.story)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let r = delete_me(&app, &s.alice.token, json!({"password": PASSWORD})).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let mut stream = res.bytes_stream();
    let mut seen = String::new();
    // The bound only keeps a broken server from hanging the suite.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("event: story_changed") && !seen.contains("event:story_changed") {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(bytes))) => seen.push_str(&String::from_utf8_lossy(&bytes)),
            _ => break,
        }
    }
    assert!(seen.contains("story_changed"), "{seen}");
}
