//! Home feeds: fan-out on write, backfill after a follow, removal, the cap, mutes at read time;
//! list timelines.
mod common;

use common::{
    FOLLOW, Post, block, follow, follow_with, id, local, newest, remote, status_ids, store,
};
use kring_core::model::{List, Page};
use kring_core::time::now_micros;
use kring_core::{Id, Visibility};
use kring_store::{FEED_CAP, FanOut, FollowOptions, Store};

async fn recipients(store: &Store, entry: Id) -> Vec<Id> {
    let mut v = store.feed_recipients(entry).await.unwrap();
    v.sort();
    v
}

fn sorted(mut v: Vec<Id>) -> Vec<Id> {
    v.sort();
    v
}

#[tokio::test]
async fn fan_out_reaches_local_followers_only() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let b = local(&store, "other").await;
    let l1 = local(&store, "l1").await;
    let l2 = local(&store, "l2_no_boosts").await;
    let l3 = local(&store, "l3_blocks").await;
    let l4 = local(&store, "l4_follows_both").await;
    let r1 = remote(&store, "r1", "remote.example").await;
    follow(&store, l1.id, a.id).await;
    follow_with(
        &store,
        l2.id,
        a.id,
        FollowOptions {
            show_reblogs: false,
            notify: false,
        },
    )
    .await;
    follow(&store, l3.id, a.id).await;
    block(&store, l3.id, a.id).await;
    follow(&store, l4.id, a.id).await;
    follow(&store, l4.id, b.id).await;
    follow(&store, r1.id, a.id).await;

    // A plain post: every local follower except the one blocking the author.
    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        sorted(
            tx.fan_out_to_followers(s.id, a.id, false, None)
                .await
                .unwrap()
        ),
        sorted(vec![l1.id, l2.id, l4.id])
    );
    // Fanning out again adds nothing.
    assert_eq!(
        tx.fan_out_to_followers(s.id, a.id, false, None)
            .await
            .unwrap(),
        vec![]
    );
    tx.commit().await.unwrap();
    assert_eq!(
        recipients(&store, s.id).await,
        sorted(vec![l1.id, l2.id, l4.id])
    );

    // A boost: only followers showing boosts, and never the original's author.
    let l1_post = Post::new(&l1, Visibility::Public).insert(&store).await;
    let boost = Post::new(&a, Visibility::Public)
        .boost_of(&l1_post)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.fan_out_to_followers(boost.id, a.id, true, None)
            .await
            .unwrap(),
        vec![l4.id]
    );
    tx.commit().await.unwrap();
    assert_eq!(recipients(&store, boost.id).await, vec![l4.id]);

    // A reply to someone else: only followers of both.
    let b_post = Post::new(&b, Visibility::Public).insert(&store).await;
    let reply = Post::new(&a, Visibility::Public)
        .reply_to(&b_post)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.fan_out_to_followers(reply.id, a.id, false, Some(b.id))
            .await
            .unwrap(),
        vec![l4.id]
    );
    tx.commit().await.unwrap();
    assert_eq!(recipients(&store, reply.id).await, vec![l4.id]);

    // The feed shows them newest first, boosts as entries of their own.
    let feed = store.home_feed(l4.id, &newest(10)).await.unwrap();
    assert_eq!(status_ids(&feed), vec![reply.id, boost.id, s.id]);
    assert_eq!(feed[1].reblog_of_id, Some(l1_post.id));
    assert!(
        store
            .home_feed(r1.id, &newest(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .home_feed(l3.id, &newest(10))
            .await
            .unwrap()
            .is_empty()
    );

    // A fan-out in a rolled-back transaction leaves no entries.
    let t = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to_followers(t.id, a.id, false, None)
        .await
        .unwrap();
    drop(tx);
    assert!(recipients(&store, t.id).await.is_empty());
}

#[tokio::test]
async fn fan_out_to_named_accounts_skips_remote_ones() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let m = local(&store, "mentioned").await;
    let r = remote(&store, "far", "remote.example").await;
    let s = Post::new(&a, Visibility::Direct)
        .mention(&[m.id, r.id])
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    // It names whose feeds it went into: local accounts, once.
    assert_eq!(
        tx.fan_out_to(s.id, a.id, &[a.id, m.id, r.id, Id(424242)])
            .await
            .unwrap(),
        vec![a.id, m.id]
    );
    assert_eq!(tx.fan_out_to(s.id, a.id, &[m.id]).await.unwrap(), vec![]);
    assert_eq!(tx.fan_out_to(s.id, a.id, &[]).await.unwrap(), vec![]);
    tx.commit().await.unwrap();
    assert_eq!(recipients(&store, s.id).await, sorted(vec![a.id, m.id]));
    assert_eq!(
        status_ids(&store.home_feed(m.id, &newest(5)).await.unwrap()),
        vec![s.id]
    );
}

