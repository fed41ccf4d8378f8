//! Writing stories: one set of rules for the JSON API, the write form and the
//! `parley story publish` command. Fields are merged over the stored story, checked,
//! rendered, and saved only when something changed (a no-op save keeps the version).

use parley_core::{Role, markdown, slugify};
use parley_store::{Site, Store, StoreResult, Story, StoryFields, User};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ApiResult};
use crate::events::{EventKind, StoryEvent};
use crate::{AppState, now_ms};

/// A story's fields as a writer sends them; an absent field keeps the stored value.
#[derive(Deserialize, Default, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct StoryInput {
    pub site: Option<String>,
    pub url: Option<String>,
    pub slug: Option<String>,
    pub headline: Option<String>,
    pub standfirst: Option<String>,
    pub body: Option<String>,
    /// RFC 3339; defaults to now on creation.
    pub published_at: Option<String>,
    pub picture_url: Option<String>,
    pub picture_caption: Option<String>,
    pub picture_credit: Option<String>,
    pub is_closed: Option<bool>,
    pub closed_message: Option<String>,
}

pub const MAX_HEADLINE_CHARS: usize = 300;
pub const MAX_STANDFIRST_CHARS: usize = 1000;
pub const MAX_BODY_BYTES: usize = 1_000_000;

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

