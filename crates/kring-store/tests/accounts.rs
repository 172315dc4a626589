//! Accounts and users: insertion, look-ups, the unique handle, search, counters.
mod common;

use common::{Post, insert_account, local, new_account, remote, store};
use kring_core::model::Role;
use kring_core::{Error, Id, Visibility};
use kring_store::{PostCounts, PreferencesUpdate, ProfileUpdate, RemoteCounts};

#[tokio::test]
async fn insert_and_look_up_by_id_handle_and_uri() {
    let (store, _g) = store().await;
    let alice = local(&store, "Alice").await;
    let bob = remote(&store, "bob", "Remote.Example").await;

    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.domain, None);
    assert_eq!(alice.uri, "https://kring.test/users/Alice");
    assert_eq!(
        (
            alice.followers_count,
            alice.following_count,
            alice.statuses_count
        ),
        (0, 0, 0)
    );
    assert!(alice.created_at > 0 && alice.updated_at == alice.created_at);
    // Domains are stored lowercased.
    assert_eq!(bob.domain.as_deref(), Some("remote.example"));

    // By id; unknown ids are None.
    assert_eq!(store.account(alice.id).await.unwrap().unwrap().id, alice.id);
    assert!(store.account(Id(1)).await.unwrap().is_none());

    // By handle, case-insensitively in username and domain; local and remote are separate.
    for name in ["alice", "ALICE", "aLiCe"] {
        let a = store.account_by_handle(name, None).await.unwrap();
        assert_eq!(a.map(|a| a.id), Some(alice.id), "{name}");
    }
    assert!(
        store
            .account_by_handle("alice", Some("remote.example"))
            .await
            .unwrap()
            .is_none()
    );
    let b = store
        .account_by_handle("BOB", Some("REMOTE.example"))
        .await
        .unwrap();
    assert_eq!(b.map(|a| a.id), Some(bob.id));
    assert!(
        store
            .account_by_handle("bob", None)
            .await
            .unwrap()
            .is_none()
    );

    // By uri, exactly.
    assert_eq!(
        store.account_by_uri(&bob.uri).await.unwrap().map(|a| a.id),
        Some(bob.id)
    );
    assert!(
        store
            .account_by_uri("https://remote.example/users/nobody")
            .await
            .unwrap()
            .is_none()
    );

    // By ids: unknown ones are skipped.
    let mut found: Vec<Id> = store
        .accounts_by_ids(&[alice.id, bob.id, Id(7)])
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    found.sort();
    let mut want = vec![alice.id, bob.id];
    want.sort();
    assert_eq!(found, want);
    assert!(store.accounts_by_ids(&[]).await.unwrap().is_empty());

    // Only the local account has a user.
    let user = store.user(alice.id).await.unwrap().expect("user");
    assert_eq!(user.email, "Alice@kring.test");
    assert_eq!(user.role, Role::User);
    assert!(store.user(bob.id).await.unwrap().is_none());
    assert_eq!(
        store
            .user_by_email("alice@KRING.test")
            .await
            .unwrap()
            .map(|u| u.account_id),
        Some(alice.id)
    );
    assert_eq!(store.local_user_count().await.unwrap(), 1);
    assert_eq!(store.known_domain_count().await.unwrap(), 1);
}

#[tokio::test]
async fn unique_handle_and_uri_conflict() {
    let (store, _g) = store().await;
    local(&store, "alice").await;

    // The same username in another case is the same handle.
    let mut dup = new_account("ALICE", None);
    dup.uri = "https://kring.test/users/ALICE-2".into();
    let mut tx = store.begin().await.unwrap();
    let err = tx.insert_account(&dup).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    drop(tx);

    // The same username on another server is another account.
    remote(&store, "alice", "remote.example").await;
    let mut again = new_account("Alice", Some("REMOTE.example"));
    again.uri = "https://remote.example/users/alice-2".into();
    let mut tx = store.begin().await.unwrap();
    let err = tx.insert_account(&again).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    drop(tx);

    // The uri is unique too.
    let mut same_uri = new_account("carol", Some("remote.example"));
    same_uri.uri = "https://kring.test/users/alice".into();
    let mut tx = store.begin().await.unwrap();
    let err = tx.insert_account(&same_uri).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    drop(tx);

    // Emails are unique regardless of case.
    let bob = new_account("bob", None);
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&bob).await.unwrap();
    let mut user = common::new_user("bob");
    user.email = "ALICE@kring.test".into();
    let err = tx.insert_user(bob.id, &user).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    drop(tx);

    // The failed transactions left nothing behind.
    assert!(store.account(bob.id).await.unwrap().is_none());
    assert_eq!(store.local_user_count().await.unwrap(), 1);
}

