//! Statuses and the one audience predicate: who reads what, in every read path; public and tag
//! timelines; threads; paging; marks, idempotency keys, edits and deletion.
mod common;

use std::collections::HashSet;

use common::{Post, block, follow, local, newest, remote, status_ids, store};
use kring_core::model::{Account, Page, Status};
use kring_core::{Id, Visibility};
use kring_store::{AccountStatusesFilter, Locality, Mark, Shown, Store};

const VISIBILITIES: [Visibility; 4] = [
    Visibility::Public,
    Visibility::Unlisted,
    Visibility::Private,
    Visibility::Direct,
];

/// An author, a follower of the author, an account the posts mention, a stranger.
struct Cast {
    author: Account,
    follower: Account,
    mentioned: Account,
    stranger: Account,
}

async fn cast(store: &Store) -> Cast {
    let c = Cast {
        author: local(store, "author").await,
        follower: local(store, "follower").await,
        mentioned: local(store, "mentioned").await,
        stranger: local(store, "stranger").await,
    };
    follow(store, c.follower.id, c.author.id).await;
    c
}

/// One post per visibility, each mentioning `mentioned`.
async fn posts(store: &Store, c: &Cast) -> Vec<Status> {
    let mut out = Vec::new();
    for v in VISIBILITIES {
        out.push(
            Post::new(&c.author, v)
                .mention(&[c.mentioned.id])
                .insert(store)
                .await,
        );
    }
    out
}

/// Which of `posts` (in VISIBILITIES order) `viewer` may read, by every read path.
async fn readable(store: &Store, viewer: Option<Id>, author: Id, posts: &[Status]) -> Vec<bool> {
    let ids = status_ids(posts);
    let batch = store.visible_ids(viewer, &ids).await.unwrap();
    let rows: HashSet<Id> = store
        .visible_statuses_by_ids(viewer, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        rows, batch,
        "visible_statuses_by_ids and visible_ids disagree"
    );
    let listed: HashSet<Id> = store
        .account_statuses(
            viewer,
            author,
            AccountStatusesFilter::default(),
            None,
            &newest(40),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut out = Vec::new();
    for p in posts {
        let single = store.visible_status(viewer, p.id).await.unwrap().is_some();
        assert_eq!(
            single,
            batch.contains(&p.id),
            "visible_status and visible_ids disagree on {:?} for {viewer:?}",
            p.visibility
        );
        assert_eq!(
            single,
            listed.contains(&p.id),
            "visible_status and account_statuses disagree on {:?} for {viewer:?}",
            p.visibility
        );
        out.push(single);
    }
    out
}

#[tokio::test]
async fn audience_by_visibility_and_viewer() {
    let (store, _g) = store().await;
    let c = cast(&store).await;
    let posts = posts(&store, &c).await;
    let a = c.author.id;

    // Columns: public, unlisted, private, direct.
    let cases = [
        ("author", Some(c.author.id), [true, true, true, true]),
        ("follower", Some(c.follower.id), [true, true, true, false]),
        ("mentioned", Some(c.mentioned.id), [true, true, true, true]),
        ("stranger", Some(c.stranger.id), [true, true, false, false]),
        ("signed out", None, [true, true, false, false]),
    ];
    for (who, viewer, want) in cases {
        assert_eq!(
            readable(&store, viewer, a, &posts).await,
            want.to_vec(),
            "{who}"
        );
    }

    // Unknown ids are simply not visible.
    assert!(
        store
            .visible_status(None, Id(12345))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.visible_ids(None, &[]).await.unwrap().is_empty());

    // Following later grants the followers-only post (the audience names followers, not a
    // snapshot of them); unfollowing takes it away again.
    follow(&store, c.stranger.id, a).await;
    assert_eq!(
        readable(&store, Some(c.stranger.id), a, &posts).await,
        vec![true, true, true, false]
    );
    let mut tx = store.begin().await.unwrap();
    tx.delete_follow(c.stranger.id, a).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        readable(&store, Some(c.stranger.id), a, &posts).await,
        vec![true, true, false, false]
    );
}

#[tokio::test]
async fn a_blocked_viewer_reads_nothing_of_the_blocker() {
    let (store, _g) = store().await;
    let c = cast(&store).await;
    let posts = posts(&store, &c).await;
    let a = c.author.id;

    block(&store, a, c.follower.id).await;
    block(&store, a, c.mentioned.id).await;
    block(&store, a, c.stranger.id).await;
    for viewer in [c.follower.id, c.mentioned.id, c.stranger.id] {
        assert_eq!(
            readable(&store, Some(viewer), a, &posts).await,
            vec![false; 4]
        );
    }
    // Others are unaffected; the block is one-way.
    assert_eq!(
        readable(&store, None, a, &posts).await,
        vec![true, true, false, false]
    );
    assert_eq!(readable(&store, Some(a), a, &posts).await, vec![true; 4]);
    let theirs = Post::new(&c.stranger, Visibility::Public)
        .insert(&store)
        .await;
    assert!(
        store
            .visible_status(Some(a), theirs.id)
            .await
            .unwrap()
            .is_some()
    );

    // Unblocking restores what the audience allows.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_block(a, c.follower.id).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        readable(&store, Some(c.follower.id), a, &posts).await,
        vec![true, true, true, false]
    );
}

#[tokio::test]
async fn nobody_reads_a_suspended_author() {
    let (store, _g) = store().await;
    let c = cast(&store).await;
    let posts = posts(&store, &c).await;
    let a = c.author.id;
    let reply = Post::new(&c.stranger, Visibility::Public)
        .reply_to(&posts[0])
        .insert(&store)
        .await;

    let mut tx = store.begin().await.unwrap();
    tx.set_suspended(a, true).await.unwrap();
    tx.commit().await.unwrap();
    for viewer in [
        Some(a),
        Some(c.follower.id),
        Some(c.mentioned.id),
        Some(c.stranger.id),
        None,
    ] {
        assert_eq!(
            readable(&store, viewer, a, &posts).await,
            vec![false; 4],
            "{viewer:?}"
        );
    }
    assert!(
        store
            .public_timeline(None, Locality::All, &newest(20))
            .await
            .unwrap()
            .iter()
            .all(|s| s.account_id != a)
    );
    // The thread around it hides it too, and other people's replies stay.
    let (up, _) = store.context(None, &reply).await.unwrap();
    assert!(up.is_empty());
    // `status` (no audience) still finds it, for moderation.
    assert!(store.status(posts[0].id).await.unwrap().is_some());

    let mut tx = store.begin().await.unwrap();
    tx.set_suspended(a, false).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        readable(&store, None, a, &posts).await,
        vec![true, true, false, false]
    );
}

