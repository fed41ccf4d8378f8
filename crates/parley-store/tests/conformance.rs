//! The storage conformance suite: every case runs against SQLite (a fresh temporary file)
//! and PostgreSQL (a fresh schema in `PARLEY_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`), so both backends keep one behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use parley_core::thread::{CommentStatus, ReplyRefusal, segment};
use parley_core::{CommentSort, Role, UserStatus};
use parley_store::{
    ActivityCaps, Comment, CommentDecision, CommentEdit, NewAudit, NewReport, QueueQuery, Ruling,
    Store, StoreError,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

conformance! {
    // sites
    a_new_site_round_trips_its_origins,
    a_second_site_with_the_same_name_is_a_conflict,
    // stories
    a_new_story_keeps_its_fields_and_is_found_by_url_slug_and_id,
    a_story_with_a_taken_url_or_slug_is_a_conflict,
    updating_a_story_bumps_its_version,
    stories_are_listed_newest_first,
    comment_counts_cover_known_urls_only,
    // users
    a_new_user_is_an_active_account,
    an_email_can_only_be_used_once_per_site,
    display_names_are_unique_ignoring_case,
    credentials_lookup_returns_the_password_hash,
    set_user_role_changes_the_role,
    // sessions
    a_session_is_found_by_its_token_until_deleted,
    expired_sessions_are_swept,
    // comments: posting
    comments_and_replies_are_placed_in_the_thread,
    a_reply_increments_its_parents_reply_count,
    posting_counts_on_the_story_and_bumps_its_version,
    replying_to_a_missing_comment_is_refused,
    replying_to_another_storys_comment_is_refused,
    replying_to_a_deleted_comment_is_refused,
    replying_too_deep_is_refused,
    commenting_on_a_closed_story_is_refused,
    commenting_on_a_missing_story_is_not_found,
    a_premoderated_authors_comment_is_held_and_audited,
    a_banned_or_suspended_author_cannot_post,
    a_held_ruling_keeps_the_comment_pending_with_reasons_and_audit,
    a_held_edit_takes_a_published_reply_off_the_page,
    author_activity_counts_approved_and_recent_comments,
    site_settings_round_trip_and_audit_can_be_recorded,
    approving_and_rejecting_fix_counts_resolve_reports_and_audit,
    a_rejected_comment_with_replies_stays_as_a_placeholder,
    auto_close_closes_old_open_stories_once_and_audits_them,
    readiness_compares_applied_migrations_with_the_binarys,
    nodes_hear_each_others_messages_in_order,
    signin_failures_count_in_windows_and_clear,
    user_status_changes_are_audited_and_queues_filter,
    // comments: editing
    editing_keeps_the_previous_text_as_a_revision,
    editing_after_the_window_is_refused,
    only_the_author_can_edit_or_delete,
    // comments: deleting
    deleting_leaves_a_tombstone_without_author_or_body,
    a_leaf_tombstone_leaves_the_page_but_one_with_replies_stays,
    deleting_the_last_reply_under_a_tombstone_removes_both,
    tombstones_vanish_up_the_chain_until_a_published_ancestor,
    // reactions, reports, featuring
    reactions_count_once_per_reader,
    reacting_to_ones_own_comment_is_refused,
    removing_a_missing_reaction_is_not_found,
    reacted_by_lists_only_that_readers_reactions,
    a_reader_reports_a_comment_once,
    featuring_a_comment_lists_it_and_audits_it,
    // reads
    replies_for_roots_respects_per_root_and_max_depth,
    replies_after_continues_depth_first,
    comments_by_ids_returns_known_ids_in_path_order,
    paging_every_sort_returns_each_visible_top_level_comment_once,
    // robustness
    a_cancelled_write_leaves_nothing_half_done,
}

fn assert_conflict(result: Result<impl std::fmt::Debug, StoreError>, want: &str) {
    match result {
        Err(StoreError::Conflict { code, .. }) if code == want => {}
        other => panic!("expected conflict {want}, got {other:?}"),
    }
}

fn assert_refused(result: Result<impl std::fmt::Debug, StoreError>, want: &str) {
    match result {
        Err(StoreError::Refused { code, .. }) if code == want => {}
        other => panic!("expected refusal {want}, got {other:?}"),
    }
}

fn assert_reply_refused(result: Result<Comment, StoreError>, want: ReplyRefusal) {
    match result {
        Err(StoreError::Reply(got)) if got == want => {}
        other => panic!("expected reply refusal {want:?}, got {other:?}"),
    }
}

fn ids(comments: &[Comment]) -> Vec<i64> {
    comments.iter().map(|c| c.id).collect()
}

// ---------------------------------------------------------------- sites

async fn a_new_site_round_trips_its_origins(store: Arc<dyn Store>) {
    let origins = vec![
        "https://www.daily.example".to_owned(),
        "https://daily.example".to_owned(),
        "http://localhost:8080".to_owned(),
    ];
    let site = store.create_site("daily", &origins, T0).await.unwrap();
    assert_eq!(site.name, "daily");
    assert_eq!(site.created_at, T0);
    let mut sorted = origins.clone();
    sorted.sort();
    assert_eq!(site.origins, sorted);

    assert_eq!(
        store.site_by_name("daily").await.unwrap(),
        Some(site.clone())
    );
    assert_eq!(store.site_by_id(site.id).await.unwrap(), Some(site.clone()));
    assert_eq!(store.site_by_name("weekly").await.unwrap(), None);
    assert_eq!(store.site_by_id(site.id + 1000).await.unwrap(), None);

    let bare = store.create_site("weekly", &[], T0 + 1).await.unwrap();
    assert!(bare.origins.is_empty());
    assert_eq!(store.list_sites().await.unwrap(), vec![site, bare]);
}

async fn a_second_site_with_the_same_name_is_a_conflict(store: Arc<dyn Store>) {
    store.create_site("daily", &[], T0).await.unwrap();
    assert_conflict(
        store
            .create_site("daily", &["https://x.example".into()], T0)
            .await,
        "site_exists",
    );
    // The refused write left nothing behind.
    assert_eq!(store.list_sites().await.unwrap().len(), 1);
    store.create_site("daily-2", &[], T0).await.unwrap();
}

// ---------------------------------------------------------------- stories

async fn a_new_story_keeps_its_fields_and_is_found_by_url_slug_and_id(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let other = store.create_site("other", &[], T0).await.unwrap();
    let mut fields = story_fields(7);
    fields.picture_url = Some("https://img.example/7.jpg".into());
    fields.picture_caption = Some("A caption".into());
    fields.picture_credit = Some("Photographer".into());
    fields.closed_message = Some("not closed yet".into());
    let story = store
        .create_story(site.id, fields.clone(), "<p>html</p>".into(), T0 + 5)
        .await
        .unwrap();
    assert_eq!(story.site_id, site.id);
    assert_eq!(story.fields, fields);
    assert_eq!(story.body_html, "<p>html</p>");
    assert_eq!(story.version, 1);
    assert_eq!(story.comment_count, 0);
    assert_eq!((story.created_at, story.updated_at), (T0 + 5, T0 + 5));

    assert_eq!(
        store.story_by_id(story.id).await.unwrap(),
        Some(story.clone())
    );
    assert_eq!(
        store.story_by_url(site.id, &fields.url).await.unwrap(),
        Some(story.clone())
    );
    assert_eq!(
        store.story_by_slug(site.id, &fields.slug).await.unwrap(),
        Some(story.clone())
    );
    assert_eq!(
        store.story_by_url(other.id, &fields.url).await.unwrap(),
        None
    );
    assert_eq!(
        store.story_by_slug(other.id, &fields.slug).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .story_by_url(site.id, "https://news.example/nope")
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.story_by_id(story.id + 1000).await.unwrap(), None);
}

async fn a_story_with_a_taken_url_or_slug_is_a_conflict(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let other = store.create_site("other", &[], T0).await.unwrap();
    store
        .create_story(site.id, story_fields(1), String::new(), T0)
        .await
        .unwrap();

    let mut same_url = story_fields(2);
    same_url.url = story_fields(1).url;
    assert_conflict(
        store
            .create_story(site.id, same_url, String::new(), T0)
            .await,
        "story_exists",
    );

    let mut same_slug = story_fields(3);
    same_slug.slug = story_fields(1).slug;
    assert_conflict(
        store
            .create_story(site.id, same_slug, String::new(), T0)
            .await,
        "story_exists",
    );

    // Another site may use the same URL and slug.
    store
        .create_story(other.id, story_fields(1), String::new(), T0)
        .await
        .unwrap();
    // Updating a story onto a taken URL is a conflict too.
    let second = store
        .create_story(site.id, story_fields(4), String::new(), T0)
        .await
        .unwrap();
    let mut onto = story_fields(4);
    onto.url = story_fields(1).url;
    assert_conflict(
        store.update_story(second.id, onto, String::new(), T0).await,
        "story_exists",
    );
    assert_eq!(store.list_stories(site.id, 10).await.unwrap().len(), 2);
}

async fn updating_a_story_bumps_its_version(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let story = store
        .create_story(site.id, story_fields(1), "<p>a</p>".into(), T0)
        .await
        .unwrap();
    let mut fields = story.fields.clone();
    fields.headline = "A better headline".into();
    fields.url = "https://news.example/moved".into();
    fields.is_closed = true;
    fields.closed_message = Some("Comments are closed.".into());
    let updated = store
        .update_story(story.id, fields.clone(), "<p>b</p>".into(), T0 + 60_000)
        .await
        .unwrap();
    assert_eq!(updated.id, story.id);
    assert_eq!(updated.fields, fields);
    assert_eq!(updated.body_html, "<p>b</p>");
    assert_eq!(updated.version, story.version + 1);
    assert_eq!(updated.created_at, T0);
    assert_eq!(updated.updated_at, T0 + 60_000);
    assert_eq!(story_at(&*store, story.id).await, updated);
    assert_eq!(
        store
            .story_by_url(site.id, &story.fields.url)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.story_by_url(site.id, &fields.url).await.unwrap(),
        Some(updated.clone())
    );

    let again = store
        .update_story(story.id, fields.clone(), "<p>b</p>".into(), T0 + 1)
        .await
        .unwrap();
    assert_eq!(again.version, updated.version + 1);

    match store
        .update_story(story.id + 1000, fields, String::new(), T0)
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn story_at(store: &dyn Store, id: i64) -> parley_store::Story {
    common::story(store, id).await
}

async fn stories_are_listed_newest_first(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let other = store.create_site("other", &[], T0).await.unwrap();
    let mut made = Vec::new();
    for (n, published) in [(1, T0 + 30), (2, T0 + 10), (3, T0 + 20)] {
        let mut f = story_fields(n);
        f.published_at = published;
        made.push(
            store
                .create_story(site.id, f, String::new(), T0)
                .await
                .unwrap(),
        );
    }
    store
        .create_story(other.id, story_fields(9), String::new(), T0)
        .await
        .unwrap();
    let listed = store.list_stories(site.id, 10).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![made[0].id, made[2].id, made[1].id]
    );
    let two = store.list_stories(site.id, 2).await.unwrap();
    assert_eq!(two, listed[..2].to_vec());
}

async fn comment_counts_cover_known_urls_only(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let second = store
        .create_story(w.site.id, story_fields(2), String::new(), T0)
        .await
        .unwrap();
    let third = store
        .create_story(w.site.id, story_fields(3), String::new(), T0)
        .await
        .unwrap();
    for body in ["one", "two"] {
        post(&*store, w.story.id, &w.alice, None, body).await;
    }
    let top = post(&*store, second.id, &w.bob, None, "three").await;
    post(&*store, second.id, &w.alice, Some(top.id), "reply").await;
    post(&*store, second.id, &w.carol, None, "gone").await;
    let gone = post(&*store, second.id, &w.carol, None, "gone").await;
    store
        .delete_comment(gone.id, w.carol.id, T0 + 2_000)
        .await
        .unwrap();

    let urls = vec![
        w.story.fields.url.clone(),
        "https://news.example/unknown".to_owned(),
        second.fields.url.clone(),
        third.fields.url.clone(),
    ];
    let mut counts = store.comment_counts(w.site.id, &urls).await.unwrap();
    counts.sort_by_key(|c| c.story_id);
    let got: Vec<_> = counts
        .iter()
        .map(|c| (c.url.as_str(), c.story_id, c.count))
        .collect();
    assert_eq!(
        got,
        vec![
            (w.story.fields.url.as_str(), w.story.id, 2),
            (second.fields.url.as_str(), second.id, 3),
            (third.fields.url.as_str(), third.id, 0),
        ]
    );
    assert!(
        store
            .comment_counts(w.site.id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // Another site's ids never leak.
    let other = store.create_site("other", &[], T0).await.unwrap();
    assert!(
        store
            .comment_counts(other.id, &urls)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- users

async fn a_new_user_is_an_active_account(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let user = store
        .create_user(new_user(site.id, "Alice", Role::Staff))
        .await
        .unwrap();
    assert_eq!(user.site_id, site.id);
    assert_eq!(user.email, "alice@example.org");
    assert_eq!(user.display_name, "Alice");
    assert_eq!(user.role, Role::Staff);
    assert_eq!(user.status, UserStatus::Active);
    assert_eq!(user.created_at, T0);
    assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user.clone()));
    assert_eq!(store.user_by_id(user.id + 1000).await.unwrap(), None);
}

async fn an_email_can_only_be_used_once_per_site(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let other = store.create_site("other", &[], T0).await.unwrap();
    store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    let mut again = new_user(site.id, "Alicia", Role::Reader);
    again.email = "alice@example.org".into();
    match store.create_user(again.clone()).await {
        Err(StoreError::Conflict {
            code: "email_taken",
            field,
            ..
        }) => {
            assert_eq!(field, Some("email"));
        }
        other => panic!("expected email_taken, got {other:?}"),
    }
    // Both taken: the email is the one reported.
    let mut both = again.clone();
    both.display_name = "Alice".into();
    assert_conflict(store.create_user(both).await, "email_taken");
    // Another site is another namespace.
    again.site_id = other.id;
    store.create_user(again).await.unwrap();
}

async fn display_names_are_unique_ignoring_case(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    for name in ["Alice", "ALICE", "alice"] {
        let mut u = new_user(site.id, name, Role::Reader);
        u.email = format!("someone-else-{name}@example.org");
        match store.create_user(u).await {
            Err(StoreError::Conflict {
                code: "name_taken",
                field,
                ..
            }) => {
                assert_eq!(field, Some("display_name"));
            }
            other => panic!("expected name_taken for {name}, got {other:?}"),
        }
    }
    store
        .create_user(new_user(site.id, "Alice B", Role::Reader))
        .await
        .unwrap();
}

async fn credentials_lookup_returns_the_password_hash(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    let mut no_password = new_user(site.id, "Bob", Role::Reader);
    no_password.password_hash = None;
    let bob = store.create_user(no_password).await.unwrap();

    let (user, hash) = store
        .user_credentials(site.id, "alice@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, alice);
    assert_eq!(hash.as_deref(), Some("$argon2id$hash-of-Alice"));
    let (user, hash) = store
        .user_credentials(site.id, "bob@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user, bob);
    assert_eq!(hash, None);
    assert!(
        store
            .user_credentials(site.id, "carol@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let other = store.create_site("other", &[], T0).await.unwrap();
    assert!(
        store
            .user_credentials(other.id, "alice@example.org")
            .await
            .unwrap()
            .is_none()
    );
}

async fn set_user_role_changes_the_role(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    let promoted = store
        .set_user_role(alice.id, Role::Moderator)
        .await
        .unwrap();
    assert_eq!(promoted.role, Role::Moderator);
    assert_eq!(promoted.id, alice.id);
    assert_eq!(
        store.user_by_id(alice.id).await.unwrap().unwrap().role,
        Role::Moderator
    );
    match store.set_user_role(alice.id + 1000, Role::Admin).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

// ---------------------------------------------------------------- sessions

async fn a_session_is_found_by_its_token_until_deleted(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    store
        .create_session("hash-1", alice.id, T0, T0 + 1_000)
        .await
        .unwrap();
    store
        .create_session("hash-2", alice.id, T0, T0 + 2_000)
        .await
        .unwrap();
    let found = store.session_user("hash-1").await.unwrap().unwrap();
    assert_eq!(found.user, alice);
    assert_eq!(found.expires_at, T0 + 1_000);
    assert!(store.session_user("hash-3").await.unwrap().is_none());

    store.delete_session("hash-1").await.unwrap();
    assert!(store.session_user("hash-1").await.unwrap().is_none());
    assert!(store.session_user("hash-2").await.unwrap().is_some());
    // Deleting what is not there is fine.
    store.delete_session("hash-1").await.unwrap();
}

async fn expired_sessions_are_swept(store: Arc<dyn Store>) {
    let site = store.create_site("daily", &[], T0).await.unwrap();
    let alice = store
        .create_user(new_user(site.id, "Alice", Role::Reader))
        .await
        .unwrap();
    for (token, ends) in [("a", T0 + 10), ("b", T0 + 20), ("c", T0 + 30)] {
        store
            .create_session(token, alice.id, T0, ends)
            .await
            .unwrap();
    }
    assert_eq!(store.delete_expired_sessions(T0 + 5).await.unwrap(), 0);
    assert_eq!(store.delete_expired_sessions(T0 + 20).await.unwrap(), 2);
    assert!(store.session_user("a").await.unwrap().is_none());
    assert!(store.session_user("b").await.unwrap().is_none());
    assert!(store.session_user("c").await.unwrap().is_some());
    assert_eq!(store.delete_expired_sessions(T0 + 20).await.unwrap(), 0);
}

// ---------------------------------------------------------------- comments: posting

async fn comments_and_replies_are_placed_in_the_thread(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let staff = store.set_user_role(w.carol.id, Role::Staff).await.unwrap();
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    assert_eq!(top.story_id, w.story.id);
    assert_eq!(top.parent_id, None);
    assert_eq!(top.root_id, top.id);
    assert_eq!(top.depth, 0);
    assert_eq!(top.path, segment(top.id));
    assert_eq!(top.path.len(), 10);
    assert_eq!(top.author_id, Some(w.alice.id));
    assert_eq!(top.author_name.as_deref(), Some("Alice"));
    assert_eq!(top.author_role, Some(Role::Reader));
    assert_eq!(top.parent_author_name, None);
    assert_eq!(top.status, CommentStatus::Published);
    assert_eq!(
        (top.reply_count, top.reaction_count, top.featured),
        (0, 0, false)
    );
    assert_eq!(top.body_src, "top");
    assert_eq!(top.body_html, "<p>top</p>");
    assert_eq!(top.edited_at, None);

    let reply = post(&*store, w.story.id, &w.bob, Some(top.id), "reply").await;
    assert_eq!(reply.parent_id, Some(top.id));
    assert_eq!(reply.root_id, top.id);
    assert_eq!(reply.depth, 1);
    assert_eq!(
        reply.path,
        format!("{}{}", segment(top.id), segment(reply.id))
    );
    assert_eq!(reply.parent_author_name.as_deref(), Some("Alice"));

    let deeper = post(&*store, w.story.id, &staff, Some(reply.id), "deeper").await;
    assert_eq!(deeper.root_id, top.id);
    assert_eq!(deeper.depth, 2);
    assert_eq!(deeper.path, format!("{}{}", reply.path, segment(deeper.id)));
    assert_eq!(deeper.parent_author_name.as_deref(), Some("Bob"));
    assert_eq!(deeper.author_role, Some(Role::Staff));

    let second = post(&*store, w.story.id, &w.bob, None, "second").await;
    assert_eq!((second.root_id, second.depth), (second.id, 0));
    assert!(second.id > top.id);
    assert_eq!(comment(&*store, deeper.id).await, deeper);
}

async fn a_reply_increments_its_parents_reply_count(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    let r1 = post(&*store, w.story.id, &w.bob, Some(top.id), "r1").await;
    post(&*store, w.story.id, &w.carol, Some(top.id), "r2").await;
    post(&*store, w.story.id, &w.alice, Some(r1.id), "r1.1").await;
    // Direct replies only.
    assert_eq!(comment(&*store, top.id).await.reply_count, 2);
    assert_eq!(comment(&*store, r1.id).await.reply_count, 1);
}

async fn posting_counts_on_the_story_and_bumps_its_version(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let before = story(&*store, w.story.id).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    let after_one = story(&*store, w.story.id).await;
    assert_eq!(after_one.comment_count, before.comment_count + 1);
    assert!(after_one.version > before.version);
    post(&*store, w.story.id, &w.bob, Some(top.id), "reply").await;
    let after_two = story(&*store, w.story.id).await;
    assert_eq!(after_two.comment_count, 2);
    assert!(after_two.version > after_one.version);
}

async fn replying_to_a_missing_comment_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let result = store
        .create_comment(new_comment(
            w.story.id,
            w.alice.id,
            Some(424_242),
            "hello?",
            T0,
        ))
        .await;
    assert_reply_refused(result, ReplyRefusal::ParentMissing);
    assert_eq!(story(&*store, w.story.id).await.comment_count, 0);
}

async fn replying_to_another_storys_comment_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let elsewhere = store
        .create_story(w.site.id, story_fields(2), String::new(), T0)
        .await
        .unwrap();
    let there = post(&*store, elsewhere.id, &w.alice, None, "there").await;
    let result = store
        .create_comment(new_comment(
            w.story.id,
            w.bob.id,
            Some(there.id),
            "here",
            T0,
        ))
        .await;
    assert_reply_refused(result, ReplyRefusal::ParentMissing);
    assert_eq!(comment(&*store, there.id).await.reply_count, 0);
}

async fn replying_to_a_deleted_comment_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    store
        .delete_comment(top.id, w.alice.id, T0 + 2_000)
        .await
        .unwrap();
    let result = store
        .create_comment(new_comment(
            w.story.id,
            w.bob.id,
            Some(top.id),
            "late",
            T0 + 3_000,
        ))
        .await;
    assert_reply_refused(result, ReplyRefusal::ParentDeleted);
    assert_eq!(comment(&*store, top.id).await.reply_count, 0);
}

async fn replying_too_deep_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let mut parent = post(&*store, w.story.id, &w.alice, None, "depth 0").await;
    for depth in 1..=2 {
        let mut new = new_comment(w.story.id, w.bob.id, Some(parent.id), "deeper", T0);
        new.max_depth = 2;
        parent = store.create_comment(new).await.unwrap();
        assert_eq!(parent.depth, depth);
    }
    let mut new = new_comment(w.story.id, w.carol.id, Some(parent.id), "too deep", T0);
    new.max_depth = 2;
    assert_reply_refused(
        store.create_comment(new).await,
        ReplyRefusal::TooDeep { max_depth: 2 },
    );
    assert_eq!(comment(&*store, parent.id).await.reply_count, 0);
    assert_eq!(story(&*store, w.story.id).await.comment_count, 3);
}

async fn commenting_on_a_closed_story_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "before closing").await;
    let mut fields = w.story.fields.clone();
    fields.is_closed = true;
    fields.closed_message = Some("We have closed comments on this story.".into());
    let closed = store
        .update_story(w.story.id, fields.clone(), String::new(), T0)
        .await
        .unwrap();
    for parent in [None, Some(top.id)] {
        match store
            .create_comment(new_comment(w.story.id, w.bob.id, parent, "after", T0))
            .await
        {
            Err(StoreError::Refused {
                code: "story_closed",
                message,
            }) => {
                assert_eq!(message, "We have closed comments on this story.");
            }
            other => panic!("expected story_closed, got {other:?}"),
        }
    }
    // Without its own message, the refusal still explains itself.
    fields.closed_message = Some("   ".into());
    store
        .update_story(w.story.id, fields, String::new(), T0)
        .await
        .unwrap();
    match store
        .create_comment(new_comment(w.story.id, w.bob.id, None, "after", T0))
        .await
    {
        Err(StoreError::Refused {
            code: "story_closed",
            message,
        }) => assert!(!message.trim().is_empty()),
        other => panic!("expected story_closed, got {other:?}"),
    }
    // Editing on a closed story is refused too.
    let edit = CommentEdit {
        comment_id: top.id,
        editor_id: w.alice.id,
        body_src: "changed".into(),
        body_html: "<p>changed</p>".into(),
        window_ms: 3_600_000,
        now: T0 + 2_000,
    };
    assert_refused(store.edit_comment(edit).await, "story_closed");
    assert_eq!(
        story(&*store, w.story.id).await.comment_count,
        closed.comment_count
    );
}

async fn commenting_on_a_missing_story_is_not_found(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    match store
        .create_comment(new_comment(
            w.story.id + 1000,
            w.alice.id,
            None,
            "where?",
            T0,
        ))
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn a_premoderated_authors_comment_is_held_and_audited(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "published").await;
    db.set_user_status(w.bob.id, "premoderated").await;
    assert_eq!(
        store.user_by_id(w.bob.id).await.unwrap().unwrap().status,
        UserStatus::PreModerated
    );
    let before = story(store, w.story.id).await;

    let held = post(store, w.story.id, &w.bob, None, "held").await;
    assert_eq!(held.status, CommentStatus::Pending);
    let held_reply = post(store, w.story.id, &w.bob, Some(top.id), "held reply").await;
    assert_eq!(held_reply.status, CommentStatus::Pending);
    assert_eq!(held_reply.depth, 1);

    // Readers see nothing of it.
    let after = story(store, w.story.id).await;
    assert_eq!(after.comment_count, before.comment_count);
    assert_eq!(comment(store, top.id).await.reply_count, 0);
    let page = store
        .top_level_page(w.story.id, CommentSort::Newest, None, 50)
        .await
        .unwrap();
    assert_eq!(ids(&page), vec![top.id]);
    assert!(
        store
            .replies_for_roots(&[top.id], 10, 5)
            .await
            .unwrap()
            .is_empty()
    );
    // The author does.
    let pending = store.pending_of_author(w.story.id, w.bob.id).await.unwrap();
    assert_eq!(ids(&pending), vec![held.id, held_reply.id]);
    assert!(
        store
            .pending_of_author(w.story.id, w.alice.id)
            .await
            .unwrap()
            .is_empty()
    );

    // The hold is on the record, by rule.
    let audit = store.audit_for("comment", held.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    let entry = &audit[0];
    assert_eq!(entry.actor_rule.as_deref(), Some("author_premoderated"));
    assert_eq!(entry.actor_id, None);
    assert_eq!(entry.action, "hold");
    assert_eq!(entry.target_kind, "comment");
    assert_eq!(entry.target_id, held.id);
    assert_eq!(entry.site_id, Some(w.site.id));
    let revisions = store.revisions(held.id).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(entry.revision_id, Some(revisions[0].id));
    assert_eq!(revisions[0].decision, "pending");

    // Nobody can answer a comment that is not published.
    let result = store
        .create_comment(new_comment(w.story.id, w.alice.id, Some(held.id), "hm", T0))
        .await;
    assert_reply_refused(result, ReplyRefusal::ParentNotPublished);

    // The author deletes a held comment: counts stay as they are.
    store
        .delete_comment(held.id, w.bob.id, T0 + 5_000)
        .await
        .unwrap();
    assert_eq!(
        story(store, w.story.id).await.comment_count,
        before.comment_count
    );
    assert_eq!(
        ids(&store.pending_of_author(w.story.id, w.bob.id).await.unwrap()),
        vec![held_reply.id]
    );
}

async fn a_banned_or_suspended_author_cannot_post(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "before").await;
    db.set_user_status(w.alice.id, "banned").await;
    for parent in [None, Some(top.id)] {
        let result = store
            .create_comment(new_comment(w.story.id, w.alice.id, parent, "no", T0 + 1))
            .await;
        assert_refused(result, "account_restricted");
    }
    // A banned author cannot edit either.
    let edit = CommentEdit {
        comment_id: top.id,
        editor_id: w.alice.id,
        body_src: "changed".into(),
        body_html: "<p>changed</p>".into(),
        window_ms: 3_600_000,
        now: T0 + 2_000,
    };
    assert_refused(store.edit_comment(edit).await, "account_restricted");

    db.exec(&format!(
        "UPDATE users SET status = 'suspended', suspended_until = {} WHERE id = {}",
        T0 + 10_000,
        w.bob.id
    ))
    .await;
    let result = store
        .create_comment(new_comment(
            w.story.id,
            w.bob.id,
            None,
            "too soon",
            T0 + 9_999,
        ))
        .await;
    assert_refused(result, "account_restricted");
    let later = store
        .create_comment(new_comment(
            w.story.id,
            w.bob.id,
            None,
            "later",
            T0 + 10_000,
        ))
        .await
        .unwrap();
    assert_eq!(later.status, CommentStatus::Published);
    assert_eq!(story(store, w.story.id).await.comment_count, 2);
}

// ---------------------------------------------------------------- comments: editing

fn edit_of(c: &Comment, editor: i64, body: &str, now: i64) -> CommentEdit {
    CommentEdit {
        comment_id: c.id,
        editor_id: editor,
        body_src: body.to_owned(),
        body_html: format!("<p>{body}</p>"),
        window_ms: 15 * 60_000,
        now,
    }
}

async fn editing_keeps_the_previous_text_as_a_revision(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "frist").await;
    let before = story(&*store, w.story.id).await;
    let edited = store
        .edit_comment(edit_of(&top, w.alice.id, "first", T0 + 60_000))
        .await
        .unwrap();
    assert_eq!(edited.id, top.id);
    assert_eq!(edited.body_src, "first");
    assert_eq!(edited.body_html, "<p>first</p>");
    assert_eq!(edited.edited_at, Some(T0 + 60_000));
    assert_eq!(edited.created_at, top.created_at);
    assert_eq!(edited.status, CommentStatus::Published);
    assert_eq!(comment(&*store, top.id).await, edited);

    let revisions = store.revisions(top.id).await.unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0].body_src, "frist");
    assert_eq!(revisions[1].body_src, "first");
    assert_eq!(revisions[1].body_html, "<p>first</p>");
    assert!(
        revisions
            .iter()
            .all(|r| r.comment_id == top.id && r.decision == "published")
    );
    assert!(revisions[0].id < revisions[1].id);

    let after = story(&*store, w.story.id).await;
    assert_eq!(after.comment_count, before.comment_count);
    assert!(after.version > before.version);
}

