//! Kring's storage. One `Store` over SQLite (embedded default) or PostgreSQL, speaking one SQL
//! dialect through sqlx's `Any` driver; the few statements that differ branch on [`Backend`]
//! inside this crate and nowhere else.
mod account_cache;
mod accounts;
mod badges;
mod chats;
mod circles;
mod data;
mod deletion;
mod federation;
mod feeds;
mod group_moderation;
mod groups;
mod housekeeping;
mod hydrate;
mod imports;
mod interactions;
mod jobs;
mod lists;
mod media;
mod notifications;
mod notify;
mod oauth;
mod pg_reads;
mod quotes;
mod readers;
mod relationships;
mod remote_media;
mod reports;
mod rows;
mod settings;
mod sql;
mod status_bodies;
mod statuses;
mod wal;

pub use account_cache::Changed;
pub use accounts::{PreferencesUpdate, ProfileUpdate};
pub use badges::Badges;
pub use chats::{InboxEntry, InboxFilter};
pub use data::{Export, Handle};
pub use federation::{
    DomainBlock, DomainPolicy, NewReport, PostCounts, RemoteAccount, RemoteCounts,
};
pub use feeds::{FEED_CAP, FanOut, FanOutBatch, FanOutRanges, REBLOG_FALLOFF};
pub use groups::MemberFilter;
pub use housekeeping::Forgotten;
pub use hydrate::{Hydration, OriginalsOf};
pub use interactions::RequestFilter;
pub use jobs::Job;
pub use notify::{MAX_PAYLOAD as MAX_NOTIFY_PAYLOAD, PgListener};
pub use oauth::{AuthCode, NewToken};
pub use relationships::{Edge, FollowOptions};
pub use remote_media::CachedRemoteMedia;
pub use rows::{NewAccount, NewStatus, NewUser};
pub use settings::Rule;
pub use sql::Shown;
pub use statuses::{AccountStatusesFilter, Locality, Mark, StatusFlags};

use std::sync::Arc;
use std::time::Duration;

use kring_core::{Error, Id};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::bad_request(
                "database URL must start with sqlite: or postgres:",
            ))
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: the write lock and the write-ahead log's state (see `wal`). SQLite has one
    /// writer; taking the lock before a write transaction turns "database is locked" failures
    /// (a deferred transaction cannot upgrade while another writes) into a short wait.
    /// PostgreSQL needs neither.
    wal: Option<Arc<wal::Wal>>,
    /// PostgreSQL: the URL, for the LISTEN connection (see `listen`).
    pg_url: Option<Arc<str>>,
    pub(crate) account_cache: Arc<account_cache::AccountCache>,
    /// SQLite: the hot reads' own connections (see `readers`).
    pub(crate) readers: Option<Arc<readers::Readers>>,
    /// PostgreSQL: the hot reads' own connections (see `pg_reads`).
    pub(crate) pg_reads: Option<Arc<pg_reads::PgReads>>,
    /// Write transactions' connections (see `connect`): SQLite's one (a database file), a
    /// pool of PostgreSQL's. None: writes use `pool`.
    write_pool: Option<AnyPool>,
    /// Woken when a transaction that enqueued jobs commits, so this process's job runner
    /// claims them at once instead of polling the queue with write transactions.
    jobs_added: Arc<tokio::sync::Notify>,
}

/// SQLite page cache of each pooled connection, KiB: small, so an idle server stays small
/// (the OS caches the file anyway).
const READ_CACHE_KIB: i64 = 2_000;
/// SQLite page cache of the write connection, KiB: a fan-out's pages (one per follower's
/// feed, ~1,000 at 1,000 followers) stay in it from one batch and post to the next.
const WRITE_CACHE_KIB: i64 = 8_000;

/// SQLite connections' settings. WAL lets readers run beside the writer; NORMAL is durable in
/// WAL mode except for the last transactions on power loss, as Mastodon-class servers accept.
/// Checkpoints run in the background (`wal`), not in whichever request's commit
/// crosses SQLite's threshold: a post to 1,000 followers dirties ~1,000 pages. Temporary files
/// in memory: a statement that changes many rows inside a transaction (a fan-out batch's
/// INSERT … SELECT) keeps the original of every page it changes in a statement journal, which
/// SQLite otherwise writes to a temporary file past 64 KiB — a fifth of a 1,000-follower
/// fan-out's CPU went to those writes (BENCHMARKS.md, session 14). It lives one statement.
fn sqlite_options(opts: AnyPoolOptions, cache_kib: i64) -> AnyPoolOptions {
    opts.after_connect(move |conn, _| {
        Box::pin(async move {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                 PRAGMA cache_size = -{cache_kib}; PRAGMA wal_autocheckpoint = 0; \
                 PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = {};",
                wal::SIZE_LIMIT
            )))
            .execute(conn)
            .await?;
            Ok(())
        })
    })
}

