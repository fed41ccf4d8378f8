//! `parley site sso`, driven as an operator would: the real binary on a SQLite file and
//! on a PostgreSQL schema of the test's own, then a server over the same database that
//! signs readers in with tokens signed here by the secret the command set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use parley_store::Store;
use parley_web::{AppState, WebConfig};
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::Connection;

const SECRET: &str = "a-newsroom-secret-from-a-file-of-40-bytes";

fn parley(dir: &Path, database: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.current_dir(dir)
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("PARLEY_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run parley")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn sso(dir: &Path, db: &str, extra: &[&str]) -> Output {
    let mut args = vec!["site", "sso", "--site", "courier"];
    args.extend_from_slice(extra);
    parley(dir, db, &args, &[])
}

fn postgres_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A PostgreSQL schema of this test's own, as a URL the binary can open; dropped after.
struct Schema {
    name: String,
}

impl Schema {
    async fn new() -> Schema {
        let name = format!("ssocli_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        Schema { name }
    }

    fn url(&self) -> String {
        let base = postgres_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{}", self.name)
    }

    async fn drop(self) {
        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .execute(&mut admin)
            .await
            .unwrap();
    }
}

fn token(secret: &str, sub: &str, jti: &str, role: Option<&str>) -> String {
    let now = parley_web::now_ms() / 1000;
    let mut claims = json!({
        "sub": sub,
        "email": format!("{sub}@subscribers.example"),
        "name": format!("Reader {sub}"),
        "iat": now,
        "exp": now + 300,
        "jti": jti,
        "aud": "courier",
        "badges": ["Subscriber"],
    });
    if let Some(role) = role {
        claims["role"] = json!(role);
    }
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{header}.{payload}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{payload}.{sig}")
}

/// A server over the database the command changed; stops when dropped.
struct Server {
    base: String,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start(db: &str) -> Server {
        let store: Arc<dyn Store> = parley_store::connect(db).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(store, WebConfig::default());
        tokio::spawn(parley_web::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            http: reqwest::Client::new(),
            stop: Some(stop),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn sign_in(&self, token: &str) -> (u16, Value) {
        self.post(
            "/api/v1/sso/session",
            json!({"token": token, "site": "courier", "session": "token"}),
        )
        .await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn shown(out: &Output, key: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}:` line in {stdout}"))
        .to_owned()
}

/// Every case, on one database.
async fn sso_from_the_command_line(dir: &Path, db: &str) {
    let out = parley(dir, db, &["site", "create", "--name", "courier"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    // Nothing set yet; nothing asked is an error that says what to give.
    let out = sso(dir, db, &["--show"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(shown(&out, "enabled"), "false");
    assert_eq!(shown(&out, "local_accounts"), "true");
    let out = sso(dir, db, &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--show"), "{}", text(&out));

    // The admin API's rules, each refusing without changing anything.
    let short = dir.join("short.key");
    std::fs::write(&short, "too short\n").unwrap();
    let good = dir.join("newsroom.key");
    std::fs::write(&good, format!("{SECRET}\n")).unwrap();
    let refusals: [(&[&str], &str); 3] = [
        (
            &["--local-accounts", "false"],
            "set an SSO secret before switching local accounts off",
        ),
        (
            &["--secret-file", short.to_str().unwrap()],
            "at least 32 bytes",
        ),
        (
            &[
                "--secret-file",
                good.to_str().unwrap(),
                "--max-role",
                "admin",
            ],
            "--max-role: tokens can grant at most the moderator role",
        ),
    ];
    for (args, message) in refusals {
        let out = sso(dir, db, args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(message), "{args:?}: {}", text(&out));
    }
    let out = sso(dir, db, &["--secret-file", "missing.key"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("missing.key"), "{}", text(&out));
    // One secret source at a time; role words only.
    for args in [
        &["--generate", "--secret-file", good.to_str().unwrap()][..],
        &["--max-role", "overlord"][..],
        &["--allow-roles", "perhaps"][..],
    ] {
        let out = sso(dir, db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let out = parley(
        dir,
        db,
        &["site", "sso", "--site", "gazette", "--show"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no site named gazette"),
        "{}",
        text(&out)
    );
    let out = sso(dir, db, &["--show"]);
    assert_eq!(shown(&out, "enabled"), "false", "refusals changed nothing");

    // Without SSO a token is refused.
    let server = Server::start(db).await;
    let (status, body) = server.sign_in(&token(SECRET, "u1", "j0", None)).await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("sso_off")));

    // The secret from a file (its newline dropped), roles up to moderator; the secret
    // itself is never printed.
    let out = sso(
        dir,
        db,
        &[
            "--secret-file",
            good.to_str().unwrap(),
            "--allow-roles",
            "true",
            "--max-role",
            "moderator",
            "--show",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(SECRET), "{}", text(&out));
    assert_eq!(shown(&out, "enabled"), "true");
    assert_eq!(shown(&out, "allow_roles"), "true");
    assert_eq!(shown(&out, "max_role"), "moderator");
    let out = sso(dir, db, &["--show"]);
    assert!(!text(&out).contains(SECRET), "{}", text(&out));
    assert_eq!(shown(&out, "enabled"), "true");

    let (status, body) = server
        .sign_in(&token(SECRET, "u1", "j1", Some("moderator")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["display_name"], "Reader u1");
    assert_eq!(body["user"]["role"], "moderator");

    // Changing one setting keeps the others, the secret included.
    let out = sso(dir, db, &["--max-role", "staff"]);
    assert!(out.status.success(), "{}", text(&out));
    let (status, body) = server
        .sign_in(&token(SECRET, "u2", "j2", Some("moderator")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["role"], "staff");

    // A generated secret is printed once and replaces the old one.
    let out = sso(dir, db, &["--generate"]);
    assert!(out.status.success(), "{}", text(&out));
    let generated = shown(&out, "secret");
    assert_eq!(generated.len(), 64, "{generated}");
    assert!(generated.chars().all(|c| c.is_ascii_hexdigit()));
    let out = sso(dir, db, &["--show"]);
    assert!(!text(&out).contains(&generated), "{}", text(&out));
    let (status, body) = server.sign_in(&token(SECRET, "u1", "j3", None)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &json!("sso_bad_signature"))
    );
    let (status, body) = server.sign_in(&token(&generated, "u1", "j4", None)).await;
    assert_eq!(status, 200, "{body}");

    // From an environment variable, then local accounts off: password registration is
    // refused while tokens still sign readers in.
    let env_secret = "another-newsroom-secret-from-the-environment";
    let out = parley(
        dir,
        db,
        &[
            "site",
            "sso",
            "--site",
            "courier",
            "--secret-env",
            "NEWSROOM_SSO_KEY",
            "--local-accounts",
            "false",
            "--show",
        ],
        &[("NEWSROOM_SSO_KEY", env_secret)],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(env_secret), "{}", text(&out));
    assert_eq!(shown(&out, "local_accounts"), "false");
    let out = sso(dir, db, &["--secret-env", "NO_SUCH_VARIABLE_FOR_PARLEY"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("NO_SUCH_VARIABLE_FOR_PARLEY"),
        "{}",
        text(&out)
    );
    let (status, body) = server
        .post(
            "/api/v1/accounts",
            json!({"site": "courier", "email": "new@readers.example",
                   "display_name": "Newcomer", "password": "a good password"}),
        )
        .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("local_accounts_off"))
    );
    let (status, body) = server.sign_in(&token(env_secret, "u3", "j5", None)).await;
    assert_eq!(status, 200, "{body}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_is_set_from_the_command_line_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    sso_from_the_command_line(dir.path(), &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_is_set_from_the_command_line_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::new().await;
    let db = schema.url();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        sso_from_the_command_line(dir.path(), &db),
    ))
    .await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