async fn editing_after_the_window_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "text").await;
    let window = 15 * 60_000;
    // The last instant of the window still works.
    store
        .edit_comment(edit_of(
            &top,
            w.alice.id,
            "in time",
            top.created_at + window,
        ))
        .await
        .unwrap();
    assert_refused(
        store
            .edit_comment(edit_of(
                &top,
                w.alice.id,
                "too late",
                top.created_at + window + 1,
            ))
            .await,
        "edit_window_over",
    );
    assert_eq!(comment(&*store, top.id).await.body_src, "in time");
    assert_eq!(store.revisions(top.id).await.unwrap().len(), 2);
}

async fn only_the_author_can_edit_or_delete(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "mine").await;
    assert_refused(
        store
            .edit_comment(edit_of(&top, w.bob.id, "yours now", T0 + 2_000))
            .await,
        "not_author",
    );
    assert_refused(
        store.delete_comment(top.id, w.bob.id, T0 + 2_000).await,
        "not_author",
    );
    let unchanged = comment(&*store, top.id).await;
    assert_eq!(unchanged.body_src, "mine");
    assert_eq!(unchanged.status, CommentStatus::Published);
    assert_eq!(store.revisions(top.id).await.unwrap().len(), 1);
    match store
        .edit_comment(CommentEdit {
            comment_id: top.id + 1000,
            ..edit_of(&top, w.alice.id, "x", T0)
        })
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    match store.delete_comment(top.id + 1000, w.alice.id, T0).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

