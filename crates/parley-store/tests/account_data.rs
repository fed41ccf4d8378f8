//! A reader's own data on both backends: the download holds exactly theirs, and
//! deleting the account tombstones or removes their comments with the thread's shape
//! and counts kept, ends their sessions and keeps the audit log without their name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::moderation::OnAccountDelete;
use parley_core::thread::CommentStatus;
use parley_core::{CommentSort, UserStatus};
use parley_store::{CommentEdit, NewReport, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

on_both! {
    the_download_holds_exactly_the_readers_data,
    deleting_with_tombstones_keeps_the_thread_shape_and_counts,
    deleting_with_removal_takes_out_what_nobody_replied_to,
    deleting_ends_sessions_and_anonymises_the_account,
    the_audit_log_keeps_the_facts_without_the_name,
    random_threads_keep_their_shape_and_counts_after_a_deletion,
}

/// Alice's conversation: a top-level comment Bob replied to, a lone comment, a reply
/// to Bob with her own reply under it; a reaction to Bob and a report of Bob.
struct Scene {
    w: World,
    top: i64,
    bobs_reply: i64,
    lone: i64,
    alice_on_bob: i64,
    alice_on_alice: i64,
    bobs_own: i64,
}

async fn scene(db: &TestDb) -> Scene {
    let store = db.store.as_ref();
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "Alice's first").await;
    let bobs_reply = post(store, w.story.id, &w.bob, Some(top.id), "Bob answers Alice").await;
    let lone = post(store, w.story.id, &w.alice, None, "Alice alone").await;
    let bobs_own = post(store, w.story.id, &w.bob, None, "Bob's own").await;
    let alice_on_bob = post(
        store,
        w.story.id,
        &w.alice,
        Some(bobs_own.id),
        "Alice to Bob",
    )
    .await;
    let alice_on_alice = post(
        store,
        w.story.id,
        &w.alice,
        Some(alice_on_bob.id),
        "Alice adds",
    )
    .await;
    store
        .edit_comment(CommentEdit {
            comment_id: top.id,
            editor_id: w.alice.id,
            body_src: "Alice's first, edited".into(),
            body_html: "<p>Alice's first, edited</p>".into(),
            window_ms: 600_000,
            now: T0 + 2_000,
        })
        .await
        .unwrap();
    store
        .add_reaction(bobs_own.id, w.alice.id, T0 + 3_000)
        .await
        .unwrap();
    store
        .add_reaction(bobs_own.id, w.carol.id, T0 + 3_000)
        .await
        .unwrap();
    store
        .add_reaction(top.id, w.carol.id, T0 + 3_000)
        .await
        .unwrap();
    store
        .add_report(NewReport {
            comment_id: bobs_reply.id,
            user_id: w.alice.id,
            reason: "offensive".into(),
            note: "Bob is rude to me".into(),
            now: T0 + 4_000,
        })
        .await
        .unwrap();
    store
        .add_report(NewReport {
            comment_id: lone.id,
            user_id: w.carol.id,
            reason: "spam".into(),
            note: String::new(),
            now: T0 + 4_000,
        })
        .await
        .unwrap();
    store
        .create_session("alice-phone", w.alice.id, T0, T0 + 10_000_000)
        .await
        .unwrap();
    store
        .create_session("alice-laptop", w.alice.id, T0, T0 + 10_000_000)
        .await
        .unwrap();
    store
        .create_session("bob-phone", w.bob.id, T0, T0 + 10_000_000)
        .await
        .unwrap();
    Scene {
        top: top.id,
        bobs_reply: bobs_reply.id,
        lone: lone.id,
        alice_on_bob: alice_on_bob.id,
        alice_on_alice: alice_on_alice.id,
        bobs_own: bobs_own.id,
        w,
    }
}

