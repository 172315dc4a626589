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
//! a PASSIVE that copied the whole log (the lock counts the writes that took it), or what a
//! writer managed during a PASSIVE shorter than `RESTART_WINDOW`. A pause between posts is
//! enough. Bulk writers (the fan-out's batches, `Store::begin_bulk`) make the pause: past
//! `FULL_FRAMES` they wait until the log starts over. They read the log's length themselves
//! before each batch (`Wal::frames`), because a checkpoint only learns it when its PASSIVE
//! returns, and on a slow disk writers add hundreds of MiB while one copies (CI, session 16).
//! A POST never waits for a long copy of the log.
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use sqlx::AnyPool;
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

/// Frames (4 KiB pages) in the log beyond which it is made to start over (16 MiB).
const RESTART_FRAMES: i64 = 4096;
/// Frames (128 MiB) beyond which bulk writers wait for the log to start over.
const FULL_FRAMES: i64 = 32_768;
/// Bytes SQLite truncates the log's file to when the log starts over, so a burst of writes (a
/// fan-out to 10,000 followers writes ~100 MB of log) does not leave a file that size.
pub(crate) const SIZE_LIMIT: i64 = 64 * 1024 * 1024;
/// A PASSIVE checkpoint this short left little for a RESTART to copy under the write lock.
const RESTART_WINDOW: Duration = Duration::from_millis(10);
/// Checkpoints after writes, when the log is small.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// Checkpoints while the log waits to start over.
const BUSY_TICK: Duration = Duration::from_millis(20);
/// A checkpoint that copies nothing more for this long is stuck: a reader holds an old
/// snapshot, for as long as it takes. Bulk writers then go on, and the log grows, rather than
/// stall behind it.
const STUCK_AFTER: Duration = Duration::from_secs(2);
/// The longest a bulk writer waits, whatever the checkpoint reports.
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// The log's state, shared by the store's clones and its checkpoint task.
pub(crate) struct Wal {
    /// SQLite's one writer at a time, and how many writes took it (wrapping).
    lock: Arc<Mutex<u64>>,
    /// Set by every write, cleared by the checkpoint that looks at it.
    dirty: AtomicBool,
    /// RESTART checkpoints that succeeded (wrapping): the next write starts the log over.
    restarts: AtomicU64,
    /// The checkpoint copies nothing more (`STUCK_AFTER`) or fails: bulk writers do not wait.
    stuck: AtomicBool,
    /// Wakes the checkpoint task for a bulk writer that waits.
    wake: Arc<Notify>,
    /// The wal-index ("-shm") file, where SQLite keeps the log's length; None for a database
    /// in memory (no log to bound).
    shm: Option<PathBuf>,
    /// `RESTART_FRAMES` and `FULL_FRAMES` (smaller in tests).
    restart_frames: i64,
    full_frames: i64,
}

/// Holds SQLite's write lock; the next checkpoint copies what was written under it.
pub(crate) struct Writing {
    _lock: OwnedMutexGuard<u64>,
    wal: Arc<Wal>,
}

impl Drop for Writing {
    fn drop(&mut self) {
        self.wal.dirty.store(true, Ordering::Relaxed);
    }
}

impl Wal {
    /// The log of the database whose file is `database` (None: in memory), with checkpoints
    /// running on `pool` until the last clone of the returned `Wal` is dropped or the pool closed.
    pub(crate) fn start(pool: AnyPool, database: Option<&str>) -> Arc<Wal> {
        Wal::with_limits(pool, database, RESTART_FRAMES, FULL_FRAMES)
    }

    fn with_limits(
        pool: AnyPool,
        database: Option<&str>,
        restart_frames: i64,
        full_frames: i64,
    ) -> Arc<Wal> {
        let wal = Arc::new(Wal {
            lock: Arc::default(),
            dirty: AtomicBool::new(false),
            restarts: AtomicU64::new(0),
            stuck: AtomicBool::new(false),
            wake: Arc::default(),
            shm: database.map(|d| PathBuf::from(format!("{d}-shm"))),
            restart_frames,
            full_frames,
        });
        spawn_checkpoints(pool, Arc::downgrade(&wal), wal.wake.clone());
        wal
    }

    /// Take the write lock for a write.
    pub(crate) async fn lock_for_writing(self: &Arc<Self>) -> Writing {
        let mut writing = self.lock.clone().lock_owned().await;
        *writing = writing.wrapping_add(1);
        Writing {
            _lock: writing,
            wal: self.clone(),
        }
    }

