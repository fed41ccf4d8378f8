//! Account mail state on both backends: single-use links (also when redeemed twice at
//! once), what each link does, notification settings and unsubscribe keys, and digest
//! items taken once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::Role;
use parley_core::notify::{Delivery, LinkPurpose, NotificationKind, NotificationPrefs};
use parley_store::account_mail::{LinkAction, NewAccountLink};
use parley_store::{Store, StoreError};

on_both!(
    a_link_is_spent_once_even_when_redeemed_twice_at_once,
    a_newer_link_replaces_the_older_and_expiry_is_checked,
    a_verification_link_for_an_old_address_confirms_nothing,
    a_reset_sets_the_password_and_ends_every_session,
    an_address_change_moves_the_account_unless_the_address_was_taken,
    settings_default_then_change_and_unsubscribe_by_key,
    digest_items_are_taken_once_and_only_when_due,
);

async fn reader(store: &dyn Store, name: &str) -> (i64, i64, String) {
    let site_id = match store.site_by_name("courier").await.unwrap() {
        Some(site) => site.id,
        None => store.create_site("courier", &[], 1).await.unwrap().id,
    };
    let user = store
        .create_user(new_user(site_id, name, Role::Reader))
        .await
        .unwrap();
    (site_id, user.id, user.email)
}

async fn link(
    store: &dyn Store,
    user_id: i64,
    purpose: LinkPurpose,
    hash: &str,
    email: Option<String>,
    now: i64,
) {
    store
        .account_mail()
        .create_account_link(NewAccountLink {
            token_hash: hash.into(),
            user_id,
            purpose,
            email,
            now,
        })
        .await
        .unwrap();
}

fn code(e: StoreError) -> &'static str {
    match e {
        StoreError::Refused { code, .. } | StoreError::Conflict { code, .. } => code,
        other => panic!("unexpected {other:?}"),
    }
}

async fn a_link_is_spent_once_even_when_redeemed_twice_at_once(db: TestDb) {
    let store = db.store.clone();
    let (_, user, email) = reader(store.as_ref(), "Ann Reader").await;
    link(
        store.as_ref(),
        user,
        LinkPurpose::VerifyEmail,
        "h1",
        Some(email),
        1_000,
    )
    .await;
    let redeem = |store: std::sync::Arc<dyn Store>| async move {
        store
            .account_mail()
            .redeem_account_link("h1".into(), LinkAction::VerifyEmail, 2_000)
            .await
    };
    let (a, b) = tokio::join!(
        tokio::spawn(redeem(store.clone())),
        tokio::spawn(redeem(store.clone()))
    );
    let results = [a.unwrap(), b.unwrap()];
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    let err = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(code(err), "link_used");
    assert_eq!(
        store.account_mail().email_verified_at(user).await.unwrap(),
        Some(2_000)
    );
}

async fn a_newer_link_replaces_the_older_and_expiry_is_checked(db: TestDb) {
    let store = db.store.as_ref();
    let (_, user, email) = reader(store, "Bo Reader").await;
    link(
        store,
        user,
        LinkPurpose::VerifyEmail,
        "old",
        Some(email.clone()),
        1_000,
    )
    .await;
    link(
        store,
        user,
        LinkPurpose::VerifyEmail,
        "new",
        Some(email),
        2_000,
    )
    .await;
    let mail = store.account_mail();
    assert_eq!(
        mail.last_account_link_at(user, LinkPurpose::VerifyEmail)
            .await
            .unwrap(),
        Some(2_000)
    );
    let old = mail
        .redeem_account_link("old".into(), LinkAction::VerifyEmail, 3_000)
        .await
        .unwrap_err();
    assert_eq!(code(old), "link_used");
    let expired = mail
        .redeem_account_link(
            "new".into(),
            LinkAction::VerifyEmail,
            2_000 + LinkPurpose::VerifyEmail.lifetime_ms(),
        )
        .await
        .unwrap_err();
    assert_eq!(code(expired), "link_expired");
    // A token for another purpose is unknown here.
    let wrong = mail
        .redeem_account_link("new".into(), LinkAction::ChangeEmail, 3_000)
        .await
        .unwrap_err();
    assert_eq!(code(wrong), "link_invalid");
    assert_eq!(
        mail.email_verified_at(user).await.unwrap(),
        None,
        "nothing confirmed"
    );
    mail.redeem_account_link("new".into(), LinkAction::VerifyEmail, 3_000)
        .await
        .unwrap();
    assert_eq!(mail.email_verified_at(user).await.unwrap(), Some(3_000));
    // Swept once expired, not before.
    assert_eq!(mail.sweep_account_links(2_000).await.unwrap(), 0);
    assert_eq!(mail.sweep_account_links(i64::MAX).await.unwrap(), 2);
}

async fn a_verification_link_for_an_old_address_confirms_nothing(db: TestDb) {
    let store = db.store.as_ref();
    let (_, user, _) = reader(store, "Cy Reader").await;
    link(
        store,
        user,
        LinkPurpose::VerifyEmail,
        "v",
        Some("someone.else@example.org".into()),
        1_000,
    )
    .await;
    let e = store
        .account_mail()
        .redeem_account_link("v".into(), LinkAction::VerifyEmail, 2_000)
        .await
        .unwrap_err();
    assert_eq!(code(e), "link_invalid");
    assert_eq!(
        store.account_mail().email_verified_at(user).await.unwrap(),
        None
    );
}

