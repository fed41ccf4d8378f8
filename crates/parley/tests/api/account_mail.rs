//! Account mail and notifications, end to end: a real Parley server on both backends
//! whose mail worker delivers to a real SMTP server on loopback (aiosmtpd, see
//! `smtp.rs`); the tests read the mail it received and follow its links.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parley_core::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Account, Backend, TestApp, run};
use crate::smtp::{ReceivedMail, SinkOptions, SmtpSink};

/// Links in mail point at `http://localhost` (no `--public-origin` in tests).
const LINKS: &str = "http://localhost/";
const WAIT: Duration = Duration::from_secs(15);

async fn with_mail<F, Fut>(backend: Backend, digest_every: Option<Duration>, case: F)
where
    F: FnOnce(TestApp, Arc<SmtpSink>) -> Fut,
    Fut: Future<Output = ()>,
{
    let sink = Arc::new(SmtpSink::start(SinkOptions::default()).await);
    let mut config = sink.config();
    if let Some(every) = digest_every {
        config.digest_every = every;
        config.jobs_every = Duration::from_millis(100);
    }
    let for_case = sink.clone();
    run(backend, config, move |app| case(app, for_case)).await;
}

macro_rules! mail_cases {
    ($($case:ident $(with $digest:expr)?),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::with_mail($crate::common::Backend::Sqlite, None $(.or(Some($digest)))?, super::$case).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::with_mail($crate::common::Backend::Postgres, None $(.or(Some($digest)))?, super::$case).await
                }
            )*
        }
    };
}

mail_cases!(
    registration_mails_a_confirmation_link_that_works_once,
    a_site_can_require_a_confirmed_address_before_comments,
    a_forgotten_password_is_reset_by_a_mailed_link,
    the_reset_pages_work_without_javascript,
    an_email_change_waits_for_the_new_address_to_confirm,
    each_kind_of_notification_is_mailed_to_confirmed_readers,
    one_click_unsubscribe_works_without_signing_in,
    the_daily_digest_collects_notifications with std::time::Duration::from_millis(1_500),
);

/// Mail to `address` so far.
fn mail_to(sink: &SmtpSink, address: &str) -> Vec<ReceivedMail> {
    sink.messages()
        .into_iter()
        .filter(|m| m.to_address() == address)
        .collect()
}

/// Waits for the `n`th mail (1-based) to `address`.
async fn nth_mail_to(sink: &SmtpSink, address: &str, n: usize) -> ReceivedMail {
    let got = sink
        .wait_until(
            |all| all.iter().filter(|m| m.to_address() == address).count() >= n,
            WAIT,
        )
        .await
        .unwrap_or_else(|got| {
            let subjects: Vec<_> = got
                .iter()
                .map(|m| (m.to_address(), m.subject.clone()))
                .collect();
            panic!("no mail number {n} to {address}; the sink has {subjects:?}")
        });
    got.into_iter()
        .filter(|m| m.to_address() == address)
        .nth(n - 1)
        .expect("the mail")
}

/// The path and query of the mail's link that starts with `LINKS` + `path`.
fn link_path(mail: &ReceivedMail, path: &str) -> String {
    let link = mail
        .link(&format!("{LINKS}{path}"))
        .unwrap_or_else(|| panic!("no {path} link in {:?}", mail.text));
    link.trim_start_matches("http://localhost").to_owned()
}

/// The path and query of the mail's `List-Unsubscribe: <URL>` header.
fn unsubscribe_path(mail: &ReceivedMail) -> String {
    let header = mail.header("List-Unsubscribe").expect("List-Unsubscribe");
    header
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_start_matches("http://localhost")
        .to_owned()
}

fn token_of(path: &str) -> String {
    path.split("token=").nth(1).expect("a token").to_owned()
}

fn email_of(name: &str) -> String {
    format!("{}@readers.example", name.to_lowercase().replace(' ', "."))
}