#[tokio::test]
async fn backfill_brings_what_the_new_follower_may_see() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let b = local(&store, "other").await;
    let f = local(&store, "fan").await;
    let g = local(&store, "gus").await;
    let x = local(&store, "blocked").await;

    let b_post = Post::new(&b, Visibility::Public).insert(&store).await;
    let public = Post::new(&a, Visibility::Public).insert(&store).await;
    let unlisted = Post::new(&a, Visibility::Unlisted).insert(&store).await;
    let private = Post::new(&a, Visibility::Private).insert(&store).await;
    let _direct = Post::new(&a, Visibility::Direct).insert(&store).await;
    let dm_to_f = Post::new(&a, Visibility::Direct)
        .mention(&[f.id])
        .insert(&store)
        .await;
    let _reply_other = Post::new(&a, Visibility::Public)
        .reply_to(&b_post)
        .insert(&store)
        .await;
    let self_reply = Post::new(&a, Visibility::Public)
        .reply_to(&public)
        .insert(&store)
        .await;

    follow(&store, f.id, a.id).await;
    let mut tx = store.begin().await.unwrap();
    tx.backfill_feed(f.id, a.id, 100).await.unwrap();
    // Idempotent.
    tx.backfill_feed(f.id, a.id, 100).await.unwrap();
    tx.commit().await.unwrap();
    let feed = store.home_feed(f.id, &newest(40)).await.unwrap();
    assert_eq!(
        status_ids(&feed),
        vec![
            self_reply.id,
            dm_to_f.id,
            private.id,
            unlisted.id,
            public.id
        ]
    );
    assert!(feed.iter().all(|s| s.account_id == a.id));

    // The limit keeps the newest.
    follow(&store, g.id, a.id).await;
    let mut tx = store.begin().await.unwrap();
    tx.backfill_feed(g.id, a.id, 2).await.unwrap();
    tx.commit().await.unwrap();
    let feed = store.home_feed(g.id, &newest(40)).await.unwrap();
    assert_eq!(status_ids(&feed), vec![self_reply.id, private.id]);

    // Someone the author blocks gets nothing, even after a follow.
    follow(&store, x.id, a.id).await;
    block(&store, a.id, x.id).await;
    let mut tx = store.begin().await.unwrap();
    tx.backfill_feed(x.id, a.id, 100).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.home_feed(x.id, &newest(40)).await.unwrap().is_empty());
}

#[tokio::test]
async fn remove_author_from_feed_leaves_others() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let f = local(&store, "fan").await;
    let g = local(&store, "gus").await;
    let a1 = Post::new(&a, Visibility::Public).insert(&store).await;
    let b1 = Post::new(&b, Visibility::Public).insert(&store).await;
    let a2 = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    for (s, author) in [(&a1, a.id), (&b1, b.id), (&a2, a.id)] {
        tx.fan_out_to(s.id, author, &[f.id, g.id]).await.unwrap();
    }
    tx.remove_author_from_feed(f.id, a.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        status_ids(&store.home_feed(f.id, &newest(10)).await.unwrap()),
        vec![b1.id]
    );
    assert_eq!(
        status_ids(&store.home_feed(g.id, &newest(10)).await.unwrap()),
        vec![a2.id, b1.id, a1.id]
    );

    // delete_feed_entries takes one entry out of every feed.
    let mut tx = store.begin().await.unwrap();
    tx.delete_feed_entries(b1.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.home_feed(f.id, &newest(10)).await.unwrap().is_empty());
    assert_eq!(
        status_ids(&store.home_feed(g.id, &newest(10)).await.unwrap()),
        vec![a2.id, a1.id]
    );
}