// ---------------------------------------------------------------- comments: deleting

async fn deleting_leaves_a_tombstone_without_author_or_body(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "regrettable").await;
    let reply = post(&*store, w.story.id, &w.bob, Some(top.id), "indeed").await;
    let before = story(&*store, w.story.id).await;

    let tomb = store
        .delete_comment(top.id, w.alice.id, T0 + 5_000)
        .await
        .unwrap();
    assert_eq!(tomb.status, CommentStatus::Deleted);
    assert_eq!(tomb.author_id, None);
    assert_eq!(tomb.author_name, None);
    assert_eq!(tomb.author_role, None);
    assert_eq!(tomb.body_src, "");
    assert_eq!(tomb.body_html, "");
    // It keeps its place in the thread.
    assert_eq!(
        (tomb.root_id, tomb.depth, tomb.path.clone()),
        (top.id, 0, top.path.clone())
    );
    assert_eq!(tomb.reply_count, 1);
    assert_eq!(comment(&*store, top.id).await, tomb);

    let after = story(&*store, w.story.id).await;
    assert_eq!(after.comment_count, before.comment_count - 1);
    assert!(after.version > before.version);
    // The reply no longer names the deleted author.
    assert_eq!(comment(&*store, reply.id).await.parent_author_name, None);

    let audit = store.audit_for("comment", top.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "delete_by_author");
    assert_eq!(audit[0].actor_id, Some(w.alice.id));
    // Twice is refused, and so is editing a tombstone.
    assert_refused(
        store.delete_comment(top.id, w.alice.id, T0 + 6_000).await,
        "comment_deleted",
    );
    assert_refused(
        store
            .edit_comment(edit_of(&top, w.alice.id, "back", T0 + 6_000))
            .await,
        "comment_deleted",
    );
    assert_eq!(
        story(&*store, w.story.id).await.comment_count,
        after.comment_count
    );
}

