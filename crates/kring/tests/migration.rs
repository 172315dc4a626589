// SPDX-License-Identifier: AGPL-3.0-or-later
//! Moving an account between two Kring servers (issue 14 item 3), on SQLite and PostgreSQL:
//! alice@A moves to ally@B, which named her as an alias first. Every follower moves — two on
//! B (their server honours A's `Move` after checking the alias) and one on A (moved at once)
//! — and alice's actor and profile point to the new account. A move to an account that does
//! not name her, or with a wrong password, is refused.
mod common;
mod fed_common;

use fed_common::{Node, eventually, follow, id};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_follower_moves_with_an_account_to_another_server() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let carol = a.register("carol").await;
    let bob = b.register("bob").await;
    let dan = b.register("dan").await;
    let ally = b.register("ally").await;
    let eve = b.register("eve").await;
    follow(&b, &bob, &alice).await;
    follow(&b, &dan, &alice).await;
    a.ok_post(
        &format!("/api/v1/accounts/{}/follow", alice.id),
        &carol.token,
        json!({}),
    )
    .await;
    let me = a
        .ok("/api/v1/accounts/verify_credentials", &alice.token)
        .await;
    assert_eq!(me["followers_count"], 3, "{me}");

    // ally names alice as her old account (by handle).
    let set = b
        .ok_post(
            "/api/v1/accounts/alias",
            &ally.token,
            json!({"also_known_as_uris": [alice.handle]}),
        )
        .await;
    assert_eq!(set["username"], "ally", "{set}");
    let doc: serde_json::Value = b
        .http
        .get(&ally.uri)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["alsoKnownAs"], json!([alice.uri]), "{doc}");

    let try_move = async |password: &str, to: &str| {
        a.request(
            Method::POST,
            "/api/v1/accounts/move",
            Some(&alice.token),
            &[],
            Some(json!({"password": password, "moved_to_uri": to})),
        )
        .await
    };
    // A wrong password, or an account that does not name her: refused, nothing moves.
    let (st, body) = try_move("not it", &ally.uri).await;
    assert_eq!(st.as_u16(), 422, "{body}");
    let (st, body) = try_move(fed_common::PASSWORD, &eve.uri).await;
    assert_eq!(st.as_u16(), 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("alias"), "{body}");
    // The move.
    let (st, body) = try_move(fed_common::PASSWORD, &ally.uri).await;
    assert_eq!(st.as_u16(), 202, "{body}");

    // carol, on A, follows ally (B accepts) and no longer alice, at once.
    assert_eq!(a.relationship(&carol, &alice.id).await["following"], false);
    let ally_on_a = a.remote_id(&carol, &ally.handle).await;
    eventually("carol follows ally", async || {
        let r = a.relationship(&carol, &ally_on_a).await;
        (r["following"] == true).then_some(())
    })
    .await;
    // bob and dan, on B, follow ally once B heard the Move.
    let alice_on_b = b.remote_id(&bob, &alice.handle).await;
    for u in [&bob, &dan] {
        eventually("a follower on B follows ally", async || {
            let r = b.relationship(u, &ally.id).await;
            (r["following"] == true).then_some(())
        })
        .await;
        assert_eq!(b.relationship(u, &alice_on_b).await["following"], false);
    }
    // Every follower moved.
    eventually("ally has all three followers", async || {
        let me = b
            .ok("/api/v1/accounts/verify_credentials", &ally.token)
            .await;
        (me["followers_count"] == 3).then_some(())
    })
    .await;

    // alice's actor names her new home; her profile page says so.
    let doc: serde_json::Value = a
        .http
        .get(&alice.uri)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["movedTo"], ally.uri.as_str(), "{doc}");
    // Mastodon apps see where she went.
    let shown = a.account(&carol, &alice.id).await;
    assert_eq!(shown["moved"]["uri"], ally.uri.as_str(), "{shown}");
    let page = a
        .http
        .get(a.url("/@alice"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("This account has moved to"), "{page}");
    let _ = id;
}
