//! The mail outbox on both backends: queueing (and refusing unusable mail), claiming
//! due mail once under a lease, recording attempts, retrying, failing for good, the
//! admin's view and counts, and sweeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::Role;
use parley_store::Store;
use parley_store::mail::{MailOutcome, NewMail};

on_both!(
    queued_mail_is_claimed_with_everything_needed_to_send_it,
    unusable_mail_is_refused_and_nothing_is_queued,
    claimed_mail_is_not_claimed_again_until_its_lease_ends,
    two_claimers_racing_get_disjoint_mail,
    a_failed_attempt_is_retried_when_due_and_a_permanent_one_fails_the_mail,
    sent_mail_takes_no_second_attempt,
    the_outbox_view_and_counts_are_per_site,
    sweeping_forgets_finished_mail_only,
    forgetting_a_users_mail_removes_it_unsent,
);

async fn site(store: &dyn Store) -> i64 {
    store.create_site("courier", &[], 1).await.unwrap().id
}

fn mail(site_id: i64, n: i64) -> NewMail {
    NewMail {
        site_id,
        user_id: None,
        kind: "verify".into(),
        to: format!("reader{n}@example.org"),
        to_name: Some(format!("Reader {n}")),
        subject: format!("Message {n}"),
        text: format!("Plain text {n}"),
        html: None,
        unsubscribe_url: None,
        now: 100,
    }
}

fn outcome(mail_id: i64, at: i64, error: Option<&str>, retry_at: Option<i64>) -> MailOutcome {
    MailOutcome {
        mail_id,
        at,
        sent: error.is_none(),
        error: error.map(str::to_owned),
        retry_at,
    }
}

