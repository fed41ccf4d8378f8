//! Bulk import on both backends: one transaction on the write connection. Comments are
//! collected into flushes of a few thousand; a flush reserves ids for its new rows up
//! front, works out each row's final place (parent, root, depth, path) and reply count
//! in memory, and writes every row once, with a handful of set-based statements that
//! read all their rows from one JSON parameter. A row's reply count counts the replies
//! already placed, or the source's forecast of them when that is higher; only a comment
//! whose replies came to another number is written again (its reply count, in bulk, at
//! the end). Caches are bounded: what they drop is written back first, and read back
//! from the database when needed (inside the same transaction).

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parley_core::thread::{CommentStatus, SEGMENT_WIDTH, child_path, path_ids};
use serde::Serialize;
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};
use tokio::sync::mpsc;

use super::SqlStore;
use super::rows::*;
use crate::Backend;
use crate::error::{StoreError, StoreResult};
use crate::import::*;

/// Comments per flush, at most. Each statement carries all of a flush's rows in one
/// JSON parameter, so this bounds round trips, not parameter counts.
const FLUSH_ROWS: usize = 8000;
/// Bytes of comment text per flush, at most: what a flush holds in memory is a few
/// times this (the rows, their JSON, SQLite's copy and parse of it), so long comments
/// make smaller flushes.
const FLUSH_BYTES: usize = 4 << 20;
/// Entries a cache holds before it is written back and emptied.
const CACHE_LIMIT: usize = 100_000;

/// A table `r` with columns `cols` (name, PostgreSQL type) read from a JSON array of
/// objects bound as parameter `$n`. One parameter however many rows: a VALUES list
/// needs one per value, and sqlx on SQLite finds each by a linear search (binding
/// costs grow with their square), while PostgreSQL caps a statement at 65,535.
fn json_rows<DB: Backend>(n: usize, cols: &[(&str, &str)]) -> String {
    if DB::KIND == "postgres" {
        let defs: Vec<String> = cols.iter().map(|(c, t)| format!("{c} {t}")).collect();
        format!("json_to_recordset(${n}::json) AS r({})", defs.join(", "))
    } else {
        let picks: Vec<String> = cols
            .iter()
            .map(|(c, _)| format!("j.value ->> '{c}' AS {c}"))
            .collect();
        format!(
            "(SELECT {} FROM json_each(${n}) AS j) AS r",
            picks.join(", ")
        )
    }
}

fn to_json<T: Serialize>(rows: &[T]) -> StoreResult<String> {
    serde_json::to_string(rows)
        .map_err(|e| StoreError::Database(Arc::new(sqlx::Error::Encode(Box::new(e)))))
}

/// One key, for lookups by source id.
#[derive(Serialize)]
struct KeyOut<'a> {
    k: &'a str,
}

/// A key to record.
#[derive(Serialize)]
struct KeyIdOut<'a> {
    k: &'a str,
    id: i64,
}

#[derive(Serialize)]
struct IdOut {
    id: i64,
}

/// A row's new count (reply counts, story counts).
#[derive(Serialize)]
struct CountOut {
    id: i64,
    n: i64,
}

#[derive(Serialize)]
struct AuthorOut<'a> {
    email: String,
    name: &'a str,
    name_key: String,
}

#[derive(Serialize)]
struct StoryOut<'a> {
    url: &'a str,
    slug: String,
    headline: &'a str,
    standfirst: &'a str,
    body_md: &'a str,
    body_html: &'a str,
    published_at: i64,
    picture_caption: Option<&'a str>,
    picture_credit: Option<&'a str>,
    closed: bool,
}

/// A comment as it is written: final in every column.
#[derive(Serialize)]
struct CommentOut<'a> {
    /// The source id, for `import_keys`.
    k: &'a str,
    id: i64,
    story_id: i64,
    author_id: Option<i64>,
    parent_id: Option<i64>,
    root_id: i64,
    depth: i64,
    path: String,
    reply_count: i64,
    status: &'static str,
    featured: bool,
    body_src: &'a str,
    body_html: &'a str,
    created_at: i64,
    deleted_at: Option<i64>,
}

const COMMENT_COLUMNS: &[(&str, &str)] = &[
    ("k", "text"),
    ("id", "bigint"),
    ("story_id", "bigint"),
    ("author_id", "bigint"),
    ("parent_id", "bigint"),
    ("root_id", "bigint"),
    ("depth", "bigint"),
    ("path", "text"),
    ("reply_count", "bigint"),
    ("status", "text"),
    ("featured", "boolean"),
    ("body_src", "text"),
    ("body_html", "text"),
    ("created_at", "bigint"),
    ("deleted_at", "bigint"),
];