async fn a_reset_sets_the_password_and_ends_every_session(db: TestDb) {
    let store = db.store.as_ref();
    let (site, user, email) = reader(store, "Di Reader").await;
    store.create_session("s1", user, 1, i64::MAX).await.unwrap();
    store.create_session("s2", user, 1, i64::MAX).await.unwrap();
    link(store, user, LinkPurpose::ResetPassword, "r", None, 1_000).await;
    store
        .account_mail()
        .redeem_account_link(
            "r".into(),
            LinkAction::ResetPassword {
                password_hash: "new-hash".into(),
            },
            2_000,
        )
        .await
        .unwrap();
    assert!(store.session_user("s1").await.unwrap().is_none());
    assert!(store.session_user("s2").await.unwrap().is_none());
    let (_, hash) = store.user_credentials(site, &email).await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("new-hash"));
}

async fn an_address_change_moves_the_account_unless_the_address_was_taken(db: TestDb) {
    let store = db.store.as_ref();
    let (site, ed, _) = reader(store, "Ed Reader").await;
    let (_, _, fay_email) = reader(store, "Fay Reader").await;
    link(
        store,
        ed,
        LinkPurpose::ChangeEmail,
        "taken",
        Some(fay_email),
        1_000,
    )
    .await;
    let e = store
        .account_mail()
        .redeem_account_link("taken".into(), LinkAction::ChangeEmail, 2_000)
        .await
        .unwrap_err();
    assert_eq!(code(e), "email_taken");
    // The failed redeem changed nothing, so a new link works.
    link(
        store,
        ed,
        LinkPurpose::ChangeEmail,
        "free",
        Some("ed.new@example.org".into()),
        3_000,
    )
    .await;
    store
        .account_mail()
        .redeem_account_link("free".into(), LinkAction::ChangeEmail, 4_000)
        .await
        .unwrap();
    assert!(
        store
            .user_credentials(site, "ed.new@example.org")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.account_mail().email_verified_at(ed).await.unwrap(),
        Some(4_000)
    );
}

async fn settings_default_then_change_and_unsubscribe_by_key(db: TestDb) {
    let store = db.store.as_ref();
    let (_, gil, _) = reader(store, "Gil Reader").await;
    let mail = store.account_mail();
    assert_eq!(
        mail.notification_prefs(gil).await.unwrap(),
        NotificationPrefs::default()
    );
    let target = mail.notification_target(gil).await.unwrap().unwrap();
    assert!(!target.reachable, "not confirmed yet");
    assert_eq!(target.unsubscribe_key, None);
    let key = mail.unsubscribe_key(gil, "key-1".into(), 1).await.unwrap();
    assert_eq!(key, "key-1");
    assert_eq!(
        mail.unsubscribe_key(gil, "key-2".into(), 2).await.unwrap(),
        "key-1",
        "kept"
    );

    let chosen = NotificationPrefs {
        reply: Delivery::Digest,
        featured: Delivery::Immediate,
        moderation: Delivery::Digest,
    };
    mail.set_notification_prefs(gil, chosen, "unused".into(), 3)
        .await
        .unwrap();
    assert_eq!(mail.notification_prefs(gil).await.unwrap(), chosen);
    assert_eq!(
        mail.unsubscribe("nope".into(), None, false, 4)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        mail.unsubscribe("key-1".into(), None, true, 4)
            .await
            .unwrap(),
        Some(gil)
    );
    let after = mail.notification_prefs(gil).await.unwrap();
    assert_eq!(
        (after.reply, after.featured, after.moderation),
        (Delivery::Off, Delivery::Immediate, Delivery::Off)
    );
    mail.unsubscribe("key-1".into(), Some(NotificationKind::Featured), false, 5)
        .await
        .unwrap();
    assert_eq!(
        mail.notification_prefs(gil).await.unwrap().featured,
        Delivery::Off
    );
    mail.mark_email_verified(gil, 6).await.unwrap();
    assert!(
        mail.notification_target(gil)
            .await
            .unwrap()
            .unwrap()
            .reachable
    );
}

async fn digest_items_are_taken_once_and_only_when_due(db: TestDb) {
    let store = db.store.clone();
    let (_, hal, _) = reader(store.as_ref(), "Hal Reader").await;
    let (_, ivy, _) = reader(store.as_ref(), "Ivy Reader").await;
    let mail = store.account_mail();
    mail.add_digest_item(hal, NotificationKind::Reply, 11, String::new(), 1_000)
        .await
        .unwrap();
    mail.add_digest_item(hal, NotificationKind::Featured, 12, String::new(), 5_000)
        .await
        .unwrap();
    mail.add_digest_item(
        ivy,
        NotificationKind::Moderation,
        13,
        "approved".into(),
        4_000,
    )
    .await
    .unwrap();
    // Hal's oldest is due at cutoff 1,000, Ivy's not yet: all of Hal's go, newer ones too.
    let taken = mail.take_due_digests(1_000, 10).await.unwrap();
    let hal_items: Vec<i64> = taken.iter().map(|i| i.comment_id).collect();
    assert_eq!(hal_items, [11, 12]);
    assert!(taken.iter().all(|i| i.user_id == hal));
    assert!(
        mail.take_due_digests(1_000, 10).await.unwrap().is_empty(),
        "taken once"
    );

    let take = |store: std::sync::Arc<dyn Store>| async move {
        store
            .account_mail()
            .take_due_digests(10_000, 10)
            .await
            .unwrap()
    };
    let (a, b) = tokio::join!(
        tokio::spawn(take(store.clone())),
        tokio::spawn(take(store.clone()))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "{a:?} {b:?}");
    let item = a.into_iter().chain(b).next().unwrap();
    assert_eq!(
        (item.user_id, item.comment_id, item.detail.as_str()),
        (ivy, 13, "approved")
    );
}
