//! Writing stories in the browser: `/write` and `/stories/{slug}/edit`, one form with
//! every field of the story page, a preview rendered exactly as the page renders the
//! body, and POST-redirect-GET on save. The rules are `crate::publish`'s, the API's.
//!
//! The date is a `datetime-local` input read as UTC (the pages show dates in UTC too).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use parley_core::{Role, markdown};
use parley_store::{Story, User};
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{
    Chrome, PageError, PageForm, PagePath, PageResult, Viewer, describe, our_origin, render,
    see_other, sentence,
};
use crate::AppState;
use crate::error::ApiError;
use crate::publish::{self, StoryInput};

/// The form as posted: every field a string, as the browser sends it.
#[derive(Deserialize, Default)]
pub struct WriteForm {
    #[serde(default)]
    headline: String,
    #[serde(default)]
    standfirst: String,
    #[serde(default)]
    published_at: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    picture_url: String,
    #[serde(default)]
    picture_caption: String,
    #[serde(default)]
    picture_credit: String,
    #[serde(default)]
    body: String,
    closed: Option<String>,
    #[serde(default)]
    closed_message: String,
    /// Present when the Preview button sent the form.
    preview: Option<String>,
}

/// `2026-11-28T09:00` (what datetime-local inputs take and send), in UTC.
fn local_input(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
                .ok()
        })
        .unwrap_or_default()
}

/// A datetime-local value (no offset) read as UTC; anything with an offset is kept.
fn as_rfc3339(raw: &str) -> String {
    let raw = raw.trim();
    let has_offset = raw
        .split_once('T')
        .is_some_and(|(_, time)| time.contains(['Z', 'z', '+', '-']));
    match raw.len() {
        _ if has_offset => raw.to_owned(),
        16 => format!("{raw}:00Z"),
        n if n >= 19 => format!("{raw}Z"),
        _ => raw.to_owned(),
    }
}

impl WriteForm {
    fn from_story(story: &Story) -> Self {
        let f = &story.fields;
        WriteForm {
            headline: f.headline.clone(),
            standfirst: f.standfirst.clone(),
            published_at: local_input(f.published_at),
            slug: f.slug.clone(),
            url: f.url.clone(),
            picture_url: f.picture_url.clone().unwrap_or_default(),
            picture_caption: f.picture_caption.clone().unwrap_or_default(),
            picture_credit: f.picture_credit.clone().unwrap_or_default(),
            body: f.body_md.clone(),
            closed: f.is_closed.then(|| "on".to_owned()),
            closed_message: f.closed_message.clone().unwrap_or_default(),
            preview: None,
        }
    }

    /// Every field is given: a blank one clears it (a blank date keeps the stored date,
    /// or is now for a new story).
    fn input(&self) -> StoryInput {
        StoryInput {
            site: None,
            url: Some(self.url.clone()),
            slug: Some(self.slug.clone()),
            headline: Some(self.headline.clone()),
            standfirst: Some(self.standfirst.clone()),
            body: Some(self.body.clone()),
            published_at: (!self.published_at.trim().is_empty())
                .then(|| as_rfc3339(&self.published_at)),
            picture_url: Some(self.picture_url.clone()),
            picture_caption: Some(self.picture_caption.clone()),
            picture_credit: Some(self.picture_credit.clone()),
            is_closed: Some(self.closed.is_some()),
            closed_message: Some(self.closed_message.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "write.html", whitespace = "minimize")]
struct WritePage<'a> {
    chrome: Chrome<'a>,
    heading: &'a str,
    action: String,
    /// The story's page, when editing.
    story_href: Option<String>,
    form: &'a WriteForm,
    error: Option<String>,
    error_field: Option<&'static str>,
    preview: Option<String>,
    write_js: &'static str,
}

impl WritePage<'_> {
    fn invalid(&self, field: &str) -> bool {
        self.error_field == Some(field)
    }

    fn closed(&self) -> bool {
        self.form.closed.is_some()
    }
}

/// The form's label of a field, to say which one a message is about.
fn label(field: &str) -> &'static str {
    match field {
        "headline" => "Headline",
        "standfirst" => "Standfirst",
        "slug" => "Slug",
        "url" => "Article URL",
        "picture_url" => "Picture URL",
        "body" => "Body",
        _ => "This field",
    }
}

/// The signed-in staff member of this site, or why not: signed-out readers go to sign
/// in and come back to `here`, others get 403.
fn writer<'v>(viewer: &'v Viewer, site_id: i64, here: &str) -> PageResult<&'v User> {
    let me = &viewer.require(here)?.user;
    if me.role < Role::Staff || me.site_id != site_id {
        return Err(ApiError::forbidden("only the newsroom's staff can write stories here").into());
    }
    Ok(me)
}

struct Shown<'a> {
    heading: &'a str,
    action: String,
    story_href: Option<String>,
    here: String,
}