#[tokio::test]
async fn trim_feed_keeps_the_newest_cap_entries() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let u = local(&store, "busy").await;
    let v = local(&store, "quiet").await;

    // Entries need no statuses to be counted and trimmed.
    let entries: Vec<Id> = (0..FEED_CAP + 5).map(|_| id()).collect();
    let mut tx = store.begin().await.unwrap();
    for e in &entries {
        tx.fan_out_to(*e, a.id, &[u.id]).await.unwrap();
    }
    for e in &entries[..3] {
        tx.fan_out_to(*e, a.id, &[v.id]).await.unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(store.feeds_over_cap(Id(0), 10).await.unwrap(), vec![u.id]);
    // Only feeds that received entries after the cursor are looked at.
    let last = *entries.last().unwrap();
    assert!(store.feeds_over_cap(last, 10).await.unwrap().is_empty());
    assert_eq!(
        store
            .feeds_over_cap(entries[FEED_CAP as usize], 10)
            .await
            .unwrap(),
        vec![u.id]
    );

    let mut tx = store.begin().await.unwrap();
    tx.trim_feed(u.id).await.unwrap();
    tx.trim_feed(v.id).await.unwrap();
    tx.commit().await.unwrap();
    // The five oldest left the busy feed; the quiet one (under the cap) kept its three.
    for (i, e) in entries[..5].iter().enumerate() {
        let want = if i < 3 { vec![v.id] } else { vec![] };
        assert_eq!(recipients(&store, *e).await, want, "entry {i}");
    }
    assert_eq!(recipients(&store, entries[5]).await, vec![u.id]);
    assert_eq!(
        recipients(&store, *entries.last().unwrap()).await,
        vec![u.id]
    );
    assert!(store.feeds_over_cap(Id(0), 10).await.unwrap().is_empty());

    // Exactly at the cap, trimming removes nothing.
    let mut tx = store.begin().await.unwrap();
    tx.trim_feed(u.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recipients(&store, entries[5]).await, vec![u.id]);

    // The feed reads newest first from real statuses among the entries.
    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to(s.id, a.id, &[u.id]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        status_ids(&store.home_feed(u.id, &newest(5)).await.unwrap()),
        vec![s.id]
    );
}

#[tokio::test]
async fn home_feed_hides_muted_authors_at_read_time() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let f = local(&store, "fan").await;
    let a1 = Post::new(&a, Visibility::Public).insert(&store).await;
    let b1 = Post::new(&b, Visibility::Public).insert(&store).await;
    let a2 = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    for (s, author) in [(&a1, a.id), (&b1, b.id), (&a2, a.id)] {
        tx.fan_out_to(s.id, author, &[f.id]).await.unwrap();
    }
    tx.commit().await.unwrap();
    let feed = |store: Store| async move {
        status_ids(&store.home_feed(f.id, &newest(10)).await.unwrap())
    };
    assert_eq!(feed(store.clone()).await, vec![a2.id, b1.id, a1.id]);

    let mute = |until: Option<i64>| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.upsert_mute(f.id, a.id, false, until).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    mute(None).await;
    assert_eq!(feed(store.clone()).await, vec![b1.id]);
    // A mute that has not run out yet hides too.
    mute(Some(now_micros() + 3_600_000_000)).await;
    assert_eq!(feed(store.clone()).await, vec![b1.id]);
    // One that ran out does not.
    mute(Some(now_micros() - 1)).await;
    assert_eq!(feed(store.clone()).await, vec![a2.id, b1.id, a1.id]);

    mute(None).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_mute(f.id, a.id).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(feed(store.clone()).await, vec![a2.id, b1.id, a1.id]);

    // Paging forward from the oldest.
    let p = Page {
        min_id: Some(a1.id),
        ..newest(1)
    };
    assert_eq!(
        status_ids(&store.home_feed(f.id, &p).await.unwrap()),
        vec![b1.id]
    );
}

