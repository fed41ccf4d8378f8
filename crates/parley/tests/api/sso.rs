//! Single sign-on over HTTP, both backends, with tokens signed here: a good token signs
//! in and later ones update the same reader; expired, future-dated, replayed, wrongly
//! signed, other-site and incomplete tokens are refused with their codes; role claims
//! apply only when the site allows them and never above its maximum; a site without
//! local accounts refuses password registration and sign-in; the secret never comes out;
//! the token's badges show next to the reader's name on the page and in the JSON, as
//! text, follow later tokens and leave with a deleted comment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_good_token_signs_in_and_the_next_updates_the_same_reader,
    bad_tokens_are_refused_with_their_codes,
    each_missing_claim_is_refused,
    role_claims_apply_only_when_allowed_and_never_above_the_maximum,
    switching_local_accounts_off_refuses_passwords_for_readers,
    only_admins_set_sso_and_the_secret_never_comes_back,
    badges_show_next_to_the_author_and_follow_the_newsroom,
    badges_out_of_bounds_refuse_the_token,
);

const SECRET: &str = "a-newsroom-secret-of-at-least-32-bytes!";

fn now() -> i64 {
    parley_web::now_ms() / 1000
}

fn sign(secret: &str, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{sig}")
}

fn claims(sub: &str, jti: &str) -> Value {
    json!({
        "sub": sub,
        "email": format!("{sub}@subscribers.example"),
        "name": format!("Reader {sub}"),
        "iat": now(),
        "exp": now() + 300,
        "jti": jti,
        "aud": "courier",
    })
}

async fn enable(app: &TestApp, sso: Value) {
    app.store
        .set_site_settings(app.site_id, json!({ "sso": sso }).to_string())
        .await
        .unwrap();
}

async fn exchange(app: &TestApp, token: &str) -> crate::common::Reply {
    app.post(
        "/api/v1/sso/session",
        None,
        json!({"token": token, "session": "token"}),
    )
    .await
}

