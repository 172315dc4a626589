// SPDX-License-Identifier: AGPL-3.0-or-later
//! Interaction controls across two real Kring servers (issue 10): each reads the other's
//! `interactionPolicy`, refuses its own people what a remote post forbids, holds back what
//! needs the remote author's approval, and answers the other's interactions with its posts —
//! `Reject` for what is refused (never attached to the thread), a queue for what needs
//! approval, and an `Accept` naming a `ReplyAuthorization` (served, and carried back on the
//! reply as `replyAuthorization`/`approvedBy`) for what is approved.
//!
//! Cast: alice@A (author), carol@A (reads alice's threads), bob@B (follows alice; not her
//! friend), bea@B (follows bob).
mod common;
mod fed_common;

use fed_common::{FedUser, Node, eventually, id, uri};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `viewer` on `on` follows `target` and waits until it is accepted; the id `on` gives `target`.
async fn follow(on: &Node, viewer: &FedUser, target: &FedUser) -> String {
    let target_id = on.remote_id(viewer, &target.handle).await;
    on.ok_post(
        &format!("/api/v1/accounts/{target_id}/follow"),
        &viewer.token,
        json!({}),
    )
    .await;
    eventually(
        &format!("{} follows {}", viewer.handle, target.handle),
        async || {
            on.relationship(viewer, &target_id).await["following"]
                .as_bool()
                .filter(|f| *f)
        },
    )
    .await;
    target_id
}

/// The ids of the replies `viewer` on `on` sees under the status `status_id`.
async fn replies(on: &Node, viewer: &FedUser, status_id: &str) -> Vec<String> {
    let ctx = on
        .ok(
            &format!("/api/v1/statuses/{status_id}/context"),
            &viewer.token,
        )
        .await;
    ctx["descendants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uri"].as_str().unwrap().to_string())
        .collect()
}

