//! The conversation: posting, threading, paging, editing, deleting, reacting,
//! reporting and featuring.

use std::collections::HashSet;
use std::time::Duration;

use parley_core::Role;
use parley_web::WebConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, run};
use crate::on_both_backends;

on_both_backends!(
    a_reply_nests_under_its_parent_with_reply_to_name,
    cursor_pages_return_every_comment_once_in_each_sort,
    more_replies_continue_where_the_page_stopped,
    a_comment_comes_with_its_ancestors,
    an_edit_keeps_the_previous_text_as_a_revision,
    only_the_author_edits_or_deletes,
    a_deleted_comment_keeps_its_place_without_text_or_author,
    replying_to_a_deleted_or_missing_comment_is_refused,
    replies_cannot_go_deeper_than_the_maximum,
    a_closed_story_takes_no_comments,
    reactions_count_once_per_reader,
    reports_need_a_known_reason_and_count_once,
    staff_feature_comments_into_the_selected_block,
    pages_carry_etags_and_change_after_a_write,
    the_viewer_part_lists_own_reactions,
    comment_markdown_is_rendered_and_sanitised,
);

fn comments_path(story: i64) -> String {
    format!("/api/v1/stories/{story}/comments")
}

async fn setup(app: &TestApp) -> (i64, crate::common::Account, crate::common::Account) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "thread").await;
    let a = app.reader("Sam").await;
    let b = app.reader("Tia").await;
    (story, a, b)
}

async fn a_reply_nests_under_its_parent_with_reply_to_name(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let top = app
        .comment(&sam, story, None, "The council got this wrong.")
        .await;
    let reply = app
        .comment(&tia, story, Some(top), "No, the numbers support it.")
        .await;
    let deeper = app
        .comment(&sam, story, Some(reply), "Which numbers?")
        .await;
    let page = app.get(&comments_path(story), None).await;
    assert_eq!(page.status, StatusCode::OK);
    let c = &page.body["comments"][0];
    assert_eq!(c["id"], top);
    assert_eq!(c["reply_count"], 1);
    assert_eq!(c["author"]["name"], "Sam");
    let r = &c["replies"][0];
    assert_eq!(
        (r["id"].as_i64(), r["depth"].as_i64()),
        (Some(reply), Some(1))
    );
    assert_eq!(r["in_reply_to"]["author_name"], "Sam");
    let d = &r["replies"][0];
    assert_eq!(d["id"], deeper);
    assert_eq!(d["in_reply_to"]["author_name"], "Tia");
    assert_eq!(d["root_id"], top);
    assert_eq!(page.body["comment_count"], 3);
}

