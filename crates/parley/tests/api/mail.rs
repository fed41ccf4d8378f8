//! Mail from the outbox to a real SMTP server (the test sink): headers and parts,
//! STARTTLS and AUTH, retries while the server is down, permanent refusals, one send
//! per message with two nodes, and the admin's outbox view.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use parley_core::Role;
use parley_store::Store;
use parley_store::mail::NewMail;
use parley_web::{AppState, WebConfig};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection;
use tokio::net::TcpListener;

use crate::common::{Backend, TestApp, postgres_url, run};
use crate::smtp::{MAIL_FROM, ReceivedMail, SinkOptions, SmtpSink, TestCert};

const WAIT: Duration = Duration::from_secs(15);

/// Recipients of these tests are all on this domain, so mail anything else queues
/// (account mail, say) is left out of the counts.
const DOMAIN: &str = "@mail-test.example";

fn mail(site_id: i64, n: usize) -> NewMail {
    NewMail {
        site_id,
        user_id: None,
        kind: "reply".into(),
        to: format!("reader{n}{DOMAIN}"),
        to_name: Some(format!("Reader {n}")),
        subject: format!("Message {n}"),
        text: format!("Plain text number {n}.\nSecond line."),
        html: None,
        unsubscribe_url: None,
        now: parley_web::now_ms(),
    }
}

fn ours(messages: &[ReceivedMail]) -> Vec<ReceivedMail> {
    messages
        .iter()
        .filter(|m| m.to_address().ends_with(DOMAIN))
        .cloned()
        .collect()
}

async fn wait_ours(sink: &SmtpSink, count: usize) -> Vec<ReceivedMail> {
    match sink.wait_until(|m| ours(m).len() >= count, WAIT).await {
        Ok(m) => ours(&m),
        Err(m) => panic!("{} of {count} messages arrived", ours(&m).len()),
    }
}

