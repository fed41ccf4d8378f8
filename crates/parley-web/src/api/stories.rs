//! Stories: written by staff, found by id, URL or slug; comment counts by URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use parley_core::{Role, markdown, slugify};
use parley_store::{Story, StoryFields};
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::view::StoryView;
use crate::{AppState, now_ms};

/// The most URLs one counts request may ask about.
pub const MAX_COUNT_URLS: usize = 100;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StoryInput {
    site: Option<String>,
    url: Option<String>,
    slug: Option<String>,
    headline: Option<String>,
    standfirst: Option<String>,
    body: Option<String>,
    /// RFC 3339; defaults to now on creation.
    published_at: Option<String>,
    picture_url: Option<String>,
    picture_caption: Option<String>,
    picture_credit: Option<String>,
    is_closed: Option<bool>,
    closed_message: Option<String>,
}

fn check_url(field: &'static str, url: &str) -> ApiResult<()> {
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 2000
        && !url.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(field, "this must be an http(s) URL"))
    }
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl StoryInput {
    /// Applies the given fields over `base` and checks the result.
    fn merge(self, base: Option<StoryFields>) -> ApiResult<StoryFields> {
        let now = now_ms();
        let mut f =
            base.unwrap_or_else(|| StoryFields::bare("", String::new(), String::new(), now));
        if let Some(url) = self.url {
            f.url = url.trim().to_owned();
        }
        if let Some(h) = self.headline {
            f.headline = h.trim().to_owned();
        }
        if let Some(slug) = self.slug {
            f.slug = slugify(&slug);
        }
        if f.slug.is_empty() {
            f.slug = slugify(&f.headline);
        }
        if let Some(s) = self.standfirst {
            f.standfirst = s.trim().to_owned();
        }
        if let Some(b) = self.body {
            f.body_md = b;
        }
        if let Some(p) = self.published_at {
            let t = OffsetDateTime::parse(&p, &Rfc3339).map_err(|_| {
                ApiError::invalid(
                    "published_at",
                    "use an RFC 3339 time, e.g. 2026-11-28T09:00:00Z",
                )
            })?;
            f.published_at = i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
                .map_err(|_| ApiError::invalid("published_at", "this time is out of range"))?;
        }
        if self.picture_url.is_some() {
            f.picture_url = non_blank(self.picture_url);
        }
        if self.picture_caption.is_some() {
            f.picture_caption = non_blank(self.picture_caption);
        }
        if self.picture_credit.is_some() {
            f.picture_credit = non_blank(self.picture_credit);
        }
        if let Some(c) = self.is_closed {
            f.is_closed = c;
        }
        if self.closed_message.is_some() {
            f.closed_message = non_blank(self.closed_message);
        }
        check_url("url", &f.url)?;
        if let Some(p) = &f.picture_url {
            check_url("picture_url", p)?;
        }
        let headline_len = f.headline.chars().count();
        if headline_len == 0 || headline_len > 300 {
            return Err(ApiError::invalid(
                "headline",
                "a headline needs 1 to 300 characters",
            ));
        }
        if f.standfirst.chars().count() > 1000 {
            return Err(ApiError::invalid(
                "standfirst",
                "a standfirst has at most 1,000 characters",
            ));
        }
        if f.body_md.len() > 1_000_000 {
            return Err(ApiError::invalid("body", "a story body has at most 1 MB"));
        }
        Ok(f)
    }
}

pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(input): ApiJson<StoryInput>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Staff)?;
    let site = state.site(input.site.as_deref()).await?;
    if site.id != me.user.site_id {
        return Err(ApiError::forbidden(
            "you can only write stories for your own site",
        ));
    }
    let fields = input.merge(None)?;
    let html = markdown::render_story(&fields.body_md);
    let story = state
        .store
        .create_story(site.id, fields, html, now_ms())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "story": StoryView::from(&story) })),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    me: SignedIn,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<StoryInput>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Staff)?;
    let story = state.story(id).await?;
    if story.site_id != me.user.site_id {
        return Err(ApiError::forbidden(
            "you can only edit stories of your own site",
        ));
    }
    if input.site.is_some() {
        return Err(ApiError::invalid(
            "site",
            "a story cannot move to another site",
        ));
    }
    let fields = input.merge(Some(story.fields))?;
    let html = markdown::render_story(&fields.body_md);
    let story = state.store.update_story(id, fields, html, now_ms()).await?;
    state.cache.invalidate(id);
    state.events.publish(crate::events::StoryEvent {
        id: 0,
        kind: crate::events::EventKind::StoryChanged,
        story_id: id,
        comment_id: None,
        parent_id: None,
        author_id: None,
        reaction_count: None,
    });
    Ok(Json(json!({ "story": StoryView::from(&story) })))
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    let story = state.story(id).await?;
    Ok(Json(json!({ "story": StoryView::from(&story) })))
}

#[derive(Deserialize)]
pub struct Lookup {
    site: Option<String>,
    url: Option<String>,
    slug: Option<String>,
    limit: Option<i64>,
}

/// `?url=` or `?slug=` finds one story; neither lists the site's newest stories.
pub async fn find(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<Lookup>,
) -> ApiResult<impl IntoResponse> {
    let site = state.site(q.site.as_deref()).await?;
    let found: Option<Story> = match (q.url, q.slug) {
        (Some(url), _) => state.store.story_by_url(site.id, &url).await?,
        (None, Some(slug)) => state.store.story_by_slug(site.id, &slug).await?,
        (None, None) => {
            let limit = q.limit.unwrap_or(50).clamp(1, 200);
            let stories = state.store.list_stories(site.id, limit).await?;
            let views: Vec<StoryView> = stories.iter().map(StoryView::from).collect();
            return Ok(Json(json!({ "stories": views })));
        }
    };
    let story = found.ok_or_else(|| ApiError::not_found("story"))?;
    Ok(Json(json!({ "story": StoryView::from(&story) })))
}

#[derive(Deserialize)]
pub struct CountsBody {
    site: Option<String>,
    urls: Vec<String>,
}

/// GET /api/v1/counts?site=NAME&url=A&url=B
pub async fn counts_get(
    State(state): State<AppState>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<impl IntoResponse> {
    let mut site = None;
    let mut urls = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "site" => site = Some(v),
            "url" => urls.push(v),
            _ => {}
        }
    }
    counts(&state, site, urls).await
}

/// POST /api/v1/counts {"site": NAME, "urls": [...]}
pub async fn counts_post(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CountsBody>,
) -> ApiResult<impl IntoResponse> {
    counts(&state, body.site, body.urls).await
}

async fn counts(
    state: &AppState,
    site: Option<String>,
    mut urls: Vec<String>,
) -> ApiResult<Json<serde_json::Value>> {
    if urls.is_empty() {
        return Err(ApiError::invalid("url", "name at least one story URL"));
    }
    if urls.len() > MAX_COUNT_URLS {
        return Err(ApiError::invalid(
            "url",
            format!("at most {MAX_COUNT_URLS} URLs per request"),
        ));
    }
    urls.sort();
    urls.dedup();
    let site = state.site(site.as_deref()).await?;
    let found = state.store.comment_counts(site.id, &urls).await?;
    let mut counts = serde_json::Map::new();
    for url in &urls {
        counts.insert(url.clone(), json!(0));
    }
    for c in found {
        counts.insert(c.url, json!(c.count));
    }
    Ok(Json(json!({ "counts": counts })))
}
