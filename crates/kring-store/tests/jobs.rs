//! The job queue: claims take a lease, a lapsed lease frees the job again (crash recovery),
//! failures reschedule, completion removes, and concurrent claimers never share a job.
mod common;

use std::collections::HashSet;

use common::{store, wait_past};
use kring_core::time::now_micros;
use kring_store::{Backend, Store};

const MINUTE: i64 = 60_000_000;
/// The attempt cap most tests claim with (the worker's).
const CAP: i64 = 16;

#[tokio::test]
async fn enqueue_claim_complete() {
    let (store, _g) = store().await;
    assert!(store.claim_jobs(10, MINUTE, CAP).await.unwrap().is_empty());
    let id = store
        .enqueue("deliver", r#"{"to":"x"}"#, now_micros())
        .await
        .unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 1);

    let jobs = store.claim_jobs(10, MINUTE, CAP).await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.id, id.0);
    assert_eq!(job.queue, "deliver");
    assert_eq!(job.payload, r#"{"to":"x"}"#);
    // `attempts` counts the claims before this one (the worker's backoff starts from 0).
    assert_eq!(job.attempts, 0);

    // Leased: nobody else gets it while the lease runs.
    assert!(store.claim_jobs(10, MINUTE, CAP).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 1);

    store.complete_job(job.id).await.unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 0);
    assert!(store.claim_jobs(10, MINUTE, CAP).await.unwrap().is_empty());
    // Completing twice is harmless.
    store.complete_job(job.id).await.unwrap();
}

#[tokio::test]
async fn due_jobs_come_in_run_at_order_and_future_ones_wait() {
    let (store, _g) = store().await;
    let now = now_micros();
    store
        .enqueue("q", "later", now + 3_600_000_000)
        .await
        .unwrap();
    let b = store.enqueue("q", "b", now - 10).await.unwrap();
    let a = store.enqueue("q", "a", now - 20).await.unwrap();
    // Backpressure counts the due ones only (not the one waiting for later).
    assert_eq!(store.pending_jobs_in("q").await.unwrap(), 2);
    assert_eq!(store.pending_jobs_in("other").await.unwrap(), 0);

    let first = store.claim_jobs(1, MINUTE, CAP).await.unwrap();
    assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), vec![a.0]);
    let rest = store.claim_jobs(10, MINUTE, CAP).await.unwrap();
    assert_eq!(rest.iter().map(|j| j.id).collect::<Vec<_>>(), vec![b.0]);
    assert!(store.claim_jobs(10, MINUTE, CAP).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 3);
}

#[tokio::test]
async fn a_lapsed_lease_frees_the_job_again() {
    let (store, _g) = store().await;
    let id = store.enqueue("q", "p", now_micros()).await.unwrap();

    // A worker claims with a short lease and "crashes" (never completes).
    let lease = 300_000;
    let claimed = store.claim_jobs(5, lease, CAP).await.unwrap();
    let after_claim = now_micros();
    assert_eq!(claimed.len(), 1);
    assert!(store.claim_jobs(5, lease, CAP).await.unwrap().is_empty());

    wait_past(after_claim + lease).await;
    let again = store.claim_jobs(5, MINUTE, CAP).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, id.0);
    assert_eq!(again[0].attempts, 1);
    // The new lease holds.
    assert!(store.claim_jobs(5, MINUTE, CAP).await.unwrap().is_empty());

    // A tiny lease lapses at once.
    store.complete_job(id.0).await.unwrap();
    let id = store.enqueue("q", "p", now_micros()).await.unwrap();
    let claimed = store.claim_jobs(5, 1, CAP).await.unwrap();
    let after_claim = now_micros();
    assert_eq!(claimed.len(), 1);
    wait_past(after_claim + 1).await;
    let again = store.claim_jobs(5, MINUTE, CAP).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id.0]);
}

#[tokio::test]
async fn fail_job_reschedules_or_gives_up() {
    let (store, _g) = store().await;
    let id = store.enqueue("q", "p", now_micros()).await.unwrap();
    let job = store.claim_jobs(1, MINUTE, CAP).await.unwrap().remove(0);

    // Retry in an hour: the lease is released but the job is not due.
    store
        .fail_job(
            job.id,
            "connection refused",
            Some(now_micros() + 3_600_000_000),
        )
        .await
        .unwrap();
    assert!(store.claim_jobs(1, MINUTE, CAP).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 1);

    // Retry now: claimable at once, counting attempts.
    store
        .fail_job(job.id, "timeout", Some(now_micros() - 1))
        .await
        .unwrap();
    let again = store.claim_jobs(1, MINUTE, CAP).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (id.0, 1));

    // No retry: dropped.
    store.fail_job(job.id, "gone", None).await.unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 0);
}

/// A job whose worker never reports back (it panicked, or the process died while running
/// it) is claimed again when its lease runs out, and given up once claimed `max_attempts`
/// times: the cap is checked when claiming, not only when a failure is reported.
#[tokio::test]
async fn a_job_that_never_reports_back_stops_at_its_attempt_cap() {
    let (store, _g) = store().await;
    let cap = 3;
    let id = store.enqueue("q", "crashes", now_micros()).await.unwrap();
    for attempt in 0..cap {
        let claimed = store.claim_jobs(5, 1, cap).await.unwrap();
        let after_claim = now_micros();
        assert_eq!(
            claimed
                .iter()
                .map(|j| (j.id, j.attempts))
                .collect::<Vec<_>>(),
            vec![(id.0, attempt)]
        );
        // The worker "dies": no complete_job, no fail_job. The lease runs out.
        wait_past(after_claim + 1).await;
    }
    assert_eq!(store.pending_jobs().await.unwrap(), 1);
    // Claimed `cap` times already: dropped, not run again.
    assert!(store.claim_jobs(5, MINUTE, cap).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 0);

    // A job at the cap but still leased, or not yet due, is left alone.
    let leased = store.enqueue("q", "leased", now_micros()).await.unwrap();
    store.claim_jobs(5, MINUTE, 1).await.unwrap();
    assert!(store.claim_jobs(5, MINUTE, 1).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 1);
    store
        .fail_job(leased.0, "boom", Some(now_micros() + 3_600_000_000))
        .await
        .unwrap();
    assert!(store.claim_jobs(5, MINUTE, 1).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), 1);
}

