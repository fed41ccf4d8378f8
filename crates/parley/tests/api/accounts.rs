//! Registering, signing in and out, sessions by cookie and by bearer token.

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_registered_reader_is_signed_in,
    an_email_or_display_name_can_only_be_used_once,
    registration_fields_are_checked,
    wrong_passwords_are_refused_and_then_throttled,
    signing_out_ends_the_session,
    an_expired_session_is_refused,
    cookie_sessions_are_http_only_and_writes_need_our_origin,
);

async fn a_registered_reader_is_signed_in(app: TestApp) {
    let ada = app.reader("Ada Reader").await;
    let me = app.get("/api/v1/me", Some(&ada.token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["display_name"], "Ada Reader");
    assert_eq!(me.body["user"]["role"], "reader");
    let r = app
        .post("/api/v1/sessions", None, json!({"email": "ADA.reader@readers.example ", "password": "a good password", "session": "token"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["id"], ada.id);
    assert_eq!(
        app.get("/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

async fn an_email_or_display_name_can_only_be_used_once(app: TestApp) {
    app.reader("Bea").await;
    let again = app
        .post("/api/v1/accounts", None, json!({"email": "bea@readers.example", "display_name": "Other", "password": "a good password"}))
        .await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::CONFLICT, "email_taken")
    );
    let same_name = app
        .post("/api/v1/accounts", None, json!({"email": "x@readers.example", "display_name": "BEA", "password": "a good password"}))
        .await;
    assert_eq!(
        (same_name.status, same_name.code()),
        (StatusCode::CONFLICT, "name_taken")
    );
}

async fn registration_fields_are_checked(app: TestApp) {
    for (body, field) in [
        (
            json!({"email": "nope", "display_name": "Cy", "password": "a good password"}),
            "email",
        ),
        (
            json!({"email": "cy@x.org", "display_name": "C", "password": "a good password"}),
            "display_name",
        ),
        (
            json!({"email": "cy@x.org", "display_name": "Cy", "password": "short"}),
            "password",
        ),
    ] {
        let r = app.post("/api/v1/accounts", None, body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }
    let missing = app
        .post("/api/v1/accounts", None, json!({"email": "cy@x.org"}))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let user = app
        .store
        .user_credentials(app.site_id, "cy@x.org")
        .await
        .unwrap();
    assert!(user.is_none(), "nothing was created");
}

async fn wrong_passwords_are_refused_and_then_throttled(app: TestApp) {
    app.reader("Dee").await;
    let attempt = |password: &'static str| {
        let app = app.clone();
        async move {
            app.post(
                "/api/v1/sessions",
                None,
                json!({"email": "dee@readers.example", "password": password, "session": "token"}),
            )
            .await
        }
    };
    for _ in 0..5 {
        let r = attempt("not the password").await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::UNAUTHORIZED, "bad_credentials")
        );
    }
    let blocked = attempt("a good password").await;
    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.headers.contains_key("retry-after"));
    let unknown = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "nobody@x.org", "password": "whatever it is"}),
        )
        .await;
    assert_eq!(
        unknown.code(),
        "bad_credentials",
        "unknown emails look like wrong passwords"
    );
}

async fn signing_out_ends_the_session(app: TestApp) {
    let eve = app.reader("Eve").await;
    let out = app
        .call(
            Method::DELETE,
            "/api/v1/sessions/current",
            Some(&eve.token),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app.get("/api/v1/me", Some(&eve.token)).await;
    assert_eq!(
        (me.status, me.code()),
        (StatusCode::UNAUTHORIZED, "invalid_session")
    );
}

async fn an_expired_session_is_refused(app: TestApp) {
    let fay = app.reader("Fay").await;
    let (token, hash) = parley_web::auth::new_token();
    app.store.create_session(&hash, fay.id, 1, 2).await.unwrap();
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(
        (me.status, me.code()),
        (StatusCode::UNAUTHORIZED, "session_expired")
    );
    let staff = app.member("Gus Staff", Role::Staff).await;
    let story = app.story(&staff, "expired").await;
    let write = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&token),
            json!({"body": "hello"}),
        )
        .await;
    assert_eq!(write.code(), "session_expired");
}

async fn cookie_sessions_are_http_only_and_writes_need_our_origin(app: TestApp) {
    let staff = app.member("Hal Staff", Role::Staff).await;
    let story = app.story(&staff, "cookies").await;
    let res = app
        .http
        .post(app.url("/api/v1/accounts"))
        .json(&json!({"email": "ivy@x.org", "display_name": "Ivy", "password": "a good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let me = app
        .send(
            app.http
                .get(app.url("/api/v1/me"))
                .header("cookie", &cookie),
        )
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let path = app.url(&format!("/api/v1/stories/{story}/comments"));
    let post = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut req = app
            .http
            .post(&path)
            .header("cookie", &cookie)
            .json(&json!({"body": "by cookie"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = fetch_site {
            req = req.header("sec-fetch-site", s);
        }
        app.send(req)
    };
    let none = post(None, None).await;
    assert_eq!((none.status, none.code()), (StatusCode::FORBIDDEN, "csrf"));
    let foreign = post(Some("https://evil.example"), None).await;
    assert_eq!(foreign.code(), "csrf");
    let cross = post(Some(&app.base), Some("cross-site")).await;
    assert_eq!(cross.code(), "csrf");
    let ours = post(Some(&app.base), None).await;
    assert_eq!(ours.status, StatusCode::CREATED, "{}", ours.body);
    let same = post(None, Some("same-origin")).await;
    assert_eq!(same.status, StatusCode::CREATED, "{}", same.body);
}
