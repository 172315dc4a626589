// SPDX-License-Identifier: AGPL-3.0-or-later
//! Split process roles: a web-only process answers HTTP and queues jobs without running them;
//! a worker-only process (no HTTP) on the same database runs them.
mod common;

use std::time::Duration;

use common::{TestServer, User, bare_account};
use kring::config::{Partial, Role};
use kring_core::Id;
use kring_store::FollowOptions;

/// A follower of `user` on another server, made in the store (no server runs there: what is
/// looked at is only what gets queued).
async fn remote_follower(s: &TestServer, user: &User) {
    let id = Id::generate();
    let uri = "https://elsewhere.invalid/users/rita".to_string();
    let mut tx = s.kring.store.begin().await.unwrap();
    let account = bare_account(id, "rita", Some("elsewhere.invalid"), uri.clone(), uri);
    tx.insert_account(&account).await.unwrap();
    let opts = FollowOptions {
        show_reblogs: true,
        notify: false,
    };
    let target = Id(user.id.parse().unwrap());
    tx.insert_follow(id, target, opts, None).await.unwrap();
    tx.commit().await.unwrap();
}

/// A web-only process: what the actions queue stays queued.
async fn web_only() -> TestServer {
    TestServer::start_with(Partial {
        role: Some(Role::Web),
        ..Partial::default()
    })
    .await
}

#[tokio::test]
async fn a_post_reaching_only_local_people_queues_no_distribution() {
    let web = web_only().await;
    let a = web.register("alice").await;
    let b = web.register("bob").await;
    web.follow(&b, &a).await;
    let queued = || async {
        web.kring
            .store
            .pending_jobs_in("ap.distribute")
            .await
            .unwrap()
    };
    let before = queued().await;
    web.status(&a, "for my local followers", "public").await;
    web.status(&a, &format!("and for @{}", b.username), "public")
        .await;
    assert_eq!(queued().await, before, "nothing to deliver elsewhere");

    remote_follower(&web, &a).await;
    web.status(&a, "now for a follower elsewhere too", "public")
        .await;
    assert_eq!(queued().await, before + 1, "its delivery is queued");
}

#[tokio::test]
async fn web_processes_queue_jobs_that_worker_processes_run() {
    let web = web_only().await;
    let a = web.register("alice").await;
    // A follower elsewhere: a post only local people can read queues no delivery.
    remote_follower(&web, &a).await;
    web.status(&a, "queued by the web process", "public").await;
    // Nothing runs it here: the post's distribution job waits.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let queued = web
        .kring
        .store
        .pending_jobs_in("ap.distribute")
        .await
        .unwrap();
    assert!(queued >= 1, "the web process queued the post's delivery");

    let worker = web
        .another_process(Partial {
            role: Some(Role::Worker),
            ..Partial::default()
        })
        .await;
    // A worker process does not listen.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{}/api/v1/instance", worker.port))
            .await
            .is_err()
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = web
            .kring
            .store
            .pending_jobs_in("ap.distribute")
            .await
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker process did not run the {left} queued job(s)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(worker);
}