#[tokio::test]
async fn remote_followers_only_posts_reach_local_followers() {
    let (store, _g) = store().await;
    let r = remote(&store, "rita", "remote.example").await;
    let f = local(&store, "fan").await;
    let s = local(&store, "stranger").await;
    follow(&store, f.id, r.id).await;
    let p = Post::new(&r, Visibility::Private).insert(&store).await;
    assert!(!p.local);
    assert!(
        store
            .visible_status(Some(f.id), p.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .visible_status(Some(s.id), p.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.visible_status(None, p.id).await.unwrap().is_none());
}

#[tokio::test]
async fn public_timeline_shows_listed_originals_by_locality() {
    let (store, _g) = store().await;
    let l = local(&store, "lena").await;
    let r = remote(&store, "remo", "remote.example").await;
    let viewer = local(&store, "viewer").await;
    follow(&store, viewer.id, l.id).await;

    let l_public = Post::new(&l, Visibility::Public).insert(&store).await;
    let _l_unlisted = Post::new(&l, Visibility::Unlisted).insert(&store).await;
    let _l_private = Post::new(&l, Visibility::Private).insert(&store).await;
    let _l_direct = Post::new(&l, Visibility::Direct)
        .mention(&[viewer.id])
        .insert(&store)
        .await;
    let r_public = Post::new(&r, Visibility::Public).insert(&store).await;
    assert!(l_public.local && !r_public.local);
    // A boost is public but is not an original.
    let _boost = Post::new(&l, Visibility::Public)
        .boost_of(&r_public)
        .insert(&store)
        .await;

    for v in [None, Some(viewer.id)] {
        let all = store
            .public_timeline(v, Locality::All, &newest(20))
            .await
            .unwrap();
        assert_eq!(status_ids(&all), vec![r_public.id, l_public.id], "{v:?}");
        let loc = store
            .public_timeline(v, Locality::Local, &newest(20))
            .await
            .unwrap();
        assert_eq!(status_ids(&loc), vec![l_public.id]);
        let rem = store
            .public_timeline(v, Locality::Remote, &newest(20))
            .await
            .unwrap();
        assert_eq!(status_ids(&rem), vec![r_public.id]);
    }

    // The viewer's mutes and blocks hide authors; so does the author blocking the viewer.
    let mut tx = store.begin().await.unwrap();
    tx.upsert_mute(viewer.id, l.id, true, None).await.unwrap();
    tx.commit().await.unwrap();
    let all = store
        .public_timeline(Some(viewer.id), Locality::All, &newest(20))
        .await
        .unwrap();
    assert_eq!(status_ids(&all), vec![r_public.id]);
    // A mute that ran out hides nothing (expired mutes are not deleted).
    let mut tx = store.begin().await.unwrap();
    tx.upsert_mute(
        viewer.id,
        l.id,
        true,
        Some(kring_core::time::now_micros() - 1),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let all = store
        .public_timeline(Some(viewer.id), Locality::All, &newest(20))
        .await
        .unwrap();
    assert_eq!(status_ids(&all), vec![r_public.id, l_public.id]);
    let mut tx = store.begin().await.unwrap();
    tx.upsert_mute(viewer.id, l.id, true, None).await.unwrap();
    tx.commit().await.unwrap();
    block(&store, viewer.id, r.id).await;
    assert!(
        store
            .public_timeline(Some(viewer.id), Locality::All, &newest(20))
            .await
            .unwrap()
            .is_empty()
    );
    let other = local(&store, "other").await;
    block(&store, r.id, other.id).await;
    let all = store
        .public_timeline(Some(other.id), Locality::All, &newest(20))
        .await
        .unwrap();
    assert_eq!(status_ids(&all), vec![l_public.id]);
    // Signed out sees both still.
    assert_eq!(
        store
            .public_timeline(None, Locality::All, &newest(20))
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn tag_timeline_is_listed_case_insensitive_and_local_aware() {
    let (store, _g) = store().await;
    let l = local(&store, "lena").await;
    let r = remote(&store, "remo", "remote.example").await;
    let f = local(&store, "fan").await;
    follow(&store, f.id, l.id).await;

    let a = Post::new(&l, Visibility::Public)
        .tags(&["Rust"])
        .insert(&store)
        .await;
    let _unlisted = Post::new(&l, Visibility::Unlisted)
        .tags(&["rust"])
        .insert(&store)
        .await;
    let _private = Post::new(&l, Visibility::Private)
        .tags(&["rust"])
        .insert(&store)
        .await;
    let b = Post::new(&r, Visibility::Public)
        .tags(&["RUST", "sqlite"])
        .insert(&store)
        .await;
    let c = Post::new(&l, Visibility::Public)
        .tags(&["other"])
        .insert(&store)
        .await;
    let _boost = Post::new(&f, Visibility::Public)
        .boost_of(&a)
        .insert(&store)
        .await;

    let tl = |tags: Vec<&'static str>, loc: Locality, viewer: Option<Id>| {
        let store = store.clone();
        async move {
            let tags: Vec<String> = tags.into_iter().map(String::from).collect();
            status_ids(
                &store
                    .tag_timeline(viewer, &tags, loc, &newest(20))
                    .await
                    .unwrap(),
            )
        }
    };
    for v in [None, Some(f.id)] {
        assert_eq!(tl(vec!["rust"], Locality::All, v).await, vec![b.id, a.id]);
        assert_eq!(tl(vec!["RuSt"], Locality::Local, v).await, vec![a.id]);
        assert_eq!(tl(vec!["rust"], Locality::Remote, v).await, vec![b.id]);
        assert_eq!(
            tl(vec!["other", "sqlite"], Locality::All, v).await,
            vec![c.id, b.id]
        );
        assert!(tl(vec![], Locality::All, v).await.is_empty());
        assert!(tl(vec!["nothing"], Locality::All, v).await.is_empty());
        // A post with two of the tags asked for is listed once; an unknown one among them
        // changes nothing.
        assert_eq!(
            tl(vec!["rust", "sqlite", "nothing"], Locality::All, v).await,
            vec![b.id, a.id]
        );
        // Pages before and after a post, for one tag and for several.
        for tags in [
            vec!["rust".to_string()],
            vec!["rust".into(), "other".into()],
        ] {
            let page = |p: Page| {
                let (store, tags) = (store.clone(), tags.clone());
                async move {
                    status_ids(
                        &store
                            .tag_timeline(v, &tags, Locality::All, &p)
                            .await
                            .unwrap(),
                    )
                }
            };
            let older = page(Page {
                max_id: Some(b.id),
                ..newest(20)
            })
            .await;
            assert_eq!(older, vec![a.id]);
            let newer = page(Page {
                min_id: Some(a.id),
                ..newest(20)
            })
            .await;
            let want = if tags.len() == 1 {
                vec![b.id]
            } else {
                vec![c.id, b.id]
            };
            assert_eq!(newer, want);
            assert_eq!(page(newest(1)).await.len(), 1);
        }
    }

    // One tag row per name whatever the case; the first spelling is kept.
    let t = store.tag("RUST").await.unwrap().expect("tag");
    assert_eq!(t.name, "Rust");
    let found: Vec<String> = store
        .search_tags("r", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(found, vec!["Rust"]);
    assert!(store.search_tags("r_", 10).await.unwrap().is_empty());
    assert!(store.search_tags("%", 10).await.unwrap().is_empty());
    let mut tags: Vec<(Id, String)> = store.tags_of(&[a.id, b.id]).await.unwrap();
    tags.sort();
    let mut want = vec![
        (a.id, "Rust".to_string()),
        (b.id, "Rust".to_string()),
        (b.id, "sqlite".to_string()),
    ];
    want.sort();
    assert_eq!(tags, want);
}

#[tokio::test]
async fn context_follows_the_thread_through_the_audience() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let f = local(&store, "fan").await;
    follow(&store, f.id, a.id).await;

    let root = Post::new(&a, Visibility::Public).insert(&store).await;
    let r1 = Post::new(&b, Visibility::Public)
        .reply_to(&root)
        .insert(&store)
        .await;
    let r2 = Post::new(&a, Visibility::Private)
        .reply_to(&r1)
        .insert(&store)
        .await;
    let r3 = Post::new(&c, Visibility::Direct)
        .mention(&[a.id])
        .reply_to(&r2)
        .insert(&store)
        .await;
    let r4 = Post::new(&a, Visibility::Public)
        .reply_to(&r3)
        .insert(&store)
        .await;
    let side = Post::new(&b, Visibility::Public)
        .reply_to(&root)
        .insert(&store)
        .await;
    let _unrelated = Post::new(&a, Visibility::Public).insert(&store).await;
    assert_eq!(r4.conversation_id, root.id);
    assert_eq!(
        store.status(root.id).await.unwrap().unwrap().replies_count,
        2
    );

    let ctx = |viewer: Option<Id>, s: Status| {
        let store = store.clone();
        async move {
            let (up, down) = store.context(viewer, &s).await.unwrap();
            (status_ids(&up), status_ids(&down))
        }
    };
    // The author of r2 (mentioned in r3) sees everything.
    assert_eq!(
        ctx(Some(a.id), r2.clone()).await,
        (vec![root.id, r1.id], vec![r3.id, r4.id])
    );
    // A follower of alice is not addressed by carol's direct reply.
    assert_eq!(
        ctx(Some(f.id), r2.clone()).await,
        (vec![root.id, r1.id], vec![r4.id])
    );
    // Signed out: public parts only, below the root in id order.
    assert_eq!(
        ctx(None, root.clone()).await,
        (vec![], vec![r1.id, r4.id, side.id])
    );
    assert_eq!(
        ctx(Some(c.id), r4.clone()).await,
        (vec![root.id, r1.id, r3.id], vec![])
    );
    // A leaf with no thread.
    assert_eq!(ctx(None, side.clone()).await, (vec![root.id], vec![]));
}

/// Ten public posts by one author, oldest first.
async fn ten(store: &Store) -> (Account, Vec<Id>) {
    let a = local(store, "pager").await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(Post::new(&a, Visibility::Public).insert(store).await.id);
    }
    (a, ids)
}

fn page(max: Option<Id>, since: Option<Id>, min: Option<Id>, limit: usize) -> Page {
    Page {
        max_id: max,
        since_id: since,
        min_id: min,
        limit,
    }
}

#[tokio::test]
async fn paging_is_newest_first_and_min_id_pages_forward() {
    let (store, _g) = store().await;
    let (a, s) = ten(&store).await;
    let rev = |idx: &[usize]| idx.iter().map(|&i| s[i]).collect::<Vec<Id>>();

    let cases: Vec<(&str, Page, Vec<Id>)> = vec![
        ("newest", newest(3), rev(&[9, 8, 7])),
        ("max_id", page(Some(s[7]), None, None, 3), rev(&[6, 5, 4])),
        ("max_id end", page(Some(s[1]), None, None, 3), rev(&[0])),
        ("since_id", page(None, Some(s[2]), None, 3), rev(&[9, 8, 7])),
        ("min_id", page(None, None, Some(s[2]), 3), rev(&[5, 4, 3])),
        (
            "min_id near the top",
            page(None, None, Some(s[7]), 5),
            rev(&[9, 8]),
        ),
        ("min_id at the top", page(None, None, Some(s[9]), 5), vec![]),
        (
            "max_id and since_id",
            page(Some(s[6]), Some(s[2]), None, 10),
            rev(&[5, 4, 3]),
        ),
        (
            "max_id and min_id",
            page(Some(s[6]), None, Some(s[2]), 2),
            rev(&[4, 3]),
        ),
        ("limit 0 clamps to 1", newest(0), rev(&[9])),
        (
            "huge limit clamps",
            newest(usize::MAX),
            rev(&[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
        ),
    ];
    for (name, p, want) in cases {
        let got = store
            .account_statuses(None, a.id, AccountStatusesFilter::default(), None, &p)
            .await
            .unwrap();
        assert_eq!(status_ids(&got), want, "account_statuses: {name}");
        let got = store
            .public_timeline(None, Locality::All, &p)
            .await
            .unwrap();
        assert_eq!(status_ids(&got), want, "public_timeline: {name}");
    }

    // Walking forward with min_id from the start visits every post once, in order.
    let mut seen = Vec::new();
    let mut cursor = Id(0);
    loop {
        let got = store
            .public_timeline(None, Locality::All, &page(None, None, Some(cursor), 3))
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        assert!(got.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        cursor = got[0].id;
        seen.extend(got.iter().rev().map(|s| s.id));
    }
    assert_eq!(seen, s);

    // And backwards with max_id.
    let mut seen = Vec::new();
    let mut p = newest(4);
    loop {
        let got = store
            .public_timeline(None, Locality::All, &p)
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        p.max_id = Some(got.last().unwrap().id);
        seen.extend(status_ids(&got));
    }
    seen.reverse();
    assert_eq!(seen, s);
}

#[tokio::test]
async fn account_statuses_filters() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let root = Post::new(&a, Visibility::Public)
        .tags(&["Tagged"])
        .insert(&store)
        .await;
    let self_reply = Post::new(&a, Visibility::Public)
        .reply_to(&root)
        .insert(&store)
        .await;
    let theirs = Post::new(&b, Visibility::Public).insert(&store).await;
    let reply_other = Post::new(&a, Visibility::Public)
        .reply_to(&theirs)
        .insert(&store)
        .await;
    let boost = Post::new(&a, Visibility::Public)
        .boost_of(&theirs)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_mark(Mark::Pin, a.id, root.id).await.unwrap());
    // Someone else's pin of alice's post is not alice's pin.
    assert!(
        tx.insert_mark(Mark::Pin, b.id, self_reply.id)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let list = |f: AccountStatusesFilter, tag: Option<&'static str>| {
        let store = store.clone();
        async move {
            status_ids(
                &store
                    .account_statuses(None, a.id, f, tag, &newest(20))
                    .await
                    .unwrap(),
            )
        }
    };
    let all = AccountStatusesFilter::default();
    assert_eq!(
        list(all, None).await,
        vec![boost.id, reply_other.id, self_reply.id, root.id]
    );
    let no_replies = AccountStatusesFilter {
        exclude_replies: true,
        ..all
    };
    assert_eq!(
        list(no_replies, None).await,
        vec![boost.id, self_reply.id, root.id]
    );
    let no_boosts = AccountStatusesFilter {
        exclude_reblogs: true,
        ..all
    };
    assert_eq!(
        list(no_boosts, None).await,
        vec![reply_other.id, self_reply.id, root.id]
    );
    let pinned = AccountStatusesFilter {
        pinned: true,
        ..all
    };
    assert_eq!(list(pinned, None).await, vec![root.id]);
    assert_eq!(list(all, Some("tagged")).await, vec![root.id]);
    assert!(list(all, Some("other")).await.is_empty());
    assert_eq!(store.pinned_count(a.id).await.unwrap(), 1);
    assert_eq!(store.pinned_count(b.id).await.unwrap(), 1);
}

#[tokio::test]
async fn marks_are_idempotent_and_keep_counters() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let s = Post::new(&a, Visibility::Public).insert(&store).await;
    let other = Post::new(&a, Visibility::Public).insert(&store).await;

    let mut tx = store.begin().await.unwrap();
    for kind in [Mark::Favourite, Mark::Bookmark, Mark::Pin] {
        assert!(tx.insert_mark(kind, b.id, s.id).await.unwrap(), "{kind:?}");
        assert!(
            !tx.insert_mark(kind, b.id, s.id).await.unwrap(),
            "{kind:?} twice"
        );
    }
    assert!(tx.insert_mark(Mark::Favourite, c.id, s.id).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(
        store.status(s.id).await.unwrap().unwrap().favourites_count,
        2
    );

    let flags = store.status_flags(b.id, &[s.id, other.id]).await.unwrap();
    assert_eq!(flags.favourited, HashSet::from([s.id]));
    assert_eq!(flags.bookmarked, HashSet::from([s.id]));
    assert_eq!(flags.pinned, HashSet::from([s.id]));
    assert!(flags.reblogged.is_empty());
    let flags = store.status_flags(c.id, &[s.id, other.id]).await.unwrap();
    assert_eq!(flags.favourited, HashSet::from([s.id]));
    assert!(flags.bookmarked.is_empty() && flags.pinned.is_empty());
    assert!(
        store
            .status_flags(c.id, &[])
            .await
            .unwrap()
            .favourited
            .is_empty()
    );

    // Who favourited, newest favourite first.
    let fans = store.status_actors(s.id, false, &newest(10)).await.unwrap();
    assert_eq!(
        fans.iter().map(|(_, a)| a.id).collect::<Vec<_>>(),
        vec![c.id, b.id]
    );
    let older = store
        .status_actors(
            s.id,
            false,
            &Page {
                max_id: Some(fans[0].0),
                ..newest(10)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        older.iter().map(|(_, a)| a.id).collect::<Vec<_>>(),
        vec![b.id]
    );

    let mut tx = store.begin().await.unwrap();
    for kind in [Mark::Favourite, Mark::Bookmark, Mark::Pin] {
        assert!(tx.delete_mark(kind, b.id, s.id).await.unwrap(), "{kind:?}");
        assert!(
            !tx.delete_mark(kind, b.id, s.id).await.unwrap(),
            "{kind:?} twice"
        );
    }
    tx.commit().await.unwrap();
    assert_eq!(
        store.status(s.id).await.unwrap().unwrap().favourites_count,
        1
    );
    let mut tx = store.begin().await.unwrap();
    tx.delete_mark(Mark::Favourite, c.id, s.id).await.unwrap();
    // Removing a favourite that is not there never takes the counter below zero.
    tx.delete_mark(Mark::Favourite, c.id, s.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.status(s.id).await.unwrap().unwrap().favourites_count,
        0
    );
    assert!(
        store
            .status_flags(b.id, &[s.id])
            .await
            .unwrap()
            .favourited
            .is_empty()
    );
}

#[tokio::test]
async fn marked_statuses_page_by_mark_and_respect_the_audience() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    follow(&store, b.id, a.id).await;
    let p1 = Post::new(&a, Visibility::Public).insert(&store).await;
    let p2 = Post::new(&a, Visibility::Private).insert(&store).await;
    let p3 = Post::new(&a, Visibility::Public).insert(&store).await;

    // Bookmarked in the order p3, p1, p2: listings follow the bookmark, not the post.
    let mut tx = store.begin().await.unwrap();
    for p in [&p3, &p1, &p2] {
        tx.insert_mark(Mark::Bookmark, b.id, p.id).await.unwrap();
        tx.insert_mark(Mark::Favourite, b.id, p.id).await.unwrap();
    }
    tx.commit().await.unwrap();

    for bookmarks in [true, false] {
        let got = store
            .marked_statuses(b.id, bookmarks, &newest(10))
            .await
            .unwrap();
        assert_eq!(
            got.iter().map(|(_, s)| s.id).collect::<Vec<_>>(),
            vec![p2.id, p1.id, p3.id]
        );
        let keys: Vec<Id> = got.iter().map(|(k, _)| *k).collect();
        let next = store
            .marked_statuses(
                b.id,
                bookmarks,
                &Page {
                    max_id: Some(keys[0]),
                    ..newest(1)
                },
            )
            .await
            .unwrap();
        assert_eq!(
            next.iter().map(|(_, s)| s.id).collect::<Vec<_>>(),
            vec![p1.id]
        );
        let fwd = store
            .marked_statuses(
                b.id,
                bookmarks,
                &Page {
                    min_id: Some(keys[2]),
                    ..newest(10)
                },
            )
            .await
            .unwrap();
        assert_eq!(
            fwd.iter().map(|(_, s)| s.id).collect::<Vec<_>>(),
            vec![p2.id, p1.id]
        );
    }

    // After unfollowing, the followers-only bookmark is no longer readable, so not listed.
    let mut tx = store.begin().await.unwrap();
    tx.delete_follow(b.id, a.id).await.unwrap();
    tx.commit().await.unwrap();
    let got = store
        .marked_statuses(b.id, true, &newest(10))
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|(_, s)| s.id).collect::<Vec<_>>(),
        vec![p1.id, p3.id]
    );
}

#[tokio::test]
async fn idempotency_keys() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let s1 = Post::new(&a, Visibility::Public).insert(&store).await;
    let s2 = Post::new(&a, Visibility::Public).insert(&store).await;

    assert_eq!(store.idempotent_status(a.id, "k1").await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    tx.insert_idempotency(a.id, "k1", s1.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.idempotent_status(a.id, "k1").await.unwrap(),
        Some(s1.id)
    );
    // Keys belong to one account.
    assert_eq!(store.idempotent_status(b.id, "k1").await.unwrap(), None);
    assert_eq!(store.idempotent_status(a.id, "k2").await.unwrap(), None);
    // Reusing a key replaces it.
    let mut tx = store.begin().await.unwrap();
    tx.insert_idempotency(a.id, "k1", s2.id).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.idempotent_status(a.id, "k1").await.unwrap(),
        Some(s2.id)
    );
    // A key from an uncommitted transaction does not exist.
    let mut tx = store.begin().await.unwrap();
    tx.insert_idempotency(a.id, "k3", s2.id).await.unwrap();
    drop(tx);
    assert_eq!(store.idempotent_status(a.id, "k3").await.unwrap(), None);
}

#[tokio::test]
async fn edits_keep_the_history() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let m = local(&store, "mina").await;
    let s = Post::new(&a, Visibility::Public)
        .text("first")
        .tags(&["old"])
        .insert(&store)
        .await;
    assert!(store.edits(s.id).await.unwrap().is_empty());
    assert_eq!(s.edited_at, None);

    let mut tx = store.begin().await.unwrap();
    let at = tx
        .edit_status(&s, "second", "<p>second</p>", "cw", true, Some("nl"))
        .await
        .unwrap();
    tx.set_mentions_and_tags(s.id, &[m.id], &["new".into()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let now = store.status(s.id).await.unwrap().unwrap();
    assert_eq!(now.text, "second");
    assert_eq!(now.content, "<p>second</p>");
    assert_eq!(now.spoiler_text, "cw");
    assert!(now.sensitive);
    assert_eq!(now.language.as_deref(), Some("nl"));
    assert_eq!(now.edited_at, Some(at));
    assert_eq!(now.created_at, s.created_at);
    assert_eq!(
        store.mentions_of(&[s.id]).await.unwrap(),
        vec![(s.id, m.id)]
    );
    assert_eq!(
        store.tags_of(&[s.id]).await.unwrap(),
        vec![(s.id, "new".to_string())]
    );
    // Both in one statement, as pages of statuses read them.
    assert_eq!(
        store.mentions_and_tags_of(&[s.id]).await.unwrap(),
        (vec![(s.id, m.id)], vec![(s.id, "new".to_string())])
    );
    assert_eq!(
        store.mentions_and_tags_of(&[]).await.unwrap(),
        (vec![], vec![])
    );

    // The first edit records the original and the new version.
    let h = store.edits(s.id).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.content.as_str()).collect::<Vec<_>>(),
        vec!["<p>first</p>", "<p>second</p>"]
    );
    assert_eq!(h[0].created_at, s.created_at);
    assert!(!h[0].sensitive && h[1].sensitive);
    assert_eq!(h[1].spoiler_text, "cw");

    let mut tx = store.begin().await.unwrap();
    tx.edit_status(&now, "third", "<p>third</p>", "", false, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let h = store.edits(s.id).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.content.as_str()).collect::<Vec<_>>(),
        vec!["<p>first</p>", "<p>second</p>", "<p>third</p>"]
    );
    assert!(h.iter().all(|e| e.status_id == s.id));
}

