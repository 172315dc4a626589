// SPDX-License-Identifier: AGPL-3.0-or-later
//! Quote posts with consent across three real Kring servers (issue 10, item 5; FEP-044f as
//! Mastodon 4.5 has them): a quote of a post elsewhere is asked for with a `QuoteRequest`, the
//! quoted author's server answers by its author's policy (`Accept` naming a served
//! `QuoteAuthorization`, or a queue, or `Reject`), the quote then goes out again carrying
//! `quoteAuthorization`, a third server shows it accepted only after fetching that
//! authorization from the quoted author's server, and a revocation (`Delete` of the
//! authorization) reaches everyone. `canQuote` travels in `interactionPolicy`.
//!
//! Cast: alice@A (quoted), bob@B (follows alice, quotes her), cyd@C (follows bob).
mod common;
mod fed_common;

use fed_common::{FedUser, Node, eventually, follow, id, uri};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An unsigned GET of an ActivityStreams document.
async fn document(on: &Node, url: &str) -> Value {
    let res = on
        .http
        .get(url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "GET {url}");
    res.json().await.unwrap()
}

/// `u` on `on` quotes the status `quoted` (an id on `on`).
async fn quote(on: &Node, u: &FedUser, quoted: &str) -> (StatusCode, Value) {
    on.request(
        reqwest::Method::POST,
        "/api/v1/statuses",
        Some(&u.token),
        &[],
        Some(json!({"status": "look at this", "quoted_status_id": quoted})),
    )
    .await
}