async fn the_download_holds_exactly_the_readers_data(db: TestDb) {
    let s = scene(&db).await;
    let data = db.store.account_data(s.w.alice.id).await.unwrap().unwrap();
    assert_eq!(data.profile.id, s.w.alice.id);
    assert_eq!(data.profile.email, "alice@example.org");
    assert_eq!(data.profile.display_name, "Alice");
    assert_eq!(data.profile.site, "daily");
    let ids: Vec<i64> = data.comments.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![s.top, s.lone, s.alice_on_bob, s.alice_on_alice]);
    let top = &data.comments[0];
    assert_eq!(top.body_src, "Alice's first, edited");
    assert_eq!(top.story_url, s.w.story.fields.url);
    let texts: Vec<&str> = top.revisions.iter().map(|r| r.body_src.as_str()).collect();
    assert_eq!(texts, vec!["Alice's first", "Alice's first, edited"]);
    assert!(data.comments[1..].iter().all(|c| c.revisions.len() == 1));
    assert_eq!(data.reactions.len(), 1);
    assert_eq!(data.reactions[0].comment_id, s.bobs_own);
    assert_eq!(data.reports.len(), 1);
    assert_eq!(data.reports[0].comment_id, s.bobs_reply);
    assert_eq!(data.reports[0].note, "Bob is rude to me");
    // Nothing of anybody else's.
    let json = serde_json::to_string(&data).unwrap();
    for other in ["Bob answers Alice", "Bob's own", "carol@", "bob@", "spam"] {
        assert!(!json.contains(other), "{other} leaked into Alice's data");
    }
    assert!(db.store.account_data(9_999).await.unwrap().is_none());
}

async fn visible_ids(db: &TestDb, story: i64) -> Vec<(i64, CommentStatus, i64)> {
    let top = walk_top_level(db.store.as_ref(), story, CommentSort::Oldest, 50).await;
    let roots: Vec<i64> = top.iter().map(|c| c.id).collect();
    let replies = db.store.replies_for_roots(&roots, 50, 10).await.unwrap();
    let mut all: Vec<(i64, CommentStatus, i64)> = top
        .iter()
        .chain(replies.iter())
        .map(|c| (c.id, c.status, c.reply_count))
        .collect();
    all.sort_by_key(|(id, _, _)| *id);
    all
}

async fn deleting_with_tombstones_keeps_the_thread_shape_and_counts(db: TestDb) {
    let s = scene(&db).await;
    let store = db.store.as_ref();
    let version = story(store, s.w.story.id).await.version;
    let done = store
        .delete_account(s.w.alice.id, OnAccountDelete::Tombstone, T0 + 9_000)
        .await
        .unwrap();
    assert_eq!(done.tombstoned, 4);
    assert_eq!(done.removed, 0);
    assert_eq!(done.reactions, 1);
    assert_eq!(done.reports, 1);
    assert_eq!(done.story_ids, vec![s.w.story.id]);
    // Her first comment stays as a tombstone over Bob's reply; the others leave the page.
    assert_eq!(
        visible_ids(&db, s.w.story.id).await,
        vec![
            (s.top, CommentStatus::Deleted, 1),
            (s.bobs_reply, CommentStatus::Published, 0),
            (s.bobs_own, CommentStatus::Published, 0),
        ]
    );
    let tomb = comment(store, s.top).await;
    assert_eq!(tomb.author_name, None);
    assert_eq!(tomb.body_src, "");
    for id in [s.lone, s.alice_on_bob, s.alice_on_alice] {
        let c = comment(store, id).await;
        assert_eq!(c.status, CommentStatus::Deleted);
        assert_eq!(c.body_html, "");
    }
    let after = story(store, s.w.story.id).await;
    assert_eq!(after.comment_count, 2, "Bob's two comments");
    assert!(after.version > version);
    assert_eq!(
        comment(store, s.bobs_own).await.reaction_count,
        1,
        "Carol's"
    );
    // Her old texts are gone from the revisions too.
    for r in store.revisions(s.top).await.unwrap() {
        assert_eq!(r.body_src, "");
    }
}

