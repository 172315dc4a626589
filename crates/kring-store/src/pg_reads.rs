//! PostgreSQL: the hot reads (a page's statuses, the statement that hydrates them, and the
//! small reads SQLite makes on its readers: counts, id lists, texts, pairs and triples) on
//! connections of their own, typed, without sqlx's pool.
//!
//! Why not the pool (`AnyPool`) for these: sqlx converts every PostgreSQL row into its
//! generic `AnyRow` (a copy of every value, 11 % of a home timeline's CPU in kring), and it
//! *pings* every connection when it goes back to the pool — a Sync and its reply, a round
//! trip of its own after every statement, in kring and in the backend (7 % of kring's CPU;
//! sqlx has no setting for it). A page's two statements made four round trips. Here a
//! connection is pinged only after sitting idle (as the pool's `before_acquire` does), rows
//! are decoded straight from PostgreSQL's, and the SQL is the same text with the same `$N`
//! parameters (`Sql`), so the audience rule is still written once.
//!
//! A read that does not finish — an error, or its request dropped mid-statement — may leave
//! its connection in the middle of the protocol: such a connection is closed, never reused.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kring_core::Error;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Connection};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::sql::{Arg, Sql};
use crate::{PING_AFTER_IDLE, db_err};

pub(crate) struct PgReads {
    options: PgConnectOptions,
    /// Connections not in use, with when each was last put back.
    idle: Mutex<Vec<(PgConnection, Instant)>>,
    /// As many reads at once as the pool has connections: these are a second set of the
    /// database's connections, bounded as the first.
    permits: Semaphore,
}

/// A connection taken for one read: back to the idle list only when the read finished.
struct Lease<'a> {
    reads: &'a PgReads,
    conn: Option<PgConnection>,
    finished: bool,
    _permit: SemaphorePermit<'a>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && self.finished
            && let Ok(mut idle) = self.reads.idle.lock()
        {
            idle.push((conn, Instant::now()));
        }
        // Otherwise the connection drops here, which closes its socket.
    }
}

impl PgReads {
    pub fn new(url: &str, max_connections: u32) -> Result<PgReads, Error> {
        // Generic plans always: PostgreSQL's default keeps choosing between a plan made once
        // for all values and one made afresh for each run's, and under the soak's writes
        // (posts, deletes, follows changing the tables' statistics) it planned a quarter of the
        // timelines' runs afresh, 5 ms each against 0.1–0.5 ms of running them: PostgreSQL
        // spent most of the machine planning and the soak shed 60 % of its requests
        // (BENCHMARKS.md, session 30). These statements write every LIMIT into their text
        // (`Sql::limit`), which is what made a forced generic plan safe: a bound LIMIT is
        // planned as a tenth of the table.
        // And no merge joins: a generic plan does not know how long the viewer's feed is, and
        // joined a page's feed entries to statuses by walking the statuses from the newest down
        // to the page's oldest entry (2,033 rows for one viewer on the 1M database) where a
        // look-up per entry reads 40. These statements read pages and what hydrates them by
        // index; none is better merged (the 1M home timeline 0.90 + 1.61 ms with merge joins,
        // 0.55 + 0.75 without, kring + PostgreSQL; session 30).
        let options: PgConnectOptions = url.parse::<PgConnectOptions>().map_err(db_err)?.options([
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_mergejoin", "off"),
        ]);
        Ok(PgReads {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max_connections.max(1) as usize),
        })
    }

    async fn lease(&self) -> Result<Lease<'_>, Error> {
        let permit = tokio::time::timeout(Duration::from_secs(30), self.permits.acquire())
            .await
            .map_err(|_| Error::Internal("database: no connection for a read in 30 s".into()))?
            .map_err(|e| Error::Internal(format!("database: {e}")))?;
        let kept = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match kept {
            // A connection idle for a while may have died with its server (a restart): asked
            // first, as the pool asks its own (see `Store::connect`).
            Some((mut conn, since)) if since.elapsed() >= PING_AFTER_IDLE => {
                match conn.ping().await {
                    Ok(()) => conn,
                    Err(_) => self.connect().await?,
                }
            }
            Some((conn, _)) => conn,
            None => self.connect().await?,
        };
        Ok(Lease {
            reads: self,
            conn: Some(conn),
            finished: false,
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<PgConnection, Error> {
        PgConnection::connect_with(&self.options)
            .await
            .map_err(db_err)
    }

    /// Every row `sql` selects, decoded by `decode`.
    pub async fn all<R>(
        &self,
        sql: &Sql,
        decode: fn(&PgRow) -> Result<R, sqlx::Error>,
    ) -> Result<Vec<R>, Error> {
        let mut lease = self.lease().await?;
        let Some(conn) = lease.conn.as_mut() else {
            return Err(Error::Internal(
                "database: read without a connection".into(),
            ));
        };
        let rows = sqlx::query_with(AssertSqlSafe(sql.text.clone()), arguments(sql))
            .fetch_all(conn)
            .await
            .map_err(db_err)?;
        lease.finished = true;
        drop(lease);
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(db_err)
    }
}

/// `sql`'s arguments as PostgreSQL's own: an `i64` is an `INT8`, as through `Any`.
fn arguments(sql: &Sql) -> PgArguments {
    let mut a = PgArguments::default();
    for arg in sql.args() {
        // Encoding these primitive types cannot fail.
        let _ = match arg {
            Arg::I(i) => a.add(*i),
            Arg::S(s) => a.add(s.as_str()),
        };
    }
    a
}

/// An integer column as `i64`, whether the schema made it `INTEGER` or `BIGINT` (flags and
/// small numbers are `INTEGER`; sqlx's typed decoding takes each only as its own width).
pub(crate) fn int(r: &PgRow, i: usize) -> Result<i64, sqlx::Error> {
    opt_int(r, i)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: "NULL where a number was expected".into(),
    })
}

/// A nullable integer column as `Option<i64>` (see `int`).
pub(crate) fn opt_int(r: &PgRow, i: usize) -> Result<Option<i64>, sqlx::Error> {
    use sqlx::{Row, TypeInfo, ValueRef};
    let raw = r.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    match raw.type_info().name() {
        "INT4" => r.try_get::<i32, _>(i).map(|v| Some(v.into())),
        "INT2" => r.try_get::<i16, _>(i).map(|v| Some(v.into())),
        _ => r.try_get::<i64, _>(i).map(Some),
    }
}

/// A column's value as the hot reads decode it on PostgreSQL: integers through `int` (why: see
/// there), the rest as sqlx decodes them.
pub(crate) trait FromPg: Sized {
    fn from_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error>;
}

impl FromPg for i64 {
    fn from_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        int(r, i)
    }
}

impl FromPg for Option<i64> {
    fn from_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        opt_int(r, i)
    }
}

impl FromPg for String {
    fn from_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(r, i)
    }
}

impl FromPg for Option<String> {
    fn from_pg(r: &PgRow, i: usize) -> Result<Self, sqlx::Error> {
        sqlx::Row::try_get(r, i)
    }
}
