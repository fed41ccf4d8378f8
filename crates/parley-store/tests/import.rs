//! Bulk import (`ImportStore`), on SQLite and PostgreSQL: thread places and counts,
//! statuses, idempotency, all-or-nothing, depth limits, imported authors and taking
//! them over by registering.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use std::sync::Arc;

use common::*;
use parley_core::thread::CommentStatus;
use parley_core::{CommentSort, Role};
use parley_store::import::*;
use parley_store::{Store, StoreError, StoryFields};
use tokio::sync::mpsc;

macro_rules! both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_sqlite(|db| async move { super::$case(db.store.clone()).await }).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_postgres(|db| async move { super::$case(db.store.clone()).await }).await
                }
            )*
        }
    };
}

both! {
    threads_keep_their_places_statuses_and_counts,
    importing_twice_changes_nothing,
    a_failed_import_leaves_the_database_as_it_was,
    replies_deeper_than_the_limit_hang_at_the_deepest_level,
    an_existing_story_with_the_url_is_reused,
    imported_authors_never_take_a_readers_name,
    registering_with_an_imported_email_takes_the_account_over,
    comments_in_many_batches_find_their_parents,
    comments_after_an_import_get_fresh_ids,
    stories_of_one_batch_share_neither_slug_nor_url,
    reply_count_forecasts_never_change_the_counts,
}

fn story(key: &str) -> ImportRecord {
    ImportRecord::Story(ImportStory {
        key: key.into(),
        url: format!("https://news.example/{key}"),
        slug: key.into(),
        headline: format!("Story {key}"),
        standfirst: String::new(),
        body_md: String::new(),
        body_html: String::new(),
        published_at: T0,
        picture_caption: None,
        picture_credit: None,
        closed: false,
    })
}

fn author(name: &str) -> ImportAuthor {
    ImportAuthor {
        key: format!("email:{}@example.org", name.to_lowercase()),
        name: name.into(),
        email: Some(format!("{}@example.org", name.to_lowercase())),
    }
}

fn comment(
    key: &str,
    story: &str,
    parent: Option<&str>,
    by: &str,
    status: CommentStatus,
) -> ImportRecord {
    ImportRecord::Comment(ImportComment {
        key: key.into(),
        story_key: story.into(),
        parent_key: parent.map(Into::into),
        orphan: false,
        author: author(by),
        body_src: format!("text of {key}"),
        body_html: format!("<p>text of {key}</p>"),
        status,
        featured: false,
        created_at: T0 + 10,
        expected_replies: 0,
    })
}

fn job(site_id: i64, max_depth: i64) -> ImportJob {
    ImportJob {
        site_id,
        source: "disqus".into(),
        max_depth,
        now: T0 + 100,
    }
}

async fn import(
    store: &dyn Store,
    job: ImportJob,
    batches: Vec<Vec<ImportRecord>>,
) -> Result<ImportReport, StoreError> {
    let (tx, rx) = mpsc::channel(batches.len() + 1);
    for b in batches {
        tx.send(ImportMessage::Records(b)).await.unwrap();
    }
    tx.send(ImportMessage::Done).await.unwrap();
    store.importer().import(job, rx).await
}

use CommentStatus::*;

/// a ─ b ─ c,  a ─ d (pending),  e (deleted) ─ f,  g (rejected),  h orphan
fn conversation() -> Vec<ImportRecord> {
    let mut orphan = comment("h", "s1", None, "Hal", Published);
    if let ImportRecord::Comment(c) = &mut orphan {
        c.orphan = true;
    }
    vec![
        story("s1"),
        comment("a", "s1", None, "Ann", Published),
        comment("b", "s1", Some("a"), "Bob", Published),
        comment("c", "s1", Some("b"), "Ann", Published),
        comment("d", "s1", Some("a"), "Cy", Pending),
        comment("e", "s1", None, "Dee", Deleted),
        comment("f", "s1", Some("e"), "Bob", Published),
        comment("g", "s1", None, "Spammer", Rejected),
        orphan,
    ]
}