pub(crate) fn db_err(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::RowNotFound => Error::NotFound,
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            Error::Conflict("already exists".into())
        }
        _ => Error::Internal(format!("database: {e}")),
    }
}

/// A single-statement write outside a transaction. On SQLite it holds the store's write lock,
/// so it never meets another writer inside SQLite (where it would sleep in the busy handler).
pub(crate) struct Writer {
    conn: sqlx::pool::PoolConnection<Any>,
    _guard: Option<wal::Writing>,
}

impl std::ops::Deref for Writer {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// A write transaction. Mutations live on `Tx`, so that one action's writes commit together.
pub struct Tx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) backend: Backend,
    _guard: Option<wal::Writing>,
    account_cache: Arc<account_cache::AccountCache>,
    /// Accounts whose `accounts` or `users` rows this transaction wrote.
    touched: Vec<Id>,
    /// Accounts whose post counters only this transaction changed (`Changed::Counted`).
    counted: Vec<Id>,
    /// The store's job signal (`Store::jobs_added`), given when this transaction enqueued
    /// jobs: after the commit, once the runner can see them.
    jobs_added: Arc<tokio::sync::Notify>,
    enqueued: bool,
}

impl Tx {
    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await.map_err(db_err)?;
        let mut touched = self.touched;
        touched.sort();
        touched.dedup();
        let mut counted = self.counted;
        counted.sort();
        counted.dedup();
        counted.retain(|id| touched.binary_search(id).is_err());
        if !touched.is_empty() {
            self.account_cache
                .changed(&account_cache::Changed::Accounts(touched));
        }
        if !counted.is_empty() {
            self.account_cache
                .changed(&account_cache::Changed::Counted(counted));
        }
        if self.enqueued {
            // `notify_one` keeps the wake for a runner that is not waiting yet.
            self.jobs_added.notify_one();
        }
        Ok(())
    }

    /// This transaction enqueued a job: wake the job runner when it commits.
    pub(crate) fn added_jobs(&mut self) {
        self.enqueued = true;
    }

    /// This transaction writes `account`'s account or user row (see `account_cache`).
    pub(crate) fn touch(&mut self, account: Id) {
        self.touched.push(account);
    }

    /// This transaction changes only `account`'s post counters (see `Changed::Counted`).
    pub(crate) fn count(&mut self, account: Id) {
        self.counted.push(account);
    }
    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// PostgreSQL: a pooled connection idle this long is pinged before it is used again.
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

