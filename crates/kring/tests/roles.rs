// SPDX-License-Identifier: AGPL-3.0-or-later
//! Split process roles: a web-only process answers HTTP and queues jobs without running them;
//! a worker-only process (no HTTP) on the same database runs them.
mod common;

use std::time::Duration;

use common::TestServer;
use kring::config::{Partial, Role};

#[tokio::test]
async fn web_processes_queue_jobs_that_worker_processes_run() {
    let web = TestServer::start_with(Partial {
        role: Some(Role::Web),
        ..Partial::default()
    })
    .await;
    let a = web.register("alice").await;
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
