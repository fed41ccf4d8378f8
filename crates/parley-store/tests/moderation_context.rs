//! The reads behind the moderators' pages, on both backends: reports on a comment,
//! an author's record and past moderation, and the audit log searched by action,
//! target and actor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::{Role, UserStatus};
use parley_store::{AuditQuery, CommentDecision, NewAudit, NewReport, Ruling};

on_both!(
    reports_come_with_reporter_reason_note_and_whether_open,
    author_records_count_comments_by_status,
    author_audit_covers_the_account_and_its_comments,
    the_audit_log_is_searched_by_action_target_and_actor,
);

fn held() -> Ruling {
    Ruling {
        hold: true,
        rule: Some("site_policy".into()),
        reasons: "site_policy: every comment is held".into(),
    }
}

fn decision(comment_id: i64, approve: bool, actor_id: i64, reason: &str) -> CommentDecision {
    CommentDecision {
        comment_id,
        approve,
        actor_id,
        reason: reason.into(),
        now: T0 + 5_000,
    }
}

async fn reports_come_with_reporter_reason_note_and_whether_open(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let modr = store
        .create_user(new_user(w.site.id, "Mona", Role::Moderator))
        .await
        .unwrap();
    let a = post(store, w.story.id, &w.alice, None, "first").await;
    let b = post(store, w.story.id, &w.alice, None, "second").await;
    for (comment_id, who, reason, note) in [
        (a.id, &w.bob, "spam", "selling \"things\"\nagain"),
        (a.id, &w.carol, "abuse", ""),
        (b.id, &w.bob, "off_topic", ""),
    ] {
        store
            .add_report(NewReport {
                comment_id,
                user_id: who.id,
                reason: reason.into(),
                note: note.into(),
                now: T0 + 2_000,
            })
            .await
            .unwrap();
    }
    assert!(store.reports_for(&[]).await.unwrap().is_empty());
    let on_a = store.reports_for(&[a.id]).await.unwrap();
    assert_eq!(on_a.len(), 2);
    assert_eq!(on_a[0].reporter_name.as_deref(), Some("Bob"));
    assert_eq!(on_a[0].reason, "spam");
    assert_eq!(on_a[0].note, "selling \"things\"\nagain");
    assert_eq!(on_a[0].created_at, T0 + 2_000);
    assert!(on_a.iter().all(|r| r.open && r.comment_id == a.id));
    assert_eq!(store.reports_for(&[a.id, b.id]).await.unwrap().len(), 3);
    // A decision settles the comment's reports; they stay on record, closed.
    store
        .decide_comment(decision(a.id, true, modr.id, ""))
        .await
        .unwrap();
    let on_a = store.reports_for(&[a.id]).await.unwrap();
    assert_eq!(on_a.len(), 2);
    assert!(on_a.iter().all(|r| !r.open));
    assert!(store.reports_for(&[b.id]).await.unwrap()[0].open);
}

async fn author_records_count_comments_by_status(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let modr = store
        .create_user(new_user(w.site.id, "Mona", Role::Moderator))
        .await
        .unwrap();
    post(store, w.story.id, &w.alice, None, "one").await;
    post(store, w.story.id, &w.alice, None, "two").await;
    let mut pending = Vec::new();
    for body in ["three", "four", "five"] {
        let c = store
            .create_comment_ruled(
                new_comment(w.story.id, w.alice.id, None, body, T0 + 3_000),
                held(),
            )
            .await
            .unwrap();
        pending.push(c.id);
    }
    store
        .decide_comment(decision(pending[0], false, modr.id, "spam"))
        .await
        .unwrap();
    post(store, w.story.id, &w.bob, None, "bob's").await;
    let records = store
        .author_records(&[w.alice.id, w.bob.id, w.carol.id])
        .await
        .unwrap();
    assert_eq!(records.len(), 3);
    let alice = records.iter().find(|r| r.author_id == w.alice.id).unwrap();
    assert_eq!(
        (
            alice.published,
            alice.pending,
            alice.rejected,
            alice.deleted
        ),
        (2, 2, 1, 0)
    );
    let bob = records.iter().find(|r| r.author_id == w.bob.id).unwrap();
    assert_eq!((bob.published, bob.pending, bob.rejected), (1, 0, 0));
    let carol = records.iter().find(|r| r.author_id == w.carol.id).unwrap();
    assert_eq!((carol.published, carol.pending, carol.rejected), (0, 0, 0));
    assert!(store.author_records(&[]).await.unwrap().is_empty());
}

