//! Work that keeps a core busy on purpose (password hashing, RSA key generation): at most one
//! job per core at a time, on tokio's blocking pool so it never stalls the async threads.
//! Argon2 needs 19 MiB per hash; without this bound, 500 concurrent sign-ins would run 500
//! hashes at once on 500 blocking threads, and need 9.5 GB. Those waiting for a core queue
//! briefly; when too many wait, or the wait gets long, the caller gets 503 and retries later.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::{Error, Result};

/// One permit per core: the whole process shares the cores, whatever the caller.
static CORES: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(cores()));
/// Callers waiting for a core.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// Run on the worker thread after each job (`after_each`).
static AFTER_EACH: OnceLock<fn()> = OnceLock::new();

/// How many may wait per core before further callers are turned away at once.
const QUEUE_PER_CORE: usize = 256;
/// The longest wait for a core.
const MAX_WAIT: Duration = Duration::from_secs(20);

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn busy() -> Error {
    Error::Unavailable("The server is busy; try again in a moment.".into())
}

/// Counts a waiter for as long as it lives.
struct Waiting;

impl Waiting {
    fn enter() -> Option<Waiting> {
        let limit = cores() * QUEUE_PER_CORE;
        let before = WAITING.fetch_add(1, Ordering::AcqRel);
        let w = Waiting;
        (before < limit).then_some(w)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Have `hook` run on the worker thread after each job, once what the job freed is freed. The
/// binary hands that memory back to the system there and then: its allocator otherwise keeps
/// freed memory about a second (so that requests reuse it), and a burst of sign-ins then held
/// one or two of Argon2's 19 MiB blocks more than the hashes running (`sign_in_load`: peak RSS
/// +69 MB in some runs, against +38-61 in most).
pub fn after_each(hook: fn()) {
    let _ = AFTER_EACH.set(hook);
}

/// Run `work` on the blocking pool once a core is free.
pub async fn run<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let permit = {
        let _waiting = Waiting::enter().ok_or_else(busy)?;
        tokio::time::timeout(MAX_WAIT, CORES.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(Error::internal)?
    };
    // The permit moves into the blocking task: if the caller goes away (a client hung up),
    // the work still holds its core until it ends.
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let done = work();
        if let Some(hook) = AFTER_EACH.get() {
            hook();
        }
        done
    })
    .await
    .map_err(Error::internal)
}
