//! Atom 1.0 feeds: a story's newest published comments and replies
//! (`/stories/{slug}/comments.atom`) and a site's newest selected comments
//! (`/selected.atom`). Only published comments appear. The XML is written by quick-xml,
//! which escapes every text and attribute; comment bodies go in as escaped sanitised
//! HTML (`type="html"`). The story feed carries an ETag made of the story's version.

use std::collections::HashMap;
use std::io;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use bytes::Bytes;
use parley_store::{Comment, Site, Story};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

use super::{PagePath, PageQuery, PageResult, our_origin};
use crate::AppState;
use crate::api::comments::{cached_response, fnv};
use crate::error::ApiError;

/// Entries in one feed.
pub const FEED_ENTRIES: i64 = 50;
const ATOM: &str = "application/atom+xml; charset=utf-8";

/// One entry, ready to write.
struct Entry {
    id: String,
    title: String,
    link: String,
    author: String,
    published: i64,
    updated: i64,
    html: String,
}

struct Feed {
    id: String,
    title: String,
    subtitle: Option<String>,
    self_link: String,
    page_link: String,
    updated: i64,
    entries: Vec<Entry>,
}

/// Whole seconds in UTC, the form feed readers handle best.
fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// XML 1.0 cannot carry most control characters, escaped or not: leave them out.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(&xml_text(text)))?;
    Ok(())
}

fn link(w: &mut Writer<Vec<u8>>, rel: &str, kind: Option<&str>, href: &str) -> io::Result<()> {
    let mut el = w
        .create_element("link")
        .with_attribute(("rel", rel))
        .with_attribute(("href", xml_text(href).as_str()));
    if let Some(kind) = kind {
        el = el.with_attribute(("type", kind));
    }
    el.write_empty()?;
    Ok(())
}

