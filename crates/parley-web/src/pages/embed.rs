//! The embed: a story's conversation inside an iframe on a newsroom's own pages, and the
//! sign-in popup that hands the iframe a bearer token (third-party cookies may be
//! blocked, so the embed never relies on them).
//!
//! A page may embed a site's conversation when the page (its Referer) and the article
//! URL it names both have an origin on the site's allowed list. The story is created on
//! first load from that URL and the page's title.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use parley_core::{markdown, slugify};
use parley_store::{Site, StoreError, Story, StoryFields, User};
use serde::Deserialize;
use serde_json::json;

use super::account::{SigninForm, SigninPage, site_named};
use super::conversation::{self, Build, Conversation, FormState, Mode};
use super::story::{PageAt, public_page};
use super::{
    Chrome, MessagePage, PageError, PageForm, PageQuery, PageResult, Viewer, by_cookie, describe,
    enc, no_framing, our_origin, render, see_other,
};
use crate::api::comments::fnv;
use crate::error::ApiError;
use crate::extract::ClientIp;
use crate::{AppState, now_ms, service};

/// `scheme://host[:port]` of an http(s) URL, lower-cased, default port dropped.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains(['@', '\\', ' ']) {
        return None;
    }
    let mut host = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    if let Some(stripped) = host.strip_suffix(default_port) {
        host = stripped.to_owned();
    }
    Some(format!("{scheme}://{host}"))
}

fn allowed_origins(site: &Site) -> Vec<String> {
    site.origins
        .iter()
        .filter_map(|o| origin_of(o.trim_end_matches('/')))
        .collect()
}

fn refused(message: String) -> PageError {
    let page = MessagePage {
        chrome: Chrome::bare(),
        title: "This conversation cannot be shown here",
        message: &message,
        back: None,
        home: false,
    };
    PageError::Page(Box::new(render(StatusCode::FORBIDDEN, &page)))
}

#[derive(Deserialize, Default)]
pub struct EmbedQuery {
    site: Option<String>,
    url: Option<String>,
    title: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    from: Option<String>,
}

#[derive(Template)]
#[template(path = "embed.html", whitespace = "minimize")]
struct EmbedPage<'a> {
    story: &'a Story,
    conv: Conversation<'a>,
}

/// The article's address as the story's key: an http(s) URL without its fragment.
fn article_url(raw: Option<&str>) -> Option<String> {
    let raw = raw?.trim();
    let url = raw.split('#').next().unwrap_or(raw);
    let ok = origin_of(url).is_some()
        && url.len() <= 2000
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then(|| url.to_owned())
}

/// GET /embed?site=NAME&url=URL&title=TITLE: the conversation inside the iframe.
pub async fn embed_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<EmbedQuery>,
    headers: HeaderMap,
) -> PageResult<Response> {
    let site = site_named(&state, q.site.as_deref()).await?;
    let allowed = allowed_origins(&site);
    let referer = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(origin_of);
    let ours = our_origin(&headers, &state);
    match &referer {
        // Moving around inside the frame (sort, more comments) comes from our own pages.
        Some(o) if allowed.contains(o) || ours.as_ref() == Some(o) => {}
        Some(o) => {
            return Err(refused(format!(
                "The page at {o} is not on the list of sites allowed to show {}'s conversations.",
                site.name
            )));
        }
        None => {
            return Err(refused(
                "This conversation can only be shown on the newsroom's own pages; \
                 the request did not say which page it came from."
                    .to_owned(),
            ));
        }
    }
    let Some(url) = article_url(q.url.as_deref()) else {
        return Err(refused(
            "The embed needs the article's web address (an http or https URL).".to_owned(),
        ));
    };
    if origin_of(&url).is_none_or(|o| !allowed.contains(&o)) {
        return Err(refused(format!(
            "The article's address is not on a site allowed to show {}'s conversations.",
            site.name
        )));
    }
    let at = PageAt::parse(q.sort.as_deref(), q.cursor, q.from.as_deref())?;
    let key = format!("embed|{url}|{}|{}|{}", at.sort.as_str(), at.cursor, at.from);
    let csp = frame_ancestors(&allowed);
    if let Some(id) = state.pages.story_for_url(site.id, &url)
        && let Some(hit) = state.cached_page(id, &key).await
    {
        return Ok(framed(public_page(hit.body, &hit.etag, &headers), &csp));
    }
    let (story, generation) = find_or_create(&state, &site, &url, q.title.as_deref()).await?;
    let story_id = story.id;
    let version = story.version;
    let data = conversation::load(&state, story, at.sort, &at.cursor, None).await?;
    let form = FormState::default();
    let page = EmbedPage {
        story: &data.page.story,
        conv: conversation::build(
            &state,
            &data,
            Build {
                mode: Mode::Embed {
                    site: &site.name,
                    url: &url,
                },
                viewer: None,
                from: at.from,
                form: &form,
                notice: None,
            },
        ),
    };
    let body = Bytes::from(
        page.render()
            .map_err(|e| PageError::Api(ApiError::Internal(e.to_string())))?,
    );
    let etag = format!("\"e{story_id}-{version}-{:x}\"", fnv(&key));
    state.cache.put(
        story_id,
        generation,
        version,
        key,
        body.clone(),
        etag.clone(),
    );
    Ok(framed(public_page(body, &etag, &headers), &csp))
}

