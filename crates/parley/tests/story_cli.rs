//! `parley story publish`, driven as a newsroom would: the real binary, the example story
//! in `examples/story.md`, a SQLite file and a PostgreSQL schema of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rand::Rng;
use sqlx::Connection;

fn parley(dir: &Path, database: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley"))
        .current_dir(dir)
        .arg("--database")
        .arg(database)
        .args(args)
        .env_remove("PARLEY_DATABASE")
        .env_remove("PARLEY_PUBLIC_ORIGIN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run parley");
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

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/story.md")
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
        let name = format!("story_{:016x}", rand::thread_rng().r#gen::<u64>());
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

/// Every case, on one database.
async fn publishing_from_files(dir: &Path, db: &str) {
    let out = parley(dir, db, &["site", "create", "--name", "courier"], None);
    assert!(out.status.success(), "{}", text(&out));
    let example_path = example();
    let example = example_path.to_str().unwrap();

    // The example creates its story.
    let out = parley(dir, db, &["story", "publish", example], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("created story riverside-road-repairs"),
        "{}",
        text(&out)
    );
    let store = parley_store::connect(db).await.unwrap();
    let site = store.site_by_name("courier").await.unwrap().unwrap();
    let story = store
        .story_by_slug(site.id, "riverside-road-repairs")
        .await
        .unwrap()
        .expect("published");
    let f = &story.fields;
    assert_eq!(
        f.headline,
        "Riverside road to close for three weeks of repairs"
    );
    assert!(f.standfirst.starts_with("The council will resurface"));
    assert_eq!(
        f.url,
        "https://courier.example/2026/11/riverside-road-repairs"
    );
    assert_eq!(f.published_at, 1_795_856_400_000);
    assert_eq!(f.picture_credit.as_deref(), Some("COURIER PHOTO DESK"));
    assert!(f.body_md.starts_with("Riverside Road will close"));
    assert!(story.body_html.contains("<h2>What changes for buses</h2>"));
    assert!(!f.is_closed);

    // Publishing the same file again changes nothing, not even the version.
    let out = parley(dir, db, &["story", "publish", example], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("unchanged story riverside-road-repairs"));
    let again = store.story_by_id(story.id).await.unwrap().unwrap();
    assert_eq!(again, story);

    // An edited file updates the story with that slug.
    let source = std::fs::read_to_string(&example_path).unwrap();
    let edited = source.replace("for three weeks", "for four weeks").replace(
        "is_closed = false",
        "is_closed = true\nclosed_message = \"Closed.\"",
    );
    let edited_path = dir.join("edited.md");
    std::fs::write(&edited_path, &edited).unwrap();
    let out = parley(
        dir,
        db,
        &["story", "publish", edited_path.to_str().unwrap()],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("updated story riverside-road-repairs"));
    let updated = store.story_by_id(story.id).await.unwrap().unwrap();
    assert!(updated.version > story.version);
    assert_eq!(
        updated.fields.headline,
        "Riverside road to close for four weeks of repairs"
    );
    assert!(updated.fields.is_closed);
    assert_eq!(store.list_stories(site.id, 10).await.unwrap().len(), 1);

    // Standard input, with the URL made from the public origin.
    let piped = "+++\nheadline = \"Library opens on Sundays\"\n+++\nFrom *January*.\n";
    let out = parley(
        dir,
        db,
        &[
            "story",
            "publish",
            "-",
            "--site",
            "courier",
            "--public-origin",
            "https://comments.courier.example",
        ],
        Some(piped),
    );
    assert!(out.status.success(), "{}", text(&out));
    let library = store
        .story_by_slug(site.id, "library-opens-on-sundays")
        .await
        .unwrap()
        .expect("published from stdin");
    assert_eq!(
        library.fields.url,
        "https://comments.courier.example/stories/library-opens-on-sundays"
    );
    assert_eq!(library.body_html, "<p>From <em>January</em>.</p>\n");

    // Bad files: a clear error naming the field, and nothing written.
    let before = store.list_stories(site.id, 10).await.unwrap();
    let bad: [(&str, &str); 5] = [
        (
            "+++\nstandfirst = \"No headline\"\nurl = \"https://x.example/a\"\n+++\nBody\n",
            "headline",
        ),
        (
            "+++\nheadline = \"Bad link\"\nurl = \"ftp://x.example/a\"\n+++\nBody\n",
            "url",
        ),
        ("+++\nheadline = \"No address\"\n+++\nBody\n", "url"),
        (
            "+++\nheadline = \"Bad date\"\nurl = \"https://x.example/b\"\npublished_at = \"tomorrow\"\n+++\n",
            "published_at",
        ),
        (
            "+++\nheadline = \"Typo\"\nheadlin = \"x\"\n+++\n",
            "headlin",
        ),
    ];
    for (source, field) in bad {
        let out = parley(dir, db, &["story", "publish", "-"], Some(source));
        assert!(!out.status.success(), "{source}");
        assert!(
            text(&out).contains(field),
            "the error names {field}: {}",
            text(&out)
        );
    }
    let out = parley(
        dir,
        db,
        &["story", "publish", "-"],
        Some("# No front matter\n"),
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("+++"), "{}", text(&out));
    let out = parley(dir, db, &["story", "publish", "missing.md"], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("missing.md"));
    assert_eq!(store.list_stories(site.id, 10).await.unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_publish_from_files_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    publishing_from_files(dir.path(), &db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_publish_from_files_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::new().await;
    let db = schema.url();
    let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
        publishing_from_files(dir.path(), &db),
    ))
    .await;
    schema.drop().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