async fn cursor_pages_return_every_comment_once_in_each_sort(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            app.comment(&sam, story, None, &format!("comment {i}"))
                .await,
        );
    }
    // Give some comments reactions and replies so the count sorts have ties and order.
    for (i, id) in ids.iter().enumerate().take(6) {
        app.post(
            &format!("/api/v1/comments/{id}/reactions"),
            Some(&tia.token),
            json!({}),
        )
        .await;
        for _ in 0..(i % 3) {
            app.comment(&tia, story, Some(*id), "a reply").await;
        }
    }
    for sort in ["newest", "oldest", "most_reactions", "most_replies"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut previous: Option<Value> = None;
        for _ in 0..10 {
            let mut path = format!("{}?sort={sort}&limit=7", comments_path(story));
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get(&path, None).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            for c in page.body["comments"].as_array().unwrap() {
                if let Some(p) = &previous {
                    let key = |v: &Value| match sort {
                        "most_reactions" => (
                            v["reaction_count"].as_i64().unwrap(),
                            v["id"].as_i64().unwrap(),
                        ),
                        "most_replies" => (
                            v["reply_count"].as_i64().unwrap(),
                            v["id"].as_i64().unwrap(),
                        ),
                        _ => (v["id"].as_i64().unwrap(), 0),
                    };
                    if sort == "oldest" {
                        assert!(key(p) < key(c), "{sort} order");
                    } else {
                        assert!(key(p) > key(c), "{sort} order");
                    }
                }
                previous = Some(c.clone());
                seen.push(c["id"].as_i64().unwrap());
            }
            cursor = page.body["next_cursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(seen.len(), 23, "{sort}: {seen:?}");
        assert_eq!(unique, ids.iter().copied().collect::<HashSet<_>>());
    }
    let wrong = app
        .get(
            &format!("{}?sort=oldest&cursor={}", comments_path(story), "bjox"),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
}

async fn more_replies_continue_where_the_page_stopped(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let top = app.comment(&sam, story, None, "Ask me anything").await;
    let mut replies = Vec::new();
    for i in 0..8 {
        let r = app
            .comment(&tia, story, Some(top), &format!("question {i}"))
            .await;
        replies.push(r);
        if i == 1 {
            replies.push(app.comment(&sam, story, Some(r), "an answer").await);
        }
    }
    let page = app.get(&comments_path(story), None).await;
    let c = &page.body["comments"][0];
    let shown: usize = c["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| 1 + r["replies"].as_array().unwrap().len())
        .sum();
    assert_eq!(shown, 5, "replies_per_comment defaults to 5");
    let cursor = c["more_replies"].as_str().expect("a more-replies cursor");
    let more = app
        .get(
            &format!("/api/v1/comments/{top}/replies?cursor={cursor}"),
            None,
        )
        .await;
    assert_eq!(more.status, StatusCode::OK, "{}", more.body);
    let rest: Vec<i64> = more.body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(rest, replies[5..].to_vec());
    assert!(more.body["next_cursor"].is_null());
    let all = app
        .get(&format!("/api/v1/comments/{top}/replies?limit=100"), None)
        .await;
    assert_eq!(all.body["replies"].as_array().unwrap().len(), replies.len());
}

async fn a_comment_comes_with_its_ancestors(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let a = app.comment(&sam, story, None, "a").await;
    let b = app.comment(&tia, story, Some(a), "b").await;
    let c = app.comment(&sam, story, Some(b), "c").await;
    let r = app.get(&format!("/api/v1/comments/{c}"), None).await;
    assert_eq!(r.body["comment"]["id"], c);
    let ancestors: Vec<i64> = r.body["ancestors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ancestors, vec![a, b]);
    assert_eq!(
        app.get("/api/v1/comments/12345", None).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn an_edit_keeps_the_previous_text_as_a_revision(app: TestApp) {
    let (story, sam, _) = setup(&app).await;
    let id = app.comment(&sam, story, None, "Teh first version").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/comments/{id}"),
            Some(&sam.token),
            Some(json!({"body": "The first version"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["comment"]["edited"], true);
    assert_eq!(r.body["comment"]["body"], "The first version");
    let revisions = app.store.revisions(id).await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0].body_src, "Teh first version");
    let page = app.get(&comments_path(story), None).await;
    assert_eq!(page.body["comments"][0]["edited"], true);
}

async fn only_the_author_edits_or_deletes(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let id = app.comment(&sam, story, None, "mine").await;
    let path = format!("/api/v1/comments/{id}");
    let edit = app
        .call(
            Method::PATCH,
            &path,
            Some(&tia.token),
            Some(json!({"body": "hijacked"})),
        )
        .await;
    assert_eq!(
        (edit.status, edit.code()),
        (StatusCode::FORBIDDEN, "not_author")
    );
    let delete = app
        .call(Method::DELETE, &path, Some(&tia.token), None)
        .await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let anonymous = app.call(Method::DELETE, &path, None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let still = app.get(&path, None).await;
    assert_eq!(still.body["comment"]["body"], "mine");
}

async fn a_deleted_comment_keeps_its_place_without_text_or_author(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let parent = app.comment(&sam, story, None, "I will regret this").await;
    let reply = app.comment(&tia, story, Some(parent), "You will").await;
    let leaf = app.comment(&sam, story, None, "gone without a trace").await;
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/comments/{parent}"),
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["comment"]["deleted"], true);
    app.call(
        Method::DELETE,
        &format!("/api/v1/comments/{leaf}"),
        Some(&sam.token),
        None,
    )
    .await;
    let page = app.get(&comments_path(story), None).await;
    let comments = page.body["comments"].as_array().unwrap();
    assert_eq!(
        comments.len(),
        1,
        "a leaf tombstone leaves; one with replies stays"
    );
    let tomb = &comments[0];
    assert_eq!(tomb["id"], parent);
    assert!(tomb["author"].is_null());
    assert_eq!(tomb["body"], "");
    assert_eq!(tomb["body_html"], "");
    assert_eq!(tomb["replies"][0]["id"], reply);
    assert!(tomb["replies"][0]["in_reply_to"]["author_name"].is_null());
    assert_eq!(page.body["comment_count"], 1);
    let again = app
        .call(
            Method::DELETE,
            &format!("/api/v1/comments/{parent}"),
            Some(&sam.token),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}

async fn replying_to_a_deleted_or_missing_comment_is_refused(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let gone = app.comment(&sam, story, None, "soon gone").await;
    app.call(
        Method::DELETE,
        &format!("/api/v1/comments/{gone}"),
        Some(&sam.token),
        None,
    )
    .await;
    let staff = app.member("Uma Staff", Role::Staff).await;
    let other_story = app.story(&staff, "other").await;
    let elsewhere = app.comment(&sam, other_story, None, "elsewhere").await;
    for (parent, status, code) in [
        (gone, StatusCode::CONFLICT, "parent_deleted"),
        (999_999, StatusCode::UNPROCESSABLE_ENTITY, "parent_missing"),
        (
            elsewhere,
            StatusCode::UNPROCESSABLE_ENTITY,
            "parent_missing",
        ),
    ] {
        let r = app
            .post(
                &comments_path(story),
                Some(&tia.token),
                json!({"body": "reply", "parent_id": parent}),
            )
            .await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }
    let page = app.get(&comments_path(story), None).await;
    assert_eq!(page.body["comment_count"], 0, "nothing was added");
}

async fn replies_cannot_go_deeper_than_the_maximum(app: TestApp) {
    let (story, sam, _) = setup(&app).await;
    let mut parent = app.comment(&sam, story, None, "level 0").await;
    for level in 1..=6 {
        parent = app
            .comment(&sam, story, Some(parent), &format!("level {level}"))
            .await;
    }
    let r = app
        .post(
            &comments_path(story),
            Some(&sam.token),
            json!({"body": "level 7", "parent_id": parent}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "too_deep")
    );
}

async fn a_closed_story_takes_no_comments(app: TestApp) {
    let staff = app.member("Vic Staff", Role::Staff).await;
    let story = app.story(&staff, "closing").await;
    let sam = app.reader("Sam").await;
    let early = app.comment(&sam, story, None, "early").await;
    app.call(
        Method::PATCH,
        &format!("/api/v1/stories/{story}"),
        Some(&staff.token),
        Some(json!({"is_closed": true, "closed_message": "The conversation has ended."})),
    )
    .await;
    let r = app
        .post(
            &comments_path(story),
            Some(&sam.token),
            json!({"body": "late"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "story_closed"));
    assert_eq!(r.body["error"]["message"], "The conversation has ended.");
    let reply = app
        .post(
            &comments_path(story),
            Some(&sam.token),
            json!({"body": "late", "parent_id": early}),
        )
        .await;
    assert_eq!(reply.code(), "story_closed");
    let page = app.get(&comments_path(story), None).await;
    assert_eq!(page.body["is_closed"], true);
    assert_eq!(page.body["comments"].as_array().unwrap().len(), 1);
}

async fn reactions_count_once_per_reader(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let id = app.comment(&sam, story, None, "react to me").await;
    let path = format!("/api/v1/comments/{id}/reactions");
    let r = app.post(&path, Some(&tia.token), json!({})).await;
    assert_eq!(
        (r.status, r.body["reaction_count"].as_i64()),
        (StatusCode::CREATED, Some(1))
    );
    let twice = app.post(&path, Some(&tia.token), json!({})).await;
    assert_eq!(
        (twice.status, twice.code()),
        (StatusCode::CONFLICT, "already_reacted")
    );
    let own = app.post(&path, Some(&sam.token), json!({})).await;
    assert_eq!(
        (own.status, own.code()),
        (StatusCode::CONFLICT, "own_comment")
    );
    let anonymous = app.post(&path, None, json!({})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let page = app.get(&comments_path(story), None).await;
    assert_eq!(page.body["comments"][0]["reaction_count"], 1);
    let undo = app
        .call(Method::DELETE, &path, Some(&tia.token), None)
        .await;
    assert_eq!(
        (undo.status, undo.body["reaction_count"].as_i64()),
        (StatusCode::OK, Some(0))
    );
    let undo_again = app
        .call(Method::DELETE, &path, Some(&tia.token), None)
        .await;
    assert_eq!(undo_again.status, StatusCode::NOT_FOUND);
    let missing = app
        .post(
            "/api/v1/comments/424242/reactions",
            Some(&tia.token),
            json!({}),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

async fn reports_need_a_known_reason_and_count_once(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let id = app.comment(&sam, story, None, "questionable").await;
    let path = format!("/api/v1/comments/{id}/reports");
    let bad = app
        .post(&path, Some(&tia.token), json!({"reason": "i_dont_like_it"}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ok = app
        .post(
            &path,
            Some(&tia.token),
            json!({"reason": "abuse", "note": "name-calling"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let again = app
        .post(&path, Some(&tia.token), json!({"reason": "spam"}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "already_reported")
    );
}

async fn staff_feature_comments_into_the_selected_block(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let id = app.comment(&sam, story, None, "A thoughtful point").await;
    let reply = app.comment(&tia, story, Some(id), "Agreed").await;
    let path = format!("/api/v1/comments/{id}/featured");
    let by_reader = app.call(Method::PUT, &path, Some(&tia.token), None).await;
    assert_eq!(by_reader.status, StatusCode::FORBIDDEN);
    let editor = app.member("Wes Editor", Role::Staff).await;
    let r = app
        .call(Method::PUT, &path, Some(&editor.token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let featured = app
        .get(&format!("/api/v1/stories/{story}/featured"), None)
        .await;
    assert_eq!(featured.body["comments"][0]["id"], id);
    assert_eq!(featured.body["comments"][0]["replies"][0]["id"], reply);
    let audit = app.store.audit_for("comment", id).await.unwrap();
    assert_eq!(audit.last().map(|a| a.action.as_str()), Some("feature"));
    assert_eq!(audit.last().and_then(|a| a.actor_id), Some(editor.id));
    app.call(Method::DELETE, &path, Some(&editor.token), None)
        .await;
    let featured = app
        .get(&format!("/api/v1/stories/{story}/featured"), None)
        .await;
    assert_eq!(featured.body["comments"].as_array().unwrap().len(), 0);
}

async fn pages_carry_etags_and_change_after_a_write(app: TestApp) {
    let (story, sam, _) = setup(&app).await;
    app.comment(&sam, story, None, "first").await;
    let first = app.get(&comments_path(story), None).await;
    let etag = first.headers["etag"].to_str().unwrap().to_owned();
    assert!(
        first.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let same = app
        .send(
            app.http
                .get(app.url(&comments_path(story)))
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    app.comment(&sam, story, None, "second").await;
    let after = app
        .send(
            app.http
                .get(app.url(&comments_path(story)))
                .header("if-none-match", &etag),
        )
        .await;
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(
        after.body["comments"].as_array().unwrap().len(),
        2,
        "the write shows at once"
    );
}

async fn the_viewer_part_lists_own_reactions(app: TestApp) {
    let (story, sam, tia) = setup(&app).await;
    let a = app.comment(&sam, story, None, "a").await;
    let b = app.comment(&sam, story, None, "b").await;
    app.post(
        &format!("/api/v1/comments/{a}/reactions"),
        Some(&tia.token),
        json!({}),
    )
    .await;
    let v = app
        .get(
            &format!("/api/v1/stories/{story}/viewer?ids={a},{b}"),
            Some(&tia.token),
        )
        .await;
    assert_eq!(v.body["reacted"], json!([a]));
    assert_eq!(v.headers["cache-control"], "private, no-store");
    let anon = app
        .get(&format!("/api/v1/stories/{story}/viewer?ids={a}"), None)
        .await;
    assert!(anon.body["user"].is_null());
}

async fn comment_markdown_is_rendered_and_sanitised(app: TestApp) {
    let (story, sam, _) = setup(&app).await;
    let id = app
        .comment(
            &sam,
            story,
            None,
            "**Bold** [link](https://example.org) <script>alert(1)</script> ![x](https://e/x.png)",
        )
        .await;
    let c = app.get(&format!("/api/v1/comments/{id}"), None).await;
    let html = c.body["comment"]["body_html"].as_str().unwrap();
    assert!(html.contains("<strong>Bold</strong>"), "{html}");
    assert!(html.contains(r#"rel="nofollow ugc noopener""#), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("<img"),
        "{html}"
    );
}

/// The edit window is a setting: with none left, edits are refused.
async fn edits_after_the_window_are_refused(app: TestApp) {
    let (story, sam, _) = setup(&app).await;
    let id = app.comment(&sam, story, None, "too late to fix").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/api/v1/comments/{id}"),
            Some(&sam.token),
            Some(json!({"body": "fixed"})),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::CONFLICT, "edit_window_over")
    );
}

fn no_edit_window() -> WebConfig {
    WebConfig {
        edit_window: Duration::from_millis(1),
        ..WebConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_after_the_window_are_refused_on_sqlite() {
    run(
        Backend::Sqlite,
        no_edit_window(),
        edits_after_the_window_are_refused,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_after_the_window_are_refused_on_postgres() {
    run(
        Backend::Postgres,
        no_edit_window(),
        edits_after_the_window_are_refused,
    )
    .await;
}
