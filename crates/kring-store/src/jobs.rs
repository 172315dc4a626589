//! The one persistent job queue (deliveries, inbox processing, housekeeping). A worker claims
//! due jobs by setting a lease (`locked_until`); a job whose worker died is claimed again when
//! its lease runs out, so nothing is lost on a crash.
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::{Backend, Store, Tx, db_err};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub payload: String,
    pub attempts: i64,
}

impl Store {
    pub async fn enqueue(&self, queue: &str, payload: &str, run_at: i64) -> Result<Id, Error> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(queue, payload, run_at).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Claim up to `limit` due jobs for `lease_micros`. Due jobs already claimed
    /// `max_attempts` times are dropped instead: the cap holds even for a job that never
    /// reports back (its worker panicked, crashed or was killed while running it).
    pub async fn claim_jobs(
        &self,
        limit: i64,
        lease_micros: i64,
        max_attempts: i64,
    ) -> Result<Vec<Job>, Error> {
        let now = now_micros();
        let mut tx = self.begin().await?;
        // PostgreSQL: several workers share the queue; SKIP LOCKED keeps them off each other's
        // rows. SQLite: the store's write lock already serialises claimers (and has no SKIP LOCKED).
        let lock = match tx.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let exhausted: Vec<(String, i64, Option<String>)> =
            sqlx::query_as(AssertSqlSafe(drop_exhausted_sql(lock)))
                .bind(now)
                .bind(max_attempts)
                .fetch_all(&mut *tx.tx)
                .await
                .map_err(db_err)?;
        for (queue, attempts, last_error) in &exhausted {
            tracing::warn!(
                %queue,
                attempts,
                last_error = last_error.as_deref().unwrap_or("none recorded (the worker never reported back)"),
                "giving up on a job that used up its attempts"
            );
        }
        let jobs: Vec<Job> = sqlx::query_as(AssertSqlSafe(claimable_sql(lock)))
            .bind(now)
            .bind(limit)
            .bind(max_attempts)
            .fetch_all(&mut *tx.tx)
            .await
            .map_err(db_err)?;
        if !jobs.is_empty() {
            // One statement for the whole batch: writes are what SQLite serialises.
            let mut sql = crate::sql::Sql::new("UPDATE jobs SET locked_until = ");
            sql.bind(now + lease_micros);
            sql.push(", attempts = attempts + 1 WHERE id IN (");
            for (i, job) in jobs.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                sql.bind(job.id);
            }
            sql.push(")");
            sql.query().execute(&mut *tx.tx).await.map_err(db_err)?;
        }
        tx.commit().await?;
        Ok(jobs)
    }

    /// Enqueue several jobs of one kind in one transaction (the inbox's group commit: one
    /// write per batch of received activities instead of one per activity).
    pub async fn enqueue_many(
        &self,
        queue: &str,
        payloads: &[String],
        run_at: i64,
    ) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        tx.enqueue_many(queue, payloads, run_at).await?;
        tx.commit().await
    }

    /// Finish several jobs in one statement.
    pub async fn complete_jobs(&self, ids: &[i64]) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = delete_jobs(ids);
        sql.query()
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn complete_job(&self, id: i64) -> Result<(), Error> {
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Put a failed job back for `retry_at`, or drop it when `retry_at` is None (gave up).
    pub async fn fail_job(&self, id: i64, error: &str, retry_at: Option<i64>) -> Result<(), Error> {
        match retry_at {
            Some(at) => {
                sqlx::query(
                    "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
                )
                .bind(at)
                .bind(error)
                .bind(id)
                .execute(&mut *self.writer().await?)
                .await
                .map_err(db_err)?;
            }
            None => self.complete_job(id).await?,
        }
        Ok(())
    }

    /// Whether a job is due and not leased: the job runner's idle check, a read, so that an
    /// idle server does not poll the queue with write transactions.
    pub async fn jobs_due(&self) -> Result<bool, Error> {
        let now = now_micros();
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE run_at <= $1 AND (locked_until IS NULL OR locked_until < $1) LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(due.is_some())
    }

    /// Woken when this process commits new jobs (see `Tx::enqueue`). Jobs enqueued by other
    /// processes, and retries coming due, are found by `jobs_due`.
    pub fn jobs_added(&self) -> &tokio::sync::Notify {
        &self.jobs_added
    }

    /// Jobs of one kind that are due (for backpressure). Jobs waiting for a retry later do not
    /// count: a few failing activities retried for days must not fill the inbox's backlog.
    pub async fn pending_jobs_in(&self, queue: &str) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE run_at <= $1 AND queue = $2")
            .bind(now_micros())
            .bind(queue)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }

    pub async fn pending_jobs(&self) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }
}

/// Due and not leased: `$1` is now.
const DUE: &str = "run_at <= $1 AND (locked_until IS NULL OR locked_until < $1)";

/// Removes due jobs claimed `$2` times or more (see [`Store::claim_jobs`]). It finds them
/// through `jobs_attempts` (migration 0027): through `jobs_due` it read every due job's row,
/// on each claim, to look at its attempts.
fn drop_exhausted_sql(lock: &str) -> String {
    format!(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {DUE} AND attempts >= $2{lock}) \
         RETURNING queue, attempts, last_error"
    )
}

/// The next `$2` due jobs with fewer than `$3` attempts, oldest first. `jobs_due` holds
/// `(run_at, id)` in this order, so the claim reads only the rows it returns (and the leased
/// ones it skips); ordered by `run_at` alone, the jobs enqueued together — a post's 10,000
/// deliveries — were all read and sorted by id for every claim.
fn claimable_sql(lock: &str) -> String {
    format!(
        "SELECT id, queue, payload, attempts FROM jobs WHERE {DUE} AND attempts < $3 \
         ORDER BY run_at, id LIMIT $2{lock}"
    )
}