#[tokio::test]
async fn jobs_exist_only_if_their_transaction_commits() {
    let (store, _g) = store().await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue("q", "rolled back", now_micros()).await.unwrap();
    drop(tx);
    assert_eq!(store.pending_jobs().await.unwrap(), 0);

    let mut tx = store.begin().await.unwrap();
    let id = tx.enqueue("q", "committed", now_micros()).await.unwrap();
    tx.commit().await.unwrap();
    let jobs = store.claim_jobs(10, MINUTE, CAP).await.unwrap();
    assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id.0]);
    assert_eq!(jobs[0].payload, "committed");
}

async fn drain(store: Store) -> Vec<i64> {
    let mut got = Vec::new();
    loop {
        let jobs = store.claim_jobs(7, MINUTE, CAP).await.unwrap();
        if jobs.is_empty() {
            return got;
        }
        got.extend(jobs.into_iter().map(|j| j.id));
        tokio::task::yield_now().await;
    }
}

/// On PostgreSQL the claimers are separate stores (as separate processes would be) and
/// `FOR UPDATE SKIP LOCKED` keeps them apart. SQLite has one writer per database and the store
/// serialises its own claimers, so there they share one store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_claim_the_same_job() {
    let (store, guard) = store().await;
    let other = match guard.backend {
        Backend::Postgres => Store::connect(&guard.url, 4).await.unwrap(),
        Backend::Sqlite => store.clone(),
    };
    let total = 300;
    let mut tx = store.begin().await.unwrap();
    let now = now_micros();
    for i in 0..total {
        tx.enqueue("q", &i.to_string(), now).await.unwrap();
    }
    tx.commit().await.unwrap();

    let (a, b, c, d) = tokio::join!(
        tokio::spawn(drain(store.clone())),
        tokio::spawn(drain(other.clone())),
        tokio::spawn(drain(store.clone())),
        tokio::spawn(drain(other.clone())),
    );
    let runs = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    let mut seen = HashSet::new();
    for run in &runs {
        for id in run {
            assert!(seen.insert(*id), "job {id} was claimed twice");
        }
    }
    assert_eq!(seen.len(), total, "every job was claimed once");
    assert!(store.claim_jobs(10, MINUTE, CAP).await.unwrap().is_empty());
    assert_eq!(store.pending_jobs().await.unwrap(), total as i64);
    if guard.backend == Backend::Postgres {
        other.close().await;
    }
}

/// Received activities are remembered by (origin, id), in the transaction that applies them:
/// a rolled-back apply leaves the activity unseen, a committed one is seen once, and the same
/// id from another server is another activity.
#[tokio::test]
async fn received_activities_are_seen_per_origin_and_only_once_applied() {
    let (store, _g) = store().await;
    let id = "https://a.example/activities/1";

    // The apply failed: the transaction is dropped (rolled back) and the id stays unseen.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_seen("a.example", id).await.unwrap());
    drop(tx);
    assert!(!store.was_seen("a.example", id).await.unwrap());

    // The retry applies it and commits.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_seen("a.example", id).await.unwrap(), "retry is new");
    tx.commit().await.unwrap();
    assert!(store.was_seen("a.example", id).await.unwrap());
    assert!(
        store.was_seen("A.EXAMPLE", id).await.unwrap(),
        "hosts are case-blind"
    );

    // A duplicate from the same origin is not applied again.
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.mark_seen("a.example", id).await.unwrap(), "duplicate");
    drop(tx);

    // The same id from another origin is not confused with it.
    assert!(!store.was_seen("b.example", id).await.unwrap());
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_seen("b.example", id).await.unwrap(), "other origin");
    tx.commit().await.unwrap();
}

/// A claim's marks in one statement: what it returns is what was not seen before, each pair
/// once, origins in lower case; seen ones and a pair named twice are not returned again.
#[tokio::test]
async fn a_claim_marks_its_activities_seen_at_once() {
    let (store, _g) = store().await;
    let (one, two) = (
        "https://a.example/activities/1",
        "https://a.example/activities/2",
    );
    let mut tx = store.begin().await.unwrap();
    assert!(tx.mark_seen("a.example", one).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let mut marked = tx
        .mark_all_seen(&[
            ("A.Example", one),
            ("a.example", two),
            ("A.EXAMPLE", two),
            ("b.example", one),
        ])
        .await
        .unwrap();
    marked.sort();
    assert_eq!(
        marked,
        vec![
            ("a.example".to_string(), two.to_string()),
            ("b.example".to_string(), one.to_string()),
        ]
    );
    assert!(tx.mark_all_seen(&[]).await.unwrap().is_empty());
    drop(tx);
    // Rolled back with its transaction.
    assert!(!store.was_seen("a.example", two).await.unwrap());
}
