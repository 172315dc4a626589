// SPDX-License-Identifier: AGPL-3.0-or-later
//! A job whose handler panics: the panic is caught, counts as a failed attempt, and the job
//! stops after its attempt cap instead of running again every time its lease runs out. On the
//! real server's store (SQLite, or PostgreSQL with KRING_TEST_DATABASE_URL).
mod common;

use common::TestServer;
use kring::config::{Partial, Role};
use kring_core::time::now_micros;
use kring_service::jobs::{MAX_ATTEMPTS, MAX_ERROR_ATTEMPTS, Outcome};

const MINUTE: i64 = 60_000_000;

#[tokio::test]
async fn a_panicking_job_counts_as_a_failed_attempt_and_stops_at_its_cap() {
    // A web process runs no worker: the test claims and runs the job as the worker does.
    let s = TestServer::start_with(Partial {
        role: Some(Role::Web),
        ..Partial::default()
    })
    .await;
    let store = &s.kring.store;
    let id = store
        .enqueue("test.panics", "{}", now_micros())
        .await
        .unwrap();
    for attempt in 0..MAX_ERROR_ATTEMPTS {
        let job = store
            .claim_jobs(10, MINUTE, MAX_ATTEMPTS)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.id == id.0)
            .expect("the job is claimed");
        assert_eq!(job.attempts, attempt);
        // The handler panics; the runner survives it and records the failure.
        s.kring
            .run_claimed(&job, async {
                if job.id != 0 {
                    panic!("a bug in a job handler");
                }
                Ok(Outcome::Done)
            })
            .await;
        if attempt + 1 < MAX_ERROR_ATTEMPTS {
            assert_eq!(store.pending_jobs().await.unwrap(), 1, "kept for a retry");
            assert!(
                store
                    .claim_jobs(10, MINUTE, MAX_ATTEMPTS)
                    .await
                    .unwrap()
                    .is_empty(),
                "released, but not due before its backoff"
            );
            // Time passes: the retry is due.
            store
                .fail_job(job.id, "retry now", Some(now_micros() - 1))
                .await
                .unwrap();
        }
    }
    assert_eq!(
        store.pending_jobs().await.unwrap(),
        0,
        "given up after {MAX_ERROR_ATTEMPTS} failed attempts"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_stops_and_one_that_succeeds_is_done() {
    let s = TestServer::start_with(Partial {
        role: Some(Role::Web),
        ..Partial::default()
    })
    .await;
    let store = &s.kring.store;
    let failing = store
        .enqueue("test.fails", "{}", now_micros())
        .await
        .unwrap();
    for _ in 0..MAX_ERROR_ATTEMPTS {
        let job = store
            .claim_jobs(10, MINUTE, MAX_ATTEMPTS)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.id == failing.0)
            .expect("the job is claimed");
        s.kring
            .run_claimed(&job, async {
                Err(kring_core::Error::internal("always fails"))
            })
            .await;
        if store.pending_jobs().await.unwrap() == 1 {
            store
                .fail_job(job.id, "retry now", Some(now_micros() - 1))
                .await
                .unwrap();
        }
    }
    assert_eq!(store.pending_jobs().await.unwrap(), 0);
    let fine = store
        .enqueue("test.fine", "{}", now_micros())
        .await
        .unwrap();
    let job = store
        .claim_jobs(10, MINUTE, MAX_ATTEMPTS)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == fine.0)
        .expect("claimed");
    s.kring.run_claimed(&job, async { Ok(Outcome::Done) }).await;
    assert_eq!(store.pending_jobs().await.unwrap(), 0);
    s.stop().await;
}
