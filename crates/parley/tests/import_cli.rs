//! `parley import disqus|wordpress|commento|comentario|text`, driven through the real binary on a SQLite
//! file and on a PostgreSQL schema of the test's own: what each fixture imports, that a
//! second run changes nothing, that a broken file names its line and imports nothing,
//! that the conversation shows nested over HTTP, and that a reader registering with an
//! imported author's email takes those comments over.
//!
//! The fixtures in crates/parley-import/tests/fixtures are written for these tests. The
//! real-world exports in `$PARLEY_FIXTURES` (set by scripts/test) are checked too; those
//! tests say so and pass when the variable is unset.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use parley_core::CommentSort;
use parley_core::thread::CommentStatus;
use parley_store::{Comment, Store, Story};
use rand::Rng;
use serde_json::{Value, json};
use sqlx::Connection;

fn parley(database: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_parley"))
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("PARLEY_DATABASE")
        .env_remove("PARLEY_MAX_DEPTH")
        .stdin(Stdio::null())
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

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../parley-import/tests/fixtures")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn real_world(name: &str) -> Option<String> {
    match std::env::var("PARLEY_FIXTURES") {
        Ok(dir) if !dir.is_empty() => {
            Some(PathBuf::from(dir).join(name).to_str().unwrap().to_owned())
        }
        _ => {
            eprintln!(
                "SKIPPED: PARLEY_FIXTURES is not set, so {name} is not imported (scripts/test sets it)"
            );
            None
        }
    }
}

fn postgres_url() -> String {
    std::env::var("PARLEY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database the binary can open: a SQLite file, or a PostgreSQL schema.
struct Db {
    url: String,
    schema: Option<String>,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn sqlite() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("parley.db").display());
        Db::ready(Db {
            url,
            schema: None,
            _dir: dir,
        })
        .await
    }

    async fn postgres() -> Db {
        let name = format!("import_{:016x}", rand::thread_rng().r#gen::<u64>());
        let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let base = postgres_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}");
        Db::ready(Db {
            url,
            schema: Some(name),
            _dir: tempfile::tempdir().unwrap(),
        })
        .await
    }

    async fn ready(db: Db) -> Db {
        ok(parley(&db.url, &["site", "create", "--name", "harbour"]));
        db
    }

    async fn store(&self) -> Arc<dyn Store> {
        parley_store::connect(&self.url).await.unwrap()
    }

    async fn drop(self) {
        if let Some(name) = &self.schema {
            let mut admin = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
            let _ = sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
                .execute(&mut admin)
                .await;
        }
    }
}

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::Db::sqlite().await;
                    super::$case(&db).await;
                    db.drop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = super::Db::postgres().await;
                    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(super::$case(&db))).await;
                    db.drop().await;
                    if let Err(panic) = outcome {
                        std::panic::resume_unwind(panic);
                    }
                }
            )*
        }
    };
}

both! {
    disqus_export_imports_threads_statuses_and_html,
    wordpress_export_imports_items_and_comments,
    news_page_text_imports_story_and_comments,
    broken_files_name_their_line_and_import_nothing,
    dry_run_writes_nothing,
    imported_conversation_shows_nested_over_http_and_can_be_claimed,
    real_world_isso_disqus,
    real_world_isso_wordpress,
    real_world_remark42_disqus_is_refused,
    commento_export_imports_pages_statuses_and_markdown,
    comentario_export_imports_pages_flags_and_gzip,
    json_dry_runs_and_broken_files_write_nothing,
    real_world_remark42_commento,
    real_world_comentario_v3_gzip,
}

async fn story(store: &dyn Store, url: &str) -> Story {
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    store
        .story_by_url(site.id, url)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no story at {url}"))
}