async fn threads_keep_their_places_statuses_and_counts(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let report = import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    assert_eq!(
        report,
        ImportReport {
            stories_created: 1,
            comments_created: 8,
            authors_created: 5,
            orphans: 1,
            ..Default::default()
        }
    );
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.comment_count, 5, "a, b, c, f, h are published");
    assert_eq!(s.version, 2);

    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let bodies: Vec<&str> = top.iter().map(|c| c.body_src.as_str()).collect();
    assert_eq!(
        bodies,
        ["text of a", "", "text of h"],
        "e is a tombstone with a reply; g is rejected"
    );
    let (a, e) = (&top[0], &top[1]);
    assert_eq!(
        (a.reply_count, a.depth, a.root_id),
        (1, 0, a.id),
        "d is pending"
    );
    assert_eq!((e.status, e.author_id, e.reply_count), (Deleted, None, 1));

    let replies = store.replies_for_roots(&[a.id, e.id], 10, 6).await.unwrap();
    let shape: Vec<(String, i64, Option<i64>)> = replies
        .iter()
        .map(|c| (c.body_src.clone(), c.depth, c.parent_id))
        .collect();
    let b = replies.iter().find(|c| c.body_src == "text of b").unwrap();
    assert_eq!(
        shape,
        [
            ("text of b".to_owned(), 1, Some(a.id)),
            ("text of c".to_owned(), 2, Some(b.id)),
            ("text of f".to_owned(), 1, Some(e.id)),
        ]
    );
    assert_eq!(b.reply_count, 1);
    assert_eq!(
        b.path,
        format!("{}{}", a.path, parley_core::thread::segment(b.id))
    );
    assert_eq!(b.author_name.as_deref(), Some("Bob"));
    let revisions = store.revisions(b.id).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].body_html, "<p>text of b</p>");
    // The pending and rejected ones are kept, not lost.
    let d = store.comment_by_id(a.id + 3).await.unwrap().unwrap();
    assert_eq!((d.status, d.parent_id, d.depth), (Pending, Some(a.id), 1));
    let g = store.comment_by_id(a.id + 6).await.unwrap().unwrap();
    assert_eq!((g.status, g.body_src.as_str()), (Rejected, "text of g"));
}

async fn importing_twice_changes_nothing(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    let before = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let report = import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    assert_eq!(
        report,
        ImportReport {
            stories_existing: 1,
            comments_existing: 8,
            ..Default::default()
        }
    );
    let again = store.story_by_id(s.id).await.unwrap().unwrap();
    assert_eq!(again, s, "not even the version moves");
    assert_eq!(
        walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await,
        before
    );
}