#[tokio::test]
async fn delete_status_removes_boosts_feed_entries_and_fixes_counters() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let c = local(&store, "carol").await;
    let f = local(&store, "fan").await;
    let parent = Post::new(&c, Visibility::Public).insert(&store).await;
    let s = Post::new(&a, Visibility::Public)
        .reply_to(&parent)
        .insert(&store)
        .await;
    let b_boost = Post::new(&b, Visibility::Public)
        .boost_of(&s)
        .insert(&store)
        .await;
    let c_boost = Post::new(&c, Visibility::Public)
        .boost_of(&s)
        .insert(&store)
        .await;
    let keep = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut tx = store.begin().await.unwrap();
    tx.fan_out_to(s.id, a.id, &[a.id, f.id]).await.unwrap();
    tx.fan_out_to(b_boost.id, b.id, &[b.id, f.id])
        .await
        .unwrap();
    tx.fan_out_to(c_boost.id, c.id, &[c.id, f.id])
        .await
        .unwrap();
    tx.fan_out_to(keep.id, a.id, &[a.id, f.id]).await.unwrap();
    tx.insert_mark(Mark::Favourite, f.id, s.id).await.unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        store
            .status(parent.id)
            .await
            .unwrap()
            .unwrap()
            .replies_count,
        1
    );
    assert_eq!(store.status(s.id).await.unwrap().unwrap().reblogs_count, 2);
    assert_eq!(
        store.reblog_by(b.id, s.id).await.unwrap().map(|r| r.id),
        Some(b_boost.id)
    );
    assert!(store.reblog_by(f.id, s.id).await.unwrap().is_none());
    let flags = store.status_flags(b.id, &[s.id]).await.unwrap();
    assert_eq!(flags.reblogged, HashSet::from([s.id]));
    let boosters = store.status_actors(s.id, true, &newest(10)).await.unwrap();
    assert_eq!(
        boosters.iter().map(|(_, a)| a.id).collect::<Vec<_>>(),
        vec![c.id, b.id]
    );
    assert_eq!(
        store.account(b.id).await.unwrap().unwrap().statuses_count,
        1
    );
    assert_eq!(
        store.account(c.id).await.unwrap().unwrap().statuses_count,
        2
    );

    // Deleting a boost gives the original its count back.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_status(&c_boost).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(store.status(s.id).await.unwrap().unwrap().reblogs_count, 1);
    assert_eq!(
        store.account(c.id).await.unwrap().unwrap().statuses_count,
        1
    );
    assert!(store.feed_recipients(c_boost.id).await.unwrap().is_empty());

    // Deleting the original takes its boosts along, with all their feed entries.
    let mut tx = store.begin().await.unwrap();
    let removed = tx.delete_status(&s).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(removed, vec![b_boost.id]);
    assert!(store.status(s.id).await.unwrap().is_none());
    assert!(store.status(b_boost.id).await.unwrap().is_none());
    assert!(store.feed_recipients(s.id).await.unwrap().is_empty());
    assert!(store.feed_recipients(b_boost.id).await.unwrap().is_empty());
    let feed = store.home_feed(f.id, &newest(10)).await.unwrap();
    assert_eq!(status_ids(&feed), vec![keep.id]);
    assert_eq!(
        store.account(a.id).await.unwrap().unwrap().statuses_count,
        1
    );
    assert_eq!(
        store.account(b.id).await.unwrap().unwrap().statuses_count,
        0
    );
    assert_eq!(
        store
            .status(parent.id)
            .await
            .unwrap()
            .unwrap()
            .replies_count,
        0
    );
    assert!(
        store
            .marked_statuses(f.id, false, &newest(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .status_actors(s.id, true, &newest(10))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn lookups_by_uri_ids_mentions_and_own_search() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let m = local(&store, "mina").await;
    let s1 = Post::new(&a, Visibility::Public)
        .text("Hello 100% World")
        .mention(&[m.id])
        .insert(&store)
        .await;
    let s2 = Post::new(&a, Visibility::Direct)
        .text("snake_case here")
        .spoiler("Secret")
        .insert(&store)
        .await;
    let _boost = Post::new(&a, Visibility::Public)
        .boost_of(&s1)
        .insert(&store)
        .await;

    assert_eq!(
        store.status_by_uri(&s1.uri).await.unwrap().map(|s| s.id),
        Some(s1.id)
    );
    assert!(store.status_by_uri("https://x/y").await.unwrap().is_none());
    let mut got = status_ids(&store.statuses_by_ids(&[s1.id, s2.id, Id(3)]).await.unwrap());
    got.sort();
    assert_eq!(got, vec![s1.id, s2.id]);
    assert_eq!(
        store.mentions_of(&[s1.id, s2.id]).await.unwrap(),
        vec![(s1.id, m.id)]
    );
    assert_eq!(s2.visibility, Visibility::Direct);
    assert_eq!(s1.visibility, Visibility::Public);

    let search = |q: &'static str| {
        let store = store.clone();
        async move { status_ids(&store.search_own_statuses(a.id, q, 10, 0).await.unwrap()) }
    };
    assert_eq!(search("100%").await, vec![s1.id]);
    assert!(search("0%%").await.is_empty());
    assert_eq!(search("e_c").await, vec![s2.id]);
    assert!(search("e_h").await.is_empty());
    assert_eq!(search("secret").await, vec![s2.id]);
    assert_eq!(search("WORLD").await, vec![s1.id]);
    assert!(
        store
            .search_own_statuses(m.id, "world", 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.local_status_count().await.unwrap(), 3);
}

/// The live decision (`viewers_shown`, all viewers in one statement) agrees with the one-viewer
/// reads for every kind of viewer: author, follower, mentioned, stranger, blocked by the
/// author, blocking, muting, domain-blocking, and for a boost of a hidden account's post.
#[tokio::test]
async fn viewers_shown_agrees_with_shown_status() {
    let (store, _g) = store().await;
    let a = local(&store, "author").await;
    let far = remote(&store, "far", "far.example").await;
    let viewers = [
        local(&store, "follower").await,
        local(&store, "mentioned").await,
        local(&store, "stranger").await,
        local(&store, "blocked").await,
        local(&store, "blocking").await,
        local(&store, "muting").await,
        local(&store, "domainblocking").await,
    ];
    let [fol, men, _str, bld, blg, mut_, dom] = &viewers;
    follow(&store, fol.id, a.id).await;
    block(&store, a.id, bld.id).await;
    block(&store, blg.id, a.id).await;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_mute(mut_.id, a.id, true, None).await.unwrap();
    tx.insert_domain_block(dom.id, "far.example").await.unwrap();
    tx.commit().await.unwrap();
    let far_post = Post::new(&far, Visibility::Public).insert(&store).await;
    let posts = vec![
        Post::new(&a, Visibility::Public).insert(&store).await,
        Post::new(&a, Visibility::Private).insert(&store).await,
        Post::new(&a, Visibility::Direct)
            .mention(&[men.id])
            .insert(&store)
            .await,
        Post::new(fol, Visibility::Public)
            .boost_of(&far_post)
            .insert(&store)
            .await,
        far_post,
    ];
    let mut ids: Vec<Id> = viewers.iter().map(|v| v.id).collect();
    ids.push(a.id);
    for p in &posts {
        for shown in [Shown::Direct, Shown::Profile, Shown::Listed] {
            let together = store.viewers_shown(p.id, &ids, shown).await.unwrap();
            for v in &ids {
                let alone = store
                    .shown_status(Some(*v), p.id, shown)
                    .await
                    .unwrap()
                    .is_some();
                assert_eq!(
                    together.contains(v),
                    alone,
                    "{shown:?} of {:?} for {v:?}",
                    p.visibility
                );
            }
        }
    }
    // Spot checks of the rule itself.
    let public = &posts[0];
    let listed = store
        .viewers_shown(public.id, &ids, Shown::Listed)
        .await
        .unwrap();
    assert!(listed.contains(&fol.id) && listed.contains(&a.id) && listed.contains(&dom.id));
    assert!(!listed.contains(&bld.id) && !listed.contains(&blg.id) && !listed.contains(&mut_.id));
    let direct = store
        .viewers_shown(public.id, &ids, Shown::Direct)
        .await
        .unwrap();
    assert!(direct.contains(&blg.id) && direct.contains(&mut_.id) && !direct.contains(&bld.id));
    let profile = store
        .viewers_shown(public.id, &ids, Shown::Profile)
        .await
        .unwrap();
    assert!(profile.contains(&mut_.id) && !profile.contains(&blg.id));
    let boost = &posts[3];
    let listed = store
        .viewers_shown(boost.id, &ids, Shown::Listed)
        .await
        .unwrap();
    assert!(!listed.contains(&dom.id) && listed.contains(&fol.id));
}

/// Id lists of every length (bound as one array on PostgreSQL, padded lists on SQLite) read
/// exactly the statuses named: none, one, a few with repeats and unknown ids, many.
#[tokio::test]
async fn id_lists_of_any_length_read_exactly_those_statuses() {
    let (store, _g) = store().await;
    let author = local(&store, "author").await;
    let mut all = Vec::new();
    for _ in 0..70 {
        all.push(
            Post::new(&author, Visibility::Public)
                .insert(&store)
                .await
                .id,
        );
    }
    let read = |ids: Vec<Id>| {
        let store = store.clone();
        async move {
            let mut got: Vec<Id> = store
                .statuses_by_ids(&ids)
                .await
                .expect("read")
                .into_iter()
                .map(|s| s.id)
                .collect();
            got.sort();
            got
        }
    };
    assert!(read(vec![]).await.is_empty());
    assert_eq!(read(vec![all[3]]).await, vec![all[3]]);
    let few = vec![all[5], all[1], all[5], Id(1), all[2]];
    let mut want = vec![all[1], all[2], all[5]];
    want.sort();
    assert_eq!(read(few).await, want);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(read(all.clone()).await, sorted);
}

/// A received post is announced from what was written, not read back: `NewStatus::as_stored`
/// must be what `status` reads once the post and its counters are stored.
#[tokio::test]
async fn a_new_status_as_stored_is_what_is_read_back() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let r = remote(&store, "far", "remote.example").await;
    let parent = Post::new(&a, Visibility::Public).insert(&store).await;
    let mut reply = Post::new(&r, Visibility::Unlisted)
        .reply_to(&parent)
        .mention(&[a.id])
        .tags(&["kring"])
        .spoiler("cw")
        .build();
    reply.sensitive = true;
    reply.language = None;
    reply.pending_approval_by = Some(a.id);
    reply.interaction_policy = Some(kring_core::InteractionPolicy::everyone());
    reply.audience.local_only = false;
    let counts = kring_store::PostCounts {
        replies: Some(3),
        reblogs: None,
        favourites: Some(-4),
    };
    let plain = Post::new(&r, Visibility::Public).build();
    let none = kring_store::PostCounts::default();
    for (new, counts) in [(&reply, &counts), (&plain, &none)] {
        let mut tx = store.begin().await.unwrap();
        tx.insert_status(new).await.unwrap();
        tx.raise_post_counts(new.id, counts).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            new.as_stored(counts),
            store.status(new.id).await.unwrap().unwrap()
        );
    }
    let local_post = Post::new(&a, Visibility::Private).build();
    let mut tx = store.begin().await.unwrap();
    tx.insert_status(&local_post).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        local_post.as_stored(&none),
        store.status(local_post.id).await.unwrap().unwrap()
    );
}

