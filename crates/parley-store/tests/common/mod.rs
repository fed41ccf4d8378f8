//! The harness of the conformance suite: a fresh database per test on either backend,
//! the `conformance!` macro that runs every case on both, and small fixtures.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::str::FromStr;
use std::sync::Arc;

use futures::FutureExt;
use parley_core::{CommentSort, Role};
use parley_store::{Comment, NewComment, NewUser, Site, Store, Story, StoryFields, User};
use rand::Rng;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Some fixed instant (unix milliseconds) the tests count from.
pub const T0: i64 = 1_700_000_000_000;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// How to reach the test database behind the store's back (raw SQL).
#[derive(Clone)]
enum Raw {
    Sqlite(SqliteConnectOptions),
    Postgres(PgConnectOptions),
}

/// A store on a fresh database, plus a way to change rows the store has no API for.
#[derive(Clone)]
pub struct TestDb {
    pub store: Arc<dyn Store>,
    raw: Raw,
}

impl TestDb {
    /// Runs one statement on a separate read-write connection to the same database.
    pub async fn exec(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(options) => {
                let mut conn = options.connect().await.expect("raw sqlite connection");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw sqlite statement");
                conn.close().await.expect("close raw sqlite connection");
            }
            Raw::Postgres(options) => {
                let mut conn = options.connect().await.expect("raw postgres connection");
                sqlx::query(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw postgres statement");
                conn.close().await.expect("close raw postgres connection");
            }
        }
    }

    /// Sets a user's standing word ('active', 'banned', 'premoderated', ...).
    pub async fn set_user_status(&self, user_id: i64, status: &str) {
        self.exec(&format!(
            "UPDATE users SET status = '{status}' WHERE id = {user_id}"
        ))
        .await;
    }
}

/// What a case takes: the bare store, or the whole test database.
pub trait CaseArg {
    fn from_db(db: &TestDb) -> Self;
}

impl CaseArg for Arc<dyn Store> {
    fn from_db(db: &TestDb) -> Self {
        db.store.clone()
    }
}

impl CaseArg for TestDb {
    fn from_db(db: &TestDb) -> Self {
        db.clone()
    }
}

pub async fn run<F, Fut>(kind: Kind, case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    match kind {
        Kind::Sqlite => run_sqlite(case).await,
        Kind::Postgres => run_postgres(case).await,
    }
}

/// Runs `case` on a fresh SQLite file in a temporary directory.
pub async fn run_sqlite<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("parley.db");
    let url = format!("sqlite://{}", path.display());
    let store = parley_store::sqlite::open(&url)
        .await
        .expect("open sqlite store");
    let raw = SqliteConnectOptions::from_str(&url)
        .expect("sqlite options")
        .busy_timeout(std::time::Duration::from_secs(10))
        .foreign_keys(true);
    case(TestDb {
        store: Arc::new(store),
        raw: Raw::Sqlite(raw),
    })
    .await;
    // `dir` lives until here: the database file outlives the case.
    drop(dir);
}

pub fn postgres_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Runs `case` in a fresh PostgreSQL schema, dropped afterwards even if the case panics.
pub async fn run_postgres<F, Fut>(case: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let url = postgres_url();
    let schema = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
    let mut admin = PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url} (PARLEY_TEST_POSTGRES): {e}"));
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut admin)
        .await
        .expect("create test schema");

    // The application name marks this test's sessions, so cleanup can end stragglers.
    let options = PgConnectOptions::from_str(&url)
        .expect("postgres options")
        .application_name(&schema)
        .options([("search_path", schema.as_str())]);
    let outcome = AssertUnwindSafe(async {
        let store = Arc::new(
            parley_store::postgres::open_with(options.clone())
                .await
                .expect("open postgres store"),
        );
        let pool = store.read_pool().clone();
        let db = TestDb {
            store: store.clone(),
            raw: Raw::Postgres(options.clone()),
        };
        let result = AssertUnwindSafe(case(db)).catch_unwind().await;
        // Whatever happened, no connection of the store may hold the schema's locks.
        drop(store);
        // A connection leaked by the case would make `close` wait forever; cleanup
        // terminates such sessions anyway.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), pool.close()).await;
        result
    })
    .catch_unwind()
    .await;

    let dropped = drop_schema(&mut admin, &schema).await;
    let _ = admin.close().await;
    if let Err(e) = &dropped {
        eprintln!("could not drop test schema {schema}: {e}");
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(panic)) | Err(panic) => std::panic::resume_unwind(panic),
    }
    dropped.expect("drop test schema");
}

async fn drop_schema(admin: &mut PgConnection, schema: &str) -> Result<(), sqlx::Error> {
    // Sessions of this test that outlived the store (a write abandoned mid-transaction,
    // a raw connection) would hold locks the DROP waits for.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(schema)
    .execute(&mut *admin)
    .await?;
    sqlx::query("SET lock_timeout = '30s'")
        .execute(&mut *admin)
        .await?;
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut *admin)
        .await?;
    Ok(())
}

/// One test per backend for each case `async fn case(db: TestDb)`: `sqlite::case` and
/// `postgres::case`.
#[macro_export]
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_sqlite(|db| async move { super::$case(db).await }).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_postgres(|db| async move { super::$case(db).await }).await
                }
            )*
        }
    };
}