async fn a_good_token_signs_in_and_the_next_updates_the_same_reader(app: TestApp) {
    enable(&app, json!({"secret": SECRET})).await;
    let r = exchange(&app, &sign(SECRET, &claims("u1", "t1"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["user"]["id"].as_i64().unwrap();
    assert_eq!(r.body["user"]["display_name"], "Reader u1");
    let token = r.body["token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["user"]["id"], id);

    let mut next = claims("u1", "t2");
    next["name"] = json!("Renamed Reader");
    next["email"] = json!("new@subscribers.example");
    let r = exchange(&app, &sign(SECRET, &next)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["user"]["id"], id);
    assert_eq!(r.body["user"]["display_name"], "Renamed Reader");
    let user = app.store.user_by_id(id).await.unwrap().unwrap();
    assert_eq!(user.email, "new@subscribers.example");

    // A cookie session by default, like the password sign-in.
    let r = app
        .post(
            "/api/v1/sso/session",
            None,
            json!({"token": sign(SECRET, &claims("u1", "t3"))}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers.get("set-cookie").is_some());
}

async fn bad_tokens_are_refused_with_their_codes(app: TestApp) {
    // Before a secret is set, SSO is off.
    let r = exchange(&app, &sign(SECRET, &claims("u1", "t0"))).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "sso_off"));

    enable(&app, json!({"secret": SECRET})).await;
    let mut expired = claims("u1", "t1");
    expired["iat"] = json!(now() - 3600);
    expired["exp"] = json!(now() - 120);
    let mut future = claims("u1", "t2");
    future["iat"] = json!(now() + 600);
    future["exp"] = json!(now() + 900);
    let mut other_site = claims("u1", "t3");
    other_site["aud"] = json!("gazette");
    let cases = [
        (
            sign(SECRET, &expired),
            StatusCode::UNAUTHORIZED,
            "sso_expired",
        ),
        (
            sign(SECRET, &future),
            StatusCode::UNAUTHORIZED,
            "sso_future_dated",
        ),
        (
            sign(SECRET, &other_site),
            StatusCode::UNAUTHORIZED,
            "sso_wrong_site",
        ),
        (
            sign("not-the-site-secret-but-long-enough!!", &claims("u1", "t4")),
            StatusCode::UNAUTHORIZED,
            "sso_bad_signature",
        ),
        (
            "not.a-token".to_owned(),
            StatusCode::BAD_REQUEST,
            "sso_malformed",
        ),
    ];
    for (token, status, code) in cases {
        let r = exchange(&app, &token).await;
        assert_eq!((r.status, r.code()), (status, code), "{}", r.body);
    }

    let good = sign(SECRET, &claims("u1", "t5"));
    assert_eq!(exchange(&app, &good).await.status, StatusCode::OK);
    let again = exchange(&app, &good).await;
    assert_eq!(
        (again.status, again.code()),
        (StatusCode::UNAUTHORIZED, "sso_replayed")
    );
    // Nothing but the good token made an account.
    let taken = app
        .store
        .user_credentials(app.site_id, "u1@subscribers.example")
        .await
        .unwrap();
    assert!(taken.is_some());
}

async fn each_missing_claim_is_refused(app: TestApp) {
    enable(&app, json!({"secret": SECRET})).await;
    for claim in ["sub", "email", "name", "iat", "exp", "jti", "aud"] {
        let mut c = claims("u2", &format!("missing-{claim}"));
        c.as_object_mut().unwrap().remove(claim);
        let r = exchange(&app, &sign(SECRET, &c)).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_REQUEST, "sso_missing_claim"),
            "{claim}: {}",
            r.body
        );
        assert!(
            r.body["error"]["message"].as_str().unwrap().contains(claim),
            "{}",
            r.body
        );
    }
    assert!(
        app.store
            .user_credentials(app.site_id, "u2@subscribers.example")
            .await
            .unwrap()
            .is_none()
    );
}

async fn role_claims_apply_only_when_allowed_and_never_above_the_maximum(app: TestApp) {
    enable(&app, json!({"secret": SECRET})).await;
    let mut c = claims("u3", "r1");
    c["role"] = json!("moderator");
    let r = exchange(&app, &sign(SECRET, &c)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["user"]["id"].as_i64().unwrap();
    assert_eq!(
        app.store.user_by_id(id).await.unwrap().unwrap().role,
        Role::Reader
    );

    enable(
        &app,
        json!({"secret": SECRET, "allow_roles": true, "max_role": "staff"}),
    )
    .await;
    c["jti"] = json!("r2");
    assert_eq!(
        exchange(&app, &sign(SECRET, &c)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.store.user_by_id(id).await.unwrap().unwrap().role,
        Role::Staff
    );

    // Even a site that allows admins in its settings gets at most moderators.
    enable(
        &app,
        json!({"secret": SECRET, "allow_roles": true, "max_role": "admin"}),
    )
    .await;
    c["jti"] = json!("r3");
    c["role"] = json!("admin");
    assert_eq!(
        exchange(&app, &sign(SECRET, &c)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.store.user_by_id(id).await.unwrap().unwrap().role,
        Role::Moderator
    );
}

async fn switching_local_accounts_off_refuses_passwords_for_readers(app: TestApp) {
    let reader = app.reader("Pat Reader").await;
    let admin = app.member("Ada Admin", Role::Admin).await;
    let r = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"local_accounts": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no secret yet");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"secret": SECRET, "local_accounts": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let r = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"email": "new@readers.example", "display_name": "Newcomer", "password": "a good password"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "local_accounts_off")
    );
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "pat.reader@readers.example", "password": "a good password"}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "local_accounts_off")
    );
    // The reader's existing session still works; admins keep their password.
    assert_eq!(
        app.get("/api/v1/me", Some(&reader.token)).await.status,
        StatusCode::OK
    );
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "ada.admin@newsroom.example", "password": "a good password"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // And SSO signs readers in.
    assert_eq!(
        exchange(&app, &sign(SECRET, &claims("u4", "l1")))
            .await
            .status,
        StatusCode::OK
    );
}

