//! The command line, driven as a user would: the real binary in a fresh directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn parley(
    dir: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_parley"));
    cmd.current_dir(dir)
        .args(args)
        .env_remove("PARLEY_DATABASE")
        .env_remove("PARLEY_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run parley");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn help_explains_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = parley(dir.path(), &["serve", "--help"], None, &[]);
    assert!(out.status.success());
    let help = text(&out);
    for setting in [
        "--listen",
        "--database",
        "--config",
        "--demo",
        "PARLEY_DATABASE",
        "--max-comment-chars",
        "--edit-window-secs",
        "--max-depth",
    ] {
        assert!(
            help.contains(setting),
            "serve --help lacks {setting}:\n{help}"
        );
    }
}

#[test]
fn the_default_database_is_a_sqlite_file_created_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = parley(dir.path(), &["migrate"], None, &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("parley.db").exists());
    let again = parley(dir.path(), &["migrate"], None, &[]);
    assert!(
        again.status.success(),
        "migrations are idempotent: {}",
        text(&again)
    );
}

#[test]
fn sites_and_users_are_created_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let none = parley(
        dir.path(),
        &["user", "create", "--email", "a@b.org", "--name", "Ann"],
        Some("long enough\n"),
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(!none.status.success());
    assert!(
        text(&none).contains("site create"),
        "explains what to do: {}",
        text(&none)
    );
    let site = parley(
        dir.path(),
        &[
            "site",
            "create",
            "--name",
            "courier",
            "--origin",
            "https://courier.example",
        ],
        None,
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(site.status.success(), "{}", text(&site));
    let bad_origin = parley(
        dir.path(),
        &[
            "site",
            "create",
            "--name",
            "x",
            "--origin",
            "https://x.org/path",
        ],
        None,
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(!bad_origin.status.success());
    let from_stdin = parley(
        dir.path(),
        &[
            "--database",
            &db,
            "user",
            "create",
            "--email",
            "Ann@B.org",
            "--name",
            "Ann",
            "--role",
            "admin",
        ],
        Some("long enough password\n"),
        &[],
    );
    assert!(from_stdin.status.success(), "{}", text(&from_stdin));
    assert!(text(&from_stdin).contains("admin Ann <ann@b.org>"));
    let from_env = parley(
        dir.path(),
        &["user", "create", "--email", "bo@b.org", "--name", "Bo"],
        None,
        &[
            ("PARLEY_DATABASE", &db),
            ("PARLEY_PASSWORD", "another long one"),
        ],
    );
    assert!(from_env.status.success(), "{}", text(&from_env));
    let short = parley(
        dir.path(),
        &["user", "create", "--email", "c@b.org", "--name", "Cy"],
        Some("short\n"),
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(!short.status.success());
    assert!(text(&short).contains("password"));
    let dup = parley(
        dir.path(),
        &["user", "create", "--email", "ann@b.org", "--name", "Ann2"],
        Some("long enough password\n"),
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(!dup.status.success());
    let list = parley(
        dir.path(),
        &["site", "list"],
        None,
        &[("PARLEY_DATABASE", &db)],
    );
    assert!(text(&list).contains("courier"));
}

#[test]
fn settings_come_from_a_toml_file_and_bad_ones_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("parley.toml");
    std::fs::write(
        &config,
        format!(
            "database = \"sqlite://{}\"\n",
            dir.path().join("from-file.db").display()
        ),
    )
    .unwrap();
    let out = parley(
        dir.path(),
        &["--config", config.to_str().unwrap(), "migrate"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("from-file.db").exists());
    std::fs::write(&config, "no_such_setting = 1\n").unwrap();
    let bad = parley(
        dir.path(),
        &["--config", config.to_str().unwrap(), "migrate"],
        None,
        &[],
    );
    assert!(!bad.status.success());
    assert!(text(&bad).contains("no_such_setting"), "{}", text(&bad));
    let bad_url = parley(
        dir.path(),
        &["--database", "mysql://x", "migrate"],
        None,
        &[],
    );
    assert!(!bad_url.status.success());
    assert!(text(&bad_url).contains("sqlite://"), "{}", text(&bad_url));
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("PARLEY_DATABASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(up, "the server never listened");
    assert!(
        status.is_some_and(|s| s.success()),
        "serve did not exit cleanly on SIGTERM: {status:?}"
    );
}