/// A reader who confirmed their address (the confirmation mail consumed).
async fn confirmed_reader(app: &TestApp, sink: &SmtpSink, name: &str) -> Account {
    let who = app.reader(name).await;
    let mail = nth_mail_to(sink, &email_of(name), 1).await;
    let token = token_of(&link_path(&mail, "account/verify"));
    let r = app
        .post("/api/v1/verification", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    who
}

async fn prefs(app: &TestApp, who: &Account) -> Value {
    let r = app.get("/api/v1/me/notifications", Some(&who.token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn registration_mails_a_confirmation_link_that_works_once(app: TestApp, sink: Arc<SmtpSink>) {
    let ann = app.reader("Ann Reader").await;
    assert_eq!(prefs(&app, &ann).await["email_verified"], false);
    let mail = nth_mail_to(&sink, "ann.reader@readers.example", 1).await;
    assert_eq!(mail.subject, "Confirm your email address for courier");
    assert!(mail.to[0].contains("Ann Reader"), "{:?}", mail.to);
    assert!(
        mail.header("List-Unsubscribe").is_none(),
        "account mail has no unsubscribe"
    );
    assert!(
        mail.html
            .as_deref()
            .is_some_and(|h| h.contains("Confirm your email address"))
    );

    // The link is a page that confirms at once.
    let path = link_path(&mail, "account/verify");
    let page = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Your email address is confirmed")
    );
    assert_eq!(prefs(&app, &ann).await["email_verified"], true);

    // Once only, and a made-up token is refused.
    let again = app
        .post(
            "/api/v1/verification",
            None,
            json!({ "token": token_of(&path) }),
        )
        .await;
    assert_eq!(again.status, StatusCode::GONE, "{}", again.body);
    assert_eq!(again.code(), "link_used");
    let bogus = app
        .post(
            "/api/v1/verification",
            None,
            json!({ "token": "not-a-token" }),
        )
        .await;
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
    assert_eq!(bogus.code(), "link_invalid");

    // Asking again once confirmed is refused; the account page says confirmed.
    let resend = app
        .post("/api/v1/me/verification", Some(&ann.token), json!({}))
        .await;
    assert_eq!(resend.code(), "already_verified");
}

async fn a_site_can_require_a_confirmed_address_before_comments(app: TestApp, sink: Arc<SmtpSink>) {
    app.store
        .set_site_settings(
            app.site_id,
            json!({ "policy": { "require_verified_email": true } }).to_string(),
        )
        .await
        .unwrap();
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "vote").await;
    // Staff are exempt.
    app.comment(&staff, story, None, "Staff note").await;

    let bo = app.reader("Bo Reader").await;
    let refused = app
        .post(
            &format!("/api/v1/stories/{story}/comments"),
            Some(&bo.token),
            json!({ "body": "Too early" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.code(), "email_unverified");

    // "Mail it again" is throttled; the first mail's link is replaced by a new one.
    let first = nth_mail_to(&sink, "bo.reader@readers.example", 1).await;
    let resend = app
        .post("/api/v1/me/verification", Some(&bo.token), json!({}))
        .await;
    assert_eq!(
        resend.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        resend.body
    );
    assert!(resend.headers.get("retry-after").is_some());

    let token = token_of(&link_path(&first, "account/verify"));
    let r = app
        .post("/api/v1/verification", None, json!({ "token": token }))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.comment(&bo, story, None, "Now I may").await;
}

async fn a_forgotten_password_is_reset_by_a_mailed_link(app: TestApp, sink: Arc<SmtpSink>) {
    let cy = app.reader("Cy Reader").await;
    let address = "cy.reader@readers.example";
    nth_mail_to(&sink, address, 1).await; // the confirmation

    // The same answer for an unknown address, and no mail for it.
    let unknown = app
        .post(
            "/api/v1/password-resets",
            None,
            json!({ "email": "nobody@readers.example" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    let r = app
        .post("/api/v1/password-resets", None, json!({ "email": address }))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let mail = nth_mail_to(&sink, address, 2).await;
    assert_eq!(mail.subject, "Choose a new password for courier");
    assert!(mail_to(&sink, "nobody@readers.example").is_empty());
    let token = token_of(&link_path(&mail, "reset"));

    // A link an hour old no longer works (checked in the store with a later clock).
    let expired = app
        .store
        .account_mail()
        .redeem_account_link(
            parley_web::auth::token_hash(&token),
            parley_store::account_mail::LinkAction::ResetPassword {
                password_hash: "x".into(),
            },
            parley_web::now_ms() + 3_600_001,
        )
        .await
        .unwrap_err();
    assert!(expired.to_string().contains("expired"), "{expired}");

    // A password that breaks the rules leaves the link usable.
    let short = app
        .post(
            "/api/v1/password-resets/confirm",
            None,
            json!({ "token": token, "password": "short" }),
        )
        .await;
    assert_eq!(
        short.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        short.body
    );
    let done = app
        .post(
            "/api/v1/password-resets/confirm",
            None,
            json!({ "token": token, "password": "a brand new password" }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // Every session ended; only the new password signs in; the link is spent.
    let me = app.get("/api/v1/me", Some(&cy.token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let old = app
        .post(
            "/api/v1/sessions",
            None,
            json!({ "email": address, "password": "a good password" }),
        )
        .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    let new = app
        .post(
            "/api/v1/sessions",
            None,
            json!({ "email": address, "password": "a brand new password" }),
        )
        .await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.body);
    let again = app
        .post(
            "/api/v1/password-resets/confirm",
            None,
            json!({ "token": token, "password": "yet another password" }),
        )
        .await;
    assert_eq!(again.code(), "link_used");
    // Whoever read the mail owns the address: it is confirmed now.
    let signed_in = app
        .post(
            "/api/v1/sessions",
            None,
            json!({ "email": address, "password": "a brand new password", "session": "token" }),
        )
        .await;
    let bearer = signed_in.body["token"].as_str().unwrap().to_owned();
    let p = app.get("/api/v1/me/notifications", Some(&bearer)).await;
    assert_eq!(p.body["email_verified"], true);
}

async fn the_reset_pages_work_without_javascript(app: TestApp, sink: Arc<SmtpSink>) {
    app.reader("Di Reader").await;
    let address = "di.reader@readers.example";
    nth_mail_to(&sink, address, 1).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let signin = client
        .get(app.url("/signin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        signin.contains("href=\"/forgot"),
        "the sign-in page offers the reset"
    );
    let form = client.get(app.url("/forgot")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("action=\"/forgot\""));

    // Not from our pages: refused, nothing mailed.
    let forged = client
        .post(app.url("/forgot"))
        .header("origin", "https://evil.example")
        .form(&[("email", address)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let sent = client
        .post(app.url("/forgot"))
        .header("origin", &app.base)
        .form(&[("email", address)])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::OK);
    assert!(sent.text().await.unwrap().contains("Check your email"));
    let mail = nth_mail_to(&sink, address, 2).await;
    let path = link_path(&mail, "reset");
    assert_eq!(mail_to(&sink, address).len(), 2, "one reset mail, not two");

    let page = client
        .get(app.url(&path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"token\""), "{page}");
    let done = client
        .post(app.url("/reset"))
        .header("origin", &app.base)
        .form(&[
            ("token", token_of(&path).as_str()),
            ("password", "my new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(
        done.text()
            .await
            .unwrap()
            .contains("Your password is changed")
    );
    let r = app
        .post(
            "/api/v1/sessions",
            None,
            json!({ "email": address, "password": "my new password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

async fn an_email_change_waits_for_the_new_address_to_confirm(app: TestApp, sink: Arc<SmtpSink>) {
    let ed = confirmed_reader(&app, &sink, "Ed Reader").await;
    let old = "ed.reader@readers.example";
    let new = "ed.new@readers.example";
    let wrong = app
        .post(
            "/api/v1/me/email",
            Some(&ed.token),
            json!({ "email": new, "password": "not it" }),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    app.reader("Fay Reader").await;
    let clash = app
        .post(
            "/api/v1/me/email",
            Some(&ed.token),
            json!({ "email": "fay.reader@readers.example", "password": "a good password" }),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);

    let r = app
        .post(
            "/api/v1/me/email",
            Some(&ed.token),
            json!({ "email": new, "password": "a good password" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let confirm = nth_mail_to(&sink, new, 1).await;
    let notice = nth_mail_to(&sink, old, 2).await;
    assert_eq!(
        confirm.subject,
        "Confirm your new email address for courier"
    );
    assert!(
        notice.text.as_deref().unwrap().contains(new),
        "the old address is told"
    );
    assert!(
        notice.link(LINKS).is_some_and(|l| !l.contains("token")),
        "no link that moves the account"
    );

    // Nothing changed until the link is used.
    let me = app.get("/api/v1/me", Some(&ed.token)).await;
    assert_eq!(me.body["user"]["email"], old);
    let path = link_path(&confirm, "account/confirm-email");
    let page = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(new));
    let me = app.get("/api/v1/me", Some(&ed.token)).await;
    assert_eq!(me.body["user"]["email"], new);
    assert_eq!(prefs(&app, &ed).await["email_verified"], true);
    let signin = app
        .post(
            "/api/v1/sessions",
            None,
            json!({ "email": new, "password": "a good password" }),
        )
        .await;
    assert_eq!(signin.status, StatusCode::OK);
}

async fn each_kind_of_notification_is_mailed_to_confirmed_readers(
    app: TestApp,
    sink: Arc<SmtpSink>,
) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let moderator = app.member("Mo Moderator", Role::Moderator).await;
    let story = app.story(&staff, "budget").await;
    let gil = confirmed_reader(&app, &sink, "Gil Reader").await;
    let hal = app.reader("Hal Reader").await; // never confirms
    let gil_at = "gil.reader@readers.example";

    // A reply.
    let c = app.comment(&gil, story, None, "Taxes should fall.").await;
    app.comment(&hal, story, Some(c), "They should rise, and here is why.")
        .await;
    let reply = nth_mail_to(&sink, gil_at, 2).await;
    assert_eq!(
        reply.subject,
        "Hal Reader replied to you on “Headline of budget”"
    );
    let text = reply.text.as_deref().unwrap();
    assert!(
        text.contains("> They should rise, and here is why."),
        "{text}"
    );
    assert!(text.contains(&format!("{LINKS}comments/")), "{text}");
    let unsubscribe = reply.header("List-Unsubscribe").expect("List-Unsubscribe");
    assert!(
        unsubscribe.contains("/unsubscribe/") && unsubscribe.contains("kind=reply"),
        "{unsubscribe}"
    );
    assert_eq!(
        reply.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        text.contains("Unsubscribe: http://localhost/unsubscribe/"),
        "{text}"
    );

    // Replying to oneself tells nobody; replies to an unconfirmed reader are not mailed.
    app.comment(&gil, story, Some(c), "Adding to my own point.")
        .await;
    let hal_comment = app.comment(&hal, story, None, "Nobody listens.").await;
    app.comment(&gil, story, Some(hal_comment), "I do.").await;

    // Featured.
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/comments/{c}/featured"),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let featured = nth_mail_to(&sink, gil_at, 3).await;
    assert_eq!(
        featured.subject,
        "Your comment on “Headline of budget” was selected by the editors"
    );
    assert!(
        featured
            .header("List-Unsubscribe")
            .unwrap()
            .contains("kind=featured")
    );

    // Moderators' decisions on held comments.
    app.store
        .set_site_settings(
            app.site_id,
            json!({ "policy": { "premoderate": true } }).to_string(),
        )
        .await
        .unwrap();
    let held = app
        .comment(&gil, story, None, "Held for a moderator.")
        .await;
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{held}/approve"),
            Some(&moderator.token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let approved = nth_mail_to(&sink, gil_at, 4).await;
    assert_eq!(
        approved.subject,
        "Your comment on “Headline of budget” is published"
    );
    let held = app.comment(&gil, story, None, "Another held one.").await;
    let r = app
        .post(
            &format!("/api/v1/moderation/comments/{held}/reject"),
            Some(&moderator.token),
            json!({ "reason_code": "abuse" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let rejected = nth_mail_to(&sink, gil_at, 5).await;
    assert_eq!(
        rejected.subject,
        "Your comment on “Headline of budget” was not published"
    );
    assert!(
        rejected
            .header("List-Unsubscribe")
            .unwrap()
            .contains("kind=moderation")
    );

    // Nothing else went out: Hal (unconfirmed) got only his confirmation mail, and Gil
    // no mail about his own reply.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail_to(&sink, "hal.reader@readers.example").len(), 1);
    assert_eq!(mail_to(&sink, gil_at).len(), 5);
}

async fn one_click_unsubscribe_works_without_signing_in(app: TestApp, sink: Arc<SmtpSink>) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "rates").await;
    let ivy = confirmed_reader(&app, &sink, "Ivy Reader").await;
    let jon = app.reader("Jon Reader").await;
    let ivy_at = "ivy.reader@readers.example";
    let c = app.comment(&ivy, story, None, "Rates will stay.").await;
    app.comment(&jon, story, Some(c), "They will not.").await;
    let mail = nth_mail_to(&sink, ivy_at, 2).await;
    let path = unsubscribe_path(&mail);
    let path = path.as_str();
    assert!(path.starts_with("/unsubscribe/"), "{path}");

    // Following the link asks first; it changes nothing.
    let ask = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(ask.status(), StatusCode::OK);
    assert!(
        ask.text()
            .await
            .unwrap()
            .contains("replies to your comments")
    );
    assert_eq!(prefs(&app, &ivy).await["reply"], "immediate");

    // What a mail program sends (RFC 8058): a POST with no cookie and no Origin.
    let click = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), StatusCode::OK);
    let p = prefs(&app, &ivy).await;
    assert_eq!(p["reply"], "off");
    assert_eq!(p["featured"], "immediate", "only that kind");

    // No more reply mail; a made-up key is refused.
    app.comment(&jon, story, Some(c), "Still not.").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/comments/{c}/featured"),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let featured = nth_mail_to(&sink, ivy_at, 3).await;
    assert!(
        featured.subject.contains("selected"),
        "{}",
        featured.subject
    );
    assert_eq!(mail_to(&sink, ivy_at).len(), 3);
    let bogus = reqwest::Client::new()
        .post(app.url("/unsubscribe/not-a-key?kind=reply"))
        .send()
        .await
        .unwrap();
    assert_eq!(bogus.status(), StatusCode::NOT_FOUND);
}

async fn the_daily_digest_collects_notifications(app: TestApp, sink: Arc<SmtpSink>) {
    let staff = app.member("Rae Staff", Role::Staff).await;
    let story = app.story(&staff, "pensions").await;
    let kim = confirmed_reader(&app, &sink, "Kim Reader").await;
    let lee = app.reader("Lee Reader").await;
    let kim_at = "kim.reader@readers.example";
    let r = app
        .call(
            Method::PUT,
            "/api/v1/me/notifications",
            Some(&kim.token),
            Some(json!({ "reply": "digest", "featured": "digest" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["moderation"], "immediate");
    let bad = app
        .call(
            Method::PUT,
            "/api/v1/me/notifications",
            Some(&kim.token),
            Some(json!({ "reply": "hourly" })),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert_eq!(
        prefs(&app, &kim).await["reply"],
        "digest",
        "nothing changed"
    );

    let c = app
        .comment(&kim, story, None, "Pensions need reform.")
        .await;
    app.comment(&lee, story, Some(c), "First reply.").await;
    app.comment(&lee, story, Some(c), "Second reply.").await;
    let r = app
        .call(
            Method::PUT,
            &format!("/api/v1/comments/{c}/featured"),
            Some(&staff.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // One mail with all three, once the oldest has waited the period (1.5 s here).
    let digest = nth_mail_to(&sink, kim_at, 2).await;
    assert_eq!(digest.subject, "Your day on courier: 3 notifications");
    let text = digest.text.as_deref().unwrap();
    assert!(
        text.contains("First reply.") && text.contains("Second reply."),
        "{text}"
    );
    assert!(text.contains("was selected by the editors"), "{text}");
    assert!(
        digest
            .header("List-Unsubscribe")
            .unwrap()
            .contains("kind=digest")
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        mail_to(&sink, kim_at).len(),
        2,
        "each item in one digest only"
    );

    // Leaving the digest turns off what went into it, not the immediate kinds.
    let path = unsubscribe_path(&digest);
    let click = reqwest::Client::new()
        .post(app.url(&path))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), StatusCode::OK);
    let p = prefs(&app, &kim).await;
    assert_eq!(
        (
            p["reply"].as_str(),
            p["featured"].as_str(),
            p["moderation"].as_str()
        ),
        (Some("off"), Some("off"), Some("immediate"))
    );
}