async fn deleting_with_removal_takes_out_what_nobody_replied_to(db: TestDb) {
    let s = scene(&db).await;
    let store = db.store.as_ref();
    let done = store
        .delete_account(s.w.alice.id, OnAccountDelete::Remove, T0 + 9_000)
        .await
        .unwrap();
    assert_eq!(done.removed, 3, "lone, and her reply chain under Bob");
    assert_eq!(done.tombstoned, 1, "the comment Bob replied to");
    for id in [s.lone, s.alice_on_bob, s.alice_on_alice] {
        assert!(store.comment_by_id(id).await.unwrap().is_none());
        assert!(store.revisions(id).await.unwrap().is_empty());
    }
    assert_eq!(
        visible_ids(&db, s.w.story.id).await,
        vec![
            (s.top, CommentStatus::Deleted, 1),
            (s.bobs_reply, CommentStatus::Published, 0),
            (s.bobs_own, CommentStatus::Published, 0),
        ]
    );
    assert_eq!(story(store, s.w.story.id).await.comment_count, 2);
}

async fn deleting_ends_sessions_and_anonymises_the_account(db: TestDb) {
    let s = scene(&db).await;
    let store = db.store.as_ref();
    // An importer knew her by her email at the source.
    let author_key = format!(
        "INSERT INTO import_keys (site_id, source, kind, source_id, target_id) VALUES \
         ({}, 'disqus', 'author', 'email:alice@example.org', {})",
        s.w.site.id, s.w.alice.id
    );
    db.exec(&author_key).await;
    let done = store
        .delete_account(s.w.alice.id, OnAccountDelete::Tombstone, T0 + 9_000)
        .await
        .unwrap();
    assert_eq!(done.sessions, 2);
    for token in ["alice-phone", "alice-laptop"] {
        assert!(store.session_user(token).await.unwrap().is_none());
    }
    assert!(store.session_user("bob-phone").await.unwrap().is_some());
    assert!(
        store
            .user_credentials(s.w.site.id, "alice@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let row = store.user_by_id(s.w.alice.id).await.unwrap().unwrap();
    assert!(!row.email.contains("alice"));
    assert!(!row.display_name.contains("Alice"));
    let (_, hash) = store
        .user_credentials(s.w.site.id, &row.email)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hash, None, "no password: nobody can sign in as it");
    assert!(store.account_data(s.w.alice.id).await.unwrap().is_none());
    // The key is gone: the same key goes in again without a conflict.
    db.exec(&author_key).await;
    assert!(matches!(
        store
            .delete_account(s.w.alice.id, OnAccountDelete::Tombstone, T0 + 9_500)
            .await,
        Err(StoreError::NotFound("user"))
    ));
    // The name is free again; the old account stays anonymous.
    store
        .create_user(new_user(s.w.site.id, "Alice", parley_core::Role::Reader))
        .await
        .unwrap();
}

async fn the_audit_log_keeps_the_facts_without_the_name(db: TestDb) {
    let s = scene(&db).await;
    let store = db.store.as_ref();
    store
        .set_user_status(
            s.w.alice.id,
            UserStatus::PreModerated,
            s.w.bob.id,
            "Alice (alice@example.org) keeps posting links".into(),
            T0 + 5_000,
        )
        .await
        .unwrap();
    let before = store.audit_log(s.w.site.id, None, None, 100).await.unwrap();
    store
        .delete_account(s.w.alice.id, OnAccountDelete::Tombstone, T0 + 9_000)
        .await
        .unwrap();
    let after = store.audit_log(s.w.site.id, None, None, 100).await.unwrap();
    assert_eq!(after.len(), before.len() + 1);
    let premod = after.iter().find(|e| e.action == "premoderate").unwrap();
    assert_eq!(premod.target_id, s.w.alice.id);
    assert_eq!(premod.actor_id, Some(s.w.bob.id));
    assert_eq!(premod.at, T0 + 5_000);
    assert_eq!(
        premod.reason,
        "[deleted account] ([deleted account]) keeps posting links"
    );
    let deleted = &after[0];
    assert_eq!(deleted.action, "delete_account");
    assert_eq!(deleted.target_kind, "user");
    assert_eq!(deleted.target_id, s.w.alice.id);
    for e in &after {
        assert!(!e.reason.contains("Alice") && !e.reason.contains("alice@"));
    }
}

/// Checks, for every comment id given, what the public thread relies on: a comment's
/// reply count is its visible children (published, or placeholders with visible
/// replies), every visible comment's parent is visible, and the story counts its
/// published comments.
async fn assert_thread_consistent(db: &TestDb, story_id: i64, ids: &[i64]) {
    let store = db.store.as_ref();
    let mut all = Vec::new();
    for id in ids {
        if let Some(c) = store.comment_by_id(*id).await.unwrap() {
            all.push(c);
        }
    }
    let visible =
        |c: &parley_store::Comment| c.status == CommentStatus::Published || c.reply_count > 0;
    for c in &all {
        let children = all
            .iter()
            .filter(|k| k.parent_id == Some(c.id) && visible(k))
            .count() as i64;
        assert_eq!(c.reply_count, children, "reply count of {}", c.id);
        if visible(c)
            && let Some(pid) = c.parent_id
        {
            let parent = all.iter().find(|p| p.id == pid).expect("parent kept");
            assert!(visible(parent), "{} is visible under hidden {pid}", c.id);
        }
    }
    let published = all
        .iter()
        .filter(|c| c.status == CommentStatus::Published)
        .count() as i64;
    assert_eq!(story(store, story_id).await.comment_count, published);
}

async fn random_threads_keep_their_shape_and_counts_after_a_deletion(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let mut rng = StdRng::seed_from_u64(5);
    for round in 0..6u32 {
        let story = store
            .create_story(w.site.id, story_fields(10 + round), String::new(), T0)
            .await
            .unwrap();
        let alice = store
            .create_user(new_user(
                w.site.id,
                &format!("Del{round}"),
                parley_core::Role::Reader,
            ))
            .await
            .unwrap();
        let people = [&alice, &w.bob, &w.carol];
        let mut ids: Vec<i64> = Vec::new();
        for n in 0..25 {
            let author = people[rng.gen_range(0..people.len())];
            let parent = if ids.is_empty() || rng.gen_bool(0.3) {
                None
            } else {
                Some(ids[rng.gen_range(0..ids.len())])
            };
            let posted = store
                .create_comment(new_comment(
                    story.id,
                    author.id,
                    parent,
                    &format!("c{n}"),
                    T0 + 1_000,
                ))
                .await;
            let Ok(c) = posted else { continue };
            ids.push(c.id);
            if rng.gen_bool(0.2) {
                let _ = store.delete_comment(c.id, author.id, T0 + 2_000).await;
            } else if author.id != w.carol.id && rng.gen_bool(0.3) {
                let _ = store.add_reaction(c.id, w.carol.id, T0 + 2_000).await;
            } else if author.id != alice.id && rng.gen_bool(0.3) {
                let _ = store.add_reaction(c.id, alice.id, T0 + 2_000).await;
            }
        }
        assert_thread_consistent(&db, story.id, &ids).await;
        let fate = if round % 2 == 0 {
            OnAccountDelete::Tombstone
        } else {
            OnAccountDelete::Remove
        };
        store
            .delete_account(alice.id, fate, T0 + 9_000)
            .await
            .unwrap();
        assert_thread_consistent(&db, story.id, &ids).await;
        for id in &ids {
            if let Some(c) = store.comment_by_id(*id).await.unwrap() {
                if c.status == CommentStatus::Deleted {
                    assert_eq!(c.author_name, None);
                    assert_eq!(c.body_src, "");
                } else {
                    assert_ne!(
                        c.author_id,
                        Some(alice.id),
                        "{fate:?}: her comment {id} stayed"
                    );
                }
            }
        }
    }
}
