//! SQLite: the hot reads (pages of statuses and what hydrates them) on dedicated read-only
//! connections, run on the calling thread from a cache of prepared statements, the rows
//! decoded there.
//!
//! Why not sqlx for these: its SQLite driver runs every connection on a worker thread of its
//! own and sends each statement there and each row back through a channel, so a page of 40
//! posts costs dozens of cross-thread wake-ups and a copy of every row into a generic row type
//! (BENCHMARKS.md has the profile: context switches, futexes and allocation dominated). Writes
//! and everything else stay on sqlx; the SQL is the same text (`Sql`), with the same `$N`
//! parameters, so the audience rule is still written once.
//!
//! Why on the calling (async) thread rather than a hop to a blocking thread: these reads are
//! short (a page of at most a few dozen rows by index, from SQLite's cache or the OS's), and
//! the hop there and back — two thread wake-ups per read, two or three reads per page — cost
//! more than the reads: a home timeline took 0.55 ms of CPU with the hop and 0.32 ms without
//! (BENCHMARKS.md, session 12). Under load tokio's blocking pool also grew to 75 threads, each
//! keeping its stack and allocator caches (30 MB of RSS). A read blocks its worker for its
//! own duration only; the other worker steals that worker's waiting tasks meanwhile.
use std::sync::Mutex;
use std::time::Duration;

use kring_core::Error;
use rusqlite::{CachedStatement, Connection, OpenFlags};

use crate::sql::{Arg, Sql};
use crate::status_bodies::StatusBodies;

/// Prepared statements kept per connection (the IN lists of different lengths are
/// different statements).
const STATEMENT_CACHE: usize = 128;

pub(crate) struct Readers {
    path: String,
    /// Connections not in use; there are as many as reads ever ran at once (at most one per
    /// thread that reads: tokio's workers, and a test's own thread).
    idle: Mutex<Vec<Connection>>,
    /// What these connections read of statuses and keep (`status_bodies`).
    pub bodies: StatusBodies,
}

impl Readers {
    /// Readers of the SQLite database at `url`; None for an in-memory database (nothing else
    /// could open it).
    pub fn new(url: &str) -> Option<Readers> {
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
            bodies: StatusBodies::default(),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &str {
        &self.path
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

    /// Run `f` on an idle reader connection, here (see the module for why not elsewhere).
    /// Async so that callers need not change should reads move again.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&Connection) -> rusqlite::Result<T>,
    {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => self.open().map_err(read_err)?,
        };
        // One read transaction for all that `f` reads. Why: outside a transaction each
        // statement is one, and takes and drops a WAL read lock (two `fcntl` calls, and
        // SQLite's look at the WAL index) — a home timeline's seven statements made fourteen
        // such calls, ~6 % of its CPU (BENCHMARKS.md, session 26). One snapshot is also what
        // a page and its hydration should show.
        let r = run(&conn, "BEGIN")
            .and_then(|()| f(&conn))
            .map_err(read_err);
        // A connection left in its transaction would hold its snapshot (and stop checkpoints
        // from passing it) for as long as it is idle: it is closed instead of kept.
        let ended = conn.is_autocommit() || run(&conn, "COMMIT").is_ok();
        if ended && let Ok(mut v) = self.idle.lock() {
            v.push(conn);
        }
        r
    }
}

/// Run a statement that returns no rows, prepared once per connection.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

fn read_err(e: rusqlite::Error) -> Error {
    match e {
        rusqlite::Error::QueryReturnedNoRows => Error::NotFound,
        e => Error::Internal(format!("database: {e}")),
    }
}

/// `sql` prepared (from the connection's cache) with its arguments bound by position.
///
/// The text numbers its parameters `$N` (PostgreSQL's form, shared with sqlx). SQLite reads
/// `$N` as a *named* parameter, numbered by first appearance, so binding by name would cost a
/// formatted name and a search of the statement's names per argument — a sixth of a home
/// timeline's CPU when `IN` lists bound one parameter per id (BENCHMARKS.md, session 12). `?N` is
/// SQLite's own form for "parameter N", so the text is rewritten and arguments bound by index.
pub(crate) fn prepare<'c>(
    conn: &'c Connection,
    sql: &Sql,
) -> rusqlite::Result<CachedStatement<'c>> {
    prepare_text(conn, &sql.text, sql)
}

/// [`prepare`] with `text` for `sql`'s text (the same parameters).
pub(crate) fn prepare_text<'c>(
    conn: &'c Connection,
    text: &str,
    sql: &Sql,
) -> rusqlite::Result<CachedStatement<'c>> {
    let mut st = conn.prepare_cached(&numbered(text))?;
    // `?N` makes the count the highest N used: an argument past it is in no expression.
    let count = st.parameter_count();
    for (i, arg) in sql.args().iter().enumerate().take(count) {
        match arg {
            Arg::I(v) => st.raw_bind_parameter(i + 1, v)?,
            Arg::S(v) => st.raw_bind_parameter(i + 1, v.as_str())?,
        }
    }
    Ok(st)
}

/// `text` with its `$N` parameters written `?N`. Kring's statements have no `$` elsewhere
/// (no string literal holds one), and both are one ASCII byte, so the rest is unchanged.
fn numbered(text: &str) -> String {
    // From one `$` to the next, found by one `memchr` scan of the bytes rather than byte by
    // byte (~1.6 % of a home timeline's samples, BENCHMARKS.md, session 25) or a `str::find`
    // per `$` (each a searcher set up anew: ~1.1 %, session 26): a page's statements are
    // several KB with dozens of parameters, and are rewritten on every read.
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for at in memchr::memchr_iter(b'$', bytes) {
        out.push_str(&text[from..at]);
        let parameter = bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        out.push(if parameter { '?' } else { '$' });
        from = at + 1;
    }
    out.push_str(&text[from..]);
    out
}