/// The inbox asks once per claim which of its posts are stored already.
#[tokio::test]
async fn stored_uris_names_only_what_is_stored() {
    let (store, _g) = store().await;
    let r = remote(&store, "far", "remote.example").await;
    let kept = Post::new(&r, Visibility::Public).insert(&store).await;
    let absent = "https://remote.example/notes/absent".to_string();
    let found = store
        .stored_uris(&[absent.clone(), kept.uri.clone(), kept.uri.clone()])
        .await
        .unwrap();
    assert_eq!(found, HashSet::from([kept.uri.clone()]));
    assert!(store.stored_uris(&[absent]).await.unwrap().is_empty());
    assert!(store.stored_uris(&[]).await.unwrap().is_empty());
}

/// Pages of statuses on SQLite keep each post's body in memory and read only what can change
/// (`status_bodies`): every change to a post read before must show on the next read, on every
/// path, the same as a store that never read it (a second store on the same database).
#[tokio::test]
async fn a_post_read_before_shows_every_change_since() {
    use kring_core::InteractionPolicy;
    use kring_store::PostCounts;
    let (store, g) = store().await;
    let a = local(&store, "alice").await;
    let b = local(&store, "bob").await;
    let r = remote(&store, "far", "remote.example").await;
    let parent = Post::new(&a, Visibility::Public)
        .text("parent")
        .insert(&store)
        .await;
    let mut pending = Post::new(&r, Visibility::Public)
        .reply_to(&parent)
        .text("pending")
        .build();
    pending.pending_approval_by = Some(a.id);
    let mut tx = store.begin().await.unwrap();
    tx.insert_status(&pending).await.unwrap();
    tx.commit().await.unwrap();
    let remote_post = Post::new(&r, Visibility::Public)
        .text("remote")
        .insert(&store)
        .await;
    let direct = Post::new(&r, Visibility::Direct)
        .mention(&[a.id])
        .insert(&store)
        .await;
    let gone = Post::new(&a, Visibility::Public).insert(&store).await;

    // What each path shows now, and the same read by a store that never read these posts.
    let reads = |s: Store| {
        let (a, parent, direct) = (a.id, parent.clone(), direct.id);
        async move {
            let public = store_page(
                s.public_timeline(Some(a), Locality::All, &newest(40))
                    .await
                    .unwrap(),
            );
            let single = s.status(parent.id).await.unwrap();
            let shown = s.visible_status(Some(a), direct).await.unwrap();
            let (up, down) = s.context(Some(a), &parent).await.unwrap();
            // In no order (as `statuses_by_ids` says): PostgreSQL's differs with the plan a
            // connection has settled on.
            let mut by_ids = s.statuses_by_ids(&[parent.id, direct]).await.unwrap();
            by_ids.sort_by_key(|s| s.id);
            (public, single, shown, up, down, by_ids)
        }
    };
    let check = |label: &'static str| {
        let (store, url) = (store.clone(), g.url.clone());
        async move {
            // Twice: the first read may keep bodies, the second reads with them.
            let first = reads(store.clone()).await;
            let kept = reads(store.clone()).await;
            let fresh = Store::connect(&url, 2).await.unwrap();
            let other = reads(fresh.clone()).await;
            fresh.close().await;
            assert_eq!(first, other, "{label}: first read");
            assert_eq!(kept, other, "{label}: read again");
            kept
        }
    };
    let (public, single, ..) = check("before any change").await;
    // The reply awaiting alice's approval is hers to see.
    assert_eq!(
        public.len(),
        4,
        "parent, pending reply, remote post and gone"
    );
    assert_eq!(single.as_ref().map(|s| s.text.as_str()), Some("parent"));

    // An edit (body and `edited_at`).
    let mut tx = store.begin().await.unwrap();
    tx.edit_status(&parent, "edited", "<p>edited</p>", "cw", true, Some("nl"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (_, single, ..) = check("after an edit").await;
    let single = single.unwrap();
    assert_eq!(
        (
            single.text.as_str(),
            single.content.as_str(),
            single.spoiler_text.as_str()
        ),
        ("edited", "<p>edited</p>", "cw")
    );
    assert!(single.sensitive);

    // Counters: a favourite, a boost, a remote server's counts; the reply approved (it
    // counts on the parent and is listed from now on).
    let mut tx = store.begin().await.unwrap();
    tx.insert_mark(Mark::Favourite, b.id, parent.id)
        .await
        .unwrap();
    tx.raise_post_counts(
        remote_post.id,
        &PostCounts {
            replies: Some(7),
            reblogs: Some(8),
            favourites: Some(9),
        },
    )
    .await
    .unwrap();
    let stored = store.status(pending.id).await.unwrap().unwrap();
    assert!(tx.approve_status(&stored).await.unwrap());
    tx.commit().await.unwrap();
    let (public, single, _, _, down, _) = check("after counters and an approval").await;
    assert_eq!(single.as_ref().map(|s| s.favourites_count), Some(1));
    assert_eq!(single.as_ref().map(|s| s.replies_count), Some(1));
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].pending_approval_by, None);
    let far = public.iter().find(|s| s.id == remote_post.id).unwrap();
    assert_eq!(
        (far.replies_count, far.reblogs_count, far.favourites_count),
        (7, 8, 9)
    );

    // An interaction policy set and changed; a direct post labelled a group's.
    for policy in [Some(InteractionPolicy::everyone()), None] {
        let mut tx = store.begin().await.unwrap();
        tx.set_interaction_policy(remote_post.id, policy.as_ref())
            .await
            .unwrap();
        tx.label_group_post(direct.id).await.unwrap();
        tx.commit().await.unwrap();
        let (public, _, shown, ..) = check("after a policy and a label").await;
        let far = public.iter().find(|s| s.id == remote_post.id).unwrap();
        assert_eq!(far.interaction_policy, policy);
        assert_eq!(shown.map(|s| s.visibility), Some(Visibility::Group));
    }

    // A deleted post is gone from every path.
    let mut tx = store.begin().await.unwrap();
    tx.delete_status(&gone).await.unwrap();
    tx.commit().await.unwrap();
    let (public, ..) = check("after a deletion").await;
    assert!(public.iter().all(|s| s.id != gone.id));
}