/// Every comment of a story with its place, depth-first: top-level ones (published or
/// tombstones with replies) and every reply the store will show.
async fn thread(store: &dyn Store, story_id: i64) -> Vec<Comment> {
    let top = store
        .top_level_page(story_id, CommentSort::Oldest, None, 500)
        .await
        .unwrap();
    let ids: Vec<i64> = top.iter().map(|c| c.id).collect();
    let replies = store.replies_for_roots(&ids, 500, 50).await.unwrap();
    let mut all: Vec<Comment> = top.into_iter().chain(replies).collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

async fn all_comments(store: &dyn Store, story: &Story) -> Vec<Comment> {
    // Ids are dense within one import; read them all, whatever their status.
    let mut out = Vec::new();
    for id in 1..200 {
        if let Some(c) = store.comment_by_id(id).await.unwrap()
            && c.story_id == story.id
        {
            out.push(c);
        }
    }
    out
}

/// `(body, depth, parent body)` of a thread, for shape checks.
fn shape(comments: &[Comment]) -> Vec<(String, i64, Option<String>)> {
    comments
        .iter()
        .map(|c| {
            let parent = c.parent_id.map(|p| {
                comments
                    .iter()
                    .find(|x| x.id == p)
                    .map(|x| x.body_src.clone())
                    .unwrap_or_else(|| format!("#{p}"))
            });
            (c.body_src.clone(), c.depth, parent)
        })
        .collect()
}

async fn disqus_export_imports_threads_statuses_and_html(db: &Db) {
    let out = ok(parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("disqus.xml"),
            "--site",
            "harbour",
        ],
    ));
    assert!(
        out.contains("stories:  2 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("comments: 11 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("8 published, 1 pending, 1 rejected as spam, 1 tombstones; 1 featured"),
        "{out}"
    );
    assert!(out.contains("authors:  7 created"), "{out}");
    assert!(out.contains("orphans (top-level now): 1"), "{out}");
    assert!(out.contains("comment 1009 answers 999"), "{out}");
    assert!(
        out.contains("post 1006: deleted, and nothing replies to it"),
        "{out}"
    );
    assert!(out.contains("thread 102: no comments"), "{out}");

    let store = db.store().await;
    let ferry = story(&*store, "https://harbour.example/2025/ferry-vote").await;
    assert_eq!(
        ferry.fields.headline,
        "Ferry vote: the council keeps the crossing — Überfahrt bleibt"
    );
    assert_eq!(ferry.fields.published_at, 1_741_080_600_000);
    assert_eq!(ferry.comment_count, 7);
    let t = thread(&*store, ferry.id).await;
    assert_eq!(
        shape(&t),
        [
            (
                "Good news for the **island** at last.\n\nSecond paragraph.".into(),
                0,
                None
            ),
            (
                "Ça va — 日本語 ✓ Привет, the fares will tell.".into(),
                1,
                Some("Good news for the **island** at last.\n\nSecond paragraph.".into())
            ),
            (
                "They always do.".into(),
                2,
                Some("Ça va — 日本語 ✓ Привет, the fares will tell.".into())
            ),
            ("".into(), 0, None),
            (
                "Answering a comment that was deleted.".into(),
                1,
                Some("".into())
            ),
            ("My parent is not in this file.".into(), 0, None),
            (
                "Hello click me [timetable](<https://harbour.example/timetable>)".into(),
                0,
                None
            ),
            ("Editors liked this one.".into(), 0, None),
        ]
    );
    assert_eq!(t[0].reply_count, 1);
    assert_eq!(t[0].author_name.as_deref(), Some("Morag Bell"));
    assert_eq!(t[2].author_id, t[0].author_id, "one author per email");
    assert_eq!(
        (t[3].status, t[3].author_id, t[3].reply_count),
        (CommentStatus::Deleted, None, 1)
    );
    assert!(t[7].featured);
    let html = &t[6].body_html;
    for bad in [
        "script",
        "alert",
        "onerror",
        "onclick",
        "javascript",
        "<img",
        "style",
        "display",
    ] {
        assert!(!html.contains(bad), "{bad} survived in {html}");
    }
    assert!(html.contains(r#"<a href="https://harbour.example/timetable" rel="nofollow ugc noopener">timetable</a>"#), "{html}");
    assert_eq!(
        t[0].body_html,
        "<p>Good news for the <strong>island</strong> at last.</p>\n<p>Second paragraph.</p>\n"
    );

    let every = all_comments(&*store, &ferry).await;
    let status_of = |body: &str| {
        every
            .iter()
            .find(|c| c.body_src.contains(body))
            .map(|c| c.status)
    };
    assert_eq!(status_of("Cheap watches"), Some(CommentStatus::Rejected));
    assert_eq!(
        status_of("Waiting for a moderator"),
        Some(CommentStatus::Pending)
    );
    assert_eq!(status_of("Deleted, and nobody answered"), None);

    // The thread with an empty id and title: its link is its headline.
    let market = story(&*store, "https://harbour.example/2025/market-hall").await;
    assert_eq!(
        market.fields.headline,
        "https://harbour.example/2025/market-hall"
    );
    assert_eq!(market.comment_count, 1);

    // Again: nothing changes, not even a version.
    let again = ok(parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("disqus.xml"),
            "--site",
            "harbour",
        ],
    ));
    assert!(
        again.contains("stories:  0 created, 2 already there"),
        "{again}"
    );
    assert!(
        again.contains("comments: 0 created, 11 already there"),
        "{again}"
    );
    assert!(again.contains("authors:  0 created"), "{again}");
    assert_eq!(
        story(&*store, "https://harbour.example/2025/ferry-vote").await,
        ferry
    );
    assert_eq!(thread(&*store, ferry.id).await, t);
}

