// SPDX-License-Identifier: AGPL-3.0-or-later
//! Admin policy for other servers, between two real Kring servers on 127.0.0.1: a suspended
//! domain is cut off (follows severed, deliveries refused, look-ups fail), a silenced one
//! reaches followers but no public timeline, allow-list mode federates only with allowed
//! domains, and authorized fetch refuses unsigned reads of ActivityPub documents.
mod common;

use std::time::Duration;

use common::{TestServer, User};
use kring::config::Partial;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn server(extra: Partial) -> TestServer {
    TestServer::start_with(Partial {
        allow_private_federation: Some(true),
        ..extra
    })
    .await
}

fn domain(s: &TestServer) -> String {
    format!("127.0.0.1:{}", s.port)
}

/// Poll `f` for up to 15 s.
async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..150 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// `viewer` on `on` resolves `user@domain`; returns the local id of that account.
async fn resolve(on: &TestServer, viewer: &User, handle: &str) -> Option<String> {
    let (status, _, body) = on
        .get(
            &format!("/api/v2/search?type=accounts&resolve=true&q={handle}"),
            Some(&viewer.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["accounts"].as_array()?.first()?["id"]
        .as_str()
        .map(str::to_string)
}

async fn follow_and_wait(on: &TestServer, viewer: &User, handle: &str) -> String {
    let id = resolve(on, viewer, handle)
        .await
        .expect("remote account resolves");
    on.ok_post(
        &format!("/api/v1/accounts/{id}/follow"),
        Some(&viewer.token),
        json!({}),
    )
    .await;
    eventually("follow accepted", async || {
        let rel = on
            .ok(
                &format!("/api/v1/accounts/relationships?id[]={id}"),
                Some(&viewer.token),
            )
            .await;
        rel[0]["following"].as_bool().filter(|f| *f)
    })
    .await;
    id
}

fn contains_text(list: &Value, text: &str) -> bool {
    list.as_array().is_some_and(|a| {
        a.iter()
            .any(|s| s["content"].as_str().is_some_and(|c| c.contains(text)))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspending_a_domain_cuts_it_off() {
    let a = server(Partial::default()).await;
    let b = server(Partial::default()).await;
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let bob_handle = format!("bob@{}", domain(&b));
    let bob_on_a = follow_and_wait(&a, &alice, &bob_handle).await;
    // Carol, on the same server, was suspended by a moderator here before the domain was.
    b.register("carol").await;
    let carol_handle = format!("carol@{}", domain(&b));
    let carol_on_a = follow_and_wait(&a, &alice, &carol_handle).await;
    a.kring
        .admin_suspend(None, carol_on_a.parse().unwrap(), true)
        .await
        .expect("a moderator suspends carol");
    b.status(&bob, "before the suspension", "public").await;
    eventually("post delivered", async || {
        contains_text(
            &a.ok("/api/v1/timelines/home", Some(&alice.token)).await,
            "before the suspension",
        )
        .then_some(())
    })
    .await;

    a.kring
        .admin_set_domain_policy(
            None,
            &domain(&b),
            kring_service::DomainPolicy {
                block: Some(kring_service::DomainBlock::Suspend),
                ..Default::default()
            },
        )
        .await
        .expect("admin suspends the domain");
    // The follow is severed and the account is gone from view.
    let rel = a
        .ok(
            &format!("/api/v1/accounts/relationships?id[]={bob_on_a}"),
            Some(&alice.token),
        )
        .await;
    assert!(
        rel.as_array()
            .is_none_or(|r| r.is_empty() || r[0]["following"] == json!(false)),
        "{rel}"
    );
    let (status, _, _) = a
        .get(&format!("/api/v1/accounts/{bob_on_a}"), Some(&alice.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // New posts are refused at the inbox and never show up.
    b.status(&bob, "after the suspension", "public").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!contains_text(
        &a.ok("/api/v1/timelines/home", Some(&alice.token)).await,
        "after the suspension"
    ));
    assert!(!contains_text(
        &a.ok("/api/v1/timelines/public", Some(&alice.token)).await,
        "after the suspension"
    ));
    // Look-ups of the domain's accounts fail.
    let (status, _, _) = a
        .get(
            &format!("/api/v1/accounts/lookup?acct={bob_handle}"),
            Some(&alice.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Lifting the block lets the domain back in.
    a.kring
        .admin_set_domain_policy(None, &domain(&b), Default::default())
        .await
        .expect("unblock");
    let (status, _, _) = a
        .get(
            &format!("/api/v1/accounts/lookup?acct={bob_handle}"),
            Some(&alice.token),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // ...but not Carol: her suspension was not the domain's.
    let (status, _, _) = a
        .get(
            &format!("/api/v1/accounts/{carol_on_a}"),
            Some(&alice.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silenced_domain_reaches_followers_but_no_public_timeline() {
    let a = server(Partial::default()).await;
    let b = server(Partial::default()).await;
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    a.kring
        .admin_set_domain_policy(
            None,
            &domain(&b),
            kring_service::DomainPolicy {
                block: Some(kring_service::DomainBlock::Silence),
                ..Default::default()
            },
        )
        .await
        .expect("admin silences the domain");
    follow_and_wait(&a, &alice, &format!("bob@{}", domain(&b))).await;
    b.status(&bob, "quietly public", "public").await;
    eventually("post reaches the follower", async || {
        contains_text(
            &a.ok("/api/v1/timelines/home", Some(&alice.token)).await,
            "quietly public",
        )
        .then_some(())
    })
    .await;
    assert!(!contains_text(
        &a.ok("/api/v1/timelines/public", Some(&alice.token)).await,
        "quietly public"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_mode_federates_only_with_allowed_domains() {
    let a = server(Partial {
        federation_allowlist: Some(true),
        ..Partial::default()
    })
    .await;
    let b = server(Partial::default()).await;
    let alice = a.register("alice").await;
    b.register("bob").await;
    let handle = format!("bob@{}", domain(&b));
    assert_eq!(resolve(&a, &alice, &handle).await, None, "not allowed yet");
    a.kring
        .admin_set_domain_policy(
            None,
            &domain(&b),
            kring_service::DomainPolicy {
                allowed: true,
                ..Default::default()
            },
        )
        .await
        .expect("admin allows the domain");
    assert!(resolve(&a, &alice, &handle).await.is_some(), "allowed now");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorized_fetch_refuses_unsigned_reads() {
    let a = server(Partial {
        authorized_fetch: Some(true),
        ..Partial::default()
    })
    .await;
    let b = server(Partial::default()).await;
    let alice = a.register("alice").await;
    let bob = b.register("bob").await;
    let post = a
        .post_status(
            &alice,
            json!({"status": "only for signed readers", "visibility": "public"}),
        )
        .await;
    let note = post["uri"].as_str().expect("uri").to_string();
    let http = reqwest::Client::new();
    let unsigned = http
        .get(&note)
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
    // The actor document stays readable, so others can verify signatures.
    let actor = http
        .get(a.url("/users/alice"))
        .header("accept", "application/activity+json")
        .send()
        .await
        .expect("GET");
    assert_eq!(actor.status(), StatusCode::OK);
    // A fetch signed by bob's key (B's server signs as bob) is answered.
    let key_pem = b
        .kring
        .store
        .private_key_pem(bob.id.parse().map(kring_core::Id).expect("id"))
        .await
        .expect("db")
        .expect("key");
    let key = kring_activitypub::KeyPair::from_pem(&key_pem).expect("key");
    let key_id = format!("{}/users/bob#main-key", b.base);
    let client = kring_activitypub::client::Client::new(true, "test").expect("client");
    let doc = client
        .get_json(
            &note,
            Some((&key_id, &key)),
            kring_activitypub::client::ACCEPT_AS2,
        )
        .await
        .expect("signed fetch is answered");
    assert_eq!(doc["id"].as_str(), Some(note.as_str()));
    assert_eq!(doc["type"], json!("Note"));
}
