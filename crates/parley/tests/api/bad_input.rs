//! Every kind of bad request gets a clear 4xx in the API's error shape and changes nothing.

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    comment_bodies_must_be_present_and_within_the_limit,
    broken_requests_get_clear_errors,
    unknown_things_are_not_found,
    unauthenticated_writes_are_refused,
    garbage_never_makes_the_server_fail,
);

async fn comment_count(app: &TestApp, story: i64) -> i64 {
    app.get(&format!("/api/v1/stories/{story}"), None)
        .await
        .body["story"]["comment_count"]
        .as_i64()
        .unwrap()
}

async fn comment_bodies_must_be_present_and_within_the_limit(app: TestApp) {
    let staff = app.member("Xan Staff", Role::Staff).await;
    let story = app.story(&staff, "limits").await;
    let path = format!("/api/v1/stories/{story}/comments");
    for body in [
        String::new(),
        "   \n\t  ".to_owned(),
        "\u{200B}".to_owned(),
        "é".repeat(5001),
    ] {
        let r = app
            .post(&path, Some(&staff.token), json!({ "body": body }))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["error"]["field"], "body");
    }
    assert_eq!(comment_count(&app, story).await, 0);
    let exactly = app
        .post(
            &path,
            Some(&staff.token),
            json!({ "body": "é".repeat(5000) }),
        )
        .await;
    assert_eq!(exactly.status, StatusCode::CREATED);
}

async fn broken_requests_get_clear_errors(app: TestApp) {
    let staff = app.member("Yve Staff", Role::Staff).await;
    let story = app.story(&staff, "broken").await;
    let url = app.url(&format!("/api/v1/stories/{story}/comments"));
    let raw = |body: Vec<u8>, content_type: &'static str| {
        app.http
            .post(&url)
            .bearer_auth(&staff.token)
            .header("content-type", content_type)
            .body(body)
    };
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            raw(b"{\"body\": \"x\"".to_vec(), "application/json"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            raw(b"body=x".to_vec(), "application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            raw(b"{\"body\": \"\xff\xfe\"}".to_vec(), "application/json"),
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
        ),
        (
            raw(b"{\"body\": 5}".to_vec(), "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            raw(
                b"{\"body\": \"x\", \"extra\": 1}".to_vec(),
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            raw(b"[]".to_vec(), "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            raw(
                format!("{{\"body\": \"{}\"}}", "x".repeat(70_000)).into_bytes(),
                "application/json",
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            app.http.post(&url).bearer_auth(&staff.token),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (req, status, code) in cases {
        let r = app.send(req).await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let bad_sort = app
        .get(&format!("/api/v1/stories/{story}/comments?sort=best"), None)
        .await;
    assert_eq!(
        (bad_sort.status, bad_sort.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let bad_limit = app
        .get(&format!("/api/v1/stories/{story}/comments?limit=0"), None)
        .await;
    assert_eq!(bad_limit.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_cursor = app
        .get(
            &format!("/api/v1/stories/{story}/comments?cursor=%%%"),
            None,
        )
        .await;
    assert_eq!(bad_cursor.status, StatusCode::BAD_REQUEST);
    let bad_id = app.get("/api/v1/stories/abc/comments", None).await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.headers["content-type"], "application/json");
    let wrong_method = app.call(Method::PUT, "/api/v1/me", None, None).await;
    assert_eq!(
        (wrong_method.status, wrong_method.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    assert_eq!(comment_count(&app, story).await, 0, "nothing was posted");
}

async fn unknown_things_are_not_found(app: TestApp) {
    let reader = app.reader("Zed").await;
    let r = app
        .post(
            "/api/v1/stories/777/comments",
            Some(&reader.token),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        app.get("/api/v1/stories/777/comments", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/api/v1/no/such/thing", None).await.code(),
        "not_found"
    );
    let page = app.get("/no/such/page", None).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let edit = app
        .call(
            Method::PATCH,
            "/api/v1/comments/777",
            Some(&reader.token),
            Some(json!({"body": "x"})),
        )
        .await;
    assert_eq!(edit.status, StatusCode::NOT_FOUND);
}

async fn unauthenticated_writes_are_refused(app: TestApp) {
    let staff = app.member("Abe Staff", Role::Staff).await;
    let story = app.story(&staff, "anon").await;
    let id = app.comment(&staff, story, None, "hello").await;
    let writes = [
        (
            Method::POST,
            format!("/api/v1/stories/{story}/comments"),
            Some(json!({"body": "x"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/comments/{id}"),
            Some(json!({"body": "x"})),
        ),
        (Method::DELETE, format!("/api/v1/comments/{id}"), None),
        (
            Method::POST,
            format!("/api/v1/comments/{id}/reactions"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/api/v1/comments/{id}/reports"),
            Some(json!({"reason": "spam"})),
        ),
        (Method::PUT, format!("/api/v1/comments/{id}/featured"), None),
        (
            Method::POST,
            "/api/v1/stories".to_owned(),
            Some(json!({"url": "https://courier.example/z", "headline": "Z"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/stories/{story}"),
            Some(json!({"headline": "Z"})),
        ),
        (Method::DELETE, "/api/v1/sessions/current".to_owned(), None),
    ];
    for (method, path, body) in writes {
        for token in [None, Some("not-a-real-token")] {
            let r = app.call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path}: {}",
                r.body
            );
        }
    }
    assert_eq!(comment_count(&app, story).await, 1);
}

async fn garbage_never_makes_the_server_fail(app: TestApp) {
    let staff = app.member("Bo Staff", Role::Staff).await;
    let story = app.story(&staff, "garbage").await;
    let paths = [
        format!("/api/v1/stories/{story}/comments"),
        "/api/v1/accounts".to_owned(),
        "/api/v1/sessions".to_owned(),
        "/api/v1/counts".to_owned(),
        "/api/v1/stories".to_owned(),
    ];
    let bodies: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"{\"body\": null, \"parent_id\": \"x\"}".to_vec(),
        b"{\"parent_id\": 9223372036854775807, \"body\": \"x\"}".to_vec(),
        b"{\"parent_id\": -1, \"body\": \"x\"}".to_vec(),
        b"{\"urls\": [1, 2]}".to_vec(),
        b"\"\\ud800\"".to_vec(),
        vec![0u8; 100],
        b"{\"email\": \"a@b.co\", \"display_name\": \"\\u0000\\u0000\", \"password\": \"xxxxxxxxxx\"}".to_vec(),
        "{\"headline\": \"\u{202e}\", \"url\": \"https://courier.example/\u{0}\"}".as_bytes().to_vec(),
    ];
    for path in &paths {
        for body in &bodies {
            let r = app
                .send(
                    app.http
                        .post(app.url(path))
                        .bearer_auth(&staff.token)
                        .header("content-type", "application/json")
                        .body(body.clone()),
                )
                .await;
            assert!(
                r.status.is_client_error(),
                "{path} {:?}: {} {}",
                String::from_utf8_lossy(body),
                r.status,
                r.body
            );
            assert!(r.body["error"]["code"].is_string(), "{}", r.body);
        }
    }
}
