//! The front page, story pages (cached whole for anonymous readers), the comment box's
//! form post, one comment's fragment and the "more replies" thread page.

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parley_core::CommentSort;
use parley_core::thread::{CommentStatus, nest};
use parley_store::{Comment, Story, User};
use serde::Deserialize;

use super::conversation::{self, Build, CommentLi, Conversation, Ctx, FormState, Loaded, Mode};
use super::{
    Chrome, HTML, PageError, PageForm, PagePath, PageQuery, PageResult, Viewer, actions, describe,
    enc, long_date, render, see_other, web_url,
};
use crate::AppState;
use crate::api::comments::{cached_response, fnv};
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::service;
use crate::view::timestamp;

// ---------------------------------------------------------------------------------------
// Front page

struct StoryItem<'a> {
    slug: &'a str,
    headline: &'a str,
    standfirst: &'a str,
    published_iso: String,
    published_human: String,
    count_text: String,
    closed: bool,
}

#[derive(Template)]
#[template(path = "front.html", whitespace = "minimize")]
struct FrontPage<'a> {
    chrome: Chrome<'a>,
    stories: Vec<StoryItem<'a>>,
    /// Staff of this site get a "Write a story" link.
    can_write: bool,
}

pub fn count_text(n: i64) -> String {
    match n {
        0 => "No comments yet".to_owned(),
        1 => "1 comment".to_owned(),
        n => format!("{n} comments"),
    }
}

