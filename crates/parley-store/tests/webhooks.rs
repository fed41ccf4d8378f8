//! The webhook outbox on both backends: enqueueing for subscribed endpoints only,
//! claiming due deliveries once, recording attempts, retrying and giving up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_store::Store;
use parley_store::webhooks::AttemptOutcome;

/// One test per backend for each case `async fn case(db: TestDb)`.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_sqlite(|db| async move { super::$case(db).await }).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    $crate::common::run_postgres(|db| async move { super::$case(db).await }).await
                }
            )*
        }
    };
}

on_both!(
    an_event_queues_one_delivery_per_subscribed_endpoint,
    a_claimed_delivery_is_not_claimed_again_until_its_lease_ends,
    two_claimers_racing_get_disjoint_deliveries,
    a_failed_attempt_is_retried_when_due_and_the_last_one_fails_the_delivery,
    deleting_an_endpoint_removes_its_deliveries,
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