async fn wordpress_export_imports_items_and_comments(db: &Db) {
    let out = ok(parley(
        &db.url,
        &[
            "import",
            "wordpress",
            &fixture("wordpress.xml"),
            "--site",
            "harbour",
        ],
    ));
    assert!(out.contains("comments: 8 created"), "{out}");
    assert!(
        out.contains("5 published, 1 pending, 1 rejected as spam, 1 tombstones"),
        "{out}"
    );
    assert!(out.contains("comment 7: a pingback"), "{out}");
    assert!(out.contains("orphans (top-level now): 1"), "{out}");
    let store = db.store().await;
    let post = story(&*store, "https://notes.example/2024/lighthouse").await;
    assert_eq!(post.fields.headline, "Lighthouse open day — Leuchtturm");
    assert_eq!(post.comment_count, 5);
    let t = thread(&*store, post.id).await;
    let first = "What a view from the top.\\\nWorth every step.\n\nSee you next year.".to_owned();
    assert_eq!(
        shape(&t),
        [
            (first.clone(), 0, None),
            ("Smukt! 灯台 ✓".into(), 1, Some(first)),
            ("".into(), 0, None),
            ("Replying to the trashed one.".into(), 1, Some("".into())),
            (
                "Answering comment 99, which the export lost.".into(),
                0,
                None
            ),
            ("Nice **post**".into(), 0, None),
        ]
    );
    assert_eq!(t[1].author_name.as_deref(), Some("Søren Ålund"));
    assert!(t[0].body_html.contains("<br"), "{}", t[0].body_html);
    assert!(
        !t[5].body_html.contains("script")
            && !t[5].body_html.contains("cookie")
            && !t[5].body_html.contains("onmouseover")
    );
    let every = all_comments(&*store, &post).await;
    let held = every
        .iter()
        .find(|c| c.body_src.starts_with("Held for review"))
        .unwrap();
    assert_eq!((held.status, held.depth), (CommentStatus::Pending, 2));
    assert!(
        every
            .iter()
            .any(|c| c.status == CommentStatus::Rejected && c.body_src == "Buy now")
    );
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    assert!(
        store
            .story_by_url(site.id, "https://notes.example/about")
            .await
            .unwrap()
            .is_none(),
        "no comments, no story"
    );

    let again = ok(parley(
        &db.url,
        &[
            "import",
            "wordpress",
            &fixture("wordpress.xml"),
            "--site",
            "harbour",
        ],
    ));
    assert!(
        again.contains("comments: 0 created, 8 already there"),
        "{again}"
    );
    assert_eq!(thread(&*store, post.id).await, t);
}

async fn news_page_text_imports_story_and_comments(db: &Db) {
    let url = "https://harbour.example/2025/ferry-page";
    let out = ok(parley(
        &db.url,
        &[
            "import",
            "text",
            &fixture("news-page.txt"),
            "--site",
            "harbour",
            "--url",
            url,
        ],
    ));
    assert!(out.contains("comments: 6 created"), "{out}");
    assert!(out.contains("2 featured"), "{out}");
    assert!(out.contains("answers a comment by Nobody Known"), "{out}");
    let store = db.store().await;
    let s = story(&*store, url).await;
    assert_eq!(s.fields.headline, "Harbour town votes to keep its ferry");
    assert_eq!(
        s.fields.standfirst,
        "A narrow majority backs the council's plan to run the crossing itself"
    );
    assert_eq!(
        s.fields.picture_caption.as_deref(),
        Some("The morning ferry leaves the north quay in light rain.")
    );
    assert_eq!(
        s.fields.picture_credit.as_deref(),
        Some("Quayside Pictures")
    );
    assert!(
        s.body_html.contains("<h2>What happens next</h2>"),
        "{}",
        s.body_html
    );
    assert!(!s.fields.body_md.contains("Enter comments"));
    let t = thread(&*store, s.id).await;
    let who: Vec<(&str, i64, bool)> = t
        .iter()
        .map(|c| (c.author_name.as_deref().unwrap_or("-"), c.depth, c.featured))
        .collect();
    assert_eq!(
        who,
        [
            ("Morag Bell", 0, true),
            ("Tom Reid", 1, true),
            ("Ann Lee", 0, false),
            ("Morag Bell", 1, false),
            ("Sam Ortiz", 0, false),
            ("Tom Reid", 0, false),
        ]
    );
    assert_eq!(t[0].author_id, t[3].author_id);
    assert_eq!(t[3].parent_author_name.as_deref(), Some("Ann Lee"));
    let featured = store.featured_comments(s.id, 10).await.unwrap();
    assert_eq!(featured.len(), 2);
    let again = ok(parley(
        &db.url,
        &[
            "import",
            "text",
            &fixture("news-page.txt"),
            "--site",
            "harbour",
            "--url",
            url,
        ],
    ));
    assert!(
        again.contains("comments: 0 created, 6 already there"),
        "{again}"
    );
}