fn show(
    site_name: &str,
    me: &User,
    shown: Shown<'_>,
    status: StatusCode,
    form: &WriteForm,
    error: Option<&ApiError>,
    preview: Option<String>,
) -> Response {
    let (message, field) = match error {
        Some(e) => {
            let field = match e {
                ApiError::Client { field, .. } => *field,
                _ => None,
            };
            let message = match (field, e) {
                (Some("published_at"), _) => {
                    "Date and time: give them as shown, e.g. 2026-11-28 09:00 (UTC).".to_owned()
                }
                (Some(f), ApiError::Client { message, .. }) => {
                    sentence(&format!("{}: {message}", label(f)))
                }
                _ => describe(e).2,
            };
            (Some(message), field)
        }
        None => (None, None),
    };
    let page = WritePage {
        chrome: Chrome::new(site_name, Some(me), shown.here),
        heading: shown.heading,
        action: shown.action,
        story_href: shown.story_href,
        form,
        error: message,
        error_field: field,
        preview,
        write_js: crate::assets::write_js_url(),
    };
    render(status, &page)
}

/// GET /write: an empty form.
pub async fn new_page(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    let site = state.site(None).await?;
    let me = writer(&viewer, site.id, "/write")?;
    let form = WriteForm::default();
    Ok(show(
        &site.name,
        me,
        new_shown(),
        StatusCode::OK,
        &form,
        None,
        None,
    ))
}

fn new_shown() -> Shown<'static> {
    Shown {
        heading: "Write a story",
        action: "/write".into(),
        story_href: None,
        here: "/write".into(),
    }
}

fn edit_shown(slug: &str) -> Shown<'static> {
    Shown {
        heading: "Edit story",
        action: format!("/stories/{slug}/edit"),
        story_href: Some(format!("/stories/{slug}")),
        here: format!("/stories/{slug}/edit"),
    }
}

/// POST /write: preview, or create the story and go to it.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    PageForm(form): PageForm<WriteForm>,
) -> PageResult<Response> {
    let site = state.site(None).await?;
    let me = writer(&viewer, site.id, "/write")?;
    if form.preview.is_some() {
        let html = markdown::render_story(&form.body);
        return Ok(show(
            &site.name,
            me,
            new_shown(),
            StatusCode::OK,
            &form,
            None,
            Some(html),
        ));
    }
    let origin = our_origin(&headers, &state);
    match publish::create_story(&state, me, &site, form.input(), origin.as_deref()).await {
        Ok(story) => Ok(see_other(&format!("/stories/{}", story.fields.slug))),
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let status = describe(&e).0;
            Ok(show(
                &site.name,
                me,
                new_shown(),
                status,
                &form,
                Some(&e),
                None,
            ))
        }
    }
}

async fn story_of_site(state: &AppState, site_id: i64, slug: &str) -> PageResult<Story> {
    state
        .store
        .story_by_slug(site_id, slug)
        .await?
        .ok_or_else(|| PageError::Api(ApiError::not_found("story")))
}

/// GET /stories/{slug}/edit: the form with the story's fields.
pub async fn edit_page(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    viewer: Viewer,
) -> PageResult<Response> {
    let site = state.site(None).await?;
    let me = writer(&viewer, site.id, &format!("/stories/{slug}/edit"))?;
    let story = story_of_site(&state, site.id, &slug).await?;
    let form = WriteForm::from_story(&story);
    Ok(show(
        &site.name,
        me,
        edit_shown(&slug),
        StatusCode::OK,
        &form,
        None,
        None,
    ))
}

/// POST /stories/{slug}/edit: preview, or save and go back to the story.
pub async fn edit(
    State(state): State<AppState>,
    PagePath(slug): PagePath<String>,
    viewer: Viewer,
    headers: HeaderMap,
    PageForm(form): PageForm<WriteForm>,
) -> PageResult<Response> {
    let site = state.site(None).await?;
    let me = writer(&viewer, site.id, &format!("/stories/{slug}/edit"))?;
    let story = story_of_site(&state, site.id, &slug).await?;
    if form.preview.is_some() {
        let html = markdown::render_story(&form.body);
        return Ok(show(
            &site.name,
            me,
            edit_shown(&slug),
            StatusCode::OK,
            &form,
            None,
            Some(html),
        ));
    }
    let origin = our_origin(&headers, &state);
    match publish::update_story(&state, me, story, form.input(), origin.as_deref()).await {
        Ok(story) => {
            state.pages.set_slug(site.id, &slug, None);
            Ok(see_other(&format!("/stories/{}", story.fields.slug)))
        }
        Err(e @ ApiError::Internal(_)) => Err(e.into()),
        Err(e) => {
            let status = describe(&e).0;
            Ok(show(
                &site.name,
                me,
                edit_shown(&slug),
                status,
                &form,
                Some(&e),
                None,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_are_read_as_utc() {
        assert_eq!(as_rfc3339("2026-11-28T09:00"), "2026-11-28T09:00:00Z");
        assert_eq!(as_rfc3339("2026-11-28T09:00:30"), "2026-11-28T09:00:30Z");
        assert_eq!(
            as_rfc3339("2026-11-28T09:00:30.250"),
            "2026-11-28T09:00:30.250Z"
        );
        assert_eq!(as_rfc3339("2026-11-28T09:00Z"), "2026-11-28T09:00Z");
        assert_eq!(
            as_rfc3339("2026-11-28T09:00:00+01:00"),
            "2026-11-28T09:00:00+01:00"
        );
        assert_eq!(local_input(1_788_424_200_000), "2026-09-03T08:30");
    }
}
