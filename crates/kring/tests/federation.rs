// SPDX-License-Identifier: AGPL-3.0-or-later
//! Kring↔Kring federation: two or three real servers on 127.0.0.1 (each with its own SQLite
//! directory, or its own PostgreSQL database when `KRING_TEST_DATABASE_URL` is set), talking
//! over real HTTP with real signatures, driven only through each side's Mastodon client API.
//! Deliveries go through the job queues, so every remote effect is awaited with `eventually`.
//!
//! Covered: follows (auto-accepted and approved), delivery of every visibility, direct-message
//! privacy, reply threads, favourites and boosts and their undoing, edits and deletes,
//! unfollows, blocks, profile updates, remote account look-ups, inbox signature checks and
//! idempotency, deliveries that survive a SIGKILL of the sender while the receiver is down, and
//! the live events of received posts.
mod common;
mod fed_common;

use std::time::SystemTime;

use common::schema::assert_valid;
use fed_common::{
    FedUser, Node, eventually, eventually_within, follow, heard, id, live, local_copy, uri,
};
use kring_activitypub::client::{Client, Scheme};
use kring_activitypub::{Headers, KeyPair, as2, cavage, digest, http_date};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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
    let me = b
        .ok("/api/v1/accounts/verify_credentials", &bob.token)
        .await;
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

    // Withdrawing a pending request removes it on B; a rejected one ends as no follow on A.
    let dan = b.register("dan").await;
    b.ok_send(
        Method::PATCH,
        "/api/v1/accounts/update_credentials",
        &dan.token,
        json!({ "locked": true }),
    )
    .await;
    let dan_id = a.remote_id(&alice, &dan.handle).await;
    let follow_dan = format!("/api/v1/accounts/{dan_id}/follow");
    let rel = a.ok_post(&follow_dan, &alice.token, json!({})).await;
    assert_eq!(rel["requested"], true, "{rel}");
    eventually("dan sees alice's request", async || {
        (b.accts(&dan, "/api/v1/follow_requests").await == vec![alice.handle.clone()]).then_some(())
    })
    .await;
    let rel = a
        .ok_post(
            &format!("/api/v1/accounts/{dan_id}/unfollow"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(rel["requested"], false, "{rel}");
    eventually("the withdrawn request leaves dan's list", async || {
        b.accts(&dan, "/api/v1/follow_requests")
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert!(
        b.notification(&dan, "follow_request", &alice.handle)
            .await
            .is_none(),
        "and its notification"
    );
    let rel = a.ok_post(&follow_dan, &alice.token, json!({})).await;
    assert_eq!(rel["requested"], true, "{rel}");
    let alice_on_b = eventually("dan sees alice's new request", async || {
        let list = b.ok("/api/v1/follow_requests", &dan.token).await;
        list.as_array().and_then(|l| l.first().cloned())
    })
    .await;
    assert_eq!(alice_on_b["acct"], alice.handle);
    b.ok_post(
        &format!("/api/v1/follow_requests/{}/reject", id(&alice_on_b)),
        &dan.token,
        json!({}),
    )
    .await;
    eventually("A learns the request was rejected", async || {
        let rel = a.relationship(&alice, &dan_id).await;
        (rel["requested"] == false && rel["following"] == false).then_some(())
    })
    .await;
    assert!(
        b.accts(&dan, &format!("/api/v1/accounts/{}/followers", dan.id))
            .await
            .is_empty()
    );
}

// --- 2. delivery by visibility ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_visibility_reaches_exactly_its_audience() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let alice = a.register("alice").await;
    let dave = a.register("dave").await;
    let frank = a.register("frank").await;
    let bob = b.register("bob").await;
    let erin = c.register("erin").await;
    follow(&a, &alice, &bob).await;
    follow(&a, &dave, &bob).await;
    follow(&c, &erin, &bob).await;
    let followers = b
        .accts(&bob, &format!("/api/v1/accounts/{}/followers", bob.id))
        .await;
    assert_eq!(followers.len(), 3, "{followers:?}");

    // Public, unlisted and followers-only posts reach every follower's home with their
    // visibility, on both remote servers.
    let mut copies = Vec::new();
    for visibility in ["public", "unlisted", "private"] {
        let s = b
            .say(&bob, &format!("bob says {visibility}"), visibility)
            .await;
        let on_a = a.wait_home(&alice, &uri(&s)).await;
        assert_eq!(on_a["visibility"], visibility, "{on_a}");
        assert_eq!(on_a["account"]["acct"], bob.handle);
        assert!(
            on_a["content"]
                .as_str()
                .unwrap()
                .contains(&format!("bob says {visibility}")),
            "{on_a}"
        );
        assert_eq!(
            on_a["url"], s["url"],
            "the remote copy links to the original"
        );
        assert_ne!(on_a["id"], s["id"], "A gives the copy an id of its own");
        let on_dave = a.wait_home(&dave, &uri(&s)).await;
        assert_eq!(on_dave["id"], on_a["id"], "one copy per server");
        let on_c = c.wait_home(&erin, &uri(&s)).await;
        assert_eq!(on_c["visibility"], visibility, "{on_c}");
        copies.push((visibility, s, on_a));
    }
    // Public posts show in A's federated timeline; unlisted and private ones do not.
    let public = a
        .statuses(&frank, "/api/v1/timelines/public?remote=true")
        .await;
    let listed: Vec<&str> = public.iter().filter_map(|s| s["uri"].as_str()).collect();
    assert!(listed.contains(&uri(&copies[0].1).as_str()), "{listed:?}");
    assert!(!listed.contains(&uri(&copies[1].1).as_str()), "{listed:?}");
    assert!(!listed.contains(&uri(&copies[2].1).as_str()), "{listed:?}");

    // The followers-only post is invisible to frank, who is on A but does not follow bob:
    // not by id, not in his home, not through search (stored or resolved), not in bob's
    // statuses as A shows them.
    let (_, private, private_on_a) = &copies[2];
    assert!(a.status(&frank, &id(private_on_a)).await.is_none());
    assert!(a.status(&alice, &id(private_on_a)).await.is_some());
    assert!(a.in_home(&frank, &uri(private)).await.is_none());
    assert!(local_copy(&a, &frank, &uri(private)).await.is_none());
    let found = a
        .ok_query(
            "/api/v2/search",
            &frank.token,
            &[
                ("q", &uri(private)),
                ("type", "statuses"),
                ("resolve", "true"),
            ],
        )
        .await;
    assert_eq!(found["statuses"], json!([]), "{found}");
    let bob_on_a = a.remote_id(&frank, &bob.handle).await;
    let seen: Vec<Value> = a
        .statuses(&frank, &format!("/api/v1/accounts/{bob_on_a}/statuses"))
        .await;
    assert!(
        seen.iter().all(|s| s["visibility"] != "private"),
        "frank sees no followers-only post: {seen:?}"
    );
    // The public one he can see.
    assert!(a.status(&frank, &id(&copies[0].2)).await.is_some());

    // A direct post from bob mentioning alice reaches alice only: not dave (on A, follows
    // bob), not frank, not erin (on C, follows bob).
    let dm = b
        .say(
            &bob,
            &format!("@{} a secret for you", alice.handle),
            "direct",
        )
        .await;
    assert_eq!(dm["mentions"][0]["acct"], alice.handle, "{dm}");
    let n = eventually("alice is notified of bob's direct mention", async || {
        a.notification(&alice, "mention", &bob.handle).await
    })
    .await;
    let dm_on_a = n["status"].clone();
    assert_eq!(dm_on_a["uri"], dm["uri"]);
    assert_eq!(dm_on_a["visibility"], "direct");
    assert_eq!(dm_on_a["mentions"][0]["acct"], "alice", "{dm_on_a}");
    let dm_id = id(&dm_on_a);
    assert!(a.status(&alice, &dm_id).await.is_some());
    a.wait_home(&alice, &uri(&dm)).await;
    assert!(
        a.status(&dave, &dm_id).await.is_none(),
        "dave cannot read it"
    );
    assert!(
        a.status(&frank, &dm_id).await.is_none(),
        "frank cannot read it"
    );
    assert!(a.in_home(&dave, &uri(&dm)).await.is_none());
    assert!(
        a.notification(&dave, "mention", &bob.handle)
            .await
            .is_none()
    );
    // C never received it: a later public post arrives there, the direct one does not.
    let later = b.say(&bob, "after the secret", "public").await;
    c.wait_home(&erin, &uri(&later)).await;
    assert!(c.in_home(&erin, &uri(&dm)).await.is_none());
    assert!(local_copy(&c, &erin, &uri(&dm)).await.is_none());
    let found = c
        .ok_query(
            "/api/v2/search",
            &erin.token,
            &[("q", &uri(&dm)), ("type", "statuses"), ("resolve", "true")],
        )
        .await;
    assert_eq!(
        found["statuses"],
        json!([]),
        "erin cannot fetch it: {found}"
    );

    // A followers-only post that mentions frank reaches him too (and the followers), while
    // it stays hidden from a follower of nobody on A.
    let gina = a.register("gina").await;
    let aside = b
        .say(
            &bob,
            &format!("@{} followers and you", frank.handle),
            "private",
        )
        .await;
    let n = eventually("frank is notified of the mention", async || {
        a.notification(&frank, "mention", &bob.handle).await
    })
    .await;
    assert_eq!(n["status"]["uri"], aside["uri"]);
    assert_eq!(n["status"]["visibility"], "private");
    let aside_id = id(&n["status"]);
    assert!(a.status(&frank, &aside_id).await.is_some());
    let on_a = a.wait_home(&alice, &uri(&aside)).await;
    assert_eq!(id(&on_a), aside_id);
    assert!(a.status(&gina, &aside_id).await.is_none());
    c.wait_home(&erin, &uri(&aside)).await;
}

// --- 3. reply threads ---------------------------------------------------------------------------

/// The `uri`s of a status's ancestors and descendants as `on` shows them to `viewer`.
async fn context(on: &Node, viewer: &FedUser, status_id: &str) -> (Vec<String>, Vec<String>) {
    let ctx = on
        .ok(
            &format!("/api/v1/statuses/{status_id}/context"),
            &viewer.token,
        )
        .await;
    assert_valid("Context", &ctx);
    let uris = |k: &str| {
        ctx[k]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["uri"].as_str().expect("uri").to_string())
            .collect::<Vec<_>>()
    };
    (uris("ancestors"), uris("descendants"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_threads_across_servers() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    follow(&a, &alice, &bob).await;

    let root = b.say(&bob, "what do you think?", "public").await;
    let root_on_a = a.wait_home(&alice, &uri(&root)).await;

    // Alice answers on A; B threads the reply under bob's post and tells bob.
    let reply = a
        .post_status(
            &alice,
            json!({
                "status": format!("@{} I agree", bob.handle),
                "in_reply_to_id": id(&root_on_a),
                "visibility": "public",
            }),
        )
        .await;
    assert_eq!(reply["in_reply_to_id"], root_on_a["id"]);
    assert_eq!(reply["in_reply_to_account_id"], root_on_a["account"]["id"]);
    let n = eventually("bob is notified of alice's reply", async || {
        b.notification(&bob, "mention", &alice.handle).await
    })
    .await;
    let reply_on_b = n["status"].clone();
    assert_eq!(reply_on_b["uri"], reply["uri"]);
    assert_eq!(reply_on_b["in_reply_to_id"], root["id"], "{reply_on_b}");
    assert_eq!(reply_on_b["in_reply_to_account_id"], bob.id.as_str());
    let (up, down) = context(&b, &bob, &id(&root)).await;
    assert!(up.is_empty());
    assert_eq!(down, vec![uri(&reply)]);
    let root_now = b.status(&bob, &id(&root)).await.unwrap();
    assert_eq!(root_now["replies_count"], 1, "{root_now}");

    // Bob answers alice's reply; A shows the whole thread and tells alice.
    let answer = b
        .post_status(
            &bob,
            json!({
                "status": format!("@{} glad to hear", alice.handle),
                "in_reply_to_id": id(&reply_on_b),
                "visibility": "public",
            }),
        )
        .await;
    let n = eventually("alice is notified of bob's answer", async || {
        a.notification(&alice, "mention", &bob.handle).await
    })
    .await;
    let answer_on_a = n["status"].clone();
    assert_eq!(answer_on_a["uri"], answer["uri"]);
    assert_eq!(answer_on_a["in_reply_to_id"], reply["id"], "{answer_on_a}");
    assert_eq!(answer_on_a["in_reply_to_account_id"], alice.id.as_str());
    let (up, down) = context(&a, &alice, &id(&root_on_a)).await;
    assert!(up.is_empty());
    assert_eq!(down, vec![uri(&reply), uri(&answer)]);
    let (up, down) = context(&a, &alice, &id(&answer_on_a)).await;
    assert_eq!(up, vec![uri(&root), uri(&reply)]);
    assert!(down.is_empty());
    let (up, down) = context(&b, &bob, &id(&reply_on_b)).await;
    assert_eq!(up, vec![uri(&root)]);
    assert_eq!(down, vec![uri(&answer)]);

    // Alice deletes her reply: it goes from B, and bob's post counts no reply.
    let (st, _) = a
        .request(
            Method::DELETE,
            &format!("/api/v1/statuses/{}", id(&reply)),
            Some(&alice.token),
            &[],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    eventually("B deletes its copy of alice's reply", async || {
        b.status(&bob, &id(&reply_on_b))
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let root_now = b.status(&bob, &id(&root)).await.unwrap();
    assert_eq!(root_now["replies_count"], 0, "{root_now}");
    let (_, down) = context(&b, &bob, &id(&root)).await;
    assert!(!down.contains(&uri(&reply)), "{down:?}");
}

// --- 4. favourites and boosts -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn favourites_and_boosts_and_their_undoing() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;
    follow(&a, &alice, &bob).await;
    follow(&b, &carol, &alice).await;
    let post = b.say(&bob, "like me", "public").await;
    let on_a = a.wait_home(&alice, &uri(&post)).await;
    let copy = id(&on_a);
    let counts = async || {
        let s = b.status(&bob, &id(&post)).await.unwrap();
        (s["favourites_count"].clone(), s["reblogs_count"].clone())
    };

    let fav = a
        .ok_post(
            &format!("/api/v1/statuses/{copy}/favourite"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(fav["favourited"], true);
    let n = eventually("bob is notified of the favourite", async || {
        b.notification(&bob, "favourite", &alice.handle).await
    })
    .await;
    assert_eq!(n["status"]["id"], post["id"]);
    assert_eq!(counts().await, (json!(1), json!(0)));
    let by = b
        .accts(
            &bob,
            &format!("/api/v1/statuses/{}/favourited_by", id(&post)),
        )
        .await;
    assert_eq!(by, vec![alice.handle.clone()]);

    let boost = a
        .ok_post(
            &format!("/api/v1/statuses/{copy}/reblog"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_valid("Status", &boost);
    assert_eq!(boost["reblog"]["uri"], post["uri"]);
    let n = eventually("bob is notified of the boost", async || {
        b.notification(&bob, "reblog", &alice.handle).await
    })
    .await;
    assert_eq!(n["status"]["id"], post["id"]);
    assert_eq!(counts().await, (json!(1), json!(1)));
    let by = b
        .accts(
            &bob,
            &format!("/api/v1/statuses/{}/reblogged_by", id(&post)),
        )
        .await;
    assert_eq!(by, vec![alice.handle.clone()]);
    // Carol, on B, follows alice: the boost is in her home, wrapping bob's own post.
    let boosted = eventually("alice's boost reaches carol's home", async || {
        b.home(&carol)
            .await
            .into_iter()
            .find(|s| s["account"]["acct"] == alice.handle.as_str())
    })
    .await;
    assert_eq!(boosted["uri"], boost["uri"], "{boosted}");
    assert_eq!(boosted["reblog"]["id"], post["id"], "{boosted}");
    assert_eq!(boosted["reblog"]["account"]["acct"], "bob");

    let unfav = a
        .ok_post(
            &format!("/api/v1/statuses/{copy}/unfavourite"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(unfav["favourited"], false);
    eventually("the favourite is undone on B", async || {
        (counts().await.0 == json!(0)).then_some(())
    })
    .await;
    assert!(
        b.notification(&bob, "favourite", &alice.handle)
            .await
            .is_none()
    );
    let by = b
        .accts(
            &bob,
            &format!("/api/v1/statuses/{}/favourited_by", id(&post)),
        )
        .await;
    assert!(by.is_empty(), "{by:?}");

    let unboost = a
        .ok_post(
            &format!("/api/v1/statuses/{copy}/unreblog"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(unboost["reblogged"], false);
    eventually("the boost is undone on B", async || {
        (counts().await.1 == json!(0)).then_some(())
    })
    .await;
    assert!(
        b.notification(&bob, "reblog", &alice.handle)
            .await
            .is_none()
    );
    let by = b
        .accts(
            &bob,
            &format!("/api/v1/statuses/{}/reblogged_by", id(&post)),
        )
        .await;
    assert!(by.is_empty(), "{by:?}");
    assert_eq!(counts().await, (json!(0), json!(0)));
    assert!(
        b.home(&carol)
            .await
            .iter()
            .all(|s| s["uri"] != boost["uri"]),
        "the undone boost left carol's home"
    );

    // A follower may favourite a followers-only post too (but not boost it).
    let private = b.say(&bob, "for followers", "private").await;
    let copy = id(&a.wait_home(&alice, &uri(&private)).await);
    a.ok_post(
        &format!("/api/v1/statuses/{copy}/favourite"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually(
        "the favourite of the private post counts on B",
        async || {
            let s = b.status(&bob, &id(&private)).await.unwrap();
            (s["favourites_count"] == 1).then_some(())
        },
    )
    .await;
    let (st, body) = a
        .request(
            Method::POST,
            &format!("/api/v1/statuses/{copy}/reblog"),
            Some(&alice.token),
            &[],
            Some(json!({})),
        )
        .await;
    assert!(st.is_client_error(), "boosting a private post: {st} {body}");
}

// --- 5. edits and deletes -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletes_reach_followers() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    follow(&a, &alice, &bob).await;
    let post = b.say(&bob, "first draft", "public").await;
    let copy = id(&a.wait_home(&alice, &uri(&post)).await);
    let before = a.status(&alice, &copy).await.unwrap();
    assert!(before["edited_at"].is_null(), "{before}");

    let edited = b
        .ok_send(
            Method::PUT,
            &format!("/api/v1/statuses/{}", id(&post)),
            &bob.token,
            json!({ "status": "second draft" }),
        )
        .await;
    assert_valid("Status", &edited);
    assert!(edited["edited_at"].is_string(), "{edited}");
    let after = eventually("A shows the edit", async || {
        a.status(&alice, &copy)
            .await
            .filter(|s| s["content"].as_str().unwrap_or("").contains("second draft"))
    })
    .await;
    assert!(!after["content"].as_str().unwrap().contains("first draft"));
    assert!(after["edited_at"].is_string(), "{after}");
    assert_eq!(
        after["id"],
        copy.as_str(),
        "the edit keeps A's copy and its id"
    );
    let history = a
        .ok(&format!("/api/v1/statuses/{copy}/history"), &alice.token)
        .await;
    let versions = history.as_array().expect("history");
    for v in versions {
        assert_valid("StatusEdit", v);
    }
    assert_eq!(versions.len(), 2, "original and edit: {history}");
    assert!(
        versions[0]["content"]
            .as_str()
            .unwrap()
            .contains("first draft"),
        "{history}"
    );
    assert!(
        versions[1]["content"]
            .as_str()
            .unwrap()
            .contains("second draft"),
        "{history}"
    );
    let in_home = a.in_home(&alice, &uri(&post)).await.expect("still in home");
    assert!(
        in_home["content"]
            .as_str()
            .unwrap()
            .contains("second draft")
    );

    let (st, _) = b
        .request(
            Method::DELETE,
            &format!("/api/v1/statuses/{}", id(&post)),
            Some(&bob.token),
            &[],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    eventually("A's copy is deleted", async || {
        a.status(&alice, &copy).await.is_none().then_some(())
    })
    .await;
    let (st, _) = a
        .get(&format!("/api/v1/statuses/{copy}"), &alice.token)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(a.in_home(&alice, &uri(&post)).await.is_none());
    assert!(local_copy(&a, &alice, &uri(&post)).await.is_none());
}

/// A deleted public post is also deleted on a server that has it only because someone there
/// liked it (found by its address, following nobody).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_reaches_the_servers_of_those_who_liked_the_post() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let post = b.say(&bob, "like me", "public").await;
    let found = a
        .ok_query(
            "/api/v2/search",
            &alice.token,
            &[
                ("q", uri(&post).as_str()),
                ("type", "statuses"),
                ("resolve", "true"),
            ],
        )
        .await;
    let copy = id(&found["statuses"][0]);
    a.ok_post(
        &format!("/api/v1/statuses/{copy}/favourite"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually("B has the like", async || {
        let s = b.status(&bob, &id(&post)).await?;
        (s["favourites_count"] == 1).then_some(())
    })
    .await;
    let (st, _) = b
        .request(
            Method::DELETE,
            &format!("/api/v1/statuses/{}", id(&post)),
            Some(&bob.token),
            &[],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    eventually("A's copy is deleted", async || {
        a.status(&alice, &copy).await.is_none().then_some(())
    })
    .await;
}

// --- 6. unfollow --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfollow_stops_delivery() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let dave = a.register("dave").await;
    let bob = b.register("bob").await;
    let bob_id = follow(&a, &alice, &bob).await;
    follow(&a, &dave, &bob).await;
    let followers_count = async || {
        b.ok("/api/v1/accounts/verify_credentials", &bob.token)
            .await["followers_count"]
            .clone()
    };
    assert_eq!(followers_count().await, 2);
    let old = b.say(&bob, "before", "public").await;
    a.wait_home(&alice, &uri(&old)).await;

    let rel = a
        .ok_post(
            &format!("/api/v1/accounts/{bob_id}/unfollow"),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(rel["following"], false);
    assert_eq!(rel["requested"], false);
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["following_count"], 0);
    assert!(
        a.in_home(&alice, &uri(&old)).await.is_none(),
        "an unfollowed account's posts leave the home timeline"
    );
    eventually("bob's follower count drops on B", async || {
        (followers_count().await == 1).then_some(())
    })
    .await;
    let followers = b
        .accts(&bob, &format!("/api/v1/accounts/{}/followers", bob.id))
        .await;
    assert_eq!(followers, vec![dave.handle.clone()]);

    // A new post still reaches dave on A, but not alice.
    let new = b.say(&bob, "after", "public").await;
    a.wait_home(&dave, &uri(&new)).await;
    assert!(a.in_home(&alice, &uri(&new)).await.is_none());
    let private = b.say(&bob, "followers only, after", "private").await;
    let on_a = a.wait_home(&dave, &uri(&private)).await;
    assert!(a.status(&alice, &id(&on_a)).await.is_none());
}

// --- 7. block -----------------------------------------------------------------------------------

/// Blocking a whole domain removes one's followers there, as Mastodon does: their server is
/// told (the follow is rejected), and later followers-only posts do not go there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_block_removes_followers_on_that_domain() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let alice_on_b = follow(&b, &bob, &alice).await;
    let domain = b.domain.clone();
    a.ok_post(
        "/api/v1/domain_blocks",
        &alice.token,
        json!({"domain": domain}),
    )
    .await;
    let followers = a
        .accts(&alice, &format!("/api/v1/accounts/{}/followers", alice.id))
        .await;
    assert!(followers.is_empty(), "{followers:?}");
    eventually("B hears bob no longer follows alice", async || {
        let rel = b.relationship(&bob, &alice_on_b).await;
        (rel["following"] == false).then_some(())
    })
    .await;
    // Nothing is left to send there: alice has no followers on B.
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["followers_count"], 0, "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_ends_follows_on_both_sides() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let bob_id = follow(&a, &alice, &bob).await;
    let alice_id = follow(&b, &bob, &alice).await;
    a.notification(&alice, "follow", &bob.handle)
        .await
        .expect("alice is notified of bob's follow");
    let rel = a.relationship(&alice, &bob_id).await;
    assert_eq!(
        (&rel["following"], &rel["followed_by"]),
        (&json!(true), &json!(true))
    );

    let rel = b
        .ok_post(
            &format!("/api/v1/accounts/{alice_id}/block"),
            &bob.token,
            json!({}),
        )
        .await;
    assert_valid("Relationship", &rel);
    assert_eq!(rel["blocking"], true);
    assert_eq!(rel["following"], false);
    assert_eq!(rel["followed_by"], false);
    let me = b
        .ok("/api/v1/accounts/verify_credentials", &bob.token)
        .await;
    assert_eq!(
        (&me["followers_count"], &me["following_count"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(
        b.accts(&bob, "/api/v1/blocks").await,
        vec![alice.handle.clone()]
    );

    eventually("A ends both follows", async || {
        let rel = a.relationship(&alice, &bob_id).await;
        (rel["following"] == false && rel["followed_by"] == false).then_some(())
    })
    .await;
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(
        (&me["followers_count"], &me["following_count"]),
        (&json!(0), &json!(0))
    );
    assert!(
        a.accts(&alice, &format!("/api/v1/accounts/{}/followers", alice.id))
            .await
            .is_empty()
    );

    // A knows alice is blocked: following again is refused there and then (as Mastodon).
    let (st, body) = a
        .request(
            Method::POST,
            &format!("/api/v1/accounts/{bob_id}/follow"),
            Some(&alice.token),
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    let rel = a.relationship(&alice, &bob_id).await;
    assert_eq!(
        (&rel["following"], &rel["requested"]),
        (&json!(false), &json!(false))
    );
    assert!(
        b.accts(&bob, &format!("/api/v1/accounts/{}/followers", bob.id))
            .await
            .is_empty()
    );
}

// --- 8. profile updates -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_updates_reach_followers() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let bob_id = follow(&a, &alice, &bob).await;
    let before = a.account(&alice, &bob_id).await;
    assert_eq!(before["display_name"], "");

    let me = b
        .ok_send(
            Method::PATCH,
            "/api/v1/accounts/update_credentials",
            &bob.token,
            json!({
                "display_name": "Bob the Builder",
                "note": "Can we fix it?",
                "fields_attributes": [{ "name": "Motto", "value": "Yes we can" }],
            }),
        )
        .await;
    assert_eq!(me["display_name"], "Bob the Builder");
    let after = eventually("A shows bob's new profile", async || {
        let acc = a.account(&alice, &bob_id).await;
        (acc["display_name"] == "Bob the Builder").then_some(acc)
    })
    .await;
    assert!(
        after["note"].as_str().unwrap().contains("Can we fix it?"),
        "{after}"
    );
    assert_eq!(after["acct"], bob.handle);
    assert_eq!(after["id"], bob_id.as_str(), "the same account, updated");
    assert_eq!(after["fields"][0]["name"], "Motto", "{after}");
    assert!(
        after["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("Yes we can"),
        "{after}"
    );
}

// --- 9. remote accounts and statuses ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_accounts_look_like_local_ones() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let early = b.say(&bob, "posted before anyone followed", "public").await;

    // Look-up by handle resolves through WebFinger the first time.
    let (st, found) = a
        .request(
            Method::GET,
            "/api/v1/accounts/lookup",
            Some(&alice.token),
            &[("acct", &bob.handle)],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{found}");
    assert_valid("Account", &found);
    assert_eq!(found["acct"], bob.handle);
    assert_eq!(found["username"], "bob");
    assert_ne!(found["id"], bob.id.as_str());
    assert!(
        found["url"].as_str().unwrap().starts_with(&b.base),
        "{found}"
    );
    // The same account again, with a leading @, and through search.
    let again = a
        .ok_query(
            "/api/v1/accounts/lookup",
            &alice.token,
            &[("acct", &format!("@{}", bob.handle))],
        )
        .await;
    assert_eq!(again["id"], found["id"]);
    assert_eq!(a.resolve(&alice, &bob.handle).await["id"], found["id"]);
    // B shows bob with a bare acct; an unknown remote name is not found.
    let own = b
        .ok_query("/api/v1/accounts/lookup", &bob.token, &[("acct", "bob")])
        .await;
    assert_eq!(own["acct"], "bob");
    let (st, _) = a
        .request(
            Method::GET,
            "/api/v1/accounts/lookup",
            Some(&alice.token),
            &[("acct", &b.handle("nobody"))],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A post resolved by its URL, and posts delivered later, validate as Mastodon statuses.
    let found = a
        .ok_query(
            "/api/v2/search",
            &alice.token,
            &[
                ("q", &uri(&early)),
                ("type", "statuses"),
                ("resolve", "true"),
            ],
        )
        .await;
    let early_on_a = found["statuses"][0].clone();
    assert_valid("Status", &early_on_a);
    assert_eq!(early_on_a["uri"], early["uri"]);
    assert_eq!(early_on_a["account"]["acct"], bob.handle);
    follow(&a, &alice, &bob).await;
    let tagged = b
        .say(
            &bob,
            &format!("#kringfed hello @{}", alice.handle),
            "public",
        )
        .await;
    let on_a = a.wait_home(&alice, &uri(&tagged)).await;
    assert_eq!(on_a["tags"][0]["name"], "kringfed", "{on_a}");
    assert_eq!(on_a["mentions"][0]["acct"], "alice", "{on_a}");
    assert_eq!(on_a["account"]["id"], found["statuses"][0]["account"]["id"]);
    let listed = a
        .statuses(
            &alice,
            &format!(
                "/api/v1/accounts/{}/statuses",
                on_a["account"]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert!(
        listed.iter().any(|s| s["uri"] == tagged["uri"]),
        "{listed:?}"
    );
    let tag = a.statuses(&alice, "/api/v1/timelines/tag/kringfed").await;
    assert_eq!(tag.len(), 1);
    assert_eq!(tag[0]["uri"], tagged["uri"]);
}

// --- 10. inbox signatures and idempotency -------------------------------------------------------

/// A POST signed by hand (draft-cavage, as Mastodon signs), kept to be sent again unchanged.
struct SignedPost {
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl SignedPost {
    fn new(url: &str, body: &Value, key_id: &str, key: &KeyPair) -> SignedPost {
        let body = serde_json::to_vec(body).expect("JSON");
        let u = reqwest::Url::parse(url).expect("inbox URL");
        let mut h = Headers::new();
        h.insert(
            "host",
            format!("{}:{}", u.host_str().unwrap(), u.port().unwrap()),
        );
        h.insert("date", http_date(SystemTime::now()));
        h.insert("digest", digest::digest_header(&body));
        h.insert("content-type", "application/activity+json");
        let sig = cavage::sign_request("POST", u.path(), &h, key_id, key).expect("sign");
        h.insert("signature", sig);
        SignedPost {
            url: url.to_string(),
            headers: h
                .iter()
                .filter(|(k, _)| *k != "host")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body,
        }
    }

    /// The same headers with another body (the signature no longer matches it).
    fn with_body(&self, body: &Value) -> SignedPost {
        SignedPost {
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: serde_json::to_vec(body).unwrap(),
        }
    }

    async fn send(&self, http: &reqwest::Client) -> StatusCode {
        let mut rb = http.post(&self.url).body(self.body.clone());
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        rb.send().await.expect("inbox POST").status()
    }
}

/// A Create of a Note by `author` (on `server`), addressed publicly.
fn create_note(author: &FedUser, note_uri: &str, activity_id: &str, text: &str) -> Value {
    let followers = format!("{}/followers", author.uri);
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id,
        "type": "Create",
        "actor": author.uri,
        "to": [as2::PUBLIC],
        "cc": [followers],
        "object": {
            "id": note_uri,
            "type": "Note",
            "attributedTo": author.uri,
            "content": format!("<p>{text}</p>"),
            "to": [as2::PUBLIC],
            "cc": [followers],
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_checks_signatures_and_handles_each_activity_once() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let carol = b.register("carol").await;
    follow(&a, &alice, &bob).await;
    let shared_inbox = a.url("/inbox");
    let alice_inbox = a.url("/users/alice/inbox");
    let bob_key_id = as2::key_id(&bob.uri);
    let bob_key = {
        let id: kring_service::Id = bob.id.parse().expect("account id");
        let pem = b
            .kring()
            .store
            .private_key_pem(id)
            .await
            .unwrap()
            .expect("bob has a key");
        KeyPair::from_pem(&pem).expect("bob's key")
    };
    let note_uri = format!("{}/users/bob/statuses/handmade", b.base);
    let create = create_note(&bob, &note_uri, &format!("{note_uri}/activity"), "by hand");

    // Unsigned: refused, on the shared and the personal inbox.
    for inbox in [&shared_inbox, &alice_inbox] {
        let st = a
            .http
            .post(inbox.as_str())
            .header("content-type", "application/activity+json")
            .body(create.to_string())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(st, StatusCode::UNAUTHORIZED, "unsigned POST to {inbox}");
    }
    // Signed with another key under bob's key id: refused (also after A refetches bob's key).
    let impostor = KeyPair::generate().expect("fresh key");
    for inbox in [&shared_inbox, &alice_inbox] {
        let st = SignedPost::new(inbox, &create, &bob_key_id, &impostor)
            .send(&a.http)
            .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "wrong key to {inbox}");
    }
    // RFC 9421 with the wrong key: refused as well.
    let client = Client::new(true, "kring-federation-tests").unwrap();
    let st = client
        .post_activity(
            &shared_inbox,
            create.to_string().as_bytes(),
            &bob_key_id,
            &impostor,
            Scheme::Rfc9421,
        )
        .await
        .unwrap();
    assert_eq!(st, 401, "RFC 9421 signature with the wrong key");
    // A key id of an account that does not exist.
    let st = SignedPost::new(
        &shared_inbox,
        &create,
        &as2::key_id(&format!("{}/users/nobody", b.base)),
        &impostor,
    )
    .send(&a.http)
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "unknown signer");
    // The right key, but the body changed after signing.
    let genuine = SignedPost::new(&shared_inbox, &create, &bob_key_id, &bob_key);
    let tampered = create_note(&bob, &note_uri, &format!("{note_uri}/activity"), "altered");
    assert_eq!(
        genuine.with_body(&tampered).send(&a.http).await,
        StatusCode::UNAUTHORIZED,
        "tampered body"
    );
    // Signed by bob, claiming to be carol: refused.
    let carols_uri = format!("{}/users/carol/statuses/forged", b.base);
    let forged = create_note(
        &carol,
        &carols_uri,
        &format!("{carols_uri}/activity"),
        "forged",
    );
    assert_eq!(
        SignedPost::new(&shared_inbox, &forged, &bob_key_id, &bob_key)
            .send(&a.http)
            .await,
        StatusCode::UNAUTHORIZED,
        "actor is not the signer"
    );
    // Signed by bob as bob, but the note claims carol wrote it: accepted, never stored.
    let mut misattributed = forged.clone();
    misattributed["id"] = json!(format!("{carols_uri}/by-bob"));
    misattributed["actor"] = json!(bob.uri);
    assert_eq!(
        SignedPost::new(&shared_inbox, &misattributed, &bob_key_id, &bob_key)
            .send(&a.http)
            .await,
        StatusCode::ACCEPTED
    );

    // The genuine request, delivered twice as is, then the same note in a new Create, and
    // once more signed with RFC 9421: one status on A.
    assert_eq!(genuine.send(&a.http).await, StatusCode::ACCEPTED);
    assert_eq!(genuine.send(&a.http).await, StatusCode::ACCEPTED);
    let again = create_note(&bob, &note_uri, &format!("{note_uri}/activity2"), "by hand");
    assert_eq!(
        SignedPost::new(&alice_inbox, &again, &bob_key_id, &bob_key)
            .send(&a.http)
            .await,
        StatusCode::ACCEPTED
    );
    let third = create_note(&bob, &note_uri, &format!("{note_uri}/activity3"), "by hand");
    let st = client
        .post_activity(
            &alice_inbox,
            third.to_string().as_bytes(),
            &bob_key_id,
            &bob_key,
            Scheme::Rfc9421,
        )
        .await
        .unwrap();
    assert_eq!(st, 202, "RFC 9421 signature with bob's key");
    let on_a = a.wait_home(&alice, &note_uri).await;
    assert_eq!(on_a["account"]["acct"], bob.handle);
    assert!(on_a["content"].as_str().unwrap().contains("by hand"));

    // Likes of alice's post: the same request twice, and another Like by id: one favourite.
    let mine = a.say(&alice, "like this", "public").await;
    let like = |n: u32| {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}#likes/{n}", bob.uri),
            "type": "Like",
            "actor": bob.uri,
            "object": mine["uri"],
        })
    };
    let liked = SignedPost::new(&alice_inbox, &like(1), &bob_key_id, &bob_key);
    assert_eq!(liked.send(&a.http).await, StatusCode::ACCEPTED);
    assert_eq!(liked.send(&a.http).await, StatusCode::ACCEPTED);
    assert_eq!(
        SignedPost::new(&shared_inbox, &like(2), &bob_key_id, &bob_key)
            .send(&a.http)
            .await,
        StatusCode::ACCEPTED
    );

    // Everything queued so far has been processed once a later real delivery is in.
    let sentinel = b.say(&bob, "sentinel", "public").await;
    a.wait_home(&alice, &uri(&sentinel)).await;
    eventually("alice is notified of bob's like", async || {
        a.notification(&alice, "favourite", &bob.handle).await
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let home = a.home(&alice).await;
    let copies = home
        .iter()
        .filter(|s| s["uri"] == note_uri.as_str())
        .count();
    assert_eq!(copies, 1, "one status for one note");
    let bob_on_a = on_a["account"]["id"].as_str().unwrap().to_string();
    let listed = a
        .statuses(&alice, &format!("/api/v1/accounts/{bob_on_a}/statuses"))
        .await;
    let uris: Vec<&str> = listed.iter().filter_map(|s| s["uri"].as_str()).collect();
    assert_eq!(uris, vec![uri(&sentinel).as_str(), note_uri.as_str()]);
    assert!(
        local_copy(&a, &alice, &carols_uri).await.is_none(),
        "forged note not stored"
    );
    let n: Vec<Value> = a
        .notifications(&alice)
        .await
        .into_iter()
        .filter(|n| n["type"] == "favourite")
        .collect();
    assert_eq!(n.len(), 1, "one favourite notification: {n:?}");
    let mine_now = a.status(&alice, &id(&mine)).await.unwrap();
    assert_eq!(mine_now["favourites_count"], 1);
}

// --- 11. deliveries survive a crash of the sender while the receiver is down --------------------

/// Stands in for a server that is down on `port`: reads each request, notes the `object.id`
/// of every activity POSTed, and hangs up without answering (the sender sees a transport
/// error, as for a refused connection, and schedules a retry).
async fn dead_server(
    port: u16,
) -> (
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use tokio::io::AsyncReadExt;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut listener = None;
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => {
                listener = Some(l);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let listener = listener.expect("bind the stopped server's port");
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then as much body as Content-Length announces.
                loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() < len {
                        continue;
                    }
                    if let Ok(v) = serde_json::from_str::<Value>(body)
                        && let Some(id) = v["object"]["id"].as_str()
                    {
                        log.lock().unwrap().push(id.to_string());
                    }
                    return; // hang up without a response
                }
            });
        }
    });
    (task, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deliveries_survive_a_crash_of_the_sender() {
    // A is the real binary (so it can be SIGKILLed); B runs in-process.
    let mut a = Node::new();
    let mut b = Node::new();
    tokio::join!(a.start_binary(), b.start_in_process());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    follow(&b, &bob, &alice).await;
    let hello = a.say(&alice, "hello bob", "public").await;
    b.wait_home(&bob, &uri(&hello)).await;

    // B goes down; A delivers three posts, which fail and wait for a retry.
    b.stop().await;
    let (stub, attempted) = dead_server(b.port).await;
    let mut posts = Vec::new();
    for (i, visibility) in ["public", "unlisted", "private"].into_iter().enumerate() {
        posts.push(
            a.say(&alice, &format!("while B is down #{i}"), visibility)
                .await,
        );
    }
    let wanted: Vec<String> = posts.iter().map(uri).collect();
    eventually("A tried to deliver all three posts to B", async || {
        let seen = attempted.lock().unwrap().clone();
        wanted.iter().all(|u| seen.contains(u)).then_some(())
    })
    .await;
    // Let A record the failures, then kill it: no graceful shutdown.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    a.kill();
    assert!(
        a.http.get(a.url("/api/v1/instance")).send().await.is_err(),
        "A is down"
    );
    stub.abort();
    let _ = stub.await;

    // B comes back on its port and data; then A, from its data.
    b.start_in_process().await;
    a.start_binary().await;
    let statuses = a
        .statuses(&alice, &format!("/api/v1/accounts/{}/statuses", alice.id))
        .await;
    assert_eq!(statuses.len(), 4, "A kept alice's posts");
    // The first retry of a delivery is due 5 s after its failure; the limit leaves room for
    // a slow machine.
    eventually_within(
        std::time::Duration::from_secs(45),
        "the retried deliveries reach B",
        async || b.in_home(&bob, &uri(&posts[0])).await,
    )
    .await;
    for (p, visibility) in posts.iter().zip(["public", "unlisted", "private"]) {
        let on_b = b.wait_home(&bob, &uri(p)).await;
        assert_eq!(on_b["visibility"], visibility);
        assert_eq!(on_b["account"]["acct"], alice.handle);
    }
    let home = b.home(&bob).await;
    let from_alice = home
        .iter()
        .filter(|s| s["account"]["acct"] == alice.handle.as_str())
        .count();
    assert_eq!(from_alice, 4, "each post delivered once");
    // And A delivers new posts right away again.
    let after = a.say(&alice, "back to normal", "public").await;
    b.wait_home(&bob, &uri(&after)).await;
    a.stop().await;
}

// --- 12. live events of received posts ----------------------------------------------------------

/// A post received through the inbox is told live to whom it reached here, as the inbox wrote
/// it (not read back): the home streams of the author's followers, the lists that show the
/// author, and the public stream when it is public. A followers-only post reaches no public
/// stream, and neither reaches the home of someone who does not follow the author.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_post_streams_to_those_it_reached() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let sam = a.register("sam").await;
    let bob = b.register("bob").await;
    let bob_id = follow(&a, &alice, &bob).await;
    let list = a
        .ok_post("/api/v1/lists", &alice.token, json!({"title": "far"}))
        .await;
    let list = id(&list);
    a.ok_post(
        &format!("/api/v1/lists/{list}/accounts"),
        &alice.token,
        json!({"account_ids": [bob_id]}),
    )
    .await;
    let list_stream = format!("stream=list&list={list}");
    let (mut home, mut listed, mut public, mut sams_home) = tokio::join!(
        live(&a, &alice.token, "stream=user"),
        live(&a, &alice.token, &list_stream),
        live(&a, &sam.token, "stream=public"),
        live(&a, &sam.token, "stream=user"),
    );
    let open = uri(&b.say(&bob, "hello from b", "public").await);
    let closed = uri(&b.say(&bob, "for my followers", "private").await);
    a.wait_home(&alice, &open).await;
    a.wait_home(&alice, &closed).await;
    let wait = std::time::Duration::from_secs(2);
    let uris = |statuses: Vec<Value>| statuses.iter().map(uri).collect::<Vec<_>>();
    let (home, listed, public, sams_home) = tokio::join!(
        heard(&mut home, "update", wait),
        heard(&mut listed, "update", wait),
        heard(&mut public, "update", wait),
        heard(&mut sams_home, "update", wait),
    );
    let (home, listed, public, sams_home) =
        (uris(home), uris(listed), uris(public), uris(sams_home));
    // Two deliveries may be applied in either order.
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let both = sorted(vec![open.clone(), closed.clone()]);
    assert_eq!(sorted(home), both, "alice's home stream");
    assert_eq!(sorted(listed), both, "alice's list stream");
    assert_eq!(public, vec![open], "the public stream");
    assert!(sams_home.is_empty(), "sam's home stream: {sams_home:?}");
}