async fn a_leaf_tombstone_leaves_the_page_but_one_with_replies_stays(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let leaf = post(&*store, w.story.id, &w.alice, None, "leaf").await;
    let parent = post(&*store, w.story.id, &w.alice, None, "parent").await;
    let reply = post(&*store, w.story.id, &w.bob, Some(parent.id), "reply").await;
    let keep = post(&*store, w.story.id, &w.carol, None, "keep").await;
    store
        .delete_comment(leaf.id, w.alice.id, T0 + 5_000)
        .await
        .unwrap();
    store
        .delete_comment(parent.id, w.alice.id, T0 + 5_000)
        .await
        .unwrap();

    for sort in CommentSort::ALL {
        let page = store
            .top_level_page(w.story.id, sort, None, 50)
            .await
            .unwrap();
        let mut got = ids(&page);
        got.sort();
        assert_eq!(got, vec![parent.id, keep.id], "{sort:?}");
    }
    // The reply under the tombstone is still in the thread.
    let replies = store.replies_for_roots(&[parent.id], 10, 5).await.unwrap();
    assert_eq!(ids(&replies), vec![reply.id]);
    assert_eq!(story(&*store, w.story.id).await.comment_count, 2);
}

async fn deleting_the_last_reply_under_a_tombstone_removes_both(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    let r1 = post(&*store, w.story.id, &w.bob, Some(top.id), "r1").await;
    let r2 = post(&*store, w.story.id, &w.carol, Some(top.id), "r2").await;
    store
        .delete_comment(top.id, w.alice.id, T0 + 5_000)
        .await
        .unwrap();
    assert_eq!(comment(&*store, top.id).await.reply_count, 2);

    store
        .delete_comment(r1.id, w.bob.id, T0 + 6_000)
        .await
        .unwrap();
    assert_eq!(comment(&*store, top.id).await.reply_count, 1);
    let page = store
        .top_level_page(w.story.id, CommentSort::Newest, None, 50)
        .await
        .unwrap();
    assert_eq!(ids(&page), vec![top.id]);

    store
        .delete_comment(r2.id, w.carol.id, T0 + 7_000)
        .await
        .unwrap();
    assert_eq!(comment(&*store, top.id).await.reply_count, 0);
    for sort in CommentSort::ALL {
        let page = store
            .top_level_page(w.story.id, sort, None, 50)
            .await
            .unwrap();
        assert!(page.is_empty(), "{sort:?}: {page:?}");
    }
    assert!(
        store
            .replies_for_roots(&[top.id], 10, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(story(&*store, w.story.id).await.comment_count, 0);
}

async fn tombstones_vanish_up_the_chain_until_a_published_ancestor(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    let a = post(&*store, w.story.id, &w.bob, Some(top.id), "a").await;
    let b = post(&*store, w.story.id, &w.carol, Some(a.id), "b").await;
    let c = post(&*store, w.story.id, &w.alice, Some(b.id), "c").await;
    let sibling = post(&*store, w.story.id, &w.carol, Some(top.id), "sibling").await;
    store
        .delete_comment(a.id, w.bob.id, T0 + 5_000)
        .await
        .unwrap();
    store
        .delete_comment(b.id, w.carol.id, T0 + 5_000)
        .await
        .unwrap();
    assert_eq!(comment(&*store, top.id).await.reply_count, 2);

    // The leaf goes, and with it both tombstones kept only for its sake.
    store
        .delete_comment(c.id, w.alice.id, T0 + 6_000)
        .await
        .unwrap();
    assert_eq!(comment(&*store, b.id).await.reply_count, 0);
    assert_eq!(comment(&*store, a.id).await.reply_count, 0);
    assert_eq!(comment(&*store, top.id).await.reply_count, 1);
    let replies = store.replies_for_roots(&[top.id], 10, 5).await.unwrap();
    assert_eq!(ids(&replies), vec![sibling.id]);
    assert_eq!(story(&*store, w.story.id).await.comment_count, 2);
}

// ---------------------------------------------------------------- reactions, reports, featuring

async fn reactions_count_once_per_reader(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "like me").await;
    let before = story(&*store, w.story.id).await;
    assert_eq!(
        store.add_reaction(top.id, w.bob.id, T0 + 1).await.unwrap(),
        1
    );
    assert_eq!(
        store
            .add_reaction(top.id, w.carol.id, T0 + 2)
            .await
            .unwrap(),
        2
    );
    assert_conflict(
        store.add_reaction(top.id, w.bob.id, T0 + 3).await,
        "already_reacted",
    );
    assert_eq!(comment(&*store, top.id).await.reaction_count, 2);
    assert!(story(&*store, w.story.id).await.version > before.version);

    assert_eq!(
        store
            .remove_reaction(top.id, w.bob.id, T0 + 4)
            .await
            .unwrap(),
        1
    );
    assert_eq!(comment(&*store, top.id).await.reaction_count, 1);
    // Reacting again after taking it back is fine.
    assert_eq!(
        store.add_reaction(top.id, w.bob.id, T0 + 5).await.unwrap(),
        2
    );
    // A tombstone takes no reactions.
    let other = post(&*store, w.story.id, &w.carol, None, "gone").await;
    store
        .delete_comment(other.id, w.carol.id, T0 + 6)
        .await
        .unwrap();
    match store.add_reaction(other.id, w.bob.id, T0 + 7).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    match store.add_reaction(top.id + 1000, w.bob.id, T0 + 7).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn reacting_to_ones_own_comment_is_refused(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "mine").await;
    assert_refused(
        store.add_reaction(top.id, w.alice.id, T0).await,
        "own_comment",
    );
    assert_eq!(comment(&*store, top.id).await.reaction_count, 0);
}

async fn removing_a_missing_reaction_is_not_found(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "text").await;
    match store.remove_reaction(top.id, w.bob.id, T0).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    store.add_reaction(top.id, w.bob.id, T0).await.unwrap();
    store.remove_reaction(top.id, w.bob.id, T0).await.unwrap();
    match store.remove_reaction(top.id, w.bob.id, T0).await {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    assert_eq!(comment(&*store, top.id).await.reaction_count, 0);
}

async fn reacted_by_lists_only_that_readers_reactions(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let a = post(&*store, w.story.id, &w.alice, None, "a").await;
    let b = post(&*store, w.story.id, &w.alice, None, "b").await;
    let c = post(&*store, w.story.id, &w.carol, None, "c").await;
    store.add_reaction(a.id, w.bob.id, T0).await.unwrap();
    store.add_reaction(c.id, w.bob.id, T0).await.unwrap();
    store.add_reaction(b.id, w.carol.id, T0).await.unwrap();
    let mut got = store
        .reacted_by(w.bob.id, &[a.id, b.id, c.id, c.id + 1000])
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, vec![a.id, c.id]);
    assert_eq!(
        store.reacted_by(w.bob.id, &[b.id]).await.unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        store.reacted_by(w.bob.id, &[]).await.unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(
        store
            .reacted_by(w.carol.id, &[a.id, b.id, c.id])
            .await
            .unwrap(),
        vec![b.id]
    );
}

async fn a_reader_reports_a_comment_once(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "spam spam").await;
    let report = |user_id: i64| NewReport {
        comment_id: top.id,
        user_id,
        reason: "spam".into(),
        note: "looks automated".into(),
        now: T0 + 10,
    };
    store.add_report(report(w.bob.id)).await.unwrap();
    assert_conflict(store.add_report(report(w.bob.id)).await, "already_reported");
    store.add_report(report(w.carol.id)).await.unwrap();
    match store
        .add_report(NewReport {
            comment_id: top.id + 1000,
            ..report(w.carol.id)
        })
        .await
    {
        Err(StoreError::NotFound(_)) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

async fn featuring_a_comment_lists_it_and_audits_it(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let moderator = store
        .set_user_role(w.carol.id, Role::Moderator)
        .await
        .unwrap();
    let a = post(&*store, w.story.id, &w.alice, None, "insightful").await;
    let b = post(&*store, w.story.id, &w.bob, None, "also good").await;
    post(&*store, w.story.id, &w.bob, None, "meh").await;
    let before = story(&*store, w.story.id).await;

    let featured = store
        .set_featured(b.id, true, moderator.id, T0 + 100)
        .await
        .unwrap();
    assert!(featured.featured);
    store
        .set_featured(a.id, true, moderator.id, T0 + 101)
        .await
        .unwrap();
    assert!(story(&*store, w.story.id).await.version > before.version);
    assert_eq!(
        ids(&store.featured_comments(w.story.id, 10).await.unwrap()),
        vec![a.id, b.id]
    );
    assert_eq!(
        ids(&store.featured_comments(w.story.id, 1).await.unwrap()),
        vec![a.id]
    );

    let audit = store.audit_for("comment", b.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "feature");
    assert_eq!(audit[0].actor_id, Some(moderator.id));
    assert_eq!(audit[0].actor_rule, None);
    assert_eq!(audit[0].at, T0 + 100);
    assert_eq!(audit[0].site_id, Some(w.site.id));

    let unfeatured = store
        .set_featured(b.id, false, moderator.id, T0 + 200)
        .await
        .unwrap();
    assert!(!unfeatured.featured);
    assert_eq!(
        ids(&store.featured_comments(w.story.id, 10).await.unwrap()),
        vec![a.id]
    );
    let audit = store.audit_for("comment", b.id).await.unwrap();
    assert_eq!(
        audit.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        vec!["feature", "unfeature"]
    );

    // A deleted comment leaves the featured list.
    store
        .delete_comment(a.id, w.alice.id, T0 + 300)
        .await
        .unwrap();
    assert!(
        store
            .featured_comments(w.story.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

// ---------------------------------------------------------------- reads

async fn replies_for_roots_respects_per_root_and_max_depth(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let s = &*store;
    let r1 = post(s, w.story.id, &w.alice, None, "root 1").await;
    let r2 = post(s, w.story.id, &w.bob, None, "root 2").await;
    let lonely = post(s, w.story.id, &w.bob, None, "root 3").await;
    // root 1: a, a/a1, a/a1/a11, b, c
    let a = post(s, w.story.id, &w.bob, Some(r1.id), "a").await;
    let b = post(s, w.story.id, &w.carol, Some(r1.id), "b").await;
    let a1 = post(s, w.story.id, &w.carol, Some(a.id), "a1").await;
    let a11 = post(s, w.story.id, &w.alice, Some(a1.id), "a11").await;
    let c = post(s, w.story.id, &w.bob, Some(r1.id), "c").await;
    // root 2: x, x/x1
    let x = post(s, w.story.id, &w.alice, Some(r2.id), "x").await;
    let x1 = post(s, w.story.id, &w.carol, Some(x.id), "x1").await;

    let all = s
        .replies_for_roots(&[r1.id, r2.id, lonely.id], 100, 10)
        .await
        .unwrap();
    assert_eq!(
        ids(&all),
        vec![a.id, a1.id, a11.id, b.id, c.id, x.id, x1.id]
    );
    let paths: Vec<_> = all.iter().map(|c| c.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);

    let two_each = s.replies_for_roots(&[r1.id, r2.id], 2, 10).await.unwrap();
    assert_eq!(ids(&two_each), vec![a.id, a1.id, x.id, x1.id]);

    let shallow = s.replies_for_roots(&[r1.id, r2.id], 100, 1).await.unwrap();
    assert_eq!(ids(&shallow), vec![a.id, b.id, c.id, x.id]);

    let depth_two = s.replies_for_roots(&[r1.id], 3, 2).await.unwrap();
    assert_eq!(ids(&depth_two), vec![a.id, a1.id, b.id]);

    assert!(s.replies_for_roots(&[], 10, 10).await.unwrap().is_empty());
    assert!(
        s.replies_for_roots(&[lonely.id], 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn replies_after_continues_depth_first(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let s = &*store;
    let root = post(s, w.story.id, &w.alice, None, "root").await;
    let other_root = post(s, w.story.id, &w.alice, None, "other root").await;
    let a = post(s, w.story.id, &w.bob, Some(root.id), "a").await;
    let b = post(s, w.story.id, &w.carol, Some(root.id), "b").await;
    post(s, w.story.id, &w.bob, Some(other_root.id), "elsewhere").await;
    let a1 = post(s, w.story.id, &w.carol, Some(a.id), "a1").await;
    let a2 = post(s, w.story.id, &w.alice, Some(a.id), "a2").await;
    let a11 = post(s, w.story.id, &w.bob, Some(a1.id), "a11").await;
    let b1 = post(s, w.story.id, &w.alice, Some(b.id), "b1").await;
    let order = vec![a.id, a1.id, a11.id, a2.id, b.id, b1.id];

    // From the root's own path: everything, depth-first.
    let all = s.replies_after(root.id, &root.path, 100, 10).await.unwrap();
    assert_eq!(ids(&all), order);

    // Walking in pages of two from each page's last path covers the same list.
    let mut walked = Vec::new();
    let mut after = root.path.clone();
    loop {
        let page = s.replies_after(root.id, &after, 2, 10).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.path.clone();
        walked.extend(ids(&page));
    }
    assert_eq!(walked, order);

    // After a1's path comes its own subtree first, then its later siblings.
    let next = s.replies_after(root.id, &a1.path, 2, 10).await.unwrap();
    assert_eq!(ids(&next), vec![a11.id, a2.id]);
    // max_depth cuts deeper replies out.
    let shallow = s.replies_after(root.id, &a.path, 100, 1).await.unwrap();
    assert_eq!(ids(&shallow), vec![b.id]);
    assert!(
        s.replies_after(root.id, &b1.path, 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn comments_by_ids_returns_known_ids_in_path_order(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let s = &*store;
    let r1 = post(s, w.story.id, &w.alice, None, "r1").await;
    let r2 = post(s, w.story.id, &w.bob, None, "r2").await;
    let r1a = post(s, w.story.id, &w.carol, Some(r1.id), "r1a").await;
    let got = s
        .comments_by_ids(&[r2.id, 999_999, r1a.id, r1.id])
        .await
        .unwrap();
    assert_eq!(ids(&got), vec![r1.id, r1a.id, r2.id]);
    assert_eq!(got[1], comment(s, r1a.id).await);
    assert!(s.comments_by_ids(&[]).await.unwrap().is_empty());
    assert!(s.comments_by_ids(&[999_999]).await.unwrap().is_empty());
}

async fn paging_every_sort_returns_each_visible_top_level_comment_once(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let s = w.site.id;
    let mut readers = vec![w.alice.clone(), w.bob.clone(), w.carol.clone()];
    for name in ["Dan", "Erin", "Frank"] {
        readers.push(
            store
                .create_user(new_user(s, name, Role::Reader))
                .await
                .unwrap(),
        );
    }
    // Twelve top-level comments with tied and untied reaction and reply counts.
    let mut tops = Vec::new();
    for i in 0..12usize {
        let author = &readers[i % readers.len()];
        tops.push(post(store, w.story.id, author, None, &format!("top {i}")).await);
    }
    for (i, top) in tops.iter().enumerate() {
        let author = top.author_id.unwrap();
        let likes = [0, 2, 2, 5, 1, 0, 2, 3, 0, 5, 1, 2][i];
        for reader in readers.iter().filter(|r| r.id != author).take(likes) {
            store
                .add_reaction(top.id, reader.id, T0 + 10)
                .await
                .unwrap();
        }
        let replies = [1, 0, 3, 1, 0, 2, 2, 0, 1, 4, 0, 1][i];
        for r in 0..replies {
            let who = &readers[(i + r + 1) % readers.len()];
            post(store, w.story.id, who, Some(top.id), "reply").await;
        }
    }
    // Hidden: a leaf tombstone and a held comment. Shown: a tombstone with a reply.
    let hidden_tomb = tops[4].clone();
    store
        .delete_comment(hidden_tomb.id, hidden_tomb.author_id.unwrap(), T0 + 20)
        .await
        .unwrap();
    let kept_tomb = tops[5].clone();
    store
        .delete_comment(kept_tomb.id, kept_tomb.author_id.unwrap(), T0 + 20)
        .await
        .unwrap();
    db.set_user_status(readers[5].id, "premoderated").await;
    let held = post(store, w.story.id, &readers[5], None, "held").await;
    assert_eq!(held.status, CommentStatus::Pending);

    let all_ids: Vec<i64> = tops.iter().map(|c| c.id).collect();
    let visible: Vec<Comment> = store
        .comments_by_ids(&all_ids)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.id != hidden_tomb.id)
        .collect();
    assert_eq!(visible.len(), 11);
    for sort in CommentSort::ALL {
        let want = expected_order(sort, &visible);
        for page in [1, 2, 3, 5, 11, 50] {
            let got = walk_top_level(store, w.story.id, sort, page).await;
            assert_eq!(ids(&got), want, "{sort:?}, pages of {page}");
        }
    }
}

// ---------------------------------------------------------------- robustness

/// A caller may give up on a write at any point (a reader closes the tab): the write then
/// happens whole or not at all, and the store goes on working.
async fn a_cancelled_write_leaves_nothing_half_done(store: Arc<dyn Store>) {
    let w = world(&*store).await;
    let top = post(&*store, w.story.id, &w.alice, None, "top").await;
    let checked = tokio::time::timeout(Duration::from_secs(60), async {
        for i in 0..300u64 {
            let new = new_comment(w.story.id, w.bob.id, Some(top.id), "maybe", T0 + 2_000);
            let write = store.create_comment(new);
            let _ = tokio::time::timeout(Duration::from_micros(20 + (i * 37) % 3_000), write).await;
        }
        // Plenty of whole writes afterwards, on every pooled connection.
        for _ in 0..40 {
            post(&*store, w.story.id, &w.carol, Some(top.id), "surely").await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    })
    .await;
    assert!(checked.is_ok(), "writes hung after cancelled ones");
    let replies = store
        .replies_for_roots(&[top.id], 100_000, 10)
        .await
        .unwrap();
    assert!(replies.len() >= 40);
    assert_eq!(
        comment(&*store, top.id).await.reply_count,
        replies.len() as i64
    );
    assert_eq!(
        story(&*store, w.story.id).await.comment_count,
        1 + replies.len() as i64
    );
    for r in &replies {
        assert_eq!(r.path, format!("{}{}", top.path, segment(r.id)), "{r:?}");
        assert_eq!(store.revisions(r.id).await.unwrap().len(), 1, "{r:?}");
    }
}

// ---------------------------------------------------------------- property test

/// Which existing comment an operation aims at. Besides plain random picks, replies
/// favour the newest comment (threads grow deep) and deletes favour the newest comment's
/// parent and replies to comments already deleted, so tombstones with replies, and their
/// removal when the last reply goes, happen often.
#[derive(Debug, Clone)]
enum Target {
    Any(Index),
    Newest,
    ParentOfNewest,
    ReplyToDeleted(Index),
}

#[derive(Debug, Clone)]
enum Op {
    Post { user: usize },
    Reply { user: usize, to: Target },
    Delete { which: Target },
    React { user: usize, to: Target },
    Decide { which: Target, approve: bool },
}

/// A comment the sequence created.
#[derive(Debug, Clone, Copy)]
struct Made {
    id: i64,
    author: i64,
    parent: Option<i64>,
}

/// Five users; the last one is pre-moderated.
const USERS: usize = 5;
const MAX_DEPTH: i64 = 3;

fn reply_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => any::<Index>().prop_map(Target::Any),
        3 => Just(Target::Newest),
    ]
}

fn delete_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        1 => any::<Index>().prop_map(Target::Any),
        2 => Just(Target::ParentOfNewest),
        2 => any::<Index>().prop_map(Target::ReplyToDeleted),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0..USERS).prop_map(|user| Op::Post { user }),
        8 => (0..USERS, reply_target()).prop_map(|(user, to)| Op::Reply { user, to }),
        4 => delete_target().prop_map(|which| Op::Delete { which }),
        2 => (delete_target(), any::<bool>()).prop_map(|(which, approve)| Op::Decide {
            which,
            approve
        }),
        1 => (0..USERS, any::<Index>()).prop_map(|(user, to)| Op::React {
            user,
            to: Target::Any(to)
        }),
    ]
}

fn random_operations_keep_thread_invariants(kind: Kind) {
    // Each case is a fresh database, so few cases; PROPTEST_CASES asks for more.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(32);
    let config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&proptest::collection::vec(op(), 10..40), |ops| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(common::run(kind, |db| apply_and_check(db, ops)));
        Ok(())
    });
    if let Err(e) = result {
        panic!("{kind:?}: {e}");
    }
}

async fn apply_and_check(db: TestDb, ops: Vec<Op>) {
    let store = &*db.store;
    let w = world(store).await;
    let dan = store
        .create_user(new_user(w.site.id, "Dan", Role::Reader))
        .await
        .unwrap();
    let erin = store
        .create_user(new_user(w.site.id, "Erin", Role::Reader))
        .await
        .unwrap();
    db.set_user_status(erin.id, "premoderated").await;
    let users = [w.alice.id, w.bob.id, w.carol.id, dan.id, erin.id];

    // Every comment ever created, with its author; and the reactions that stuck.
    let mut created: Vec<Made> = Vec::new();
    let mut reactions: HashSet<(i64, i64)> = HashSet::new();
    let mut deleted: HashSet<i64> = HashSet::new();
    for (step, op) in ops.iter().enumerate() {
        let now = T0 + 1_000 * step as i64;
        match op {
            Op::Post { user } => {
                let mut new = new_comment(w.story.id, users[*user], None, "top", now);
                new.max_depth = MAX_DEPTH;
                let c = store.create_comment(new).await.unwrap();
                created.push(Made {
                    id: c.id,
                    author: users[*user],
                    parent: None,
                });
            }
            Op::Reply { user, to } => {
                let Some(Made { id: parent, .. }) = pick(&created, &deleted, to) else {
                    continue;
                };
                let mut new = new_comment(w.story.id, users[*user], Some(parent), "reply", now);
                new.max_depth = MAX_DEPTH;
                match store.create_comment(new).await {
                    Ok(c) => created.push(Made {
                        id: c.id,
                        author: users[*user],
                        parent: Some(parent),
                    }),
                    Err(StoreError::Reply(_)) => {}
                    Err(e) => panic!("step {step}: unexpected error replying: {e:?}"),
                }
            }
            Op::Delete { which } => {
                let Some(Made { id, author, .. }) = pick(&created, &deleted, which) else {
                    continue;
                };
                match store.delete_comment(id, author, now).await {
                    Ok(c) => {
                        assert_eq!(c.status, CommentStatus::Deleted);
                        assert!(deleted.insert(id));
                    }
                    Err(StoreError::Refused {
                        code: "comment_deleted",
                        ..
                    }) => {}
                    Err(e) => panic!("step {step}: unexpected error deleting: {e:?}"),
                }
            }
            Op::React { user, to } => {
                let Some(Made { id, .. }) = pick(&created, &deleted, to) else {
                    continue;
                };
                match store.add_reaction(id, users[*user], now).await {
                    Ok(_) => assert!(reactions.insert((id, users[*user]))),
                    Err(StoreError::Refused {
                        code: "own_comment",
                        ..
                    })
                    | Err(StoreError::Conflict {
                        code: "already_reacted",
                        ..
                    })
                    | Err(StoreError::NotFound(_)) => {}
                    Err(e) => panic!("step {step}: unexpected error reacting: {e:?}"),
                }
            }
            Op::Decide { which, approve } => {
                let Some(Made { id, .. }) = pick(&created, &deleted, which) else {
                    continue;
                };
                match store
                    .decide_comment(decision(id, *approve, w.carol.id, now))
                    .await
                {
                    Ok(_)
                    | Err(StoreError::Refused {
                        code: "comment_deleted" | "parent_not_published",
                        ..
                    }) => {}
                    Err(e) => panic!("step {step}: unexpected error deciding: {e:?}"),
                }
            }
        }
    }

    let all_ids: Vec<i64> = created.iter().map(|m| m.id).collect();
    let rows = store.comments_by_ids(&all_ids).await.unwrap();
    assert_eq!(
        rows.len(),
        all_ids.len(),
        "every created comment can be read back"
    );
    let by_id: HashMap<i64, &Comment> = rows.iter().map(|c| (c.id, c)).collect();
    let visible = |c: &Comment| c.status == CommentStatus::Published || c.reply_count > 0;

    let mut children: BTreeMap<i64, Vec<&Comment>> = BTreeMap::new();
    for c in &rows {
        assert_eq!(c.story_id, w.story.id);
        match c.parent_id {
            None => {
                assert_eq!((c.root_id, c.depth), (c.id, 0), "top-level {c:?}");
                assert_eq!(c.path, segment(c.id), "top-level {c:?}");
            }
            Some(pid) => {
                let p = by_id
                    .get(&pid)
                    .unwrap_or_else(|| panic!("parent of {c:?} exists"));
                assert_eq!(c.depth, p.depth + 1, "{c:?} under {p:?}");
                assert_eq!(c.root_id, p.root_id, "{c:?} under {p:?}");
                assert_eq!(
                    c.path,
                    format!("{}{}", p.path, segment(c.id)),
                    "{c:?} under {p:?}"
                );
                assert!(c.depth <= MAX_DEPTH);
                children.entry(pid).or_default().push(c);
            }
        }
        let likes = reactions.iter().filter(|(id, _)| *id == c.id).count() as i64;
        assert_eq!(c.reaction_count, likes, "reactions of {c:?}");
    }
    for c in &rows {
        let shown = children
            .get(&c.id)
            .map_or(0, |kids| kids.iter().filter(|k| visible(k)).count() as i64);
        assert_eq!(c.reply_count, shown, "reply_count of {c:?}");
    }
    let published = rows
        .iter()
        .filter(|c| c.status == CommentStatus::Published)
        .count() as i64;
    assert_eq!(story(store, w.story.id).await.comment_count, published);

    let tops: Vec<Comment> = rows
        .iter()
        .filter(|c| c.depth == 0 && visible(c))
        .cloned()
        .collect();
    for sort in CommentSort::ALL {
        let want = expected_order(sort, &tops);
        let got = walk_top_level(store, w.story.id, sort, 3).await;
        assert_eq!(ids(&got), want, "{sort:?}");
    }
    // Each visible thread reads back whole, depth-first.
    for top in &tops {
        let mut want: Vec<&Comment> = rows
            .iter()
            .filter(|c| c.root_id == top.id && c.depth > 0 && visible(c))
            .collect();
        want.sort_by(|a, b| a.path.cmp(&b.path));
        let got = store
            .replies_after(top.id, &top.path, 1_000, MAX_DEPTH)
            .await
            .unwrap();
        assert_eq!(
            ids(&got),
            want.iter().map(|c| c.id).collect::<Vec<_>>(),
            "thread of {}",
            top.id
        );
    }
}

/// The comment `at` names among those made so far; `deleted` holds the ids this sequence
/// deleted.
fn pick(made: &[Made], deleted: &HashSet<i64>, at: &Target) -> Option<Made> {
    let newest = *made.last()?;
    let by_id = |id: i64| made.iter().find(|m| m.id == id).copied();
    Some(match at {
        Target::Any(i) => made[i.index(made.len())],
        Target::Newest => newest,
        Target::ParentOfNewest => newest.parent.and_then(by_id).unwrap_or(newest),
        Target::ReplyToDeleted(i) => {
            let orphans: Vec<Made> = made
                .iter()
                .filter(|m| m.parent.is_some_and(|p| deleted.contains(&p)))
                .copied()
                .collect();
            if orphans.is_empty() {
                made[i.index(made.len())]
            } else {
                orphans[i.index(orphans.len())]
            }
        }
    })
}

fn held(rule: &str, reasons: &str) -> Ruling {
    Ruling {
        hold: true,
        rule: Some(rule.to_owned()),
        reasons: reasons.to_owned(),
    }
}

async fn a_held_ruling_keeps_the_comment_pending_with_reasons_and_audit(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "published").await;
    let before = story(store, w.story.id).await;
    let c = store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, Some(top.id), "buy crypto", T0 + 2_000),
            held("spam_signals", "spam_signals: suspect word"),
        )
        .await
        .unwrap();
    assert_eq!(c.status, CommentStatus::Pending);
    assert_eq!(comment(store, top.id).await.reply_count, 0);
    assert_eq!(
        story(store, w.story.id).await.comment_count,
        before.comment_count
    );
    let revs = store.revisions(c.id).await.unwrap();
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0].decision, "pending");
    assert_eq!(revs[0].reasons, "spam_signals: suspect word");
    let audit = store.audit_for("comment", c.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_rule.as_deref(), Some("spam_signals"));
    assert_eq!(audit[0].action, "hold");
    assert_eq!(audit[0].revision_id, Some(revs[0].id));
    assert_eq!(audit[0].site_id, Some(w.site.id));
    // A publishing ruling behaves as before: no audit entry, empty reasons.
    let p = store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, None, "fine", T0 + 3_000),
            Ruling::default(),
        )
        .await
        .unwrap();
    assert_eq!(p.status, CommentStatus::Published);
    assert!(store.audit_for("comment", p.id).await.unwrap().is_empty());
    assert_eq!(store.revisions(p.id).await.unwrap()[0].reasons, "");
}

