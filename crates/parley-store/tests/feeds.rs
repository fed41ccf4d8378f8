//! The feeds' reads on both backends: a story's newest published comments and replies,
//! and a site's newest selected comments; nothing pending, rejected or deleted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::Role;
use parley_store::{CommentDecision, Ruling, Store};

on_both!(
    a_story_feed_holds_published_comments_and_replies_newest_first,
    a_story_feed_leaves_out_pending_rejected_and_deleted_comments,
    a_story_feed_stops_at_its_limit,
    the_selected_feed_holds_the_sites_featured_comments_only,
);

fn held() -> Ruling {
    Ruling {
        hold: true,
        rule: Some("site_policy".into()),
        reasons: "site_policy: held for review".into(),
    }
}

async fn moderator(store: &dyn Store, site_id: i64) -> parley_store::User {
    store
        .create_user(new_user(site_id, "Mona", Role::Moderator))
        .await
        .expect("moderator")
}

async fn a_story_feed_holds_published_comments_and_replies_newest_first(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let first = post(store, w.story.id, &w.alice, None, "First").await;
    let reply = post(store, w.story.id, &w.bob, Some(first.id), "A reply").await;
    let deeper = post(store, w.story.id, &w.carol, Some(reply.id), "Deeper").await;
    let second = post(store, w.story.id, &w.carol, None, "Second").await;

    let feed = store.feed_story_comments(w.story.id, 50).await.unwrap();
    let ids: Vec<i64> = feed.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![second.id, deeper.id, reply.id, first.id]);
    let r = feed.iter().find(|c| c.id == reply.id).unwrap();
    assert_eq!(r.author_name.as_deref(), Some("Bob"));
    assert_eq!(r.parent_author_name.as_deref(), Some("Alice"));
    assert_eq!(r.body_html, "<p>A reply</p>");

    // Another story's comments stay in their own feed.
    let other = store
        .create_story(w.site.id, story_fields(2), String::new(), T0)
        .await
        .unwrap();
    post(store, other.id, &w.alice, None, "Elsewhere").await;
    assert_eq!(
        store
            .feed_story_comments(w.story.id, 50)
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn a_story_feed_leaves_out_pending_rejected_and_deleted_comments(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let mona = moderator(store, w.site.id).await;
    let kept = post(store, w.story.id, &w.alice, None, "Kept").await;
    let pending = store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, None, "Pending", T0 + 2_000),
            held(),
        )
        .await
        .unwrap();
    let rejected = store
        .create_comment_ruled(
            new_comment(w.story.id, w.carol.id, None, "Rejected", T0 + 3_000),
            held(),
        )
        .await
        .unwrap();
    store
        .decide_comment(CommentDecision {
            comment_id: rejected.id,
            approve: false,
            actor_id: mona.id,
            reason: "abuse".into(),
            now: T0 + 4_000,
        })
        .await
        .unwrap();
    // A deleted comment with a reply stays in the thread as a tombstone, not in the feed.
    let deleted = post(store, w.story.id, &w.alice, None, "Deleted").await;
    let under = post(store, w.story.id, &w.bob, Some(deleted.id), "Under it").await;
    store
        .delete_comment(deleted.id, w.alice.id, T0 + 5_000)
        .await
        .unwrap();

    let ids: Vec<i64> = store
        .feed_story_comments(w.story.id, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![under.id, kept.id]);
    assert!(!ids.contains(&pending.id));

    // Approving the held comment brings it in.
    store
        .decide_comment(CommentDecision {
            comment_id: pending.id,
            approve: true,
            actor_id: mona.id,
            reason: "fine".into(),
            now: T0 + 6_000,
        })
        .await
        .unwrap();
    let ids: Vec<i64> = store
        .feed_story_comments(w.story.id, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![under.id, pending.id, kept.id]);
}

async fn a_story_feed_stops_at_its_limit(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(
            post(store, w.story.id, &w.alice, None, &format!("Comment {n}"))
                .await
                .id,
        );
    }
    let feed = store.feed_story_comments(w.story.id, 3).await.unwrap();
    let got: Vec<i64> = feed.iter().map(|c| c.id).collect();
    ids.reverse();
    assert_eq!(got, ids[..3].to_vec());
}

async fn the_selected_feed_holds_the_sites_featured_comments_only(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let mona = moderator(store, w.site.id).await;
    let second_story = store
        .create_story(w.site.id, story_fields(2), String::new(), T0)
        .await
        .unwrap();
    let a = post(store, w.story.id, &w.alice, None, "Selected one").await;
    let b = post(store, second_story.id, &w.bob, None, "Selected two").await;
    let plain = post(store, w.story.id, &w.carol, None, "Not selected").await;
    let gone = post(store, w.story.id, &w.carol, None, "Selected, then deleted").await;
    for id in [a.id, b.id, gone.id] {
        store
            .set_featured(id, true, mona.id, T0 + 10_000)
            .await
            .unwrap();
    }
    store
        .delete_comment(gone.id, w.carol.id, T0 + 11_000)
        .await
        .unwrap();

    // A comment selected on another site's story is not this site's.
    let other_site = store.create_site("weekly", &[], T0).await.unwrap();
    let other_story = store
        .create_story(other_site.id, story_fields(3), String::new(), T0)
        .await
        .unwrap();
    let outsider = store
        .create_user(new_user(other_site.id, "Otto", Role::Reader))
        .await
        .unwrap();
    let elsewhere = post(store, other_story.id, &outsider, None, "Other site").await;
    let other_mod = store
        .create_user(new_user(other_site.id, "Olga", Role::Moderator))
        .await
        .unwrap();
    store
        .set_featured(elsewhere.id, true, other_mod.id, T0 + 12_000)
        .await
        .unwrap();

    let ids: Vec<i64> = store
        .feed_featured_comments(w.site.id, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![b.id, a.id]);
    assert!(!ids.contains(&plain.id));
    let theirs: Vec<i64> = store
        .feed_featured_comments(other_site.id, 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(theirs, vec![elsewhere.id]);
}
