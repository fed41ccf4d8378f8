//! The Atom feeds: a story's comments and the site's selected comments are well-formed
//! Atom 1.0 with the required elements (parsed here with quick-xml), hold only published
//! comments, escape hostile text, and answer If-None-Match with 304.

use std::collections::HashMap;

use parley_core::Role;
use quick_xml::Reader;
use quick_xml::events::Event;
use reqwest::StatusCode;
use serde_json::json;

use crate::common::{Account, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_story_feed_is_atom_with_its_published_comments_and_replies,
    feeds_leave_out_pending_rejected_and_deleted_comments,
    hostile_text_is_escaped_in_feeds,
    the_selected_feed_holds_the_sites_featured_comments,
    feeds_revalidate_with_etags,
    a_feed_of_an_unknown_story_is_not_found,
);

/// An element as the test reads it: its path of names, attributes and text.
#[derive(Debug, Default, Clone)]
struct Element {
    path: String,
    attrs: HashMap<String, String>,
    text: String,
}

/// Every element of the document, in order. Panics if it is not well-formed XML.
fn parse(xml: &str) -> Vec<Element> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<usize> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut out: Vec<Element> = Vec::new();
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"))
        {
            Event::Start(e) => {
                names.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                out.push(element(&names, &e));
                stack.push(out.len() - 1);
            }
            Event::Empty(e) => {
                names.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                out.push(element(&names, &e));
                names.pop();
            }
            Event::End(_) => {
                names.pop();
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.decode().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(&i) = stack.last() {
                    let name = String::from_utf8(r.to_vec()).unwrap();
                    let resolved = match name.as_str() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "quot" => "\"".to_owned(),
                        "apos" => "'".to_owned(),
                        other => r
                            .resolve_char_ref()
                            .ok()
                            .flatten()
                            .map(String::from)
                            .unwrap_or_else(|| panic!("unknown entity &{other};")),
                    };
                    out[i].text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements");
    out
}

fn element(names: &[String], e: &quick_xml::events::BytesStart<'_>) -> Element {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("attribute");
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.unescape_value().expect("attribute value").into_owned(),
            )
        })
        .collect();
    Element {
        path: names.join("/"),
        attrs,
        text: String::new(),
    }
}

/// One feed entry: its child elements by name.
#[derive(Debug)]
struct Entry {
    id: String,
    title: String,
    updated: String,
    author: String,
    content: String,
    content_type: String,
    link: String,
}

struct Feed {
    elements: Vec<Element>,
    entries: Vec<Entry>,
}

fn one<'a>(els: &'a [Element], path: &str) -> &'a Element {
    let found: Vec<&Element> = els.iter().filter(|e| e.path == path).collect();
    assert_eq!(found.len(), 1, "exactly one {path}");
    found[0]
}

/// Checks the feed's required Atom elements and reads its entries.
fn atom(xml: &str) -> Feed {
    let elements = parse(xml);
    let root = &elements[0];
    assert_eq!(root.path, "feed");
    assert_eq!(root.attrs["xmlns"], "http://www.w3.org/2005/Atom");
    for required in ["feed/id", "feed/title", "feed/updated"] {
        assert!(
            !one(&elements, required).text.trim().is_empty(),
            "{required} is empty"
        );
    }
    let updated = &one(&elements, "feed/updated").text;
    assert!(
        updated.len() == 20 && updated.ends_with('Z') && updated.as_bytes()[10] == b'T',
        "updated is an RFC 3339 UTC time: {updated}"
    );
    let self_links = elements
        .iter()
        .filter(|e| e.path == "feed/link" && e.attrs.get("rel").map(String::as_str) == Some("self"))
        .count();
    assert_eq!(self_links, 1, "one link rel=self");

    // Split the elements into entries.
    let mut entries = Vec::new();
    let mut current: Vec<Element> = Vec::new();
    let flush = |current: &mut Vec<Element>, entries: &mut Vec<Entry>| {
        if current.is_empty() {
            return;
        }
        let link = one(current, "feed/entry/link");
        assert_eq!(link.attrs["rel"], "alternate");
        let content = one(current, "feed/entry/content");
        entries.push(Entry {
            id: one(current, "feed/entry/id").text.clone(),
            title: one(current, "feed/entry/title").text.clone(),
            updated: one(current, "feed/entry/updated").text.clone(),
            author: one(current, "feed/entry/author/name").text.clone(),
            content: content.text.clone(),
            content_type: content.attrs["type"].clone(),
            link: link.attrs["href"].clone(),
        });
        current.clear();
    };
    for e in &elements {
        if e.path == "feed/entry" {
            flush(&mut current, &mut entries);
        }
        if e.path.starts_with("feed/entry/") {
            current.push(e.clone());
        }
    }
    flush(&mut current, &mut entries);
    for e in &entries {
        assert!(e.id.starts_with("tag:"), "{}", e.id);
        assert!(!e.title.is_empty() && !e.updated.is_empty() && !e.author.is_empty());
        assert_eq!(e.content_type, "html");
    }
    Feed { elements, entries }
}