/// `u` on `on` replies to the status `to` (an id on `on`); the HTTP status and body.
async fn reply(on: &Node, u: &FedUser, to: &str, text: &str) -> (StatusCode, Value) {
    on.request(
        reqwest::Method::POST,
        "/api/v1/statuses",
        Some(&u.token),
        &[],
        Some(json!({"status": text, "in_reply_to_id": to})),
    )
    .await
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interaction_policies_hold_across_servers() {
    let (a, b) = tokio::join!(Node::start(), Node::start());
    let alice = a.register("alice").await;
    let carol = a.register("carol").await;
    let bob = b.register("bob").await;
    let bea = b.register("bea").await;
    follow(&b, &bob, &alice).await;
    b.ok_post(
        &format!("/api/v1/accounts/{}/follow", bob.id),
        &bea.token,
        json!({}),
    )
    .await;

    let post = async |text: &str, policy: Value| {
        a.post_status(
            &alice,
            json!({"status": text, "interaction_policy": policy}),
        )
        .await
    };
    let nobody = post(
        "nobody answers",
        json!({"can_reply": {"automatic_approval": []}}),
    )
    .await;
    let friends = post(
        "friends answer",
        json!({"can_reply": {"automatic_approval": ["mutuals"]}}),
    )
    .await;
    let manual = post(
        "ask me first",
        json!({"can_reply": {"manual_approval": ["public"]}, "can_favourite": {"manual_approval": ["public"]}}),
    )
    .await;
    let followers = post(
        "followers answer",
        json!({"can_reply": {"automatic_approval": ["followers"]}}),
    )
    .await;

    // B reads A's policies off the wire.
    let on_b = async |s: &Value| b.wait_home(&bob, &uri(s)).await;
    let nobody_b = on_b(&nobody).await;
    assert_eq!(
        nobody_b["interaction_policy"]["can_reply"],
        json!({"automatic_approval": ["author", "mentioned"], "manual_approval": []}),
        "{nobody_b}"
    );
    let manual_b = on_b(&manual).await;
    assert_eq!(
        manual_b["interaction_policy"]["can_reply"]["manual_approval"],
        json!(["public"])
    );
    // Friends travel as the followers collection, the nearest one on the wire.
    let friends_b = on_b(&friends).await;
    assert_eq!(
        friends_b["interaction_policy"]["can_reply"]["automatic_approval"],
        json!(["author", "followers", "mentioned"])
    );
    let followers_b = on_b(&followers).await;
    // What A sends is GoToSocial's shape, with both vocabularies.
    let doc = document(&a, &uri(&manual)).await;
    let policy = &doc["interactionPolicy"];
    assert_eq!(
        policy["canReply"]["manualApproval"],
        json!([fed_common_public()])
    );
    assert_eq!(
        policy["canReply"]["approvalRequired"],
        json!([fed_common_public()])
    );
    assert_eq!(policy["canLike"]["automaticApproval"], json!([alice.uri]));
    assert_eq!(
        policy["canAnnounce"]["automaticApproval"],
        json!([alice.uri, fed_common_public()])
    );

    // Forbidden: B refuses bob at once.
    let (st, body) = reply(&b, &bob, &id(&nobody_b), "may I?").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{body}");

    // Friends: B cannot tell (bob follows alice: the followers collection lets him in), so it
    // asks A; A sees bob is no friend and rejects; B removes the reply. A never attached it.
    let (st, refused) = reply(&b, &bob, &id(&friends_b), "I follow you").await;
    assert_eq!(st, StatusCode::OK, "{refused}");
    assert_eq!(refused["kring"]["pending_approval"], true, "{refused}");
    eventually("A's Reject removes bob's reply on B", async || {
        b.status(&bob, &id(&refused)).await.is_none().then_some(())
    })
    .await;
    assert!(replies(&a, &alice, &id(&friends)).await.is_empty());
    assert!(replies(&a, &carol, &id(&friends)).await.is_empty());

    // Manual: bob's reply waits in alice's queue; nobody else on either server reads it.
    let (st, asked) = reply(&b, &bob, &id(&manual_b), "please let me").await;
    assert_eq!(st, StatusCode::OK, "{asked}");
    assert_eq!(asked["kring"]["pending_approval"], true);
    let queued = eventually("bob's reply in alice's queue", async || {
        let q = a.ok("/api/v1/interaction_requests", &alice.token).await;
        q.as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(queued["type"], "reply", "{queued}");
    assert_eq!(queued["reply"]["uri"], uri(&asked));
    assert_eq!(queued["account"]["acct"], bob.handle);
    assert!(replies(&a, &carol, &id(&manual)).await.is_empty());
    assert_eq!(replies(&a, &alice, &id(&manual)).await, vec![uri(&asked)]);
    assert!(b.status(&bea, &id(&asked)).await.is_none());
    // alice approves: A shows it to all, B sends it out with A's proof.
    a.ok_post(
        &format!(
            "/api/v1/interaction_requests/{}/authorize",
            queued["id"].as_str().unwrap()
        ),
        &alice.token,
        json!({}),
    )
    .await;
    assert_eq!(replies(&a, &carol, &id(&manual)).await, vec![uri(&asked)]);
    eventually("A's Accept approves bob's reply on B", async || {
        b.status(&bob, &id(&asked))
            .await
            .and_then(|s| (s["kring"]["pending_approval"] == false).then_some(()))
    })
    .await;
    // (Not in bea's home: a reply to someone she does not follow, as Mastodon.)
    assert!(b.status(&bea, &id(&asked)).await.is_some());
    let note = document(&b, &uri(&asked)).await;
    let auth_uri = note["replyAuthorization"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(auth_uri.starts_with(&a.base), "{note}");
    assert!(
        note["approvedBy"]
            .as_str()
            .is_some_and(|u| u.starts_with(&alice.uri)),
        "{note}"
    );
    let authorization = document(&a, &auth_uri).await;
    assert_eq!(authorization["type"], "ReplyAuthorization");
    assert_eq!(authorization["interactingObject"], uri(&asked));
    assert_eq!(authorization["interactionTarget"], uri(&manual));
    assert_eq!(authorization["attributedTo"], alice.uri);
    let accept = document(&a, note["approvedBy"].as_str().unwrap()).await;
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["object"], uri(&asked));
    assert_eq!(accept["result"], auth_uri);

    // Followers: allowed, but only A can tell; A answers at once and B sends it out.
    let (st, proven) = reply(&b, &bob, &id(&followers_b), "as your follower").await;
    assert_eq!(st, StatusCode::OK, "{proven}");
    eventually("A's Accept of bob's reply as a follower", async || {
        b.status(&bob, &id(&proven))
            .await
            .and_then(|s| (s["kring"]["pending_approval"] == false).then_some(()))
    })
    .await;
    eventually("bob's reply in alice's thread on A", async || {
        replies(&a, &carol, &id(&followers))
            .await
            .contains(&uri(&proven))
            .then_some(())
    })
    .await;
    let q = a.ok("/api/v1/interaction_requests", &alice.token).await;
    assert_eq!(q, json!([]), "nothing was asked of alice");

    // A favourite that must be approved: counted on both sides once alice approves.
    let fav = b
        .ok_post(
            &format!("/api/v1/statuses/{}/favourite", id(&manual_b)),
            &bob.token,
            json!({}),
        )
        .await;
    assert_eq!(fav["favourited"], false, "{fav}");
    let queued = eventually("bob's favourite in alice's queue", async || {
        let q = a.ok("/api/v1/interaction_requests", &alice.token).await;
        q.as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(queued["type"], "favourite");
    a.ok_post(
        &format!(
            "/api/v1/interaction_requests/{}/authorize",
            queued["id"].as_str().unwrap()
        ),
        &alice.token,
        json!({}),
    )
    .await;
    let counted = a.status(&alice, &id(&manual)).await.unwrap();
    assert_eq!(counted["favourites_count"], 1);
    eventually("bob's favourite counts on B", async || {
        b.status(&bob, &id(&manual_b))
            .await
            .and_then(|s| (s["favourited"] == true).then_some(()))
    })
    .await;
}

fn fed_common_public() -> &'static str {
    "https://www.w3.org/ns/activitystreams#Public"
}
