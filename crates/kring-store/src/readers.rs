//! SQLite: the hot reads (pages of statuses and what hydrates them) on dedicated read-only
//! connections, each call one hop to a blocking thread that runs its statement from a cache of
//! prepared statements and decodes the rows there.
//!
//! Why not sqlx for these: its SQLite driver runs every connection on a worker thread of its
//! own and sends each statement there and each row back through a channel, so a page of 40
//! posts costs dozens of cross-thread wake-ups and a copy of every row into a generic row type
//! (BENCHMARKS.md has the profile: context switches, futexes and allocation dominated). Writes
//! and everything else stay on sqlx; the SQL is the same text (`Sql`), with the same `$N`
//! parameters, so the audience rule is still written once.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kring_core::Error;
use rusqlite::{CachedStatement, Connection, OpenFlags};

use crate::sql::{Arg, Sql};

/// Prepared statements kept per connection (the IN lists of different lengths are
/// different statements).
const STATEMENT_CACHE: usize = 128;

pub(crate) struct Readers {
    path: String,
    idle: Mutex<Vec<Connection>>,
    /// At most this many reads at once (as many as sqlx's pool has connections).
    permits: tokio::sync::Semaphore,
}

impl Readers {
    /// Readers of the SQLite database at `url`; None for an in-memory database (nothing else
    /// could open it).
    pub fn new(url: &str, connections: usize) -> Option<Readers> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
            return None;
        }
        Some(Readers {
            path: path.to_string(),
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(connections.max(1)),
        })
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // As sqlx's connections (see `Store::connect`): a small page cache each.
        conn.execute_batch("PRAGMA cache_size = -2000; PRAGMA query_only = 1;")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The query planner's stability guarantee: plans never depend on bound values. Without
        // it SQLite compares bound values with partial indexes' WHERE terms while planning and
        // prepares the statement again whenever a binding changes — the audience rule binds
        // the current time, so every timeline read parsed and planned its 5 KB statement anew
        // (a fifth of a home timeline's CPU; `SQLITE_STMTSTATUS_REPREPARE` counted one per run).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(conn)
    }

    /// Run `f` on an idle reader, on a blocking thread.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::Internal("database readers closed".into()))?;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let idle = this.idle.lock().ok().and_then(|mut v| v.pop());
            let conn = match idle {
                Some(c) => c,
                None => this.open().map_err(read_err)?,
            };
            let r = f(&conn).map_err(read_err);
            if let Ok(mut v) = this.idle.lock() {
                v.push(conn);
            }
            r
        })
        .await
        .map_err(|e| Error::Internal(format!("database read: {e}")))?
    }
}

fn read_err(e: rusqlite::Error) -> Error {
    match e {
        rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
        e => Error::Internal(format!("database: {e}")),
    }
}

/// `sql` prepared (from the connection's cache) with its arguments bound by `$N` name.
pub(crate) fn prepare<'c>(
    conn: &'c Connection,
    sql: &Sql,
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut st = conn.prepare_cached(&sql.text)?;
    for (i, arg) in sql.args().iter().enumerate() {
        let Some(idx) = st.parameter_index(&format!("${}", i + 1))? else {
            continue;
        };
        match arg {
            Arg::I(v) => st.raw_bind_parameter(idx, v)?,
            Arg::S(v) => st.raw_bind_parameter(idx, v.as_str())?,
        }
    }
    Ok(st)
}

/// All rows of `sql`, each decoded by `row`.
pub(crate) fn all<T>(
    conn: &Connection,
    sql: &Sql,
    mut row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = prepare(conn, sql)?;
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
    }
    Ok(out)
}
