// SPDX-License-Identifier: AGPL-3.0-or-later
//! Fan-out in batches: a post to more local followers than the posting transaction takes
//! reaches every follower's home feed and stream, batch by batch through the job queue; bell
//! notifications still go out; a delete or an edit while the batches run leaves feeds and
//! streams right. On SQLite, or PostgreSQL with KRING_TEST_DATABASE_URL.
mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{TestServer, User, bare_account};
use kring_core::Id;
use kring_core::model::Role;
use kring_service::events::{EventKind, Stream};
use kring_store::{FollowOptions, NewUser};
use serde_json::json;

/// Generous: the batches run on a shared, possibly busy machine. Nothing is timed.
const WAIT: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(700);
/// More than the posting transaction takes (100) plus one full batch (250): three parts.
const BULK: usize = 380;

/// Local followers of `target` made in the store (signing up hundreds through the API would
/// hash hundreds of passwords). They have no tokens; their feeds are read from the store.
async fn bulk_followers(s: &TestServer, target: Id, n: usize) -> Vec<Id> {
    let store = &s.kring.store;
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = Id::generate();
        let username = format!("bulk{i}");
        let uri = format!("{}/users/{username}", s.base);
        let url = format!("{}/@{username}", s.base);
        tx.insert_account(&bare_account(id, &username, None, uri, url))
            .await
            .unwrap();
        tx.insert_user(
            id,
            &NewUser {
                email: format!("{username}@tests.invalid"),
                password_hash: "x".into(),
                role: Role::User,
                approved: true,
                confirmed: true,
                reason: None,
                locale: "en".into(),
            },
        )
        .await
        .unwrap();
        let opts = FollowOptions {
            show_reblogs: true,
            notify: false,
        };
        tx.insert_follow(id, target, opts, None).await.unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    ids
}

fn id_of(u: &User) -> Id {
    Id(u.id.parse().unwrap())
}

/// Wait until no job is left: the fan-out's batches are done (or never were needed).
async fn jobs_done(s: &TestServer) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while s.kring.store.pending_jobs().await.unwrap() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs left: {}",
            s.kring.store.pending_jobs().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sorted_recipients(s: &TestServer, entry: Id) -> Vec<Id> {
    let mut v = s.kring.store.feed_recipients(entry).await.unwrap();
    v.sort();
    v
}

#[tokio::test]
async fn a_post_to_many_followers_reaches_every_feed_and_stream_in_batches() {
    let s = TestServer::start().await;
    let star = s.register("star").await;
    let star_id = id_of(&star);
    let mut followers = bulk_followers(&s, star_id, BULK).await;
    // Signed up last, so their accounts sort last: they are in the last batch.
    let late = s.register("late").await;
    s.follow(&late, &star).await;
    let bell = s.register("bell").await;
    let rel = s
        .ok_post(
            &format!("/api/v1/accounts/{}/follow", star.id),
            Some(&bell.token),
            json!({"notify": true}),
        )
        .await;
    assert_eq!(rel["notifying"], true, "{rel}");
    followers.extend([id_of(&late), id_of(&bell)]);
    let mut late_ws = s.websocket(&late.token, "stream=user").await;
    let mut bell_ws = s.websocket(&bell.token, "stream=user").await;
    let mut events = s.kring.events.subscribe();

    let id = s.status(&star, "hello to all my followers", "public").await;
    let entry = Id(id.parse().unwrap());

    // The last batch's followers see it in their streams, and the bell rings.
    let got = late_ws.expect_event("update", WAIT).await;
    assert_eq!(got.payload_json["id"], id.as_str());
    let mut rang = false;
    let mut updated = false;
    while !(rang && updated) {
        let e = bell_ws.next_event(WAIT).await.expect("bell's events");
        match e.event.as_str() {
            "update" => {
                assert_eq!(e.payload_json["id"], id.as_str());
                assert!(!updated, "told twice");
                updated = true;
            }
            "notification" => {
                assert_eq!(e.payload_json["type"], "status");
                assert_eq!(e.payload_json["status"]["id"], id.as_str());
                rang = true;
            }
            other => panic!("unexpected event {other}"),
        }
    }

    // Every follower is named once in the post's live events, over all the batches.
    let mut named: HashSet<Id> = HashSet::new();
    let want: HashSet<Id> = followers.iter().copied().collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !want.is_subset(&named) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let e = tokio::time::timeout(left, events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {} followers were never streamed the post",
                    want.difference(&named).count(),
                    want.len()
                )
            })
            .expect("the event bus");
        if !matches!(e.kind, EventKind::Update(u) if u == entry) {
            continue;
        }
        for st in &e.streams {
            if let Stream::User(u) = st {
                assert!(named.insert(*u), "{u:?} named twice");
            }
        }
    }

    // Every follower's feed has it, and the author's own.
    jobs_done(&s).await;
    let mut all = followers.clone();
    all.push(star_id);
    all.sort();
    assert_eq!(sorted_recipients(&s, entry).await, all);
    let home = s
        .status_ids("/api/v1/timelines/home?limit=1", Some(&late.token))
        .await;
    assert_eq!(home, vec![id.clone()]);
    // Nobody is told twice.
    assert!(late_ws.next_event(QUIET).await.is_none());
}