async fn a_held_edit_takes_a_published_reply_off_the_page(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "top").await;
    let reply = post(store, w.story.id, &w.bob, Some(top.id), "reply").await;
    let before = story(store, w.story.id).await;
    assert_eq!(comment(store, top.id).await.reply_count, 1);
    let edited = store
        .edit_comment_ruled(
            CommentEdit {
                comment_id: reply.id,
                editor_id: w.bob.id,
                body_src: "see http://x.example".into(),
                body_html: "<p>see</p>".into(),
                window_ms: 60_000,
                now: T0 + 2_000,
            },
            held("site_policy", "site_policy: links"),
        )
        .await
        .unwrap();
    assert_eq!(edited.status, CommentStatus::Pending);
    assert_eq!(comment(store, top.id).await.reply_count, 0);
    let after = story(store, w.story.id).await;
    assert_eq!(after.comment_count, before.comment_count - 1);
    assert!(after.version > before.version);
    let revs = store.revisions(reply.id).await.unwrap();
    let last = revs.iter().max_by_key(|r| r.id).unwrap();
    assert_eq!(last.decision, "pending");
    assert_eq!(last.reasons, "site_policy: links");
    let audit = store.audit_for("comment", reply.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].actor_rule.as_deref(), Some("site_policy"));
}