/// The outbox of the test site as its admin sees it.
async fn admin_view(app: &TestApp, token: &str) -> Value {
    let r = app.get("/api/v1/sites/courier/mail", Some(token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

/// Polls the store's outbox until `done` holds for our message `id`.
async fn wait_outbox(
    store: &dyn Store,
    site_id: i64,
    id: i64,
    done: impl Fn(&parley_store::mail::OutboxMail) -> bool,
) -> parley_store::mail::OutboxMail {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let row = store
            .mail()
            .mail_outbox(site_id, 500)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.id == id)
            .expect("the mail is in the outbox");
        if done(&row) {
            return row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "outbox row never got there: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn sink_and_run<F, Fut>(backend: Backend, options: SinkOptions, case: F)
where
    F: FnOnce(TestApp, SmtpSink) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let sink = SmtpSink::start(options).await;
    let config = sink.config();
    run(backend, config, |app| case(app, sink)).await;
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_mail_arrives_with_its_headers_and_parts() {
        sink_and_run(Backend::Sqlite, SinkOptions::default(), super::arrives).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mail_queued_while_the_server_is_down_is_sent_once_when_it_is_back() {
        super::down_then_back(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_permanent_refusal_fails_the_mail_with_the_servers_answer() {
        sink_and_run(
            Backend::Sqlite,
            SinkOptions::default().rejecting("550 5.1.1 No such user here"),
            super::refused_for_good,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_temporary_refusal_is_retried() {
        sink_and_run(
            Backend::Sqlite,
            SinkOptions::default().rejecting("451 4.3.0 Try again later"),
            super::refused_for_now,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_sites_admin_sees_the_outbox() {
        sink_and_run(Backend::Sqlite, SinkOptions::default(), super::admin_only).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn later_mail_reuses_the_open_connection() {
        sink_and_run(
            Backend::Sqlite,
            SinkOptions::default(),
            super::one_connection,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn starttls_with_auth_reaches_a_server_with_a_private_ca() {
        let cert = TestCert::localhost();
        let options = SinkOptions::starttls(&cert).with_auth("courier@relay", "pa:ss w@rd");
        sink_and_run(Backend::Sqlite, options, super::encrypted_and_authenticated).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn implicit_tls_reaches_the_server() {
        let cert = TestCert::localhost();
        sink_and_run(
            Backend::Sqlite,
            SinkOptions::implicit_tls(&cert),
            super::encrypted_only,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_smtp_settings_mail_stays_queued() {
        run(Backend::Sqlite, WebConfig::default(), super::not_configured).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parley_serve_sends_mail_with_the_settings_from_its_environment() {
        super::serve_with_env().await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_mail_arrives_with_its_headers_and_parts() {
        sink_and_run(Backend::Postgres, SinkOptions::default(), super::arrives).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mail_queued_while_the_server_is_down_is_sent_once_when_it_is_back() {
        super::down_then_back(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_permanent_refusal_fails_the_mail_with_the_servers_answer() {
        sink_and_run(
            Backend::Postgres,
            SinkOptions::default().rejecting("550 5.1.1 No such user here"),
            super::refused_for_good,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_sites_admin_sees_the_outbox() {
        sink_and_run(Backend::Postgres, SinkOptions::default(), super::admin_only).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn later_mail_reuses_the_open_connection() {
        sink_and_run(
            Backend::Postgres,
            SinkOptions::default(),
            super::one_connection,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_send_each_message_once() {
        super::two_nodes().await;
    }
}

async fn arrives(app: TestApp, sink: SmtpSink) {
    let outbox = app.store.mail();
    let rich = outbox
        .enqueue_mail(NewMail {
            kind: "digest".into(),
            to_name: Some("Zoë Ünïcode".into()),
            subject: "Your daily digest — 3 replies".into(),
            html: Some("<p>Plain text number 1.</p><p>Ça va?</p>".into()),
            unsubscribe_url: Some("https://courier.example/unsubscribe/t0ken".into()),
            ..mail(app.site_id, 1)
        })
        .await
        .unwrap();
    let plain = outbox
        .enqueue_mail(NewMail {
            to_name: None,
            ..mail(app.site_id, 2)
        })
        .await
        .unwrap();
    let received = wait_ours(&sink, 2).await;
    let by_to = |addr: &str| {
        received
            .iter()
            .find(|m| m.to_address() == addr)
            .unwrap_or_else(|| panic!("no mail to {addr}"))
            .clone()
    };
    let m = by_to(&format!("reader1{DOMAIN}"));
    assert_eq!(m.from, MAIL_FROM);
    assert_eq!(m.to, [format!("Zoë Ünïcode <reader1{DOMAIN}>")]);
    assert_eq!(m.subject, "Your daily digest — 3 replies");
    assert_eq!(m.envelope_from, "comments@courier.example");
    assert_eq!(m.envelope_to, [format!("reader1{DOMAIN}")]);
    let message_id = m.header("message-id").unwrap();
    assert!(
        message_id.starts_with(&format!("<parley.{rich}."))
            && message_id.ends_with("@courier.example>"),
        "{message_id}"
    );
    assert!(m.header("Date").is_some_and(|d| d.ends_with("+0000")));
    assert_eq!(
        m.header("List-Unsubscribe"),
        Some("<https://courier.example/unsubscribe/t0ken>")
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        m.header("Content-Type")
            .is_some_and(|c| c.starts_with("multipart/alternative")),
        "{:?}",
        m.header("Content-Type")
    );
    let text = m.text.as_deref().unwrap().replace("\r\n", "\n");
    assert_eq!(text.trim_end(), "Plain text number 1.\nSecond line.");
    assert!(m.html.as_deref().unwrap().contains("<p>Ça va?</p>"));

    let p = by_to(&format!("reader2{DOMAIN}"));
    assert_eq!(p.to, [format!("reader2{DOMAIN}")]);
    assert!(p.header("List-Unsubscribe").is_none());
    assert!(p.header("List-Unsubscribe-Post").is_none());
    assert!(p.html.is_none());
    assert!(
        p.header("Content-Type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    assert!(
        p.header("Message-ID")
            .is_some_and(|id| id.starts_with(&format!("<parley.{plain}.")))
    );

    let row = wait_outbox(app.store.as_ref(), app.site_id, rich, |r| {
        r.status == "sent"
    })
    .await;
    assert_eq!(row.attempts, 1);
    assert!(row.sent_at.is_some());
    assert_eq!(row.last_error, None);
}

/// Mail sent a round after other mail goes over the connection the first opened (the
/// transport keeps a pool), not a new connection and TLS handshake per message.
async fn one_connection(app: TestApp, sink: SmtpSink) {
    let mut ports = Vec::new();
    for n in 1..=3 {
        app.store
            .mail()
            .enqueue_mail(mail(app.site_id, n))
            .await
            .unwrap();
        let received = wait_ours(&sink, n).await;
        let m = received
            .iter()
            .find(|m| m.to_address() == format!("reader{n}{DOMAIN}"))
            .unwrap();
        ports.push(m.peer_port.expect("the sink records the client's port"));
    }
    assert!(
        ports.iter().all(|p| *p == ports[0]),
        "one connection for all three: {ports:?}"
    );
}

async fn down_then_back(backend: Backend) {
    let mut sink = SmtpSink::start(SinkOptions::default()).await;
    sink.stop().await;
    let config = WebConfig {
        mail_retry_delays: vec![Duration::from_millis(300); 40],
        ..sink.config()
    };
    run(backend, config, |app| async move {
        let mut sink = sink;
        let id = app
            .store
            .mail()
            .enqueue_mail(mail(app.site_id, 1))
            .await
            .unwrap();
        // Tried at least twice while the server is down: each attempt is recorded
        // with its error and the mail stays pending.
        let row = wait_outbox(app.store.as_ref(), app.site_id, id, |r| r.attempts >= 2).await;
        assert_eq!(row.status, "pending");
        assert!(row.last_error.is_some(), "{row:?}");
        assert!(row.next_attempt_at > row.last_attempt_at.unwrap());
        sink.start_again().await;
        let received = wait_ours(&sink, 1).await;
        assert_eq!(received[0].subject, "Message 1");
        let row = wait_outbox(app.store.as_ref(), app.site_id, id, |r| r.status == "sent").await;
        assert_eq!(row.last_error, None);
        // Nothing is sent twice, however long we wait.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(ours(&sink.messages()).len(), 1);
    })
    .await;
}

async fn refused_for_good(app: TestApp, sink: SmtpSink) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let id = app
        .store
        .mail()
        .enqueue_mail(mail(app.site_id, 1))
        .await
        .unwrap();
    wait_outbox(app.store.as_ref(), app.site_id, id, |r| {
        r.status == "failed"
    })
    .await;
    let view = admin_view(&app, &admin.token).await;
    assert_eq!(view["configured"], true);
    assert!(view["counts"]["failed"].as_i64().unwrap() >= 1, "{view}");
    let row = view["mail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["status"], "failed");
    assert_eq!(row["attempts"], 1, "a 5xx is not retried");
    assert_eq!(row["to"], format!("reader1{DOMAIN}"));
    assert_eq!(row["subject"], "Message 1");
    let error = row["last_error"].as_str().unwrap();
    assert!(
        error.contains("550") && error.contains("No such user here"),
        "{error}"
    );
    assert!(row.get("text").is_none() && row.get("body_text").is_none());
    assert!(ours(&sink.messages()).is_empty());
}

async fn refused_for_now(app: TestApp, sink: SmtpSink) {
    let id = app
        .store
        .mail()
        .enqueue_mail(mail(app.site_id, 1))
        .await
        .unwrap();
    // Three retries of 300 ms: four attempts, then it fails with the last answer.
    let row = wait_outbox(app.store.as_ref(), app.site_id, id, |r| {
        r.status == "failed"
    })
    .await;
    assert_eq!(row.attempts, 4);
    let error = row.last_error.unwrap();
    assert!(error.contains("451"), "{error}");
    assert!(ours(&sink.messages()).is_empty());
}

async fn admin_only(app: TestApp, _sink: SmtpSink) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let moderator = app.member("Mo Moderator", Role::Moderator).await;
    let staff = app.member("Sal Staff", Role::Staff).await;
    let reader = app.reader("Rita Reader").await;
    let r = app.get("/api/v1/sites/courier/mail", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for who in [&reader, &staff, &moderator] {
        let r = app
            .get("/api/v1/sites/courier/mail", Some(&who.token))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(r.code(), "forbidden");
    }
    // Another site's admin finds no such site.
    app.store.create_site("gazette", &[], 1).await.unwrap();
    let r = app
        .get("/api/v1/sites/gazette/mail", Some(&admin.token))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let view = admin_view(&app, &admin.token).await;
    assert!(view["mail"].is_array());
    for key in ["pending", "sent", "failed"] {
        assert!(view["counts"][key].is_i64(), "{view}");
    }
}

async fn encrypted_and_authenticated(app: TestApp, sink: SmtpSink) {
    app.store
        .mail()
        .enqueue_mail(mail(app.site_id, 1))
        .await
        .unwrap();
    let m = wait_ours(&sink, 1).await.remove(0);
    assert!(m.tls, "sent over STARTTLS");
    assert_eq!(m.auth_user.as_deref(), Some("courier@relay"));
    assert_eq!(m.subject, "Message 1");
}

async fn encrypted_only(app: TestApp, sink: SmtpSink) {
    app.store
        .mail()
        .enqueue_mail(mail(app.site_id, 1))
        .await
        .unwrap();
    let m = wait_ours(&sink, 1).await.remove(0);
    assert!(m.tls, "sent over implicit TLS");
    assert_eq!(m.auth_user, None);
}

async fn not_configured(app: TestApp) {
    let admin = app.member("Ada Admin", Role::Admin).await;
    let id = app
        .store
        .mail()
        .enqueue_mail(mail(app.site_id, 1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let view = admin_view(&app, &admin.token).await;
    assert_eq!(view["configured"], false);
    let row = view["mail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["status"], "pending");
    assert_eq!(row["attempts"], 0);
}

/// Two servers, each with its own store and mail worker, on one PostgreSQL schema.
async fn two_nodes() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let schema = format!("m_{:016x}", rand::thread_rng().r#gen::<u64>());
    let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let open = || async {
        let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
            .unwrap()
            .options([("search_path", schema.as_str())]);
        let store: Arc<dyn Store> =
            Arc::new(parley_store::postgres::open_with(options).await.unwrap());
        store
    };
    let (a, b) = (open().await, open().await);
    let site = a.create_site("courier", &[], 1).await.unwrap();
    let mut stops = Vec::new();
    let mut servers = Vec::new();
    for store in [a.clone(), b.clone()] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(store, sink.config());
        servers.push(tokio::spawn(parley_web::serve(listener, state, async {
            let _ = stopped.await;
        })));
        stops.push(stop);
    }
    const N: usize = 30;
    for n in 0..N {
        let store = if n % 2 == 0 { &a } else { &b };
        store.mail().enqueue_mail(mail(site.id, n)).await.unwrap();
    }
    let received = wait_ours(&sink, N).await;
    // Let any duplicate arrive before counting.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = ours(&sink.messages()).len().max(received.len());
    let mut ids: Vec<String> = ours(&sink.messages())
        .iter()
        .map(|m| m.header("Message-ID").unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(received, N, "each message once");
    assert_eq!(ids.len(), N);
    let counts = a.mail().mail_counts(Some(site.id)).await.unwrap();
    assert_eq!(
        (counts.sent, counts.pending, counts.failed),
        (N as i64, 0, 0)
    );
    for stop in stops {
        let _ = stop.send(());
    }
    for server in servers {
        let _ = server.await;
    }
    drop((a, b));
    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut admin)
        .await;
}

/// `parley serve` as an operator starts it: SMTP URL (STARTTLS, percent-encoded
/// password), sender and CA file from the environment.
async fn serve_with_env() {
    let cert = TestCert::localhost();
    let sink =
        SmtpSink::start(SinkOptions::starttls(&cert).with_auth("news@courier", "p@ss:word")).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("parley.db").display());
    let store = parley_store::connect(&url).await.unwrap();
    let site = store.create_site("courier", &[], 1).await.unwrap();
    store.mail().enqueue_mail(mail(site.id, 1)).await.unwrap();
    let smtp_url = format!(
        "smtp://news%40courier:p%40ss%3Aword@localhost:{}?tls=starttls",
        sink.port()
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_parley"))
        .args(["--database", &url, "serve", "--listen", "127.0.0.1:0"])
        .env("PARLEY_SMTP_URL", &smtp_url)
        .env("PARLEY_MAIL_FROM", MAIL_FROM)
        .env("PARLEY_SMTP_CA_CERT", &cert.cert_path)
        .env("PARLEY_MAIL_POLL_MS", "50")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let got = sink.wait_until(|m| !ours(m).is_empty(), WAIT).await;
    let _ = child.kill();
    let _ = child.wait();
    let m = ours(&got.expect("parley serve sent the queued mail")).remove(0);
    assert!(m.tls);
    assert_eq!(m.auth_user.as_deref(), Some("news@courier"));
    assert_eq!(m.from, MAIL_FROM);
    assert_eq!(m.subject, "Message 1");
}
