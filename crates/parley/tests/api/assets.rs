//! Static assets compiled into the binary (page script and stylesheet, the embed loader,
//! the count script): content types, ETag revalidation, cache lifetimes; the CORS rule
//! that lets news sites' listing pages read comment counts; and no third-party URLs.

use parley_core::Role;
use reqwest::StatusCode;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, ORIGIN,
};

use crate::common::{Backend, TestApp, run};

const PARLEY_JS: &str = include_str!("../../../parley-web/assets/parley.js");
const PARLEY_CSS: &str = include_str!("../../../parley-web/assets/parley.css");
const EMBED_JS: &str = include_str!("../../../parley-web/assets/embed.js");
const COUNT_JS: &str = include_str!("../../../parley-web/assets/count.js");

/// (path, content type, file contents)
const ASSETS: [(&str, &str, &str); 4] = [
    (
        "/assets/parley.js",
        "text/javascript; charset=utf-8",
        PARLEY_JS,
    ),
    ("/assets/parley.css", "text/css; charset=utf-8", PARLEY_CSS),
    ("/embed.js", "text/javascript; charset=utf-8", EMBED_JS),
    ("/count.js", "text/javascript; charset=utf-8", COUNT_JS),
];

async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    run(Backend::Sqlite, Default::default(), case).await;
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} header on {}", res.url()))
        .to_str()
        .expect("ascii header")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_served_with_their_content_types_and_cache_headers() {
    on_sqlite(|app| async move {
        for (path, content_type, contents) in ASSETS {
            let res = app.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&res, CONTENT_TYPE), content_type, "{path}");
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            let etag = header(&res, ETAG).to_owned();
            assert!(
                etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
                "{path}: {etag}"
            );
            let cache = header(&res, CACHE_CONTROL).to_owned();
            assert!(cache.starts_with("public, max-age="), "{path}: {cache}");
            assert_eq!(res.text().await.unwrap(), contents, "{path}");

            let head = app.http.head(app.url(path)).send().await.unwrap();
            assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
            assert_eq!(header(&head, ETAG), etag);
        }
        // Loaded by other sites' pages: short-lived (their URLs never change) and
        // loadable cross-origin.
        for path in ["/embed.js", "/count.js"] {
            let res = app.http.get(app.url(path)).send().await.unwrap();
            assert_eq!(header(&res, CACHE_CONTROL), "public, max-age=300");
            assert_eq!(header(&res, ACCESS_CONTROL_ALLOW_ORIGIN), "*");
            assert_eq!(
                res.headers()["cross-origin-resource-policy"],
                "cross-origin"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_asset_is_revalidated_with_304() {
    on_sqlite(|app| async move {
        for (path, _, _) in ASSETS {
            let first = app.http.get(app.url(path)).send().await.unwrap();
            let etag = header(&first, ETAG).to_owned();

            let again = app
                .http
                .get(app.url(path))
                .header(IF_NONE_MATCH, &etag)
                .send()
                .await
                .unwrap();
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
            assert_eq!(header(&again, ETAG), etag);
            assert!(again.headers().get(CACHE_CONTROL).is_some());
            assert!(again.bytes().await.unwrap().is_empty());

            // In a list, or weak: still a match.
            let listed = app
                .http
                .get(app.url(path))
                .header(IF_NONE_MATCH, format!("\"other\", W/{etag}"))
                .send()
                .await
                .unwrap();
            assert_eq!(listed.status(), StatusCode::NOT_MODIFIED, "{path}");

            let changed = app
                .http
                .get(app.url(path))
                .header(IF_NONE_MATCH, "\"some-older-version\"")
                .send()
                .await
                .unwrap();
            assert_eq!(changed.status(), StatusCode::OK, "{path}");
            assert!(!changed.bytes().await.unwrap().is_empty() || path.ends_with(".css"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_page_asset_urls_are_cached_for_good() {
    on_sqlite(|app| async move {
        for url in [parley_web::assets::js_url(), parley_web::assets::css_url()] {
            let res = app.http.get(app.url(url)).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{url}");
            assert_eq!(
                header(&res, CACHE_CONTROL),
                "public, max-age=31536000, immutable",
                "{url}"
            );
            let version = url.split("?v=").nth(1).expect("a version");
            assert_eq!(header(&res, ETAG), format!("\"{version}\""));
        }
        // A stale version (or none) is not kept for long.
        let res = app
            .http
            .get(app.url("/assets/parley.js?v=0000"))
            .send()
            .await
            .unwrap();
        assert_eq!(header(&res, CACHE_CONTROL), "public, max-age=300");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comment_counts_can_be_read_by_other_sites_pages() {
    on_sqlite(|app| async move {
        let staff = app.member("Cora Staff", Role::Staff).await;
        let story = app.story(&staff, "counted").await;
        let reader = app.reader("Rory").await;
        app.comment(&reader, story, None, "First!").await;

        let res = app
            .http
            .get(app.url(
                "/api/v1/counts?site=courier&url=https://courier.example/counted&url=https://courier.example/none",
            ))
            .header(ORIGIN, "https://courier.example")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["counts"]["https://courier.example/counted"], 1);
        assert_eq!(body["counts"]["https://courier.example/none"], 0);

        // Errors are readable too, so the script can tell what went wrong.
        let bad = app
            .http
            .get(app.url("/api/v1/counts?site=courier"))
            .header(ORIGIN, "https://elsewhere.example")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(header(&bad, ACCESS_CONTROL_ALLOW_ORIGIN), "*");

        // A preflight (for the JSON POST form) is answered.
        let preflight = app
            .http
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/counts"))
            .header(ORIGIN, "https://courier.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        assert_eq!(header(&preflight, ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        assert!(header(&preflight, ACCESS_CONTROL_ALLOW_METHODS).contains("POST"));

        // Nothing else is opened up: reader data stays same-origin.
        let me = app
            .http
            .get(app.url("/api/v1/me"))
            .header(ORIGIN, "https://courier.example")
            .bearer_auth(&reader.token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        assert!(me.headers().get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let story_comments = app
            .http
            .get(app.url(&format!("/api/v1/stories/{story}/comments")))
            .header(ORIGIN, "https://courier.example")
            .send()
            .await
            .unwrap();
        assert!(
            story_comments
                .headers()
                .get(ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none()
        );
    })
    .await;
}

/// Every `http://` or `https://` URL in `text`, up to the first character that cannot
/// be part of one.
fn urls_in(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        let mut from = 0;
        while let Some(at) = text[from..].find(scheme).map(|i| from + i) {
            let end = text[at..]
                .find(|c: char| c.is_whitespace() || "\"'`)<>,;".contains(c))
                .map_or(text.len(), |i| at + i);
            found.push(&text[at..end]);
            from = end;
        }
    }
    found
}

/// The host part of an http(s) URL.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    host.split(':').next().unwrap_or(host)
}

#[test]
fn the_url_scanner_finds_urls_and_their_hosts() {
    let found = urls_in("a <script src=\"https://cdn.test/x.js\"> and (http://b.example:8080/y)");
    assert_eq!(found, ["http://b.example:8080/y", "https://cdn.test/x.js"]);
    assert_eq!(host_of(found[0]), "b.example");
    assert_eq!(host_of(found[1]), "cdn.test");
}

#[test]
fn the_assets_load_nothing_from_third_parties() {
    for (path, _, contents) in ASSETS {
        for url in urls_in(contents) {
            // Only documentation examples (RFC 2606's reserved .example names).
            let host = host_of(url);
            assert!(
                host == "example" || host.ends_with(".example"),
                "{path} names a third-party URL: {url}"
            );
        }
        if path.ends_with(".js") {
            for pattern in ["import(", "importScripts", "eval(", "new Function"] {
                assert!(!contents.contains(pattern), "{path} contains {pattern:?}");
            }
        }
    }
    // Scripts reach their own origin only: relative paths in the page script, the
    // origin of their own <script src> in the embed and count scripts.
    assert!(PARLEY_JS.contains("/api/v1/stories/"));
    assert!(EMBED_JS.contains("document.currentScript"));
    assert!(COUNT_JS.contains("document.currentScript"));
}