fn frame_ancestors(allowed: &[String]) -> Option<HeaderValue> {
    let sources: Vec<&str> = allowed
        .iter()
        .map(String::as_str)
        .filter(|o| {
            o.chars()
                .all(|c| c.is_ascii_graphic() && c != ';' && c != ',')
        })
        .collect();
    if sources.is_empty() {
        return HeaderValue::from_str("frame-ancestors 'none'").ok();
    }
    HeaderValue::from_str(&format!("frame-ancestors {}", sources.join(" "))).ok()
}

fn framed(mut r: Response, csp: &Option<HeaderValue>) -> Response {
    if let Some(v) = csp {
        r.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v.clone());
    }
    r
}

/// The story at `url`, created from the page's title on first load.
async fn find_or_create(
    state: &AppState,
    site: &Site,
    url: &str,
    title: Option<&str>,
) -> PageResult<(Story, u64)> {
    if let Some(id) = state.pages.story_for_url(site.id, url) {
        let generation = state.cache.generation(id);
        if let Some(story) = state.store.story_by_id(id).await?
            && story.site_id == site.id
            && story.fields.url == url
        {
            return Ok((story, generation));
        }
        state.pages.set_url(site.id, url, None);
    }
    let found = match state.store.story_by_url(site.id, url).await? {
        Some(story) => story,
        None => create_story(state, site, url, title).await?,
    };
    state.pages.set_url(site.id, url, Some(found.id));
    let generation = state.cache.generation(found.id);
    let story = state.story(found.id).await?;
    Ok((story, generation))
}

fn headline_from(title: Option<&str>, url: &str) -> String {
    let words: Vec<&str> = title.unwrap_or_default().split_whitespace().collect();
    let title = words.join(" ");
    let title = if title.is_empty() { url } else { &title };
    title
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
}

