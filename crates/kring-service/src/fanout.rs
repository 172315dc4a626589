//! Fan-out on write, in batches. A new post (or boost) goes into its readers' home feeds: a
//! small audience at once, inside the post's own transaction; a large one in batches, each
//! its own short transaction, through the job queue. So posting to 10,000 followers holds
//! SQLite's write lock for one small batch at a time, and everyone else's writes get in
//! between. On PostgreSQL, whose writers do not wait for each other, several batches run at
//! once. The job is claimed by the process that posted and run right after the commit (no
//! wait for the worker's next poll); it records its progress as it goes, so if the process
//! dies a worker resumes it where it stopped.
//!
//! Each batch streams the post to the readers it reached. Who may see the post is not decided
//! here: feed rows only say where it was delivered, every read asks the one audience rule.
use kring_store::{FanOut, Job, Tx};
use serde::{Deserialize, Serialize};

use crate::events::{EventKind, Stream};
use crate::jobs::Outcome;
use crate::{Error, Id, Kring, Result};

/// The job queue of fan-outs.
pub const FAN_OUT: &str = "feed.fan_out";
/// Readers a fan-out reaches inside the posting transaction: most audiences are smaller, and
/// they are in their feeds when the request returns.
pub const INLINE: i64 = 100;
/// Readers per batch after that, one short write transaction each.
pub const BATCH: i64 = 250;
/// Batches of a fan-out run at once where writers do not wait for each other (PostgreSQL).
const SIDE_BY_SIDE: i64 = 4;
/// A fan-out not finished within this time is taken over by a worker (its process died).
const LEASE_MICROS: i64 = 300 * 1_000_000;

/// A fan-out job: what goes where, and the account after which it continues.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    entry: Id,
    author: Id,
    /// None: the post's narrowed audience (`FanOut::Audience`).
    followers: Option<Followers>,
    after: Id,
}

#[derive(Debug, Serialize, Deserialize)]
struct Followers {
    boost: bool,
    reply_to_other: Option<Id>,
}

impl Payload {
    fn new(entry: Id, author: Id, to: FanOut, after: Id) -> Payload {
        let followers = match to {
            FanOut::Followers {
                boost,
                reply_to_other,
            } => Some(Followers {
                boost,
                reply_to_other,
            }),
            FanOut::Audience => None,
        };
        Payload {
            entry,
            author,
            followers,
            after,
        }
    }

    fn to(&self) -> FanOut {
        match &self.followers {
            Some(f) => FanOut::Followers {
                boost: f.boost,
                reply_to_other: f.reply_to_other,
            },
            None => FanOut::Audience,
        }
    }
}

/// Fan-outs a transaction started that go on after its commit (`Kring::continue_fan_outs`).
#[derive(Default)]
#[must_use = "a fan-out left here never reaches the rest of its readers until a worker retries it"]
pub(crate) struct Pending(Vec<Job>);

impl Kring {
    /// Put `entry` into the feeds of the readers `to` names: the first `INLINE` in `tx`, the
    /// rest (if any) in batches after the commit, started by `continue_fan_outs`. Returns the
    /// readers reached in `tx` (their streams are told without reading them back).
    pub(crate) async fn fan_out_in(
        &self,
        tx: &mut Tx,
        entry: Id,
        author: Id,
        to: FanOut,
        pending: &mut Pending,
    ) -> Result<Vec<Id>> {
        let first = tx.fan_out_batch(entry, author, to, Id(0), INLINE).await?;
        if let Some(next) = first.next {
            let payload = serde_json::to_string(&Payload::new(entry, author, to, next))
                .map_err(Error::internal)?;
            pending
                .0
                .push(tx.enqueue_claimed(FAN_OUT, &payload, LEASE_MICROS).await?);
        }
        Ok(first.delivered)
    }

    /// After the commit of the transaction that started them: run the fan-outs' remaining
    /// batches in the background. Call it after the post's own live event went out, so no
    /// reader is told twice.
    pub(crate) fn continue_fan_outs(&self, pending: Pending) {
        for job in pending.0 {
            let kring = self.clone();
            tokio::spawn(async move {
                kring
                    .run_claimed(&job, kring.fan_out_job(job.id, &job.payload))
                    .await;
            });
        }
    }

    /// Run a fan-out job's batches from where it stands, recording its progress as it goes.
    pub(crate) async fn fan_out_job(&self, job: i64, payload: &str) -> Result<Outcome> {
        let p: Payload = serde_json::from_str(payload).map_err(Error::internal)?;
        match self.store.backend() {
            kring_store::Backend::Postgres => self.fan_out_side_by_side(job, p).await,
            kring_store::Backend::Sqlite => self.fan_out_one_by_one(job, p).await,
        }
    }

    /// One batch after another, each recording its progress in its own transaction: SQLite
    /// has one writer, and others waiting for it get in between the batches.
    async fn fan_out_one_by_one(&self, job: i64, mut p: Payload) -> Result<Outcome> {
        loop {
            let mut tx = self.store.begin_bulk().await?;
            let batch = tx
                .fan_out_batch(p.entry, p.author, p.to(), p.after, BATCH)
                .await?;
            if let Some(next) = batch.next {
                p.after = next;
                let progress = serde_json::to_string(&p).map_err(Error::internal)?;
                tx.set_job_payload(job, &progress).await?;
            }
            tx.commit().await?;
            self.tell_fan_out(p.entry, batch.delivered);
            if batch.next.is_none() {
                return Ok(Outcome::Done);
            }
            // Others waiting for the write lock go first (it is fair): this is what the
            // batches are for.
            tokio::task::yield_now().await;
        }
    }

    /// `SIDE_BY_SIDE` batches at once, each its own transaction, then the progress: on
    /// PostgreSQL writers do not wait for each other, and one after another the batches were
    /// most of the time from a post to its last reader. A batch run again (its process died
    /// before the progress was written) writes nothing twice and tells nobody twice.
    async fn fan_out_side_by_side(&self, job: i64, mut p: Payload) -> Result<Outcome> {
        loop {
            let ranges = self
                .store
                .fan_out_ranges(p.entry, p.author, p.to(), p.after, BATCH, SIDE_BY_SIDE)
                .await?;
            let starts = std::iter::once(p.after).chain(ranges.ends.iter().copied());
            let batches = starts
                .zip(ranges.ends.iter().copied())
                .map(|(after, upto)| self.fan_out_range(&p, after, upto));
            futures_util::future::try_join_all(batches).await?;
            match ranges.ends.last() {
                Some(&last) if ranges.more => p.after = last,
                _ => return Ok(Outcome::Done),
            }
            let progress = serde_json::to_string(&p).map_err(Error::internal)?;
            let mut tx = self.store.begin().await?;
            tx.set_job_payload(job, &progress).await?;
            tx.commit().await?;
        }
    }

    /// One batch of known bounds, in its own transaction.
    async fn fan_out_range(&self, p: &Payload, after: Id, upto: Id) -> Result<()> {
        let mut tx = self.store.begin_bulk().await?;
        let delivered = tx
            .fan_out_range(p.entry, p.author, p.to(), after, upto)
            .await?;
        tx.commit().await?;
        self.tell_fan_out(p.entry, delivered);
        Ok(())
    }

    /// Stream the entry to the readers a committed batch reached.
    fn tell_fan_out(&self, entry: Id, delivered: Vec<Id>) {
        if !delivered.is_empty() {
            self.events.publish(
                EventKind::Update(entry),
                delivered.into_iter().map(Stream::User).collect(),
            );
        }
    }
}
