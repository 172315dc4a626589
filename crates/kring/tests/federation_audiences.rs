// SPDX-License-Identifier: AGPL-3.0-or-later
//! Friends-only, circle and local-only posts across three real Kring servers (issue 10):
//! each reaches exactly its audience on every server, a server with no recipient receives
//! nothing, replies stay inside, and an ended friendship or a removed circle member loses the
//! posts on the other server too.
//!
//! Cast: alice@A (author), dave@A (in alice's circle), bob@B (alice's friend), bea@B (in
//! alice's circle), carol@B (follows alice, not a friend, in no circle), erin@C (follows
//! alice; C hosts no friend and no member).
mod common;
mod fed_common;

use common::schema::assert_valid;
use fed_common::{Node, eventually, follow, id, unreadable, uri};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn narrowed_posts_reach_exactly_their_audience_across_servers() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let alice = a.register("alice").await;
    let dave = a.register("dave").await;
    let bob = b.register("bob").await;
    let bea = b.register("bea").await;
    let carol = b.register("carol").await;
    let erin = c.register("erin").await;
    // bob and alice are friends; carol and erin only follow alice.
    follow(&b, &bob, &alice).await;
    let bob_on_a = follow(&a, &alice, &bob).await;
    follow(&b, &carol, &alice).await;
    follow(&c, &erin, &alice).await;
    let rel = a.relationship(&alice, &bob_on_a).await;
    assert_eq!(rel["friend"], true, "{rel}");
    let friends = a.accts(&alice, "/api/v1/friends").await;
    assert_eq!(friends, vec![bob.handle.clone()]);

    // --- friends-only ---------------------------------------------------------------------
    let friends_post = a.say(&alice, "for my friends only", "friends").await;
    let on_b = b.wait_home(&bob, &uri(&friends_post)).await;
    assert_eq!(on_b["kring"]["visibility"], "friends", "{on_b}");
    assert_eq!(on_b["visibility"], "private");
    // bob was addressed, not mentioned: no mention notification.
    assert!(
        b.notification(&bob, "mention", &alice.handle)
            .await
            .is_none()
    );
    unreadable(&b, &carol, &uri(&friends_post)).await;
    // bob's reply, from a client asking for public, stays among alice's friends: alice gets
    // it, carol on the same server and erin do not.
    let reply = b
        .post_status(
            &bob,
            json!({"status": "replying to friends", "visibility": "public", "in_reply_to_id": id(&on_b)}),
        )
        .await;
    assert_eq!(reply["kring"]["visibility"], "friends", "{reply}");
    let reply_on_a = a.wait_home(&alice, &uri(&reply)).await;
    assert_eq!(reply_on_a["kring"]["visibility"], "friends", "{reply_on_a}");
    unreadable(&b, &carol, &uri(&reply)).await;

    // --- circles --------------------------------------------------------------------------
    let bea_on_a = a.remote_id(&alice, &bea.handle).await;
    let circle = a
        .ok_post(
            "/api/v1/circles",
            &alice.token,
            json!({"title": "Book club"}),
        )
        .await;
    let circle = id(&circle);
    a.ok_post(
        &format!("/api/v1/circles/{circle}/accounts"),
        &alice.token,
        json!({"account_ids": [bea_on_a, dave.id]}),
    )
    .await;
    let circle_post = a
        .post_status(
            &alice,
            json!({"status": "book club news", "visibility": "circle", "circle_ids": [circle]}),
        )
        .await;
    assert_valid("Status", &circle_post);
    // The local member and the remote one have it; bea though she follows nobody.
    a.wait_home(&dave, &uri(&circle_post)).await;
    let cp_on_b = b.wait_home(&bea, &uri(&circle_post)).await;
    assert_eq!(cp_on_b["kring"]["visibility"], "circle", "{cp_on_b}");
    // bob (a friend, not a member) and carol on the same server do not.
    unreadable(&b, &bob, &uri(&circle_post)).await;
    unreadable(&b, &carol, &uri(&circle_post)).await;

    // --- local-only -----------------------------------------------------------------------
    let local = a
        .post_status(
            &alice,
            json!({"status": "only here", "visibility": "public", "local_only": true}),
        )
        .await;
    assert_eq!(local["local_only"], true);

    // --- C hosts no friend and no member: it received none of it ---------------------------
    // A later public post reaches erin, so deliveries to C work and have been made.
    let later = a.say(&alice, "a public word", "public").await;
    c.wait_home(&erin, &uri(&later)).await;
    b.wait_home(&carol, &uri(&later)).await;
    for post in [&friends_post, &circle_post, &local] {
        unreadable(&c, &erin, &uri(post)).await;
    }
    unreadable(&b, &carol, &uri(&local)).await;
    unreadable(&b, &bob, &uri(&local)).await;

    // --- an ended friendship, a removed member: gone on B too -------------------------------
    a.ok_post(
        &format!("/api/v1/accounts/{bob_on_a}/unfollow"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually("bob no longer reads the friends-only post", async || {
        b.status(&bob, &id(&on_b)).await.is_none().then_some(())
    })
    .await;
    assert!(b.in_home(&bob, &uri(&friends_post)).await.is_none());
    a.ok_send(
        reqwest::Method::DELETE,
        &format!("/api/v1/circles/{circle}/accounts"),
        &alice.token,
        json!({"account_ids": [bea_on_a]}),
    )
    .await;
    eventually("bea no longer reads the circle post", async || {
        b.status(&bea, &id(&cp_on_b)).await.is_none().then_some(())
    })
    .await;
    // dave, still a member on A, does.
    assert!(a.in_home(&dave, &uri(&circle_post)).await.is_some());

    // A circle deleted: its remote members' servers drop its posts too.
    let circle2 = a
        .ok_post("/api/v1/circles", &alice.token, json!({"title": "Choir"}))
        .await;
    let circle2 = id(&circle2);
    a.ok_post(
        &format!("/api/v1/circles/{circle2}/accounts"),
        &alice.token,
        json!({"account_ids": [bea_on_a]}),
    )
    .await;
    let choir = a
        .post_status(
            &alice,
            json!({"status": "choir practice", "visibility": "circle", "circle_ids": [circle2]}),
        )
        .await;
    let choir_on_b = b.wait_home(&bea, &uri(&choir)).await;
    a.ok_send(
        reqwest::Method::DELETE,
        &format!("/api/v1/circles/{circle2}"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually(
        "bea no longer reads the deleted circle's post",
        async || {
            b.status(&bea, &id(&choir_on_b))
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
}
