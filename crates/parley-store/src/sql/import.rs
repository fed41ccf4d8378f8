//! Bulk import on both backends: one transaction on the write connection; comments go
//! in as multi-row INSERTs of a few hundred, get their thread place (parent, root,
//! depth, path) in one UPDATE per batch once their ids are known, and reply counts,
//! story counts and versions are settled from what was written. Caches are bounded:
//! whatever they drop is read back from the database (inside the same transaction).

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use async_trait::async_trait;
use parley_core::thread::{CommentStatus, SEGMENT_WIDTH, child_path, path_ids};
use sqlx::{Encode, Executor, FromRow, IntoArguments, Type};
use tokio::sync::mpsc;

use super::rows::*;
use super::{SqlStore, placeholders};
use crate::Backend;
use crate::error::{StoreError, StoreResult};
use crate::import::*;

/// Rows per multi-row statement. Small on SQLite, which finds each `$n` by a linear
/// search of the statement's parameters (binding costs grow with their square); large
/// on PostgreSQL, where every statement is a round trip.
fn chunk_rows<DB: Backend>() -> usize {
    if DB::KIND == "sqlite" { 48 } else { 400 }
}
/// Entries a cache holds before it is written back and emptied.
const CACHE_LIMIT: usize = 100_000;

/// A comment's place, as replies to it need it.
#[derive(Debug, Clone)]
struct Placed {
    story_id: i64,
    depth: i64,
    root_id: i64,
    path: String,
    status: CommentStatus,
    reply_count: i64,
    dirty: bool,
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
        dirty: false,
    }
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
            // The same statements run thousands of times while the tables grow from
            // nothing inside this transaction: a generic plan made early (a sequential
            // scan of a then-empty table) would stay, and turn each lookup into a scan.
            // Plans made for each execution see the tables' current size.
            conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
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
            let records = match messages.recv().await {
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
            let chunk = chunk_rows::<DB>();
            let mut comments = Vec::with_capacity(chunk);
            for record in records {
                match record {
                    ImportRecord::Story(story) => {
                        Self::flush_comments(conn, &job, &mut run, &mut comments).await?;
                        Self::import_story(conn, &job, &mut run, story).await?;
                    }
                    ImportRecord::Comment(c) => {
                        comments.push(c);
                        if comments.len() == chunk {
                            Self::flush_comments(conn, &job, &mut run, &mut comments).await?;
                        }
                    }
                }
            }
            Self::flush_comments(conn, &job, &mut run, &mut comments).await?;
            if run.placed.len() > CACHE_LIMIT || run.by_key.len() > CACHE_LIMIT {
                Self::write_reply_counts(conn, &mut run).await?;
                run.placed.clear();
                run.by_key.clear();
            }
            if run.authors.len() > CACHE_LIMIT {
                run.authors.clear();
            }
        }
        Self::write_reply_counts(conn, &mut run).await?;
        let mut stories: Vec<(i64, i64)> = run.story_counts.drain().collect();
        stories.sort_unstable();
        for (story_id, published) in stories {
            sqlx::query::<DB>(
                "UPDATE stories SET comment_count = comment_count + $2, version = version + 1, \
                 updated_at = $3 WHERE id = $1",
            )
            .bind(story_id)
            .bind(published)
            .bind(job.now)
            .execute(&mut *conn)
            .await?;
        }
        Ok(run.report)
    }

    async fn key_target(
        conn: &mut DB::Connection,
        job: &ImportJob,
        kind: &str,
        key: &str,
    ) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_as::<DB, (i64,)>(
            "SELECT target_id FROM import_keys WHERE site_id = $1 AND source = $2 AND kind = $3 \
             AND source_id = $4",
        )
        .bind(job.site_id)
        .bind(job.source.clone())
        .bind(kind.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await?
        .map(|(id,)| id))
    }

    async fn add_key(
        conn: &mut DB::Connection,
        job: &ImportJob,
        kind: &str,
        key: &str,
        target: i64,
    ) -> StoreResult<()> {
        sqlx::query::<DB>(
            "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(job.site_id)
        .bind(job.source.clone())
        .bind(kind.to_owned())
        .bind(key.to_owned())
        .bind(target)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn import_story(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        story: ImportStory,
    ) -> StoreResult<()> {
        if run.stories.contains_key(&story.key) {
            return Ok(());
        }
        let known = match Self::key_target(conn, job, "story", &story.key).await? {
            Some(id) => Some(id),
            None => {
                let by_url = sqlx::query_as::<DB, (i64,)>(
                    "SELECT id FROM stories WHERE site_id = $1 AND url = $2",
                )
                .bind(job.site_id)
                .bind(story.url.clone())
                .fetch_optional(&mut *conn)
                .await?
                .map(|(id,)| id);
                if let Some(id) = by_url {
                    Self::add_key(conn, job, "story", &story.key, id).await?;
                }
                by_url
            }
        };
        let id = match known {
            Some(id) => {
                run.report.stories_existing += 1;
                id
            }
            None => {
                let mut slug = story.slug.clone();
                let mut n = 1;
                while sqlx::query_as::<DB, (i64,)>(
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
                let (id,) = sqlx::query_as::<DB, (i64,)>(
                    "INSERT INTO stories (site_id, url, slug, headline, standfirst, body_md, \
                     body_html, published_at, picture_caption, picture_credit, is_closed, \
                     created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                )
                .bind(job.site_id)
                .bind(story.url)
                .bind(slug)
                .bind(story.headline)
                .bind(story.standfirst)
                .bind(story.body_md)
                .bind(story.body_html)
                .bind(story.published_at)
                .bind(story.picture_caption)
                .bind(story.picture_credit)
                .bind(story.closed)
                .bind(job.now)
                .fetch_one(&mut *conn)
                .await?;
                Self::add_key(conn, job, "story", &story.key, id).await?;
                run.report.stories_created += 1;
                id
            }
        };
        run.stories.insert(story.key, id);
        Ok(())
    }

    /// `SELECT source_id, target_id` of the keys of one kind among `keys`.
    async fn targets(
        conn: &mut DB::Connection,
        job: &ImportJob,
        kind: &str,
        keys: &[String],
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut found = Vec::new();
        for chunk in keys.chunks(chunk_rows::<DB>()) {
            let sql = format!(
                "SELECT source_id, target_id FROM import_keys WHERE site_id = $1 AND source = $2 \
                 AND kind = $3 AND source_id IN ({})",
                placeholders(4, chunk.len())
            );
            let mut q = sqlx::query_as::<DB, (String, i64)>(&sql)
                .bind(job.site_id)
                .bind(job.source.clone())
                .bind(kind.to_owned());
            for key in chunk {
                q = q.bind(key.clone());
            }
            found.extend(q.fetch_all(&mut *conn).await?);
        }
        Ok(found)
    }

    async fn resolve_authors(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        comments: &[ImportComment],
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
        let keys: Vec<String> = wanted.iter().map(|a| a.key.clone()).collect();
        for (key, id) in Self::targets(conn, job, "author", &keys).await? {
            run.report.authors_existing += 1;
            run.authors.insert(key, id);
        }
        for author in wanted {
            if run.authors.contains_key(&author.key) {
                continue;
            }
            let existing = match &author.email {
                Some(email) => sqlx::query_as::<DB, (i64,)>(
                    "SELECT id FROM users WHERE site_id = $1 AND email = $2",
                )
                .bind(job.site_id)
                .bind(email.clone())
                .fetch_optional(&mut *conn)
                .await?
                .map(|(id,)| id),
                None => None,
            };
            let id = match existing {
                Some(id) => {
                    run.report.authors_existing += 1;
                    id
                }
                None => {
                    let email = author
                        .email
                        .clone()
                        .unwrap_or_else(|| synthetic_email(&job.source, &author.key));
                    // Display names cannot hold control characters, so this key never
                    // collides with a reader's and never blocks anyone's name.
                    let name_key = format!("\t{}:{}", job.source, author.key);
                    let (id,) = sqlx::query_as::<DB, (i64,)>(
                        "INSERT INTO users (site_id, email, display_name, name_key, password_hash, \
                         role, imported, created_at) VALUES ($1, $2, $3, $4, NULL, 'reader', TRUE, $5) \
                         RETURNING id",
                    )
                    .bind(job.site_id)
                    .bind(email)
                    .bind(author.name.clone())
                    .bind(name_key)
                    .bind(job.now)
                    .fetch_one(&mut *conn)
                    .await?;
                    run.report.authors_created += 1;
                    id
                }
            };
            Self::add_key(conn, job, "author", &author.key, id).await?;
            run.authors.insert(author.key.clone(), id);
        }
        Ok(())
    }

    /// Loads the places of earlier-written parents named by `keys` into the caches.
    async fn load_parents(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        keys: &[String],
    ) -> StoreResult<()> {
        for chunk in keys.chunks(chunk_rows::<DB>()) {
            let sql = format!(
                "SELECT k.source_id, c.id, c.story_id, c.depth, c.root_id, c.path, c.status, \
                 c.reply_count FROM import_keys k JOIN comments c ON c.id = k.target_id \
                 WHERE k.site_id = $1 AND k.source = $2 AND k.kind = 'comment' \
                 AND k.source_id IN ({})",
                placeholders(3, chunk.len())
            );
            let mut q = sqlx::query_as::<DB, KeyedPlacedRow>(&sql)
                .bind(job.site_id)
                .bind(job.source.clone());
            for key in chunk {
                q = q.bind(key.clone());
            }
            for (key, id, story_id, depth, root_id, path, status, replies) in
                q.fetch_all(&mut *conn).await?
            {
                run.by_key.insert(key, id);
                run.placed
                    .entry(id)
                    .or_insert_with(|| placed((story_id, depth, root_id, path, status, replies)));
            }
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
            p.dirty = true;
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

    async fn flush_comments(
        conn: &mut DB::Connection,
        job: &ImportJob,
        run: &mut Run,
        comments: &mut Vec<ImportComment>,
    ) -> StoreResult<()> {
        if comments.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(comments);
        // Already imported (a second run of the same file): leave them be.
        let keys: Vec<String> = batch.iter().map(|c| c.key.clone()).collect();
        let existing: HashSet<String> = Self::targets(conn, job, "comment", &keys)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut fresh = Vec::with_capacity(batch.len());
        let mut fresh_keys = HashSet::new();
        for c in batch {
            if existing.contains(&c.key) || !fresh_keys.insert(c.key.clone()) {
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
        Self::resolve_authors(conn, job, run, &fresh).await?;
        let missing: Vec<String> = fresh
            .iter()
            .filter_map(|c| c.parent_key.clone())
            .filter(|k| !run.by_key.contains_key(k) && !fresh_keys.contains(k))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        Self::load_parents(conn, job, run, &missing).await?;

        // 1. Insert the rows; a marker in `path` tells which id is whose.
        let mut sql = String::from(
            "INSERT INTO comments (story_id, author_id, depth, root_id, path, status, featured, \
             body_src, body_html, created_at, deleted_at) VALUES ",
        );
        for i in 0..fresh.len() {
            let b = i * 9;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for k in 1..=9 {
                if k == 3 {
                    sql.push_str("0, 0, ");
                }
                sql.push_str(&format!("${}", b + k));
                if k < 9 {
                    sql.push_str(", ");
                }
            }
            sql.push(')');
        }
        sql.push_str(" RETURNING id, path");
        let mut q = sqlx::query_as::<DB, (i64, String)>(&sql);
        for (i, c) in fresh.iter().enumerate() {
            let deleted = c.status == CommentStatus::Deleted;
            let author = if deleted {
                None
            } else {
                run.authors.get(&c.author.key).copied()
            };
            q = q
                .bind(run.stories.get(&c.story_key).copied().unwrap_or_default())
                .bind(author)
                .bind(format!("~{i}"))
                .bind(c.status.as_str().to_owned())
                .bind(c.featured)
                .bind(c.body_src.clone())
                .bind(c.body_html.clone())
                .bind(c.created_at)
                .bind(deleted.then_some(c.created_at));
        }
        let mut ids = vec![0i64; fresh.len()];
        for (id, marker) in q.fetch_all(&mut *conn).await? {
            if let Some(i) = marker
                .strip_prefix('~')
                .and_then(|m| m.parse::<usize>().ok())
                && i < ids.len()
            {
                ids[i] = id;
            }
        }

        // 2. Place each one, parents first (the importer sends them in that order).
        let mut places: Vec<(i64, Option<i64>, i64, i64, String)> = Vec::with_capacity(fresh.len());
        for (i, c) in fresh.iter().enumerate() {
            let id = ids[i];
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
            if c.status == CommentStatus::Published {
                *run.story_counts.entry(story_id).or_default() += 1;
                if let Some(pid) = parent_id {
                    Self::count_reply(conn, run, pid).await?;
                }
            } else {
                run.story_counts.entry(story_id).or_default();
            }
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
                    dirty: false,
                },
            );
            places.push((id, parent_id, root_id, depth, path));
        }

        // 3. Their places, revisions and keys, one statement each.
        // `CASE id WHEN ...` with `WHERE id IN (...)` rather than an UPDATE joined to a
        // VALUES list: both backends then find the rows by primary key, where a join
        // may be planned as a scan of the whole (growing) table.
        let n = places.len();
        let case = |col: usize| -> String {
            let arms: String = (0..n)
                .map(|i| format!(" WHEN ${} THEN ${}", i * 5 + 1, i * 5 + col))
                .collect();
            format!("CASE id{arms} END")
        };
        let ids_in = (0..n)
            .map(|i| format!("${}", i * 5 + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE comments SET parent_id = {}, root_id = {}, depth = {}, path = {} \
             WHERE id IN ({ids_in})",
            case(2),
            case(3),
            case(4),
            case(5)
        );
        let mut q = sqlx::query::<DB>(&sql);
        for (id, parent_id, root_id, depth, path) in places {
            q = q
                .bind(id)
                .bind(parent_id)
                .bind(root_id)
                .bind(depth)
                .bind(path);
        }
        q.execute(&mut *conn).await?;

        let rows: Vec<String> = (0..fresh.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, '', ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO comment_revisions (comment_id, body_src, body_html, decision, reasons, \
             created_at) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query::<DB>(&sql);
        for (i, c) in fresh.iter().enumerate() {
            q = q
                .bind(ids[i])
                .bind(c.body_src.clone())
                .bind(c.body_html.clone())
                .bind(c.status.as_str().to_owned())
                .bind(c.created_at);
        }
        q.execute(&mut *conn).await?;

        let rows: Vec<String> = (0..fresh.len())
            .map(|i| {
                let b = 3 + i * 2;
                format!("($1, $2, $3, ${}, ${})", b + 1, b + 2)
            })
            .collect();
        let sql = format!(
            "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) VALUES {}",
            rows.join(", ")
        );
        let mut q = sqlx::query::<DB>(&sql)
            .bind(job.site_id)
            .bind(job.source.clone())
            .bind("comment".to_owned());
        for (i, c) in fresh.iter().enumerate() {
            q = q.bind(c.key.clone()).bind(ids[i]);
        }
        q.execute(&mut *conn).await?;
        run.report.comments_created += fresh.len() as i64;
        Ok(())
    }

    async fn write_reply_counts(conn: &mut DB::Connection, run: &mut Run) -> StoreResult<()> {
        let dirty: Vec<(i64, i64)> = run
            .placed
            .iter_mut()
            .filter(|(_, p)| p.dirty)
            .map(|(id, p)| {
                p.dirty = false;
                (*id, p.reply_count)
            })
            .collect();
        for chunk in dirty.chunks(chunk_rows::<DB>() * 4) {
            let arms: String = (0..chunk.len())
                .map(|i| format!(" WHEN ${} THEN ${}", i * 2 + 1, i * 2 + 2))
                .collect();
            let ids_in = (0..chunk.len())
                .map(|i| format!("${}", i * 2 + 1))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE comments SET reply_count = CASE id{arms} END WHERE id IN ({ids_in})"
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, n) in chunk {
                q = q.bind(*id).bind(*n);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}