#[tokio::test]
async fn notify_subscribers_are_local_followers_asking_for_it() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let plain = local(&store, "plain").await;
    let bell = local(&store, "bell").await;
    let far = remote(&store, "far", "remote.example").await;
    let ring = FollowOptions {
        show_reblogs: true,
        notify: true,
    };
    follow(&store, plain.id, a.id).await;
    follow_with(&store, bell.id, a.id, ring).await;
    follow_with(&store, far.id, a.id, ring).await;
    assert_eq!(store.notify_subscribers(a.id).await.unwrap(), vec![bell.id]);
    // Re-following updates the options.
    follow_with(&store, bell.id, a.id, FOLLOW).await;
    follow_with(&store, plain.id, a.id, ring).await;
    assert_eq!(
        store.notify_subscribers(a.id).await.unwrap(),
        vec![plain.id]
    );
}

#[tokio::test]
async fn list_timeline_shows_members_posts_the_owner_may_see() {
    let (store, _g) = store().await;
    let owner = local(&store, "owner").await;
    let m1 = local(&store, "member1").await;
    let m2 = remote(&store, "member2", "remote.example").await;
    let other = local(&store, "other").await;
    follow(&store, owner.id, m1.id).await;

    let list = List {
        id: id(),
        account_id: owner.id,
        title: "friends".into(),
        replies_policy: "list".into(),
        exclusive: false,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_list(&list).await.unwrap();
    tx.add_list_member(list.id, m1.id).await.unwrap();
    tx.add_list_member(list.id, m2.id).await.unwrap();
    tx.commit().await.unwrap();

    let p1 = Post::new(&m1, Visibility::Public).insert(&store).await;
    let p2 = Post::new(&m1, Visibility::Private).insert(&store).await;
    let p3 = Post::new(&m2, Visibility::Public).insert(&store).await;
    let _p4 = Post::new(&m2, Visibility::Private).insert(&store).await;
    let _p5 = Post::new(&other, Visibility::Public).insert(&store).await;
    let p6 = Post::new(&m1, Visibility::Direct)
        .mention(&[owner.id])
        .insert(&store)
        .await;

    let got = store
        .list_timeline(owner.id, list.id, &newest(10))
        .await
        .unwrap();
    assert_eq!(status_ids(&got), vec![p6.id, p3.id, p2.id, p1.id]);
    let got = store
        .list_timeline(
            owner.id,
            list.id,
            &Page {
                max_id: Some(p3.id),
                ..newest(1)
            },
        )
        .await
        .unwrap();
    assert_eq!(status_ids(&got), vec![p2.id]);
}

/// SQLite never checkpoints inside a writer's commit (a fan-out would pay for it); the store
/// checkpoints in the background instead, so the write-ahead log is reused rather than grown
/// by every burst of writes.
#[tokio::test]
async fn sqlite_write_ahead_log_is_checkpointed_in_the_background() {
    let (store, guard) = store().await;
    if store.backend() != kring_store::Backend::Sqlite {
        return;
    }
    let wal = format!("{}-wal", guard.url.trim_start_matches("sqlite://"));
    let wal_size = || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let a = local(&store, "author").await;
    let mut readers = Vec::new();
    for i in 0..200 {
        readers.push(local(&store, &format!("reader{i}")).await.id);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let before = wal_size();
    // Ten bursts of 20,000 feed rows (~3 MB of log each, ~30 MB in all); the store restarts
    // the log once it passes 16 MB.
    for _ in 0..10 {
        let mut tx = store.begin().await.unwrap();
        for _ in 0..100 {
            tx.fan_out_to(id(), a.id, &readers).await.unwrap();
        }
        tx.commit().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    }
    let grown = wal_size().saturating_sub(before);
    assert!(
        grown < 22 * 1024 * 1024,
        "the log grew by {grown} bytes over ten bursts"
    );
}

async fn home_ids(store: &Store, account: Id) -> Vec<Id> {
    status_ids(&store.home_feed(account, &newest(20)).await.unwrap())
}

/// A feed row only records a delivery: reading the feed applies the audience rule again, so a
/// lost grant (a follow ended while the row stays, as when a removal races a delivery) hides
/// followers-only entries at once, and the reader's blocks and domain blocks hide the hidden
/// account's entries and boosts of its posts.
#[tokio::test]
async fn home_feed_rechecks_every_entry_when_read() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let f = local(&store, "reader").await;
    let b = local(&store, "booster").await;
    let r = remote(&store, "far", "far.example").await;
    follow(&store, f.id, a.id).await;
    let private = Post::new(&a, Visibility::Private).insert(&store).await;
    let public = Post::new(&a, Visibility::Public).insert(&store).await;
    let far = Post::new(&r, Visibility::Public).insert(&store).await;
    // A boost of another of far's posts: one of a post already in the feed would not be
    // delivered at all (see `a_boost_of_a_recent_entry_is_not_delivered_again`).
    let far_other = Post::new(&r, Visibility::Public).insert(&store).await;
    let boost = Post::new(&b, Visibility::Public)
        .boost_of(&far_other)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    for (entry, author) in [
        (private.id, a.id),
        (public.id, a.id),
        (far.id, r.id),
        (boost.id, b.id),
    ] {
        tx.fan_out_to(entry, author, &[f.id]).await.unwrap();
    }
    tx.commit().await.unwrap();
    let all = vec![boost.id, far.id, public.id, private.id];
    assert_eq!(home_ids(&store, f.id).await, all);

    let mut tx = store.begin().await.unwrap();
    tx.delete_follow(f.id, a.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        home_ids(&store, f.id).await,
        vec![boost.id, far.id, public.id],
        "no longer a follower"
    );

    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_domain_block(f.id, "far.example").await.unwrap());
    assert!(!tx.insert_domain_block(f.id, "far.example").await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        home_ids(&store, f.id).await,
        vec![public.id],
        "far.example blocked: its post and the boost of it"
    );
    let blocked = store.domain_blocks(f.id, &newest(10)).await.unwrap();
    assert_eq!(
        blocked.into_iter().map(|(_, d)| d).collect::<Vec<_>>(),
        vec!["far.example".to_string()]
    );
    let rel = store.relationship(f.id, r.id).await.unwrap();
    assert!(rel.domain_blocking && !rel.blocking);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_domain_block(f.id, "far.example").await.unwrap());
    tx.commit().await.unwrap();
    block(&store, f.id, b.id).await;
    assert_eq!(
        home_ids(&store, f.id).await,
        vec![far.id, public.id],
        "the booster blocked"
    );
}

