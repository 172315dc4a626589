// SPDX-License-Identifier: AGPL-3.0-or-later
//! Kring↔Kring federation: two or three real servers on 127.0.0.1 (each with its own SQLite
//! directory, or its own PostgreSQL database when `KRING_TEST_DATABASE_URL` is set), talking
//! over real HTTP with real signatures, driven only through each side's Mastodon client API.
//! Deliveries go through the job queues, so every remote effect is awaited with `eventually`.
//!
//! Covered: follows (auto-accepted and approved), delivery of every visibility, direct-message
//! privacy, reply threads, favourites and boosts and their undoing, edits and deletes,
//! unfollows, blocks, profile updates, remote account look-ups, inbox signature checks and
//! idempotency, and deliveries that survive a SIGKILL of the sender while the receiver is down.
mod common;
mod fed_common;

use common::schema::assert_valid;
use fed_common::{FedUser, Node, eventually, id, uri};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// `viewer` on `on` follows `target` (on another node) and waits until the follow is accepted;
/// returns the id `on` gives `target`.
async fn follow(on: &Node, viewer: &FedUser, target: &FedUser) -> String {
    let target_id = on.remote_id(viewer, &target.handle).await;
    let rel = on
        .ok_post(
            &format!("/api/v1/accounts/{target_id}/follow"),
            &viewer.token,
            json!({}),
        )
        .await;
    assert_valid("Relationship", &rel);
    eventually(
        &format!("{} follows {}", viewer.handle, target.handle),
        async || on.relationship(viewer, &target_id).await["following"]
            .as_bool()
            .filter(|f| *f),
    )
    .await;
    target_id
}

/// The id of a remote status (by its `uri`) on `on`, found without fetching anything: through
/// search with `resolve=false`, which only looks at what `on` already stores.
async fn local_copy(on: &Node, viewer: &FedUser, status_uri: &str) -> Option<Value> {
    let found = on
        .ok_query(
            "/api/v2/search",
            &viewer.token,
            &[("q", status_uri), ("type", "statuses"), ("resolve", "false")],
        )
        .await;
    found["statuses"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["uri"] == status_uri).cloned())
}

// --- 1. follows ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_auto_accepted_and_approved() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;

    // Auto-accept: bob is unlocked.
    let bob_on_a = a.resolve(&alice, &bob.handle).await;
    assert_eq!(bob_on_a["acct"], bob.handle);
    assert_eq!(bob_on_a["username"], "bob");
    assert_eq!(bob_on_a["locked"], false);
    let bob_id = id(&bob_on_a);
    let rel = a
        .ok_post(
            &format!("/api/v1/accounts/{bob_id}/follow"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_valid("Relationship", &rel);
    // Pending until B accepts.
    assert_eq!(rel["following"], false, "{rel}");
    assert_eq!(rel["requested"], true, "{rel}");
    eventually("alice follows bob after the Accept", async || {
        a.relationship(&alice, &bob_id).await["following"]
            .as_bool()
            .filter(|f| *f)
    })
    .await;
    let rel = a.relationship(&alice, &bob_id).await;
    assert_eq!(rel["requested"], false, "{rel}");
    // B lists alice@A among bob's followers, and told bob.
    let followers = b
        .accts(&bob, &format!("/api/v1/accounts/{}/followers", bob.id))
        .await;
    assert_eq!(followers, vec![alice.handle.clone()]);
    let me = b.ok("/api/v1/accounts/verify_credentials", &bob.token).await;
    assert_eq!(me["followers_count"], 1);
    let n = b
        .notification(&bob, "follow", &alice.handle)
        .await
        .expect("bob is notified of the follow");
    assert_valid("Account", &n["account"]);
    // A counts the follow on alice's side.
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["following_count"], 1);
    let alice_on_b = b.resolve(&bob, &alice.handle).await;
    let rel = b.relationship(&bob, &id(&alice_on_b)).await;
    assert_eq!(rel["followed_by"], true, "{rel}");

    // Manual approval: carol locks her account.
    let me = b
        .ok_send(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            &carol.token,
            json!({ "locked": true }),
        )
        .await;
    assert_eq!(me["locked"], true);
    let carol_on_a = a.resolve(&alice, &carol.handle).await;
    assert_eq!(carol_on_a["locked"], true, "A learns carol is locked");
    let carol_id = id(&carol_on_a);
    let rel = a
        .ok_post(
            &format!("/api/v1/accounts/{carol_id}/follow"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(rel["requested"], true, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");
    // B shows carol the request from alice@A.
    let requests = eventually("carol sees alice's follow request", async || {
        let r = b.accts(&carol, "/api/v1/follow_requests").await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(requests, vec![alice.handle.clone()]);
    b.notification(&carol, "follow_request", &alice.handle)
        .await
        .expect("carol is notified of the request");
    // Still only requested on A.
    let rel = a.relationship(&alice, &carol_id).await;
    assert_eq!(rel["requested"], true, "{rel}");
    assert_eq!(rel["following"], false, "{rel}");
    // Carol approves.
    let alice_on_b = b.resolve(&carol, &alice.handle).await;
    let rel = b
        .ok_post(
            &format!("/api/v1/follow_requests/{}/authorize", id(&alice_on_b)),
            &carol.token,
            json!({}),
        )
        .await;
    assert_valid("Relationship", &rel);
    assert_eq!(rel["followed_by"], true, "{rel}");
    assert!(
        b.accts(&carol, "/api/v1/follow_requests").await.is_empty(),
        "the request is settled"
    );
    eventually("alice follows carol after approval", async || {
        let rel = a.relationship(&alice, &carol_id).await;
        (rel["following"] == true && rel["requested"] == false).then_some(())
    })
    .await;
    let followers = b
        .accts(&carol, &format!("/api/v1/accounts/{}/followers", carol.id))
        .await;
    assert_eq!(followers, vec![alice.handle.clone()]);
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["following_count"], 2);
}