async fn queued_mail_is_claimed_with_everything_needed_to_send_it(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let user = store
        .create_user(new_user(site_id, "Sam Reader", Role::Reader))
        .await
        .unwrap();
    let id = store
        .mail()
        .enqueue_mail(NewMail {
            user_id: Some(user.id),
            kind: "reply".into(),
            html: Some("<p>Hi</p>".into()),
            unsubscribe_url: Some("https://courier.example/unsubscribe/t0k".into()),
            ..mail(site_id, 1)
        })
        .await
        .unwrap();
    let claimed = store.mail().claim_mail(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let m = &claimed[0];
    assert_eq!(m.id, id);
    assert_eq!(m.site_id, site_id);
    assert_eq!(m.user_id, Some(user.id));
    assert_eq!(m.kind, "reply");
    assert_eq!(m.to_addr, "reader1@example.org");
    assert_eq!(m.to_name.as_deref(), Some("Reader 1"));
    assert_eq!(m.subject, "Message 1");
    assert_eq!(m.body_text, "Plain text 1");
    assert_eq!(m.body_html.as_deref(), Some("<p>Hi</p>"));
    assert_eq!(
        m.unsubscribe_url.as_deref(),
        Some("https://courier.example/unsubscribe/t0k")
    );
    assert_eq!(m.attempts, 0);
    assert_eq!(m.created_at, 100);
}

async fn unusable_mail_is_refused_and_nothing_is_queued(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    for bad in [
        NewMail {
            to: "reader@example.org\r\nBcc: all@example.org".into(),
            ..mail(site_id, 1)
        },
        NewMail {
            subject: "Hello\nBcc: all@example.org".into(),
            ..mail(site_id, 1)
        },
        NewMail {
            to: "".into(),
            ..mail(site_id, 1)
        },
        NewMail {
            unsubscribe_url: Some("javascript:alert(1)".into()),
            ..mail(site_id, 1)
        },
    ] {
        let err = store.mail().enqueue_mail(bad).await.unwrap_err();
        assert!(
            matches!(err, parley_store::StoreError::Refused { .. }),
            "{err:?}"
        );
    }
    assert_eq!(
        store.mail().mail_counts(None).await.unwrap(),
        Default::default()
    );
}

async fn claimed_mail_is_not_claimed_again_until_its_lease_ends(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    store.mail().enqueue_mail(mail(site_id, 1)).await.unwrap();
    assert!(
        store
            .mail()
            .claim_mail(99, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert_eq!(
        store.mail().claim_mail(100, 1000, 10).await.unwrap().len(),
        1
    );
    assert!(
        store
            .mail()
            .claim_mail(500, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "held by the first claimer"
    );
    // The claimer vanished: after the lease another takes it.
    let again = store.mail().claim_mail(1100, 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 0);
}

async fn two_claimers_racing_get_disjoint_mail(db: TestDb) {
    let store = db.store.clone();
    let site_id = site(store.as_ref()).await;
    for n in 0..40 {
        store.mail().enqueue_mail(mail(site_id, n)).await.unwrap();
    }
    let claim = |store: std::sync::Arc<dyn Store>| async move {
        let mut ids = Vec::new();
        loop {
            let batch = store.mail().claim_mail(100, 60_000, 3).await.unwrap();
            if batch.is_empty() {
                return ids;
            }
            ids.extend(batch.into_iter().map(|m| m.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim(store.clone())),
        tokio::spawn(claim(store.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    let total = all.len();
    all.dedup();
    assert_eq!(all.len(), total, "mail was claimed twice: {a:?} {b:?}");
    assert_eq!(total, 40);
}

async fn a_failed_attempt_is_retried_when_due_and_a_permanent_one_fails_the_mail(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let outbox = store.mail();
    let id = outbox.enqueue_mail(mail(site_id, 1)).await.unwrap();
    let m = outbox.claim_mail(100, 1000, 10).await.unwrap().remove(0);
    outbox
        .record_mail_attempt(outcome(m.id, 110, Some("connection refused"), Some(200)))
        .await
        .unwrap();
    let view = outbox.mail_outbox(site_id, 10).await.unwrap();
    assert_eq!(view[0].status, "pending");
    assert_eq!(view[0].attempts, 1);
    assert_eq!(view[0].next_attempt_at, 200);
    assert_eq!(view[0].last_error.as_deref(), Some("connection refused"));
    assert_eq!(view[0].last_attempt_at, Some(110));
    assert!(
        outbox.claim_mail(150, 1000, 10).await.unwrap().is_empty(),
        "waits for its retry"
    );
    let again = outbox.claim_mail(200, 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    outbox
        .record_mail_attempt(outcome(id, 210, Some("550 no such user"), None))
        .await
        .unwrap();
    assert!(
        outbox
            .claim_mail(10_000, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "failed for good"
    );
    let view = outbox.mail_outbox(site_id, 10).await.unwrap();
    assert_eq!(view[0].status, "failed");
    assert_eq!(view[0].attempts, 2);
    assert_eq!(view[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(view[0].sent_at, None);
    // A finished message takes no more attempts.
    assert!(
        outbox
            .record_mail_attempt(outcome(id, 300, None, None))
            .await
            .is_err()
    );
}

async fn sent_mail_takes_no_second_attempt(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let outbox = store.mail();
    let id = outbox.enqueue_mail(mail(site_id, 1)).await.unwrap();
    let first = outbox.claim_mail(100, 1000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // A slow first claimer: its lease ends and a second one claims the mail too.
    let second = outbox.claim_mail(2000, 1000, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    outbox
        .record_mail_attempt(outcome(id, 2100, None, None))
        .await
        .unwrap();
    // The other's late record is refused and changes nothing.
    assert!(matches!(
        outbox
            .record_mail_attempt(outcome(id, 2200, Some("timed out"), Some(3000)))
            .await,
        Err(parley_store::StoreError::NotFound(_))
    ));
    assert!(
        outbox
            .claim_mail(100_000, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let view = outbox.mail_outbox(site_id, 10).await.unwrap();
    assert_eq!(view[0].status, "sent");
    assert_eq!(view[0].attempts, 1);
    assert_eq!(view[0].sent_at, Some(2100));
    assert_eq!(view[0].last_error, None);
}

async fn the_outbox_view_and_counts_are_per_site(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let other = store.create_site("gazette", &[], 1).await.unwrap().id;
    let outbox = store.mail();
    for n in 0..3 {
        outbox.enqueue_mail(mail(site_id, n)).await.unwrap();
    }
    outbox.enqueue_mail(mail(other, 9)).await.unwrap();
    let claimed = outbox.claim_mail(100, 1000, 2).await.unwrap();
    outbox
        .record_mail_attempt(outcome(claimed[0].id, 120, None, None))
        .await
        .unwrap();
    outbox
        .record_mail_attempt(outcome(claimed[1].id, 120, Some("550 refused"), None))
        .await
        .unwrap();
    let counts = outbox.mail_counts(Some(site_id)).await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (1, 1, 1));
    let all = outbox.mail_counts(None).await.unwrap();
    assert_eq!((all.pending, all.sent, all.failed), (2, 1, 1));
    let view = outbox.mail_outbox(site_id, 10).await.unwrap();
    assert_eq!(view.len(), 3);
    assert!(view.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert!(view.iter().all(|m| m.site_id == site_id));
    assert_eq!(outbox.mail_outbox(site_id, 1).await.unwrap().len(), 1);
    let theirs = outbox.mail_outbox(other, 10).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].to_addr, "reader9@example.org");
}

async fn sweeping_forgets_finished_mail_only(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let outbox = store.mail();
    for n in 0..4 {
        outbox.enqueue_mail(mail(site_id, n)).await.unwrap();
    }
    let claimed = outbox.claim_mail(100, 1000, 3).await.unwrap();
    outbox
        .record_mail_attempt(outcome(claimed[0].id, 200, None, None))
        .await
        .unwrap();
    outbox
        .record_mail_attempt(outcome(claimed[1].id, 200, Some("550"), None))
        .await
        .unwrap();
    outbox
        .record_mail_attempt(outcome(claimed[2].id, 200, Some("421"), Some(300)))
        .await
        .unwrap();
    assert_eq!(outbox.sweep_mail(200).await.unwrap(), 0, "not older yet");
    assert_eq!(outbox.sweep_mail(201).await.unwrap(), 2);
    let left: Vec<_> = outbox
        .mail_outbox(site_id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(left, ["pending", "pending"]);
}

async fn forgetting_a_users_mail_removes_it_unsent(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let sam = store
        .create_user(new_user(site_id, "Sam Reader", Role::Reader))
        .await
        .unwrap();
    let outbox = store.mail();
    outbox
        .enqueue_mail(NewMail {
            user_id: Some(sam.id),
            ..mail(site_id, 1)
        })
        .await
        .unwrap();
    outbox.enqueue_mail(mail(site_id, 2)).await.unwrap();
    assert_eq!(outbox.forget_user_mail(sam.id).await.unwrap(), 1);
    let left = outbox.claim_mail(100, 1000, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].to_addr, "reader2@example.org");
}
