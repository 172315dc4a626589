// SPDX-License-Identifier: AGPL-3.0-or-later
//! What the read path keeps in memory (tokens, accounts and users, filters) never outlives a
//! change: an edited profile, a new post's counter, a new filter and a revoked token take
//! effect at once in the process that made the change and, on PostgreSQL, in another process
//! of the same server (through the event relay).
mod common;

use std::time::Duration;

use common::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How long another process may take to hear of a change (the relay is asynchronous).
const RELAY: Duration = Duration::from_secs(10);

/// Poll `GET path` on `srv` until `ok` holds for its status and body.
async fn eventually(
    srv: &TestServer,
    path: &str,
    token: &str,
    what: &str,
    ok: impl Fn(StatusCode, &Value) -> bool,
) {
    let deadline = tokio::time::Instant::now() + RELAY;
    loop {
        let (st, _, body) = srv.get(path, Some(token)).await;
        if ok(st, &body) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {st} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn cached_reads_follow_every_change_in_every_process() {
    let s = TestServer::start().await;
    let other = s.second_process().await;
    let alice = s.register("alice").await;
    let token = s.token_with_scopes(&alice, "read write").await;
    let me = "/api/v1/accounts/verify_credentials";
    // Both processes read the token, the account and the filters, so all are in memory.
    let servers: Vec<&TestServer> = std::iter::once(&s).chain(other.as_ref()).collect();
    for srv in &servers {
        let v = srv.ok(me, Some(&token)).await;
        assert_eq!(v["statuses_count"], 0);
        assert_eq!(srv.ok("/api/v2/filters", Some(&token)).await, json!([]));
        srv.ok("/api/v1/timelines/home", Some(&token)).await;
    }

    // A profile edit, made through the first process.
    let (st, _, body) = s
        .patch(
            "/api/v1/accounts/update_credentials",
            Some(&token),
            json!({"display_name": "Alice Cached"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        s.ok(me, Some(&token)).await["display_name"],
        "Alice Cached",
        "the process that made the change shows it at once"
    );
    // A post changes the account's counter.
    s.status(&alice, "counted", "public").await;
    assert_eq!(s.ok(me, Some(&token)).await["statuses_count"], 1);
    for srv in &servers {
        eventually(srv, me, &token, "the edit and the count", |st, v| {
            st == StatusCode::OK && v["display_name"] == "Alice Cached" && v["statuses_count"] == 1
        })
        .await;
    }

    // A new filter.
    let (st, _, body) = s
        .post(
            "/api/v2/filters",
            Some(&token),
            json!({"title": "cached", "context": ["home"], "keywords_attributes": [{"keyword": "counted"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        s.ok("/api/v2/filters", Some(&token)).await[0]["title"],
        "cached"
    );
    for srv in &servers {
        eventually(srv, "/api/v2/filters", &token, "the new filter", |st, v| {
            st == StatusCode::OK && v[0]["title"] == "cached"
        })
        .await;
    }

    // The token is revoked: refused at once here, and soon by the other process.
    let app = s.app().await.clone();
    let (st, _, body) = s
        .post(
            "/oauth/revoke",
            None,
            json!({"client_id": app.client_id, "client_secret": app.client_secret, "token": token}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let (st, _, _) = s.get(me, Some(&token)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "revoked, yet still accepted");
    for srv in &servers {
        eventually(srv, me, &token, "the revoked token", |st, _| {
            st == StatusCode::UNAUTHORIZED
        })
        .await;
    }
    // Alice's other sessions still work.
    s.ok(me, Some(&alice.token)).await;
    drop(other);
}
