//! Single sign-on storage on both backends: a token id signs in once, a newsroom id
//! stays linked to one account whose email and name follow the token, an existing
//! account with the token's email is taken over, clashing names get a number, and used
//! token ids are swept after they expire.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod common;

use common::*;
use parley_core::thread::CommentStatus;
use parley_core::{CommentSort, Role};
use parley_store::StoreError;
use parley_store::sso::SsoLogin;

on_both!(
    a_token_id_signs_in_once_and_the_link_follows_the_reader,
    an_account_with_the_tokens_email_is_taken_over,
    a_taken_name_gets_a_number_and_roles_apply_only_when_given,
    used_token_ids_are_swept_after_they_expire,
    badges_come_with_the_comments_and_changes_bump_their_stories,
);

fn login(site_id: i64, sub: &str, email: &str, name: &str, jti: &str) -> SsoLogin {
    SsoLogin {
        site_id,
        external_id: sub.into(),
        email: email.into(),
        display_name: name.into(),
        role: None,
        badges: vec!["Subscriber".into()],
        token_id: jti.into(),
        token_expires_at: T0 + 300_000,
        now: T0,
    }
}

async fn a_token_id_signs_in_once_and_the_link_follows_the_reader(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let sso = store.sso();
    let first = sso
        .sso_sign_in(login(w.site.id, "r-1", "dora@news.example", "Dora", "j1"))
        .await
        .unwrap()
        .user;
    assert_eq!(first.display_name, "Dora");
    assert_eq!(first.role, Role::Reader);
    assert_eq!(
        sso.sso_external_id(first.id).await.unwrap().as_deref(),
        Some("r-1")
    );

    let again = sso
        .sso_sign_in(login(w.site.id, "r-1", "dora@news.example", "Dora", "j1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            again,
            StoreError::Refused {
                code: "sso_replayed",
                ..
            }
        ),
        "{again:?}"
    );

    let renamed = sso
        .sso_sign_in(login(
            w.site.id,
            "r-1",
            "dora@new.example",
            "Dora Dee",
            "j2",
        ))
        .await
        .unwrap()
        .user;
    assert_eq!(renamed.id, first.id);
    assert_eq!(renamed.email, "dora@new.example");
    assert_eq!(renamed.display_name, "Dora Dee");
}

async fn an_account_with_the_tokens_email_is_taken_over(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let user = store
        .sso()
        .sso_sign_in(login(w.site.id, "r-9", &w.alice.email, "Alice", "j1"))
        .await
        .unwrap()
        .user;
    assert_eq!(user.id, w.alice.id);
    // Another newsroom id with the same email cannot take the linked account.
    let err = store
        .sso()
        .sso_sign_in(login(w.site.id, "r-10", &w.alice.email, "Alicia", "j2"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "email_taken",
                ..
            }
        ),
        "{err:?}"
    );
}

async fn a_taken_name_gets_a_number_and_roles_apply_only_when_given(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let user = store
        .sso()
        .sso_sign_in(login(w.site.id, "r-2", "b2@news.example", "bob", "j1"))
        .await
        .unwrap()
        .user;
    assert_eq!(user.display_name, "bob 2");
    let mut promoted = login(w.site.id, "r-2", "b2@news.example", "bob", "j2");
    promoted.role = Some(Role::Staff);
    let user = store.sso().sso_sign_in(promoted).await.unwrap().user;
    assert_eq!(user.role, Role::Staff);
    assert_eq!(user.display_name, "bob 2");
    let user = store
        .sso()
        .sso_sign_in(login(w.site.id, "r-2", "b2@news.example", "bob", "j3"))
        .await
        .unwrap()
        .user;
    assert_eq!(user.role, Role::Staff, "no role claim keeps the role");
}

async fn used_token_ids_are_swept_after_they_expire(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    store
        .sso()
        .sso_sign_in(login(w.site.id, "r-3", "c3@news.example", "Cee", "j1"))
        .await
        .unwrap();
    assert_eq!(store.sso().sweep_sso_tokens(T0 + 300_000).await.unwrap(), 0);
    assert_eq!(store.sso().sweep_sso_tokens(T0 + 300_001).await.unwrap(), 1);
}

async fn badges_come_with_the_comments_and_changes_bump_their_stories(db: TestDb) {
    let store = db.store.as_ref();
    let w = world(store).await;
    let mine = post(store, w.story.id, &w.alice, None, "Before the link").await;
    let reply = post(store, w.story.id, &w.bob, Some(mine.id), "A reply").await;
    assert!(comment(store, mine.id).await.author_badges.is_empty());
    assert!(comment(store, reply.id).await.author_badges.is_empty());
    let version = story(store, w.story.id).await.version;

    // Alice's account is taken over by the token: her comments gain its badges.
    let mut first = login(w.site.id, "r-5", &w.alice.email, "Alice", "j1");
    first.badges = vec!["Subscriber".into(), "<b>Gold</b>".into()];
    let signed = store.sso().sso_sign_in(first).await.unwrap();
    assert_eq!(signed.user.id, w.alice.id);
    assert_eq!(signed.changed_stories, vec![w.story.id]);
    assert_eq!(story(store, w.story.id).await.version, version + 1);
    let shown = comment(store, mine.id).await;
    assert_eq!(shown.author_badges, ["Subscriber", "<b>Gold</b>"]);
    let page = store
        .top_level_page(w.story.id, CommentSort::Oldest, None, 10)
        .await
        .unwrap();
    assert_eq!(page[0].author_badges, ["Subscriber", "<b>Gold</b>"]);
    let replies = store.replies_for_roots(&[mine.id], 5, 5).await.unwrap();
    assert!(replies[0].author_badges.is_empty(), "Bob has none");

    // The same name and badges again change no page.
    let mut same = login(w.site.id, "r-5", &w.alice.email, "Alice", "j2");
    same.badges = vec!["Subscriber".into(), "<b>Gold</b>".into()];
    let signed = store.sso().sso_sign_in(same).await.unwrap();
    assert!(signed.changed_stories.is_empty());
    assert_eq!(story(store, w.story.id).await.version, version + 1);

    // Other badges replace them.
    let mut other = login(w.site.id, "r-5", &w.alice.email, "Alice", "j3");
    other.badges = vec!["Columnist".into()];
    let signed = store.sso().sso_sign_in(other).await.unwrap();
    assert_eq!(signed.changed_stories, vec![w.story.id]);
    assert_eq!(comment(store, mine.id).await.author_badges, ["Columnist"]);

    // A tombstone shows no author, and no badges.
    store
        .delete_comment(mine.id, w.alice.id, T0 + 2_000)
        .await
        .unwrap();
    let tomb = store.public_comment(mine.id).await.unwrap().unwrap();
    assert_eq!(tomb.status, CommentStatus::Deleted);
    assert!(tomb.author_badges.is_empty());
    let page = store
        .top_level_page(w.story.id, CommentSort::Oldest, None, 10)
        .await
        .unwrap();
    assert_eq!(page[0].id, mine.id);
    assert!(page[0].author_badges.is_empty());
}