/// Wait until the status `sid` on `on`, as `viewer` sees it, has its quote in `state`.
async fn wait_state(on: &Node, viewer: &FedUser, sid: &str, state: &str) -> Value {
    eventually(&format!("quote {sid} {state} on {}", on.base), async || {
        on.status(viewer, sid)
            .await
            .filter(|s| s["quote"]["state"] == state)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_are_asked_for_approved_and_revoked_across_servers() {
    let (a, b, c) = tokio::join!(Node::start(), Node::start(), Node::start());
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let cyd = c.register("cyd").await;
    follow(&b, &bob, &alice).await;
    follow(&c, &cyd, &bob).await;

    let open = a.post_status(&alice, json!({"status": "quote me"})).await;
    let manual = a
        .post_status(
            &alice,
            json!({"status": "ask first", "interaction_policy": {"can_quote": {"manual_approval": ["public"]}}}),
        )
        .await;
    let nobody = a
        .post_status(
            &alice,
            json!({"status": "no quotes", "quote_approval_policy": "nobody"}),
        )
        .await;
    let private = a.say(&alice, "followers only", "private").await;

    // canQuote travels: B reads alice's quote policies.
    let doc = document(&a, &uri(&open)).await;
    assert_eq!(
        doc["interactionPolicy"]["canQuote"]["automaticApproval"],
        json!([
            alice_uri(&a),
            "https://www.w3.org/ns/activitystreams#Public"
        ]),
        "{doc}"
    );
    let open_b = b.wait_home(&bob, &uri(&open)).await;
    let manual_b = b.wait_home(&bob, &uri(&manual)).await;
    let nobody_b = b.wait_home(&bob, &uri(&nobody)).await;
    let private_b = b.wait_home(&bob, &uri(&private)).await;
    assert_eq!(open_b["quote_approval"]["current_user"], "automatic");
    assert_eq!(manual_b["quote_approval"]["manual"], json!(["public"]));
    assert_eq!(nobody_b["quote_approval"]["automatic"], json!([]));
    // What alice's policy or audience forbids, bob cannot even ask for.
    for refused in [&nobody_b, &private_b] {
        let (st, body) = quote(&b, &bob, &id(refused)).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }

    // Automatic: B asks, A accepts at once, B's quote is accepted and carries the proof.
    let (st, q) = quote(&b, &bob, &id(&open_b)).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    assert_eq!(q["quote"]["state"], "pending");
    let q_b = wait_state(&b, &bob, &id(&q), "accepted").await;
    assert_eq!(q_b["quote"]["quoted_status"]["uri"], open["uri"]);
    let note = document(&b, &uri(&q)).await;
    assert_eq!(note["quote"], open["uri"]);
    assert_eq!(note["_misskey_quote"], open["uri"]);
    let auth_url = note["quoteAuthorization"].as_str().unwrap().to_string();
    assert!(auth_url.starts_with(&a.base), "{auth_url}");
    let auth = document(&a, &auth_url).await;
    assert_eq!(auth["type"], "QuoteAuthorization");
    assert_eq!(auth["interactingObject"], q["uri"]);
    assert_eq!(auth["interactionTarget"], open["uri"]);
    assert_eq!(auth["attributedTo"], json!(alice_uri(&a)));
    // A has the quote too, listed under alice's post, and told alice.
    let listed = eventually("bob's quote listed on A", async || {
        let list = a
            .ok(
                &format!("/api/v1/statuses/{}/quotes", id(&open)),
                &alice.token,
            )
            .await;
        list.as_array()?
            .iter()
            .find(|s| s["uri"] == q["uri"])
            .cloned()
    })
    .await;
    assert_eq!(listed["quote"]["state"], "accepted");
    eventually("alice told of the quote", async || {
        a.notification(&alice, "quote", &bob.handle).await
    })
    .await;
    // C, a third server, checks the authorization with A before it shows the quote.
    let q_c = eventually("bob's quote accepted on C", async || {
        c.in_home(&cyd, &uri(&q))
            .await
            .filter(|s| s["quote"]["state"] == "accepted")
    })
    .await;
    assert_eq!(q_c["quote"]["quoted_status"]["uri"], open["uri"]);

    // Manual: the quote waits in alice's queue until she approves it.
    let (st, m) = quote(&b, &bob, &id(&manual_b)).await;
    assert_eq!(st, StatusCode::OK, "{m}");
    let request = eventually("a quote request in alice's queue", async || {
        let queue = a.ok("/api/v1/interaction_requests", &alice.token).await;
        queue
            .as_array()?
            .iter()
            .find(|r| r["type"] == "quote" && r["status"]["uri"] == manual["uri"])
            .cloned()
    })
    .await;
    assert_eq!(
        wait_state(&b, &bob, &id(&m), "pending").await["quote"]["quoted_status"],
        Value::Null
    );
    a.ok_post(
        &format!("/api/v1/interaction_requests/{}/authorize", id(&request)),
        &alice.token,
        json!({}),
    )
    .await;
    wait_state(&b, &bob, &id(&m), "accepted").await;
    // Refused: the quote stays bob's post, without alice's post in it.
    let (_, m2) = quote(&b, &bob, &id(&manual_b)).await;
    let request = eventually("a second quote request", async || {
        let queue = a.ok("/api/v1/interaction_requests", &alice.token).await;
        queue
            .as_array()?
            .iter()
            .find(|r| r["type"] == "quote")
            .cloned()
    })
    .await;
    a.ok_post(
        &format!("/api/v1/interaction_requests/{}/reject", id(&request)),
        &alice.token,
        json!({}),
    )
    .await;
    let rejected = wait_state(&b, &bob, &id(&m2), "rejected").await;
    assert_eq!(rejected["quote"]["quoted_status"], Value::Null);

    // Revoked by alice: on A at once, then on B (the Delete of the authorization) and on C
    // (B's Update, whose authorization A no longer serves).
    let revoked = a
        .ok_post(
            &format!(
                "/api/v1/statuses/{}/quotes/{}/revoke",
                id(&open),
                id(&listed)
            ),
            &alice.token,
            json!({}),
        )
        .await;
    assert_eq!(revoked["quote"]["state"], "revoked");
    let res = a
        .http
        .get(&auth_url)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a revoked authorization is no longer served"
    );
    wait_state(&b, &bob, &id(&q), "revoked").await;
    eventually("bob's quote revoked on C", async || {
        c.in_home(&cyd, &uri(&q))
            .await
            .filter(|s| s["quote"]["state"] == "revoked")
    })
    .await;
}

fn alice_uri(a: &Node) -> String {
    format!("{}/users/alice", a.base)
}