async fn author_activity_counts_approved_and_recent_comments(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let none = store
        .author_activity(w.bob.id, 0, None, ActivityCaps::UNCAPPED)
        .await
        .unwrap();
    assert_eq!((none.approved_count, none.recent_count), (0, 0));
    assert_eq!(none.last_body, None);
    for (i, body) in ["one", "two", "three"].iter().enumerate() {
        store
            .create_comment(new_comment(
                w.story.id,
                w.bob.id,
                None,
                body,
                T0 + 1_000 * (i as i64 + 1),
            ))
            .await
            .unwrap();
    }
    let last = store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, None, "held", T0 + 4_000),
            held("site_policy", "x"),
        )
        .await
        .unwrap();
    let a = store
        .author_activity(w.bob.id, T0 + 2_000, None, ActivityCaps::UNCAPPED)
        .await
        .unwrap();
    assert_eq!(a.approved_count, 3);
    assert_eq!(a.recent_count, 3);
    assert_eq!(a.last_body.as_deref(), Some("held"));
    let b = store
        .author_activity(w.bob.id, T0 + 5_000, Some(last.id), ActivityCaps::UNCAPPED)
        .await
        .unwrap();
    assert_eq!(b.recent_count, 0);
    assert_eq!(b.last_body.as_deref(), Some("three"));
    let other = store
        .author_activity(w.alice.id, 0, None, ActivityCaps::UNCAPPED)
        .await
        .unwrap();
    assert_eq!(other.approved_count, 0);
    // Counted only as far as asked: enough to compare with a policy's number.
    let capped = store
        .author_activity(
            w.bob.id,
            T0 + 2_000,
            None,
            ActivityCaps {
                approved: 2,
                recent: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!((capped.approved_count, capped.recent_count), (2, 1));
    let skipped = store
        .author_activity(
            w.bob.id,
            0,
            None,
            ActivityCaps {
                approved: 0,
                recent: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!((skipped.approved_count, skipped.recent_count), (0, 0));
}

async fn site_settings_round_trip_and_audit_can_be_recorded(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    assert_eq!(
        store.site_settings(w.site.id).await.unwrap().as_deref(),
        Some("{}")
    );
    store
        .set_site_settings(w.site.id, r#"{"policy":{"premoderate":true}}"#.into())
        .await
        .unwrap();
    assert_eq!(
        store.site_settings(w.site.id).await.unwrap().as_deref(),
        Some(r#"{"policy":{"premoderate":true}}"#)
    );
    assert_eq!(store.site_settings(999_999).await.unwrap(), None);
    assert!(matches!(
        store.set_site_settings(999_999, "{}".into()).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .record_audit(NewAudit {
            at: T0,
            site_id: w.site.id,
            actor_id: None,
            actor_rule: Some("banned_words".into()),
            action: "reject".into(),
            target_kind: "user".into(),
            target_id: w.bob.id,
            reason: "banned word".into(),
        })
        .await
        .unwrap();
    let audit = store.audit_for("user", w.bob.id).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "reject");
    assert_eq!(audit[0].site_id, Some(w.site.id));
    assert_eq!(audit[0].revision_id, None);
}

fn decision(comment_id: i64, approve: bool, actor_id: i64, now: i64) -> CommentDecision {
    CommentDecision {
        comment_id,
        approve,
        actor_id,
        reason: "because".into(),
        now,
    }
}

async fn approving_and_rejecting_fix_counts_resolve_reports_and_audit(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "top").await;
    let reply = store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, Some(top.id), "held", T0 + 2_000),
            held("site_policy", "x"),
        )
        .await
        .unwrap();
    let before = story(store, w.story.id).await;
    let approved = store
        .decide_comment(decision(reply.id, true, w.carol.id, T0 + 3_000))
        .await
        .unwrap();
    assert_eq!(approved.status, CommentStatus::Published);
    assert_eq!(comment(store, top.id).await.reply_count, 1);
    let mid = story(store, w.story.id).await;
    assert_eq!(mid.comment_count, before.comment_count + 1);
    assert!(mid.version > before.version);
    // Approving again changes no count.
    store
        .decide_comment(decision(reply.id, true, w.carol.id, T0 + 3_500))
        .await
        .unwrap();
    assert_eq!(
        story(store, w.story.id).await.comment_count,
        mid.comment_count
    );
    store
        .add_report(NewReport {
            comment_id: reply.id,
            user_id: w.alice.id,
            reason: "spam".into(),
            note: String::new(),
            now: T0 + 4_000,
        })
        .await
        .unwrap();
    let q = |queue: &str| QueueQuery {
        site_id: w.site.id,
        queue: queue.into(),
        story_id: None,
        text: None,
        min_reports: 1,
        limit: 50,
    };
    assert_eq!(
        ids(&store.moderation_queue(q("reported")).await.unwrap()),
        vec![reply.id]
    );
    let two = QueueQuery {
        min_reports: 2,
        ..q("reported")
    };
    assert!(store.moderation_queue(two).await.unwrap().is_empty());
    let rejected = store
        .decide_comment(decision(reply.id, false, w.carol.id, T0 + 5_000))
        .await
        .unwrap();
    assert_eq!(rejected.status, CommentStatus::Rejected);
    assert_eq!(comment(store, top.id).await.reply_count, 0);
    assert_eq!(
        story(store, w.story.id).await.comment_count,
        before.comment_count
    );
    assert!(
        store
            .moderation_queue(q("reported"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&store.moderation_queue(q("rejected")).await.unwrap()),
        vec![reply.id]
    );
    let actions: Vec<String> = store
        .audit_for("comment", reply.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["hold", "approve", "approve", "reject"]);
}

async fn user_status_changes_are_audited_and_queues_filter(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let u = store
        .set_user_status(
            w.bob.id,
            UserStatus::Suspended { until: T0 + 9 },
            w.carol.id,
            "3 days".into(),
            T0,
        )
        .await
        .unwrap();
    assert_eq!(u.status, UserStatus::Suspended { until: T0 + 9 });
    store
        .set_user_status(
            w.bob.id,
            UserStatus::Active,
            w.carol.id,
            String::new(),
            T0 + 1,
        )
        .await
        .unwrap();
    let log = store
        .audit_log(w.site.id, Some("user".into()), Some(w.bob.id), 10)
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["lift", "suspend"]);
    assert_eq!(
        store
            .audit_log(w.site.id, None, None, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    let a = store
        .create_comment_ruled(
            new_comment(w.story.id, w.alice.id, None, "100% Wonderful_news", T0 + 2),
            held("site_policy", "x"),
        )
        .await
        .unwrap();
    store
        .create_comment_ruled(
            new_comment(w.story.id, w.bob.id, None, "other", T0 + 3),
            held("site_policy", "x"),
        )
        .await
        .unwrap();
    let q = |text: Option<&str>| QueueQuery {
        site_id: w.site.id,
        queue: "pending".into(),
        story_id: Some(w.story.id),
        text: text.map(str::to_owned),
        min_reports: 1,
        limit: 50,
    };
    assert_eq!(store.moderation_queue(q(None)).await.unwrap().len(), 2);
    assert_eq!(
        ids(&store.moderation_queue(q(Some("wonderful_"))).await.unwrap()),
        vec![a.id]
    );
    assert_eq!(
        ids(&store.moderation_queue(q(Some("ALICE"))).await.unwrap()),
        vec![a.id]
    );
    assert_eq!(
        ids(&store.moderation_queue(q(Some("100%"))).await.unwrap()),
        vec![a.id]
    );
    assert!(
        store
            .moderation_queue(q(Some("1000%")))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_rejected_comment_with_replies_stays_as_a_placeholder(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let top = post(store, w.story.id, &w.alice, None, "abusive top").await;
    let reply = post(store, w.story.id, &w.bob, Some(top.id), "a fair answer").await;
    let before = story(store, w.story.id).await;

    store
        .decide_comment(decision(top.id, false, w.carol.id, T0 + 5_000))
        .await
        .unwrap();
    let after = story(store, w.story.id).await;
    assert_eq!(after.comment_count, before.comment_count - 1);
    assert!(after.version > before.version);

    // Readers see a tombstone in its place, without text or author, and the reply under it.
    let page = store
        .top_level_page(w.story.id, CommentSort::Newest, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&page), vec![top.id]);
    let shown = &page[0];
    assert_eq!(shown.status, CommentStatus::Deleted);
    assert_eq!(
        (shown.body_src.as_str(), shown.body_html.as_str()),
        ("", "")
    );
    assert_eq!(shown.author_id, None);
    assert_eq!(shown.author_name, None);
    let replies = store
        .replies_for_roots(&[top.id], 10, MAX_DEPTH)
        .await
        .unwrap();
    assert_eq!(ids(&replies), vec![reply.id]);
    assert_eq!(
        replies[0].parent_author_name, None,
        "no name of a removed comment"
    );
    let public = store.public_comment(top.id).await.unwrap().unwrap();
    assert_eq!(public.status, CommentStatus::Deleted);
    assert!(public.body_html.is_empty());
    // Moderators still have the whole comment.
    assert_eq!(comment(store, top.id).await.status, CommentStatus::Rejected);
    assert_eq!(comment(store, top.id).await.body_src, "abusive top");

    // The reply goes too: nothing is left to show, the placeholder leaves the page.
    store
        .decide_comment(decision(reply.id, false, w.carol.id, T0 + 6_000))
        .await
        .unwrap();
    assert!(
        store
            .top_level_page(w.story.id, CommentSort::Newest, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(comment(store, top.id).await.reply_count, 0);
    assert!(store.public_comment(top.id).await.unwrap().is_none());

    // Approving both brings the thread back as it was.
    store
        .decide_comment(decision(top.id, true, w.carol.id, T0 + 7_000))
        .await
        .unwrap();
    store
        .decide_comment(decision(reply.id, true, w.carol.id, T0 + 8_000))
        .await
        .unwrap();
    assert_eq!(comment(store, top.id).await.reply_count, 1);
    assert_eq!(
        story(store, w.story.id).await.comment_count,
        before.comment_count
    );
    let shown = &store
        .top_level_page(w.story.id, CommentSort::Newest, None, 10)
        .await
        .unwrap()[0];
    assert_eq!(shown.status, CommentStatus::Published);
    assert_eq!(shown.body_src, "abusive top");
}

async fn auto_close_closes_old_open_stories_once_and_audits_them(db: TestDb) {
    let store = db.store.clone();
    let w = world(&*store).await;
    let mut old = Vec::new();
    for n in 2..6 {
        let mut fields = story_fields(n);
        fields.published_at = T0 - 10 * 86_400_000;
        old.push(
            store
                .create_story(w.site.id, fields, String::new(), T0)
                .await
                .unwrap(),
        );
    }
    let fresh = &w.story;
    let cutoff = T0 - 86_400_000;
    let before = story(&*store, old[0].id).await;

    // Only one story, then all but one, then two callers racing for the rest.
    let closed = store
        .auto_close_stories(w.site.id, cutoff, Some(old[0].id), Vec::new(), T0 + 1)
        .await
        .unwrap();
    assert_eq!(closed, vec![old[0].id]);
    let closed = store
        .auto_close_stories(w.site.id, cutoff, None, vec![old[3].id], T0 + 2)
        .await
        .unwrap();
    assert_eq!(closed, vec![old[1].id, old[2].id]);
    let (a, b) = tokio::join!(
        store.auto_close_stories(w.site.id, cutoff, None, Vec::new(), T0 + 3),
        store.auto_close_stories(w.site.id, cutoff, None, Vec::new(), T0 + 3),
    );
    let mut both = a.unwrap();
    both.extend(b.unwrap());
    assert_eq!(both, vec![old[3].id], "closed once between the two callers");

    let after = story(&*store, old[0].id).await;
    assert!(after.fields.is_closed);
    assert!(
        after.version > before.version,
        "cached pages must see the change"
    );
    assert!(
        !story(&*store, fresh.id).await.fields.is_closed,
        "too young"
    );
    for s in &old {
        let audit = store.audit_for("story", s.id).await.unwrap();
        assert_eq!(audit.len(), 1, "one audit entry for story {}", s.id);
        assert_eq!(audit[0].action, "close");
        assert_eq!(audit[0].actor_rule.as_deref(), Some("auto_close"));
        assert_eq!(audit[0].actor_id, None);
        assert_eq!(audit[0].site_id, Some(w.site.id));
    }
    // Nothing left to do.
    assert!(
        store
            .auto_close_stories(w.site.id, cutoff, None, Vec::new(), T0 + 4)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn readiness_compares_applied_migrations_with_the_binarys(db: TestDb) {
    let ready = db.store.readiness().await.unwrap();
    assert!(ready.is_current(), "{ready:?}");
    let pool = db.store.pool_use();
    assert!(
        pool.max >= 1 && pool.idle <= pool.open && pool.open <= pool.max,
        "{pool:?}"
    );

    // A newer node migrated the database further.
    db.exec(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         SELECT 99990101, 'from the future', success, checksum, execution_time \
         FROM _sqlx_migrations WHERE version = 1",
    )
    .await;
    let ready = db.store.readiness().await.unwrap();
    assert_eq!(ready.unknown, vec![99990101]);
    assert!(ready.pending.is_empty());
    assert!(!ready.is_current());

    // A migration this binary has is missing.
    db.exec("DELETE FROM _sqlx_migrations WHERE version = 99990101")
        .await;
    db.exec("DELETE FROM _sqlx_migrations WHERE version = 2")
        .await;
    let ready = db.store.readiness().await.unwrap();
    assert_eq!(ready.pending, vec![2]);
    assert!(!ready.is_current());
}

async fn nodes_hear_each_others_messages_in_order(db: TestDb) {
    let store = &*db.store;
    let Some(mut feed) = store.listen_nodes().await.unwrap() else {
        // SQLite: one node, nobody to tell.
        assert_eq!(store.backend(), "sqlite");
        assert!(!store.notify_nodes("hello".into()).await.unwrap());
        return;
    };
    for n in 0..50 {
        assert!(store.notify_nodes(format!("m{n}")).await.unwrap());
    }
    for n in 0..50 {
        let heard = tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
            .await
            .expect("heard in time");
        assert_eq!(
            heard,
            Some(parley_store::nodes::NodeMessage::Message(format!("m{n}")))
        );
    }
}

async fn signin_failures_count_in_windows_and_clear(store: Arc<dyn Store>) {
    assert_eq!(store.signin_failures("account:1:a").await.unwrap(), None);
    let window = 60_000;
    for t in [T0, T0 + 10, T0 + 20] {
        store
            .record_signin_failure("account:1:a", t, window)
            .await
            .unwrap();
    }
    store
        .record_signin_failure("ip:10.0.0.1", T0, window)
        .await
        .unwrap();
    assert_eq!(
        store.signin_failures("account:1:a").await.unwrap(),
        Some((T0, 3))
    );
    // Concurrent failures (from several nodes) all count.
    let writes = (0..10).map(|i| {
        let store = store.clone();
        async move {
            store
                .record_signin_failure("account:1:a", T0 + 100 + i, window)
                .await
        }
    });
    for r in futures::future::join_all(writes).await {
        r.unwrap();
    }
    assert_eq!(
        store.signin_failures("account:1:a").await.unwrap(),
        Some((T0, 13))
    );
    // A failure after the window starts a new one.
    store
        .record_signin_failure("account:1:a", T0 + window, window)
        .await
        .unwrap();
    assert_eq!(
        store.signin_failures("account:1:a").await.unwrap(),
        Some((T0 + window, 1))
    );
    store.clear_signin_failures("account:1:a").await.unwrap();
    assert_eq!(store.signin_failures("account:1:a").await.unwrap(), None);
    assert_eq!(store.sweep_signin_failures(T0 + 1).await.unwrap(), 1);
    assert_eq!(store.signin_failures("ip:10.0.0.1").await.unwrap(), None);
}