#[tokio::test]
async fn search_is_a_prefix_match_with_like_wildcards_escaped() {
    let (store, _g) = store().await;
    let names = ["a_b", "axb", "a%c", "abc", "ab\\d", "abxd", "zed", "Quinn"];
    let mut by_name = std::collections::HashMap::new();
    for n in names {
        by_name.insert(n, local(&store, n).await.id);
    }
    let search = |q: &'static str| {
        let store = store.clone();
        async move {
            let mut v: Vec<String> = store
                .search_accounts(q, None, None, 40, 0)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.username)
                .collect();
            v.sort();
            v
        }
    };

    // `_` and `%` in a query are literal characters, not wildcards.
    assert_eq!(search("a_").await, vec!["a_b"]);
    assert_eq!(search("a%").await, vec!["a%c"]);
    assert_eq!(search("ab\\").await, vec!["ab\\d"]);
    assert!(search("%").await.is_empty());
    assert!(search("_").await.is_empty());
    // Prefix, not substring; case-insensitive.
    assert_eq!(search("ab").await, vec!["ab\\d", "abc", "abxd"]);
    assert!(search("bc").await.is_empty());
    assert_eq!(search("QUI").await, vec!["Quinn"]);
    assert_eq!(search("quinn").await, vec!["Quinn"]);

    // Display names match too.
    let mut tx = store.begin().await.unwrap();
    tx.update_profile(
        by_name["zed"],
        &ProfileUpdate {
            display_name: Some("Zebra 100% Real".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(search("zebra 100%").await, vec!["zed"]);
    assert!(search("zebra 1000").await.is_empty());

    // Limit and offset.
    let all = store.search_accounts("a", None, None, 40, 0).await.unwrap();
    assert_eq!(all.len(), 6);
    let first = store.search_accounts("a", None, None, 2, 0).await.unwrap();
    let second = store.search_accounts("a", None, None, 2, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(second.len(), 2);
    assert!(first.iter().all(|a| second.iter().all(|b| b.id != a.id)));

    // Suspended accounts are not found.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_suspended(by_name["abc"], true).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(search("ab").await, vec!["ab\\d", "abxd"]);
}

#[tokio::test]
async fn search_ranks_local_first_and_filters_by_domain_and_following() {
    let (store, _g) = store().await;
    let far = remote(&store, "sam", "far.example").await;
    let near = local(&store, "samantha").await;
    let other = remote(&store, "sammy", "other.example").await;
    let viewer = local(&store, "viewer").await;

    let found = store
        .search_accounts("sam", None, None, 10, 0)
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].id, near.id, "local accounts first");

    let found = store
        .search_accounts("sam", Some("FAR.example"), None, 10, 0)
        .await
        .unwrap();
    assert_eq!(found.iter().map(|a| a.id).collect::<Vec<_>>(), vec![far.id]);

    assert!(
        store
            .search_accounts("sam", None, Some(viewer.id), 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    common::follow(&store, viewer.id, other.id).await;
    let found = store
        .search_accounts("sam", None, Some(viewer.id), 10, 0)
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![other.id]
    );
}

#[tokio::test]
async fn counters_never_go_negative() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;

    let mut tx = store.begin().await.unwrap();
    tx.bump_counts(a.id, -1, -5, -3).await.unwrap();
    tx.commit().await.unwrap();
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(
        (now.followers_count, now.following_count, now.statuses_count),
        (0, 0, 0)
    );

    let mut tx = store.begin().await.unwrap();
    tx.bump_counts(a.id, 2, 1, 0).await.unwrap();
    tx.bump_counts(a.id, -3, 1, 0).await.unwrap();
    tx.commit().await.unwrap();
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!((now.followers_count, now.following_count), (0, 2));

    // Posting and deleting keep statuses_count and last_status_at.
    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let now = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(now.statuses_count, 1);
    assert_eq!(now.last_status_at, Some(s.created_at));
    let mut tx = store.begin().await.unwrap();
    tx.delete_status(&s).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.account(a.id).await.unwrap().unwrap().statuses_count,
        0
    );
    // A second decrement (say, a duplicate delete from a remote server) stays at zero.
    let mut tx = store.begin().await.unwrap();
    tx.bump_counts(a.id, 0, 0, -1).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.account(a.id).await.unwrap().unwrap().statuses_count,
        0
    );
}

