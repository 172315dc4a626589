// SPDX-License-Identifier: AGPL-3.0-or-later
//! Remote profiles tell the truth: the followers, following and post counts a server shows for
//! an account on another server are what that server says (its collections' `totalItems`),
//! the account's latest public posts are read from its outbox so its profile is not empty,
//! and the counters of its posts come from their `replies`, `shares` and `likes`. Two real
//! Kring servers on 127.0.0.1, and a hand-made remote for what a Kring server would never
//! send (a collection on another host, non-public or foreign posts in an outbox).
//!
//! Covered: a signed-in look-up of a remote profile shows its server's counts (API and web,
//! at once after the background refresh: the account cache is dropped) and its public posts,
//! never its followers-only ones; Kring publishes `totalItems` on its collections and on a
//! Note's `replies`, `likes` and `shares`; a collection on another host is ignored; only
//! public posts of the actor, on its host, are taken from an outbox, without notifying
//! anyone; signed-out views make the server fetch nothing.
mod common;
mod fed_common;

use fed_common::remote::{PUBLIC, Remote, actor_doc, deliver};
use fed_common::web::{page, web_session};
use fed_common::{Node, eventually, id};
use kring_activitypub::KeyPair;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An ActivityStreams document as another server reads it (unsigned).
async fn as2(on: &Node, url: &str) -> Value {
    let res = on
        .http
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status(), StatusCode::OK, "GET {url}");
    res.json().await.expect("JSON")
}

/// The texts of the statuses at `path` as `token`'s holder sees them.
async fn texts(on: &Node, token: &str, path: &str) -> Vec<String> {
    on.ok(path, token)
        .await
        .as_array()
        .expect("statuses")
        .iter()
        .map(|s| s["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_profile_shows_its_servers_counts_and_public_posts() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let (alice, bob, carol, dave) = tokio::join!(
        a.register("alice"),
        b.register("bob"),
        b.register("carol"),
        b.register("dave")
    );
    // On B: bob has two followers, follows one, and wrote three posts, one for followers.
    for (who, whom) in [(&carol, &bob), (&dave, &bob), (&bob, &carol)] {
        b.ok_post(
            &format!("/api/v1/accounts/{}/follow", whom.id),
            &who.token,
            json!({}),
        )
        .await;
    }
    let first = b.say(&bob, "first public post", "public").await;
    b.say(&bob, "second one, unlisted", "unlisted").await;
    b.say(&bob, "only for followers", "private").await;
    let first_id = id(&first);
    b.ok_post(
        &format!("/api/v1/statuses/{first_id}/favourite"),
        &carol.token,
        json!({}),
    )
    .await;
    b.ok_post(
        &format!("/api/v1/statuses/{first_id}/reblog"),
        &dave.token,
        json!({}),
    )
    .await;
    b.post_status(
        &carol,
        json!({ "status": "@bob a reply", "in_reply_to_id": first_id }),
    )
    .await;

    // B publishes the sizes: of bob's collections, and of the post's replies, likes, shares.
    let followers = as2(&b, &format!("{}/followers", bob.uri)).await;
    assert_eq!(followers["totalItems"], 2, "{followers}");
    let note = as2(&b, first["uri"].as_str().unwrap()).await;
    assert_eq!(note["replies"]["totalItems"], 1, "{note}");
    assert_eq!(note["likes"]["totalItems"], 1, "{note}");
    assert_eq!(note["shares"]["totalItems"], 1, "{note}");
    let likes = as2(&b, note["likes"]["id"].as_str().unwrap()).await;
    assert_eq!(likes["totalItems"], 1, "{likes}");
    let shares = as2(&b, note["shares"]["id"].as_str().unwrap()).await;
    assert_eq!(shares["totalItems"], 1, "{shares}");

    // alice on A looks bob up; his profile there shows B's numbers once the refresh it queued
    // has run, although A had already read (and kept) the account before.
    let found = a
        .ok_query(
            "/api/v1/accounts/lookup",
            &alice.token,
            &[("acct", &bob.handle)],
        )
        .await;
    let bob_here = id(&found);
    a.account(&alice, &bob_here).await;
    let shown = eventually("bob's counts from B", async || {
        let acc = a.account(&alice, &bob_here).await;
        (acc["followers_count"] == 2).then_some(acc)
    })
    .await;
    assert_eq!(shown["following_count"], 1, "{shown}");
    assert_eq!(shown["statuses_count"], 3, "{shown}");

    // His public and unlisted posts are there, with their counters from B.
    let statuses = format!("/api/v1/accounts/{bob_here}/statuses");
    let copy = eventually("bob's posts read from his outbox", async || {
        let list = a.statuses(&alice, &statuses).await;
        list.into_iter().find(|s| s["uri"] == first["uri"])
    })
    .await;
    assert_eq!(copy["favourites_count"], 1, "{copy}");
    assert_eq!(copy["reblogs_count"], 1, "{copy}");
    assert_eq!(copy["replies_count"], 1, "{copy}");
    let listed = eventually("both public posts", async || {
        let t = texts(&a, &alice.token, &statuses).await;
        (t.len() >= 2).then_some(t)
    })
    .await;
    assert!(
        listed.iter().any(|t| t.contains("first public post")),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|t| t.contains("second one, unlisted")),
        "{listed:?}"
    );

    // The web profile says the same.
    let cookie = web_session(&a, &alice).await;
    let (st, html) = page(&a, &cookie, &format!("/@{}", bob.handle)).await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("<strong>3</strong> posts"), "{html}");
    assert!(html.contains("<strong>1</strong> following"), "{html}");
    assert!(html.contains("<strong>2</strong> followers"), "{html}");
    assert!(html.contains("first public post"), "{html}");

    // Once alice follows bob she could read a followers-only post A had: there is none, the
    // outbox never gave it.
    a.ok_post(
        &format!("/api/v1/accounts/{bob_here}/follow"),
        &alice.token,
        json!({}),
    )
    .await;
    eventually("alice follows bob", async || {
        (a.relationship(&alice, &bob_here).await["following"] == true).then_some(())
    })
    .await;
    let listed = texts(&a, &alice.token, &statuses).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        !listed.iter().any(|t| t.contains("only for followers")),
        "{listed:?}"
    );
}

