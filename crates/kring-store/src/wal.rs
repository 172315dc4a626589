//! SQLite's write-ahead log: checkpoints in the background, never in a request's commit, and a
//! log that stays bounded without making writers wait long.
//!
//! A PASSIVE checkpoint copies what it can from the log into the database file without waiting
//! for readers or the writer, so writers never wait for it. The log only starts over from its
//! beginning when nothing is left in it to copy at the moment a write begins, which a steady
//! stream of writes (a fan-out's batches) never allows; a RESTART checkpoint makes it start
//! over, but it copies what is left while holding the write lock, and what is left is what
//! writers added while the PASSIVE before it was copying. A fan-out to 10,000 followers writes
//! ~20,000 frames in a third of a second and copying them takes as long: a RESTART after such
//! a PASSIVE held every write, POSTs among them, 140–330 ms (BENCHMARKS.md, session 15).
//!
//! So: once the log is past `RESTART_FRAMES`, PASSIVEs run every `BUSY_TICK`, each copying
//! what writers added since the last, and a RESTART runs only when the write lock is free and
//! what it would copy is known to be little: nothing, when no write took the lock since before
//! a PASSIVE that copied the whole log (the lock counts the writes that took it,
//! `WriteLock`), or what a writer managed during a PASSIVE shorter than `RESTART_WINDOW`. A
//! pause between posts is enough; a log past `FULL_FRAMES` asks bulk writers (the fan-out's
//! batches, `Store::begin_bulk`) to wait, so that the pause comes. A POST never waits for a
//! long copy of the log.
use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlx::AnyPool;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Frames (4 KiB pages) in the log beyond which it is made to start over (16 MiB).
const RESTART_FRAMES: i64 = 4096;
/// Frames (128 MiB) beyond which bulk writers wait for the checkpoint to catch up.
const FULL_FRAMES: i64 = 32_768;
/// A PASSIVE checkpoint this short left little for a RESTART to copy under the write lock.
const RESTART_WINDOW: Duration = Duration::from_millis(10);
/// Checkpoints after writes, when the log is small.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// Checkpoints while the log waits to start over.
const BUSY_TICK: Duration = Duration::from_millis(20);
/// The longest a bulk writer waits for the log: if a checkpoint cannot finish (a reader holds
/// an old snapshot for long), writes go on and the log grows rather than stalling them.
const BULK_WAIT: Duration = Duration::from_secs(2);

/// SQLite's one writer at a time, and how many writes took the lock (wrapping).
pub(crate) type WriteLock = Arc<Mutex<u64>>;

/// Take the write lock for a write.
pub(crate) async fn lock_for_writing(lock: &WriteLock) -> OwnedMutexGuard<u64> {
    let mut writing = lock.clone().lock_owned().await;
    *writing = writing.wrapping_add(1);
    writing
}

/// The log's state, shared by the store's clones and its checkpoint task.
pub(crate) struct Wal {
    /// Set by every write, cleared by the checkpoint that looks at it.
    dirty: AtomicBool,
    /// The log is past `full_frames`: bulk writers wait.
    full: AtomicBool,
    /// `RESTART_FRAMES` and `FULL_FRAMES` (smaller in tests).
    restart_frames: i64,
    full_frames: i64,
}

impl Default for Wal {
    fn default() -> Wal {
        Wal::with_limits(RESTART_FRAMES, FULL_FRAMES)
    }
}

impl Wal {
    fn with_limits(restart_frames: i64, full_frames: i64) -> Wal {
        Wal {
            dirty: AtomicBool::new(false),
            full: AtomicBool::new(false),
            restart_frames,
            full_frames,
        }
    }

