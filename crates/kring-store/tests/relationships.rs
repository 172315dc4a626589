//! Follows, follow requests, blocks, mutes (with expiry), endorsements, notes; the relationship
//! flags; edge listings paged by the edge's id.
mod common;

use common::{FOLLOW, block, follow, follow_with, local, newest, remote, store};
use kring_core::Id;
use kring_core::model::{Account, Page};
use kring_core::time::now_micros;
use kring_store::{Edge, FollowOptions, Store};

async fn edge(store: &Store, e: Edge, subject: Id, page: &Page) -> Vec<(Id, Id)> {
    store
        .edge_accounts(e, subject, page)
        .await
        .unwrap()
        .into_iter()
        .map(|(edge, a)| (edge, a.id))
        .collect()
}

fn accounts(v: &[(Id, Id)]) -> Vec<Id> {
    v.iter().map(|(_, a)| *a).collect()
}

#[tokio::test]
async fn follow_and_unfollow() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;

    let r = store.relationship(a.id, b.id).await.unwrap();
    assert_eq!(r.id, b.id);
    assert!(!r.following && !r.followed_by && !r.showing_reblogs && !r.notifying);

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.insert_follow(a.id, b.id, FOLLOW, Some("https://kring.test/follows/1"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(store.follows(a.id, b.id).await.unwrap());
    assert!(!store.follows(b.id, a.id).await.unwrap());
    // A page's authors at once, either way: only the follow that exists.
    let c = local(&store, "carol").await;
    assert_eq!(
        store.follows_between(a.id, &[b.id, c.id]).await.unwrap(),
        vec![(a.id, b.id)]
    );
    assert_eq!(
        store.follows_between(b.id, &[a.id]).await.unwrap(),
        vec![(a.id, b.id)]
    );
    assert!(
        store
            .follows_between(c.id, &[a.id, b.id])
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.follows_between(a.id, &[]).await.unwrap().is_empty());
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.following && r.showing_reblogs && !r.notifying && !r.followed_by);
    let r = store.relationship(b.id, a.id).await.unwrap();
    assert!(!r.following && r.followed_by);

    // Following again changes the options and reports no new follow.
    let mut tx = store.begin().await.unwrap();
    let again = tx
        .insert_follow(
            a.id,
            b.id,
            FollowOptions {
                show_reblogs: false,
                notify: true,
            },
            None,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!again);
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.following && !r.showing_reblogs && r.notifying);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_follow(a.id, b.id).await.unwrap());
    assert!(!tx.delete_follow(a.id, b.id).await.unwrap());
    tx.commit().await.unwrap();
    assert!(!store.follows(a.id, b.id).await.unwrap());
    assert!(!store.relationship(a.id, b.id).await.unwrap().following);
}

#[tokio::test]
async fn follow_requests() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "locked").await;
    let c = remote(&store, "carl", "remote.example").await;
    let opts = FollowOptions {
        show_reblogs: false,
        notify: true,
    };

    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.insert_follow_request(a.id, b.id, opts, None)
            .await
            .unwrap()
    );
    assert!(
        !tx.insert_follow_request(a.id, b.id, FOLLOW, None)
            .await
            .unwrap()
    );
    assert!(
        tx.insert_follow_request(c.id, b.id, FOLLOW, Some("https://remote.example/f/1"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    assert!(store.has_follow_request(a.id, b.id).await.unwrap());
    assert!(!store.has_follow_request(b.id, a.id).await.unwrap());

    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.requested && !r.following);
    // A pending request shows the requested options as Mastodon does.
    assert!(r.showing_reblogs);
    let r = store.relationship(b.id, a.id).await.unwrap();
    assert!(r.requested_by && !r.requested);

    let reqs = edge(&store, Edge::FollowRequests, b.id, &newest(10)).await;
    assert_eq!(accounts(&reqs), vec![c.id, a.id]);

    // Taking a request returns its options and removes it.
    let mut tx = store.begin().await.unwrap();
    let (o, uri) = tx.take_follow_request(a.id, b.id).await.unwrap().unwrap();
    assert!(!o.show_reblogs && o.notify);
    assert_eq!(uri, None);
    assert!(tx.take_follow_request(a.id, b.id).await.unwrap().is_none());
    let (_, uri) = tx.take_follow_request(c.id, b.id).await.unwrap().unwrap();
    assert_eq!(uri.as_deref(), Some("https://remote.example/f/1"));
    tx.commit().await.unwrap();
    assert!(!store.has_follow_request(a.id, b.id).await.unwrap());
    assert!(
        edge(&store, Edge::FollowRequests, b.id, &newest(10))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn blocks() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;

    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_block(a.id, b.id).await.unwrap());
    assert!(!tx.insert_block(a.id, b.id).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.blocks(a.id, b.id).await.unwrap());
    assert!(!store.blocks(b.id, a.id).await.unwrap());
    assert!(store.blocked_either(a.id, b.id).await.unwrap());
    assert!(store.blocked_either(b.id, a.id).await.unwrap());
    assert!(!store.blocked_either(a.id, c.id).await.unwrap());
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.blocking && !r.blocked_by);
    let r = store.relationship(b.id, a.id).await.unwrap();
    assert!(!r.blocking && r.blocked_by);
    assert_eq!(
        accounts(&edge(&store, Edge::Blocks, a.id, &newest(10)).await),
        vec![b.id]
    );

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_block(a.id, b.id).await.unwrap());
    assert!(!tx.delete_block(a.id, b.id).await.unwrap());
    tx.commit().await.unwrap();
    assert!(!store.blocked_either(a.id, b.id).await.unwrap());
    assert!(!store.relationship(a.id, b.id).await.unwrap().blocking);
}