/// A Create of `object` by `actor`.
fn create(actor: &str, object: Value) -> Value {
    let id = match &object {
        Value::String(s) => format!("{s}/activity"),
        o => format!("{}/activity", o["id"].as_str().unwrap()),
    };
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id, "type": "Create", "actor": actor, "to": [PUBLIC], "object": object,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outboxes_and_collections_are_read_with_care_and_never_for_visitors() {
    let (a, m, elsewhere) = tokio::join!(Node::start(), Remote::start(), Remote::start());
    let alice = a.register("alice").await;

    // mia's followers collection is on another server: it does not speak for her.
    let mia = m.url("/users/mia");
    let mia_key_id = format!("{mia}#main-key");
    let mia_key = KeyPair::generate().unwrap();
    let mut doc = actor_doc(&mia, "mia", &mia_key_id, &mia_key);
    doc["followers"] = json!(elsewhere.url("/users/mia/followers"));
    m.put("/users/mia", doc);
    elsewhere.put(
        "/users/mia/followers",
        json!({ "id": elsewhere.url("/users/mia/followers"), "type": "OrderedCollection", "totalItems": 1000 }),
    );
    m.put(
        "/users/mia/following",
        json!({ "id": m.url("/users/mia/following"), "type": "OrderedCollection", "totalItems": 7 }),
    );
    m.put(
        "/users/mia/outbox",
        json!({
            "id": m.url("/users/mia/outbox"), "type": "OrderedCollection", "totalItems": 12,
            "first": m.url("/users/mia/outbox?page=true"),
        }),
    );
    let post = |n: u32, text: &str| {
        m.object(
            &format!("/users/mia/statuses/{n}"),
            "Note",
            "/users/mia",
            text,
        )
    };
    let mut mention = post(1, "hello alice, from the outbox");
    mention["tag"] =
        json!([{ "type": "Mention", "href": alice.uri, "name": format!("@{}", alice.handle) }]);
    let mut followers_only = post(2, "for followers only");
    followers_only["to"] = json!([format!("{mia}/followers")]);
    let mut on_another_host = post(3, "posted from elsewhere");
    on_another_host["id"] = json!(elsewhere.url("/users/mia/statuses/3"));
    let by_someone_else = m.object("/users/max/statuses/4", "Note", "/users/max", "by max");
    let mut unlisted = post(5, "unlisted and unwrapped");
    unlisted["to"] = json!([format!("{mia}/followers")]);
    unlisted["cc"] = json!([PUBLIC]);
    m.put("/users/mia/statuses/6", post(6, "only an id"));
    let mut reply = post(7, "a reply to the unknown");
    reply["inReplyTo"] = json!(m.url("/users/zed/statuses/1"));
    let mut popular = post(8, "a popular post");
    popular["replies"] = json!({ "type": "Collection", "totalItems": 2, "first": { "type": "CollectionPage", "items": [] } });
    popular["likes"] = json!({ "type": "Collection", "totalItems": 42 });
    popular["shares"] = json!({ "type": "Collection", "totalItems": 3 });
    m.put(
        "/users/mia/outbox?page=true",
        json!({
            "id": m.url("/users/mia/outbox?page=true"), "type": "OrderedCollectionPage",
            "partOf": m.url("/users/mia/outbox"),
            "orderedItems": [
                create(&mia, mention),
                create(&mia, followers_only),
                create(&mia, on_another_host),
                create(&mia, by_someone_else),
                { "id": format!("{mia}/announce/1"), "type": "Announce", "actor": mia, "object": m.url("/users/max/statuses/4") },
                unlisted,
                create(&mia, json!(m.url("/users/mia/statuses/6"))),
                create(&mia, reply),
                create(&mia, popular.clone()),
            ],
        }),
    );
    // max, whose profile refresh shows when the queue has moved on.
    let max = m.url("/users/max");
    let max_key_id = format!("{max}#main-key");
    let max_key = KeyPair::generate().unwrap();
    m.keyed_actor("/users/max", "max", &max_key_id, &max_key);
    m.put(
        "/users/max/following",
        json!({ "id": m.url("/users/max/following"), "type": "OrderedCollection", "totalItems": 1 }),
    );

    // A comes to know both by a signed delivery, which reads no collection.
    for (who, key_id, key, n) in [
        (&mia, &mia_key_id, &mia_key, 10),
        (&max, &max_key_id, &max_key, 11),
    ] {
        let note = json!({
            "id": format!("{who}/statuses/{n}"), "type": "Note", "attributedTo": who,
            "content": "<p>delivered</p>", "to": [PUBLIC],
        });
        assert_eq!(
            deliver(&a.http, &a.url("/inbox"), &create(who, note), key_id, key).await,
            StatusCode::ACCEPTED
        );
    }
    let known = async |acct: String| {
        eventually("the account is known", async || {
            let (st, body) = a
                .request(
                    reqwest::Method::GET,
                    "/api/v1/accounts/lookup",
                    None,
                    &[("acct", &acct)],
                    None,
                )
                .await;
            (st == StatusCode::OK).then(|| id(&body))
        })
        .await
    };
    let mia_here = known(format!("mia@{}", m.domain())).await;
    let max_here = known(format!("max@{}", m.domain())).await;

    // Signed-out visitors look at mia's profile, on the web and through the API: nothing is
    // queued, nothing fetched.
    let (st, _) = a
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/accounts/{mia_here}"),
            None,
            &[],
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let res = a
        .http
        .get(a.url(&format!("/@mia@{}", m.domain())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let queue = kring_service::federation::REFRESH_PROFILE;
    assert_eq!(a.kring().store.pending_jobs_in(queue).await.unwrap(), 0);
    // When alice's view of max has been served, a refresh the visitors had queued before
    // would have been too.
    a.account(&alice, &max_here).await;
    eventually("max's counts", async || {
        (a.account(&alice, &max_here).await["following_count"] == 1).then_some(())
    })
    .await;
    for path in ["/users/mia/outbox", "/users/mia/following"] {
        assert_eq!(m.hits(path), 0, "{path} fetched for a visitor");
    }

    // alice's view reads mia's collections: the one on another host is ignored.
    a.account(&alice, &mia_here).await;
    let shown = eventually("mia's counts", async || {
        let acc = a.account(&alice, &mia_here).await;
        (acc["following_count"] == 7).then_some(acc)
    })
    .await;
    assert_eq!(shown["statuses_count"], 12, "{shown}");
    assert_eq!(shown["followers_count"], 0, "{shown}");
    assert_eq!(elsewhere.hits("/users/mia/followers"), 0);

    // From the outbox: her public posts (the last one, with its counters, last of all).
    let statuses = format!("/api/v1/accounts/{mia_here}/statuses");
    let popular_here = eventually("the popular post", async || {
        a.statuses(&alice, &statuses)
            .await
            .into_iter()
            .find(|s| s["uri"] == popular["id"])
    })
    .await;
    assert_eq!(popular_here["favourites_count"], 42, "{popular_here}");
    assert_eq!(popular_here["reblogs_count"], 3, "{popular_here}");
    assert_eq!(popular_here["replies_count"], 2, "{popular_here}");
    let listed = texts(&a, &alice.token, &format!("{statuses}?limit=40")).await;
    for want in ["hello alice", "unlisted and unwrapped", "delivered"] {
        assert!(
            listed.iter().any(|t| t.contains(want)),
            "{want}: {listed:?}"
        );
    }
    for unwanted in [
        "for followers only",
        "posted from elsewhere",
        "by max",
        "only an id",
        "a reply to the unknown",
    ] {
        assert!(
            !listed.iter().any(|t| t.contains(unwanted)),
            "{unwanted}: {listed:?}"
        );
    }
    assert_eq!(m.hits("/users/mia/statuses/6"), 0, "ids are not fetched");
    // An old post read from an outbox notifies nobody.
    let notes = a.notifications(&alice).await;
    assert!(notes.is_empty(), "{notes:?}");

    // An Update of a post raises its counters too.
    let mut updated = popular.clone();
    updated["likes"]["totalItems"] = json!(50);
    let update = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{mia}/statuses/8#update"), "type": "Update", "actor": mia,
        "to": [PUBLIC], "object": updated,
    });
    assert_eq!(
        deliver(&a.http, &a.url("/inbox"), &update, &mia_key_id, &mia_key).await,
        StatusCode::ACCEPTED
    );
    let id_here = id(&popular_here);
    eventually("the update's counters", async || {
        (a.status(&alice, &id_here).await?["favourites_count"] == 50).then_some(())
    })
    .await;
}