/// Generates, for every case, `sqlite::case` and `postgres::case` tests, and the
/// property test on both backends.
#[macro_export]
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_sqlite(|db| async move {
                        super::$case($crate::common::CaseArg::from_db(&db)).await
                    })
                    .await
                }
            )*

            #[test]
            fn random_operations_keep_thread_invariants() {
                super::random_operations_keep_thread_invariants($crate::common::Kind::Sqlite)
            }
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_postgres(|db| async move {
                        super::$case($crate::common::CaseArg::from_db(&db)).await
                    })
                    .await
                }
            )*

            #[test]
            fn random_operations_keep_thread_invariants() {
                super::random_operations_keep_thread_invariants($crate::common::Kind::Postgres)
            }
        }
    };
}

// ---- fixtures ----

pub fn story_fields(n: u32) -> StoryFields {
    StoryFields {
        url: format!("https://news.example/2024/story-{n}"),
        slug: format!("story-{n}"),
        headline: format!("Story number {n}"),
        standfirst: "What happened, briefly.".into(),
        body_md: "Some *text*.".into(),
        published_at: T0 + i64::from(n),
        picture_url: None,
        picture_caption: None,
        picture_credit: None,
        is_closed: false,
        closed_message: None,
    }
}

pub fn new_user(site_id: i64, name: &str, role: Role) -> NewUser {
    NewUser {
        site_id,
        email: format!("{}@example.org", name.to_lowercase()),
        display_name: name.to_owned(),
        password_hash: Some(format!("$argon2id$hash-of-{name}")),
        role,
        now: T0,
    }
}

/// A site, one open story and three readers.
pub struct World {
    pub site: Site,
    pub story: Story,
    pub alice: User,
    pub bob: User,
    pub carol: User,
}

pub async fn world(store: &dyn Store) -> World {
    let site = store
        .create_site("daily", &["https://daily.example".to_owned()], T0)
        .await
        .expect("create site");
    let story = store
        .create_story(
            site.id,
            story_fields(1),
            "<p>Some <em>text</em>.</p>".into(),
            T0,
        )
        .await
        .expect("create story");
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .expect("alice");
    let bob = store
        .create_user(new_user(site.id, "Bob", Role::Reader))
        .await
        .expect("bob");
    let carol = store
        .create_user(new_user(site.id, "Carol", Role::Reader))
        .await
        .expect("carol");
    World {
        site,
        story,
        alice,
        bob,
        carol,
    }
}

pub fn new_comment(
    story_id: i64,
    author_id: i64,
    parent_id: Option<i64>,
    body: &str,
    now: i64,
) -> NewComment {
    NewComment {
        story_id,
        author_id,
        parent_id,
        body_src: body.to_owned(),
        body_html: format!("<p>{body}</p>"),
        max_depth: 5,
        now,
    }
}

/// Posts and expects success.
pub async fn post(
    store: &dyn Store,
    story_id: i64,
    author: &User,
    parent: Option<i64>,
    body: &str,
) -> Comment {
    store
        .create_comment(new_comment(story_id, author.id, parent, body, T0 + 1_000))
        .await
        .unwrap_or_else(|e| panic!("posting {body:?} failed: {e:?}"))
}

pub async fn comment(store: &dyn Store, id: i64) -> Comment {
    store
        .comment_by_id(id)
        .await
        .expect("read comment")
        .expect("comment exists")
}

pub async fn story(store: &dyn Store, id: i64) -> Story {
    store
        .story_by_id(id)
        .await
        .expect("read story")
        .expect("story exists")
}

/// Every top-level comment `top_level_page` hands out, page by page.
pub async fn walk_top_level(
    store: &dyn Store,
    story_id: i64,
    sort: CommentSort,
    page: i64,
) -> Vec<Comment> {
    let mut all: Vec<Comment> = Vec::new();
    let mut after = None;
    loop {
        let got = store
            .top_level_page(story_id, sort, after, page)
            .await
            .expect("top_level_page");
        assert!(got.len() as i64 <= page, "a page holds at most its limit");
        let Some(last) = got.last() else { break };
        after = Some(last.cursor_after(sort));
        let full = got.len() as i64 == page;
        all.extend(got);
        assert!(all.len() < 10_000, "pagination does not end");
        if !full {
            break;
        }
    }
    all
}

/// `comments` (visible top-level ones) in the order `sort` promises.
pub fn expected_order(sort: CommentSort, comments: &[Comment]) -> Vec<i64> {
    let mut sorted: Vec<&Comment> = comments.iter().collect();
    match sort {
        CommentSort::Newest => sorted.sort_by_key(|c| std::cmp::Reverse(c.id)),
        CommentSort::Oldest => sorted.sort_by_key(|c| c.id),
        CommentSort::MostReactions => {
            sorted.sort_by_key(|c| std::cmp::Reverse((c.reaction_count, c.id)))
        }
        CommentSort::MostReplies => {
            sorted.sort_by_key(|c| std::cmp::Reverse((c.reply_count, c.id)))
        }
    }
    sorted.into_iter().map(|c| c.id).collect()
}