/// A boost is not delivered where its original, or another boost of it, is among the feed's
/// `REBLOG_FALLOFF` newest entries (one copy of a post in what the reader is looking at); once
/// the original has fallen further back, a boost brings it to the top again.
#[tokio::test]
async fn a_boost_of_a_recent_entry_is_not_delivered_again() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let b = local(&store, "booster").await;
    let c = local(&store, "another").await;
    let f = local(&store, "reader").await;
    for target in [a.id, b.id, c.id] {
        follow(&store, f.id, target).await;
    }
    let post = Post::new(&a, Visibility::Public).insert(&store).await;
    let by_b = Post::new(&b, Visibility::Public)
        .boost_of(&post)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to(post.id, a.id, &[f.id]).await.unwrap();
    assert_eq!(
        tx.fan_out_to_followers(by_b.id, b.id, true, None)
            .await
            .unwrap(),
        vec![],
        "the original is in the feed"
    );
    tx.commit().await.unwrap();
    assert_eq!(home_ids(&store, f.id).await, vec![post.id]);

    // A post first seen as a boost: a second boost of it is not delivered either.
    let other = Post::new(&c, Visibility::Public).insert(&store).await;
    let first = Post::new(&b, Visibility::Public)
        .boost_of(&other)
        .insert(&store)
        .await;
    let second = Post::new(&a, Visibility::Public)
        .boost_of(&other)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to(first.id, b.id, &[f.id]).await.unwrap();
    tx.fan_out_to(second.id, a.id, &[f.id]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(home_ids(&store, f.id).await, vec![first.id, post.id]);

    // Forty newer entries later the original is old news, and a boost is delivered.
    for _ in 0..kring_store::REBLOG_FALLOFF {
        let p = Post::new(&a, Visibility::Public).insert(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.fan_out_to(p.id, a.id, &[f.id]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let late = Post::new(&c, Visibility::Public)
        .boost_of(&post)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.fan_out_to_followers(late.id, c.id, true, None)
            .await
            .unwrap(),
        vec![f.id]
    );
    tx.commit().await.unwrap();
    assert_eq!(home_ids(&store, f.id).await[0], late.id);
}

/// Run a fan-out batch by batch (each its own transaction), as the fan-out job does.
async fn fan_out_batches(
    store: &Store,
    entry: Id,
    author: Id,
    to: FanOut,
    limit: i64,
) -> (Vec<Id>, usize) {
    let (mut delivered, mut batches, mut after) = (Vec::new(), 0, Id(0));
    loop {
        let mut tx = store.begin().await.unwrap();
        let b = tx
            .fan_out_batch(entry, author, to, after, limit)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        batches += 1;
        // Every account at most once, and each batch only past the one before.
        assert!(
            b.delivered.iter().all(|d| *d > after),
            "{b:?} after {after:?}"
        );
        delivered.extend(b.delivered);
        match b.next {
            Some(n) => after = n,
            None => return (sorted(delivered), batches),
        }
        assert!(batches < 100, "the fan-out does not end");
    }
}

/// Run a fan-out as PostgreSQL's fan-out job does: `batches` batches of `limit` readers at a
/// time, their bounds read first, each batch its own transaction, all of a round at once.
/// Returns whom it delivered to and the rounds it took.
async fn fan_out_side_by_side(
    store: &Store,
    entry: Id,
    author: Id,
    to: FanOut,
    limit: i64,
    batches: i64,
) -> (Vec<Id>, usize) {
    let (mut delivered, mut rounds, mut after) = (Vec::new(), 0, Id(0));
    loop {
        let r = store
            .fan_out_ranges(entry, author, to, after, limit, batches)
            .await
            .unwrap();
        rounds += 1;
        assert!(r.ends.len() as i64 <= batches, "{r:?}");
        assert!(r.ends.windows(2).all(|w| w[0] < w[1]), "{r:?}");
        let mut running = Vec::new();
        let starts = std::iter::once(after).chain(r.ends.iter().copied());
        for (from, upto) in starts.zip(r.ends.iter().copied()) {
            let store = store.clone();
            running.push(tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let d = tx
                    .fan_out_range(entry, author, to, from, upto)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                // Only the batch's own readers.
                assert!(d.iter().all(|d| *d > from && *d <= upto), "{d:?}");
                d
            }));
        }
        for batch in running {
            delivered.extend(batch.await.unwrap());
        }
        match r.ends.last() {
            Some(&last) if r.more => after = last,
            _ => return (sorted(delivered), rounds),
        }
        assert!(rounds < 100, "the fan-out does not end");
    }
}