async fn create_story(
    state: &AppState,
    site: &Site,
    url: &str,
    title: Option<&str>,
) -> PageResult<Story> {
    let headline = headline_from(title, url);
    let slug = slugify(&headline);
    // A second story with the same headline gets a slug of its own.
    let slugs = [slug.clone(), format!("{slug}-{:06x}", fnv(url) & 0xff_ffff)];
    for slug in slugs {
        let now = now_ms();
        let fields = StoryFields::bare(url, slug, headline.clone(), now);
        match state
            .store
            .create_story(site.id, fields, markdown::render_story(""), now)
            .await
        {
            Ok(story) => return Ok(story),
            // Another request created it first, or the slug is taken: look again.
            Err(StoreError::Conflict { .. }) => {
                if let Some(story) = state.store.story_by_url(site.id, url).await? {
                    return Ok(story);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "story_exists",
        "a story with this headline exists already",
    )
    .into())
}

// ---------------------------------------------------------------------------------------
// The sign-in popup

#[derive(Deserialize, Default)]
pub struct SiteQuery {
    site: Option<String>,
}

#[derive(Template)]
#[template(path = "embed_token.html", whitespace = "minimize")]
struct TokenPage<'a> {
    site_name: &'a str,
    /// The message for the opener, as JSON (put in an attribute, so HTML-escaped).
    message: String,
}

fn popup_form(
    site: &Site,
    viewer: Option<&User>,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let here = format!("/embed/signin?site={}", enc(&site.name));
    let page = SigninPage {
        chrome: Chrome {
            account: false,
            ..Chrome::new(&site.name, None, here.clone())
        },
        action: here.clone(),
        email,
        next: "",
        site: &site.name,
        error,
        register_href: format!("/register?site={}&next={}", enc(&site.name), enc(&here)),
        forgot_href: format!("/forgot?site={}", enc(&site.name)),
        continue_as: viewer
            .filter(|u| u.site_id == site.id)
            .map(|u| u.display_name.as_str()),
    };
    no_framing(render(status, &page))
}

/// GET /embed/signin?site=NAME: the popup's sign-in form.
pub async fn signin_page(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SiteQuery>,
    viewer: Viewer,
) -> PageResult<Response> {
    let site = site_named(&state, q.site.as_deref()).await?;
    let user = viewer.user().filter(|_| by_cookie(&viewer));
    Ok(popup_form(&site, user, "", None, StatusCode::OK))
}

/// POST /embed/signin?site=NAME: signs in (or continues a cookie session) and hands a
/// new bearer token to the iframe that opened the popup.
pub async fn signin(
    State(state): State<AppState>,
    PageQuery(q): PageQuery<SiteQuery>,
    ClientIp(ip): ClientIp,
    viewer: Viewer,
    PageForm(form): PageForm<SigninForm>,
) -> PageResult<Response> {
    let site = site_named(&state, q.site.as_deref().or(form.site.as_deref())).await?;
    let cookie_user = viewer
        .user()
        .filter(|u| by_cookie(&viewer) && u.site_id == site.id);
    let user = match (form.continue_as.as_deref(), cookie_user) {
        (Some(_), Some(user)) => user.clone(),
        (Some(_), None) => {
            return Ok(see_other(&format!(
                "/embed/signin?site={}",
                enc(&site.name)
            )));
        }
        (None, _) => match service::sign_in(&state, &site, &form.email, &form.password, ip).await {
            Ok(user) => user,
            Err(e @ ApiError::Internal(_)) => return Err(e.into()),
            Err(e) => {
                let (status, _, message) = describe(&e);
                return Ok(popup_form(
                    &site,
                    cookie_user,
                    form.email.trim(),
                    Some(&message),
                    status,
                ));
            }
        },
    };
    let token = service::start_session(&state, &user).await?;
    let message = token_message(&token, &user)?;
    let page = TokenPage {
        site_name: &site.name,
        message,
    };
    let mut r = no_framing(render(StatusCode::OK, &page));
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(r)
}

/// `{type: "parley:token", token, user: {id, display_name}}` as JSON that is safe in any
/// HTML context even before escaping.
fn token_message(token: &str, user: &User) -> PageResult<String> {
    let value = json!({
        "type": "parley:token",
        "token": token,
        "user": { "id": user.id, "display_name": user.display_name },
    });
    let text = serde_json::to_string(&value)
        .map_err(|e| PageError::Api(ApiError::Internal(e.to_string())))?;
    Ok(text
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin_of("https://Courier.example:443/2026/x?y#z").as_deref(),
            Some("https://courier.example")
        );
        assert_eq!(
            origin_of("http://localhost:8080/").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://user@evil.example/"), None);
        assert_eq!(origin_of("ftp://x.example/"), None);
    }

    #[test]
    fn headlines_come_from_titles() {
        assert_eq!(headline_from(Some("  A   title\n"), "https://x"), "A title");
        assert_eq!(headline_from(None, "https://x/y"), "https://x/y");
    }
}
