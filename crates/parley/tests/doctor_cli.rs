//! `parley doctor`, driven as an operator would: the real binary, in a fresh directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use sqlx::Connection;

fn parley(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir)
        .args(args)
        .env_remove("PARLEY_DATABASE")
        .env_remove("PARLEY_LISTEN")
        .env_remove("PARLEY_PUBLIC_ORIGIN")
        .output()
        .expect("run parley")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A listen address nobody uses right now.
fn free_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn a_fresh_directory_is_fine_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = parley(dir.path(), &["doctor", "--listen", &free_address()]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("does not exist yet"), "{said}");
    assert!(said.contains("no --public-origin"), "{said}");
    assert!(
        !dir.path().join("parley.db").exists(),
        "doctor changes nothing"
    );
}

#[test]
fn a_taken_port_and_a_bad_origin_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = parley(
        dir.path(),
        &[
            "doctor",
            "--listen",
            &addr,
            "--public-origin",
            "https://news.example/comments",
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("PROBLEM  {addr} is taken")),
        "{said}"
    );
    assert!(said.contains("without a path"), "{said}");
    assert!(said.contains("2 problem(s) found"), "{said}");
}

#[test]
fn https_without_secure_cookies_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let out = parley(
        dir.path(),
        &[
            "doctor",
            "--listen",
            &free_address(),
            "--public-origin",
            "https://comments.example",
        ],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("--secure-cookies"), "{said}");
}

#[tokio::test]
async fn a_broken_word_list_and_a_missing_default_site_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let listen = free_address();
    let out = parley(
        dir.path(),
        &[
            "site",
            "create",
            "--name",
            "courier",
            "--origin",
            "https://courier.example",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let ok = parley(dir.path(), &["doctor", "--listen", &listen]);
    let said = text(&ok);
    assert!(ok.status.success(), "{said}");
    assert!(said.contains("the schema is current"), "{said}");
    assert!(
        said.contains("site courier: its moderation policy and word lists read"),
        "{said}"
    );

    let url = format!("sqlite://{}", dir.path().join("parley.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE sites SET settings = ? WHERE name = 'courier'")
        .bind(r#"{"policy":{"banned":"or*c\n"},"stories":{"7":{"max_links":"many"}}}"#)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let out = parley(
        dir.path(),
        &["doctor", "--listen", &listen, "--default-site", "gazette"],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("--default-site gazette: there is no such site"),
        "{said}"
    );
    assert!(
        said.contains("site courier: a word list does not read"),
        "{said}"
    );
    assert!(
        said.contains("site courier, story 7: the moderation policy does not read"),
        "{said}"
    );
}

#[test]
fn an_unreachable_postgres_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let out = parley(
        dir.path(),
        &[
            "--database",
            "postgres://postgres@127.0.0.1:1/test",
            "doctor",
            "--listen",
            &free_address(),
        ],
    );
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("cannot reach the database"), "{said}");
    assert!(said.contains("is PostgreSQL running"), "{said}");
}

#[test]
fn a_current_postgres_database_is_fine() {
    let url = std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let dir = tempfile::tempdir().unwrap();
    // The shared test database may or may not be migrated: doctor must say which, and
    // never fail on that alone.
    let out = parley(
        dir.path(),
        &["--database", &url, "doctor", "--listen", &free_address()],
    );
    let said = text(&out);
    assert!(said.contains("the postgres database"), "{said}");
    assert!(
        said.contains("the schema is current") || said.contains("migration(s) to apply"),
        "{said}"
    );
}
