//! Stories: written by staff, found by id, URL or slug; comment counts by URL.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use parley_core::{Role, markdown};
use parley_store::Story;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::publish::{self, StoryInput};
use crate::view::StoryView;

/// The most URLs one counts request may ask about.
pub const MAX_COUNT_URLS: usize = 100;

pub async fn create(
    State(state): State<AppState>,
    me: SignedIn,
    ApiJson(input): ApiJson<StoryInput>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Staff)?;
    let site = state.site(input.site.as_deref()).await?;
    let story = publish::create_story(&state, &me.user, &site, input, None).await?;
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
    let story = publish::update_story(&state, &me.user, story, input, None).await?;
    Ok(Json(json!({ "story": StoryView::from(&story) })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewBody {
    body: String,
}

/// POST /api/v1/preview: a story body rendered as its page would show it (staff).
pub async fn preview(
    me: SignedIn,
    ApiJson(input): ApiJson<PreviewBody>,
) -> ApiResult<impl IntoResponse> {
    me.require_role(Role::Staff)?;
    if input.body.len() > publish::MAX_BODY_BYTES {
        return Err(ApiError::invalid("body", "a story body has at most 1 MB"));
    }
    Ok(Json(json!({ "html": markdown::render_story(&input.body) })))
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