#[tokio::test]
async fn profile_preferences_roles_and_suspension() {
    let (store, _g) = store().await;
    let mut na = new_account("alice", None);
    na.private_key_pem = Some("PRIVATE".into());
    let a = insert_account(&store, na).await;
    let pending = {
        let na = new_account("pending", None);
        let mut tx = store.begin().await.unwrap();
        tx.insert_account(&na).await.unwrap();
        let mut u = common::new_user("pending");
        u.approved = false;
        u.reason = Some("let me in".into());
        tx.insert_user(na.id, &u).await.unwrap();
        tx.commit().await.unwrap();
        na.id
    };
    assert_eq!(
        store.private_key_pem(a.id).await.unwrap().as_deref(),
        Some("PRIVATE")
    );
    assert_eq!(store.private_key_pem(pending).await.unwrap(), None);
    assert_eq!(store.private_key_pem(Id(1)).await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    tx.update_profile(
        a.id,
        &ProfileUpdate {
            display_name: Some("Alice A.".into()),
            note: Some(("hi".into(), "<p>hi</p>".into())),
            bot: Some(true),
            locked: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.update_preferences(
        a.id,
        &PreferencesUpdate {
            default_visibility: Some(Visibility::Private),
            default_sensitive: Some(true),
            default_language: Some(Some("nl".into())),
        },
    )
    .await
    .unwrap();
    assert!(tx.set_role(a.id, Role::Admin).await.unwrap());
    tx.set_password_hash(a.id, "new-hash").await.unwrap();
    tx.commit().await.unwrap();

    let acct = store.account(a.id).await.unwrap().unwrap();
    assert_eq!(acct.display_name, "Alice A.");
    assert_eq!(
        (acct.note.as_str(), acct.note_html.as_str()),
        ("hi", "<p>hi</p>")
    );
    assert!(acct.bot && acct.locked && acct.discoverable);
    let user = store.user(a.id).await.unwrap().unwrap();
    assert_eq!(user.default_visibility, Visibility::Private);
    assert!(user.default_sensitive);
    assert_eq!(user.default_language.as_deref(), Some("nl"));
    assert_eq!(user.role, Role::Admin);
    assert_eq!(user.password_hash, "new-hash");

    // Clearing the language.
    let mut tx = store.begin().await.unwrap();
    tx.update_preferences(
        a.id,
        &PreferencesUpdate {
            default_language: Some(None),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.user(a.id).await.unwrap().unwrap().default_language,
        None
    );

    // Pending users and approval.
    let waiting = store.users(true, 10).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].0.id, pending);
    assert_eq!(waiting[0].1.reason.as_deref(), Some("let me in"));
    assert_eq!(store.users(false, 10).await.unwrap().len(), 2);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_approved(pending).await.unwrap());
    assert!(!tx.set_approved(Id(1)).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.users(true, 10).await.unwrap().is_empty());

    // Suspension is recorded and can be lifted.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.set_suspended(a.id, true).await.unwrap());
    tx.commit().await.unwrap();
    assert!(
        store
            .account(a.id)
            .await
            .unwrap()
            .unwrap()
            .suspended_at
            .is_some()
    );
    let mut tx = store.begin().await.unwrap();
    tx.set_suspended(a.id, false).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .account(a.id)
            .await
            .unwrap()
            .unwrap()
            .suspended_at
            .is_none()
    );
}