#[tokio::test]
async fn deleting_or_editing_a_post_while_it_fans_out() {
    let s = TestServer::start().await;
    let star = s.register("star").await;
    bulk_followers(&s, id_of(&star), BULK).await;
    let late = s.register("late").await;
    s.follow(&late, &star).await;
    let mut ws = s.websocket(&late.token, "stream=user").await;

    // Deleted right after posting, while the batches may still run: no feed keeps it, and a
    // follower shown it in the stream is told it is gone.
    let id = s.status(&star, "soon gone", "public").await;
    let (st, _, body) = s
        .delete(&format!("/api/v1/statuses/{id}"), Some(&star.token))
        .await;
    assert_eq!(st, 200, "{body}");
    jobs_done(&s).await;
    let entry = Id(id.parse().unwrap());
    assert!(sorted_recipients(&s, entry).await.is_empty());
    let home = s
        .status_ids("/api/v1/timelines/home?limit=5", Some(&late.token))
        .await;
    assert!(!home.contains(&id), "{home:?}");
    let mut shown = false;
    while let Some(e) = ws.next_event(QUIET).await {
        match e.event.as_str() {
            "update" if e.payload_json["id"] == id.as_str() => shown = true,
            "delete" if e.payload == id => shown = false,
            _ => {}
        }
    }
    assert!(!shown, "shown the deleted post and never told it is gone");

    // Edited right after posting: every feed has it, and what the follower was last shown of
    // it is the edited text, whichever of the edit and its batch came first.
    let id = s.status(&star, "first words", "public").await;
    let (st, _, body) = s
        .put(
            &format!("/api/v1/statuses/{id}"),
            Some(&star.token),
            json!({"status": "second thoughts"}),
        )
        .await;
    assert_eq!(st, 200, "{body}");
    jobs_done(&s).await;
    assert_eq!(
        sorted_recipients(&s, Id(id.parse().unwrap())).await.len(),
        BULK + 2
    );
    let home = s
        .ok("/api/v1/timelines/home?limit=1", Some(&late.token))
        .await;
    assert_eq!(home[0]["id"], id.as_str());
    assert!(
        home[0]["content"]
            .as_str()
            .unwrap()
            .contains("second thoughts")
    );
    let mut last = None;
    while let Some(e) = ws.next_event(QUIET).await {
        if matches!(e.event.as_str(), "update" | "status.update") && e.payload_json["id"] == id {
            last = e.payload_json["content"].as_str().map(str::to_string);
        }
    }
    let last = last.expect("the follower was streamed the post");
    assert!(last.contains("second thoughts"), "{last}");
}

/// A fan-out taken over from the progress its job recorded, as a worker takes over one whose
/// process died: the followers after that point get the post, over as many batches (and on
/// PostgreSQL rounds of batches side by side) as that takes; those before it are not written.
#[tokio::test]
async fn a_fan_out_job_resumes_where_its_progress_says() {
    let s = TestServer::start().await;
    let star = s.register("star").await;
    let star_id = id_of(&star);
    let mut followers = bulk_followers(&s, star_id, 1_200).await;
    followers.sort();
    let id = s.status(&star, "to be fanned out again", "public").await;
    let entry = Id(id.parse().unwrap());
    jobs_done(&s).await;
    // As if the post's process died after its progress said the first 150 were done.
    let mut tx = s.kring.store.begin().await.unwrap();
    tx.delete_feed_entries(entry).await.unwrap();
    tx.commit().await.unwrap();
    let after = followers[149];
    let payload = json!({
        "entry": entry.0.to_string(),
        "author": star_id.0.to_string(),
        "followers": {"boost": false, "reply_to_other": null},
        "after": after.0.to_string(),
    });
    s.kring
        .store
        .enqueue("feed.fan_out", &payload.to_string(), 0)
        .await
        .unwrap();
    jobs_done(&s).await;
    let got = sorted_recipients(&s, entry).await;
    // Counted first: a list of a thousand ids says little.
    assert_eq!(got.len(), followers.len() - 150, "feeds that have the post");
    assert!(
        got == followers[150..],
        "not the followers after the progress"
    );
}