async fn broken_files_name_their_line_and_import_nothing(db: &Db) {
    let out = parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("malformed-disqus.xml"),
            "--site",
            "harbour",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out);
    assert!(err.contains("line 14"), "{err}");
    assert!(err.contains("<thread>"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let out = parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("truncated-disqus.xml"),
            "--site",
            "harbour",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("ends inside <message> opened on line 12"),
        "{}",
        text(&out)
    );
    // A Disqus file given as WordPress is refused by its root element.
    let out = parley(
        &db.url,
        &[
            "import",
            "wordpress",
            &fixture("disqus.xml"),
            "--site",
            "harbour",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a WordPress export"),
        "{}",
        text(&out)
    );
    let out = parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("disqus.xml"),
            "--site",
            "nowhere",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no site named \"nowhere\""),
        "{}",
        text(&out)
    );

    let store = db.store().await;
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    assert!(store.list_stories(site.id, 10).await.unwrap().is_empty());
    assert!(store.comment_by_id(1).await.unwrap().is_none());
}

async fn dry_run_writes_nothing(db: &Db) {
    let out = ok(parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("disqus.xml"),
            "--site",
            "harbour",
            "--dry-run",
        ],
    ));
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert!(out.contains("stories:  2"), "{out}");
    assert!(
        out.contains(
            "comments: 11 (8 published, 1 pending, 1 rejected as spam, 1 tombstones; 1 featured)"
        ),
        "{out}"
    );
    assert!(out.contains("authors:  7"), "{out}");
    let out = ok(parley(
        &db.url,
        &[
            "import",
            "text",
            &fixture("news-page.txt"),
            "--site",
            "harbour",
            "--dry-run",
        ],
    ));
    assert!(out.contains("comments: 6"), "{out}");
    let store = db.store().await;
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    assert!(store.list_stories(site.id, 10).await.unwrap().is_empty());
}