/// A row read as a tuple of its columns in order (rusqlite's own conversion): the decoder for
/// statements whose rows are a few plain values.
pub(crate) fn tuple<T>(r: &rusqlite::Row<'_>) -> rusqlite::Result<T>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    T::try_from(r)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_for_sqlite_and_bound_by_position() {
        assert_eq!(
            numbered("SELECT $1, $12 FROM t WHERE a = $2 AND b = '$x'"),
            "SELECT ?1, ?12 FROM t WHERE a = ?2 AND b = '$x'"
        );
        assert_eq!(numbered("$1 é $$2 $"), "?1 é $?2 $");
        assert_eq!(numbered(""), "");
        // Parameters used out of order, reused, and one argument no expression uses.
        let conn = Connection::open_in_memory().expect("in-memory database");
        let mut sql = Sql::new("SELECT ");
        let a = sql.param(7);
        let b = sql.param("b");
        sql.param(99);
        sql.push(&format!("{b}, {a}, {a} + 1"));
        let rows = all(&conn, &sql, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .expect("the statement runs");
        assert_eq!(rows, vec![("b".to_string(), 7, 8)]);
    }

    /// A read sees one snapshot throughout, and the next read (on the same connection, kept
    /// idle in between) a newer one — also after a read that failed midway, which must not
    /// leave its connection holding the old snapshot.
    #[tokio::test]
    async fn each_read_is_one_snapshot_and_the_next_sees_later_writes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("t.db");
        let writer = Connection::open(&path).expect("the database opens");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY); \
                 INSERT INTO t VALUES (1);",
            )
            .expect("the table is made");
        let readers = Readers::new(&format!("sqlite://{}", path.display())).expect("a file");
        let count = |c: &Connection| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0));

        // A write between two statements of one read is not seen by the second.
        let (before, during) = readers
            .read(|c| {
                let before: i64 = count(c)?;
                writer
                    .execute("INSERT INTO t VALUES (2)", [])
                    .expect("a write beside the read");
                Ok((before, count(c)?))
            })
            .await
            .expect("the read");
        assert_eq!((before, during), (1, 1));
        assert_eq!(readers.read(|c| count(c)).await.expect("the read"), 2);

        // A read that fails after its first statement; then a write; the next read sees it.
        let failed = readers
            .read(|c| {
                count(c)?;
                c.query_row("SELECT no_such_column FROM t", [], |r| r.get::<_, i64>(0))
            })
            .await;
        assert!(failed.is_err());
        writer
            .execute("INSERT INTO t VALUES (3)", [])
            .expect("a write after");
        assert_eq!(readers.read(|c| count(c)).await.expect("the read"), 3);
        assert_eq!(readers.idle.lock().map(|v| v.len()).unwrap_or(0), 1);
    }

    #[test]
    fn id_sets_select_with_in_and_not_in() {
        use crate::Backend;
        use kring_core::Id;
        let conn = Connection::open_in_memory().expect("in-memory database");
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3), (4), (5);")
            .expect("the table is made");
        let ids = |ids: &[i64], not: bool| {
            let ids: Vec<Id> = ids.iter().map(|&i| Id(i)).collect();
            let mut sql = Sql::new("SELECT id FROM t WHERE ");
            if not {
                sql.not_in_ids(Backend::Sqlite, "id", &ids);
            } else {
                sql.in_ids(Backend::Sqlite, "id", &ids);
            }
            sql.push(" ORDER BY id");
            all(&conn, &sql, |r| r.get::<_, i64>(0)).expect("the statement runs")
        };
        // Padded to a power of two: three ids and four share one statement text.
        let text = |n: i64| {
            let ids: Vec<Id> = (1..=n).map(Id).collect();
            let mut sql = Sql::new("");
            sql.in_ids(Backend::Sqlite, "id", &ids);
            sql.text
        };
        assert_eq!(text(3), text(4));
        assert_ne!(text(4), text(5));
        assert_eq!(ids(&[4, 2, 2, 9], false), vec![2, 4]);
        assert_eq!(ids(&[4, 2, 9], true), vec![1, 3, 5]);
        assert_eq!(ids(&[], false), Vec::<i64>::new());
        assert_eq!(ids(&[], true), vec![1, 2, 3, 4, 5]);
        // The same set's text after other parameters names those after them (the texts are
        // kept per placeholder numbers, `sql::kept`), and two sets in one statement each
        // select by their own ids.
        let both = |a: &[i64], b: &[i64]| {
            let (a, b): (Vec<Id>, Vec<Id>) = (
                a.iter().map(|&i| Id(i)).collect(),
                b.iter().map(|&i| Id(i)).collect(),
            );
            let mut sql = Sql::new("SELECT id FROM t WHERE id > ");
            sql.bind(0);
            sql.push(" AND ");
            sql.in_ids(Backend::Sqlite, "id", &a);
            sql.push(" AND ");
            sql.in_ids(Backend::Sqlite, "id", &b);
            sql.push(" ORDER BY id");
            all(&conn, &sql, |r| r.get::<_, i64>(0)).expect("the statement runs")
        };
        assert_eq!(both(&[1, 2, 3], &[2, 3, 4]), vec![2, 3]);
        assert_eq!(both(&[4, 5], &[1, 5]), vec![5]);
        assert_eq!(both(&[3], &[1, 2]), Vec::<i64>::new());
        // Ids past 2^53 stay exact.
        let big = 117_221_554_035_687_424_i64;
        conn.execute("INSERT INTO t VALUES (?1), (?2)", [big, big + 1])
            .expect("big ids");
        assert_eq!(ids(&[big], false), vec![big]);
    }
}