fn write_feed(feed: &Feed) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
    w.create_element("feed")
        .with_attribute(("xmlns", "http://www.w3.org/2005/Atom"))
        .write_inner_content(|w| {
            text_element(w, "id", &feed.id)?;
            text_element(w, "title", &feed.title)?;
            if let Some(subtitle) = &feed.subtitle {
                text_element(w, "subtitle", subtitle)?;
            }
            text_element(w, "updated", &rfc3339(feed.updated))?;
            link(w, "self", Some("application/atom+xml"), &feed.self_link)?;
            link(w, "alternate", Some("text/html"), &feed.page_link)?;
            w.create_element("generator")
                .write_text_content(BytesText::new("Parley"))?;
            for e in &feed.entries {
                w.create_element("entry").write_inner_content(|w| {
                    text_element(w, "id", &e.id)?;
                    text_element(w, "title", &e.title)?;
                    text_element(w, "published", &rfc3339(e.published))?;
                    text_element(w, "updated", &rfc3339(e.updated))?;
                    w.create_element("author").write_inner_content(|w| {
                        text_element(w, "name", &e.author)?;
                        Ok(())
                    })?;
                    link(w, "alternate", Some("text/html"), &e.link)?;
                    w.create_element("content")
                        .with_attribute(("type", "html"))
                        .write_text_content(BytesText::new(&xml_text(&e.html)))?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    Ok(w.into_inner())
}

/// The tag URI authority and date for a site: this server's host name and the day the
/// site was created, so ids stay the same for as long as the public origin does.
struct Ids {
    authority: String,
    date: String,
}

impl Ids {
    fn new(origin: &str, site: &Site) -> Self {
        let host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        let date =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(site.created_at) * 1_000_000)
                .map(|t| t.date())
                .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
                .unwrap_or_else(|_| "2026-01-01".to_owned());
        Ids {
            authority: if host.is_empty() {
                "localhost".to_owned()
            } else {
                host.to_ascii_lowercase()
            },
            date,
        }
    }

    fn tag(&self, site: &Site, what: &str) -> String {
        format!(
            "tag:{},{}:parley/{}/{what}",
            self.authority, self.date, site.id
        )
    }
}

fn entry(ids: &Ids, site: &Site, origin: &str, story: &Story, c: &Comment) -> Entry {
    let author = c
        .author_name
        .clone()
        .unwrap_or_else(|| "A reader".to_owned());
    let title = match &c.parent_author_name {
        Some(parent) if c.parent_id.is_some() => {
            format!(
                "{author} replied to {parent} on “{}”",
                story.fields.headline
            )
        }
        _ => format!("{author} on “{}”", story.fields.headline),
    };
    Entry {
        id: ids.tag(site, &format!("comment/{}", c.id)),
        title,
        link: format!("{origin}/stories/{}#c{}", story.fields.slug, c.id),
        author,
        published: c.created_at,
        updated: c.edited_at.unwrap_or(c.created_at).max(c.created_at),
        html: c.body_html.clone(),
    }
}

fn origin_of(headers: &HeaderMap, state: &AppState) -> String {
    our_origin(headers, state).unwrap_or_else(|| "http://localhost".to_owned())
}

fn atom_response(body: Vec<u8>, etag: &str, updated: i64, headers: &HeaderMap) -> Response {
    let mut r = cached_response(Bytes::from(body), etag, headers, ATOM);
    let h = r.headers_mut();
    if let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(updated) * 1_000_000)
        && let Ok(s) = t.format(&Rfc2822)
        && let Ok(v) = HeaderValue::from_str(&s.replace("+0000", "GMT"))
    {
        h.insert(header::LAST_MODIFIED, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    r
}

/// Whether If-None-Match names `etag`.
fn revalidated(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
}

fn xml_failed(e: io::Error) -> ApiError {
    ApiError::Internal(format!("writing a feed: {e}"))
}

/// GET /stories/{slug}/comments.atom
pub async fn story_comments(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    headers: HeaderMap,
) -> PageResult<Response> {
    let site = state.site(None).await?;
    let story = state
        .store
        .story_by_slug(site.id, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("story"))?;
    let origin = origin_of(&headers, &state);
    // The story's version changes with every comment readers can see.
    let etag = format!("\"a{}-{}-{:x}\"", story.id, story.version, fnv(&origin));
    if revalidated(&headers, &etag) {
        // Unchanged since the reader's copy: no need to read the comments.
        let mut r = cached_response(Bytes::new(), &etag, &headers, ATOM);
        r.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        );
        return Ok(r);
    }
    let comments = state
        .store
        .feed_story_comments(story.id, FEED_ENTRIES)
        .await?;
    let ids = Ids::new(&origin, &site);
    let entries: Vec<Entry> = comments
        .iter()
        .map(|c| entry(&ids, &site, &origin, &story, c))
        .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(story.created_at)
        .max(story.created_at);
    let feed = Feed {
        id: ids.tag(&site, &format!("story/{}/comments", story.id)),
        title: format!("Comments on “{}”", story.fields.headline),
        subtitle: (!story.fields.standfirst.is_empty()).then(|| story.fields.standfirst.clone()),
        self_link: format!("{origin}/stories/{}/comments.atom", story.fields.slug),
        page_link: format!("{origin}/stories/{}#conversation", story.fields.slug),
        updated,
        entries,
    };
    let body = write_feed(&feed).map_err(xml_failed)?;
    Ok(atom_response(body, &etag, updated, &headers))
}

#[derive(Deserialize)]
pub struct SelectedQuery {
    site: Option<String>,
}

/// GET /selected.atom (`?site=NAME` for another site than the default)
pub async fn selected(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SelectedQuery>,
    headers: HeaderMap,
) -> PageResult<Response> {
    let site = state.site(q.site.as_deref()).await?;
    let origin = origin_of(&headers, &state);
    let comments = state
        .store
        .feed_featured_comments(site.id, FEED_ENTRIES)
        .await?;
    let mut stories: HashMap<i64, Story> = HashMap::new();
    for c in &comments {
        if !stories.contains_key(&c.story_id)
            && let Some(story) = state.store.story_by_id(c.story_id).await?
        {
            stories.insert(story.id, story);
        }
    }
    let ids = Ids::new(&origin, &site);
    let entries: Vec<Entry> = comments
        .iter()
        .filter_map(|c| {
            stories
                .get(&c.story_id)
                .map(|story| entry(&ids, &site, &origin, story, c))
        })
        .collect();
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or(site.created_at);
    let self_link = match &q.site {
        Some(name) => format!("{origin}/selected.atom?site={}", super::enc(name)),
        None => format!("{origin}/selected.atom"),
    };
    let feed = Feed {
        id: ids.tag(&site, "selected"),
        title: format!("Selected comments · {}", site.name),
        subtitle: Some("Comments chosen by the editors".to_owned()),
        self_link,
        page_link: format!("{origin}/"),
        updated,
        entries,
    };
    let body = write_feed(&feed).map_err(xml_failed)?;
    let etag = format!("\"s{:x}\"", fnv(&String::from_utf8_lossy(&body)));
    Ok(atom_response(body, &etag, updated, &headers))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hostile_text_is_escaped_and_control_characters_dropped() {
        let feed = Feed {
            id: "tag:x.example,2026-01-01:parley/1/selected".into(),
            title: "A <b>bold</b> & \"quoted\" \u{1}title".into(),
            subtitle: None,
            self_link: "http://x.example/selected.atom?a=1&b=2".into(),
            page_link: "http://x.example/".into(),
            updated: 0,
            entries: vec![Entry {
                id: "tag:x.example,2026-01-01:parley/1/comment/1".into(),
                title: "t".into(),
                link: "http://x.example/stories/s#c1".into(),
                author: "<script>alert(1)</script>".into(),
                published: 0,
                updated: 0,
                html: "<p>a &amp; b</p>".into(),
            }],
        };
        let xml = String::from_utf8(write_feed(&feed).unwrap()).unwrap();
        assert!(
            xml.contains("A &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; title"),
            "{xml}"
        );
        assert!(xml.contains("?a=1&amp;b=2"));
        assert!(xml.contains("&lt;script&gt;"));
        assert!(xml.contains("&lt;p&gt;a &amp;amp; b&lt;/p&gt;"));
        assert!(!xml.contains('\u{1}'));
        assert!(xml.contains("<updated>1970-01-01T00:00:00Z</updated>"));
    }

    #[test]
    fn tag_ids_use_the_host_without_port() {
        let site = Site {
            id: 3,
            name: "courier".into(),
            origins: vec![],
            created_at: 1_788_424_200_000,
        };
        let ids = Ids::new("http://127.0.0.1:8080", &site);
        assert_eq!(
            ids.tag(&site, "selected"),
            "tag:127.0.0.1,2026-09-03:parley/3/selected"
        );
    }
}
