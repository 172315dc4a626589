// SPDX-License-Identifier: AGPL-3.0-or-later
//! Quote posts with consent (issue 10, item 5; FEP-044f as Mastodon 4.5 has them) on one
//! server, through the Mastodon API: `quoted_status_id` and `quote_approval_policy` on create,
//! the Status `quote` (state, quoted_status), `quote_approval` and `quotes_count`, the quote
//! policy (automatic, manual through `/api/v1/interaction_requests`, nobody), the quotes of a
//! post, revoking, the `quote` and `quoted_update` notifications, and the privacy rules: a post
//! the quoter may not read cannot be quoted, and a quote never shows a quoted post to a viewer
//! who may not read it. Across servers: `federation_quotes.rs`.
//!
//! Cast: A (author), Y (follows A), X (stranger), Z (blocked by A).
mod common;

use common::schema::assert_valid;
use common::{TestServer, User};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn quote(s: &TestServer, u: &User, quoted: &str, extra: Value) -> (StatusCode, Value) {
    let mut body =
        json!({"status": format!("quoting, says {}", u.username), "quoted_status_id": quoted});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (st, _, v) = s.post("/api/v1/statuses", Some(&u.token), body).await;
    (st, v)
}

async fn seen_by(s: &TestServer, u: Option<&User>, id: &str) -> Value {
    s.ok(
        &format!("/api/v1/statuses/{id}"),
        u.map(|u| u.token.as_str()),
    )
    .await
}

