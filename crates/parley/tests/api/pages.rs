//! The server-rendered pages: what the front page and a story page show, every no-JS
//! flow (register, sign in and out, comment, reply, react, edit, delete, report) as a
//! browser without JavaScript would do it, the same-origin rule on forms, escaping of
//! hostile text, the embed's origin rules and sign-in popup, and the anonymous page cache.

use parley_core::Role;
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::common::{Account, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_front_page_lists_stories_with_comment_counts,
    a_story_page_shows_the_article_and_the_numbered_conversation,
    a_closed_story_shows_its_notice_instead_of_the_box,
    more_comments_continue_the_numbering,
    a_reader_without_javascript_can_do_everything,
    form_errors_keep_the_input_and_change_nothing,
    forms_from_other_origins_are_refused,
    hostile_text_renders_inert,
    the_embed_needs_an_allowed_origin_and_creates_the_story,
    the_embed_popup_hands_over_a_working_token,
    anonymous_pages_come_from_the_cache_with_etags,
    fragments_and_thread_pages_render_one_comment,
);

// ---------------------------------------------------------------------------------------
// A browser without JavaScript

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

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

/// A cookie-keeping client that does not follow redirects, so each 303 can be checked.
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

/// Registers through the form and returns a browser signed in by cookie.
async fn signed_in_browser(app: &TestApp, name: &str, next: &str) -> Client {
    let c = browser();
    let email = format!("{}@pages.example", name.to_lowercase().replace(' ', "."));
    let r = post(
        &c,
        app,
        "/register",
        &[
            ("email", &email),
            ("display_name", name),
            ("password", "a good password"),
            ("next", next),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), next);
    assert!(r.header("set-cookie").contains("HttpOnly"));
    c
}

async fn staff(app: &TestApp) -> Account {
    app.member("Rae Staff", Role::Staff).await
}

/// The id in a `Location: /stories/slug#c{id}`.
fn anchored_id(location: &str) -> i64 {
    location
        .rsplit("#c")
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no comment anchor in {location}"))
}

