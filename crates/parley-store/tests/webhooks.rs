//! The webhook outbox on both backends: enqueueing for subscribed endpoints only,
//! claiming due deliveries once, recording attempts, retrying and giving up; changing,
//! pausing and re-keying an endpoint; sweeping the old log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_store::Store;
use parley_store::webhooks::{AttemptOutcome, WebhookChanges};

on_both!(
    an_event_queues_one_delivery_per_subscribed_endpoint,
    a_claimed_delivery_is_not_claimed_again_until_its_lease_ends,
    two_claimers_racing_get_disjoint_deliveries,
    a_failed_attempt_is_retried_when_due_and_the_last_one_fails_the_delivery,
    deleting_an_endpoint_removes_its_deliveries,
    updating_an_endpoint_changes_only_what_is_named,
    a_rotated_secret_is_what_later_claims_sign_with,
    a_paused_endpoints_deliveries_wait_until_it_is_resumed,
    sweeping_keeps_pending_and_recent_deliveries,
);

async fn site(store: &dyn Store) -> i64 {
    store.create_site("courier", &[], 1).await.unwrap().id
}

fn outcome(delivery_id: i64, at: i64, status: i64, retry_at: Option<i64>) -> AttemptOutcome {
    AttemptOutcome {
        delivery_id,
        at,
        status: Some(status),
        error: (status >= 300).then(|| format!("HTTP {status}")),
        body: Some(format!("answer {status}")),
        duration_ms: 3,
        delivered: status < 300,
        retry_at,
    }
}

async fn an_event_queues_one_delivery_per_subscribed_endpoint(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let other_site = store.create_site("gazette", &[], 1).await.unwrap().id;
    let hooks = store.webhooks();
    let a = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["comment.published".into()],
            "s1".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .create_webhook(
            site_id,
            "http://b.example/".into(),
            vec!["story.closed".into()],
            "s2".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .create_webhook(
            other_site,
            "http://c.example/".into(),
            vec!["comment.published".into()],
            "s3".into(),
            10,
        )
        .await
        .unwrap();
    assert_eq!(a.event_names(), ["comment.published"]);
    let n = hooks
        .enqueue_webhook_deliveries(site_id, "comment.published".into(), "{}".into(), 100)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let claimed = hooks.claim_webhook_deliveries(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].webhook_id, a.id);
    assert_eq!(claimed[0].url, "http://a.example/");
    assert_eq!(claimed[0].secret, "s1");
    assert_eq!(claimed[0].attempts, 0);
    // A prefix of a subscribed name is not a subscription.
    let n = hooks
        .enqueue_webhook_deliveries(site_id, "comment".into(), "{}".into(), 100)
        .await
        .unwrap();
    assert_eq!(n, 0);
}