async fn author_audit_covers_the_account_and_its_comments(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let modr = store
        .create_user(new_user(w.site.id, "Mona", Role::Moderator))
        .await
        .unwrap();
    let c = store
        .create_comment_ruled(
            new_comment(w.story.id, w.alice.id, None, "held", T0 + 1),
            held(),
        )
        .await
        .unwrap();
    store
        .decide_comment(decision(c.id, false, modr.id, "abuse"))
        .await
        .unwrap();
    store
        .set_user_status(
            w.alice.id,
            UserStatus::PreModerated,
            modr.id,
            String::new(),
            T0 + 6_000,
        )
        .await
        .unwrap();
    // Someone else's record stays out.
    store
        .set_user_status(w.bob.id, UserStatus::Banned, modr.id, String::new(), T0)
        .await
        .unwrap();
    let log = store.author_audit(w.alice.id, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["premoderate", "reject", "hold"]);
    assert_eq!(log[1].target_id, c.id);
    assert_eq!(log[1].reason, "abuse");
    assert_eq!(store.author_audit(w.alice.id, 1).await.unwrap().len(), 1);
}

async fn the_audit_log_is_searched_by_action_target_and_actor(db: TestDb) {
    let store = &*db.store;
    let w = world(store).await;
    let modr = store
        .create_user(new_user(w.site.id, "Mona Lisa", Role::Moderator))
        .await
        .unwrap();
    let c = store
        .create_comment_ruled(
            new_comment(w.story.id, w.alice.id, None, "held", T0 + 1),
            held(),
        )
        .await
        .unwrap();
    store
        .decide_comment(decision(c.id, true, modr.id, ""))
        .await
        .unwrap();
    store
        .set_user_status(w.bob.id, UserStatus::Banned, modr.id, "spam".into(), T0)
        .await
        .unwrap();
    store
        .record_audit(NewAudit {
            at: T0 + 9,
            site_id: w.site.id,
            actor_id: None,
            actor_rule: Some("banned_words".into()),
            action: "reject".into(),
            target_kind: "user".into(),
            target_id: w.carol.id,
            reason: "banned_words: \"orc\"".into(),
        })
        .await
        .unwrap();
    // Another site's entries never show.
    let other = store.create_site("other", &[], T0).await.unwrap();
    store
        .record_audit(NewAudit {
            at: T0,
            site_id: other.id,
            actor_id: None,
            actor_rule: Some("banned_words".into()),
            action: "reject".into(),
            target_kind: "user".into(),
            target_id: 1,
            reason: String::new(),
        })
        .await
        .unwrap();
    let search = |f: &dyn Fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            site_id: w.site.id,
            limit: 50,
            ..AuditQuery::default()
        };
        f(&mut q);
        async move {
            store
                .search_audit(q)
                .await
                .unwrap()
                .into_iter()
                .map(|l| (l.entry.action.clone(), l.actor_name.clone()))
                .collect::<Vec<_>>()
        }
    };
    let all = search(&|_| {}).await;
    let actions: Vec<&str> = all.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["reject", "ban", "approve", "hold"]);
    assert_eq!(all[1].1.as_deref(), Some("Mona Lisa"));
    assert_eq!(all[0].1, None);
    assert_eq!(
        search(&|q| q.action = Some("ban".into())).await,
        [("ban".to_owned(), Some("Mona Lisa".to_owned()))]
    );
    assert_eq!(
        search(&|q| q.target_kind = Some("user".into())).await.len(),
        2
    );
    assert_eq!(
        search(&|q| {
            q.target_kind = Some("comment".into());
            q.target_id = Some(c.id);
        })
        .await
        .len(),
        2
    );
    // The actor: a person by name (any case) or id, or an automatic rule.
    assert_eq!(
        search(&|q| q.actor = Some("mona lisa".into())).await.len(),
        2
    );
    assert_eq!(
        search(&|q| q.actor = Some(modr.id.to_string())).await.len(),
        2
    );
    assert_eq!(
        search(&|q| q.actor = Some("banned_words".into())).await,
        [("reject".to_owned(), None)]
    );
    assert_eq!(
        search(&|q| q.actor = Some("site_policy".into())).await,
        [("hold".to_owned(), None)]
    );
    assert!(
        search(&|q| q.actor = Some("nobody".into()))
            .await
            .is_empty()
    );
    // Paging back from an entry, and the limit.
    let first = store
        .search_audit(AuditQuery {
            site_id: w.site.id,
            limit: 2,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.len(), 2);
    let rest = store
        .search_audit(AuditQuery {
            site_id: w.site.id,
            before: Some(first[1].entry.id),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let actions: Vec<&str> = rest.iter().map(|l| l.entry.action.as_str()).collect();
    assert_eq!(actions, ["approve", "hold"]);
}