async fn fetch(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, String) {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let headers = res.headers().clone();
    assert_eq!(
        headers["content-type"].to_str().unwrap(),
        "application/atom+xml; charset=utf-8"
    );
    (headers, res.text().await.unwrap())
}

async fn staff(app: &TestApp) -> Account {
    app.member("Rae Staff", Role::Staff).await
}

async fn a_story_feed_is_atom_with_its_published_comments_and_replies(app: TestApp) {
    let rae = staff(&app).await;
    let story = app.story(&rae, "budget").await;
    let sam = app.reader("Sam").await;
    let tia = app.reader("Tia").await;
    let first = app
        .comment(&sam, story, None, "The *budget* is fine.")
        .await;
    let reply = app.comment(&tia, story, Some(first), "I disagree.").await;
    let (_, xml) = fetch(&app, "/stories/budget/comments.atom").await;
    let feed = atom(&xml);
    assert_eq!(
        one(&feed.elements, "feed/title").text,
        "Comments on “Headline of budget”"
    );
    let self_link = feed
        .elements
        .iter()
        .find(|e| e.path == "feed/link" && e.attrs["rel"] == "self")
        .unwrap();
    assert_eq!(
        self_link.attrs["href"],
        app.url("/stories/budget/comments.atom")
    );
    assert_eq!(feed.entries.len(), 2);
    let newest = &feed.entries[0];
    assert!(
        newest
            .id
            .ends_with(&format!(":parley/{}/comment/{reply}", app.site_id)),
        "{}",
        newest.id
    );
    assert_eq!(newest.author, "Tia");
    assert_eq!(newest.title, "Tia replied to Sam on “Headline of budget”");
    assert_eq!(newest.link, app.url(&format!("/stories/budget#c{reply}")));
    assert_eq!(newest.content, "<p>I disagree.</p>\n");
    let oldest = &feed.entries[1];
    assert_eq!(oldest.author, "Sam");
    assert!(oldest.content.contains("<em>budget</em>"));
    // Ids stay the same from one fetch to the next.
    let (_, again) = fetch(&app, "/stories/budget/comments.atom").await;
    assert_eq!(atom(&again).entries[1].id, oldest.id);
}

async fn feeds_leave_out_pending_rejected_and_deleted_comments(app: TestApp) {
    let rae = staff(&app).await;
    let story = app.story(&rae, "held").await;
    let mona = app.member("Mona Mod", Role::Moderator).await;
    let sam = app.reader("Sam").await;
    let tia = app.reader("Tia").await;
    let kept = app.comment(&sam, story, None, "Kept comment.").await;
    let gone = app.comment(&sam, story, None, "Deleted comment.").await;
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/comments/{gone}"),
            Some(&sam.token),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let rejected = app.comment(&tia, story, None, "Rejected comment.").await;
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{rejected}/reject"),
            Some(&mona.token),
            json!({"reason_code": "abuse"}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    // Everything after this is held for moderators.
    let r = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/sites/courier/policy",
            Some(&app.member("Ada Admin", Role::Admin).await.token),
            Some(json!({"premoderate": true})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&tia.token),
            json!({"body": "Pending comment."}),
        )
        .await;
    assert_eq!(r.body["comment"]["status"], "pending", "{}", r.body);

    let (_, xml) = fetch(&app, "/stories/held/comments.atom").await;
    let feed = atom(&xml);
    assert_eq!(feed.entries.len(), 1, "{xml}");
    assert!(feed.entries[0].id.ends_with(&format!("/comment/{kept}")));
    for hidden in ["Deleted comment", "Rejected comment", "Pending comment"] {
        assert!(!xml.contains(hidden), "{hidden} is in the feed");
    }
}