#[tokio::test]
async fn mutes_and_their_expiry() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let d = local(&store, "dave").await;
    let upsert = |target: Id, notifications: bool, until: Option<i64>| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.upsert_mute(a.id, target, notifications, until)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    };

    assert_eq!(store.mute(a.id, b.id).await.unwrap(), None);
    upsert(b.id, true, None).await;
    assert_eq!(store.mute(a.id, b.id).await.unwrap(), Some(true));
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.muting && r.muting_notifications);
    assert!(!store.relationship(b.id, a.id).await.unwrap().muting);

    // Upserting changes the options in place.
    upsert(b.id, false, None).await;
    assert_eq!(store.mute(a.id, b.id).await.unwrap(), Some(false));
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.muting && !r.muting_notifications);

    // A mute that runs out later is a mute now.
    upsert(c.id, true, Some(now_micros() + 3_600_000_000)).await;
    assert_eq!(store.mute(a.id, c.id).await.unwrap(), Some(true));
    assert!(store.relationship(a.id, c.id).await.unwrap().muting);

    // One that ran out is no mute, wherever it is read.
    let soon = now_micros() + 20_000;
    upsert(d.id, true, Some(soon)).await;
    assert_eq!(store.mute(a.id, d.id).await.unwrap(), Some(true));
    common::wait_past(soon).await;
    assert_eq!(store.mute(a.id, d.id).await.unwrap(), None);
    let r = store.relationship(a.id, d.id).await.unwrap();
    assert!(!r.muting && !r.muting_notifications, "{r:?}");
    let listed = accounts(&edge(&store, Edge::Mutes, a.id, &newest(10)).await);
    assert_eq!(listed, vec![c.id, b.id]);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_mute(a.id, b.id).await.unwrap());
    assert!(!tx.delete_mute(a.id, b.id).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(store.mute(a.id, b.id).await.unwrap(), None);
    assert!(!store.relationship(a.id, b.id).await.unwrap().muting);
}

#[tokio::test]
async fn endorsements_and_notes() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_endorsement(a.id, b.id).await.unwrap();
    tx.insert_endorsement(a.id, b.id).await.unwrap();
    tx.set_note(a.id, b.id, "met at the conference")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(r.endorsed);
    assert_eq!(r.note, "met at the conference");
    assert_eq!(store.relationship(b.id, a.id).await.unwrap().note, "");
    assert_eq!(
        accounts(&edge(&store, Edge::Endorsements, a.id, &newest(10)).await),
        vec![b.id]
    );

    let mut tx = store.begin().await.unwrap();
    tx.set_note(a.id, b.id, "").await.unwrap();
    assert!(tx.delete_endorsement(a.id, b.id).await.unwrap());
    assert!(!tx.delete_endorsement(a.id, b.id).await.unwrap());
    tx.commit().await.unwrap();
    let r = store.relationship(a.id, b.id).await.unwrap();
    assert!(!r.endorsed);
    assert_eq!(r.note, "");
}