/// A comment's place, as replies to it need it.
#[derive(Debug, Clone)]
struct Placed {
    story_id: i64,
    depth: i64,
    root_id: i64,
    path: String,
    status: CommentStatus,
    reply_count: i64,
    /// The reply count the row holds in the database (written again at the end when
    /// it differs from `reply_count`).
    written: i64,
}

type PlacedRow = (i64, i64, i64, i64, String, String, i64);
type KeyedPlacedRow = (String, i64, i64, i64, i64, String, String, i64);

fn placed(row: (i64, i64, i64, String, String, i64)) -> Placed {
    let (story_id, depth, root_id, path, status, reply_count) = row;
    Placed {
        story_id,
        depth,
        root_id,
        path,
        status: CommentStatus::parse(&status).unwrap_or(CommentStatus::Rejected),
        reply_count,
        written: reply_count,
    }
}

/// Where an import's time goes, logged at debug level when it ends
/// (`PARLEY_LOG=parley_store=debug`).
#[derive(Debug, Default)]
struct Clock {
    stories: Duration,
    lookups: Duration,
    authors: Duration,
    place: Duration,
    comments: Duration,
    counts: Duration,
    /// Comments written a second time, for replies that came after them.
    recounted: usize,
    waiting: Duration,
    analyze: Duration,
}

#[derive(Default)]
struct Run {
    report: ImportReport,
    stories: HashMap<String, i64>,
    /// Published comments added per story; every story here gets a new version.
    story_counts: HashMap<i64, i64>,
    authors: HashMap<String, i64>,
    by_key: HashMap<String, i64>,
    placed: HashMap<i64, Placed>,
    /// Stories and comments received and not yet written.
    pending_stories: Vec<ImportStory>,
    pending_story_keys: HashSet<String>,
    pending: Vec<ImportComment>,
    /// The text `pending` holds.
    pending_bytes: usize,
    /// SQLite: the next free comment id (the write lock is ours until the commit).
    next_id: Option<i64>,
    /// PostgreSQL: comments written when the tables are analysed next.
    analyze_at: i64,
    clock: Clock,
}

fn synthetic_email(source: &str, author_key: &str) -> String {
    let mut h = DefaultHasher::new();
    author_key.hash(&mut h);
    // `.invalid` is reserved: no reader can own, or register with, such an address.
    format!("{:016x}@{source}.import.invalid", h.finish())
}

#[async_trait]
impl<DB> ImportStore for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> SiteRow: FromRow<'r, DB::Row>,
    for<'r> OriginRow: FromRow<'r, DB::Row>,
    for<'r> StoryRow: FromRow<'r, DB::Row>,
    for<'r> UserRow: FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> CommentRow: FromRow<'r, DB::Row>,
    for<'r> CommentFactsRow: FromRow<'r, DB::Row>,
    for<'r> StoryGateRow: FromRow<'r, DB::Row>,
    for<'r> StandingRow: FromRow<'r, DB::Row>,
    for<'r> RevisionRow: FromRow<'r, DB::Row>,
    for<'r> AuditRow: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    // bulk import
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
    for<'r> PlacedRow: FromRow<'r, DB::Row>,
    for<'r> KeyedPlacedRow: FromRow<'r, DB::Row>,
{
    async fn import(
        &self,
        job: ImportJob,
        messages: mpsc::Receiver<ImportMessage>,
    ) -> StoreResult<ImportReport> {
        self.write(move |conn| Box::pin(Self::tx_import(conn, job, messages)))
            .await
    }
}