async fn hostile_text_is_escaped_in_feeds(app: TestApp) {
    let rae = staff(&app).await;
    let r = app
        .post(
            "/api/v1/stories",
            Some(&rae.token),
            json!({
                "url": "https://courier.example/x",
                "slug": "hostile",
                "headline": "</title><script>alert(1)</script> & \"friends\"",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let story = r.body["story"]["id"].as_i64().unwrap();
    let evil = app.reader("<b>Evil</b> & ]]>").await;
    let body = "<script>alert('feed')</script> ]]> &amp; <![CDATA[ x ]]>";
    let c = app.comment(&evil, story, None, body).await;
    let mona = app.member("Mona Mod", Role::Moderator).await;
    let r = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/comments/{c}/featured"),
            Some(&mona.token),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);

    for path in ["/stories/hostile/comments.atom", "/selected.atom"] {
        let (_, xml) = fetch(&app, path).await;
        let feed = atom(&xml);
        assert!(!xml.contains("<script"), "{path}: {xml}");
        assert!(!xml.contains("<b>"), "{path}");
        let entry = &feed.entries[0];
        assert_eq!(entry.author, "<b>Evil</b> & ]]>");
        assert!(
            entry
                .title
                .contains("</title><script>alert(1)</script> & \"friends\"")
        );
        // The content, once unescaped, is the sanitised HTML: the script is text.
        assert!(!entry.content.contains("<script"), "{}", entry.content);
        assert!(
            entry.content.contains("&lt;script&gt;"),
            "{}",
            entry.content
        );
    }
}

async fn the_selected_feed_holds_the_sites_featured_comments(app: TestApp) {
    let rae = staff(&app).await;
    let one_story = app.story(&rae, "one").await;
    let two_story = app.story(&rae, "two").await;
    let sam = app.reader("Sam").await;
    let mona = app.member("Mona Mod", Role::Moderator).await;
    let a = app.comment(&sam, one_story, None, "Selected on one.").await;
    let b = app.comment(&sam, two_story, None, "Selected on two.").await;
    app.comment(&sam, two_story, None, "Not selected.").await;
    for id in [a, b] {
        let r = app
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/comments/{id}/featured"),
                Some(&mona.token),
                None,
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
    }
    let (_, xml) = fetch(&app, "/selected.atom").await;
    let feed = atom(&xml);
    assert_eq!(
        one(&feed.elements, "feed/title").text,
        "Selected comments · courier"
    );
    let links: Vec<&str> = feed.entries.iter().map(|e| e.link.as_str()).collect();
    assert_eq!(
        links,
        vec![
            app.url(&format!("/stories/two#c{b}")),
            app.url(&format!("/stories/one#c{a}")),
        ]
    );
    assert!(!xml.contains("Not selected"));
    // The same feed by site name; an unknown site is not found.
    let (_, named) = fetch(&app, "/selected.atom?site=courier").await;
    assert_eq!(atom(&named).entries.len(), 2);
    let r = app
        .http
        .get(app.url("/selected.atom?site=nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // With nothing selected the feed is still valid Atom.
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/comments/{a}/featured"),
            Some(&mona.token),
            None,
        )
        .await;
    assert!(r.status.is_success());
    let r = app
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/comments/{b}/featured"),
            Some(&mona.token),
            None,
        )
        .await;
    assert!(r.status.is_success());
    let (_, empty) = fetch(&app, "/selected.atom").await;
    assert!(atom(&empty).entries.is_empty());
}

async fn feeds_revalidate_with_etags(app: TestApp) {
    let rae = staff(&app).await;
    let story = app.story(&rae, "etag").await;
    let sam = app.reader("Sam").await;
    app.comment(&sam, story, None, "One.").await;
    for path in ["/stories/etag/comments.atom", "/selected.atom"] {
        let (headers, _) = fetch(&app, path).await;
        let etag = headers["etag"].to_str().unwrap().to_owned();
        assert!(headers.contains_key("last-modified"), "{path}");
        let r = app
            .http
            .get(app.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    // A new comment changes the story feed's ETag.
    let (before, _) = fetch(&app, "/stories/etag/comments.atom").await;
    app.comment(&sam, story, None, "Two.").await;
    let r = app
        .http
        .get(app.url("/stories/etag/comments.atom"))
        .header("if-none-match", before["etag"].to_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(atom(&r.text().await.unwrap()).entries.len() == 2);
}

async fn a_feed_of_an_unknown_story_is_not_found(app: TestApp) {
    let r = app
        .http
        .get(app.url("/stories/nothing-here/comments.atom"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
