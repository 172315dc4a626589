//! Notifications (type filters, paging), markers, filters, lists, settings and rules.
mod common;

use common::{Post, id, local, newest, store};
use kring_core::model::{
    Filter, FilterAction, FilterKeyword, FilterStatus, List, Notification, NotificationType, Page,
};
use kring_core::time::now_micros;
use kring_core::{Id, Visibility};
use kring_store::Store;

async fn notify(store: &Store, to: Id, kind: NotificationType, from: Id, status: Option<Id>) -> Id {
    let n = Notification {
        id: id(),
        account_id: to,
        kind,
        from_account_id: from,
        status_id: status,
        group_id: None,
        report_id: None,
        created_at: now_micros(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_notification(&n).await.unwrap();
    tx.commit().await.unwrap();
    n.id
}

async fn listed(
    store: &Store,
    account: Id,
    types: &[NotificationType],
    from: Option<Id>,
    page: &Page,
) -> Vec<Id> {
    store
        .notifications(account, types, from, page)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect()
}

#[tokio::test]
async fn notifications_filter_by_type_and_sender_and_page() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let s = Post::new(&me, Visibility::Public).insert(&store).await;
    use NotificationType::*;

    let n1 = notify(&store, me.id, Follow, b.id, None).await;
    let n2 = notify(&store, me.id, Favourite, b.id, Some(s.id)).await;
    let n3 = notify(&store, me.id, Mention, c.id, Some(s.id)).await;
    let n4 = notify(&store, me.id, Reblog, c.id, Some(s.id)).await;
    let n5 = notify(&store, me.id, Favourite, c.id, Some(s.id)).await;
    let other = notify(&store, b.id, Follow, me.id, None).await;

    let all = store
        .notifications(me.id, &[], None, &newest(20))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![n5, n4, n3, n2, n1]
    );
    assert_eq!(all[0].kind, Favourite);
    assert_eq!(all[0].from_account_id, c.id);
    assert_eq!(all[0].status_id, Some(s.id));
    assert_eq!(all[4].status_id, None);

    assert_eq!(
        listed(&store, me.id, &[Favourite], None, &newest(20)).await,
        vec![n5, n2]
    );
    assert_eq!(
        listed(&store, me.id, &[Follow, Mention], None, &newest(20)).await,
        vec![n3, n1]
    );
    assert!(
        listed(&store, me.id, &[Update], None, &newest(20))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&store, me.id, &[], Some(b.id), &newest(20)).await,
        vec![n2, n1]
    );
    assert_eq!(
        listed(&store, me.id, &[Favourite], Some(c.id), &newest(20)).await,
        vec![n5]
    );

    // Paging.
    let p = |max: Option<Id>, since: Option<Id>, min: Option<Id>, limit: usize| Page {
        max_id: max,
        since_id: since,
        min_id: min,
        limit,
    };
    assert_eq!(
        listed(&store, me.id, &[], None, &newest(2)).await,
        vec![n5, n4]
    );
    assert_eq!(
        listed(&store, me.id, &[], None, &p(Some(n4), None, None, 2)).await,
        vec![n3, n2]
    );
    assert_eq!(
        listed(&store, me.id, &[], None, &p(None, None, Some(n1), 2)).await,
        vec![n3, n2]
    );
    assert_eq!(
        listed(&store, me.id, &[], None, &p(None, Some(n1), None, 2)).await,
        vec![n5, n4]
    );
    assert_eq!(
        listed(
            &store,
            me.id,
            &[Favourite],
            None,
            &p(Some(n5), None, None, 5)
        )
        .await,
        vec![n2]
    );

    // One notification, only for its owner.
    assert_eq!(
        store.notification(me.id, n3).await.unwrap().map(|n| n.kind),
        Some(Mention)
    );
    assert!(store.notification(b.id, n3).await.unwrap().is_none());
    assert!(store.notification(me.id, other).await.unwrap().is_none());

    // Unread counts: all without a marker, those after the marker with one, capped.
    assert_eq!(store.unread_notifications(me.id, 100).await.unwrap(), 5);
    store.set_marker(me.id, "notifications", n2).await.unwrap();
    assert_eq!(store.unread_notifications(me.id, 100).await.unwrap(), 3);
    assert_eq!(store.unread_notifications(me.id, 2).await.unwrap(), 2);
    // Markers only move forward this way.
    store
        .advance_marker(me.id, "notifications", n1)
        .await
        .unwrap();
    assert_eq!(store.unread_notifications(me.id, 100).await.unwrap(), 3);
    store
        .advance_marker(me.id, "notifications", n4)
        .await
        .unwrap();
    assert_eq!(store.unread_notifications(me.id, 100).await.unwrap(), 1);
    store.set_marker(me.id, "notifications", n2).await.unwrap();
    // Another timeline's marker does not count.
    store.set_marker(me.id, "home", n5).await.unwrap();
    assert_eq!(store.unread_notifications(me.id, 100).await.unwrap(), 3);
    // Bob has his own one, and no marker.
    assert_eq!(store.unread_notifications(b.id, 100).await.unwrap(), 1);

    // A web page's menu reads the same count with the others, in one statement.
    let badges = store.badges(me.id, false, 100).await.unwrap();
    assert_eq!(
        badges,
        kring_store::Badges {
            unread_notifications: 3,
            ..Default::default()
        }
    );
    assert_eq!(
        store
            .badges(me.id, false, 2)
            .await
            .unwrap()
            .unread_notifications,
        2
    );
    // Reports are counted for staff only; the title is the admins' setting.
    store
        .set_setting("title", "Kring by the lake")
        .await
        .unwrap();
    let staff = store.badges(me.id, true, 100).await.unwrap();
    assert_eq!(staff.open_reports, Some(0));
    assert_eq!(staff.title.as_deref(), Some("Kring by the lake"));
}