/// Runs `parley serve` on the database until dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Server {
    fn start(database: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_parley"))
            .args([
                "--database",
                database,
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env_remove("PARLEY_DATABASE")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn imported_conversation_shows_nested_over_http_and_can_be_claimed(db: &Db) {
    ok(parley(
        &db.url,
        &[
            "import",
            "disqus",
            &fixture("disqus.xml"),
            "--site",
            "harbour",
        ],
    ));
    let store = db.store().await;
    let ferry = story(&*store, "https://harbour.example/2025/ferry-vote").await;
    let server = Server::start(&db.url);
    let http = reqwest::Client::new();
    let page: Value = http
        .get(format!(
            "{}/api/v1/stories/{}/comments?sort=oldest",
            server.base, ferry.id
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["comment_count"], 7, "{page}");
    let comments = page["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 5, "{page}");
    let first = &comments[0];
    assert_eq!(first["author"]["name"], "Morag Bell");
    assert_eq!(first["replies"][0]["author"]["name"], "Tom Reid");
    assert_eq!(first["replies"][0]["depth"], 1);
    assert_eq!(first["replies"][0]["replies"][0]["body"], "They always do.");
    assert_eq!(first["replies"][0]["replies"][0]["depth"], 2);
    let tombstone = &comments[1];
    assert_eq!(tombstone["deleted"], true, "{tombstone}");
    assert_eq!(
        tombstone["replies"][0]["body"],
        "Answering a comment that was deleted."
    );
    let morag_comment = first["id"].as_i64().unwrap();

    // Imported authors cannot sign in...
    let sign_in = http
        .post(format!("{}/api/v1/sessions", server.base))
        .json(&json!({"email": "morag@example.org", "password": "anything at all", "site": "harbour", "session": "token"}))
        .send()
        .await
        .unwrap();
    assert!(sign_in.status().is_client_error(), "{}", sign_in.status());
    // ...but Morag can register with her email, and her imported comments are hers.
    let registered = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({
            "email": "morag@example.org",
            "display_name": "Morag Bell",
            "password": "a long enough password",
            "site": "harbour",
            "session": "token"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201, "{:?}", registered.text().await);
    let body: Value = registered.json().await.unwrap();
    let user_id = body["user"]["id"].as_i64().unwrap();
    let c = store.comment_by_id(morag_comment).await.unwrap().unwrap();
    assert_eq!(c.author_id, Some(user_id));
    let token = body["token"].as_str().unwrap();
    let me: Value = http
        .get(format!("{}/api/v1/me", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["user"]["id"].as_i64().or(me["id"].as_i64()),
        Some(user_id),
        "{me}"
    );
    // Someone else cannot register the same email again.
    let again = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({
            "email": "morag@example.org",
            "display_name": "Not Morag",
            "password": "a long enough password",
            "site": "harbour",
            "session": "token"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    // A reader may take a display name an imported author has.
    let tom_name = http
        .post(format!("{}/api/v1/accounts", server.base))
        .json(&json!({
            "email": "another.tom@example.org",
            "display_name": "Tom Reid",
            "password": "a long enough password",
            "site": "harbour",
            "session": "token"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(tom_name.status(), 201, "{:?}", tom_name.text().await);
    drop(server);
}

async fn real_world_isso_disqus(db: &Db) {
    let Some(file) = real_world("isso-disqus.xml") else {
        return;
    };
    let out = ok(parley(
        &db.url,
        &["import", "disqus", &file, "--site", "harbour"],
    ));
    assert!(out.contains("stories:  2 created"), "{out}");
    assert!(out.contains("comments: 5 created"), "{out}");
    assert!(
        out.contains("4 published, 0 pending, 0 rejected as spam, 1 tombstones"),
        "{out}"
    );
    assert!(
        out.contains("post 6: its thread 1337 is not in the export"),
        "{out}"
    );
    let store = db.store().await;
    let hello = story(&*store, "http://example.org/").await;
    assert_eq!(hello.fields.headline, "Hello, World!");
    assert_eq!(hello.comment_count, 3);
    let t = thread(&*store, hello.id).await;
    assert_eq!(
        shape(&t),
        [
            ("...".into(), 0, None),
            ("Hello, World.".into(), 1, Some("...".into())),
            ("".into(), 0, None),
            ("Hello, World.".into(), 1, Some("".into())),
        ]
    );
    assert_eq!(t[2].status, CommentStatus::Deleted);
    // The thread with an empty id and title still becomes a story, by its link.
    let empty = story(
        &*store,
        "http://localhost:4000/blog/2013/02/12/redacted/index.html",
    )
    .await;
    assert_eq!(empty.comment_count, 1);
    let again = ok(parley(
        &db.url,
        &["import", "disqus", &file, "--site", "harbour"],
    ));
    assert!(
        again.contains("comments: 0 created, 5 already there"),
        "{again}"
    );
}

async fn real_world_isso_wordpress(db: &Db) {
    let Some(file) = real_world("isso-wordpress-wxr.xml") else {
        return;
    };
    let out = ok(parley(
        &db.url,
        &["import", "wordpress", &file, "--site", "harbour"],
    ));
    assert!(out.contains("stories:  2 created"), "{out}");
    assert!(out.contains("comments: 8 created"), "{out}");
    let store = db.store().await;
    let hello = story(&*store, "http://example.tld/2014/test/").await;
    assert_eq!(hello.fields.headline, "Hello, World…");
    let t = thread(&*store, hello.id).await;
    let got: Vec<(String, i64)> = t.iter().map(|c| (c.body_src.clone(), c.depth)).collect();
    assert_eq!(
        got,
        [
            ("Erster!1".to_owned(), 0),
            ("Zweiter.".to_owned(), 0),
            ("Drölfter!".to_owned(), 1),
            ("Yet another reply.".to_owned(), 2),
            ("...".to_owned(), 2),
            (
                "When you have a comment with multiple lines:\\\nWordPress exports it like this."
                    .to_owned(),
                0
            ),
            ("...".to_owned(), 0),
        ]
    );
    // Comment 11 appears in two items: each item keeps its own.
    let p4 = story(&*store, "http://example.tld/?p=4").await;
    assert_eq!(p4.comment_count, 1);
    // Comment 7 has only a GMT date.
    assert_eq!(t[2].created_at, 1_398_784_895_000);
}

async fn real_world_remark42_disqus_is_refused(db: &Db) {
    let Some(file) = real_world("remark42-disqus.xml") else {
        return;
    };
    let out = parley(&db.url, &["import", "disqus", &file, "--site", "harbour"]);
    assert!(!out.status.success());
    let err = text(&out);
    assert!(err.contains("line 1:"), "{err}");
    assert!(err.contains("outside the root element"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    let store = db.store().await;
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    assert!(store.list_stories(site.id, 10).await.unwrap().is_empty());
    // With the stray backtick gone, the unquoted attribute further down is named.
    let fixed = tempfile::NamedTempFile::new().unwrap();
    let source = std::fs::read_to_string(&file).unwrap();
    std::fs::write(fixed.path(), source.trim_start_matches('`')).unwrap();
    let out = parley(
        &db.url,
        &[
            "import",
            "disqus",
            fixed.path().to_str().unwrap(),
            "--site",
            "harbour",
        ],
    );
    assert!(!out.status.success());
    let err = text(&out);
    assert!(
        err.contains("line 147") && err.contains("<thread>"),
        "{err}"
    );
    assert!(store.list_stories(site.id, 10).await.unwrap().is_empty());
}

fn import(db: &Db, args: &[&str]) -> Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    parley(&db.url, &all)
}

async fn nothing_imported(db: &Db) {
    let store = db.store().await;
    let site = store.site_by_name("harbour").await.unwrap().unwrap();
    assert!(store.list_stories(site.id, 10).await.unwrap().is_empty());
    assert!(store.comment_by_id(1).await.unwrap().is_none());
}

async fn commento_export_imports_pages_statuses_and_markdown(db: &Db) {
    let file = fixture("commento.json");
    let out = ok(import(db, &["commento", &file, "--site", "harbour"]));
    assert!(out.contains("(commento) into site harbour"), "{out}");
    assert!(
        out.contains("stories:  2 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("comments: 11 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("8 published, 1 pending, 1 rejected as spam, 1 tombstones; 0 featured"),
        "{out}"
    );
    assert!(out.contains("authors:  5 created"), "{out}");
    assert!(out.contains("comment c7 answers c999"), "{out}");
    assert!(
        out.contains("post c6: deleted, and nothing replies to it"),
        "{out}"
    );

    let store = db.store().await;
    let url = "https://harbour.example/2025/ferry-vote";
    let ferry = story(&*store, url).await;
    assert_eq!(ferry.fields.headline, url, "Commento has no titles");
    assert_eq!(ferry.comment_count, 7);
    let t = thread(&*store, ferry.id).await;
    let good = "Good news for the **island** at last.";
    let unicode = "Ça va — 日本語 ✓ Привет, the fares will tell.";
    let script = "Hello <script>alert(1)</script> [click](javascript:alert(2))";
    assert_eq!(
        shape(&t),
        [
            (good.into(), 0, None),
            (unicode.into(), 1, Some(good.into())),
            ("They always do.".into(), 2, Some(unicode.into())),
            ("".into(), 0, None),
            (
                "Answering a comment that was deleted.".into(),
                1,
                Some("".into())
            ),
            ("My parent is not in this file.".into(), 0, None),
            (script.into(), 0, None),
            ("Only **HTML** here".into(), 0, None),
        ]
    );
    let names: Vec<Option<&str>> = t.iter().map(|c| c.author_name.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("Morag Bell"),
            Some("Tom Ó Briain"),
            Some("Morag Bell"),
            None,
            Some("Anonymous"),
            Some("Morag Bell"),
            Some("Anonymous"),
            Some("Anonymous"),
        ]
    );
    assert_eq!(t[2].author_id, t[0].author_id, "one author per email");
    assert_ne!(
        t[6].author_id, t[7].author_id,
        "a nameless commenter is not the anonymous one"
    );
    assert_eq!(t[3].status, CommentStatus::Deleted);
    assert_eq!(
        t[0].body_html,
        "<p>Good news for the <strong>island</strong> at last.</p>\n"
    );
    for c in &t[6..] {
        for bad in ["<script", "<img", "onerror", "<a href=\"javascript"] {
            assert!(!c.body_html.contains(bad), "{bad} in {}", c.body_html);
        }
    }
    let every = all_comments(&*store, &ferry).await;
    let status_of = |body: &str| {
        every
            .iter()
            .find(|c| c.body_src.contains(body))
            .map(|c| c.status)
    };
    assert_eq!(status_of("Cheap watches"), Some(CommentStatus::Rejected));
    assert_eq!(
        status_of("Waiting for a moderator"),
        Some(CommentStatus::Pending)
    );
    assert_eq!(status_of("Deleted, and nobody answered"), None);
    let market = story(&*store, "https://harbour.example/2025/market-hall").await;
    assert_eq!(market.comment_count, 1);

    let again = ok(import(db, &["commento", &file, "--site", "harbour"]));
    assert!(
        again.contains("stories:  0 created, 2 already there"),
        "{again}"
    );
    assert!(
        again.contains("comments: 0 created, 11 already there"),
        "{again}"
    );
    assert!(again.contains("authors:  0 created"), "{again}");
    assert_eq!(story(&*store, url).await, ferry);
    assert_eq!(thread(&*store, ferry.id).await, t);

    // Another base address makes other stories: the key is the page's full address.
    let moved = ok(import(
        db,
        &[
            "commento",
            &file,
            "--site",
            "harbour",
            "--base-url",
            "https://mirror.example/",
        ],
    ));
    assert!(moved.contains("stories:  2 created"), "{moved}");
    story(&*store, "https://mirror.example/2025/ferry-vote").await;
}

fn gzip_to(path: &Path, data: &[u8]) {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    std::fs::write(path, enc.finish().unwrap()).unwrap();
}

async fn comentario_export_imports_pages_flags_and_gzip(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("comentario.json.gz");
    gzip_to(&gz, &std::fs::read(fixture("comentario.json")).unwrap());
    let gz = gz.to_str().unwrap();
    let out = ok(import(db, &["comentario", gz, "--site", "harbour"]));
    assert!(
        out.contains("stories:  1 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("comments: 10 created, 0 already there"),
        "{out}"
    );
    assert!(
        out.contains("7 published, 2 pending, 0 rejected as spam, 1 tombstones; 1 featured"),
        "{out}"
    );
    assert!(out.contains("authors:  3 created"), "{out}");
    assert!(out.contains("comment k7 answers k999"), "{out}");
    assert!(out.contains("no comments"), "{out}");
    assert!(out.contains("post k12: its thread"), "{out}");

    let store = db.store().await;
    // No --base-url: the origin of the first comment's url.
    let url = "https://harbour.example:8443/2025/ferry-vote";
    let ferry = story(&*store, url).await;
    assert_eq!(
        ferry.fields.headline,
        "Ferry vote: the council keeps the crossing"
    );
    assert!(ferry.fields.is_closed, "isReadonly closes the story");
    assert_eq!(ferry.fields.published_at, 1_741_078_800_000);
    let t = thread(&*store, ferry.id).await;
    let top = "Top **one**, pinned by the editors.";
    let reply = "Reply — ünïcödé 🚢";
    assert_eq!(
        shape(&t)[..5],
        [
            (top.into(), 0, None),
            (reply.into(), 1, Some(top.into())),
            ("Third level.".into(), 2, Some(reply.into())),
            ("".into(), 0, None),
            ("Answering a deleted comment.".into(), 1, Some("".into())),
        ]
    );
    assert!(t[0].featured && !t[1].featured);
    assert_eq!(t[0].author_name.as_deref(), Some("Una Harbour"));
    assert_eq!(t[1].author_name.as_deref(), Some("Tom Ó Briain"));
    assert_eq!(t[2].author_name.as_deref(), Some("Anonymous"));
    let every = all_comments(&*store, &ferry).await;
    let status_of = |body: &str| {
        every
            .iter()
            .find(|c| c.body_src.contains(body))
            .map(|c| c.status)
    };
    assert_eq!(
        status_of("Waiting for a moderator"),
        Some(CommentStatus::Pending)
    );
    assert_eq!(status_of("Rejected once"), Some(CommentStatus::Pending));
    let only_html = every.iter().find(|c| c.body_src == "Only *HTML*").unwrap();
    assert_eq!(only_html.body_html, "<p>Only <em>HTML</em></p>\n");

    // The same export, plain: nothing new.
    let again = ok(import(
        db,
        &[
            "comentario",
            &fixture("comentario.json"),
            "--site",
            "harbour",
        ],
    ));
    assert!(
        again.contains("comments: 0 created, 10 already there"),
        "{again}"
    );
    assert_eq!(thread(&*store, ferry.id).await, t);
}

async fn json_dry_runs_and_broken_files_write_nothing(db: &Db) {
    let out = ok(import(
        db,
        &[
            "commento",
            &fixture("commento.json"),
            "--site",
            "harbour",
            "--dry-run",
        ],
    ));
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert!(
        out.contains(
            "comments: 11 (8 published, 1 pending, 1 rejected as spam, 1 tombstones; 0 featured)"
        ),
        "{out}"
    );
    let out = ok(import(
        db,
        &[
            "comentario",
            &fixture("comentario.json"),
            "--site",
            "harbour",
            "--dry-run",
        ],
    ));
    assert!(out.contains("stories:  1"), "{out}");
    assert!(out.contains("authors:  3"), "{out}");
    nothing_imported(db).await;

    let dir = tempfile::tempdir().unwrap();
    // Broken near the end, after every comment: nothing at all is written.
    let good = std::fs::read_to_string(fixture("commento.json")).unwrap();
    let broken = good.replacen(
        "\"isModerator\": false\n    }\n  ]",
        "\"isModerator\": false\n    },\n  ]",
        1,
    );
    assert_ne!(broken, good);
    let file = dir.path().join("broken.json");
    std::fs::write(&file, &broken).unwrap();
    let line = broken.lines().position(|l| l == "  ]").unwrap() + 1;
    let out = import(
        db,
        &["commento", file.to_str().unwrap(), "--site", "harbour"],
    );
    assert!(!out.status.success());
    let err = text(&out);
    assert!(err.contains(&format!("line {line}: column 3:")), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");
    nothing_imported(db).await;

    std::fs::write(&file, good.replacen("\"version\": 1", "\"version\": 2", 1)).unwrap();
    let out = import(
        db,
        &["commento", file.to_str().unwrap(), "--site", "harbour"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("version 2 is not supported"),
        "{}",
        text(&out)
    );

    // A Commento file given as Comentario: its version says so.
    let out = import(
        db,
        &["comentario", &fixture("commento.json"), "--site", "harbour"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("Comentario export version 1 is not supported"),
        "{}",
        text(&out)
    );

    // Truncated gzip.
    let gz = dir.path().join("cut.json.gz");
    gzip_to(
        &gz,
        std::fs::read(fixture("comentario.json"))
            .unwrap()
            .as_slice(),
    );
    let bytes = std::fs::read(&gz).unwrap();
    std::fs::write(&gz, &bytes[..bytes.len() - 40]).unwrap();
    let out = import(
        db,
        &["comentario", gz.to_str().unwrap(), "--site", "harbour"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("nothing was imported"),
        "{}",
        text(&out)
    );

    // No comment url and no --base-url.
    std::fs::write(
        &file,
        r#"{"version": 3, "pages": [{"id": "p1", "path": "/a"}], "comments": [{"id": "c1", "pageId": "p1", "markdown": "Hi"}]}"#,
    )
    .unwrap();
    let out = import(
        db,
        &["comentario", file.to_str().unwrap(), "--site", "harbour"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("give it with --base-url"),
        "{}",
        text(&out)
    );
    nothing_imported(db).await;
    let out = ok(import(
        db,
        &[
            "comentario",
            file.to_str().unwrap(),
            "--site",
            "harbour",
            "--base-url",
            "https://news.example",
        ],
    ));
    assert!(out.contains("comments: 1 created"), "{out}");
    let store = db.store().await;
    assert_eq!(
        story(&*store, "https://news.example/a").await.comment_count,
        1
    );
}

async fn real_world_remark42_commento(db: &Db) {
    let Some(file) = real_world("remark42-commento-export.json") else {
        return;
    };
    let out = ok(import(db, &["commento", &file, "--site", "harbour"]));
    assert!(out.contains("stories:  2 created"), "{out}");
    assert!(out.contains("comments: 3 created"), "{out}");
    assert!(out.contains("authors:  3 created"), "{out}");
    let store = db.store().await;
    let one = story(&*store, "https://example.com/blog/post/1").await;
    assert_eq!(one.fields.headline, "https://example.com/blog/post/1");
    assert_eq!(one.comment_count, 2);
    let t = thread(&*store, one.id).await;
    assert_eq!(
        shape(&t),
        [
            ("Example 2 comment created by user.".into(), 0, None),
            (
                "Great reply!".into(),
                1,
                Some("Example 2 comment created by user.".into())
            ),
        ]
    );
    assert_eq!(t[0].author_name.as_deref(), Some("User5276"));
    assert_eq!(t[1].author_name.as_deref(), Some("Saturnin Uf"));
    assert_eq!(t[0].reply_count, 1);
    assert_eq!(t[1].created_at, 1_620_747_781_852);
    let two = story(&*store, "https://example.com/blog/post/2").await;
    let t2 = thread(&*store, two.id).await;
    assert_eq!(t2.len(), 1);
    assert_eq!(t2[0].author_name.as_deref(), Some("Anonymous"));
    assert_eq!(t2[0].body_html, "<p>Example comment created by user.</p>\n");
    let again = ok(import(db, &["commento", &file, "--site", "harbour"]));
    assert!(
        again.contains("stories:  0 created, 2 already there"),
        "{again}"
    );
    assert!(
        again.contains("comments: 0 created, 3 already there"),
        "{again}"
    );
    assert_eq!(thread(&*store, one.id).await, t);
}

async fn real_world_comentario_v3_gzip(db: &Db) {
    let Some(file) = real_world("comentario-export-v3-single.json.gz") else {
        return;
    };
    let out = ok(import(
        db,
        &["comentario", &file, "--site", "harbour", "--dry-run"],
    ));
    assert!(out.contains("comments: 1 (1 published"), "{out}");
    nothing_imported(db).await;
    let out = ok(import(db, &["comentario", &file, "--site", "harbour"]));
    assert!(out.contains("stories:  1 created"), "{out}");
    assert!(out.contains("comments: 1 created"), "{out}");
    let store = db.store().await;
    // The first comment's url is http://localhost:8000/#comentario-...; the page is "/".
    let home = story(&*store, "http://localhost:8000/").await;
    assert_eq!(home.fields.headline, "Home");
    assert!(!home.fields.is_closed);
    let t = thread(&*store, home.id).await;
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].body_src, "Yay, imported");
    assert_eq!(t[0].author_name.as_deref(), Some("Bugs Bunny"));
    assert_eq!(t[0].created_at, 1_699_992_912_000);
    let again = ok(import(db, &["comentario", &file, "--site", "harbour"]));
    assert!(
        again.contains("comments: 0 created, 1 already there"),
        "{again}"
    );
}