/// GET /: the default site's newest stories with their comment counts.
pub async fn front_page(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let site = state.site(None).await?;
    let stories = state.store.list_stories(site.id, 30).await?;
    let page = FrontPage {
        chrome: Chrome::new(&site.name, viewer.user(), "/".into()),
        can_write: viewer
            .user()
            .is_some_and(|u| u.site_id == site.id && u.role >= parley_core::Role::Staff),
        stories: stories
            .iter()
            .map(|s| StoryItem {
                slug: &s.fields.slug,
                headline: &s.fields.headline,
                standfirst: &s.fields.standfirst,
                published_iso: timestamp(s.fields.published_at),
                published_human: long_date(s.fields.published_at),
                count_text: count_text(s.comment_count),
                closed: s.fields.is_closed,
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------------------------------------------------------------------------------------
// Story page

#[derive(Template)]
#[template(path = "story.html", whitespace = "minimize")]
struct StoryPage<'a> {
    chrome: Chrome<'a>,
    story: &'a Story,
    published_iso: String,
    published_human: String,
    picture: Option<&'a str>,
    conv: Conversation<'a>,
    /// Staff of the story's site get an "Edit" link.
    can_edit: bool,
}

#[derive(Deserialize, Default)]
pub struct StoryQuery {
    sort: Option<String>,
    cursor: Option<String>,
    from: Option<String>,
    notice: Option<String>,
}

/// Where a page of comments starts: its sort, cursor, and the number of its first comment.
pub struct PageAt {
    pub sort: CommentSort,
    pub cursor: String,
    pub from: i64,
}

impl PageAt {
    pub fn parse(
        sort: Option<&str>,
        cursor: Option<String>,
        from: Option<&str>,
    ) -> PageResult<Self> {
        let sort = service::parse_sort(sort)?;
        let cursor = cursor.unwrap_or_default();
        // Only a page after the first starts anywhere but 1.
        let from = if cursor.is_empty() {
            1
        } else {
            from.and_then(|f| f.trim().parse::<i64>().ok())
                .unwrap_or(1)
                .clamp(1, 10_000_000)
        };
        Ok(PageAt { sort, cursor, from })
    }

    pub fn first() -> Self {
        PageAt {
            sort: CommentSort::default(),
            cursor: String::new(),
            from: 1,
        }
    }
}

/// Messages a redirect can ask the story page to show (`?notice=`).
fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "reported" => Some("Thank you. Your report has been sent to the moderators."),
        "deleted" => Some("Your comment was deleted."),
        _ => None,
    }
}

/// The story with this slug on the site, and the cache generation taken before it was
/// read (so a page built from it is not cached if a write came in meanwhile).
async fn find_story(state: &AppState, site_id: i64, slug: &str) -> PageResult<(Story, u64)> {
    if let Some(id) = state.pages.story_for_slug(site_id, slug) {
        let generation = state.cache.generation(id);
        if let Some(story) = state.store.story_by_id(id).await?
            && story.site_id == site_id
            && story.fields.slug == slug
        {
            return Ok((story, generation));
        }
        state.pages.set_slug(site_id, slug, None);
    }
    let found = state
        .store
        .story_by_slug(site_id, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("story"))?;
    state.pages.set_slug(site_id, slug, Some(found.id));
    let generation = state.cache.generation(found.id);
    let story = state.story(found.id).await?;
    Ok((story, generation))
}

/// GET /stories/{slug}: the story and its conversation. Anonymous readers share one
/// rendering per page, kept in the page cache and answered with an ETag.
pub async fn story_page(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    PageQuery(q): PageQuery<StoryQuery>,
    viewer: Viewer,
    headers: HeaderMap,
) -> PageResult<Response> {
    let site = state.site(None).await?;
    let at = PageAt::parse(q.sort.as_deref(), q.cursor, q.from.as_deref())?;
    let notice = notice_text(q.notice.as_deref());
    let user = viewer.user().filter(|u| u.site_id == site.id);
    let public = user.is_none() && notice.is_none();
    let key = format!("html|{slug}|{}|{}|{}", at.sort.as_str(), at.cursor, at.from);
    if public
        && let Some(id) = state.pages.story_for_slug(site.id, &slug)
        && let Some(hit) = state.cached_page(id, &key).await
    {
        return Ok(public_page(hit.body, &hit.etag, &headers));
    }
    let (story, generation) = find_story(&state, site.id, &slug).await?;
    let story_id = story.id;
    let version = story.version;
    let data = conversation::load(&state, story, at.sort, &at.cursor, user).await?;
    let body = render_story(
        &state,
        &site.name,
        &data,
        &at,
        user,
        &FormState::default(),
        notice,
    )?;
    if !public {
        return Ok(private_page(StatusCode::OK, body));
    }
    let body = Bytes::from(body);
    let etag = format!("\"h{story_id}-{version}-{:x}\"", fnv(&key));
    state.cache.put(
        story_id,
        generation,
        version,
        key,
        body.clone(),
        etag.clone(),
    );
    Ok(public_page(body, &etag, &headers))
}

fn render_story(
    state: &AppState,
    site_name: &str,
    data: &Loaded,
    at: &PageAt,
    user: Option<&User>,
    form: &FormState,
    notice: Option<&'static str>,
) -> PageResult<String> {
    let story = &data.page.story;
    let page = StoryPage {
        chrome: Chrome::new(site_name, user, format!("/stories/{}", story.fields.slug)),
        story,
        published_iso: timestamp(story.fields.published_at),
        published_human: long_date(story.fields.published_at),
        picture: story.fields.picture_url.as_deref().and_then(web_url),
        can_edit: user
            .is_some_and(|u| u.site_id == story.site_id && u.role >= parley_core::Role::Staff),
        conv: conversation::build(
            state,
            data,
            Build {
                mode: Mode::Page,
                viewer: user,
                from: at.from,
                form,
                notice,
            },
        ),
    };
    page.render()
        .map_err(|e| PageError::Api(ApiError::Internal(e.to_string())))
}

/// A page every anonymous reader shares: with an ETag, varying by cookie so a browser
/// never shows it to the same reader once signed in. Browsers revalidate it on every
/// view (a 304 costs little), so a reader who just posted never sees a page without it.
pub fn public_page(body: Bytes, etag: &str, headers: &HeaderMap) -> Response {
    let mut r = cached_response(body, etag, headers, HTML);
    let h = r.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Cookie"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    r
}

/// A page for one reader only.
pub fn private_page(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    r
}

// ---------------------------------------------------------------------------------------
// Posting a comment or a reply

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    parent_id: Option<String>,
}

fn parse_parent(raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => p
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::invalid("parent_id", "the comment to reply to is not valid")),
    }
}

/// POST /stories/{slug}/comments: a comment (or, with `parent_id`, a reply) from the
/// form; back to the story at the new comment, or the form again with the problem.
pub async fn post_comment(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    viewer: Viewer,
    ClientIp(ip): ClientIp,
    PageForm(form): PageForm<CommentForm>,
) -> PageResult<Response> {
    let parent = parse_parent(form.parent_id.as_deref());
    let parent_id = parent.as_ref().ok().copied().flatten();
    let back = match parent_id {
        Some(p) => format!("/comments/{p}/reply"),
        None => format!("/stories/{slug}#comment-form"),
    };
    let me = viewer.require(&back)?;
    let site = state.site(None).await?;
    let story = state
        .store
        .story_by_slug(site.id, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("story"))?;
    let posted = match parent {
        Ok(parent) => {
            service::post_comment(&state, &me.user, story.id, &form.body, parent, ip).await
        }
        Err(e) => Err(e),
    };
    let error = match posted {
        Ok(c) => return Ok(see_other(&format!("/stories/{slug}#c{}", c.id))),
        Err(e @ ApiError::Internal(_)) => return Err(e.into()),
        Err(e) => e,
    };
    let (status, _, message) = describe(&error);
    let form_state = FormState {
        body: form.body,
        error: Some(message),
    };
    if let Some(parent) = parent_id {
        return actions::reply_form_again(&state, &viewer, parent, status, form_state).await;
    }
    let data =
        conversation::load(&state, story, CommentSort::default(), "", Some(&me.user)).await?;
    let body = render_story(
        &state,
        &site.name,
        &data,
        &PageAt::first(),
        Some(&me.user),
        &form_state,
        None,
    )?;
    Ok(private_page(status, body))
}