async fn a_failed_import_leaves_the_database_as_it_was(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let (tx, rx) = mpsc::channel(4);
    tx.send(ImportMessage::Records(conversation()))
        .await
        .unwrap();
    tx.send(ImportMessage::Failed("line 7: malformed XML".into()))
        .await
        .unwrap();
    let err = store
        .importer()
        .import(job(site.id, 6), rx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 7"), "{err}");
    assert!(
        store
            .story_by_url(site.id, "https://news.example/s1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .user_credentials(site.id, "ann@example.org")
            .await
            .unwrap()
            .is_none()
    );

    // A reader that stops without saying it is done rolls back too.
    let (tx, rx) = mpsc::channel(4);
    tx.send(ImportMessage::Records(conversation()))
        .await
        .unwrap();
    drop(tx);
    assert!(store.importer().import(job(site.id, 6), rx).await.is_err());
    assert!(
        store
            .story_by_url(site.id, "https://news.example/s1")
            .await
            .unwrap()
            .is_none()
    );

    // And the store still works afterwards.
    import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    assert!(
        store
            .story_by_url(site.id, "https://news.example/s1")
            .await
            .unwrap()
            .is_some()
    );
}

async fn replies_deeper_than_the_limit_hang_at_the_deepest_level(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let records = vec![
        story("s1"),
        comment("l0", "s1", None, "Ann", Published),
        comment("l1", "s1", Some("l0"), "Bob", Published),
        comment("l2", "s1", Some("l1"), "Ann", Published),
        comment("l3", "s1", Some("l2"), "Bob", Published),
        comment("l4", "s1", Some("l3"), "Ann", Published),
    ];
    let report = import(&*store, job(site.id, 2), vec![records])
        .await
        .unwrap();
    assert_eq!(report.reattached, 2);
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let replies = store.replies_for_roots(&[top[0].id], 10, 2).await.unwrap();
    let l1 = &replies[0];
    let got: Vec<(&str, i64, Option<i64>)> = replies
        .iter()
        .map(|c| (c.body_src.as_str(), c.depth, c.parent_id))
        .collect();
    assert_eq!(
        got,
        [
            ("text of l1", 1, Some(top[0].id)),
            ("text of l2", 2, Some(l1.id)),
            ("text of l3", 2, Some(l1.id)),
            ("text of l4", 2, Some(l1.id)),
        ]
    );
    assert_eq!(l1.reply_count, 3);
}

async fn an_existing_story_with_the_url_is_reused(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let mut fields = StoryFields::bare("https://news.example/s1", "s1".into(), "Ours".into(), T0);
    fields.body_md = "Our own text.".into();
    let ours = store
        .create_story(site.id, fields, "<p>Our own text.</p>".into(), T0)
        .await
        .unwrap();
    let mut other = story("s2");
    if let ImportRecord::Story(s) = &mut other {
        s.slug = "s1".into();
    }
    let report = import(
        &*store,
        job(site.id, 6),
        vec![vec![
            story("s1"),
            comment("a", "s1", None, "Ann", Published),
            other,
            comment("b", "s2", None, "Ann", Published),
        ]],
    )
    .await
    .unwrap();
    assert_eq!((report.stories_created, report.stories_existing), (1, 1));
    let s1 = store.story_by_id(ours.id).await.unwrap().unwrap();
    assert_eq!((s1.fields.headline.as_str(), s1.comment_count), ("Ours", 1));
    let s2 = store
        .story_by_url(site.id, "https://news.example/s2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s2.fields.slug, "s1-2", "a taken slug gets a number");
}

async fn imported_authors_never_take_a_readers_name(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let mut nameless = comment("b", "s1", None, "Ann", Published);
    if let ImportRecord::Comment(c) = &mut nameless {
        c.author = ImportAuthor {
            key: "name:ann".into(),
            name: "Ann".into(),
            email: None,
        };
    }
    let report = import(
        &*store,
        job(site.id, 6),
        vec![vec![
            story("s1"),
            comment("a", "s1", None, "Ann", Published),
            nameless,
            comment("c", "s1", None, "Ann", Published),
        ]],
    )
    .await
    .unwrap();
    assert_eq!(report.authors_created, 2, "one by email, one by name");
    // A real reader may register as "Ann" all the same.
    let reader = store
        .create_user(new_user(site.id, "Ann", Role::Reader))
        .await;
    let reader = reader.unwrap();
    assert_eq!(reader.display_name, "Ann");
    // The nameless author has a synthetic address nobody can claim.
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let synthetic = store
        .user_by_id(top[1].author_id.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(synthetic.email.ends_with(".invalid"), "{}", synthetic.email);
    let mut claim = new_user(site.id, "Claimer", Role::Reader);
    claim.email = synthetic.email.clone();
    assert!(matches!(
        store.create_user(claim).await,
        Err(StoreError::Conflict {
            code: "email_taken",
            ..
        })
    ));
    let (_, hash) = store
        .user_credentials(site.id, &synthetic.email)
        .await
        .unwrap()
        .unwrap();
    assert!(hash.is_none(), "imported authors cannot sign in");
}

async fn registering_with_an_imported_email_takes_the_account_over(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    let (imported, hash) = store
        .user_credentials(site.id, "ann@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(hash.is_none());
    let mut new = new_user(site.id, "Ann Reader", Role::Reader);
    new.email = "ann@example.org".into();
    let user = store.create_user(new).await.unwrap();
    assert_eq!(user.id, imported.id, "the same account");
    assert_eq!(user.display_name, "Ann Reader");
    let (_, hash) = store
        .user_credentials(site.id, "ann@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(hash.is_some());
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    assert_eq!(top[0].author_id, Some(user.id));
    assert_eq!(top[0].author_name.as_deref(), Some("Ann Reader"));
    // Taken over once: registering again is the usual conflict.
    let mut again = new_user(site.id, "Someone Else", Role::Reader);
    again.email = "ann@example.org".into();
    assert!(matches!(
        store.create_user(again).await,
        Err(StoreError::Conflict {
            code: "email_taken",
            ..
        })
    ));
}

async fn comments_in_many_batches_find_their_parents(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    // 1,000 comments, each replying to the one 500 before it (in an earlier chunk and
    // an earlier message), over two stories.
    let mut batches = vec![vec![story("s1"), story("s2")]];
    for chunk in 0..10 {
        let mut batch = Vec::new();
        for i in chunk * 100..(chunk + 1) * 100 {
            let parent = (i >= 500).then(|| format!("k{}", i - 500));
            let s = if i % 500 < 250 { "s1" } else { "s2" };
            batch.push(comment(
                &format!("k{i}"),
                s,
                parent.as_deref(),
                "Ann",
                Published,
            ));
        }
        batches.push(batch);
    }
    let report = import(&*store, job(site.id, 6), batches).await.unwrap();
    assert_eq!(report.comments_created, 1000);
    let s1 = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s1.comment_count, 500);
    let top = walk_top_level(&*store, s1.id, CommentSort::Oldest, 300).await;
    assert_eq!(top.len(), 250);
    assert!(top.iter().all(|c| c.reply_count == 1));
    let replies = store.replies_for_roots(&[top[7].id], 10, 6).await.unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body_src, "text of k507");
}

/// The import reserves comment ids itself (PostgreSQL's sequence, SQLite's MAX + 1):
/// comments posted afterwards, and a later import, must still get fresh ones.
async fn comments_after_an_import_get_fresh_ids(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    import(&*store, job(site.id, 6), vec![conversation()])
        .await
        .unwrap();
    let s = store
        .story_by_url(site.id, "https://news.example/s1")
        .await
        .unwrap()
        .unwrap();
    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let (a, h) = (&top[0], &top[2]);
    assert_eq!(h.body_src, "text of h", "the last comment of the file");
    let reader = store
        .create_user(new_user(site.id, "Reader", Role::Reader))
        .await
        .unwrap();
    let posted = post(&*store, s.id, &reader, Some(a.id), "after the import").await;
    assert!(posted.id > h.id, "{} after {}", posted.id, h.id);

    // A later, longer export: what is new goes in, after the posted comment.
    let mut longer = conversation();
    longer.push(comment("i", "s1", Some("c"), "Ann", Published));
    longer.push(comment("j", "s1", None, "Jo", Published));
    let report = import(&*store, job(site.id, 6), vec![longer])
        .await
        .unwrap();
    assert_eq!((report.comments_created, report.comments_existing), (2, 8));
    let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
    let j = top.last().unwrap();
    assert_eq!(j.body_src, "text of j");
    let replies = store.replies_for_roots(&[a.id], 10, 6).await.unwrap();
    let c = replies.iter().find(|r| r.body_src == "text of c").unwrap();
    let i = replies.iter().find(|r| r.body_src == "text of i").unwrap();
    assert!(i.id > posted.id && j.id > posted.id);
    assert_eq!((i.parent_id, i.depth, i.root_id), (Some(c.id), 3, a.id));
    assert_eq!(
        i.path,
        format!("{}{}", c.path, parley_core::thread::segment(i.id))
    );
    assert_eq!(c.reply_count, 1, "counted although c came in earlier");

    let last = post(&*store, s.id, &reader, None, "after the second import").await;
    assert!(last.id > i.id.max(j.id));
    assert_eq!(
        store
            .story_by_id(s.id)
            .await
            .unwrap()
            .unwrap()
            .comment_count,
        9
    );
}

/// Stories are written in bulk: within one batch, a repeated slug still gets a number
/// and a repeated URL is still one story.
async fn stories_of_one_batch_share_neither_slug_nor_url(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let with = |key: &str, url: &str, slug: &str| {
        let mut s = story(key);
        if let ImportRecord::Story(s) = &mut s {
            s.url = url.into();
            s.slug = slug.into();
        }
        s
    };
    let report = import(
        &*store,
        job(site.id, 6),
        vec![vec![
            with("s1", "https://news.example/1", "same"),
            with("s2", "https://news.example/2", "same"),
            with("s3", "https://news.example/1", "other"),
            comment("a", "s1", None, "Ann", Published),
            comment("b", "s2", None, "Ann", Published),
            comment("c", "s3", None, "Ann", Published),
        ]],
    )
    .await
    .unwrap();
    assert_eq!((report.stories_created, report.stories_existing), (2, 1));
    let one = store
        .story_by_url(site.id, "https://news.example/1")
        .await
        .unwrap()
        .unwrap();
    let two = store
        .story_by_url(site.id, "https://news.example/2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((one.fields.slug.as_str(), one.comment_count), ("same", 2));
    assert_eq!((two.fields.slug.as_str(), two.comment_count), ("same-2", 1));
    let again = import(
        &*store,
        job(site.id, 6),
        vec![vec![
            with("s1", "https://news.example/1", "same"),
            with("s3", "https://news.example/1", "other"),
        ]],
    )
    .await
    .unwrap();
    assert_eq!((again.stories_created, again.stories_existing), (0, 2));
}

fn forecast(mut record: ImportRecord, n: i64) -> ImportRecord {
    if let ImportRecord::Comment(c) = &mut record {
        c.expected_replies = n;
    }
    record
}

/// The source's forecast of reply counts only decides which rows are written twice:
/// too high, too low or right, the counts come out as the replies actually stored,
/// including replies in a later flush and a placeholder that turns visible.
async fn reply_count_forecasts_never_change_the_counts(store: Arc<dyn Store>) {
    let conversation = |scale: i64| {
        let mut batches = vec![vec![
            story("s1"),
            story("s2"),
            forecast(comment("a", "s1", None, "Ann", Published), 5 * scale),
            forecast(comment("b", "s1", None, "Bob", Published), 0),
            forecast(comment("c", "s1", None, "Cy", Published), scale),
            forecast(comment("d", "s1", None, "Dee", Deleted), scale),
            comment("a1", "s1", Some("a"), "Bob", Published),
            forecast(comment("p", "s1", Some("a"), "Cy", Pending), 0),
        ]];
        // More than a flush of other comments, so the replies below come in a later one.
        batches.push(
            (0..8_200)
                .map(|i| comment(&format!("f{i}"), "s2", None, "Ann", Published))
                .collect(),
        );
        batches.push(vec![
            comment("a2", "s1", Some("a"), "Dee", Published),
            comment("p1", "s1", Some("p"), "Ann", Published),
            comment("b1", "s1", Some("b"), "Ann", Published),
            comment("b2", "s1", Some("b"), "Cy", Published),
            comment("b3", "s1", Some("b"), "Dee", Rejected),
            comment("c1", "s1", Some("c"), "Ann", Published),
            comment("d1", "s1", Some("d"), "Ann", Published),
        ]);
        batches
    };
    let counts = |site: &str| {
        let store = store.clone();
        let site = site.to_owned();
        async move {
            let site = store.create_site(&site, &[], T0).await.unwrap();
            import(
                &*store,
                job(site.id, 6),
                conversation(if site.name == "right" { 1 } else { 0 }),
            )
            .await
            .unwrap();
            let s = store
                .story_by_url(site.id, "https://news.example/s1")
                .await
                .unwrap()
                .unwrap();
            let top = walk_top_level(&*store, s.id, CommentSort::Oldest, 10).await;
            let ids: Vec<i64> = top.iter().map(|c| c.id).collect();
            let mut counts: Vec<(String, i64)> = top
                .iter()
                .map(|c| (c.body_src.clone(), c.reply_count))
                .collect();
            for c in store.replies_for_roots(&ids, 10, 6).await.unwrap() {
                counts.push((c.body_src, c.reply_count));
            }
            counts.sort();
            counts
        }
    };
    // d is a tombstone and p (pending) a placeholder: both shown without text.
    let expected: Vec<(String, i64)> = [
        ("", 1),
        ("", 1),
        ("text of a", 3),
        ("text of a1", 0),
        ("text of a2", 0),
        ("text of b", 2),
        ("text of b1", 0),
        ("text of b2", 0),
        ("text of c", 1),
        ("text of c1", 0),
        ("text of d1", 0),
        ("text of p1", 0),
    ]
    .iter()
    .map(|(b, n)| (b.to_string(), *n))
    .collect();
    // "right" forecasts a as 5 (too high), b as 0 (too low), c and d exactly.
    assert_eq!(counts("right").await, expected);
    assert_eq!(counts("none").await, expected);
}