#[tokio::test]
async fn quotes_follow_the_policy_and_the_audience() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let y = s.register("yuri").await;
    let x = s.register("xavier").await;
    let z = s.register("zed").await;
    s.follow(&y, &a).await;

    // A public post: anyone may quote it, at once.
    let p = s.post_status(&a, json!({"status": "quotable"})).await;
    assert_eq!(p["quote_approval"]["automatic"], json!(["public"]));
    assert_eq!(p["quote_approval"]["manual"], json!([]));
    assert_eq!(p["quote"], Value::Null);
    let (st, q) = quote(&s, &x, &id_of(&p), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    assert_valid("Status", &q);
    assert_eq!(q["quote"]["state"], "accepted", "{q}");
    assert_eq!(q["quote"]["quoted_status"]["id"], p["id"]);
    assert_eq!(q["quote"]["quoted_status"]["content"], p["content"]);
    let seen = seen_by(&s, Some(&x), &id_of(&p)).await;
    assert_eq!(seen["quote_approval"]["current_user"], "automatic");
    assert_eq!(seen["quotes_count"], 1);
    // The author hears of it (Mastodon 4.5's `quote`), and the post lists it.
    let notes = s.ok("/api/v1/notifications", Some(&a.token)).await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "quote" && n["status"]["id"] == q["id"]),
        "{notes}"
    );
    let list = s
        .ok(&format!("/api/v1/statuses/{}/quotes", id_of(&p)), None)
        .await;
    assert_eq!(TestServer::ids(&list), vec![id_of(&q)]);
    // Signed out, the quote shows the public post inside it, on the API and the web page.
    let out = seen_by(&s, None, &id_of(&q)).await;
    assert_eq!(out["quote"]["quoted_status"]["id"], p["id"]);
    let (st, _, page) = s.get(&format!("/@xavier/{}", id_of(&q)), None).await;
    assert_eq!(st, StatusCode::OK);
    let html = page.as_str().unwrap_or_default().to_string();
    assert!(
        html.contains("class=\"quote\"") && html.contains("quotable"),
        "{html}"
    );

    // An edit of the quoted post is told to those who quoted it (`quoted_update`).
    let (st, _, _) = s
        .put(
            &format!("/api/v1/statuses/{}", id_of(&p)),
            Some(&a.token),
            json!({"status": "quotable, edited"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let notes = s.ok("/api/v1/notifications", Some(&x.token)).await;
    assert!(
        notes
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["type"] == "quoted_update" && n["status"]["id"] == q["id"]),
        "{notes}"
    );

    // Followers-only: a follower who reads it may not quote it; its author may, and the quote
    // is then followers-only too. A stranger who may not read it is told it does not exist.
    let private = s.status(&a, "for followers", "private").await;
    let (st, body) = quote(&s, &x, &private, json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("does not exist"));
    let (st, body) = quote(&s, &y, &private, json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].is_string());
    let (st, own) = quote(&s, &a, &private, json!({"visibility": "public"})).await;
    assert_eq!(st, StatusCode::OK, "{own}");
    assert_eq!(own["visibility"], "private");
    assert_eq!(own["quote"]["state"], "accepted");
    // Nobody may quote it (Mastodon's `quote_approval_policy: nobody`), but its author.
    let closed = s
        .post_status(
            &a,
            json!({"status": "not quotable", "quote_approval_policy": "nobody"}),
        )
        .await;
    assert_eq!(closed["quote_approval"]["automatic"], json!([]));
    let seen = seen_by(&s, Some(&x), &id_of(&closed)).await;
    assert_eq!(seen["quote_approval"]["current_user"], "denied");
    let (st, body) = quote(&s, &x, &id_of(&closed), json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not allowed"));
    let (st, _) = quote(&s, &a, &id_of(&closed), json!({})).await;
    assert_eq!(st, StatusCode::OK);
    // Followers only, as Mastodon's `followers`: the follower at once, the stranger not.
    let fo = s
        .post_status(
            &a,
            json!({"status": "followers may quote", "quote_approval_policy": "followers"}),
        )
        .await;
    assert_eq!(fo["quote_approval"]["automatic"], json!(["followers"]));
    assert_eq!(
        quote(&s, &y, &id_of(&fo), json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        quote(&s, &x, &id_of(&fo), json!({})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (st, body) = quote(&s, &x, "999999", json!({})).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The one audience rule decides who sees the quoted post inside a quote: Z, whom A
    // blocks, reads X's public quote but not A's post in it.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/accounts/{}/block", z.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let for_z = seen_by(&s, Some(&z), &id_of(&q)).await;
    assert_eq!(for_z["quote"]["state"], "unauthorized", "{for_z}");
    assert_eq!(for_z["quote"]["quoted_status"], Value::Null);
    let (st, _, _) = s
        .get(
            &format!("/api/v1/statuses/{}/quotes", id_of(&p)),
            Some(&z.token),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, page) = s.get(&format!("/@xavier/{}", id_of(&q)), None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(page.as_str().unwrap_or_default().contains("quotable"));

    // Revoked by the quoted post's author: shown as revoked to everyone, listed no more.
    let (st, _, body) = s
        .post(
            &format!("/api/v1/statuses/{}/quotes/{}/revoke", id_of(&p), id_of(&q)),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["id"], q["id"]);
    assert_eq!(body["quote"]["state"], "revoked");
    for viewer in [Some(&x), Some(&y), None] {
        let v = seen_by(&s, viewer, &id_of(&q)).await;
        assert_eq!(v["quote"]["state"], "revoked");
        assert_eq!(v["quote"]["quoted_status"], Value::Null);
    }
    let list = s
        .ok(&format!("/api/v1/statuses/{}/quotes", id_of(&p)), None)
        .await;
    assert!(TestServer::ids(&list).is_empty(), "{list}");
    // Someone else's post cannot be revoked from.
    let (st, _, _) = s
        .post(
            &format!("/api/v1/statuses/{}/quotes/{}/revoke", id_of(&p), id_of(&q)),
            Some(&x.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // A deleted quoted post: the quote says so.
    let gone = s.post_status(&a, json!({"status": "soon gone"})).await;
    let (_, q2) = quote(&s, &y, &id_of(&gone), json!({})).await;
    let (st, _, _) = s
        .delete(
            &format!("/api/v1/statuses/{}", id_of(&gone)),
            Some(&a.token),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let v = seen_by(&s, Some(&y), &id_of(&q2)).await;
    assert_eq!(v["quote"]["state"], "deleted", "{v}");
}

#[tokio::test]
async fn manual_quotes_wait_in_the_approval_queue() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let x = s.register("xavier").await;
    let ask = json!({"can_quote": {"automatic_approval": [], "manual_approval": ["public"]}});
    let p = s
        .post_status(
            &a,
            json!({"status": "ask first", "interaction_policy": ask}),
        )
        .await;
    assert_eq!(p["quote_approval"]["manual"], json!(["public"]));
    let seen = seen_by(&s, Some(&x), &id_of(&p)).await;
    assert_eq!(seen["quote_approval"]["current_user"], "manual");

    // Waiting: the quote is X's post as usual, but the quoted post is not shown in it.
    let (st, q) = quote(&s, &x, &id_of(&p), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    assert_eq!(q["quote"]["state"], "pending");
    assert_eq!(q["quote"]["quoted_status"], Value::Null);
    let queue = s.ok("/api/v1/interaction_requests", Some(&a.token)).await;
    let req = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "quote")
        .unwrap_or_else(|| panic!("no quote request in {queue}"))
        .clone();
    assert_eq!(req["status"]["id"], p["id"]);
    assert_eq!(req["account"]["id"], x.id.as_str());
    assert_eq!(req["quote"]["id"], q["id"], "{req}");
    assert!(req.get("reply").is_none(), "{req}");
    let (st, _, _) = s
        .post(
            &format!("/api/v1/interaction_requests/{}/authorize", id_of(&req)),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let v = seen_by(&s, Some(&x), &id_of(&q)).await;
    assert_eq!(v["quote"]["state"], "accepted");
    assert_eq!(v["quote"]["quoted_status"]["id"], p["id"]);

    // Refused: the quote stays X's post, the quoted post is not shown in it.
    let (_, q2) = quote(&s, &x, &id_of(&p), json!({})).await;
    let queue = s.ok("/api/v1/interaction_requests", Some(&a.token)).await;
    let req = queue
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "quote")
        .unwrap_or_else(|| panic!("no quote request in {queue}"))
        .clone();
    let (st, _, _) = s
        .post(
            &format!("/api/v1/interaction_requests/{}/reject", id_of(&req)),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let v = seen_by(&s, Some(&x), &id_of(&q2)).await;
    assert_eq!(v["quote"]["state"], "rejected");
    assert_eq!(v["quote"]["quoted_status"], Value::Null);
    let list = s
        .ok(
            &format!("/api/v1/statuses/{}/quotes", id_of(&p)),
            Some(&a.token),
        )
        .await;
    assert_eq!(TestServer::ids(&list), vec![id_of(&q)]);
}

/// Streaming decides the quoted post per viewer too: a follower of the quoter who may read the
/// quoted post gets it inside the quote; one whom the quoted author blocks gets the quote
/// without it.
#[tokio::test]
async fn streamed_quotes_show_the_quoted_post_only_to_its_readers() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let x = s.register("xavier").await;
    let y = s.register("yuri").await;
    let z = s.register("zed").await;
    s.follow(&y, &x).await;
    s.follow(&z, &x).await;
    let (st, _, _) = s
        .post(
            &format!("/api/v1/accounts/{}/block", z.id),
            Some(&a.token),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let p = s
        .post_status(&a, json!({"status": "streamed and quoted"}))
        .await;
    let mut ys = s.websocket(&y.token, "stream=user").await;
    let mut zs = s.websocket(&z.token, "stream=user").await;
    ys.sync().await;
    zs.sync().await;
    let (st, q) = quote(&s, &x, &id_of(&p), json!({})).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let e = ys
        .expect_event("update", std::time::Duration::from_secs(10))
        .await;
    assert_valid("Status", &e.payload_json);
    assert_eq!(e.payload_json["id"], q["id"]);
    assert_eq!(e.payload_json["quote"]["state"], "accepted");
    assert_eq!(e.payload_json["quote"]["quoted_status"]["id"], p["id"]);
    let e = zs
        .expect_event("update", std::time::Duration::from_secs(10))
        .await;
    assert_eq!(e.payload_json["id"], q["id"]);
    assert_eq!(e.payload_json["quote"]["state"], "unauthorized");
    assert_eq!(e.payload_json["quote"]["quoted_status"], Value::Null);
    assert!(!e.payload.contains("streamed and quoted"), "{}", e.payload);
}