    /// A write is about to happen; the next checkpoint copies it into the file.
    pub(crate) fn wrote(&self) {
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Wait (at most `BULK_WAIT`) while the log is full.
    pub(crate) async fn room_for_bulk(&self) {
        let started = Instant::now();
        while self.full.load(Ordering::Relaxed) && started.elapsed() < BULK_WAIT {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// What a checkpoint left.
#[derive(PartialEq)]
enum Left {
    /// The log is small or started over.
    Nothing,
    /// The log is past its restart size and still to start over.
    Restart,
}

/// Run checkpoints on `pool` until the store (`wal`) is dropped or the pool closed.
pub(crate) fn spawn_checkpoints(pool: AnyPool, lock: WriteLock, wal: Weak<Wal>) {
    tokio::spawn(async move {
        let mut left = Left::Nothing;
        loop {
            tokio::time::sleep(match left {
                Left::Nothing => IDLE_TICK,
                Left::Restart => BUSY_TICK,
            })
            .await;
            let Some(wal) = wal.upgrade() else { break };
            if pool.is_closed() {
                break;
            }
            if !wal.dirty.swap(false, Ordering::Relaxed) && left == Left::Nothing {
                continue;
            }
            left = match checkpoint(&pool, &lock, &wal).await {
                Ok(left) => left,
                Err(e) => {
                    tracing::debug!(error = %e, "WAL checkpoint failed; retrying later");
                    wal.dirty.store(true, Ordering::Relaxed);
                    wal.full.store(false, Ordering::Relaxed);
                    Left::Nothing
                }
            };
        }
    });
}

async fn checkpoint(pool: &AnyPool, lock: &WriteLock, wal: &Wal) -> Result<Left, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // Writes so far; None while one is under way (what it writes is not in the log yet).
    let writes = lock.try_lock().ok().map(|w| *w);
    let started = Instant::now();
    // (busy, frames in the log, frames copied)
    let (_, frames, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    let took = started.elapsed();
    if frames < wal.restart_frames {
        wal.full.store(false, Ordering::Relaxed);
        return Ok(Left::Nothing);
    }
    if frames >= wal.full_frames {
        wal.full.store(true, Ordering::Relaxed);
    }
    if copied < frames {
        // A reader holds an older snapshot, for as long as it takes: waiting writers would
        // not help, so none wait, and the next try is a tick later.
        wal.full.store(false, Ordering::Relaxed);
        wal.dirty.store(true, Ordering::Relaxed);
        return Ok(Left::Nothing);
    }
    // Never queue behind a writer: a pause comes soon.
    let Ok(writing) = lock.try_lock() else {
        return Ok(Left::Restart);
    };
    let nothing_new = writes == Some(*writing);
    if !nothing_new && took >= RESTART_WINDOW {
        return Ok(Left::Restart);
    }
    // Never wait for readers either: if one holds an older snapshot, try again at the next tick.
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let restarted: Result<(i64, i64, i64), _> = sqlx::query_as("PRAGMA wal_checkpoint(RESTART)")
        .fetch_one(&mut *conn)
        .await;
    let reset = sqlx::query("PRAGMA busy_timeout = 10000")
        .execute(&mut *conn)
        .await;
    drop(writing);
    if reset.is_err() {
        // Left without its busy timeout: do not reuse it.
        conn.close_on_drop();
    }
    let (busy, _, _) = restarted?;
    reset?;
    if busy != 0 {
        return Ok(Left::Restart);
    }
    wal.full.store(false, Ordering::Relaxed);
    Ok(Left::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::any::AnyPoolOptions;

    /// Writes that never pause (a fan-out's batches back to back) never leave SQLite a moment
    /// to start the log over by itself, nor the checkpoint one with nothing left to copy: past
    /// its full size the bulk writers wait for the checkpoint, so the file stays bounded.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn back_to_back_bulk_writes_keep_the_log_bounded() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
        let pool = crate::sqlite_options(AnyPoolOptions::new().max_connections(2), 2_000)
            .connect(&url)
            .await
            .expect("the database opens");
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
            .execute(&pool)
            .await
            .expect("a table");
        let lock = WriteLock::default();
        // Start over past 256 KiB, full at 2 MiB.
        let wal = Arc::new(Wal::with_limits(64, 512));
        spawn_checkpoints(pool.clone(), lock.clone(), Arc::downgrade(&wal));
        let size = || {
            std::fs::metadata(dir.path().join("t.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        // Writes of 16 rows of 3,000 bytes (~64 KiB of log each) for eight checkpoint ticks.
        let (mut largest, mut written) = (0, 0);
        let started = Instant::now();
        while started.elapsed() < IDLE_TICK * 8 {
            wal.room_for_bulk().await;
            let _writing = lock_for_writing(&lock).await;
            wal.wrote();
            sqlx::query(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 16) \
                 INSERT INTO t (v) SELECT randomblob(3000) FROM n",
            )
            .execute(&pool)
            .await
            .expect("a write");
            written += 16 * 4096;
            largest = largest.max(size());
        }
        // A checkpoint only learns how long the log is when its PASSIVE returns, and writes go
        // on while it copies, so the log grows well past its full size before writers wait;
        // what matters is that it starts over at all while writes never pause.
        assert!(
            largest < written / 2,
            "the log file grew to {largest} bytes of {written} written"
        );
    }
}
