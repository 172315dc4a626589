//! The job runner: claims due jobs from the one queue in the database and runs them
//! concurrently (bounded overall and per remote host), retrying failures with exponential
//! backoff for about a week. Runs inside `kring serve`; on PostgreSQL several processes may
//! run it side by side.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kring_core::time::now_micros;
use tokio::sync::{Semaphore, watch};

use crate::Kring;
use crate::federation::{DELIVER, RECEIVE, REFRESH_PROFILE};

pub const FEED_TRIM: &str = "feed.trim";
use crate::data::housekeeping::FORGET;
use crate::data::{EXPORT_BUILD, EXPORT_SWEEP};
use crate::federation::outbox::DISTRIBUTE;
use crate::media::sweep::MEDIA_SWEEP;

/// Where the last feed trim left off (an entry id), so a trim reads only newer entries.
const FEED_TRIM_CURSOR: &str = "feed_trim_cursor";
/// Feeds trimmed per transaction batch.
const FEED_TRIM_BATCH: i64 = 500;

/// Give up after about a week of retries. Checked when a job is claimed too, so a job whose
/// worker never reports back (a crash mid-job) stops as well.
pub const MAX_ATTEMPTS: i64 = 16;
/// Jobs that fail with an error (not a peer being unreachable) get fewer tries: a bug or a
/// panic will not fix itself.
pub const MAX_ERROR_ATTEMPTS: i64 = 3;
/// Jobs running at once in one process, and at once against one remote host.
const CONCURRENCY: usize = 64;
const PER_HOST: usize = 8;
/// Claim at least this many jobs at a time when the runner is busy.
const CLAIM_BATCH: usize = 16;
/// A claimed job not finished within this time is claimed again (its worker died).
const LEASE_MICROS: i64 = 120 * 1_000_000;
/// How often an idle runner looks for jobs it was not woken for: those other processes
/// enqueued, and retries coming due.
const IDLE_POLL: Duration = Duration::from_millis(200);

/// How a job ended.
pub enum Outcome {
    Done,
    /// Try again later (the reason is kept on the job).
    Retry(String),
}