    /// Wait while the log is past its full size, until it starts over (see the module's
    /// comment): at most `LONGEST_WAIT`, and not at all while the checkpoint is stuck.
    pub(crate) async fn room_for_bulk(&self) {
        let full = |wal: &Wal| wal.frames().is_some_and(|f| f >= wal.full_frames);
        if !full(self) {
            return;
        }
        let restarts = self.restarts.load(Ordering::Relaxed);
        let started = Instant::now();
        // Nothing may have been written since the last checkpoint: have one run now.
        self.dirty.store(true, Ordering::Relaxed);
        self.wake.notify_one();
        while full(self)
            && self.restarts.load(Ordering::Relaxed) == restarts
            && !self.stuck.load(Ordering::Relaxed)
            && started.elapsed() < LONGEST_WAIT
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Frames in the log now, as SQLite's wal-index header says; None when it cannot be read.
    ///
    /// SQLite tells the frame count only to the connection that commits (`sqlite3_wal_hook`,
    /// which sqlx's `Any` connections do not expose) and to a checkpoint when it returns, so
    /// this reads the header SQLite shares between connections, whose layout is documented
    /// and fixed (<https://sqlite.org/walformat.html>, "the WAL-index header"): two copies of
    /// 48 bytes in native byte order, `mxFrame` a u32 at offset 16, version 3007000 at 0.
    fn frames(&self) -> Option<i64> {
        use std::io::Read;
        let mut header = [0u8; 96];
        std::fs::File::open(self.shm.as_ref()?)
            .and_then(|mut f| f.read_exact(&mut header))
            .ok()?;
        let u32_at = |at: usize| {
            let bytes: [u8; 4] = header.get(at..at + 4)?.try_into().ok()?;
            Some(u32::from_ne_bytes(bytes))
        };
        if u32_at(0)? != 3_007_000 {
            return None;
        }
        // A writer updates the second copy first; either is a fine estimate.
        Some(i64::from(u32_at(16)?.max(u32_at(48 + 16)?)))
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

/// How far the checkpoints got, to tell a stuck one (see `STUCK_AFTER`).
struct Progress {
    copied: i64,
    since: Instant,
}

fn spawn_checkpoints(pool: AnyPool, wal: Weak<Wal>, wake: Arc<Notify>) {
    tokio::spawn(async move {
        let mut left = Left::Nothing;
        let mut progress = Progress {
            copied: 0,
            since: Instant::now(),
        };
        loop {
            let tick = match left {
                Left::Nothing => IDLE_TICK,
                Left::Restart => BUSY_TICK,
            };
            // Only a `Weak` while asleep, so that dropping the store ends this task.
            let _ = tokio::time::timeout(tick, wake.notified()).await;
            let Some(wal) = wal.upgrade() else { break };
            if pool.is_closed() {
                break;
            }
            if !wal.dirty.swap(false, Ordering::Relaxed) && left == Left::Nothing {
                continue;
            }
            left = match checkpoint(&pool, &wal, &mut progress).await {
                Ok(left) => left,
                Err(e) => {
                    tracing::debug!(error = %e, "WAL checkpoint failed; retrying later");
                    wal.dirty.store(true, Ordering::Relaxed);
                    wal.stuck.store(true, Ordering::Relaxed);
                    Left::Nothing
                }
            };
        }
    });
}

async fn checkpoint(
    pool: &AnyPool,
    wal: &Wal,
    progress: &mut Progress,
) -> Result<Left, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    // Writes so far; None while one is under way (what it writes is not in the log yet).
    let writes = wal.lock.try_lock().ok().map(|w| *w);
    let started = Instant::now();
    // (busy, frames in the log, frames copied)
    let (_, frames, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await?;
    let took = started.elapsed();
    if copied != progress.copied {
        *progress = Progress {
            copied,
            since: Instant::now(),
        };
    }
    if frames < wal.restart_frames {
        wal.stuck.store(false, Ordering::Relaxed);
        return Ok(Left::Nothing);
    }
    if copied < frames {
        // A reader's snapshot (or a write transaction's, begun before the last commit) is
        // older than the log's end: the copy stops there. Usually it ends within a tick.
        if progress.since.elapsed() < STUCK_AFTER {
            return Ok(Left::Restart);
        }
        // It holds on, for as long as it takes: waiting writers would not help, so none
        // wait, and the next try is an idle tick later.
        wal.stuck.store(true, Ordering::Relaxed);
        wal.dirty.store(true, Ordering::Relaxed);
        return Ok(Left::Nothing);
    }
    wal.stuck.store(false, Ordering::Relaxed);
    // Never queue behind a writer: a pause comes soon.
    let Ok(writing) = wal.lock.try_lock() else {
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
    wal.restarts.fetch_add(1, Ordering::Relaxed);
    Ok(Left::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::any::AnyPoolOptions;

    /// A database with a table `t` and its log, which starts over past 256 KiB and is full at
    /// 2 MiB.
    async fn database(dir: &std::path::Path) -> (AnyPool, Arc<Wal>, String) {
        sqlx::any::install_default_drivers();
        let path = format!("{}/t.db", dir.display());
        let pool = crate::sqlite_options(AnyPoolOptions::new().max_connections(2), 2_000)
            .connect(&format!("sqlite://{path}?mode=rwc"))
            .await
            .expect("the database opens");
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
            .execute(&pool)
            .await
            .expect("a table");
        let wal = Wal::with_limits(pool.clone(), Some(&path), 64, FULL_TEST_FRAMES);
        (pool, wal, path)
    }

    const FULL_TEST_FRAMES: i64 = 512;
    /// A frame: a page and its 24-byte header.
    const FRAME_BYTES: u64 = 4096 + 24;

    /// One bulk write of 16 rows of 3,000 bytes (~17 frames), as a fan-out's batch: it waits
    /// for room in the log first. Returns how long it waited.
    async fn bulk_write(pool: &AnyPool, wal: &Arc<Wal>) -> Duration {
        let started = Instant::now();
        wal.room_for_bulk().await;
        let waited = started.elapsed();
        let _writing = wal.lock_for_writing().await;
        sqlx::query(
            "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 16) \
             INSERT INTO t (v) SELECT randomblob(3000) FROM n",
        )
        .execute(pool)
        .await
        .expect("a write");
        waited
    }

    /// Writes that never pause (a fan-out's batches back to back) never leave SQLite a moment
    /// to start the log over by itself, nor the checkpoint one with nothing left to copy: past
    /// its full size the bulk writers wait until it starts over, so the file stays within a
    /// batch of that size however slowly the disk copies.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn back_to_back_bulk_writes_keep_the_log_bounded() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (pool, wal, path) = database(dir.path()).await;
        let size = || {
            std::fs::metadata(format!("{path}-wal"))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let (mut largest, mut batches) = (0, 0u64);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(3) {
            bulk_write(&pool, &wal).await;
            batches += 1;
            largest = largest.max(size());
        }
        let full = FULL_TEST_FRAMES as u64 * FRAME_BYTES;
        assert!(
            largest < full + full / 4,
            "the log file grew to {largest} bytes; full is {full}"
        );
        // The log started over, again and again: far more was written than it ever held.
        let written = batches * 16 * FRAME_BYTES;
        assert!(
            written > 3 * full,
            "only {written} bytes were written in three seconds"
        );
    }

    /// A reader that holds an old snapshot keeps the checkpoint from copying the log, for as
    /// long as it takes: bulk writers wait for it no longer than `STUCK_AFTER`, and once the
    /// reader is gone the log is bounded again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reader_holding_an_old_snapshot_does_not_stall_bulk_writers() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (pool, wal, path) = database(dir.path()).await;
        let reader = rusqlite::Connection::open(&path).expect("a reader");
        reader.execute_batch("BEGIN").expect("a read transaction");
        let _: i64 = reader
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("a read");
        let (mut longest, mut batches) = (Duration::ZERO, 0u64);
        let started = Instant::now();
        while started.elapsed() < STUCK_AFTER + Duration::from_secs(1) {
            longest = longest.max(bulk_write(&pool, &wal).await);
            batches += 1;
        }
        assert!(
            longest < STUCK_AFTER + Duration::from_secs(1),
            "a bulk write waited {longest:?} behind the reader"
        );
        assert!(
            wal.frames().unwrap_or(0) > 2 * FULL_TEST_FRAMES,
            "the writes went on past the full log ({batches} batches)"
        );
        reader.execute_batch("COMMIT").expect("the reader ends");
        drop(reader);
        // The checkpoint copies what piled up, then the log starts over.
        let started = Instant::now();
        let mut frames = i64::MAX;
        while started.elapsed() < Duration::from_secs(15) {
            bulk_write(&pool, &wal).await;
            frames = wal.frames().unwrap_or(i64::MAX);
            if frames < FULL_TEST_FRAMES {
                break;
            }
        }
        assert!(
            frames < FULL_TEST_FRAMES + FULL_TEST_FRAMES / 4,
            "the log holds {frames} frames after the reader left"
        );
    }
}
