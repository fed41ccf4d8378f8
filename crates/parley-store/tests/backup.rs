//! Backups on both backends: every table is covered, a round trip through the other
//! backend gives the same bytes, and a bad, cut-off or misplaced restore changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use std::future::Future;
use std::io::Cursor;
use std::str::FromStr;
use std::sync::Arc;

use common::{T0, new_comment, new_user, post, story_fields};
use parley_core::Role;
use parley_core::moderation::OnAccountDelete;
use parley_store::backup::{Backup, BackupError, EXCLUDED, ExportOptions, TABLES};
use parley_store::{CommentDecision, CommentEdit, NewAudit, NewReport, Ruling, Store};
use rand::Rng;
use sqlx::Connection;
use sqlx::postgres::PgConnectOptions;

/// One fresh database seen as a store and as a backup, plus raw SQL for what the store
/// has no API for (importers' rows).
struct Db {
    store: Arc<dyn Store>,
    backup: Arc<dyn Backup>,
    raw: Raw,
}

enum Raw {
    Sqlite(String),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn exec(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(url) => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query(sql).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            Raw::Postgres(pool) => {
                sqlx::query(sql).execute(pool).await.unwrap();
            }
        }
    }

    async fn export(&self, with_secrets: bool) -> Vec<u8> {
        let mut out = Vec::new();
        self.backup
            .export(&mut out, ExportOptions { with_secrets })
            .await
            .expect("export");
        out
    }

    async fn restore(&self, bytes: &[u8]) -> Result<u64, BackupError> {
        let input = Box::new(Cursor::new(bytes.to_vec()));
        self.backup.restore(input).await.map(|c| c.total())
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sqlite,
    Postgres,
}

async fn with_db<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()>,
{
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("b.db").display());
            let store = Arc::new(parley_store::sqlite::open(&url).await.unwrap());
            case(Db {
                store: store.clone(),
                backup: store,
                raw: Raw::Sqlite(url),
            })
            .await;
            drop(dir);
        }
        Kind::Postgres => {
            let url = common::postgres_url();
            let schema = format!("b_{:016x}", rand::thread_rng().r#gen::<u64>());
            let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let options = PgConnectOptions::from_str(&url)
                .unwrap()
                .application_name(&schema)
                .options([("search_path", schema.as_str())]);
            let store = Arc::new(parley_store::postgres::open_with(options).await.unwrap());
            let pool = store.read_pool().clone();
            let outcome =
                futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(case(Db {
                    store: store.clone(),
                    backup: store.clone(),
                    raw: Raw::Postgres(pool.clone()),
                })))
                .await;
            drop(store);
            pool.close().await;
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&mut admin)
                .await
                .unwrap();
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

/// Two fresh databases, `from` and `to`, on the given backends.
async fn with_two<F, Fut>(from: Kind, to: Kind, case: F)
where
    F: FnOnce(Db, Db) -> Fut,
    Fut: Future<Output = ()>,
{
    with_db(from, |a| async move {
        with_db(to, |b| async move { case(a, b).await }).await
    })
    .await
}

macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Kind::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Kind::Postgres).await
                }
            )*
        }
    };
}

