//! The job runner: claims due jobs from the one queue in the database and runs them, retrying
//! failures with exponential backoff. Runs inside `kring serve` (or, later, as separate worker
//! processes on PostgreSQL).
use std::time::Duration;

use kring_core::time::now_micros;
use tokio::sync::watch;

use crate::Kring;

pub const FEED_TRIM: &str = "feed.trim";

/// Give up after about a week of retries.
const MAX_ATTEMPTS: i64 = 16;

impl Kring {
    /// Run jobs until `shutdown` turns true.
    pub async fn run_worker(&self, mut shutdown: watch::Receiver<bool>) {
        let mut last_trim = 0i64;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if now_micros() - last_trim > 600 * 1_000_000 {
                last_trim = now_micros();
                if let Err(e) = self.store.enqueue(FEED_TRIM, "{}", now_micros()).await {
                    tracing::warn!(error = %e, "could not schedule feed trimming");
                }
            }
            let jobs = match self.store.claim_jobs(16, 300 * 1_000_000).await {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            let idle = jobs.is_empty();
            for job in jobs {
                let result = self.run_job(&job.queue, &job.payload).await;
                let done = match result {
                    Ok(()) => self.store.complete_job(job.id).await,
                    Err(e) => {
                        let retry = (job.attempts < MAX_ATTEMPTS)
                            .then(|| now_micros() + backoff_micros(job.attempts));
                        tracing::warn!(queue = %job.queue, attempts = job.attempts, error = %e, "job failed");
                        self.store.fail_job(job.id, &e.to_string(), retry).await
                    }
                };
                if let Err(e) = done {
                    tracing::warn!(error = %e, "could not record job result");
                }
            }
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn run_job(&self, queue: &str, _payload: &str) -> crate::Result<()> {
        match queue {
            FEED_TRIM => {
                for account in self.store.feeds_over_cap(500).await? {
                    let mut tx = self.store.begin().await?;
                    tx.trim_feed(account).await?;
                    tx.commit().await?;
                }
                Ok(())
            }
            other => {
                tracing::warn!(queue = other, "dropping job of unknown kind");
                Ok(())
            }
        }
    }
}

/// 30 s, 1 min, 2 min … capped at 1 day: 16 attempts span about a week.
fn backoff_micros(attempts: i64) -> i64 {
    let secs = 30i64
        .saturating_mul(1i64 << attempts.clamp(0, 12))
        .min(86_400);
    secs * 1_000_000
}