/// A fresh server has no admin until an account is given the role (the web interface then
/// stops explaining how to become the first one).
#[tokio::test]
async fn has_admin_once_an_account_has_the_role() {
    let (store, _g) = store().await;
    assert!(!store.has_admin().await.unwrap());
    let a = local(&store, "first").await;
    let _ = remote(&store, "far", "far.example").await;
    assert!(!store.has_admin().await.unwrap());
    let mut tx = store.begin().await.unwrap();
    tx.set_role(a.id, Role::Moderator).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        !store.has_admin().await.unwrap(),
        "a moderator is not an admin"
    );
    let mut tx = store.begin().await.unwrap();
    tx.set_role(a.id, Role::Admin).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.has_admin().await.unwrap());
}

#[tokio::test]
async fn what_remote_servers_say_of_their_accounts_and_posts() {
    let (store, _g) = store().await;
    let alice = local(&store, "alice").await;
    let bob = remote(&store, "bob", "remote.example").await;
    common::follow(&store, alice.id, bob.id).await;
    assert_eq!(
        store
            .account(bob.id)
            .await
            .unwrap()
            .unwrap()
            .followers_count,
        1
    );

    // Shown: the larger of the count here and the remote one, at once (the cache drops it).
    let set = async |who: kring_core::Id, counts: RemoteCounts, at: i64| {
        let mut tx = store.begin().await.unwrap();
        tx.set_remote_counts(who, &counts, at).await.unwrap();
        tx.commit().await.unwrap();
        store.account(who).await.unwrap().unwrap()
    };
    let said = RemoteCounts {
        followers: Some(10),
        following: Some(3),
        statuses: None,
    };
    let b = set(bob.id, said, 1234).await;
    assert_eq!(
        (b.followers_count, b.following_count, b.statuses_count),
        (10, 3, 0)
    );
    assert_eq!(b.collections_fetched_at, Some(1234));
    // A count not given keeps the last one; a smaller remote count leaves the local one.
    let said = RemoteCounts {
        followers: None,
        following: Some(0),
        statuses: Some(2),
    };
    let b = set(bob.id, said, 5678).await;
    assert_eq!(
        (b.followers_count, b.following_count, b.statuses_count),
        (10, 0, 2)
    );
    for _ in 0..3 {
        Post::new(&bob, Visibility::Public).insert(&store).await;
    }
    assert_eq!(
        store.account(bob.id).await.unwrap().unwrap().statuses_count,
        3
    );
    // Local accounts have no remote numbers.
    let a = set(alice.id, said, 1).await;
    assert_eq!((a.statuses_count, a.collections_fetched_at), (0, None));

    // An older post arriving later does not move the last post's date back.
    let last = store.account(bob.id).await.unwrap().unwrap().last_status_at;
    let mut old = Post::new(&bob, Visibility::Public).build();
    old.created_at = 1_000_000;
    let mut tx = store.begin().await.unwrap();
    tx.insert_status(&old).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.account(bob.id).await.unwrap().unwrap().last_status_at,
        last
    );

    // A remote post's counters rise to what its server says, never fall by it.
    let post = Post::new(&bob, Visibility::Public).insert(&store).await;
    let raise = async |id: kring_core::Id, c: PostCounts| {
        let mut tx = store.begin().await.unwrap();
        tx.raise_post_counts(id, &c).await.unwrap();
        tx.commit().await.unwrap();
        let s = store.status(id).await.unwrap().unwrap();
        (s.replies_count, s.reblogs_count, s.favourites_count)
    };
    let said = PostCounts {
        replies: Some(5),
        reblogs: None,
        favourites: Some(2),
    };
    assert_eq!(raise(post.id, said).await, (5, 0, 2));
    let said = PostCounts {
        replies: Some(1),
        reblogs: Some(4),
        favourites: Some(-3),
    };
    assert_eq!(raise(post.id, said).await, (5, 4, 2));
    // Local posts count for themselves.
    let own = Post::new(&alice, Visibility::Public).insert(&store).await;
    assert_eq!(raise(own.id, said).await, (0, 0, 0));
}

