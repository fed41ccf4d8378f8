//! `parley export` and `parley import backup`, driven as an operator would: the real
//! binary, a SQLite file and a PostgreSQL schema of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use parley_core::Role;
use parley_store::{NewComment, NewReport, NewUser, StoryFields};
use rand::Rng;
use sqlx::Connection;

fn parley(dir: &Path, database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir)
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("PARLEY_DATABASE")
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
        let name = format!("cli_{:016x}", rand::thread_rng().r#gen::<u64>());
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

/// A site with a story, two readers, a thread, a reaction and a report.
async fn fill(database: &str) {
    let store = parley_store::connect(database).await.unwrap();
    let now = 1_700_000_000_000;
    let site = store
        .create_site("daily", &["https://daily.example".into()], now)
        .await
        .unwrap();
    let story = store
        .create_story(
            site.id,
            StoryFields::bare(
                "https://daily.example/a",
                "a".into(),
                "A headline with “quotes”".into(),
                now,
            ),
            String::new(),
            now,
        )
        .await
        .unwrap();
    let mut users = Vec::new();
    for name in ["Ann", "Björn"] {
        users.push(
            store
                .create_user(NewUser {
                    site_id: site.id,
                    email: format!("{}@readers.example", name.to_lowercase()),
                    display_name: name.into(),
                    password_hash: Some(format!("$argon2id$secret-of-{name}")),
                    role: Role::Reader,
                    now,
                })
                .await
                .unwrap(),
        );
    }
    store
        .create_session("feed", users[0].id, now, now + 1_000)
        .await
        .unwrap();
    let top = store
        .create_comment(NewComment {
            story_id: story.id,
            author_id: users[0].id,
            parent_id: None,
            body_src: "First line\nsecond \"line\" 😀".into(),
            body_html: "<p>First line<br>second &quot;line&quot; 😀</p>".into(),
            max_depth: 5,
            now,
        })
        .await
        .unwrap();
    store
        .create_comment(NewComment {
            story_id: story.id,
            author_id: users[1].id,
            parent_id: Some(top.id),
            body_src: "A reply".into(),
            body_html: "<p>A reply</p>".into(),
            max_depth: 5,
            now: now + 1,
        })
        .await
        .unwrap();
    store
        .add_reaction(top.id, users[1].id, now + 2)
        .await
        .unwrap();
    store
        .add_report(NewReport {
            comment_id: top.id,
            user_id: users[1].id,
            reason: "spam".into(),
            note: String::new(),
            now: now + 3,
        })
        .await
        .unwrap();
}

fn export(dir: &Path, database: &str, out: &str, secrets: bool) -> Vec<u8> {
    let mut args = vec!["export", "--out", out];
    if secrets {
        args.push("--with-secrets");
    }
    let o = parley(dir, database, &args);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::read(dir.join(out)).unwrap()
}

fn restore(dir: &Path, database: &str, file: &str) -> Output {
    parley(dir, database, &["import", "backup", file])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_gives_identical_backups() {
    let dir = tempfile::tempdir().unwrap();
    let first_db = format!("sqlite://{}", dir.path().join("first.db").display());
    fill(&first_db).await;
    let first = export(dir.path(), &first_db, "first.jsonl", true);

    let schema = Schema::new().await;
    let pg = schema.url();
    let o = restore(dir.path(), &pg, "first.jsonl");
    let restored = text(&o);
    let second = if o.status.success() {
        Some(export(dir.path(), &pg, "second.jsonl", true))
    } else {
        None
    };
    schema.drop().await;
    assert!(o.status.success(), "{restored}");
    assert!(restored.contains("comments 2"), "{restored}");
    let second = second.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&first),
        String::from_utf8_lossy(&second)
    );

    let third_db = format!("sqlite://{}", dir.path().join("third.db").display());
    let o = restore(dir.path(), &third_db, "second.jsonl");
    assert!(o.status.success(), "{}", text(&o));
    let third = export(dir.path(), &third_db, "third.jsonl", true);
    assert_eq!(first, third);
}

#[test]
fn a_damaged_backup_names_the_line_and_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(fill(&db));
    let good = String::from_utf8(export(dir.path(), &db, "good.jsonl", false)).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let n = lines
        .iter()
        .position(|l| l.contains("\"table\":\"comments\""))
        .unwrap();
    lines[n] = lines[n].replace("\"depth\":0", "\"depth\":\"deep\"");
    std::fs::write(dir.path().join("bad.jsonl"), lines.join("\n") + "\n").unwrap();
    let target = format!("sqlite://{}", dir.path().join("b.db").display());
    let o = restore(dir.path(), &target, "bad.jsonl");
    assert!(!o.status.success());
    let said = text(&o);
    assert!(
        said.contains(&format!(
            "bad.jsonl line {}: comments.depth must be an integer",
            n + 1
        )),
        "{said}"
    );
    assert!(said.contains("nothing was restored"), "{said}");
    // Cut short: no trailer.
    let cut = good.lines().take(5).collect::<Vec<_>>().join("\n") + "\n";
    std::fs::write(dir.path().join("cut.jsonl"), cut).unwrap();
    let o = restore(dir.path(), &target, "cut.jsonl");
    assert!(!o.status.success());
    assert!(text(&o).contains("cut short"), "{}", text(&o));
    // Nothing was restored by either: the good file still goes in.
    let o = restore(dir.path(), &target, "good.jsonl");
    assert!(o.status.success(), "{}", text(&o));
    // And not twice.
    let o = restore(dir.path(), &target, "good.jsonl");
    assert!(!o.status.success());
    assert!(text(&o).contains("not empty"), "{}", text(&o));
}

#[test]
fn without_secrets_the_backup_has_no_password_hashes_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("a.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(fill(&db));
    let plain = String::from_utf8(export(dir.path(), &db, "plain.jsonl", false)).unwrap();
    assert!(!plain.contains("secret-of-"));
    assert!(!plain.contains("\"table\":\"sessions\""));
    assert!(plain.contains("\"password_hash\":null"));
    let secret = String::from_utf8(export(dir.path(), &db, "secret.jsonl", true)).unwrap();
    assert!(secret.contains("$argon2id$secret-of-Ann"));
    assert!(secret.contains("\"table\":\"sessions\""));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.jsonl"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!dir.path().join("secret.jsonl.partial").exists());
    // `--out -` writes the same backup to standard output.
    let o = parley(dir.path(), &db, &["export", "--out", "-"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8(o.stdout).unwrap(), plain);
}