#[tokio::test]
async fn fan_out_in_batches_reaches_what_one_fan_out_reaches() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let mut want = Vec::new();
    for i in 0..7 {
        let f = local(&store, &format!("f{i}")).await;
        follow(&store, f.id, a.id).await;
        want.push(f.id);
    }
    // Not delivered to: a follower who blocks the author, a remote follower.
    let blocker = local(&store, "blocker").await;
    follow(&store, blocker.id, a.id).await;
    block(&store, blocker.id, a.id).await;
    let r = remote(&store, "r", "remote.example").await;
    follow(&store, r.id, a.id).await;
    let to = FanOut::Followers {
        boost: false,
        reply_to_other: None,
    };

    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let (delivered, batches) = fan_out_batches(&store, s.id, a.id, to, 3).await;
    assert_eq!(delivered, sorted(want.clone()));
    // 8 local followers in batches of 3 (the blocker is counted for the bounds, not served).
    assert_eq!(batches, 3);
    assert_eq!(recipients(&store, s.id).await, sorted(want.clone()));
    // Again: every feed has it already, so nobody is told twice.
    let (again, _) = fan_out_batches(&store, s.id, a.id, to, 3).await;
    assert!(again.is_empty(), "{again:?}");

    // Side by side, as on PostgreSQL: the same readers; two rounds of up to two batches of
    // three (the blocker counted for the bounds again); nobody told twice.
    let u = Post::new(&a, Visibility::Public).insert(&store).await;
    let (delivered, rounds) = fan_out_side_by_side(&store, u.id, a.id, to, 3, 2).await;
    assert_eq!(delivered, sorted(want.clone()));
    assert_eq!(rounds, 2);
    let (again, _) = fan_out_side_by_side(&store, u.id, a.id, to, 3, 2).await;
    assert!(again.is_empty(), "{again:?}");
    // Exactly as many readers as one round takes: a second round finds none.
    let (delivered, rounds) = fan_out_side_by_side(&store, u.id, a.id, to, 4, 2).await;
    assert!(delivered.is_empty(), "{delivered:?}");
    assert_eq!(rounds, 2);

    // The same as all at once.
    let t = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to_followers(t.id, a.id, false, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        recipients(&store, t.id).await,
        recipients(&store, s.id).await
    );

    // A boost in batches: not to followers who hide boosts.
    let quiet = local(&store, "no_boosts").await;
    follow_with(
        &store,
        quiet.id,
        a.id,
        FollowOptions {
            show_reblogs: false,
            notify: false,
        },
    )
    .await;
    let other = local(&store, "other").await;
    let orig = Post::new(&other, Visibility::Public).insert(&store).await;
    let boost = Post::new(&a, Visibility::Public)
        .boost_of(&orig)
        .insert(&store)
        .await;
    let boost_to = FanOut::Followers {
        boost: true,
        reply_to_other: None,
    };
    let (delivered, _) = fan_out_batches(&store, boost.id, a.id, boost_to, 2).await;
    assert_eq!(delivered, sorted(want));
}