/// The `<article>` of one comment, up to its end (the first one when it shows twice).
fn article(html: &str, id: i64) -> &str {
    let marker = format!(" id=\"c{id}\" data-comment-id=\"{id}\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("comment {id} not on the page"));
    let start = html[..at].rfind("<article").unwrap_or(at);
    let end = html[start..]
        .find("</article>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

// ---------------------------------------------------------------------------------------
// What the pages show

async fn the_front_page_lists_stories_with_comment_counts(app: TestApp) {
    let staff = staff(&app).await;
    let busy = app.story(&staff, "busy-story").await;
    app.story(&staff, "quiet-story").await;
    let sam = app.reader("Sam").await;
    app.comment(&sam, busy, None, "First.").await;
    app.comment(&sam, busy, None, "Second.").await;

    let page = get(&browser(), &app, "/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").starts_with("text/html"));
    let html = &page.body;
    assert!(html.contains("<html lang=\"en\">"), "{html}");
    assert!(html.contains("<meta name=\"viewport\""));
    assert!(html.contains("<a href=\"/stories/busy-story\">Headline of busy-story</a>"));
    assert!(html.contains("<a href=\"/stories/quiet-story\">Headline of quiet-story</a>"));
    assert!(html.contains(">2 comments</a>"), "{html}");
    assert!(html.contains(">No comments yet</a>"));
    assert!(html.contains("One sentence that sums it up."));
}

async fn a_story_page_shows_the_article_and_the_numbered_conversation(app: TestApp) {
    let staff = staff(&app).await;
    let r = app
        .post(
            "/api/v1/stories",
            Some(&staff.token),
            json!({
                "url": "https://courier.example/2026/09/bridge",
                "slug": "bridge",
                "headline": "The bridge reopens",
                "standfirst": "After two years of repairs, traffic flows again.",
                "body": "## What changed\n\nNew railings.\n\n> It feels safer, said a walker.",
                "published_at": "2026-09-03T08:30:00Z",
                "picture_url": "https://courier.example/img/bridge.jpg",
                "picture_caption": "The bridge at dawn",
                "picture_credit": "COURIER PHOTO DESK",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let story = r.body["story"]["id"].as_i64().unwrap();
    let sam = app.reader("Sam").await;
    let tia = app.reader("Tia").await;
    let first = app.comment(&sam, story, None, "Good news at last.").await;
    let reply = app
        .comment(&tia, story, Some(first), "Agreed, it took long enough.")
        .await;
    let from_staff = app
        .comment(&staff, story, None, "Thanks for reading.")
        .await;
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/comments/{first}/featured"),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let page = get(&browser(), &app, "/stories/bridge").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.body;
    assert!(html.contains("<title>The bridge reopens"), "{html}");
    assert!(html.contains("<h1>The bridge reopens</h1>"));
    assert!(
        html.contains(
            "<p class=\"standfirst\">After two years of repairs, traffic flows again.</p>"
        )
    );
    assert!(html.contains("<time datetime=\"2026-09-03T08:30:00Z\">3 September 2026</time>"));
    assert!(html.contains(
        "<img src=\"https://courier.example/img/bridge.jpg\" alt=\"The bridge at dawn\">"
    ));
    assert!(html.contains(
        "<figcaption>The bridge at dawn <span class=\"credit\">COURIER PHOTO DESK</span></figcaption>"
    ));
    assert!(html.contains("<h2>What changed</h2>"));
    assert!(html.contains("<blockquote>"));
    // The conversation, per docs/FRONTEND.md.
    assert!(html.contains(&format!(
        "<section id=\"conversation\" class=\"conversation\" data-story-id=\"{story}\" data-story-slug=\"bridge\" data-events-url=\"/api/v1/stories/{story}/events\""
    )));
    assert!(html.contains("data-signed-in=\"false\""));
    assert!(html.contains("Comments <span class=\"comment-count\">3</span>"));
    assert!(html.contains("class=\"signin-prompt\""));
    assert!(!html.contains("id=\"comment-form\""));
    assert!(html.contains("<nav class=\"sort-switcher\" aria-label=\"Sort comments\">"));
    assert!(html.contains("aria-current=\"page\">Newest</a>"));
    let selected = html
        .find("<section class=\"selected-comments\"")
        .expect("selected block");
    let numbered = html
        .find("<ol class=\"comments\" id=\"comments\" start=\"1\"")
        .expect("list");
    assert!(selected < numbered, "the selected comments come first");
    assert!(html[selected..numbered].contains(&format!("id=\"selected-c{first}\"")));
    assert_eq!(
        html.matches(&format!(" id=\"c{first}\"")).count(),
        1,
        "ids stay unique"
    );
    assert!(html[selected..numbered].contains("Reply to Sam"));
    let list = &html[numbered..];
    assert!(list.contains(&format!("<li class=\"thread\" id=\"t{first}\">")));
    assert!(list.contains(&format!("<li class=\"reply\" id=\"t{reply}\">")));
    assert!(list.contains("<p class=\"reply-to\">Reply to Sam</p>"));
    // Newest first: the staff comment is number 1.
    assert!(list.find(&format!("id=\"c{from_staff}\"")) < list.find(&format!("id=\"c{first}\"")));
    let staff_comment = article(list, from_staff);
    assert!(staff_comment.contains("<span class=\"staff-badge\">Staff</span>"));
    assert!(!article(list, first).contains("staff-badge"));
    assert!(article(list, reply).contains(&format!("data-parent-id=\"{first}\"")));
    // Anonymous readers see the actions, which lead to sign-in.
    let first_html = article(list, first);
    assert!(first_html.contains(&format!("action=\"/comments/{first}/react\"")));
    assert!(
        first_html.contains("aria-pressed=\"false\">Like <span class=\"reaction-count\">0</span>")
    );
    assert!(first_html.contains(&format!("href=\"/comments/{first}/reply\"")));
    assert!(first_html.contains(&format!("href=\"/comments/{first}/report\"")));
    assert!(!first_html.contains("edit-link"));
    assert!(!first_html.contains("delete-form"));

    // Other sorts and an unknown story.
    let oldest = get(&browser(), &app, "/stories/bridge?sort=oldest").await;
    assert!(oldest.body.contains("aria-current=\"page\">Oldest</a>"));
    let bad = get(&browser(), &app, "/stories/bridge?sort=loudest").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.header("content-type").starts_with("text/html"));
    let missing = get(&browser(), &app, "/stories/no-such-story").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("We could not find this story."));
}

async fn a_closed_story_shows_its_notice_instead_of_the_box(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "closed").await;
    let sam = app.reader("Sam").await;
    let c = app.comment(&sam, story, None, "Before closing.").await;
    let r = app
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/stories/{story}"),
            Some(&staff.token),
            Some(json!({"is_closed": true, "closed_message": "This conversation has ended."})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reader = signed_in_browser(&app, "Uma", "/stories/closed").await;
    let page = get(&reader, &app, "/stories/closed").await;
    assert!(
        page.body
            .contains("<p class=\"notice notice-closed\">This conversation has ended.</p>")
    );
    assert!(!page.body.contains("id=\"comment-form\""));
    assert!(!article(&page.body, c).contains("reply-link"));
    // The form post is refused by the same rule, with the message, and nothing is added.
    let r = post(
        &reader,
        &app,
        "/stories/closed/comments",
        &[("body", "Too late?")],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("This conversation has ended."));
    let count = app.get(&format!("/api/v1/stories/{story}"), None).await;
    assert_eq!(count.body["story"]["comment_count"], 1);
}

async fn more_comments_continue_the_numbering(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "long").await;
    let sam = app.reader("Sam").await;
    for i in 0..23 {
        app.comment(&sam, story, None, &format!("Comment number {i}."))
            .await;
    }
    let c = browser();
    let first = get(&c, &app, "/stories/long?sort=oldest").await;
    assert_eq!(first.body.matches("<li class=\"thread\"").count(), 20);
    let start = first
        .body
        .find("<a class=\"more-comments\" href=\"")
        .expect("more link")
        + 31;
    let href = &first.body[start..];
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(
        href.starts_with("/stories/long?sort=oldest&cursor="),
        "{href}"
    );
    assert!(href.contains("&from=21"), "{href}");
    let second = get(&c, &app, href.split('#').next().unwrap()).await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(
        second
            .body
            .contains("<ol class=\"comments\" id=\"comments\" start=\"21\"")
    );
    assert_eq!(second.body.matches("<li class=\"thread\"").count(), 3);
    assert!(second.body.contains("Comment number 20."));
    assert!(!second.body.contains("class=\"more-comments\""));
    assert!(!second.body.contains("selected-comments"));
}

// ---------------------------------------------------------------------------------------
// The no-JS flows

async fn a_reader_without_javascript_can_do_everything(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "nojs").await;
    let sam = app.reader("Sam").await;
    let theirs = app.comment(&sam, story, None, "A comment by Sam.").await;

    // Register: the form, then the post, which signs in and comes back.
    let anon = browser();
    let form = get(&anon, &app, "/register?next=/stories/nojs").await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        "<label for=\"email\">",
        "<label for=\"display_name\">",
        "<label for=\"password\">",
    ] {
        assert!(form.body.contains(label), "{label}");
    }
    assert!(form.body.contains("name=\"next\" value=\"/stories/nojs\""));
    let me = signed_in_browser(&app, "Nadia", "/stories/nojs").await;
    let page = get(&me, &app, "/stories/nojs").await;
    assert_eq!(page.header("cache-control"), "private, no-store");
    assert!(page.body.contains(
        "Signed in as <a class=\"account-link\" href=\"/account\"><strong>Nadia</strong></a>"
    ));
    assert!(page.body.contains("data-signed-in=\"true\""));
    assert!(
        page.body
            .contains("<label for=\"comment-body\">Enter comments here</label>")
    );
    assert!(page.body.contains("<form id=\"comment-form\" class=\"comment-form\" method=\"post\" action=\"/stories/nojs/comments\">"));

    // Comment.
    let r = post(
        &me,
        &app,
        "/stories/nojs/comments",
        &[("body", "My *first* comment."), ("parent_id", "")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().starts_with("/stories/nojs#c"));
    let mine = anchored_id(&r.location());
    let page = get(&me, &app, "/stories/nojs").await;
    let my_article = article(&page.body, mine);
    assert!(my_article.contains("My <em>first</em> comment."));
    assert!(my_article.contains(&format!("href=\"/comments/{mine}/edit\"")));
    assert!(my_article.contains(&format!("action=\"/comments/{mine}/delete\"")));
    assert!(
        !my_article.contains("react-form"),
        "no reacting to one's own comment"
    );

    // Reply, from the reply page.
    let reply_page = get(&me, &app, &format!("/comments/{theirs}/reply")).await;
    assert_eq!(reply_page.status, StatusCode::OK);
    assert!(reply_page.body.contains("A comment by Sam."));
    assert!(
        reply_page
            .body
            .contains(&format!("name=\"parent_id\" value=\"{theirs}\""))
    );
    assert!(reply_page.body.contains("<label for=\"reply-body\">"));
    let r = post(
        &me,
        &app,
        "/stories/nojs/comments",
        &[
            ("body", "Replying to Sam."),
            ("parent_id", &theirs.to_string()),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let my_reply = anchored_id(&r.location());
    let page = get(&me, &app, "/stories/nojs").await;
    let reply_html = article(&page.body, my_reply);
    assert!(reply_html.contains("<p class=\"reply-to\">Reply to Sam</p>"));
    assert!(
        page.body
            .contains(&format!("<li class=\"reply\" id=\"t{my_reply}\">"))
    );

    // React, then take it back.
    let r = post(&me, &app, &format!("/comments/{theirs}/react"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().ends_with(&format!("#c{theirs}")));
    let page = get(&me, &app, "/stories/nojs").await;
    let liked = article(&page.body, theirs);
    assert!(liked.contains(&format!("action=\"/comments/{theirs}/unreact\"")));
    assert!(liked.contains("aria-pressed=\"true\">Like <span class=\"reaction-count\">1</span>"));
    // A second press (another tab) is harmless.
    let again = post(&me, &app, &format!("/comments/{theirs}/react"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let r = post(&me, &app, &format!("/comments/{theirs}/unreact"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = get(&me, &app, "/stories/nojs").await;
    assert!(
        article(&page.body, theirs)
            .contains("aria-pressed=\"false\">Like <span class=\"reaction-count\">0</span>")
    );

    // Edit.
    let edit = get(&me, &app, &format!("/comments/{mine}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.body.contains(">My *first* comment.</textarea>"));
    let r = post(
        &me,
        &app,
        &format!("/comments/{mine}/edit"),
        &[("body", "My corrected comment.")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(&me, &app, "/stories/nojs").await;
    let edited = article(&page.body, mine);
    assert!(edited.contains("My corrected comment."));
    assert!(edited.contains("<span class=\"edited\">edited</span>"));
    // Someone else's comment cannot be edited.
    let not_mine = get(&me, &app, &format!("/comments/{theirs}/edit")).await;
    assert_eq!(not_mine.status, StatusCode::FORBIDDEN);

    // Report.
    let report = get(&me, &app, &format!("/comments/{theirs}/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.contains("<label for=\"report-reason\">"));
    assert!(report.body.contains("<option value=\"spam\">"));
    let r = post(
        &me,
        &app,
        &format!("/comments/{theirs}/report"),
        &[("reason", "spam"), ("note", "Selling things.")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let back = get(&me, &app, r.location().split('#').next().unwrap()).await;
    assert!(
        back.body
            .contains("Your report has been sent to the moderators.")
    );
    let twice = post(
        &me,
        &app,
        &format!("/comments/{theirs}/report"),
        &[("reason", "spam")],
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(
        twice
            .body
            .contains("You have already reported this comment.")
    );

    // Delete: Sam replies to my comment, so it stays as a tombstone.
    app.comment(&sam, story, Some(mine), "Hm.").await;
    let r = post(&me, &app, &format!("/comments/{mine}/delete"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(&me, &app, "/stories/nojs").await;
    let tomb = article(&page.body, mine);
    assert!(
        tomb.starts_with("<article class=\"comment comment-deleted\""),
        "{tomb}"
    );
    assert!(tomb.contains("This comment was deleted."));
    assert!(!tomb.contains("My corrected comment."));
    assert!(!tomb.contains("Nadia"));

    // Sign out, then sign in again (a wrong password first).
    let r = post(&me, &app, "/signout", &[("next", "/stories/nojs")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/stories/nojs");
    assert!(r.header("set-cookie").contains("Max-Age=0"));
    let page = get(&me, &app, "/stories/nojs").await;
    assert!(page.body.contains("data-signed-in=\"false\""));
    let signin = get(&me, &app, "/signin?next=/stories/nojs").await;
    assert!(
        signin
            .body
            .contains("<label for=\"email\">Email address</label>")
    );
    let wrong = post(
        &me,
        &app,
        "/signin",
        &[
            ("email", "nadia@pages.example"),
            ("password", "not it at all"),
            ("next", "/stories/nojs"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong email or password."));
    assert!(wrong.body.contains("value=\"nadia@pages.example\""));
    let r = post(
        &me,
        &app,
        "/signin",
        &[
            ("email", "nadia@pages.example"),
            ("password", "a good password"),
            ("next", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/", "next never leaves the site");
    let page = get(&me, &app, "/stories/nojs").await;
    assert!(page.body.contains(
        "Signed in as <a class=\"account-link\" href=\"/account\"><strong>Nadia</strong></a>"
    ));
}

async fn form_errors_keep_the_input_and_change_nothing(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "errors").await;
    let me = signed_in_browser(&app, "Olu", "/stories/errors").await;
    let long = "x".repeat(5001);
    let r = post(&me, &app, "/stories/errors/comments", &[("body", &long)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("class=\"form-error\""));
    assert!(
        r.body
            .contains("A comment has at most 5000 characters; this one has 5001.")
    );
    assert!(r.body.contains(&format!(">{long}</textarea>")));
    let r = post(&me, &app, "/stories/errors/comments", &[("body", "   ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("A comment cannot be empty."));
    let r = post(
        &me,
        &app,
        "/stories/errors/comments",
        &[("body", "Hi"), ("parent_id", "999999")],
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.body.contains("class=\"message\"") || r.body.contains("class=\"form-error\""));
    let count = app.get(&format!("/api/v1/stories/{story}"), None).await;
    assert_eq!(count.body["story"]["comment_count"], 0);

    // Registration keeps what was typed (never the password) and names the problem.
    let anon = browser();
    let r = post(
        &anon,
        &app,
        "/register",
        &[
            ("email", "olu2@pages.example"),
            ("display_name", "Olu"),
            ("password", "a good password"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("This display name is taken."));
    assert!(r.body.contains("value=\"olu2@pages.example\""));
    assert!(!r.body.contains("a good password"));
    let r = post(
        &anon,
        &app,
        "/register",
        &[
            ("email", "olu3@pages.example"),
            ("display_name", "Olu Three"),
            ("password", "short"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"password\""));
    assert!(r.body.contains("aria-invalid=\"true\""));

    // Signed out, an action leads to sign-in and comes back.
    let r = post(
        &anon,
        &app,
        "/stories/errors/comments",
        &[("body", "Hello")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().starts_with("/signin?next=%2Fstories%2Ferrors"),
        "{}",
        r.location()
    );
    let r = get(&anon, &app, "/comments/1/edit").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/signin?next="));
}

async fn forms_from_other_origins_are_refused(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "csrf").await;
    let sam = app.reader("Sam").await;
    let theirs = app.comment(&sam, story, None, "Sam was here.").await;
    let me = signed_in_browser(&app, "Pat", "/stories/csrf").await;
    // No Origin and no Sec-Fetch-Site: refused.
    let bare = read(
        me.post(app.url("/stories/csrf/comments"))
            .form(&[("body", "forged")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert!(bare.header("content-type").starts_with("text/html"));
    assert!(bare.body.contains("did not come from this site"));
    // Another origin, or a cross-site fetch: refused.
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let r = read(
            me.post(app.url(&format!("/comments/{theirs}/react")))
                .header(name, value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
    let r = read(
        me.post(app.url("/signout"))
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = read(
        browser()
            .post(app.url("/signin"))
            .form(&[
                ("email", "pat@pages.example"),
                ("password", "a good password"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "sign-in forms need our origin too"
    );
    assert!(r.header("set-cookie").is_empty());
    // Nothing changed, and the session still works.
    let s = app.get(&format!("/api/v1/stories/{story}"), None).await;
    assert_eq!(s.body["story"]["comment_count"], 1);
    let page = get(&me, &app, "/stories/csrf").await;
    assert!(
        article(&page.body, theirs)
            .contains("aria-pressed=\"false\">Like <span class=\"reaction-count\">0</span>")
    );
    assert!(page.body.contains(
        "Signed in as <a class=\"account-link\" href=\"/account\"><strong>Pat</strong></a>"
    ));
    // Sec-Fetch-Site: same-origin is enough on its own.
    let r = read(
        me.post(app.url("/stories/csrf/comments"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("body", "genuine")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

// ---------------------------------------------------------------------------------------
// Escaping

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

/// The start tags of an HTML document with their attributes, read the way a browser's
/// tokenizer would for well-formed markup.
fn tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let mut j = i + off + 1;
        let name_end = html[j..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .map_or(html.len(), |e| j + e);
        let name = html[j..name_end].to_ascii_lowercase();
        if name.is_empty() || !name.as_bytes()[0].is_ascii_alphabetic() {
            i = j;
            continue;
        }
        j = name_end;
        let mut attrs = Vec::new();
        loop {
            while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                j += 1;
            }
            if j >= b.len() || b[j] == b'>' {
                j += 1;
                break;
            }
            let start = j;
            while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'=' | b'>' | b'/')
            {
                j += 1;
            }
            let attr = html[start..j].to_ascii_lowercase();
            let mut value = String::new();
            if j < b.len() && b[j] == b'=' {
                j += 1;
                if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                    let q = b[j];
                    let end = html[j + 1..]
                        .find(char::from(q))
                        .map_or(html.len(), |e| j + 1 + e);
                    value = html[j + 1..end].to_owned();
                    j = end + 1;
                } else {
                    let start = j;
                    while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                        j += 1;
                    }
                    value = html[start..j].to_owned();
                }
            }
            attrs.push((attr, value));
        }
        out.push(Tag { name, attrs });
        i = j.min(html.len());
        if name_is_raw_text(&out) {
            // Skip a script's or style's content.
            let close = format!("</{}", out.last().map_or("", |t| t.name.as_str()));
            i = html[i..]
                .to_ascii_lowercase()
                .find(&close)
                .map_or(html.len(), |e| i + e);
        }
    }
    out
}

fn name_is_raw_text(tags: &[Tag]) -> bool {
    tags.last()
        .is_some_and(|t| t.name == "script" || t.name == "style")
}

/// No script runs and no handler survives: every script is one of our files, no
/// attribute is an event handler, no link or source is a `javascript:` URL.
fn assert_inert(html: &str, what: &str) {
    assert!(
        !html.contains("<script>alert"),
        "{what}: raw script in {html}"
    );
    assert!(
        !html.to_ascii_lowercase().contains("<img src=x"),
        "{what}: raw img"
    );
    for tag in tags(html) {
        for (name, value) in &tag.attrs {
            assert!(
                !name.starts_with("on"),
                "{what}: <{} {name}={value}>",
                tag.name
            );
            if matches!(name.as_str(), "href" | "src" | "action" | "formaction") {
                let v = value.trim().to_ascii_lowercase();
                assert!(!v.starts_with("javascript:"), "{what}: {name}={value}");
            }
        }
        if tag.name == "script" {
            let src = tag
                .attrs
                .iter()
                .find(|(n, _)| n == "src")
                .map(|(_, v)| v.as_str());
            assert!(
                src.is_some_and(|s| s.starts_with("/assets/")),
                "{what}: inline script"
            );
        }
    }
}

async fn hostile_text_renders_inert(app: TestApp) {
    let staff = staff(&app).await;
    let r = app
        .post(
            "/api/v1/stories",
            Some(&staff.token),
            json!({
                "url": "https://courier.example/xss",
                "slug": "xss",
                "headline": format!("{SCRIPT} headline"),
                "standfirst": format!("standfirst {IMG}"),
                "body": format!("Body {SCRIPT} [link](javascript:alert(1)) {IMG}"),
                "picture_url": "https://courier.example/p.jpg?a=\"><script>alert(1)</script>",
                "picture_caption": format!("caption {IMG}"),
                "picture_credit": SCRIPT,
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let story = r.body["story"]["id"].as_i64().unwrap();
    let r = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"email": "x@pages.example", "display_name": IMG, "password": "a good password", "session": "token"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let evil = Account {
        id: r.body["user"]["id"].as_i64().unwrap(),
        token: r.body["token"].as_str().unwrap().to_owned(),
    };
    let body = format!(
        "{SCRIPT} [click](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a> {IMG}"
    );
    let top = app.comment(&evil, story, None, &body).await;
    let sam = app.reader("Sam").await;
    let reply = app
        .comment(&sam, story, Some(top), "A reply to the payload.")
        .await;

    let anon = browser();
    let reader = signed_in_browser(&app, "Quinn", "/").await;
    let mut pages = Vec::new();
    for (signed_in, c) in [(false, &anon), (true, &reader)] {
        for path in [
            "/".to_owned(),
            "/stories/xss".to_owned(),
            format!("/comments/{top}/fragment"),
            format!("/comments/{reply}/fragment"),
            format!("/comments/{top}/thread"),
            format!("/comments/{top}/reply"),
            format!("/comments/{top}/report"),
            "/embed?url=https://courier.example/xss".to_owned(),
        ] {
            if !signed_in && path.ends_with("/report") {
                continue;
            }
            let mut req = c.get(app.url(&path));
            if path.starts_with("/embed") {
                req = req.header("referer", "https://courier.example/xss");
            }
            let page = read(req.send().await.unwrap()).await;
            assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
            assert_inert(&page.body, &path);
            pages.push((path, page.body));
        }
    }
    let (_, story_page) = &pages[1];
    // The text is there, escaped.
    assert!(story_page.contains("&#60;script&#62;alert(1)&#60;/script&#62; headline"));
    assert!(story_page.contains("alt=\"caption &#34;&#62;&#60;img src=x onerror=alert(1)&#62;\""));
    assert!(story_page.contains("&#34;&#62;&#60;img src=x onerror=alert(1)&#62;</span>"));
    assert!(story_page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // The embed page created no story from a title either: it found this one.
    let (_, reply_page) = &pages[5];
    assert!(reply_page.contains("Reply to &#34;&#62;&#60;img"));
    // The auto-created story from an embed with a hostile title renders inert too.
    let page = read(
        anon.get(app.url("/embed"))
            .query(&[("url", "https://courier.example/other"), ("title", SCRIPT)])
            .header("referer", "https://courier.example/other")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_inert(&page.body, "embed with a hostile title");
    assert!(page.body.contains("<title>Comments on &#60;script&#62;"));
}

// ---------------------------------------------------------------------------------------
// The embed

async fn the_embed_needs_an_allowed_origin_and_creates_the_story(app: TestApp) {
    let url = "https://courier.example/2026/11/new-article";
    let embed = |referer: Option<&'static str>, url: &'static str| {
        let mut req = browser().get(app.url("/embed")).query(&[
            ("site", "courier"),
            ("url", url),
            ("title", "A  new article"),
        ]);
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        req
    };
    // Refused: another origin, no Referer, an article on another origin.
    for (referer, article_url) in [
        (Some("https://evil.example/page"), url),
        (None, url),
        (
            Some("https://courier.example/page"),
            "https://evil.example/2026/11/new-article",
        ),
        (Some("https://courier.example.evil.example/"), url),
    ] {
        let r = read(embed(referer, article_url).send().await.unwrap()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{referer:?} {article_url}");
        assert!(r.header("content-type").starts_with("text/html"));
        assert!(r.body.contains("cannot be shown here"));
        assert!(r.header("content-security-policy").is_empty());
    }
    assert!(
        app.store
            .story_by_url(app.site_id, url)
            .await
            .unwrap()
            .is_none()
    );

    // Allowed: the story is created from the URL and the title.
    let r = read(
        embed(Some("https://courier.example/2026/11/new-article"), url)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.header("content-security-policy"),
        "frame-ancestors https://courier.example"
    );
    assert!(r.header("x-frame-options").is_empty());
    let story = app
        .store
        .story_by_url(app.site_id, url)
        .await
        .unwrap()
        .expect("created");
    assert_eq!(story.fields.headline, "A new article");
    assert_eq!(story.fields.slug, "a-new-article");
    assert!(r.body.contains(&format!("data-story-id=\"{}\"", story.id)));
    assert!(r.body.contains("data-embed=\"true\""));
    assert!(r.body.contains("<button type=\"button\" class=\"embed-signin\" data-signin-url=\"/embed/signin?site=courier\">Sign in to comment</button>"));
    assert!(!r.body.contains("id=\"comment-form\""));
    assert!(!r.body.contains("<article class=\"story\""));
    // Loading again (with a fragment on the URL) finds the same story.
    let again = read(
        browser()
            .get(app.url("/embed"))
            .query(&[
                ("site", "courier"),
                ("url", &format!("{url}#comments")),
                ("title", "Changed title"),
            ])
            .header("referer", "https://courier.example/")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(
        again
            .body
            .contains(&format!("data-story-id=\"{}\"", story.id))
    );
    let list = app.store.list_stories(app.site_id, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    // Comments posted through the API show up in the embed.
    let sam = app.reader("Sam").await;
    app.comment(&sam, story.id, None, "Seen in the embed.")
        .await;
    let r = read(
        embed(Some("https://courier.example/"), url)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(r.body.contains("Seen in the embed."));
    // Moving around inside the frame (its own pages as Referer) works too.
    let inner = read(
        browser()
            .get(app.url("/embed"))
            .query(&[("site", "courier"), ("url", url), ("sort", "oldest")])
            .header("referer", app.url("/embed?site=courier"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(inner.status, StatusCode::OK);
    assert!(inner.body.contains("aria-current=\"page\">Oldest</a>"));
}

async fn the_embed_popup_hands_over_a_working_token(app: TestApp) {
    app.reader("Rosa").await;
    let c = browser();
    let form = get(&c, &app, "/embed/signin?site=courier").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("action=\"/embed/signin?site=courier\""));
    assert!(form.body.contains("/register?site=courier&#38;next="));
    assert_eq!(form.header("x-frame-options"), "DENY");
    let wrong = post(
        &c,
        &app,
        "/embed/signin?site=courier",
        &[
            ("email", "rosa@readers.example"),
            ("password", "nope nope nope"),
        ],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong email or password."));
    let ok = post(
        &c,
        &app,
        "/embed/signin?site=courier",
        &[
            ("email", "rosa@readers.example"),
            ("password", "a good password"),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.header("cache-control"), "private, no-store");
    assert!(
        ok.header("set-cookie").is_empty(),
        "the popup hands a token, not a cookie"
    );
    assert!(
        ok.body
            .contains("window.opener.postMessage(message, location.origin)")
    );
    let start = ok.body.find("data-message=\"").expect("message") + 14;
    let raw = &ok.body[start..start + ok.body[start..].find('"').unwrap()];
    let json_text = raw
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&");
    let message: serde_json::Value = serde_json::from_str(&json_text).expect("json");
    assert_eq!(message["type"], "parley:token");
    assert_eq!(message["user"]["display_name"], "Rosa");
    let token = message["token"].as_str().expect("token");
    let me = app.get("/api/v1/me", Some(token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["display_name"], "Rosa");
    // Without our origin, no token.
    let forged = read(
        browser()
            .post(app.url("/embed/signin?site=courier"))
            .form(&[
                ("email", "rosa@readers.example"),
                ("password", "a good password"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!forged.body.contains("parley:token"));
}

// ---------------------------------------------------------------------------------------
// Caching, fragments, threads

async fn anonymous_pages_come_from_the_cache_with_etags(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "cached").await;
    let sam = app.reader("Sam").await;
    app.comment(&sam, story, None, "Cached comment.").await;
    let c = browser();
    let first = get(&c, &app, "/stories/cached").await;
    assert_eq!(first.status, StatusCode::OK);
    let etag = first.header("etag");
    assert!(etag.starts_with(&format!("\"h{story}-")), "{etag}");
    assert!(first.header("cache-control").starts_with("public"));
    assert_eq!(first.header("vary"), "Cookie");
    let second = get(&c, &app, "/stories/cached").await;
    assert_eq!(second.header("etag"), etag);
    assert_eq!(second.body, first.body);
    let not_modified = read(
        c.get(app.url("/stories/cached"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert!(not_modified.body.is_empty());
    // A write drops the cached page.
    app.comment(&sam, story, None, "A newer comment.").await;
    let fresh = read(
        c.get(app.url("/stories/cached"))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::OK);
    assert_ne!(fresh.header("etag"), etag);
    assert!(fresh.body.contains("A newer comment."));
    // Signed-in readers get their own page, never cached.
    let me = signed_in_browser(&app, "Vik", "/stories/cached").await;
    let mine = get(&me, &app, "/stories/cached").await;
    assert_eq!(mine.header("cache-control"), "private, no-store");
    assert!(mine.header("etag").is_empty());
    assert!(mine.body.contains(
        "Signed in as <a class=\"account-link\" href=\"/account\"><strong>Vik</strong></a>"
    ));
    let again = get(&c, &app, "/stories/cached").await;
    assert!(!again.body.contains("Vik"));
    // The embed's page is cached too.
    let embed = |c: &Client| {
        c.get(app.url("/embed"))
            .query(&[("url", "https://courier.example/cached")])
            .header("referer", "https://courier.example/")
    };
    let e1 = read(embed(&c).send().await.unwrap()).await;
    let etag = e1.header("etag");
    assert!(etag.starts_with(&format!("\"e{story}-")), "{etag}");
    let e2 = read(
        embed(&c)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(e2.status, StatusCode::NOT_MODIFIED);
}

async fn fragments_and_thread_pages_render_one_comment(app: TestApp) {
    let staff = staff(&app).await;
    let story = app.story(&staff, "frag").await;
    let sam = app.reader("Sam").await;
    let top = app.comment(&sam, story, None, "Top comment.").await;
    let mut replies = Vec::new();
    for i in 0..7 {
        replies.push(
            app.comment(&staff, story, Some(top), &format!("Reply number {i}."))
                .await,
        );
    }
    let anon = browser();
    let frag = get(&anon, &app, &format!("/comments/{top}/fragment")).await;
    assert_eq!(frag.status, StatusCode::OK);
    assert!(
        frag.body
            .starts_with(&format!("<li class=\"thread\" id=\"t{top}\">")),
        "{}",
        frag.body
    );
    assert!(frag.body.trim_end().ends_with("</li>"));
    assert!(!frag.body.contains("<html"));
    let frag = get(&anon, &app, &format!("/comments/{}/fragment", replies[0])).await;
    assert!(
        frag.body
            .starts_with(&format!("<li class=\"reply\" id=\"t{}\">", replies[0]))
    );
    assert!(frag.body.contains("<p class=\"reply-to\">Reply to Sam</p>"));
    assert!(
        frag.body
            .contains("<span class=\"staff-badge\">Staff</span>")
    );
    // For its author, the fragment offers edit and delete.
    let r = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&sam.token),
            json!({"body": "Mine."}),
        )
        .await;
    let mine = r.body["comment"]["id"].as_i64().unwrap();
    let own = read(
        anon.get(app.url(&format!("/comments/{mine}/fragment")))
            .bearer_auth(&sam.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        own.body
            .contains(&format!("href=\"/comments/{mine}/edit\""))
    );
    assert_eq!(own.header("cache-control"), "private, no-store");
    let missing = get(&anon, &app, "/comments/999999/fragment").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // The story page shows the first five replies and links to the rest.
    let page = get(&anon, &app, "/stories/frag").await;
    let start = page
        .body
        .find("<a class=\"more-replies\" href=\"")
        .expect("more replies")
        + 30;
    let href = &page.body[start..];
    let href = href[..href.find('"').unwrap()].replace("&#38;", "&");
    assert!(
        href.starts_with(&format!("/comments/{top}/thread?cursor=")),
        "{href}"
    );
    let rest = get(&anon, &app, &href).await;
    assert_eq!(rest.status, StatusCode::OK);
    assert!(rest.body.contains("Reply number 5."));
    assert!(rest.body.contains("Reply number 6."));
    assert!(!rest.body.contains("Reply number 4."));
    assert!(
        rest.body
            .contains(&format!("href=\"/stories/frag#c{top}\""))
    );
    let all = get(&anon, &app, &format!("/comments/{top}/thread")).await;
    for i in 0..7 {
        assert!(all.body.contains(&format!("Reply number {i}.")));
    }
    let bad = get(
        &anon,
        &app,
        &format!("/comments/{top}/thread?cursor=garbage"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------------------------------
// Pending comments (SQLite only: the standing is set directly in the database)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_comment_is_shown_to_its_author_only() {
    use sqlx::Connection;
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("parley.db");
    let url = format!("sqlite://{}", db.display());
    let store: Arc<dyn parley_store::Store> =
        Arc::new(parley_store::sqlite::open(&url).await.unwrap());
    let site = store.create_site("courier", &[], 1).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = parley_web::AppState::new(store.clone(), Default::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(parley_web::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let app = TestApp {
        base,
        store,
        http: Client::new(),
        site_id: site.id,
    };
    let staff = staff(&app).await;
    let story = app.story(&staff, "held").await;
    let me = signed_in_browser(&app, "Wren", "/stories/held").await;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE users SET status = 'premoderated' WHERE display_name = 'Wren'")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let r = post(
        &me,
        &app,
        "/stories/held/comments",
        &[("body", "Held for a look.")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = anchored_id(&r.location());
    let mine = get(&me, &app, "/stories/held").await;
    assert!(mine.body.contains("Your comments awaiting moderation"));
    let held = article(&mine.body, id);
    assert!(held.contains("<span class=\"pending-mark\">awaiting moderation</span>"));
    assert!(held.contains("Held for a look."));
    let frag = get(&me, &app, &format!("/comments/{id}/fragment")).await;
    assert_eq!(frag.status, StatusCode::OK);
    assert!(frag.body.contains("awaiting moderation"));
    let anon = browser();
    let public = get(&anon, &app, "/stories/held").await;
    assert!(!public.body.contains("Held for a look."));
    assert!(!public.body.contains("awaiting moderation"));
    let frag = get(&anon, &app, &format!("/comments/{id}/fragment")).await;
    assert_eq!(frag.status, StatusCode::NOT_FOUND);
    let count = app.get(&format!("/api/v1/stories/{story}"), None).await;
    assert_eq!(count.body["story"]["comment_count"], 0);

    let _ = stop.send(());
    let _ = server.await;
}

#[test]
fn the_inertness_check_catches_live_markup() {
    for live in [
        "<p><img src=x onerror=alert(1)></p>",
        "<a href=\" JavaScript:alert(1)\">x</a>",
        "<div title=\"a\" onclick='x()'>",
        "<script>alert(2)</script>",
        "<SCRIPT src=\"https://evil.example/x.js\"></SCRIPT>",
    ] {
        let caught = std::panic::catch_unwind(|| assert_inert(live, "sample")).is_err();
        assert!(caught, "{live}");
    }
    assert_inert(
        "<p title=\"&#34;&#62;&#60;img src=x onerror=alert(1)&#62;\">&lt;script&gt;</p>\
         <script src=\"/assets/parley.js\" defer></script>",
        "escaped sample",
    );
}