impl Kring {
    /// Run jobs until `shutdown` turns true.
    pub async fn run_worker(&self, mut shutdown: watch::Receiver<bool>) {
        let mut last_trim = 0i64;
        let mut last_media_sweep = 0i64;
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let hosts: Arc<std::sync::Mutex<HashMap<String, Arc<Semaphore>>>> = Arc::default();
        // Claim without looking first: at start, and after this process enqueued jobs.
        let mut woken = true;
        loop {
            // A closed channel (the server was dropped without a shutdown) stops it too: no one
            // could stop it otherwise, and `changed` would wake it at once forever.
            if *shutdown.borrow() || shutdown.has_changed().is_err() {
                // Let running jobs finish (or their leases expire and another run takes them).
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    slots.acquire_many(CONCURRENCY as u32),
                )
                .await;
                return;
            }
            if now_micros() - last_trim > 600 * 1_000_000 {
                last_trim = now_micros();
                if let Err(e) = self.store.enqueue(FEED_TRIM, "{}", now_micros()).await {
                    tracing::warn!(error = %e, "could not schedule feed trimming");
                }
            }
            if now_micros() - last_media_sweep > 3600 * 1_000_000 {
                last_media_sweep = now_micros();
                if let Err(e) = self.store.enqueue(MEDIA_SWEEP, "{}", now_micros()).await {
                    tracing::warn!(error = %e, "could not schedule the media sweep");
                }
                if let Err(e) = self.store.enqueue(FORGET, "{}", now_micros()).await {
                    tracing::warn!(error = %e, "could not schedule forgetting expired records");
                }
                if let Err(e) = self.store.enqueue(EXPORT_SWEEP, "{}", now_micros()).await {
                    tracing::warn!(error = %e, "could not schedule the export sweep");
                }
            }
            // All slots busy: wait until a batch of them is free (not the idle pause, which
            // would cap throughput at one batch per pause), then claim that many.
            if slots.available_permits() < CLAIM_BATCH {
                if let Ok(p) = slots.acquire_many(CLAIM_BATCH as u32).await {
                    drop(p);
                }
                continue;
            }
            // Idle and not woken: look with a read before claiming with a write transaction
            // (on SQLite, polling with writes kept an idle server busy and its log growing).
            if !woken && matches!(self.store.jobs_due().await, Ok(false)) {
                woken = self.wait_for_jobs(&mut shutdown).await;
                continue;
            }
            let free = slots.available_permits() as i64;
            let jobs = {
                match self
                    .store
                    .claim_jobs(free, LEASE_MICROS, MAX_ATTEMPTS)
                    .await
                {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming jobs failed");
                        Vec::new()
                    }
                }
            };
            let idle = jobs.is_empty();
            // Received activities go as one batch (one transaction, see `receive_batch`).
            let (received, jobs): (Vec<_>, Vec<_>) =
                jobs.into_iter().partition(|j| j.queue == RECEIVE);
            if !received.is_empty() {
                let Ok(slot) = slots
                    .clone()
                    .acquire_many_owned(received.len() as u32)
                    .await
                else {
                    return;
                };
                let kring = self.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    kring.receive_batch(received).await;
                });
            }
            for job in jobs {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    return;
                };
                let host_slot = job_host(&job.queue, &job.payload).map(|h| {
                    let mut map = hosts.lock().unwrap_or_else(|p| p.into_inner());
                    map.entry(h)
                        .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST)))
                        .clone()
                });
                let kring = self.clone();
                tokio::spawn(async move {
                    let _slot = slot;
                    let _host = match host_slot {
                        Some(s) => s.acquire_owned().await.ok(),
                        None => None,
                    };
                    kring.run_claimed(&job, kring.run_job(&job)).await;
                });
            }
            woken = if idle {
                self.wait_for_jobs(&mut shutdown).await
            } else {
                true
            };
        }
    }

    /// Wait until this process enqueues jobs (true), shutdown begins (true) or `IDLE_POLL`
    /// passes (false).
    async fn wait_for_jobs(&self, shutdown: &mut watch::Receiver<bool>) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(IDLE_POLL) => false,
            _ = self.store.jobs_added().notified() => true,
            _ = shutdown.changed() => true,
        }
    }

    /// Run a claimed job's work and record how it went: done, retried later, or given up. A
    /// panic in the work is caught and counts as a failed attempt (without this, the job
    /// would sit until its lease ran out and run again, forever).
    pub async fn run_claimed(
        &self,
        job: &kring_store::Job,
        work: impl Future<Output = crate::Result<Outcome>>,
    ) {
        use futures_util::FutureExt;
        // The work's state is dropped after a panic, never used again.
        let outcome = match std::panic::AssertUnwindSafe(work).catch_unwind().await {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(crate::Error::Internal(format!("the job panicked: {what}")))
            }
        };
        let recorded = match outcome {
            Ok(Outcome::Done) => self.finish_job(job.id).await,
            Ok(Outcome::Retry(reason)) | Err(crate::Error::Unavailable(reason)) => {
                let retry = (job.attempts + 1 < MAX_ATTEMPTS)
                    .then(|| now_micros() + backoff_micros(job.attempts));
                tracing::info!(queue = %job.queue, attempts = job.attempts, %reason, "job will be retried");
                self.store.fail_job(job.id, &reason, retry).await
            }
            Err(e) => {
                let retry = (job.attempts + 1 < MAX_ERROR_ATTEMPTS)
                    .then(|| now_micros() + backoff_micros(job.attempts));
                tracing::warn!(queue = %job.queue, attempts = job.attempts, error = %e, "job failed");
                self.store.fail_job(job.id, &e.to_string(), retry).await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "could not record job result");
        }
    }

    /// Delete a finished job. Jobs finishing together are deleted in one statement (a group
    /// commit, as the inbox's): a delivery's bookkeeping is then a share of one write, not one
    /// write of its own. Waits until the deletion is written.
    async fn finish_job(&self, id: i64) -> kring_core::Result<()> {
        let sender = self.federation.finished_jobs.get_or_init(|| {
            let (sender, queue) = tokio::sync::mpsc::channel(CONCURRENCY * 2);
            tokio::spawn(delete_finished(self.store.clone(), queue));
            sender
        });
        let (done, answer) = tokio::sync::oneshot::channel();
        match sender.send((id, done)).await {
            Ok(()) => answer.await.unwrap_or_else(|_| {
                Err(crate::Error::Unavailable(
                    "the job runner is shutting down".into(),
                ))
            }),
            // The deleting task is gone (its runtime ended): delete this one alone.
            Err(_) => self.store.complete_job(id).await,
        }
    }

    /// Cut home feeds back to their cap, looking only at feeds that received entries since
    /// the last trim. The cursor trails the clock by five minutes, so entries of transactions
    /// still open during a trim are looked at by the next one.
    async fn trim_feeds(&self) -> crate::Result<()> {
        let since = self
            .store
            .setting(FEED_TRIM_CURSOR)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .map(kring_core::Id)
            .unwrap_or(kring_core::Id(0));
        let next = kring_core::Id::floor_for_millis(now_micros() / 1000 - 300_000);
        loop {
            let feeds = self.store.feeds_over_cap(since, FEED_TRIM_BATCH).await?;
            for account in &feeds {
                let mut tx = self.store.begin().await?;
                tx.trim_feed(*account).await?;
                tx.commit().await?;
            }
            // A full batch may leave more; trimmed feeds no longer show up.
            if (feeds.len() as i64) < FEED_TRIM_BATCH {
                break;
            }
        }
        if next > since {
            self.store
                .set_setting(FEED_TRIM_CURSOR, &next.0.to_string())
                .await?;
        }
        Ok(())
    }

    async fn run_job(&self, job: &kring_store::Job) -> crate::Result<Outcome> {
        let payload = job.payload.as_str();
        match job.queue.as_str() {
            DELIVER => Ok(match self.deliver(payload).await? {
                crate::federation::deliver_outcome::Done => Outcome::Done,
                crate::federation::deliver_outcome::Retry(r) => Outcome::Retry(r),
            }),
            DISTRIBUTE => self.distribute(payload).await.map(|_| Outcome::Done),
            RECEIVE => self.receive(payload).await.map(|_| Outcome::Done),
            FEED_TRIM => self.trim_feeds().await.map(|_| Outcome::Done),
            MEDIA_SWEEP => self.media_sweep().await.map(|_| Outcome::Done),
            FORGET => self.forget_expired().await.map(|_| Outcome::Done),
            crate::data::import::IMPORT => self.run_import(payload).await.map(|_| Outcome::Done),
            EXPORT_BUILD => self.build_export_job(payload).await,
            EXPORT_SWEEP => self.sweep_exports().await.map(|_| Outcome::Done),
            REFRESH_PROFILE => self.refresh_profile(payload).await.map(|_| Outcome::Done),
            crate::fanout::FAN_OUT => self.fan_out_job(job.id, payload).await,
            other => {
                tracing::warn!(queue = other, "dropping job of unknown kind");
                Ok(Outcome::Done)
            }
        }
    }
}