on_both! {
    every_table_and_column_of_the_schema_is_in_backups,
    restore_refuses_a_database_that_is_not_empty,
    a_bad_line_restores_nothing_and_names_the_line,
    a_cut_off_backup_restores_nothing,
    without_secrets_there_are_no_password_hashes_or_sessions,
    a_restored_database_numbers_new_rows_after_the_restored_ones,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back_gives_the_same_bytes() {
    round_trip(Kind::Sqlite, Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite_and_back_gives_the_same_bytes() {
    round_trip(Kind::Postgres, Kind::Sqlite).await;
}

/// Fills `db` with a bit of everything the schema can hold.
async fn fill(db: &Db) {
    let store = db.store.as_ref();
    let site = store
        .create_site(
            "daily",
            &[
                "https://daily.example".to_owned(),
                "https://www.daily.example".to_owned(),
            ],
            T0,
        )
        .await
        .unwrap();
    let other = store
        .create_site("Zeitung", &["https://zeitung.example".to_owned()], T0)
        .await
        .unwrap();
    store
        .set_site_settings(
            site.id,
            r#"{"policy":{"premoderate":false,"max_links":2},"note":"ünïcödé \"quoted\"\n"}"#
                .into(),
        )
        .await
        .unwrap();
    let mut fields = story_fields(1);
    fields.picture_url = Some("https://daily.example/p.jpg".into());
    fields.picture_caption = Some("A caption — with “quotes”".into());
    fields.picture_credit = Some("Photo: Ann".into());
    let story = store
        .create_story(site.id, fields, "<p>Some <em>text</em>.</p>".into(), T0)
        .await
        .unwrap();
    let mut closed = story_fields(2);
    closed.is_closed = true;
    closed.closed_message = Some("Closed\tfor now".into());
    let closed = store
        .create_story(other.id, closed, String::new(), T0)
        .await
        .unwrap();
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    let bob = store
        .create_user(new_user(site.id, "Bob", Role::Moderator))
        .await
        .unwrap();
    let carol = store
        .create_user(new_user(site.id, "Çarol 😀", Role::Reader))
        .await
        .unwrap();
    let dan = store
        .create_user(new_user(other.id, "Dan", Role::Admin))
        .await
        .unwrap();
    store
        .create_session("ab12", alice.id, T0, T0 + 1_000_000)
        .await
        .unwrap();
    store
        .create_session("0f00", bob.id, T0, T0 + 2_000_000)
        .await
        .unwrap();
    let top = post(store, story.id, &alice, None, "First! <script>x</script>").await;
    let reply = post(
        store,
        story.id,
        &bob,
        Some(top.id),
        "A reply\nover two lines",
    )
    .await;
    let deep = post(store, story.id, &carol, Some(reply.id), "Deeper 😀").await;
    let gone = post(store, story.id, &carol, None, "To be deleted").await;
    store
        .edit_comment(CommentEdit {
            comment_id: deep.id,
            editor_id: carol.id,
            body_src: "Deeper, edited".into(),
            body_html: "<p>Deeper, edited</p>".into(),
            window_ms: 600_000,
            now: T0 + 2_000,
        })
        .await
        .unwrap();
    store
        .delete_comment(gone.id, carol.id, T0 + 3_000)
        .await
        .unwrap();
    let held = store
        .create_comment_ruled(
            new_comment(story.id, alice.id, None, "buy now http://x", T0 + 4_000),
            Ruling {
                hold: true,
                rule: Some("spam_signals".into()),
                reasons: "spam_signals: links".into(),
            },
        )
        .await
        .unwrap();
    store
        .decide_comment(CommentDecision {
            comment_id: held.id,
            actor_id: bob.id,
            approve: false,
            reason: "spam".into(),
            now: T0 + 5_000,
        })
        .await
        .unwrap();
    store
        .add_reaction(top.id, bob.id, T0 + 6_000)
        .await
        .unwrap();
    store
        .add_reaction(top.id, carol.id, T0 + 6_001)
        .await
        .unwrap();
    store
        .add_report(NewReport {
            comment_id: reply.id,
            user_id: alice.id,
            reason: "offensive".into(),
            note: "not nice".into(),
            now: T0 + 7_000,
        })
        .await
        .unwrap();
    store
        .record_audit(NewAudit {
            at: T0 + 8_000,
            site_id: other.id,
            actor_id: Some(dan.id),
            actor_rule: None,
            action: "note".into(),
            target_kind: "story".into(),
            target_id: closed.id,
            reason: String::new(),
        })
        .await
        .unwrap();
    store
        .set_user_status(
            carol.id,
            parley_core::UserStatus::Suspended {
                until: T0 + 86_400_000,
            },
            bob.id,
            "cooling off".into(),
            T0 + 9_000,
        )
        .await
        .unwrap();
    // What importers write: keys of their sources and guest authors without passwords.
    db.exec(&format!(
        "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) VALUES \
         ({0}, 'disqus', 'post', 'z-99', {1}), ({0}, 'disqus', 'post', 'Z-1', {1}), \
         ({0}, 'disqus', 'thread', 'a b', {2})",
        site.id, top.id, story.id
    ))
    .await;
    db.exec(&format!(
        "INSERT INTO users (site_id, email, display_name, name_key, role, created_at, imported) \
         VALUES ({}, 'guest@old.example', 'Guest', 'guest', 'reader', {T0}, TRUE)",
        site.id
    ))
    .await;
    let erin = store
        .create_user(new_user(site.id, "Erin", Role::Reader))
        .await
        .unwrap();
    let said = post(store, story.id, &erin, Some(top.id), "I was here").await;
    let _ = said;
    store
        .delete_account(erin.id, OnAccountDelete::Tombstone, T0 + 10_000)
        .await
        .unwrap();
}

async fn round_trip(from: Kind, to: Kind) {
    with_two(from, to, |a, b| async move {
        fill(&a).await;
        let first = a.export(true).await;
        let restored = b.restore(&first).await.expect("restore");
        let second = b.export(true).await;
        assert_eq!(
            String::from_utf8(first.clone()).unwrap(),
            String::from_utf8(second).unwrap(),
            "export → restore → export changed the backup"
        );
        let lines = first.iter().filter(|b| **b == b'\n').count() as u64;
        assert_eq!(restored, lines - 2, "every record line was restored");
        // Without secrets the two databases read the same as well.
        assert_eq!(a.export(false).await, b.export(false).await);
        // The restored database works: the store reads what was written.
        let site = b.store.site_by_name("daily").await.unwrap().unwrap();
        assert_eq!(site.origins.len(), 2);
        let story = b
            .store
            .story_by_slug(site.id, "story-1")
            .await
            .unwrap()
            .unwrap();
        let page = b
            .store
            .top_level_page(story.id, parley_core::CommentSort::Oldest, None, 10)
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].reaction_count, 2);
    })
    .await;
}

async fn every_table_and_column_of_the_schema_is_in_backups(kind: Kind) {
    with_db(kind, |db| async move {
        let schema = db.backup.schema_columns().await.unwrap();
        assert!(!schema.is_empty());
        let mut missing = Vec::new();
        for (table, column) in &schema {
            if EXCLUDED.iter().any(|(t, _)| t == table) {
                continue;
            }
            match TABLES.iter().find(|t| t.name == table) {
                None => missing.push(format!("table {table}")),
                Some(t) if t.column(column).is_none() => missing.push(format!("{table}.{column}")),
                Some(_) => {}
            }
        }
        assert!(
            missing.is_empty(),
            "the backup format (parley_store::backup::TABLES) leaves out {missing:?}: \
             add them, and to docs/BACKUP.md"
        );
        for t in TABLES {
            for c in t.columns {
                assert!(
                    schema.iter().any(|(tt, cc)| tt == t.name && cc == c.name),
                    "backups name {}.{} which the schema does not have",
                    t.name,
                    c.name
                );
            }
        }
    })
    .await;
}

async fn restore_refuses_a_database_that_is_not_empty(kind: Kind) {
    with_db(kind, |db| async move {
        fill(&db).await;
        let backup = db.export(true).await;
        let before = db.export(true).await;
        match db.restore(&backup).await {
            Err(BackupError::NotEmpty { table }) => assert_eq!(table, "sites"),
            other => panic!("expected NotEmpty, got {other:?}"),
        }
        assert_eq!(db.export(true).await, before, "nothing changed");
    })
    .await;
}

/// `backup` with line `n` (1-based) replaced by `with`.
fn replace_line(backup: &[u8], n: usize, with: &str) -> Vec<u8> {
    let text = String::from_utf8(backup.to_vec()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[n - 1] = with;
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

async fn a_bad_line_restores_nothing_and_names_the_line(kind: Kind) {
    with_two(Kind::Sqlite, kind, |a, b| async move {
        fill(&a).await;
        let good = a.export(true).await;
        let empty = b.export(true).await;
        let text = String::from_utf8(good.clone()).unwrap();
        let comment_line = text
            .lines()
            .position(|l| l.starts_with("{\"table\":\"comments\""))
            .unwrap()
            + 1;
        let cases = [
            (5, "{not json".to_owned()),
            (comment_line, "{\"table\":\"comments\",\"id\":\"seven\"}".to_owned()),
            (comment_line, "{\"table\":\"nonsense\"}".to_owned()),
            // A site row after comments: out of order.
            (
                comment_line,
                "{\"table\":\"sites\",\"id\":9,\"name\":\"x\",\"settings\":\"{}\",\"created_at\":1}"
                    .to_owned(),
            ),
            // A reply whose story does not exist: the database refuses it.
            (
                comment_line,
                text.lines()
                    .nth(comment_line - 1)
                    .unwrap()
                    .replace("\"story_id\":1,", "\"story_id\":999,"),
            ),
        ];
        for (line, with) in cases {
            let bad = replace_line(&good, line, &with);
            match b.restore(&bad).await {
                Err(BackupError::Format { line: got, message }) => {
                    assert_eq!(got as usize, line, "{message}")
                }
                other => panic!("line {line} {with:?}: expected a format error, got {other:?}"),
            }
            assert_eq!(
                b.export(true).await,
                empty,
                "a failed restore leaves nothing"
            );
        }
        let mut header = good.clone();
        header[2] = b'X';
        assert!(matches!(
            b.restore(&header).await,
            Err(BackupError::Format { line: 1, .. })
        ));
        // The good file still restores afterwards.
        b.restore(&good).await.unwrap();
        assert_eq!(b.export(true).await, good);
    })
    .await;
}

async fn a_cut_off_backup_restores_nothing(kind: Kind) {
    with_two(Kind::Sqlite, kind, |a, b| async move {
        fill(&a).await;
        let good = a.export(true).await;
        let empty = b.export(true).await;
        let text = String::from_utf8(good.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Without the trailer, and with a record line missing under the trailer.
        let without_trailer = lines[..lines.len() - 1].join("\n") + "\n";
        let mut dropped: Vec<&str> = lines.clone();
        dropped.remove(lines.len() / 2);
        let dropped = dropped.join("\n") + "\n";
        for cut in [without_trailer, dropped, lines[0].to_owned()] {
            let err = b.restore(cut.as_bytes()).await.unwrap_err();
            assert!(matches!(err, BackupError::Format { .. }), "{err:?}");
            assert_eq!(b.export(true).await, empty);
        }
    })
    .await;
}

async fn without_secrets_there_are_no_password_hashes_or_sessions(kind: Kind) {
    with_db(kind, |db| async move {
        fill(&db).await;
        let plain = String::from_utf8(db.export(false).await).unwrap();
        let secret = String::from_utf8(db.export(true).await).unwrap();
        assert!(!plain.contains("$argon2id$"), "no password hashes");
        assert!(!plain.contains("\"table\":\"sessions\""), "no sessions");
        assert!(
            plain
                .starts_with("{\"format\":\"parley-backup\",\"version\":1,\"with_secrets\":false,")
        );
        assert!(secret.contains("$argon2id$hash-of-Alice"));
        assert!(secret.contains("\"table\":\"sessions\",\"token_hash\":\"0f00\""));
        // Without secrets, the users are still all there.
        assert_eq!(
            plain.matches("\"table\":\"users\"").count(),
            secret.matches("\"table\":\"users\"").count()
        );
    })
    .await;
}

async fn a_restored_database_numbers_new_rows_after_the_restored_ones(kind: Kind) {
    with_two(Kind::Sqlite, kind, |a, b| async move {
        fill(&a).await;
        let backup = a.export(true).await;
        b.restore(&backup).await.unwrap();
        let site = b.store.site_by_name("daily").await.unwrap().unwrap();
        let story = b
            .store
            .story_by_slug(site.id, "story-1")
            .await
            .unwrap()
            .unwrap();
        let zoe = b
            .store
            .create_user(new_user(site.id, "Zoe", Role::Reader))
            .await
            .unwrap();
        let c = post(b.store.as_ref(), story.id, &zoe, None, "new here").await;
        let s = b
            .store
            .create_story(site.id, story_fields(3), String::new(), T0)
            .await
            .unwrap();
        assert!(
            zoe.id > 6 && c.id > 6 && s.id > 2,
            "{} {} {}",
            zoe.id,
            c.id,
            s.id
        );
    })
    .await;
}