impl Store {
    /// Connect without migrating. `max_connections` bounds sqlx's pool of reads (SQLite's
    /// readers have one connection per thread that reads at once, see `readers`); PostgreSQL
    /// has as many again for write transactions and for its hot reads (`pg_reads`) each.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, Error> {
        install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut opts = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        // sqlx pings a connection before each use by default: a round trip per statement.
        // A SQLite connection cannot go away under us, so it is never pinged. A PostgreSQL
        // one can (a server restart leaves dead connections in the pool), but only one that
        // sat idle is worth asking: pinging every use was a third of the round trips of a home
        // timeline (BENCHMARKS.md, session 20). The cost: a connection that dies while in
        // steady use (used again within the second) fails its next statement instead of being
        // replaced first, as one dying between a ping and its statement always could.
        opts = opts.test_before_acquire(false);
        if backend == Backend::Sqlite {
            opts = sqlite_options(opts, READ_CACHE_KIB);
        } else {
            opts = opts.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            });
        }
        let url = if backend == Backend::Sqlite && !url.contains("mode=") {
            // Create the file on first run.
            if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            }
        } else {
            url.to_string()
        };
        let pool = opts.clone().connect(&url).await.map_err(db_err)?;
        let sqlite = backend == Backend::Sqlite;
        let readers = if sqlite {
            readers::Readers::new(&url).map(Arc::new)
        } else {
            None
        };
        // SQLite writes one at a time (the write lock below), so they lose nothing by sharing
        // one connection, and gain its page cache: SQLite empties a connection's cache when
        // another connection has written since its last transaction, so writes rotating over
        // the pool read every page they touch from the file again (a fan-out to 1,000
        // followers touches ~1,000 feed pages per post; most of its CPU went to reading and
        // spilling them, BENCHMARKS.md session 14). Its own writes keep its cache valid. Only
        // for a database file: each in-memory connection is a database of its own.
        let write_pool = if backend == Backend::Postgres {
            // PostgreSQL: write transactions on a pool of their own, as SQLite's, and for a
            // reason of its own. A transaction often reads (through `pool`) before it commits;
            // with one pool, as many such requests at once as it has connections each held one
            // and waited for a second, which none would give back — every request waited the
            // 30 s of `acquire_timeout` and failed (the bench's soak on PostgreSQL, session
            // 30). Now a reader never waits for a writer: reads hold their connection for one
            // statement and ask for nothing else meanwhile, and no write waits for another
            // (SQLite's write lock is not re-entrant, so no code path asks for a write while
            // holding one: every test would hang on SQLite).
            Some(opts.clone().connect(&url).await.map_err(db_err)?)
        } else if readers.is_some() {
            let opts = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .test_before_acquire(false)
                .idle_timeout(None)
                .max_lifetime(None);
            Some(
                sqlite_options(opts, WRITE_CACHE_KIB)
                    .connect(&url)
                    .await
                    .map_err(db_err)?,
            )
        } else {
            None
        };
        let pg_reads = match backend {
            Backend::Postgres => Some(Arc::new(pg_reads::PgReads::new(&url, max_connections)?)),
            Backend::Sqlite => None,
        };
        let wal = sqlite.then(|| wal::Wal::start(pool.clone(), readers.as_ref().map(|r| r.path())));
        Ok(Store {
            pool,
            backend,
            wal,
            pg_url: (backend == Backend::Postgres).then(|| Arc::from(url.as_str())),
            account_cache: Arc::default(),
            jobs_added: Arc::default(),
            readers,
            pg_reads,
            write_pool,
        })
    }

    /// Apply the versioned, forward-only migrations of this backend. On PostgreSQL sqlx takes
    /// an advisory lock, so several processes starting at once migrate once.
    pub async fn migrate(&self) -> Result<(), Error> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&mut *conn)
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))?;
        drop(conn);
        // Data steps SQL cannot do on every backend.
        let hashed = self.hash_plaintext_client_secrets().await?;
        if hashed > 0 {
            tracing::info!(
                apps = hashed,
                "client secrets of existing apps now stored hashed"
            );
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Call `hook` after every committed change of accounts or users made through this store
    /// (the service relays it to other processes, which call `forget_accounts`). Only once.
    pub fn on_accounts_changed(&self, hook: impl Fn(&Changed) + Send + Sync + 'static) -> bool {
        self.account_cache.set_hook(Arc::new(hook))
    }

    /// Another process changed these accounts: drop them from memory.
    pub fn forget_accounts(&self, changed: &Changed) {
        self.account_cache.forget(changed);
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    fn write_pool(&self) -> &AnyPool {
        self.write_pool.as_ref().unwrap_or(&self.pool)
    }

    pub async fn begin(&self) -> Result<Tx, Error> {
        let guard = match &self.wal {
            Some(wal) => Some(wal.lock_for_writing().await),
            None => None,
        };
        // SQLite: take the write lock at BEGIN. A deferred transaction that reads first fails
        // with SQLITE_BUSY_SNAPSHOT when another connection commits before its first write,
        // and no busy timeout helps with that; IMMEDIATE makes writers queue instead.
        let tx = match self.backend {
            Backend::Sqlite => self.write_pool().begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.write_pool().begin().await,
        }
        .map_err(db_err)?;
        Ok(Tx {
            tx,
            backend: self.backend,
            _guard: guard,
            account_cache: self.account_cache.clone(),
            touched: Vec::new(),
            counted: Vec::new(),
            jobs_added: self.jobs_added.clone(),
            enqueued: false,
        })
    }

    /// A write transaction of a bulk job (a fan-out's batches), which lets SQLite's background
    /// checkpoint catch up first when the write-ahead log is full (see `wal`): a steady stream of
    /// batches would otherwise keep the log from ever starting over.
    pub async fn begin_bulk(&self) -> Result<Tx, Error> {
        if let Some(w) = &self.wal {
            w.room_for_bulk().await;
        }
        self.begin().await
    }

    /// A connection for one write statement (see [`Writer`]). Never call this while holding
    /// a [`Tx`] of the same store: the lock is not re-entrant.
    pub(crate) async fn writer(&self) -> Result<Writer, Error> {
        let guard = match &self.wal {
            Some(wal) => Some(wal.lock_for_writing().await),
            None => None,
        };
        let conn = self.write_pool().acquire().await.map_err(db_err)?;
        Ok(Writer {
            conn,
            _guard: guard,
        })
    }

    pub async fn close(&self) {
        if let Some(w) = &self.write_pool {
            w.close().await;
        }
        self.pool.close().await;
    }

    /// A cheap round trip, for health checks.
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(db_err)
    }
}