#[tokio::test]
async fn edge_accounts_page_by_edge_id() {
    let (store, _g) = store().await;
    let star = local(&store, "star").await;
    let mut fans: Vec<Account> = Vec::new();
    for i in 0..5 {
        let f = local(&store, &format!("fan{i}")).await;
        follow(&store, f.id, star.id).await;
        fans.push(f);
    }
    // Account ids and edge ids are ordered differently: the first account follows last.
    let late = local(&store, "late").await;
    let early = &fans[0];
    let mut tx = store.begin().await.unwrap();
    tx.delete_follow(early.id, star.id).await.unwrap();
    tx.commit().await.unwrap();
    follow(&store, early.id, star.id).await;
    follow(&store, late.id, star.id).await;

    let all = edge(&store, Edge::Followers, star.id, &newest(40)).await;
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0].0 > w[1].0), "newest edge first");
    assert_eq!(all[0].1, late.id);
    assert_eq!(all[1].1, early.id);

    let p = |max: Option<usize>, since: Option<usize>, min: Option<usize>, limit: usize| Page {
        max_id: max.map(|i| all[i].0),
        since_id: since.map(|i| all[i].0),
        min_id: min.map(|i| all[i].0),
        limit,
    };
    let pick = |idx: &[usize]| idx.iter().map(|&i| all[i]).collect::<Vec<_>>();
    assert_eq!(
        edge(&store, Edge::Followers, star.id, &newest(2)).await,
        pick(&[0, 1])
    );
    assert_eq!(
        edge(&store, Edge::Followers, star.id, &p(Some(1), None, None, 2)).await,
        pick(&[2, 3])
    );
    assert_eq!(
        edge(&store, Edge::Followers, star.id, &p(None, None, Some(5), 2)).await,
        pick(&[3, 4])
    );
    assert_eq!(
        edge(
            &store,
            Edge::Followers,
            star.id,
            &p(None, Some(2), None, 40)
        )
        .await,
        pick(&[0, 1])
    );

    // The other direction.
    assert_eq!(
        accounts(&edge(&store, Edge::Following, early.id, &newest(10)).await),
        vec![star.id]
    );
    assert!(
        edge(&store, Edge::Following, star.id, &newest(10))
            .await
            .is_empty()
    );

    // Suspended accounts are left out of listings.
    let mut tx = store.begin().await.unwrap();
    tx.set_suspended(late.id, true).await.unwrap();
    tx.commit().await.unwrap();
    let now = edge(&store, Edge::Followers, star.id, &newest(40)).await;
    assert_eq!(now, all[1..].to_vec());
}

#[tokio::test]
async fn familiar_and_local_followers() {
    let (store, _g) = store().await;
    let viewer = local(&store, "viewer").await;
    let target = local(&store, "target").await;
    let x = local(&store, "x").await;
    let y = local(&store, "y").await;
    let r = remote(&store, "r", "remote.example").await;
    follow(&store, viewer.id, x.id).await;
    follow(&store, viewer.id, y.id).await;
    follow(&store, viewer.id, r.id).await;
    follow(&store, x.id, target.id).await;
    follow(&store, r.id, target.id).await;

    let fam: Vec<Id> = store
        .familiar_followers(viewer.id, target.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(fam, vec![r.id, x.id]);
    assert_eq!(
        store
            .familiar_followers(viewer.id, target.id, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    let mut locals = store.local_follower_ids(target.id).await.unwrap();
    locals.sort();
    assert_eq!(locals, vec![x.id]);
    block(&store, viewer.id, y.id).await;
    assert!(store.blocks(viewer.id, y.id).await.unwrap());
    follow_with(&store, y.id, target.id, FOLLOW).await;
    let mut locals = store.local_follower_ids(target.id).await.unwrap();
    locals.sort();
    let mut want = vec![x.id, y.id];
    want.sort();
    assert_eq!(locals, want);
}

#[tokio::test]
async fn reaches_elsewhere_only_for_a_remote_follower_or_account() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let r = remote(&store, "rita", "remote.test").await;
    follow(&store, b.id, a.id).await;
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.reaches_elsewhere(Some(a.id), 10, &[]).await.unwrap(),
        "only local followers"
    );
    assert!(!tx.reaches_elsewhere(Some(a.id), 10, &[b.id]).await.unwrap());
    assert!(!tx.reaches_elsewhere(None, 10, &[a.id, b.id]).await.unwrap());
    tx.commit().await.unwrap();
    // More followers than it looks at: the distribution decides.
    let c = local(&store, "carol").await;
    follow(&store, c.id, a.id).await;
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.reaches_elsewhere(Some(a.id), 2, &[]).await.unwrap());
    assert!(
        tx.reaches_elsewhere(Some(a.id), 1, &[]).await.unwrap(),
        "more followers than examined"
    );
    assert!(
        tx.reaches_elsewhere(Some(a.id), 10, &[b.id, r.id])
            .await
            .unwrap(),
        "a remote account named"
    );
    assert!(tx.reaches_elsewhere(None, 10, &[r.id]).await.unwrap());
    // A follow written in the same transaction counts.
    tx.insert_follow(r.id, a.id, FOLLOW, Some("https://remote.test/follows/1"))
        .await
        .unwrap();
    assert!(
        tx.reaches_elsewhere(Some(a.id), 10, &[]).await.unwrap(),
        "a remote follower"
    );
    assert!(!tx.reaches_elsewhere(Some(b.id), 10, &[]).await.unwrap());
    tx.commit().await.unwrap();
}
