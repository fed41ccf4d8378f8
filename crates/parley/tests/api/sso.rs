//! Single sign-on over HTTP, both backends, with tokens signed here: a good token signs
//! in and later ones update the same reader; expired, future-dated, replayed, wrongly
//! signed, other-site and incomplete tokens are refused with their codes; role claims
//! apply only when the site allows them and never above its maximum; a site without
//! local accounts refuses password registration and sign-in; the secret never comes out.

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