// ---------------------------------------------------------------------------------------
// One comment, for scripts; a comment with all its replies

/// A comment readers may see, or the viewer's own pending one.
async fn comment_for(state: &AppState, id: i64, viewer: Option<&User>) -> PageResult<Comment> {
    let c = state
        .store
        .comment_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found("comment"))?;
    let own_pending =
        c.status == CommentStatus::Pending && viewer.is_some_and(|v| c.author_id == Some(v.id));
    if c.status.is_visible() || own_pending {
        Ok(c)
    } else {
        Err(ApiError::not_found("comment").into())
    }
}

async fn reacted(state: &AppState, viewer: Option<&User>, ids: &[i64]) -> PageResult<HashSet<i64>> {
    Ok(match viewer {
        Some(v) if !ids.is_empty() => state
            .store
            .reacted_by(v.id, ids)
            .await?
            .into_iter()
            .collect(),
        _ => HashSet::new(),
    })
}

/// GET /comments/{id}/fragment: the `<li>` of one comment as the viewer sees it.
pub async fn fragment(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    viewer: Viewer,
) -> PageResult<Response> {
    let user = viewer.user();
    let c = comment_for(&state, id, user).await?;
    let story = state.story(c.story_id).await?;
    let mut ctx = Ctx::new(
        &state,
        user,
        reacted(&state, user, &[c.id]).await?,
        story.fields.is_closed,
    );
    ctx.edit_window_ms = service::viewer_edit_window_ms(&state, &story, user).await?;
    let li = ctx.li(&c);
    let body = li
        .render()
        .map_err(|e| PageError::Api(ApiError::Internal(e.to_string())))?;
    Ok(private_page(StatusCode::OK, body))
}

#[derive(Template)]
#[template(path = "thread.html", whitespace = "minimize")]
struct ThreadPage<'a> {
    chrome: Chrome<'a>,
    story: &'a Story,
    comment_id: i64,
    author: &'a str,
    li: CommentLi<'a>,
    from_start: Option<String>,
    more: Option<String>,
}

#[derive(Deserialize)]
pub struct ThreadQuery {
    cursor: Option<String>,
}

/// GET /comments/{id}/thread: the comment with its replies, a page at a time.
pub async fn thread_page(
    State(state): State<AppState>,
    PagePath(id): PagePath<i64>,
    PageQuery(q): PageQuery<ThreadQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let user = viewer.user();
    let comment = service::visible_comment(&state, id).await?;
    let story = state.story(comment.story_id).await?;
    let site = state
        .store
        .site_by_id(story.site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    let cursor = q.cursor.unwrap_or_default();
    let (replies, next) =
        service::replies_after(&state, &comment, Some(&cursor), state.config.max_page_size).await?;
    let mut ids: Vec<i64> = replies.iter().map(|r| r.id).collect();
    ids.push(comment.id);
    let mut ctx = Ctx::new(
        &state,
        user,
        reacted(&state, user, &ids).await?,
        story.fields.is_closed,
    );
    ctx.edit_window_ms = service::viewer_edit_window_ms(&state, &story, user).await?;
    let nested = nest(replies);
    let li = CommentLi {
        replies: nested.iter().map(|n| ctx.node(n)).collect(),
        ..ctx.li(&comment)
    };
    let author = if comment.status == CommentStatus::Deleted {
        "a deleted comment"
    } else {
        comment.author_name.as_deref().unwrap_or("a reader")
    };
    let here = if cursor.is_empty() {
        format!("/comments/{id}/thread")
    } else {
        format!("/comments/{id}/thread?cursor={}", enc(&cursor))
    };
    let page = ThreadPage {
        chrome: Chrome::new(&site.name, user, here),
        story: &story,
        comment_id: comment.id,
        author,
        li,
        from_start: (!cursor.is_empty()).then(|| format!("/comments/{id}/thread")),
        more: next.map(|n| format!("/comments/{id}/thread?cursor={}", enc(&n))),
    };
    Ok(render(StatusCode::OK, &page))
}