#[tokio::test]
async fn notifications_are_removed_by_cause_dismissal_and_clearing() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    let s1 = Post::new(&me, Visibility::Public).insert(&store).await;
    let s2 = Post::new(&me, Visibility::Public).insert(&store).await;
    use NotificationType::*;
    let _f1 = notify(&store, me.id, Favourite, b.id, Some(s1.id)).await;
    let f2 = notify(&store, me.id, Favourite, b.id, Some(s2.id)).await;
    let fo = notify(&store, me.id, Follow, b.id, None).await;
    let fo2 = notify(&store, b.id, Follow, me.id, None).await;

    // Un-favouriting s1 removes that one only.
    let mut tx = store.begin().await.unwrap();
    tx.delete_notifications(me.id, Favourite, b.id, Some(s1.id))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        listed(&store, me.id, &[], None, &newest(10)).await,
        vec![fo, f2]
    );

    // An unfollow removes the follow notification (no status).
    let mut tx = store.begin().await.unwrap();
    tx.delete_notifications(me.id, Follow, b.id, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        listed(&store, me.id, &[], None, &newest(10)).await,
        vec![f2]
    );

    // Dismiss only one's own.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.dismiss_notification(b.id, f2).await.unwrap());
    assert!(tx.dismiss_notification(me.id, f2).await.unwrap());
    assert!(!tx.dismiss_notification(me.id, f2).await.unwrap());
    tx.commit().await.unwrap();
    assert!(
        listed(&store, me.id, &[], None, &newest(10))
            .await
            .is_empty()
    );

    // Clearing touches one account.
    notify(&store, me.id, Mention, b.id, Some(s2.id)).await;
    let mut tx = store.begin().await.unwrap();
    tx.clear_notifications(me.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        listed(&store, me.id, &[], None, &newest(10))
            .await
            .is_empty()
    );
    assert_eq!(
        listed(&store, b.id, &[], None, &newest(10)).await,
        vec![fo2]
    );

    // Deleting a status takes its notifications with it.
    let n = notify(&store, me.id, Reblog, b.id, Some(s2.id)).await;
    assert_eq!(listed(&store, me.id, &[], None, &newest(10)).await, vec![n]);
    let mut tx = store.begin().await.unwrap();
    tx.delete_status(&s2).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        listed(&store, me.id, &[], None, &newest(10))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn page_limits_clamp_to_between_1_and_1000() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    let mut tx = store.begin().await.unwrap();
    for _ in 0..1005 {
        tx.insert_notification(&Notification {
            id: id(),
            account_id: me.id,
            kind: NotificationType::Follow,
            from_account_id: b.id,
            status_id: None,
            group_id: None,
            report_id: None,
            created_at: now_micros(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    for (limit, want) in [
        (0, 1),
        (1, 1),
        (40, 40),
        (1000, 1000),
        (1001, 1000),
        (usize::MAX, 1000),
    ] {
        let got = store
            .notifications(me.id, &[], None, &newest(limit))
            .await
            .unwrap();
        assert_eq!(got.len(), want, "limit {limit}");
        assert!(got.windows(2).all(|w| w[0].id > w[1].id));
    }
}

#[tokio::test]
async fn markers_upsert_and_count_versions() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    assert!(store.markers(me.id).await.unwrap().is_empty());

    store.set_marker(me.id, "home", Id(100)).await.unwrap();
    let m = store.markers(me.id).await.unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].timeline.as_str(), m[0].last_read_id, m[0].version),
        ("home", Id(100), 1)
    );
    let first_update = m[0].updated_at;

    store.set_marker(me.id, "home", Id(200)).await.unwrap();
    store.set_marker(me.id, "home", Id(300)).await.unwrap();
    store
        .set_marker(me.id, "notifications", Id(7))
        .await
        .unwrap();
    store.set_marker(b.id, "home", Id(1)).await.unwrap();
    let mut m = store.markers(me.id).await.unwrap();
    m.sort_by(|x, y| x.timeline.cmp(&y.timeline));
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].timeline.as_str(), m[0].last_read_id, m[0].version),
        ("home", Id(300), 3)
    );
    assert!(m[0].updated_at >= first_update);
    assert_eq!(
        (m[1].timeline.as_str(), m[1].last_read_id, m[1].version),
        ("notifications", Id(7), 1)
    );
    let theirs = store.markers(b.id).await.unwrap();
    assert_eq!((theirs.len(), theirs[0].version), (1, 1));
}