fn store_page(mut v: Vec<Status>) -> Vec<Status> {
    v.sort_by_key(|s| s.id);
    v
}

/// A body kept from one viewer's read completes only rows the audience rule gave the next
/// viewer: an outsider reading after a follower read a followers-only post sees none of it,
/// on any path, and a boost of it shows nothing either.
#[tokio::test]
async fn a_body_kept_for_one_viewer_shows_nothing_to_another() {
    let (store, _g) = store().await;
    let a = local(&store, "alice").await;
    let f = local(&store, "fan").await;
    let o = local(&store, "outsider").await;
    follow(&store, f.id, a.id).await;
    let public = Post::new(&a, Visibility::Public).insert(&store).await;
    let private = Post::new(&a, Visibility::Private)
        .reply_to(&public)
        .insert(&store)
        .await;
    let boost = Post::new(&f, Visibility::Public).build();
    let boost = kring_store::NewStatus {
        reblog_of_id: Some(private.id),
        ..boost
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_status(&boost).await.unwrap();
    tx.commit().await.unwrap();
    let profile = AccountStatusesFilter::default();

    // The follower reads it everywhere it shows (its body is kept now).
    assert!(
        store
            .visible_status(Some(f.id), private.id)
            .await
            .unwrap()
            .is_some()
    );
    let (_, down) = store.context(Some(f.id), &public).await.unwrap();
    assert_eq!(status_ids(&down), vec![private.id]);
    let own = store
        .account_statuses(Some(f.id), a.id, profile, None, &newest(40))
        .await
        .unwrap();
    assert!(own.iter().any(|s| s.id == private.id));
    let originals = store
        .visible_statuses_by_ids(Some(f.id), &[private.id])
        .await
        .unwrap();
    assert_eq!(status_ids(&originals), vec![private.id]);

    // The outsider, after it: nothing of it anywhere.
    for viewer in [Some(o.id), None] {
        assert_eq!(
            store.visible_status(viewer, private.id).await.unwrap(),
            None
        );
        let (_, down) = store.context(viewer, &public).await.unwrap();
        assert!(down.is_empty(), "{viewer:?}: context");
        let listed = store
            .account_statuses(viewer, a.id, profile, None, &newest(40))
            .await
            .unwrap();
        assert_eq!(status_ids(&listed), vec![public.id], "{viewer:?}: profile");
        let boosts = store
            .account_statuses(viewer, f.id, profile, None, &newest(40))
            .await
            .unwrap();
        assert!(boosts.is_empty(), "{viewer:?}: a boost of it");
        assert!(
            store
                .visible_statuses_by_ids(viewer, &[private.id])
                .await
                .unwrap()
                .is_empty(),
            "{viewer:?}: as a boost's original"
        );
        let timeline = store
            .public_timeline(viewer, Locality::All, &newest(40))
            .await
            .unwrap();
        assert!(
            timeline
                .iter()
                .all(|s| s.id != private.id && s.reblog_of_id != Some(private.id))
        );
    }
}