/// A new post changes only its author's post counters: `account` reads them exact at once,
/// `account_ignoring_counts` may keep the copy from before, but any other change to the
/// account reaches both at once.
#[tokio::test]
async fn a_copy_ignoring_counts_never_outlives_another_change() {
    let (store, _g) = store().await;
    let far = remote(&store, "far", "remote.example").await;
    // In memory, then a post.
    assert_eq!(
        store.account(far.id).await.unwrap().unwrap().statuses_count,
        0
    );
    Post::new(&far, Visibility::Public).insert(&store).await;
    assert_eq!(
        store.account(far.id).await.unwrap().unwrap().statuses_count,
        1
    );
    let kept = store
        .account_ignoring_counts(far.id)
        .await
        .unwrap()
        .unwrap();
    assert!(kept.statuses_count <= 1);
    assert_eq!(kept.uri, far.uri);
    // Another post, then a change to more than the counters: both reads see that change.
    Post::new(&far, Visibility::Public).insert(&store).await;
    let moved = vec!["https://elsewhere.example/users/far".to_string()];
    let mut tx = store.begin().await.unwrap();
    tx.set_also_known_as(far.id, &moved).await.unwrap();
    tx.commit().await.unwrap();
    let exact = store.account(far.id).await.unwrap().unwrap();
    assert_eq!((exact.statuses_count, &exact.also_known_as), (2, &moved));
    let kept = store
        .account_ignoring_counts(far.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.also_known_as, moved);
    // The same through another process's relay (`forget_accounts`).
    Post::new(&far, Visibility::Public).insert(&store).await;
    store.forget_accounts(&kring_store::Changed::Counted(vec![far.id]));
    assert!(
        store
            .account_ignoring_counts(far.id)
            .await
            .unwrap()
            .is_some()
    );
    store.forget_accounts(&kring_store::Changed::Accounts(vec![far.id]));
    let mut tx = store.begin().await.unwrap();
    tx.set_also_known_as(far.id, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let kept = store.accounts_ignoring_counts(&[far.id]).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert!(kept[0].also_known_as.is_empty());
    assert_eq!(
        store.account(far.id).await.unwrap().unwrap().statuses_count,
        3
    );
}

#[tokio::test]
async fn a_page_s_accounts_are_the_copies_kept_in_memory() {
    let (store, _g) = store().await;
    let a = local(&store, "shared").await;
    let b = remote(&store, "sharedfar", "remote.example").await;
    // Read from the database (not in memory yet), then from memory: the same copies, so
    // what a caller kept from the first read is recognised by its pointer (the API's kept
    // renderings compare accounts that way before comparing every field).
    store.forget_accounts(&kring_store::Changed::All);
    let first = store.shared_accounts_by_ids(&[a.id, b.id]).await.unwrap();
    let again = store.shared_accounts_by_ids(&[b.id, a.id]).await.unwrap();
    assert_eq!(first.len(), 2);
    for f in &first {
        let g = again.iter().find(|g| g.id == f.id).unwrap();
        assert!(std::sync::Arc::ptr_eq(f, g), "{} read twice", f.username);
    }
    // A change gives a new copy.
    let mut tx = store.begin().await.unwrap();
    tx.set_also_known_as(a.id, &["https://elsewhere.example/users/a".to_string()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let changed = store.shared_accounts_by_ids(&[a.id]).await.unwrap();
    let before = first.iter().find(|f| f.id == a.id).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&changed[0], before));
    assert_eq!(changed[0].also_known_as.len(), 1);
}