#[tokio::test]
async fn fan_out_in_batches_to_a_narrowed_audience() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let mut friends = Vec::new();
    for i in 0..5 {
        let f = local(&store, &format!("friend{i}")).await;
        follow(&store, f.id, a.id).await;
        follow(&store, a.id, f.id).await;
        friends.push(f.id);
    }
    // A follower who is not followed back is no friend.
    let fan = local(&store, "fan").await;
    follow(&store, fan.id, a.id).await;
    let s = Post::new(&a, Visibility::Friends).insert(&store).await;
    let (delivered, batches) = fan_out_batches(&store, s.id, a.id, FanOut::Audience, 2).await;
    assert_eq!(delivered, sorted(friends.clone()));
    assert_eq!(batches, 3);
    // Side by side: the same friends, and not the fan.
    let u = Post::new(&a, Visibility::Friends).insert(&store).await;
    let (delivered, rounds) =
        fan_out_side_by_side(&store, u.id, a.id, FanOut::Audience, 2, 2).await;
    assert_eq!(delivered, sorted(friends.clone()));
    assert_eq!(rounds, 2);
    // The same as all at once.
    let t = Post::new(&a, Visibility::Friends).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to_audience(t.id, a.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(recipients(&store, t.id).await, sorted(friends));
}

/// A post deleted while its fan-out runs: the batches after the delete write nothing, and
/// whichever of a batch and the delete goes first, no feed keeps the post.
#[tokio::test]
async fn deleting_a_post_while_it_fans_out() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    for i in 0..6 {
        let f = local(&store, &format!("f{i}")).await;
        follow(&store, f.id, a.id).await;
    }
    let to = FanOut::Followers {
        boost: false,
        reply_to_other: None,
    };
    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    let first = tx.fan_out_batch(s.id, a.id, to, Id(0), 2).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.delivered.len(), 2);
    let next = first.next.expect("more to go");

    // A batch in flight while the post is deleted: the delete waits for it (PostgreSQL: the
    // batch holds the post's row; SQLite: the write lock), then removes its entries too.
    let mut batch = store.begin().await.unwrap();
    let second = batch.fan_out_batch(s.id, a.id, to, next, 2).await.unwrap();
    assert_eq!(second.delivered.len(), 2);
    let deleting = {
        let store = store.clone();
        let s = s.clone();
        tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.delete_status(&s).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    batch.commit().await.unwrap();
    deleting.await.unwrap();
    assert!(recipients(&store, s.id).await.is_empty());

    // The batches after the delete find nothing to do, and say the fan-out is over.
    let mut tx = store.begin().await.unwrap();
    let after = tx
        .fan_out_batch(s.id, a.id, to, second.next.unwrap_or(next), 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(after, kring_store::FanOutBatch::default());
    // So do batches of known bounds.
    let mut tx = store.begin().await.unwrap();
    let range = tx
        .fan_out_range(s.id, a.id, to, Id(0), Id(i64::MAX))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(range.is_empty(), "{range:?}");
    assert!(recipients(&store, s.id).await.is_empty());
}