async fn a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let hooks = store.webhooks();
    hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
        .await
        .unwrap();
    assert!(
        hooks
            .claim_webhook_deliveries(99, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert_eq!(
        hooks
            .claim_webhook_deliveries(100, 1000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        hooks
            .claim_webhook_deliveries(500, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The claimer vanished: after the lease another takes it.
    assert_eq!(
        hooks
            .claim_webhook_deliveries(1100, 1000, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn two_claimers_racing_get_disjoint_deliveries(db: TestDb) {
    let store = db.store.clone();
    let site_id = site(store.as_ref()).await;
    let hooks = store.webhooks();
    hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    for _ in 0..40 {
        hooks
            .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
            .await
            .unwrap();
    }
    let claim = |store: std::sync::Arc<dyn Store>| async move {
        let mut ids = Vec::new();
        loop {
            let batch = store
                .webhooks()
                .claim_webhook_deliveries(100, 60_000, 3)
                .await
                .unwrap();
            if batch.is_empty() {
                return ids;
            }
            ids.extend(batch.into_iter().map(|d| d.id));
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
    assert_eq!(
        all.len(),
        total,
        "a delivery was claimed twice: {a:?} {b:?}"
    );
    assert_eq!(total, 40);
}

async fn a_failed_attempt_is_retried_when_due_and_the_last_one_fails_the_delivery(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let hooks = store.webhooks();
    let hook = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{\"n\":1}".into(), 100)
        .await
        .unwrap();
    let d = hooks
        .claim_webhook_deliveries(100, 1000, 10)
        .await
        .unwrap()
        .remove(0);
    hooks
        .record_webhook_attempt(outcome(d.id, 110, 500, Some(200)))
        .await
        .unwrap();
    assert!(
        hooks
            .claim_webhook_deliveries(150, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "waits for its retry"
    );
    let again = hooks.claim_webhook_deliveries(200, 1000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    hooks
        .record_webhook_attempt(outcome(d.id, 210, 502, None))
        .await
        .unwrap();
    assert!(
        hooks
            .claim_webhook_deliveries(10_000, 1000, 10)
            .await
            .unwrap()
            .is_empty(),
        "given up"
    );

    let log = hooks.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "failed");
    assert_eq!(log[0].attempts, 2);
    assert_eq!(log[0].last_status, Some(502));
    assert_eq!(log[0].payload, "{\"n\":1}");
    let statuses: Vec<_> = log[0]
        .attempt_log
        .iter()
        .map(|a| (a.attempt, a.status))
        .collect();
    assert_eq!(statuses, [(1, Some(500)), (2, Some(502))]);
    // A finished delivery takes no more attempts.
    assert!(
        hooks
            .record_webhook_attempt(outcome(d.id, 300, 200, None))
            .await
            .is_err()
    );

    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 400)
        .await
        .unwrap();
    let d = hooks
        .claim_webhook_deliveries(400, 1000, 10)
        .await
        .unwrap()
        .remove(0);
    hooks
        .record_webhook_attempt(outcome(d.id, 410, 204, None))
        .await
        .unwrap();
    let log = hooks.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!(log[0].status, "delivered");
    assert_eq!(log[0].delivered_at, Some(410));
}

async fn deleting_an_endpoint_removes_its_deliveries(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let other_site = store.create_site("gazette", &[], 1).await.unwrap().id;
    let hooks = store.webhooks();
    let hook = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
        .await
        .unwrap();
    let d = hooks
        .claim_webhook_deliveries(100, 1000, 10)
        .await
        .unwrap()
        .remove(0);
    hooks
        .record_webhook_attempt(outcome(d.id, 110, 500, Some(120)))
        .await
        .unwrap();
    assert!(
        hooks.delete_webhook(other_site, hook.id).await.is_err(),
        "another site's"
    );
    hooks.delete_webhook(site_id, hook.id).await.unwrap();
    assert!(hooks.site_webhooks(site_id).await.unwrap().is_empty());
    assert!(
        hooks
            .webhook_deliveries(hook.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        hooks
            .claim_webhook_deliveries(1000, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn updating_an_endpoint_changes_only_what_is_named(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let other_site = store.create_site("gazette", &[], 1).await.unwrap().id;
    let hooks = store.webhooks();
    let hook = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();

    let changed = hooks
        .update_webhook(
            site_id,
            hook.id,
            WebhookChanges {
                url: Some("https://b.example/in".into()),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.url, "https://b.example/in");
    assert_eq!(changed.event_names(), ["story.closed"]);
    assert!(changed.active);
    assert_eq!(changed.secret, "s");
    assert_eq!(changed.created_at, 10);

    let changed = hooks
        .update_webhook(
            site_id,
            hook.id,
            WebhookChanges {
                events: Some(vec!["comment.published".into(), "comment.held".into()]),
                active: Some(false),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.event_names(), ["comment.published", "comment.held"]);
    assert!(!changed.active);
    assert_eq!(changed.url, "https://b.example/in");
    assert_eq!(
        hooks.webhook(site_id, hook.id).await.unwrap().as_ref(),
        Some(&changed)
    );

    // Nothing named: the endpoint as it is.
    let same = hooks
        .update_webhook(site_id, hook.id, WebhookChanges::default())
        .await
        .unwrap();
    assert_eq!(same, changed);

    // Bad events, another site's endpoint, an unknown one: refused, nothing changes.
    for events in [vec![], vec!["".to_owned()], vec!["a,b".to_owned()]] {
        let r = hooks
            .update_webhook(
                site_id,
                hook.id,
                WebhookChanges {
                    url: Some("https://c.example/".into()),
                    events: Some(events.clone()),
                    active: Some(true),
                },
            )
            .await;
        assert!(r.is_err(), "{events:?}");
    }
    let wrong_site = hooks
        .update_webhook(
            other_site,
            hook.id,
            WebhookChanges {
                active: Some(true),
                ..WebhookChanges::default()
            },
        )
        .await;
    assert!(matches!(
        wrong_site,
        Err(parley_store::StoreError::NotFound(_))
    ));
    let unknown = hooks
        .update_webhook(site_id, hook.id + 100, WebhookChanges::default())
        .await;
    assert!(matches!(
        unknown,
        Err(parley_store::StoreError::NotFound(_))
    ));
    assert_eq!(
        hooks.webhook(site_id, hook.id).await.unwrap().as_ref(),
        Some(&changed)
    );

    // The new subscriptions decide what is queued once it is active again.
    hooks
        .update_webhook(
            site_id,
            hook.id,
            WebhookChanges {
                active: Some(true),
                ..WebhookChanges::default()
            },
        )
        .await
        .unwrap();
    let closed = hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
        .await
        .unwrap();
    let held = hooks
        .enqueue_webhook_deliveries(site_id, "comment.held".into(), "{}".into(), 100)
        .await
        .unwrap();
    assert_eq!((closed, held), (0, 1));
    let claimed = hooks.claim_webhook_deliveries(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].url, "https://b.example/in");
}

async fn a_rotated_secret_is_what_later_claims_sign_with(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let other_site = store.create_site("gazette", &[], 1).await.unwrap().id;
    let hooks = store.webhooks();
    let hook = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "old".into(),
            10,
        )
        .await
        .unwrap();
    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
        .await
        .unwrap();
    assert!(
        hooks
            .rotate_webhook_secret(other_site, hook.id, "stolen".into())
            .await
            .is_err(),
        "another site's"
    );
    let rotated = hooks
        .rotate_webhook_secret(site_id, hook.id, "new".into())
        .await
        .unwrap();
    assert_eq!(rotated.secret, "new");
    assert_eq!(rotated.url, hook.url);
    assert!(rotated.active);
    // A delivery queued before the rotation is signed with the secret of its claim.
    let claimed = hooks.claim_webhook_deliveries(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].secret, "new");
}

async fn a_paused_endpoints_deliveries_wait_until_it_is_resumed(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let hooks = store.webhooks();
    let paused = hooks
        .create_webhook(
            site_id,
            "http://paused.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    let running = hooks
        .create_webhook(
            site_id,
            "http://running.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    let pause = |active| WebhookChanges {
        active: Some(active),
        ..WebhookChanges::default()
    };
    // Queued before the pause: kept, not sent.
    hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{\"n\":1}".into(), 100)
        .await
        .unwrap();
    hooks
        .update_webhook(site_id, paused.id, pause(false))
        .await
        .unwrap();
    let claimed = hooks.claim_webhook_deliveries(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].webhook_id, running.id);
    hooks
        .record_webhook_attempt(outcome(claimed[0].id, 110, 200, None))
        .await
        .unwrap();
    // Events while paused are not queued for it.
    let n = hooks
        .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{\"n\":2}".into(), 200)
        .await
        .unwrap();
    assert_eq!(n, 1);
    let claimed = hooks
        .claim_webhook_deliveries(5000, 1000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "only the running endpoint's");
    assert_eq!(claimed[0].webhook_id, running.id);
    hooks
        .record_webhook_attempt(outcome(claimed[0].id, 5010, 200, None))
        .await
        .unwrap();
    assert!(
        hooks
            .claim_webhook_deliveries(5000, 1000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let log = hooks.webhook_deliveries(paused.id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "pending");

    // Resumed: what waited is sent.
    hooks
        .update_webhook(site_id, paused.id, pause(true))
        .await
        .unwrap();
    let claimed = hooks
        .claim_webhook_deliveries(6000, 1000, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].webhook_id, paused.id);
    assert_eq!(claimed[0].payload, "{\"n\":1}");
}

async fn sweeping_keeps_pending_and_recent_deliveries(db: TestDb) {
    let store = db.store.as_ref();
    let site_id = site(store).await;
    let hooks = store.webhooks();
    let hook = hooks
        .create_webhook(
            site_id,
            "http://a.example/".into(),
            vec!["story.closed".into()],
            "s".into(),
            10,
        )
        .await
        .unwrap();
    // Four deliveries: delivered at 110, failed at 120, delivered at 1010, and one
    // pending since 100 (waiting for a retry at 10_000).
    let mut ids = Vec::new();
    for _ in 0..4 {
        hooks
            .enqueue_webhook_deliveries(site_id, "story.closed".into(), "{}".into(), 100)
            .await
            .unwrap();
    }
    let claimed = hooks.claim_webhook_deliveries(100, 1000, 10).await.unwrap();
    assert_eq!(claimed.len(), 4);
    ids.extend(claimed.iter().map(|d| d.id));
    hooks
        .record_webhook_attempt(outcome(ids[0], 110, 200, None))
        .await
        .unwrap();
    hooks
        .record_webhook_attempt(outcome(ids[1], 120, 500, None))
        .await
        .unwrap();
    hooks
        .record_webhook_attempt(outcome(ids[2], 1010, 204, None))
        .await
        .unwrap();
    hooks
        .record_webhook_attempt(outcome(ids[3], 105, 503, Some(10_000)))
        .await
        .unwrap();

    assert_eq!(hooks.sweep_webhook_deliveries(110).await.unwrap(), 0);
    assert_eq!(hooks.sweep_webhook_deliveries(1000).await.unwrap(), 2);
    let log = hooks.webhook_deliveries(hook.id, 10).await.unwrap();
    let mut kept: Vec<_> = log.iter().map(|d| (d.id, d.status.as_str())).collect();
    kept.sort_unstable();
    assert_eq!(kept, [(ids[2], "delivered"), (ids[3], "pending")]);
    // Their attempts stay with them.
    assert!(log.iter().all(|d| d.attempt_log.len() == 1));

    // Pending is kept however old; the rest goes.
    assert_eq!(hooks.sweep_webhook_deliveries(i64::MAX).await.unwrap(), 1);
    let log = hooks.webhook_deliveries(hook.id, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, "pending");
    assert_eq!(log[0].attempt_log.len(), 1);
}
