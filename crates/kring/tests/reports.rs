// SPDX-License-Identifier: AGPL-3.0-or-later
//! Reports: people file them through the Mastodon API; moderators (and only they) list and
//! resolve them through the service the web admin uses.
mod common;

use common::TestServer;
use common::schema::assert_valid;
use kring_core::model::Role;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn people_report_accounts_and_posts_and_moderators_resolve_them() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let m = s.register("maria").await;
    let post = s.status(&b, "something nasty", "public").await;
    let private = s.status(&b, "for followers only", "private").await;
    let alices = s.status(&a, "alice's own", "public").await;

    let r = s
        .ok_post(
            "/api/v1/reports",
            Some(&a.token),
            json!({"account_id": b.id, "status_ids": [post], "comment": "please look", "category": "spam"}),
        )
        .await;
    assert_valid("Report", &r);
    assert_eq!(r["target_account"]["id"], b.id.as_str());
    assert_eq!(r["status_ids"], json!([post]));
    assert_eq!(r["category"], "spam");
    assert_eq!(r["action_taken"], false);
    // A local account's report has nowhere to be forwarded.
    assert_eq!(r["forwarded"], false);
    let local = s
        .ok_post(
            "/api/v1/reports",
            Some(&a.token),
            json!({"account_id": b.id, "forward": true}),
        )
        .await;
    assert_eq!(local["forwarded"], false);
    let open = s.kring.store.reports(false, 10).await.unwrap();
    s.kring
        .store
        .resolve_report(open[0].id, b.id.parse().unwrap())
        .await
        .unwrap();

    // Bad reports: clear 4xx errors.
    for (body, want) in [
        (
            json!({"account_id": a.id}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"account_id": "999999"}), StatusCode::NOT_FOUND),
        (
            json!({"account_id": b.id, "category": "boring"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // A post Alice cannot see, and a post that is not Bob's.
        (
            json!({"account_id": b.id, "status_ids": [private]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"account_id": b.id, "status_ids": [alices]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"account_id": b.id, "comment": "x".repeat(1001)}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (st, _, err) = s
            .post("/api/v1/reports", Some(&a.token), body.clone())
            .await;
        assert_eq!(st, want, "{body}: {err}");
        assert_valid("Error", &err);
    }

    // Moderators see it, with the reported post; others may not look.
    let alice = s.kring.actor(a.id.parse().unwrap()).await.unwrap();
    assert!(s.kring.reports(&alice, false).await.is_err());
    s.kring
        .admin_set_role(None, m.id.parse().unwrap(), Role::Moderator)
        .await
        .unwrap();
    let moderator = s.kring.actor(m.id.parse().unwrap()).await.unwrap();
    let open = s.kring.reports(&moderator, false).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].reporter.username, "alice");
    assert_eq!(open[0].target.username, "bob");
    assert_eq!(open[0].statuses.len(), 1);
    assert_eq!(open[0].report.comment, "please look");
    s.kring
        .resolve_report(&moderator, open[0].report.id)
        .await
        .unwrap();
    assert!(s.kring.reports(&moderator, false).await.unwrap().is_empty());
    // Both resolved ones (the first report, and the one resolved above) are listed as done.
    let done = s.kring.reports(&moderator, true).await.unwrap();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|d| d.report.action_taken_at.is_some()));
    assert!(done.iter().any(|d| d.report.id == open[0].report.id));
    // Resolved once; again is "not found".
    assert!(
        s.kring
            .resolve_report(&moderator, open[0].report.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn staff_see_how_many_reports_wait() {
    let s = TestServer::start().await;
    let a = s.register("alice").await;
    let b = s.register("bob").await;
    let alice = s.kring.actor(a.id.parse().unwrap()).await.unwrap();
    s.kring
        .admin_set_role(None, b.id.parse().unwrap(), Role::Admin)
        .await
        .unwrap();
    let admin = s.kring.actor(b.id.parse().unwrap()).await.unwrap();
    assert_eq!(s.kring.open_reports(&admin, 100).await.unwrap(), Some(0));
    s.ok_post(
        "/api/v1/reports",
        Some(&a.token),
        json!({"account_id": b.id}),
    )
    .await;
    assert_eq!(s.kring.open_reports(&admin, 100).await.unwrap(), Some(1));
    assert_eq!(s.kring.open_reports(&alice, 100).await.unwrap(), None);
}
