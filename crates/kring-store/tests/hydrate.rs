//! `Store::hydrate` reads in one call what a page needs beside its rows; each backend does so
//! its own way (SQLite on one reader, PostgreSQL as one statement of JSON parts), so here it is
//! checked against the single-purpose reads it stands for, with every part present.
mod common;

use std::collections::HashSet;

use common::{Post, block, local, remote, store};
use kring_core::media::{Dimensions, Focus, MediaAttachment, MediaKind, MediaMeta};
use kring_core::model::{Quote, QuoteState, Status};
use kring_core::time::now_micros;
use kring_core::{Id, Visibility};
use kring_store::{Mark, OriginalsOf, StatusFlags};

fn attachment(author: Id, n: u32, focus: Option<Focus>) -> MediaAttachment {
    MediaAttachment {
        id: Id::generate(),
        account_id: author,
        status_id: None,
        kind: MediaKind::Image,
        mime: "image/png".into(),
        file_key: None,
        thumbnail_key: None,
        file_size: 1234 + i64::from(n),
        meta: MediaMeta {
            original: Some(Dimensions {
                width: 640 + n,
                height: 480,
            }),
            duration: Some(1.5),
            frame_rate: Some("30000/1001".into()),
            ..MediaMeta::default()
        },
        description: format!("alt \"{n}\" with a $1 and ünïcode"),
        focus,
        blurhash: Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj".into()),
        remote_url: Some(format!("https://remote.test/media/{n}.png")),
        created_at: now_micros(),
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn flags(f: &StatusFlags) -> [HashSet<Id>; 4] {
    [
        f.favourited.clone(),
        f.reblogged.clone(),
        f.bookmarked.clone(),
        f.pinned.clone(),
    ]
}

#[tokio::test]
async fn hydrate_reads_what_the_single_reads_return() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let ann = local(&store, "ann").await;
    let bob = remote(&store, "bob", "remote.test").await;
    let group = remote(&store, "club", "groups.test").await;

    let quoted = Post::new(&bob, Visibility::Public).insert(&store).await;
    let tagged = Post::new(&ann, Visibility::Public)
        .mention(&[me.id, bob.id])
        .tags(&["kring", "circles"])
        .insert(&store)
        .await;
    let with_media = Post::new(&bob, Visibility::Public).insert(&store).await;
    let quoting = Post::new(&ann, Visibility::Public).insert(&store).await;
    let in_group = Post::new(&bob, Visibility::Public).insert(&store).await;
    let boosted = Post::new(&bob, Visibility::Public)
        .mention(&[ann.id])
        .insert(&store)
        .await;
    let boost = Post::new(&ann, Visibility::Public)
        .boost_of(&boosted)
        .insert(&store)
        .await;
    let my_boost = Post::new(&me, Visibility::Public)
        .boost_of(&tagged)
        .insert(&store)
        .await;
    let mine = Post::new(&me, Visibility::Public).insert(&store).await;

    let media = [
        attachment(bob.id, 1, Focus::parse("0.5,-0.25")),
        attachment(bob.id, 2, None),
        attachment(bob.id, 3, None),
    ];
    let mut tx = store.begin().await.unwrap();
    tx.insert_status_media(with_media.id, &media).await.unwrap();
    tx.insert_status_media(boosted.id, &[attachment(bob.id, 4, None)])
        .await
        .unwrap();
    for (status, state) in [
        (quoting.id, QuoteState::Accepted),
        (mine.id, QuoteState::Pending),
    ] {
        tx.insert_quote(&Quote {
            status_id: status,
            quoted_status_id: Some(quoted.id),
            quoted_account_id: Some(bob.id),
            quoted_uri: quoted.uri.clone(),
            state,
            authorization_uri: (state == QuoteState::Accepted)
                .then(|| "https://remote.test/auth/1".to_string()),
            created_at: now_micros(),
        })
        .await
        .unwrap();
    }
    tx.insert_group_status(in_group.id, group.id, None, now_micros())
        .await
        .unwrap();
    tx.insert_mark(Mark::Favourite, me.id, tagged.id)
        .await
        .unwrap();
    tx.insert_mark(Mark::Favourite, ann.id, quoting.id)
        .await
        .unwrap();
    tx.insert_mark(Mark::Bookmark, me.id, boosted.id)
        .await
        .unwrap();
    tx.insert_mark(Mark::Pin, me.id, mine.id).await.unwrap();
    tx.commit().await.unwrap();

    // A page as a timeline reads it: newest first, boosts by their own rows.
    let page: Vec<Status> = [
        &mine,
        &my_boost,
        &boost,
        &in_group,
        &quoting,
        &with_media,
        &tagged,
        &quoted,
    ]
    .into_iter()
    .cloned()
    .collect();
    let h = store
        .hydrate(&page, OriginalsOf::ReadableBy(Some(me.id)), Some(me.id))
        .await
        .unwrap();

    // The originals: the boosted posts not on the page (the other one is).
    let mut originals: Vec<Id> = h.originals.iter().map(|s| s.id).collect();
    originals.sort();
    assert_eq!(originals, sorted(vec![boosted.id, tagged.id]));
    let mut ids: Vec<Id> = page.iter().map(|s| s.id).collect();
    ids.push(boosted.id);

    let (mentions, tags) = store.mentions_and_tags_of(&ids).await.unwrap();
    assert_eq!(sorted(h.mentions.clone()), sorted(mentions.clone()));
    assert_eq!(sorted(h.tags.clone()), sorted(tags.clone()));
    assert_eq!(
        sorted(h.mentions.clone()),
        sorted(vec![
            (tagged.id, me.id),
            (tagged.id, bob.id),
            (boosted.id, ann.id)
        ])
    );
    assert_eq!(tags.len(), 2);
    // An id asked for twice is read once (SQLite joins the ids rather than testing `IN`),
    // and none asked for reads nothing.
    let (twice, tags_twice) = store
        .mentions_and_tags_of(&[tagged.id, tagged.id, boosted.id])
        .await
        .unwrap();
    assert_eq!(twice.len(), 3);
    assert_eq!(tags_twice.len(), 2);
    let media_twice = store
        .media_of_statuses(&[with_media.id, with_media.id])
        .await
        .unwrap();
    assert_eq!(media_twice.len(), 3);
    assert!(store.media_of_statuses(&[]).await.unwrap().is_empty());
    let (none, no_tags) = store.mentions_and_tags_of(&[]).await.unwrap();
    assert!(none.is_empty() && no_tags.is_empty());

    // Attachments in their order within each post, every field as written.
    assert_eq!(h.media, store.media_of_statuses(&ids).await.unwrap());
    let of_post: Vec<&MediaAttachment> = h
        .media
        .iter()
        .filter(|m| m.status_id == Some(with_media.id))
        .collect();
    assert_eq!(of_post.len(), 3);
    for (got, want) in of_post.iter().zip(&media) {
        let want = MediaAttachment {
            status_id: Some(with_media.id),
            ..want.clone()
        };
        assert_eq!(**got, want);
    }
    assert!(h.media.iter().any(|m| m.status_id == Some(boosted.id)));

    let mut quotes = store.quotes_of(&ids).await.unwrap();
    let mut got = h.quotes.clone();
    quotes.sort_by_key(|q| q.status_id);
    got.sort_by_key(|q| q.status_id);
    assert_eq!(got, quotes);
    assert_eq!(got.len(), 2);
    assert_eq!(
        sorted(h.quotes_counts.clone()),
        sorted(store.quotes_counts(&ids).await.unwrap())
    );
    assert_eq!(h.quotes_counts, vec![(quoted.id, 1)]);

    assert_eq!(h.group_of, store.groups_of_statuses(&ids).await.unwrap());
    assert_eq!(h.group_of.get(&in_group.id), Some(&group.id));
    assert_eq!(h.group_of.len(), 1);

    let got = h.flags.expect("marks were asked for");
    let want = store.status_flags(me.id, &ids).await.unwrap();
    assert_eq!(flags(&got), flags(&want));
    assert_eq!(
        flags(&got),
        [
            HashSet::from([tagged.id]),
            HashSet::from([tagged.id]),
            HashSet::from([boosted.id]),
            HashSet::from([mine.id]),
        ]
    );

    // Without marks asked for, none are read; an empty page reads nothing.
    let h = store
        .hydrate(&page, OriginalsOf::Checked, None)
        .await
        .unwrap();
    assert!(h.flags.is_none());
    assert_eq!(h.originals.len(), 2);
    let h = store
        .hydrate(&[], OriginalsOf::Checked, Some(me.id))
        .await
        .unwrap();
    assert!(h.originals.is_empty() && h.mentions.is_empty() && h.media.is_empty());
}

/// A boost whose original the viewer may not read (its author blocks the viewer) brings
/// nothing of the original: not the post, not its attachments, mentions, tags or quote.
#[tokio::test]
async fn hydrate_reads_nothing_of_an_original_the_viewer_may_not_read() {
    let (store, _g) = store().await;
    let me = local(&store, "me").await;
    let ann = local(&store, "ann").await;
    let bob = remote(&store, "bob", "remote.test").await;
    let quoted = Post::new(&ann, Visibility::Public).insert(&store).await;
    let original = Post::new(&bob, Visibility::Public)
        .mention(&[ann.id])
        .tags(&["secret"])
        .insert(&store)
        .await;
    let boost = Post::new(&ann, Visibility::Public)
        .boost_of(&original)
        .insert(&store)
        .await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_status_media(original.id, &[attachment(bob.id, 1, None)])
        .await
        .unwrap();
    tx.insert_quote(&Quote {
        status_id: original.id,
        quoted_status_id: Some(quoted.id),
        quoted_account_id: Some(ann.id),
        quoted_uri: quoted.uri.clone(),
        state: QuoteState::Accepted,
        authorization_uri: None,
        created_at: now_micros(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    block(&store, bob.id, me.id).await;

    let page = [boost.clone()];
    let h = store
        .hydrate(&page, OriginalsOf::ReadableBy(Some(me.id)), Some(me.id))
        .await
        .unwrap();
    assert!(h.originals.is_empty());
    assert!(h.mentions.is_empty() && h.tags.is_empty());
    assert!(h.media.is_empty() && h.quotes.is_empty());
    // Ann, whom bob does not block, gets all of it.
    let h = store
        .hydrate(&page, OriginalsOf::ReadableBy(Some(ann.id)), Some(ann.id))
        .await
        .unwrap();
    assert_eq!(h.originals.len(), 1);
    assert_eq!(h.mentions, vec![(original.id, ann.id)]);
    assert_eq!((h.tags.len(), h.media.len(), h.quotes.len()), (1, 1, 1));
}