/// A finished job, and where to say that its deletion was written.
pub(crate) type Finished = (i64, tokio::sync::oneshot::Sender<kring_core::Result<()>>);

/// Finished jobs deleted in one statement at most.
const FINISHED_PER_COMMIT: usize = 256;

/// The job runner's group commit: jobs that finished while the last deletion ran are deleted
/// in the next one.
async fn delete_finished(
    store: kring_store::Store,
    mut queue: tokio::sync::mpsc::Receiver<Finished>,
) {
    let mut batch = Vec::with_capacity(FINISHED_PER_COMMIT);
    while queue.recv_many(&mut batch, FINISHED_PER_COMMIT).await > 0 {
        let ids: Vec<i64> = batch.iter().map(|(id, _)| *id).collect();
        let deleted = store.complete_jobs(&ids).await;
        for (_, done) in batch.drain(..) {
            let answer = match &deleted {
                Ok(()) => Ok(()),
                Err(e) => Err(crate::Error::Internal(e.to_string())),
            };
            let _ = done.send(answer);
        }
    }
}

/// Deliveries are limited per remote host. Only the inbox is read from the payload; the
/// activity beside it is skipped, not parsed.
fn job_host(queue: &str, payload: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Inbox<'a> {
        #[serde(borrow)]
        inbox: std::borrow::Cow<'a, str>,
    }
    if queue != DELIVER {
        return None;
    }
    let d: Inbox = serde_json::from_str(payload).ok()?;
    kring_activitypub::as2::host_of(&d.inbox)
}

/// 5 s (a restarting peer is usually back by then), then 1 min, 2 min, 4 min … capped at
/// 1 day: 16 attempts span about a week.
fn backoff_micros(attempts: i64) -> i64 {
    if attempts <= 0 {
        return 5 * 1_000_000;
    }
    let secs = 30i64
        .saturating_mul(1i64 << attempts.clamp(0, 12))
        .min(86_400);
    secs * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::backoff_micros;

    #[test]
    fn backoff_spans_about_a_week() {
        let total: i64 = (0..16).map(backoff_micros).sum();
        let days = total as f64 / 86_400e6;
        assert!((5.0..9.0).contains(&days), "{days}");
        assert_eq!(backoff_micros(0), 5_000_000, "a short first retry");
        assert_eq!(backoff_micros(1), 60_000_000);
    }
}