/// Unix milliseconds of an RFC 3339 time.
pub fn parse_time(field: &'static str, raw: &str) -> ApiResult<i64> {
    let t = OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map_err(|_| ApiError::invalid(field, "use an RFC 3339 time, e.g. 2026-11-28T09:00:00Z"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| ApiError::invalid(field, "this time is out of range"))
}

impl StoryInput {
    /// Applies the given fields over `base` and checks the result. A blank slug is made
    /// from the headline; a blank URL becomes `{origin}/stories/{slug}` when an origin
    /// is given (the story then lives on this server's own page).
    pub fn merge(
        self,
        base: Option<StoryFields>,
        now: i64,
        default_origin: Option<&str>,
    ) -> ApiResult<StoryFields> {
        let mut f =
            base.unwrap_or_else(|| StoryFields::bare("", String::new(), String::new(), now));
        if let Some(url) = self.url {
            f.url = url.trim().to_owned();
        }
        if let Some(h) = self.headline {
            f.headline = h.trim().to_owned();
        }
        if let Some(slug) = self.slug {
            f.slug = if slug.trim().is_empty() {
                String::new()
            } else {
                slugify(&slug)
            };
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
            f.published_at = parse_time("published_at", &p)?;
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
        let headline_len = f.headline.chars().count();
        if headline_len == 0 || headline_len > MAX_HEADLINE_CHARS {
            return Err(ApiError::invalid(
                "headline",
                "a headline needs 1 to 300 characters",
            ));
        }
        if f.url.is_empty()
            && let Some(origin) = default_origin
        {
            f.url = format!("{}/stories/{}", origin.trim_end_matches('/'), f.slug);
        }
        check_url("url", &f.url)?;
        if let Some(p) = &f.picture_url {
            check_url("picture_url", p)?;
        }
        if f.standfirst.chars().count() > MAX_STANDFIRST_CHARS {
            return Err(ApiError::invalid(
                "standfirst",
                "a standfirst has at most 1,000 characters",
            ));
        }
        if f.body_md.len() > MAX_BODY_BYTES {
            return Err(ApiError::invalid("body", "a story body has at most 1 MB"));
        }
        Ok(f)
    }
}

/// What saving a story did.
pub enum Saved {
    Created(Story),
    Updated(Story),
    /// The fields were those already stored: nothing was written.
    Unchanged(Story),
}

impl Saved {
    pub fn story(&self) -> &Story {
        match self {
            Saved::Created(s) | Saved::Updated(s) | Saved::Unchanged(s) => s,
        }
    }

    pub fn into_story(self) -> Story {
        match self {
            Saved::Created(s) | Saved::Updated(s) | Saved::Unchanged(s) => s,
        }
    }
}

/// Stores checked fields: a new story on `site_id`, or an update of `existing` when
/// something differs from it. Callers that serve pages also drop caches and announce.
pub async fn save(
    store: &dyn Store,
    site_id: i64,
    existing: Option<Story>,
    fields: StoryFields,
    now: i64,
) -> StoreResult<Saved> {
    match existing {
        None => {
            let html = markdown::render_story(&fields.body_md);
            Ok(Saved::Created(
                store.create_story(site_id, fields, html, now).await?,
            ))
        }
        Some(story) if story.fields == fields => Ok(Saved::Unchanged(story)),
        Some(story) => {
            let html = markdown::render_story(&fields.body_md);
            Ok(Saved::Updated(
                store.update_story(story.id, fields, html, now).await?,
            ))
        }
    }
}

/// Staff of the site only.
pub fn require_writer(me: &User, site_id: i64) -> ApiResult<()> {
    if me.role < Role::Staff {
        return Err(ApiError::forbidden("this needs the staff role"));
    }
    if me.site_id != site_id {
        return Err(ApiError::forbidden(
            "you can only write stories for your own site",
        ));
    }
    Ok(())
}

/// A new story by `me` on `site`.
pub async fn create_story(
    state: &AppState,
    me: &User,
    site: &Site,
    input: StoryInput,
    default_origin: Option<&str>,
) -> ApiResult<Story> {
    require_writer(me, site.id)?;
    let now = now_ms();
    let fields = input.merge(None, now, default_origin)?;
    let saved = save(state.store.as_ref(), site.id, None, fields, now).await?;
    Ok(saved.into_story())
}

/// Changes `story` by `me`; cached pages are dropped and live readers told.
pub async fn update_story(
    state: &AppState,
    me: &User,
    story: Story,
    input: StoryInput,
    default_origin: Option<&str>,
) -> ApiResult<Story> {
    require_writer(me, story.site_id)?;
    if input.site.is_some() {
        return Err(ApiError::invalid(
            "site",
            "a story cannot move to another site",
        ));
    }
    let now = now_ms();
    let id = story.id;
    let site_id = story.site_id;
    let fields = input.merge(Some(story.fields.clone()), now, default_origin)?;
    let saved = save(state.store.as_ref(), site_id, Some(story), fields, now).await?;
    if let Saved::Updated(_) = saved {
        state.cache.invalidate(id);
        state.events.publish(StoryEvent {
            id: 0,
            kind: EventKind::StoryChanged,
            story_id: id,
            comment_id: None,
            parent_id: None,
            author_id: None,
            reaction_count: None,
        });
    }
    Ok(saved.into_story())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(headline: &str) -> StoryInput {
        StoryInput {
            headline: Some(headline.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_blank_slug_and_url_come_from_the_headline_and_origin() {
        let f = input("Rain at last!")
            .merge(None, 5, Some("https://news.example/"))
            .unwrap();
        assert_eq!(f.slug, "rain-at-last");
        assert_eq!(f.url, "https://news.example/stories/rain-at-last");
        assert_eq!(f.published_at, 5);
    }

    #[test]
    fn without_an_origin_the_url_is_required() {
        let e = input("Rain").merge(None, 5, None).unwrap_err();
        assert!(matches!(
            e,
            ApiError::Client {
                field: Some("url"),
                ..
            }
        ));
    }

    #[test]
    fn a_missing_headline_is_named() {
        let e = StoryInput::default()
            .merge(None, 5, Some("https://n.example"))
            .unwrap_err();
        assert!(matches!(
            e,
            ApiError::Client {
                field: Some("headline"),
                ..
            }
        ));
    }

    #[test]
    fn absent_fields_keep_the_stored_ones() {
        let base = input("Old")
            .merge(None, 5, Some("https://n.example"))
            .unwrap();
        let f = StoryInput {
            standfirst: Some("New standfirst".into()),
            ..Default::default()
        }
        .merge(Some(base.clone()), 9, None)
        .unwrap();
        assert_eq!(f.headline, "Old");
        assert_eq!(f.url, base.url);
        assert_eq!(f.standfirst, "New standfirst");
        assert_eq!(f.published_at, 5);
    }
}