async fn only_admins_set_sso_and_the_secret_never_comes_back(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let moderator = app.member("Mo Moderator", Role::Moderator).await;
    let reader = app.reader("Pat Reader").await;
    for who in [&moderator, &reader] {
        let r = app
            .call(
                Method::PUT,
                "/api/v1/sites/courier/sso",
                Some(&who.token),
                Some(json!({"secret": SECRET})),
            )
            .await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let short = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"secret": "short"})),
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let too_high = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"max_role": "admin"})),
        )
        .await;
    assert_eq!(too_high.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"secret": SECRET, "allow_roles": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sso"]["enabled"], true);
    assert_eq!(r.body["sso"]["allow_roles"], true);
    assert!(!r.body.to_string().contains(SECRET));
    // The secret set through the API verifies tokens.
    assert_eq!(
        exchange(&app, &sign(SECRET, &claims("u5", "s1")))
            .await
            .status,
        StatusCode::OK
    );
    // `null` turns SSO off again.
    let r = app
        .call(
            Method::PUT,
            "/api/v1/sites/courier/sso",
            Some(&admin.token),
            Some(json!({"secret": null})),
        )
        .await;
    assert_eq!(r.body["sso"]["enabled"], false, "{}", r.body);
    let r = exchange(&app, &sign(SECRET, &claims("u5", "s2"))).await;
    assert_eq!(r.code(), "sso_off");
}