fn filter(
    account: Id,
    title: &str,
    action: FilterAction,
    keywords: &[(Id, &str, bool)],
    statuses: &[(Id, Id)],
) -> Filter {
    Filter {
        id: id(),
        account_id: account,
        title: title.into(),
        context: vec!["home".into(), "public".into()],
        action,
        expires_at: None,
        keywords: keywords
            .iter()
            .map(|&(id, k, w)| FilterKeyword {
                id,
                keyword: k.into(),
                whole_word: w,
            })
            .collect(),
        statuses: statuses
            .iter()
            .map(|&(id, status_id)| FilterStatus { id, status_id })
            .collect(),
    }
}

#[tokio::test]
async fn filters_save_replace_and_delete() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    let s = Post::new(&b, Visibility::Public).insert(&store).await;
    let (k1, k2, fs) = (id(), id(), id());
    let mut f = filter(
        me.id,
        "spoilers",
        FilterAction::Warn,
        &[(k1, "finale", true), (k2, "season 3", false)],
        &[(fs, s.id)],
    );
    let g = filter(
        b.id,
        "theirs",
        FilterAction::Hide,
        &[(id(), "x", false)],
        &[],
    );
    let mut tx = store.begin().await.unwrap();
    tx.save_filter(&f).await.unwrap();
    tx.save_filter(&g).await.unwrap();
    tx.commit().await.unwrap();

    let got = store.filters(me.id).await.unwrap();
    assert_eq!(got.len(), 1);
    let got = &got[0];
    assert_eq!(got.id, f.id);
    assert_eq!(got.account_id, me.id);
    assert_eq!(got.title, "spoilers");
    assert_eq!(got.context, vec!["home", "public"]);
    assert_eq!(got.action, FilterAction::Warn);
    assert_eq!(got.expires_at, None);
    assert_eq!(
        got.keywords
            .iter()
            .map(|k| (k.id, k.keyword.as_str(), k.whole_word))
            .collect::<Vec<_>>(),
        vec![(k1, "finale", true), (k2, "season 3", false)]
    );
    assert_eq!(
        got.statuses
            .iter()
            .map(|s| (s.id, s.status_id))
            .collect::<Vec<_>>(),
        vec![(fs, s.id)]
    );

    // Saving again replaces the whole filter, keywords and statuses included (ids reused).
    f.title = "no spoilers".into();
    f.action = FilterAction::Blur;
    f.context = vec!["thread".into()];
    f.expires_at = Some(now_micros() + 1_000_000);
    f.keywords.truncate(1);
    f.keywords[0].whole_word = false;
    f.statuses.clear();
    let mut tx = store.begin().await.unwrap();
    tx.save_filter(&f).await.unwrap();
    tx.commit().await.unwrap();
    let got = store.filters(me.id).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].title, "no spoilers");
    assert_eq!(got[0].action, FilterAction::Blur);
    assert_eq!(got[0].context, vec!["thread"]);
    assert_eq!(got[0].expires_at, f.expires_at);
    assert_eq!(got[0].keywords.len(), 1);
    assert_eq!(got[0].keywords[0].id, k1);
    assert!(!got[0].keywords[0].whole_word);
    assert!(got[0].statuses.is_empty());

    // A second filter lists after the first.
    let h = filter(
        me.id,
        "later",
        FilterAction::Hide,
        &[(k2, "season 3", false)],
        &[(fs, s.id)],
    );
    let mut tx = store.begin().await.unwrap();
    tx.save_filter(&h).await.unwrap();
    tx.commit().await.unwrap();
    let got = store.filters(me.id).await.unwrap();
    assert_eq!(
        got.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![f.id, h.id]
    );
    assert_eq!(got[1].keywords.len(), 1);
    assert_eq!(got[1].statuses.len(), 1);

    // Deleting: only the owner's, and its keywords go with it.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.delete_filter(b.id, f.id).await.unwrap());
    assert!(tx.delete_filter(me.id, f.id).await.unwrap());
    assert!(!tx.delete_filter(me.id, f.id).await.unwrap());
    tx.commit().await.unwrap();
    let got = store.filters(me.id).await.unwrap();
    assert_eq!(got.iter().map(|f| f.id).collect::<Vec<_>>(), vec![h.id]);
    // The deleted filter's keyword id is free again.
    let again = filter(
        me.id,
        "again",
        FilterAction::Warn,
        &[(k1, "finale", true)],
        &[],
    );
    let mut tx = store.begin().await.unwrap();
    tx.save_filter(&again).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.filters(me.id).await.unwrap().len(), 2);
    assert_eq!(store.filters(b.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn lists_and_members() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let other = local(&store, "other").await;
    let mk = |owner: Id, title: &str| List {
        id: id(),
        account_id: owner,
        title: title.into(),
        replies_policy: "list".into(),
        exclusive: false,
    };
    let mut l1 = mk(me.id, "friends");
    let l2 = mk(me.id, "work");
    let l3 = mk(other.id, "theirs");
    let mut tx = store.begin().await.unwrap();
    for l in [&l1, &l2, &l3] {
        tx.insert_list(l).await.unwrap();
    }
    tx.add_list_member(l1.id, b.id).await.unwrap();
    tx.add_list_member(l1.id, b.id).await.unwrap();
    tx.add_list_member(l1.id, c.id).await.unwrap();
    tx.add_list_member(l2.id, b.id).await.unwrap();
    tx.add_list_member(l3.id, b.id).await.unwrap();
    tx.commit().await.unwrap();

    let ids = |v: Vec<List>| v.into_iter().map(|l| l.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.lists_of(me.id).await.unwrap()),
        vec![l1.id, l2.id]
    );
    assert_eq!(ids(store.lists_of(b.id).await.unwrap()), Vec::<Id>::new());
    let got = store.list(l1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.title.as_str(),
            got.replies_policy.as_str(),
            got.exclusive
        ),
        ("friends", "list", false)
    );
    assert!(store.list(Id(9)).await.unwrap().is_none());
    let members: Vec<Id> = store
        .list_members(l1.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(members, vec![b.id, c.id]);
    assert_eq!(store.list_members(l1.id, 1).await.unwrap().len(), 1);
    assert_eq!(
        ids(store.lists_with_member(me.id, b.id).await.unwrap()),
        vec![l1.id, l2.id]
    );
    let mut containing = store.list_ids_containing(b.id).await.unwrap();
    containing.sort();
    let mut want = vec![l1.id, l2.id, l3.id];
    want.sort();
    assert_eq!(containing, want);

    l1.title = "besties".into();
    l1.replies_policy = "followed".into();
    l1.exclusive = true;
    let mut tx = store.begin().await.unwrap();
    tx.update_list(&l1).await.unwrap();
    tx.remove_list_member(l1.id, c.id).await.unwrap();
    tx.commit().await.unwrap();
    let got = store.list(l1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.title.as_str(),
            got.replies_policy.as_str(),
            got.exclusive
        ),
        ("besties", "followed", true)
    );
    assert_eq!(store.list_members(l1.id, 10).await.unwrap().len(), 1);

    // After an unfollow: out of all of the owner's lists, not other owners'.
    let mut tx = store.begin().await.unwrap();
    tx.remove_from_owner_lists(me.id, b.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        store
            .lists_with_member(me.id, b.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.list_ids_containing(b.id).await.unwrap(), vec![l3.id]);

    // Deleting a list drops its members.
    let mut tx = store.begin().await.unwrap();
    tx.delete_list(l3.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.list(l3.id).await.unwrap().is_none());
    assert!(store.list_ids_containing(b.id).await.unwrap().is_empty());
    assert!(store.list_members(l3.id, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn settings_and_rules() {
    let (store, _g) = store().await;
    assert_eq!(store.setting("title").await.unwrap(), None);
    store.set_setting("title", "Kring").await.unwrap();
    store.set_setting("title", "Kring test").await.unwrap();
    assert_eq!(
        store.setting("title").await.unwrap().as_deref(),
        Some("Kring test")
    );

    let r1 = store.add_rule("Be kind", "").await.unwrap();
    let r2 = store.add_rule("No spam", "really").await.unwrap();
    let rules = store.rules().await.unwrap();
    assert_eq!(rules.iter().map(|r| r.id).collect::<Vec<_>>(), vec![r1, r2]);
    assert_eq!(rules[1].hint, "really");
    assert!(store.delete_rule(r1).await.unwrap());
    assert!(!store.delete_rule(r1).await.unwrap());
    assert_eq!(store.rules().await.unwrap().len(), 1);
}