/// Rows bound per multi-row statement (well under SQLite's and PostgreSQL's parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

fn delete_jobs(ids: &[i64]) -> crate::sql::Sql {
    let mut sql = crate::sql::Sql::new("DELETE FROM jobs WHERE id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(",");
        }
        sql.bind(*id);
    }
    sql.push(")");
    sql
}

impl Tx {
    /// Enqueue a job this process runs itself right after the commit: it is claimed from the
    /// start (leased for `lease_micros`, one attempt counted), so no worker takes it while it
    /// runs, and a worker does take it should this process die before finishing it.
    pub async fn enqueue_claimed(
        &mut self,
        queue: &str,
        payload: &str,
        lease_micros: i64,
    ) -> Result<Job, Error> {
        let id = Id::generate();
        let now = now_micros();
        sqlx::query(
            "INSERT INTO jobs (id, queue, payload, attempts, run_at, locked_until, created_at) \
             VALUES ($1,$2,$3,1,$4,$5,$4)",
        )
        .bind(id.0)
        .bind(queue)
        .bind(payload)
        .bind(now)
        .bind(now + lease_micros)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(Job {
            id: id.0,
            queue: queue.to_string(),
            payload: payload.to_string(),
            // As `claim_jobs` hands it out: the attempts made before this one.
            attempts: 0,
        })
    }

    /// Record a running job's progress (its payload says where it resumes), in the
    /// transaction of the work done so far: after a crash it resumes there, not from the start.
    pub async fn set_job_payload(&mut self, id: i64, payload: &str) -> Result<(), Error> {
        sqlx::query("UPDATE jobs SET payload = $1 WHERE id = $2")
            .bind(payload)
            .bind(id)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// [`Store::enqueue_many`] in the caller's transaction.
    pub async fn enqueue_many(
        &mut self,
        queue: &str,
        payloads: &[String],
        run_at: i64,
    ) -> Result<(), Error> {
        self.added_jobs();
        let now = now_micros();
        for chunk in payloads.chunks(ROWS_PER_STATEMENT) {
            let mut sql = crate::sql::Sql::new(
                "INSERT INTO jobs (id, queue, payload, attempts, run_at, created_at) VALUES ",
            );
            let queue = sql.param(queue.to_string());
            let run_at = sql.param(run_at);
            let now = sql.param(now);
            for (i, payload) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ",(" });
                sql.bind(Id::generate().0);
                sql.push(&format!(",{queue},"));
                sql.bind(payload.clone());
                sql.push(&format!(",0,{run_at},{now})"));
            }
            sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        }
        Ok(())
    }

    /// Finish jobs in the transaction that did their work: they are gone if and only if it
    /// commits.
    pub async fn complete_jobs(&mut self, ids: &[i64]) -> Result<(), Error> {
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            delete_jobs(chunk)
                .query()
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Open a savepoint: work after it can be undone alone (`rollback_to_savepoint`) while the
    /// transaction goes on, as one batch of received activities applies each on its own.
    pub async fn savepoint(&mut self) -> Result<(), Error> {
        sqlx::query("SAVEPOINT kring_item")
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Keep the work since [`savepoint`](Self::savepoint).
    pub async fn release_savepoint(&mut self) -> Result<(), Error> {
        sqlx::query("RELEASE SAVEPOINT kring_item")
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Undo the work since [`savepoint`](Self::savepoint) and close it.
    pub async fn rollback_to_savepoint(&mut self) -> Result<(), Error> {
        sqlx::query("ROLLBACK TO SAVEPOINT kring_item")
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        self.release_savepoint().await
    }

    /// Enqueue inside the transaction of the action that causes it: the job exists if and only
    /// if the action happened.
    pub async fn enqueue(&mut self, queue: &str, payload: &str, run_at: i64) -> Result<Id, Error> {
        self.added_jobs();
        let id = Id::generate();
        sqlx::query(
            "INSERT INTO jobs (id, queue, payload, attempts, run_at, created_at) VALUES ($1,$2,$3,0,$4,$5)",
        )
        .bind(id.0)
        .bind(queue)
        .bind(payload)
        .bind(run_at)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plans for the claim's two statements (jobs out of attempts, then the due
    /// ones), with a queue of jobs enqueued together.
    async fn plans() -> [String; 2] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/k.db", dir.path().display());
        let store = Store::connect(&url, 2).await.expect("the database opens");
        store.migrate().await.expect("migrations run");
        let now = now_micros();
        let payloads: Vec<String> = (0..100).map(|i| format!("{{\"n\":{i}}}")).collect();
        store
            .enqueue_many("ap.deliver", &payloads, now)
            .await
            .expect("jobs are queued");
        let mut out: [String; 2] = Default::default();
        for (i, sql) in [drop_exhausted_sql(""), claimable_sql("")]
            .iter()
            .enumerate()
        {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .bind(now)
                    .bind(16i64)
                    .bind(16i64)
                    .fetch_all(store.pool())
                    .await
                    .expect("a plan");
            out[i] = rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ");
        }
        out
    }

    /// A claim reads what it claims, not the whole queue: the jobs that used up their attempts
    /// are found by their attempts, and the oldest due jobs come in index order, unsorted.
    #[tokio::test]
    async fn claiming_reads_only_what_it_claims() {
        let [exhausted, claim] = plans().await;
        assert!(
            exhausted.contains("INDEX jobs_attempts"),
            "jobs out of attempts are found through their index: {exhausted}"
        );
        assert!(
            claim.contains("INDEX jobs_due") && !claim.contains("TEMP B-TREE"),
            "due jobs come in (run_at, id) order without sorting: {claim}"
        );
    }
}
