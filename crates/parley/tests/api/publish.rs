//! Writing stories in the browser: staff create and edit through the form (same-origin
//! forms only, POST-redirect-GET), readers are refused, signed-out visitors sent to sign
//! in, the preview renders as the story page does and stays inert, validation errors
//! keep what was typed; and POST /api/v1/preview for the form's script.

use parley_core::Role;
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    staff_write_a_story_with_the_form_and_find_it_on_the_page,
    staff_edit_a_story_and_an_unchanged_save_keeps_its_version,
    readers_are_refused_and_visitors_sent_to_sign_in,
    the_preview_renders_the_body_as_the_page_does_and_strips_scripts,
    validation_errors_keep_the_input_and_change_nothing,
    story_forms_from_other_origins_are_refused,
    the_preview_api_is_for_staff_only,
    staff_see_write_and_edit_links_and_readers_do_not,
);

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn read(res: reqwest::Response) -> Page {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.expect("body");
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server error: {body}"
    );
    Page {
        status,
        headers,
        body,
    }
}

async fn get(c: &Client, app: &TestApp, path: &str) -> Page {
    read(c.get(app.url(path)).send().await.expect("get")).await
}

/// A form post as our own pages send it: with our Origin.
async fn post(c: &Client, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> Page {
    read(
        c.post(app.url(path))
            .header("origin", &app.base)
            .form(fields)
            .send()
            .await
            .expect("post"),
    )
    .await
}

/// A member with `role`, signed in by cookie through the sign-in form.
async fn signed_in(app: &TestApp, name: &str, role: Role) -> Client {
    app.member(name, role).await;
    let email = format!("{}@newsroom.example", name.to_lowercase().replace(' ', "."));
    let c = browser();
    let r = post(
        &c,
        app,
        "/signin",
        &[
            ("email", email.as_str()),
            ("password", "a good password"),
            ("next", "/"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    c
}

const BODY: &str =
    "## The vote\n\nCouncillors agreed *unanimously*.\n\n> A good day, said the mayor.";

fn full_form<'a>(headline: &'a str, slug: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("headline", headline),
        ("standfirst", "The town hall will reopen in spring."),
        ("published_at", "2026-09-03T08:30"),
        ("slug", slug),
        ("url", ""),
        ("picture_url", "https://courier.example/img/hall.jpg"),
        ("picture_caption", "The hall under scaffolding"),
        ("picture_credit", "COURIER PHOTO DESK"),
        ("body", BODY),
        ("closed_message", ""),
    ]
}

async fn staff_write_a_story_with_the_form_and_find_it_on_the_page(app: TestApp) {
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let form = get(&rae, &app, "/write").await;
    assert_eq!(form.status, StatusCode::OK);
    for name in [
        "headline",
        "standfirst",
        "published_at",
        "slug",
        "url",
        "picture_url",
        "picture_caption",
        "picture_credit",
        "body",
        "closed",
        "closed_message",
    ] {
        assert!(
            form.body.contains(&format!("name=\"{name}\"")),
            "the form lacks {name}"
        );
    }
    assert!(form.body.contains("/assets/write.js?v="));

    let r = post(&rae, &app, "/write", &full_form("Town hall to reopen", "")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/stories/town-hall-to-reopen");

    let story = app
        .store
        .story_by_slug(app.site_id, "town-hall-to-reopen")
        .await
        .unwrap()
        .expect("the story was stored");
    assert_eq!(
        story.fields.url,
        format!("{}/stories/town-hall-to-reopen", app.base)
    );
    assert_eq!(story.fields.published_at, 1_788_424_200_000);
    assert!(!story.fields.is_closed);

    let page = get(&browser(), &app, "/stories/town-hall-to-reopen").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(html.contains("<h1>Town hall to reopen</h1>"), "{html}");
    assert!(html.contains("The town hall will reopen in spring."));
    assert!(html.contains("src=\"https://courier.example/img/hall.jpg\""));
    assert!(html.contains("The hall under scaffolding"));
    assert!(html.contains("COURIER PHOTO DESK"));
    assert!(html.contains("<h2>The vote</h2>"));
    assert!(html.contains("<em>unanimously</em>"));
    assert!(html.contains("3 September 2026"));
    // The story is open for comments.
    assert!(!html.contains("notice-closed"), "{html}");
}

async fn staff_edit_a_story_and_an_unchanged_save_keeps_its_version(app: TestApp) {
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let mut fields = full_form("Bridge closes", "bridge");
    fields.push(("url", "https://courier.example/2026/bridge"));
    fields.retain(|(k, v)| *k != "url" || !v.is_empty());
    let r = post(&rae, &app, "/write", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let before = app
        .store
        .story_by_slug(app.site_id, "bridge")
        .await
        .unwrap()
        .unwrap();

    // The edit form holds every stored value.
    let form = get(&rae, &app, "/stories/bridge/edit").await;
    assert_eq!(form.status, StatusCode::OK);
    for value in [
        "value=\"Bridge closes\"",
        "value=\"bridge\"",
        "value=\"2026-09-03T08:30\"",
        "value=\"https://courier.example/2026/bridge\"",
        "value=\"The hall under scaffolding\"",
        "## The vote",
    ] {
        assert!(form.body.contains(value), "edit form lacks {value}");
    }

    // Saving it as it is changes nothing.
    let r = post(&rae, &app, "/stories/bridge/edit", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let same = app.store.story_by_id(before.id).await.unwrap().unwrap();
    assert_eq!(same.version, before.version);

    // Closing it, with a message, and clearing the picture.
    let mut changed: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| {
            !matches!(
                *k,
                "picture_url" | "picture_caption" | "picture_credit" | "closed_message"
            )
        })
        .collect();
    changed.push(("closed", "on"));
    changed.push(("closed_message", "Comments are closed on this story."));
    changed.push(("picture_url", ""));
    let r = post(&rae, &app, "/stories/bridge/edit", &changed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/stories/bridge");
    let after = app.store.story_by_id(before.id).await.unwrap().unwrap();
    assert!(after.version > before.version);
    assert!(after.fields.is_closed);
    assert_eq!(after.fields.picture_url, None);
    assert_eq!(after.fields.picture_caption, None);
    let page = get(&browser(), &app, "/stories/bridge").await;
    assert!(
        page.body.contains("Comments are closed on this story."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("courier.example/img/hall.jpg"));
}

async fn readers_are_refused_and_visitors_sent_to_sign_in(app: TestApp) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    app.story(&staff, "quiet").await;
    let sam = signed_in(&app, "Sam Reader", Role::Reader).await;
    for path in ["/write", "/stories/quiet/edit"] {
        let r = get(&sam, &app, path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    let r = post(&sam, &app, "/write", &full_form("Sneaky", "sneaky")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(
        &sam,
        &app,
        "/stories/quiet/edit",
        &full_form("Sneaky", "quiet"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.store
            .story_by_slug(app.site_id, "sneaky")
            .await
            .unwrap()
            .is_none()
    );
    let quiet = app
        .store
        .story_by_slug(app.site_id, "quiet")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(quiet.fields.headline, "Headline of quiet");

    let nobody = browser();
    let r = get(&nobody, &app, "/write").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/signin?next=%2Fwrite");
    let r = get(&nobody, &app, "/stories/quiet/edit").await;
    assert_eq!(r.location(), "/signin?next=%2Fstories%2Fquiet%2Fedit");
    let r = post(&nobody, &app, "/write", &full_form("Anon", "anon")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/signin"));
}

async fn the_preview_renders_the_body_as_the_page_does_and_strips_scripts(app: TestApp) {
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let hostile = "## Heading\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>";
    let mut fields = full_form("Preview me", "preview-me");
    fields.retain(|(k, _)| *k != "body");
    fields.push(("body", hostile));
    fields.push(("preview", "1"));
    let r = post(&rae, &app, "/write", &fields).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let preview = r
        .body
        .split("id=\"write-preview\"")
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .expect("a preview section");
    assert!(preview.contains("<h2>Heading</h2>"), "{preview}");
    assert!(!preview.contains("<script"), "{preview}");
    assert!(!preview.contains("<img"), "{preview}");
    assert!(!preview.contains("javascript:"), "{preview}");
    // The typed text is kept in the form, and nothing was saved.
    assert!(r.body.contains("value=\"Preview me\""));
    assert!(r.body.contains("&lt;script&gt;alert("));
    assert!(
        app.store
            .story_by_slug(app.site_id, "preview-me")
            .await
            .unwrap()
            .is_none()
    );

    // The API preview gives the same HTML the story page will show.
    let staff = app.member("Ed Staff", Role::Staff).await;
    let api = app
        .post(
            "/api/v1/preview",
            Some(&staff.token),
            json!({ "body": hostile }),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let html = api.body["html"].as_str().unwrap();
    assert!(!html.contains("<script"), "{html}");
    let mut fields = full_form("Preview me", "preview-me");
    fields.retain(|(k, _)| *k != "body");
    fields.push(("body", hostile));
    let r = post(&rae, &app, "/write", &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let story = app
        .store
        .story_by_slug(app.site_id, "preview-me")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(story.body_html, html);
}

async fn validation_errors_keep_the_input_and_change_nothing(app: TestApp) {
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let cases: [(&str, &str, &str); 4] = [
        ("headline", "", "Headline: a headline needs"),
        (
            "picture_url",
            "javascript:alert(1)",
            "Picture URL: this must be an http(s) URL",
        ),
        (
            "url",
            "not a url",
            "Article URL: this must be an http(s) URL",
        ),
        ("published_at", "yesterday", "Date and time:"),
    ];
    for (field, value, message) in cases {
        let mut fields = full_form("Keep my words", "kept");
        fields.retain(|(k, _)| *k != field);
        fields.push((field, value));
        let r = post(&rae, &app, "/write", &fields).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
        assert!(r.body.contains("role=\"alert\""), "{field}");
        assert!(r.body.contains(message), "{field}: {}", r.body);
        assert!(r.body.contains("aria-invalid=\"true\""), "{field}");
        // What was typed is still there.
        assert!(r.body.contains("## The vote"), "{field}");
        assert!(r.body.contains("The town hall will reopen in spring."));
        assert!(r.body.contains("COURIER PHOTO DESK"));
    }
    assert!(
        app.store
            .list_stories(app.site_id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A slug that is taken: a conflict, shown on the form.
    let r = post(&rae, &app, "/write", &full_form("First", "taken")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post(&rae, &app, "/write", &full_form("Second", "taken")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("value=\"Second\""));
    assert_eq!(
        app.store.list_stories(app.site_id, 10).await.unwrap().len(),
        1
    );
}

async fn story_forms_from_other_origins_are_refused(app: TestApp) {
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let staff = app.member("Ed Staff", Role::Staff).await;
    app.story(&staff, "guarded").await;
    for path in ["/write", "/stories/guarded/edit"] {
        let bare = read(
            rae.post(app.url(path))
                .form(&full_form("Forged", "guarded"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(bare.status, StatusCode::FORBIDDEN, "{path}");
        assert!(bare.body.contains("did not come from this site"));
        let evil = read(
            rae.post(app.url(path))
                .header("origin", "https://evil.example")
                .form(&full_form("Forged", "guarded"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(evil.status, StatusCode::FORBIDDEN, "{path}");
    }
    let story = app
        .store
        .story_by_slug(app.site_id, "guarded")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(story.fields.headline, "Headline of guarded");
    assert_eq!(
        app.store.list_stories(app.site_id, 10).await.unwrap().len(),
        1
    );
    // The preview API by cookie obeys the same rule.
    let r = read(
        rae.post(app.url("/api/v1/preview"))
            .header("origin", "https://evil.example")
            .json(&json!({"body": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = read(
        rae.post(app.url("/api/v1/preview"))
            .header("origin", &app.base)
            .json(&json!({"body": "*x*"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<em>x</em>"));
}

async fn the_preview_api_is_for_staff_only(app: TestApp) {
    let r = app
        .post("/api/v1/preview", None, json!({"body": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let sam = app.reader("Sam").await;
    let r = app
        .post("/api/v1/preview", Some(&sam.token), json!({"body": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let staff = app.member("Rae Staff", Role::Staff).await;
    let r = app
        .post("/api/v1/preview", Some(&staff.token), json!({"text": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = app
        .post(
            "/api/v1/preview",
            Some(&staff.token),
            json!({"body": "# Big\n\nText"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    // A level-1 heading becomes a subheading, as on the story page.
    let html = r.body["html"].as_str().unwrap();
    assert!(
        html.contains("<h2>Big</h2>") && !html.contains("<h1"),
        "{html}"
    );
}

async fn staff_see_write_and_edit_links_and_readers_do_not(app: TestApp) {
    let staff = app.member("Ed Staff", Role::Staff).await;
    app.story(&staff, "linked").await;
    let rae = signed_in(&app, "Rae Staff", Role::Staff).await;
    let front = get(&rae, &app, "/").await;
    assert!(front.body.contains("href=\"/write\""), "{}", front.body);
    let page = get(&rae, &app, "/stories/linked").await;
    assert!(page.body.contains("href=\"/stories/linked/edit\""));
    let sam = signed_in(&app, "Sam Reader", Role::Reader).await;
    for c in [&sam, &browser()] {
        let front = get(c, &app, "/").await;
        assert!(!front.body.contains("href=\"/write\""));
        let page = get(c, &app, "/stories/linked").await;
        assert!(!page.body.contains("/stories/linked/edit"));
    }
    // The feeds are announced on both pages.
    assert!(front.body.contains(
        "type=\"application/atom+xml\" title=\"Selected comments\" href=\"/selected.atom\""
    ));
    assert!(page.body.contains("href=\"/stories/linked/comments.atom\""));
}