impl<DB> SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    bool: Type<DB> + for<'q> Encode<'q, DB>,
    Option<i64>: Type<DB> + for<'q> Encode<'q, DB>,
    Option<String>: Type<DB> + for<'q> Encode<'q, DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String, i64): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
    for<'r> PlacedRow: FromRow<'r, DB::Row>,
    for<'r> KeyedPlacedRow: FromRow<'r, DB::Row>,
{
    async fn tx_import(
        conn: &mut DB::Connection,
        job: ImportJob,
        messages: mpsc::Receiver<ImportMessage>,
    ) -> StoreResult<ImportReport> {
        if DB::KIND == "postgres" {
            // A flush's rows are held once by the statement that writes them (see
            // `flush_comments`): room for them in memory rather than a temporary file.
            // (No `plan_cache_mode = force_custom_plan` here: the foreign-key checks run
            // a cached plan per row, and re-planning it each time was most of the
            // server's work. The statements here find rows by key whatever the plan.)
            conn.execute("SET LOCAL work_mem = '64MB'").await?;
            // The ANALYZEs below (see `flush_comments`) are for table sizes, not
            // histograms: a small sample keeps them cheap.
            conn.execute("SET LOCAL default_statistics_target = 10")
                .await?;
        }
        Self::import_all(conn, job, messages).await
    }

    async fn import_all(
        conn: &mut DB::Connection,
        job: ImportJob,
        mut messages: mpsc::Receiver<ImportMessage>,
    ) -> StoreResult<ImportReport> {
        let mut run = Run::default();
        loop {
            let started = Instant::now();
            let message = messages.recv().await;
            run.clock.waiting += started.elapsed();
            let records = match message {
                Some(ImportMessage::Records(records)) => records,
                Some(ImportMessage::Done) => break,
                Some(ImportMessage::Failed(why)) => {
                    return Err(StoreError::refused("import_failed", why));
                }
                None => {
                    return Err(StoreError::refused(
                        "import_failed",
                        "the import was interrupted before the end of its source",
                    ));
                }
            };
            for record in records {
                match record {
                    ImportRecord::Story(story) => {
                        // Written with the next flush of comments, before them.
                        if !run.stories.contains_key(&story.key)
                            && run.pending_story_keys.insert(story.key.clone())
                        {
                            run.pending_stories.push(story);
                        }
                    }
                    ImportRecord::Comment(c) => {
                        run.pending_bytes += c.body_src.len() + c.body_html.len();
                        run.pending.push(c);
                        if run.pending.len() >= FLUSH_ROWS || run.pending_bytes >= FLUSH_BYTES {
                            Self::flush_comments(conn, &job, &mut run).await?;
                        }
                    }
                }
            }
            if run.placed.len() > CACHE_LIMIT || run.by_key.len() > CACHE_LIMIT {
                Self::flush_comments(conn, &job, &mut run).await?;
                Self::write_reply_counts(conn, &mut run).await?;
                run.placed.clear();
                run.by_key.clear();
            }
            if run.authors.len() > CACHE_LIMIT {
                run.authors.clear();
            }
        }
        Self::flush_comments(conn, &job, &mut run).await?;
        Self::write_reply_counts(conn, &mut run).await?;

        let started = Instant::now();
        let mut stories: Vec<CountOut> = run
            .story_counts
            .drain()
            .map(|(id, n)| CountOut { id, n })
            .collect();
        // In id order, as any other writer would lock them.
        stories.sort_unstable_by_key(|s| s.id);
        if !stories.is_empty() {
            let sql = format!(
                "UPDATE stories SET comment_count = comment_count + r.n, version = version + 1, \
                 updated_at = $2 FROM {} WHERE stories.id = r.id",
                json_rows::<DB>(1, &[("id", "bigint"), ("n", "bigint")])
            );
            sqlx::query::<DB>(&sql)
                .bind(to_json(&stories)?)
                .bind(job.now)
                .execute(&mut *conn)
                .await?;
        }
        run.clock.counts += started.elapsed();
        tracing::debug!(clock = ?run.clock, report = ?run.report, "import written");
        Ok(run.report)
    }

    /// Records `keys` (source id, row) of one kind; keys already there stay as they are.
    async fn add_keys(
        conn: &mut DB::Connection,
        job: &ImportJob,
        kind: &str,
        keys: &[KeyIdOut<'_>],
    ) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        // `WHERE TRUE`: SQLite would read `ON` as part of a join without it.
        let sql = format!(
            "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) \
             SELECT $1, $2, $3, r.k, r.id FROM {} WHERE TRUE ON CONFLICT DO NOTHING",
            json_rows::<DB>(4, &[("k", "text"), ("id", "bigint")])
        );
        sqlx::query::<DB>(&sql)
            .bind(job.site_id)
            .bind(job.source.clone())
            .bind(kind.to_owned())
            .bind(to_json(keys)?)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Writes the pending stories, in bulk: found by an earlier import's key or by URL
    /// (then left as they are), else created with a slug no other story of the site has.
    async fn flush_stories(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
    ) -> StoreResult<()> {
        if run.pending_stories.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let batch = std::mem::take(&mut run.pending_stories);
        run.pending_story_keys.clear();
        let keys: Vec<&str> = batch.iter().map(|s| s.key.as_str()).collect();
        for (key, id) in Self::targets(conn, job, "story", &keys).await? {
            run.report.stories_existing += 1;
            run.stories.insert(key, id);
        }
        let batch: Vec<ImportStory> = batch
            .into_iter()
            .filter(|s| !run.stories.contains_key(&s.key))
            .collect();
        if batch.is_empty() {
            run.clock.stories += started.elapsed();
            return Ok(());
        }
        let urls: Vec<&str> = batch.iter().map(|s| s.url.as_str()).collect();
        let mut by_url: HashMap<String, i64> = Self::lookup(conn, job, "stories", "url", &urls)
            .await?
            .into_iter()
            .collect();
        let slugs: Vec<&str> = batch.iter().map(|s| s.slug.as_str()).collect();
        let mut taken: HashSet<String> = Self::lookup(conn, job, "stories", "slug", &slugs)
            .await?
            .into_iter()
            .map(|(slug, _)| slug)
            .collect();

        // The first story with a URL creates it; later ones with the same URL find it.
        let mut new_stories = Vec::new();
        let mut creating = HashSet::new();
        for story in &batch {
            if by_url.contains_key(&story.url) || !creating.insert(story.url.as_str()) {
                continue;
            }
            let mut slug = story.slug.clone();
            let mut n = 1;
            while taken.contains(&slug)
                || sqlx::query_as::<DB, (i64,)>(
                    "SELECT id FROM stories WHERE site_id = $1 AND slug = $2",
                )
                .bind(job.site_id)
                .bind(slug.clone())
                .fetch_optional(&mut *conn)
                .await?
                .is_some()
            {
                n += 1;
                slug = format!("{}-{n}", story.slug);
            }
            taken.insert(slug.clone());
            new_stories.push(StoryOut {
                url: &story.url,
                slug,
                headline: &story.headline,
                standfirst: &story.standfirst,
                body_md: &story.body_md,
                body_html: &story.body_html,
                published_at: story.published_at,
                picture_caption: story.picture_caption.as_deref(),
                picture_credit: story.picture_credit.as_deref(),
                closed: story.closed,
            });
        }
        let mut created = HashSet::new();
        if !new_stories.is_empty() {
            let sql = format!(
                "INSERT INTO stories (site_id, url, slug, headline, standfirst, body_md, \
                 body_html, published_at, picture_caption, picture_credit, is_closed, \
                 created_at, updated_at) \
                 SELECT $1, r.url, r.slug, r.headline, r.standfirst, r.body_md, r.body_html, \
                 r.published_at, r.picture_caption, r.picture_credit, r.closed, $2, $2 FROM {} \
                 RETURNING url, id",
                json_rows::<DB>(
                    3,
                    &[
                        ("url", "text"),
                        ("slug", "text"),
                        ("headline", "text"),
                        ("standfirst", "text"),
                        ("body_md", "text"),
                        ("body_html", "text"),
                        ("published_at", "bigint"),
                        ("picture_caption", "text"),
                        ("picture_credit", "text"),
                        ("closed", "boolean"),
                    ]
                )
            );
            let rows = sqlx::query_as::<DB, (String, i64)>(&sql)
                .bind(job.site_id)
                .bind(job.now)
                .bind(to_json(&new_stories)?)
                .fetch_all(&mut *conn)
                .await?;
            run.report.stories_created += rows.len() as i64;
            for (url, id) in rows {
                created.insert(id);
                by_url.insert(url, id);
            }
        }
        let mut keys = Vec::with_capacity(batch.len());
        for story in &batch {
            let id = by_url.get(&story.url).copied().ok_or_else(|| {
                StoreError::refused(
                    "import_failed",
                    format!("story {} was not written", story.key),
                )
            })?;
            if !created.remove(&id) {
                run.report.stories_existing += 1;
            }
            run.stories.insert(story.key.clone(), id);
            keys.push(KeyIdOut { k: &story.key, id });
        }
        Self::add_keys(conn, job, "story", &keys).await?;
        run.clock.stories += started.elapsed();
        Ok(())
    }

    /// `(value, id)` of the rows of `table` in the job's site whose `column` (unique
    /// within a site) is one of `values`, each found by its index.
    async fn lookup(
        conn: &mut DB::Connection,
        job: &ImportJob,
        table: &str,
        column: &str,
        values: &[&str],
    ) -> StoreResult<Vec<(String, i64)>> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<KeyOut> = values.iter().map(|k| KeyOut { k }).collect();
        // A probe per value: see `targets`.
        let sql = format!(
            "SELECT r.k, COALESCE((SELECT t.id FROM {table} t WHERE t.site_id = $1 \
             AND t.{column} = r.k), 0) FROM {}",
            json_rows::<DB>(2, &[("k", "text")])
        );
        let mut found = sqlx::query_as::<DB, (String, i64)>(&sql)
            .bind(job.site_id)
            .bind(to_json(&values)?)
            .fetch_all(&mut *conn)
            .await?;
        found.retain(|(_, id)| *id != 0);
        Ok(found)
    }

    /// `(source id, row)` of the keys of one kind among `keys`.
    async fn targets(
        conn: &mut DB::Connection,
        job: &ImportJob,
        kind: &str,
        keys: &[&str],
    ) -> StoreResult<Vec<(String, i64)>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<KeyOut> = keys.iter().map(|k| KeyOut { k }).collect();
        // One primary-key lookup per key, whatever the planner believes: the table grew
        // inside this transaction, so PostgreSQL has no statistics for it and planned an
        // `IN` (or a join) as a scan of every key of the source.
        let sql = format!(
            "SELECT r.k, COALESCE((SELECT t.target_id FROM import_keys t WHERE t.site_id = $1 \
             AND t.source = $2 AND t.kind = $3 AND t.source_id = r.k), 0) FROM {}",
            json_rows::<DB>(4, &[("k", "text")])
        );
        let mut found = sqlx::query_as::<DB, (String, i64)>(&sql)
            .bind(job.site_id)
            .bind(job.source.clone())
            .bind(kind.to_owned())
            .bind(to_json(&keys)?)
            .fetch_all(&mut *conn)
            .await?;
        // Ids start at 1: 0 is "no such key".
        found.retain(|(_, id)| *id != 0);
        Ok(found)
    }

    /// Finds or creates the authors of `comments` (tombstones have none), in bulk:
    /// by an earlier import's key, else by email, else a new imported account.
    async fn resolve_authors(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        comments: &[&ImportComment],
    ) -> StoreResult<()> {
        let mut wanted: Vec<&ImportAuthor> = Vec::new();
        let mut seen = HashSet::new();
        for c in comments {
            if c.status != CommentStatus::Deleted
                && !run.authors.contains_key(&c.author.key)
                && seen.insert(c.author.key.as_str())
            {
                wanted.push(&c.author);
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let keys: Vec<&str> = wanted.iter().map(|a| a.key.as_str()).collect();
        for (key, id) in Self::targets(conn, job, "author", &keys).await? {
            run.report.authors_existing += 1;
            run.authors.insert(key, id);
        }
        wanted.retain(|a| !run.authors.contains_key(&a.key));
        if wanted.is_empty() {
            return Ok(());
        }

        // Readers (or authors of another source) who have the email already.
        let emails: Vec<&str> = wanted.iter().filter_map(|a| a.email.as_deref()).collect();
        let mut by_email: HashMap<String, i64> = Self::lookup(conn, job, "users", "email", &emails)
            .await?
            .into_iter()
            .collect();

        // The rest are new; two keys with one email are one author (the first seen).
        let mut new_authors: Vec<AuthorOut> = Vec::new();
        let mut later: Vec<(&ImportAuthor, String)> = Vec::new();
        let mut creating: HashSet<String> = HashSet::new();
        for author in &wanted {
            let email = author
                .email
                .clone()
                .unwrap_or_else(|| synthetic_email(&job.source, &author.key));
            if let Some(&id) = by_email.get(&email) {
                run.report.authors_existing += 1;
                run.authors.insert(author.key.clone(), id);
            } else if creating.insert(email.clone()) {
                // Display names cannot hold control characters, so this key never
                // collides with a reader's and never blocks anyone's name.
                new_authors.push(AuthorOut {
                    email,
                    name: &author.name,
                    name_key: format!("\t{}:{}", job.source, author.key),
                });
            } else {
                later.push((author, email));
            }
        }
        if !new_authors.is_empty() {
            let sql = format!(
                "INSERT INTO users (site_id, email, display_name, name_key, password_hash, \
                 role, imported, created_at) \
                 SELECT $1, r.email, r.name, r.name_key, NULL, 'reader', TRUE, $2 FROM {} \
                 RETURNING email, id",
                json_rows::<DB>(
                    3,
                    &[("email", "text"), ("name", "text"), ("name_key", "text")]
                )
            );
            let created = sqlx::query_as::<DB, (String, i64)>(&sql)
                .bind(job.site_id)
                .bind(job.now)
                .bind(to_json(&new_authors)?)
                .fetch_all(&mut *conn)
                .await?;
            run.report.authors_created += created.len() as i64;
            by_email.extend(created);
        }
        for (author, email) in later {
            if let Some(&id) = by_email.get(&email) {
                run.report.authors_existing += 1;
                run.authors.insert(author.key.clone(), id);
            }
        }
        let mut keys = Vec::with_capacity(wanted.len());
        for author in &wanted {
            let email = author
                .email
                .clone()
                .unwrap_or_else(|| synthetic_email(&job.source, &author.key));
            let id = by_email.get(&email).copied().ok_or_else(|| {
                StoreError::refused(
                    "import_failed",
                    format!("author {} was not written", author.key),
                )
            })?;
            run.authors.insert(author.key.clone(), id);
            keys.push(KeyIdOut { k: &author.key, id });
        }
        Self::add_keys(conn, job, "author", &keys).await
    }

    /// Loads the places of earlier-written parents named by `keys` into the caches.
    async fn load_parents(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        keys: &[&str],
    ) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::new();
        for (key, id) in Self::targets(conn, job, "comment", keys).await? {
            run.by_key.insert(key, id);
            if !run.placed.contains_key(&id) {
                ids.push(IdOut { id });
            }
        }
        if ids.is_empty() {
            return Ok(());
        }
        // Joined by primary key: PostgreSQL knows that matches one row each.
        let sql = format!(
            "SELECT c.id, c.story_id, c.depth, c.root_id, c.path, c.status, c.reply_count \
             FROM {} JOIN comments c ON c.id = r.id",
            json_rows::<DB>(1, &[("id", "bigint")])
        );
        for (id, story_id, depth, root_id, path, status, replies) in
            sqlx::query_as::<DB, PlacedRow>(&sql)
                .bind(to_json(&ids)?)
                .fetch_all(&mut *conn)
                .await?
        {
            run.placed.insert(
                id,
                placed((story_id, depth, root_id, path, status, replies)),
            );
        }
        Ok(())
    }

    /// The place of comment `id`, from the cache or the database.
    async fn place_of(
        conn: &mut DB::Connection,
        run: &mut Run,
        id: i64,
    ) -> StoreResult<Option<Placed>> {
        if let Some(p) = run.placed.get(&id) {
            return Ok(Some(p.clone()));
        }
        let row = sqlx::query_as::<DB, PlacedRow>(
            "SELECT id, story_id, depth, root_id, path, status, reply_count FROM comments WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(
            row.map(|(id, story_id, depth, root_id, path, status, replies)| {
                let p = placed((story_id, depth, root_id, path, status, replies));
                run.placed.insert(id, p.clone());
                p
            }),
        )
    }

    /// A new visible child of `parent_id`: its reply count grows, and a tombstone that
    /// gains its first visible reply becomes visible to its own parent in turn.
    async fn count_reply(
        conn: &mut DB::Connection,
        run: &mut Run,
        parent_id: i64,
    ) -> StoreResult<()> {
        let mut next = Some(parent_id);
        while let Some(id) = next.take() {
            let Some(mut p) = Self::place_of(conn, run, id).await? else {
                break;
            };
            p.reply_count += 1;
            // A comment readers cannot see is shown as a placeholder once it has a
            // visible reply, and so counts for its own parent from then on.
            if p.status != CommentStatus::Published && p.reply_count == 1 && p.depth > 0 {
                let ids = path_ids(&p.path);
                next = ids.len().checked_sub(2).and_then(|i| ids.get(i).copied());
            }
            run.placed.insert(id, p);
        }
        Ok(())
    }

    /// `n` comment ids nobody else will use, ascending.
    async fn reserve_ids(
        conn: &mut DB::Connection,
        run: &mut Run,
        n: usize,
    ) -> StoreResult<Vec<i64>> {
        if DB::KIND == "postgres" {
            // From the column's own sequence, as a normal insert would take them, so
            // concurrent writers and later comments never meet these ids.
            let mut ids: Vec<i64> = sqlx::query_as::<DB, (i64,)>(
                "SELECT nextval(pg_get_serial_sequence('comments', 'id')::regclass) \
                 FROM generate_series(1, $1)",
            )
            .bind(n as i64)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
            ids.sort_unstable();
            return Ok(ids);
        }
        // SQLite: an INTEGER PRIMARY KEY takes MAX(id) + 1 when none is given, and this
        // transaction holds the write lock, so counting on from there is what the
        // inserts would have done one by one.
        let first = match run.next_id {
            Some(next) => next,
            None => {
                let (max,) =
                    sqlx::query_as::<DB, (i64,)>("SELECT COALESCE(MAX(id), 0) FROM comments")
                        .fetch_one(&mut *conn)
                        .await?;
                max + 1
            }
        };
        run.next_id = Some(first + n as i64);
        Ok((first..first + n as i64).collect())
    }

    /// Writes the pending comments: each row once, in its final place.
    async fn flush_comments(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
    ) -> StoreResult<()> {
        Self::flush_stories(conn, job, run).await?;
        if run.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut run.pending);
        run.pending_bytes = 0;

        // Already imported (a second run of the same file): leave them be.
        let started = Instant::now();
        let keys: Vec<&str> = batch.iter().map(|c| c.key.as_str()).collect();
        let existing: HashSet<String> = Self::targets(conn, job, "comment", &keys)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut fresh = Vec::with_capacity(batch.len());
        let mut fresh_keys = HashSet::new();
        for c in &batch {
            if existing.contains(&c.key) || !fresh_keys.insert(c.key.as_str()) {
                run.report.comments_existing += 1;
            } else if run.stories.contains_key(&c.story_key) {
                fresh.push(c);
            } else {
                return Err(StoreError::refused(
                    "import_failed",
                    format!(
                        "comment {} names story {} before it was given",
                        c.key, c.story_key
                    ),
                ));
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        let missing: Vec<&str> = fresh
            .iter()
            .filter_map(|c| c.parent_key.as_deref())
            .filter(|k| !run.by_key.contains_key(*k) && !fresh_keys.contains(k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        Self::load_parents(conn, job, run, &missing).await?;
        run.clock.lookups += started.elapsed();

        let started = Instant::now();
        Self::resolve_authors(conn, job, run, &fresh).await?;
        run.clock.authors += started.elapsed();

        // Each comment's id, place and reply count, parents first (the importer sends
        // them in that order), before anything is written.
        let started = Instant::now();
        let ids = Self::reserve_ids(conn, run, fresh.len()).await?;
        let mut places: Vec<(Option<i64>, i64, i64, String)> = Vec::with_capacity(fresh.len());
        for (c, &id) in fresh.iter().zip(&ids) {
            let story_id = run.stories.get(&c.story_key).copied().unwrap_or_default();
            let parent = match &c.parent_key {
                Some(key) => match run.by_key.get(key).copied() {
                    Some(pid) => Self::place_of(conn, run, pid)
                        .await?
                        .filter(|p| p.story_id == story_id)
                        .map(|p| (pid, p)),
                    None => None,
                },
                None => None,
            };
            if c.orphan || (c.parent_key.is_some() && parent.is_none()) {
                run.report.orphans += 1;
            }
            let (parent_id, depth, root_id, path) = match parent {
                None => (None, 0, id, child_path(None, id)),
                Some((pid, p)) if p.depth < job.max_depth => (
                    Some(pid),
                    p.depth + 1,
                    p.root_id,
                    child_path(Some(&p.path), id),
                ),
                Some((_, p)) if job.max_depth > 0 => {
                    // Too deep: hang it under the ancestor at max_depth - 1.
                    run.report.reattached += 1;
                    let keep = (job.max_depth as usize) * SEGMENT_WIDTH;
                    let anc_path = p.path.get(..keep).unwrap_or(&p.path).to_owned();
                    let anc_id = path_ids(&anc_path).last().copied();
                    (
                        anc_id,
                        job.max_depth,
                        p.root_id,
                        child_path(Some(&anc_path), id),
                    )
                }
                Some(_) => {
                    run.report.reattached += 1;
                    (None, 0, id, child_path(None, id))
                }
            };
            run.by_key.insert(c.key.clone(), id);
            run.placed.insert(
                id,
                Placed {
                    story_id,
                    depth,
                    root_id,
                    path: path.clone(),
                    status: c.status,
                    reply_count: 0,
                    written: 0,
                },
            );
            if c.status == CommentStatus::Published {
                *run.story_counts.entry(story_id).or_default() += 1;
                if let Some(pid) = parent_id {
                    Self::count_reply(conn, run, pid).await?;
                }
            } else {
                run.story_counts.entry(story_id).or_default();
            }
            places.push((parent_id, root_id, depth, path));
        }
        let mut rows = Vec::with_capacity(fresh.len());
        for ((c, &id), (parent_id, root_id, depth, path)) in fresh.iter().zip(&ids).zip(places) {
            // Replies in this same flush are counted already; those still to come are
            // forecast, so that most rows go in final.
            let reply_count = match run.placed.get_mut(&id) {
                Some(p) => {
                    p.written = p.reply_count.max(c.expected_replies);
                    p.written
                }
                None => 0,
            };
            let deleted = c.status == CommentStatus::Deleted;
            rows.push(CommentOut {
                k: &c.key,
                id,
                story_id: run.stories.get(&c.story_key).copied().unwrap_or_default(),
                author_id: if deleted {
                    None
                } else {
                    run.authors.get(&c.author.key).copied()
                },
                parent_id,
                root_id,
                depth,
                path,
                reply_count,
                status: c.status.as_str(),
                featured: c.featured,
                body_src: &c.body_src,
                body_html: &c.body_html,
                created_at: c.created_at,
                deleted_at: deleted.then_some(c.created_at),
            });
        }
        let json = to_json(&rows)?;
        drop(rows);
        run.clock.place += started.elapsed();

        let started = Instant::now();
        let columns: Vec<&str> = COMMENT_COLUMNS[1..].iter().map(|(c, _)| *c).collect();
        let columns = columns.join(", ");
        let insert_comments = format!("INSERT INTO comments ({columns}) SELECT {columns} FROM r");
        let insert_revisions = "INSERT INTO comment_revisions (comment_id, body_src, body_html, \
             decision, reasons, created_at) SELECT r.id, r.body_src, r.body_html, r.status, '', \
             r.created_at FROM r";
        let insert_keys = "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) \
             SELECT $1, $2, 'comment', r.k, r.id FROM r";
        if DB::KIND == "postgres" {
            // One statement, so the server parses the rows once (parsing JSON is a good
            // part of its work); foreign keys are checked at its end, comments in place.
            let sql = format!(
                "WITH r AS MATERIALIZED (SELECT * FROM {}), c AS ({insert_comments}), \
                 v AS ({insert_revisions}) {insert_keys}",
                json_rows::<DB>(3, COMMENT_COLUMNS)
            );
            sqlx::query::<DB>(&sql)
                .bind(job.site_id)
                .bind(job.source.clone())
                .bind(json)
                .execute(&mut *conn)
                .await?;
        } else {
            // SQLite has no INSERT inside WITH, and reads JSON quickly: one statement
            // each, reading the columns it needs.
            let from =
                |n: usize, cols: &[(&str, &str)]| format!(" FROM {}", json_rows::<DB>(n, cols));
            let revision_columns = [
                ("id", "bigint"),
                ("body_src", "text"),
                ("body_html", "text"),
                ("status", "text"),
                ("created_at", "bigint"),
            ];
            for sql in [
                insert_comments.replacen(" FROM r", &from(1, &COMMENT_COLUMNS[1..]), 1),
                insert_revisions.replacen(" FROM r", &from(1, &revision_columns), 1),
            ] {
                sqlx::query::<DB>(&sql)
                    .bind(json.clone())
                    .execute(&mut *conn)
                    .await?;
            }
            let sql =
                insert_keys.replacen(" FROM r", &from(3, &[("k", "text"), ("id", "bigint")]), 1);
            sqlx::query::<DB>(&sql)
                .bind(job.site_id)
                .bind(job.source.clone())
                .bind(json)
                .execute(&mut *conn)
                .await?;
        }
        run.report.comments_created += fresh.len() as i64;
        if DB::KIND == "postgres" && run.report.comments_created >= run.analyze_at {
            // The tables grow inside this transaction, out of autovacuum's sight, and
            // cached plans (the foreign-key checks' among them) made while they were
            // small went bad at a million rows: fresh statistics, and so fresh plans,
            // each time the comments written double. Only the columns that the
            // statements and foreign-key checks look rows up by.
            let a = Instant::now();
            conn.execute(
                "ANALYZE comments (id, story_id, parent_id, root_id, author_id), \
                 comment_revisions (comment_id), import_keys (site_id, source_id), \
                 users (id), stories (id)",
            )
            .await?;
            run.analyze_at = run.report.comments_created * 2;
            run.clock.analyze += a.elapsed();
        }
        run.clock.comments += started.elapsed();
        Ok(())
    }

    /// Reply counts that differ from what their rows hold (replies that came after the
    /// row, or fewer than forecast), in one statement.
    async fn write_reply_counts(conn: &mut DB::Connection, run: &mut Run) -> StoreResult<()> {
        let started = Instant::now();
        let mut dirty: Vec<CountOut> = run
            .placed
            .iter_mut()
            .filter(|(_, p)| p.reply_count != p.written)
            .map(|(id, p)| {
                p.written = p.reply_count;
                CountOut {
                    id: *id,
                    n: p.reply_count,
                }
            })
            .collect();
        if dirty.is_empty() {
            return Ok(());
        }
        dirty.sort_unstable_by_key(|d| d.id);
        run.clock.recounted += dirty.len();
        let sql = format!(
            "UPDATE comments SET reply_count = r.n FROM {} WHERE comments.id = r.id",
            json_rows::<DB>(1, &[("id", "bigint"), ("n", "bigint")])
        );
        sqlx::query::<DB>(&sql)
            .bind(to_json(&dirty)?)
            .execute(&mut *conn)
            .await?;
        run.clock.counts += started.elapsed();
        Ok(())
    }
}