/// A reader signed in by a token carrying `badges`.
async fn badged(app: &TestApp, sub: &str, jti: &str, badges: Value) -> crate::common::Account {
    let mut c = claims(sub, jti);
    c["badges"] = badges;
    let r = exchange(app, &sign(SECRET, &c)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    crate::common::Account {
        id: r.body["user"]["id"].as_i64().unwrap(),
        token: r.body["token"].as_str().unwrap().to_owned(),
    }
}

async fn html(app: &TestApp, path: &str) -> String {
    let r = app.get(path, None).await;
    assert_eq!(r.status, StatusCode::OK);
    r.body.as_str().unwrap().to_owned()
}

async fn badges_show_next_to_the_author_and_follow_the_newsroom(app: TestApp) {
    enable(&app, json!({"secret": SECRET})).await;
    let staff = app.member("Sam Staff", Role::Staff).await;
    let story = app.story(&staff, "badged").await;
    let ann = badged(
        &app,
        "u7",
        "b1",
        json!([" Subscriber ", "Columnist", "<img src=x onerror=alert(1)>"]),
    )
    .await;
    let pat = app.reader("Pat Plain").await;
    let top = app.comment(&ann, story, None, "From a subscriber").await;
    let reply = app.comment(&pat, story, Some(top), "From a reader").await;

    // The page: a named list after the name, each label escaped; none for Pat.
    let page = html(&app, "/stories/badged").await;
    assert!(
        page.contains(
            "<span class=\"comment-author\">Reader u7</span> <ul class=\"author-badges\" \
             role=\"list\" aria-label=\"Badges\"><li class=\"author-badge\">Subscriber</li>\
             <li class=\"author-badge\">Columnist</li>\
             <li class=\"author-badge\">&#60;img src=x onerror=alert(1)&#62;</li></ul>"
        ),
        "{page}"
    );
    assert!(!page.contains("<img src=x"), "markup in a badge is text");
    assert_eq!(page.matches("class=\"author-badges\"").count(), 1, "{page}");
    let fragment = html(&app, &format!("/comments/{top}/fragment")).await;
    assert!(
        fragment.contains("<li class=\"author-badge\">Columnist</li>"),
        "{fragment}"
    );
    let reply_page = html(&app, &format!("/comments/{top}/reply")).await;
    assert!(
        reply_page.contains("<li class=\"author-badge\">Subscriber</li>"),
        "the quoted comment shows them too: {reply_page}"
    );

    // Moderators see them in the queue too, as text.
    let modr = app.member("Mo Moderator", Role::Moderator).await;
    let queue = app.get("/moderate/approved", Some(&modr.token)).await;
    let queue = queue.body.as_str().unwrap();
    assert!(
        queue.contains(
            "<strong class=\"mod-author-name\">Reader u7</strong> \
             <span class=\"author-badge\">Subscriber</span> \
             <span class=\"author-badge\">Columnist</span>"
        ),
        "{queue}"
    );
    assert!(!queue.contains("<img src=x"), "markup in a badge is text");

    // The JSON: `author_badges` on every comment.
    let path = format!("/api/v1/stories/{story}/comments");
    let r = app.get(&path, None).await;
    let c = &r.body["comments"][0];
    assert_eq!(
        c["author_badges"],
        json!(["Subscriber", "Columnist", "<img src=x onerror=alert(1)>"])
    );
    assert_eq!(c["replies"][0]["id"], reply);
    assert_eq!(c["replies"][0]["author_badges"], json!([]));
    let one = app.get(&format!("/api/v1/comments/{top}"), None).await;
    assert_eq!(
        one.body["comment"]["author_badges"][1], "Columnist",
        "{}",
        one.body
    );
    let etag = r.headers["etag"].to_str().unwrap().to_owned();

    // A later token's badges replace them, at once, and old copies are not revalidated.
    badged(&app, "u7", "b2", json!(["Member"])).await;
    let page = html(&app, "/stories/badged").await;
    assert!(
        page.contains("<li class=\"author-badge\">Member</li>"),
        "{page}"
    );
    assert!(!page.contains("Subscriber"), "{page}");
    let r = app
        .send(app.http.get(app.url(&path)).header("if-none-match", &etag))
        .await;
    assert_eq!(r.status, StatusCode::OK, "a new version, not 304");
    assert_eq!(r.body["comments"][0]["author_badges"], json!(["Member"]));
    // A token without badges clears them.
    badged(&app, "u7", "b3", json!([])).await;
    let r = app.get(&path, None).await;
    assert_eq!(r.body["comments"][0]["author_badges"], json!([]));
    assert!(
        !html(&app, "/stories/badged")
            .await
            .contains("author-badges")
    );
    badged(&app, "u7", "b4", json!(["Member"])).await;

    // Deleted: the tombstone (kept for Pat's reply) shows no author and no badges.
    let r = app
        .call(
            Method::DELETE,
            &format!("/api/v1/comments/{top}"),
            Some(&ann.token),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app.get(&path, None).await;
    let c = &r.body["comments"][0];
    assert_eq!((c["id"].as_i64(), &c["deleted"]), (Some(top), &json!(true)));
    assert_eq!(c["author_badges"], json!([]));
    assert!(c["author"].is_null());
    let page = html(&app, "/stories/badged").await;
    assert!(page.contains("comment-deleted"), "{page}");
    assert!(!page.contains("author-badge"), "{page}");
    assert!(!page.contains("Member"), "{page}");
}

async fn badges_out_of_bounds_refuse_the_token(app: TestApp) {
    enable(&app, json!({"secret": SECRET})).await;
    let eleven: Vec<String> = (0..11).map(|i| format!("Badge {i}")).collect();
    for (n, badges) in [
        json!(eleven),
        json!(["x".repeat(41)]),
        json!(["  "]),
        json!(["Sub\u{0007}scriber"]),
        json!(["\u{202E}rebircsbuS"]),
        json!("Subscriber"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = claims("u8", &format!("bad-{n}"));
        c["badges"] = badges.clone();
        let r = exchange(&app, &sign(SECRET, &c)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{badges}: {}", r.body);
        assert!(
            r.code() == "sso_invalid_claim" || r.code() == "sso_malformed",
            "{badges}: {}",
            r.body
        );
        if r.code() == "sso_invalid_claim" {
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("badges"),
                "{}",
                r.body
            );
        }
    }
    // Exactly at the limits is fine; repeats are shown once.
    let ten: Vec<String> = (0..10).map(|i| format!("{i:0>40}")).collect();
    let mut c = claims("u8", "ok-1");
    c["badges"] = json!(ten);
    assert_eq!(
        exchange(&app, &sign(SECRET, &c)).await.status,
        StatusCode::OK
    );
    let reader = badged(&app, "u8", "ok-2", json!(["Gold", "Gold "])).await;
    let staff = app.member("Sam Staff", Role::Staff).await;
    let story = app.story(&staff, "limits").await;
    let id = app.comment(&reader, story, None, "Hello").await;
    let one = app.get(&format!("/api/v1/comments/{id}"), None).await;
    assert_eq!(one.body["comment"]["author_badges"], json!(["Gold"]));
}
