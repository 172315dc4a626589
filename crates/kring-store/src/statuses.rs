//! Statuses with their audience, mentions, tags and edit history; favourites, bookmarks, pins,
//! and the paged reads that all go through the one audience predicate (`sql::visible_to`).
use std::collections::{HashMap, HashSet};

use kring_core::model::{Account, Page, Status, StatusEdit, Tag};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::accounts::escape_like;
use crate::pg_reads::FromPg;
use crate::readers;
use crate::relationships::EdgeRow;
use crate::rows::{ACCOUNT_COLUMNS, EditRow, NewStatus, STATUS_COLUMNS, StatusRow};
use crate::sql::{Shown, Sql, in_set, newest_first};
use crate::{Backend, Store, Tx, db_err};

/// A viewer's own marks on a set of statuses.
#[derive(Debug, Default)]
pub struct StatusFlags {
    pub favourited: HashSet<Id>,
    pub reblogged: HashSet<Id>,
    pub bookmarked: HashSet<Id>,
    pub pinned: HashSet<Id>,
}

/// Options of an account's statuses listing.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccountStatusesFilter {
    pub exclude_replies: bool,
    pub exclude_reblogs: bool,
    pub pinned: bool,
}

/// Which public statuses a public timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locality {
    All,
    Local,
    Remote,
}

#[derive(sqlx::FromRow)]
struct KeyedStatusRow {
    key_id: i64,
    #[sqlx(flatten)]
    status: StatusRow,
}

impl Store {
    /// Run a paged statuses query built with `Sql::page` and return the page newest first.
    pub(crate) async fn page_of_statuses(
        &self,
        sql: &Sql,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        Ok(newest_first(self.status_rows(sql).await?, page))
    }

    /// The statuses of a statement selecting `STATUS_COLUMNS`: on SQLite through the
    /// readers, with the bodies they keep (`status_bodies`); on PostgreSQL on the hot reads'
    /// own connections (`pg_reads`).
    pub(crate) async fn status_rows(&self, sql: &Sql) -> Result<Vec<Status>, Error> {
        if let Some(r) = &self.readers {
            return r.read(|c| r.bodies.read(c, sql)).await;
        }
        if let Some(pg) = &self.pg_reads {
            let rows = pg.all(sql, StatusRow::from_pg).await?;
            return Ok(rows.into_iter().map(Status::from).collect());
        }
        let rows: Vec<StatusRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    /// The one number a statement selects (a count): on SQLite through the readers, on
    /// PostgreSQL on the hot reads' connections (as the helpers below).
    pub(crate) async fn count(&self, sql: Sql) -> Result<i64, Error> {
        if let Some(r) = &self.readers {
            return r
                .read(move |c| readers::all(c, &sql, |r| r.get::<_, i64>(0)))
                .await
                .map(|v| v.first().copied().unwrap_or(0));
        }
        if let Some(pg) = &self.pg_reads {
            let counts = pg.all(&sql, |r| i64::from_pg(r, 0)).await?;
            return Ok(counts.first().copied().unwrap_or(0));
        }
        sql.query_scalar()
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }

    /// The ids a statement selects (its first column): on SQLite through the readers.
    pub(crate) async fn ids(&self, sql: Sql) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = self.column(sql).await?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The first column of every row a statement selects: on SQLite through the readers.
    pub(crate) async fn column<T>(&self, sql: Sql) -> Result<Vec<T>, Error>
    where
        T: rusqlite::types::FromSql + FromPg + Send + Unpin + 'static,
        (T,): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        if let Some(r) = &self.readers {
            return r
                .read(move |c| readers::all(c, &sql, |r| r.get::<_, T>(0)))
                .await;
        }
        if let Some(pg) = &self.pg_reads {
            return pg.all(&sql, |r| T::from_pg(r, 0)).await;
        }
        sql.query_scalar()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)
    }

    /// The text a statement selects from its first row, if any: on SQLite through the readers.
    pub(crate) async fn text(&self, sql: Sql) -> Result<Option<String>, Error> {
        if let Some(r) = &self.readers {
            return r
                .read(move |c| readers::all(c, &sql, |r| r.get::<_, String>(0)))
                .await
                .map(|v| v.into_iter().next());
        }
        if let Some(pg) = &self.pg_reads {
            let texts = pg.all(&sql, |r| String::from_pg(r, 0)).await?;
            return Ok(texts.into_iter().next());
        }
        sql.query_scalar()
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)
    }

    /// The first row a statement selects, if any: on SQLite through the readers, decoded by
    /// `from_sqlite`; elsewhere by the row type's `FromRow`.
    pub(crate) async fn optional_row<R>(
        &self,
        sql: Sql,
        from_sqlite: fn(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
    ) -> Result<Option<R>, Error>
    where
        R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin + 'static,
    {
        if let Some(r) = &self.readers {
            return r
                .read(move |c| readers::all(c, &sql, from_sqlite))
                .await
                .map(|rows| rows.into_iter().next());
        }
        sql.query_as()
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)
    }

    /// The rows of a statement selecting two columns: on SQLite through the readers.
    pub(crate) async fn pairs<A, B>(&self, sql: Sql) -> Result<Vec<(A, B)>, Error>
    where
        A: rusqlite::types::FromSql + FromPg + Send + 'static,
        B: rusqlite::types::FromSql + FromPg + Send + 'static,
        (A, B): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        if let Some(r) = &self.readers {
            return r.read(move |c| readers::all(c, &sql, readers::tuple)).await;
        }
        if let Some(pg) = &self.pg_reads {
            return pg
                .all(&sql, |r| Ok((A::from_pg(r, 0)?, B::from_pg(r, 1)?)))
                .await;
        }
        sql.query_as().fetch_all(self.pool()).await.map_err(db_err)
    }

    /// The rows of a statement selecting three columns: on SQLite through the readers.
    pub(crate) async fn triples<A, B, C>(&self, sql: Sql) -> Result<Vec<(A, B, C)>, Error>
    where
        A: rusqlite::types::FromSql + FromPg + Send + 'static,
        B: rusqlite::types::FromSql + FromPg + Send + 'static,
        C: rusqlite::types::FromSql + FromPg + Send + 'static,
        (A, B, C): for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        if let Some(r) = &self.readers {
            return r.read(move |c| readers::all(c, &sql, readers::tuple)).await;
        }
        if let Some(pg) = &self.pg_reads {
            return pg
                .all(&sql, |r| {
                    Ok((A::from_pg(r, 0)?, B::from_pg(r, 1)?, C::from_pg(r, 2)?))
                })
                .await;
        }
        sql.query_as().fetch_all(self.pool()).await.map_err(db_err)
    }

    /// A status regardless of audience: for internal use after a check.
    ///
    /// On SQLite through the readers, as `status_by_uri`: both are read for every post that
    /// arrives or is made.
    pub async fn status(&self, id: Id) -> Result<Option<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.id = "
        ));
        sql.bind(id);
        Ok(self.status_rows(&sql).await?.pop())
    }

    /// Every received post is looked up by its URI first (is it known already?): on SQLite
    /// through the readers, not a hop to a pooled connection's thread and back.
    pub async fn status_by_uri(&self, uri: &str) -> Result<Option<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.uri = "
        ));
        sql.bind(uri);
        Ok(self.status_rows(&sql).await?.pop())
    }

    /// Which of these URIs are stored statuses' (one statement for a batch of received
    /// posts; the URIs are bound as one JSON array, read as a table by either database).
    pub async fn stored_uris(&self, uris: &[String]) -> Result<HashSet<String>, Error> {
        if uris.is_empty() {
            return Ok(HashSet::new());
        }
        let list = serde_json::to_string(uris).map_err(Error::internal)?;
        // One look-up by the unique index per URI, whatever the table's statistics say: as
        // `uri = ANY(ARRAY(…))` PostgreSQL kept plans that took 0.4–2.7 ms a claim.
        let mut sql = Sql::new("SELECT (SELECT s.uri FROM statuses s WHERE s.uri = u.value) FROM ");
        match self.backend {
            Backend::Postgres => {
                sql.push("json_array_elements_text(CAST(");
                sql.bind(list);
                sql.push(" AS json)) AS u(value)");
            }
            Backend::Sqlite => {
                sql.push("json_each(");
                sql.bind(list);
                sql.push(") AS u");
            }
        }
        let found: Vec<Option<String>> = self.column(sql).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// A status if `viewer` (None: signed out) may see it when opening it directly.
    pub async fn visible_status(
        &self,
        viewer: Option<Id>,
        id: Id,
    ) -> Result<Option<Status>, Error> {
        self.shown_status(viewer, id, Shown::Direct).await
    }

    /// A status if it is shown to `viewer` (None: signed out) where it is `shown`.
    pub async fn shown_status(
        &self,
        viewer: Option<Id>,
        id: Id,
        shown: Shown,
    ) -> Result<Option<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.id = "
        ));
        sql.bind(id);
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, shown);
        // Opening a post is a hot read too (a status, its context): on SQLite the readers.
        Ok(self.status_rows(&sql).await?.into_iter().next())
    }

    /// Of `ids`, those `viewer` may see when opening them directly.
    pub async fn visible_ids(&self, viewer: Option<Id>, ids: &[Id]) -> Result<HashSet<Id>, Error> {
        self.shown_ids(viewer, ids, Shown::Direct).await
    }

    /// Of `ids`, those shown to `viewer` where they are `shown`.
    pub async fn shown_ids(
        &self,
        viewer: Option<Id>,
        ids: &[Id],
        shown: Shown,
    ) -> Result<HashSet<Id>, Error> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let mut sql = Sql::new("SELECT s.id FROM statuses s WHERE ");
        sql.in_ids(self.backend, "s.id", ids);
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, shown);
        let rows: Vec<i64> =
            sqlx::query_scalar_with(AssertSqlSafe(sql.text.clone()), sql.arguments())
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }

    /// Of `ids`, the statuses `viewer` (None: signed out) may see when opening them directly,
    /// in one statement (the originals of a page's boosts).
    pub async fn visible_statuses_by_ids(
        &self,
        viewer: Option<Id>,
        ids: &[Id],
    ) -> Result<Vec<Status>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.status_rows(&statuses_by_ids_sql(self.backend, ids, Some(viewer)))
            .await
    }

    /// Statuses by id regardless of audience (to assemble views of already-checked statuses),
    /// in no particular order.
    pub async fn statuses_by_ids(&self, ids: &[Id]) -> Result<Vec<Status>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.status_rows(&statuses_by_ids_sql(self.backend, ids, None))
            .await
    }

    pub async fn account_statuses(
        &self,
        viewer: Option<Id>,
        account: Id,
        filter: AccountStatusesFilter,
        tagged: Option<&str>,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.account_id = "
        ));
        sql.bind(account);
        if filter.exclude_replies {
            // Replies to oneself (threads) stay, as in Mastodon.
            sql.push(" AND (s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)");
        }
        if filter.exclude_reblogs {
            sql.push(" AND s.reblog_of_id IS NULL");
        }
        if filter.pinned {
            sql.push(" AND EXISTS (SELECT 1 FROM pins p WHERE p.status_id = s.id AND p.account_id = s.account_id)");
        }
        if let Some(tag) = tagged {
            sql.push(" AND EXISTS (SELECT 1 FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE st.status_id = s.id AND lower(t.name) = ");
            sql.bind(tag.to_lowercase());
            sql.push(")");
        }
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Profile);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// Listed statuses (not boosts), newest first.
    pub async fn public_timeline(
        &self,
        viewer: Option<Id>,
        locality: Locality,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.listed = 1 AND s.reblog_of_id IS NULL"
        ));
        match locality {
            Locality::All => {}
            Locality::Local => {
                sql.push(" AND s.local = 1");
            }
            Locality::Remote => {
                sql.push(" AND s.local = 0");
            }
        }
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Listed);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// Listed statuses carrying any of `tags`.
    pub async fn tag_timeline(
        &self,
        viewer: Option<Id>,
        tags: &[String],
        locality: Locality,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        // The tags first: a page is read from their posts (`status_tags`' tag index), not
        // by walking every listed status and asking each for its tags — that walk read the
        // whole table for a rare or unknown tag (~1 s per request on a million statuses,
        // anyone could ask; BENCHMARKS.md, session 24). The tags' ids are looked up inside
        // the page's statement, not by one of their own before it (a read of its own was
        // ~3 % of a hashtag timeline's samples, session 27); an unknown tag's id is NULL,
        // which no row's equals.
        let (mut sql, column) = match tags {
            // One tag: its posts newest first straight from the index, stopping at the
            // page's end (`CROSS JOIN` keeps that order as the outer loop in SQLite).
            [tag] => {
                let mut sql = Sql::new(&format!(
                    "SELECT {STATUS_COLUMNS} FROM status_tags st CROSS JOIN statuses s \
                     WHERE st.tag_id = (SELECT id FROM tags WHERE lower(name) = "
                ));
                sql.bind(tag.to_lowercase());
                sql.push(") AND s.id = st.status_id");
                (sql, "st.status_id")
            }
            // Several: each post once, however many of them it has.
            several => {
                let mut sql = Sql::new(&format!(
                    "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.id IN \
                     (SELECT st.status_id FROM status_tags st WHERE st.tag_id IN \
                     (SELECT id FROM tags WHERE lower(name) IN ("
                ));
                for (i, t) in several.iter().enumerate() {
                    if i > 0 {
                        sql.push(",");
                    }
                    sql.bind(t.to_lowercase());
                }
                sql.push(")))");
                (sql, "s.id")
            }
        };
        sql.push(" AND s.listed = 1 AND s.reblog_of_id IS NULL");
        if locality == Locality::Local {
            sql.push(" AND s.local = 1");
        } else if locality == Locality::Remote {
            sql.push(" AND s.local = 0");
        }
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Listed);
        sql.page(column, page);
        self.page_of_statuses(&sql, page).await
    }

    /// Ancestors (oldest first) and descendants (in thread order by id) shown to `viewer`: those
    /// of accounts the viewer blocked, muted or whose domain it blocked are left out (Mastodon).
    ///
    /// `CROSS JOIN` keeps the thread as the outer loop: SQLite's planner otherwise scanned every
    /// status and probed the thread for each (over a second per request on a million statuses;
    /// PostgreSQL plans it either way).
    pub async fn context(
        &self,
        viewer: Option<Id>,
        status: &Status,
    ) -> Result<(Vec<Status>, Vec<Status>), Error> {
        let v = viewer.unwrap_or_default();
        let mut up = Sql::new(
            "WITH RECURSIVE up(id, parent, depth) AS (SELECT id, in_reply_to_id, 0 FROM statuses WHERE id = ",
        );
        up.bind(status.id);
        up.push(
            " UNION ALL SELECT p.id, p.in_reply_to_id, up.depth + 1 FROM statuses p JOIN up ON p.id = up.parent WHERE up.depth < 200) ",
        );
        up.push(&format!(
            "SELECT {STATUS_COLUMNS} FROM up CROSS JOIN statuses s WHERE s.id = up.id AND s.id <> "
        ));
        up.bind(status.id);
        let pv = up.param(v);
        up.and_shown(&pv, Shown::Listed);
        up.push(" ORDER BY s.id ASC");
        let ancestors = self.status_rows(&up).await?;

        let mut down = Sql::new(
            "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM statuses WHERE in_reply_to_id = ",
        );
        down.bind(status.id);
        down.push(
            " UNION ALL SELECT c.id, down.depth + 1 FROM statuses c JOIN down ON c.in_reply_to_id = down.id WHERE down.depth < 200) ",
        );
        down.push(&format!(
            "SELECT {STATUS_COLUMNS} FROM down CROSS JOIN statuses s WHERE s.id = down.id"
        ));
        let pv = down.param(v);
        down.and_shown(&pv, Shown::Listed);
        down.push(" ORDER BY s.id ASC LIMIT 4000");
        let descendants = self.status_rows(&down).await?;
        Ok((ancestors, descendants))
    }

    /// The viewer's favourites/boosts/bookmarks/pins among `ids`.
    pub async fn status_flags(&self, viewer: Id, ids: &[Id]) -> Result<StatusFlags, Error> {
        Ok(self
            .status_flags_of(&[viewer], ids)
            .await?
            .remove(&viewer)
            .unwrap_or_default())
    }

    /// Each of `viewers`' favourites/boosts/bookmarks/pins among `ids`, in one statement (a
    /// live event is shown to many viewers at once). Viewers without any have no entry.
    pub async fn status_flags_of(
        &self,
        viewers: &[Id],
        ids: &[Id],
    ) -> Result<HashMap<Id, StatusFlags>, Error> {
        if ids.is_empty() || viewers.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64, i64)> = self
            .triples(status_flags_sql(self.backend, viewers, ids))
            .await?;
        Ok(flags_from_rows(rows))
    }

    /// Of `viewers`, those to whom the status `id` is shown where it is `shown`: the audience
    /// rule for many viewers in one statement (a live event, decided once for all viewers).
    pub async fn viewers_shown(
        &self,
        id: Id,
        viewers: &[Id],
        shown: Shown,
    ) -> Result<HashSet<Id>, Error> {
        if viewers.is_empty() {
            return Ok(HashSet::new());
        }
        let mut sql = Sql::new("SELECT a.id FROM accounts a JOIN statuses s ON s.id = ");
        sql.bind(id);
        sql.push(" WHERE ");
        sql.in_ids(self.backend, "a.id", viewers);
        sql.and_shown("a.id", shown);
        let rows: Vec<i64> =
            sqlx::query_scalar_with(AssertSqlSafe(sql.text.clone()), sql.arguments())
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }

    /// (status id, mentioned account id) pairs.
    pub async fn mentions_of(&self, ids: &[Id]) -> Result<Vec<(Id, Id)>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT status_id, account_id FROM mentions WHERE ");
        sql.in_ids(self.backend, "status_id", ids);
        let rows: Vec<(i64, i64)> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(s, a)| (Id(s), Id(a))).collect())
    }

    /// The mentions (status id, mentioned account id) and tags (status id, tag name) of `ids`,
    /// in one statement (a page of statuses needs both).
    pub async fn mentions_and_tags_of(
        &self,
        ids: &[Id],
    ) -> Result<(Vec<(Id, Id)>, Vec<(Id, String)>), Error> {
        if ids.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let rows: Vec<(i64, Option<i64>, Option<String>)> = self
            .triples(mentions_and_tags_sql(self.backend, ids))
            .await?;
        Ok(split_mentions_and_tags(rows))
    }

    /// (status id, tag name) pairs.
    pub async fn tags_of(&self, ids: &[Id]) -> Result<Vec<(Id, String)>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(
            "SELECT st.status_id, t.name FROM status_tags st JOIN tags t ON t.id = st.tag_id WHERE ",
        );
        sql.in_ids(self.backend, "st.status_id", ids);
        let rows: Vec<(i64, String)> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(s, t)| (Id(s), t)).collect())
    }

    pub async fn tag(&self, name: &str) -> Result<Option<Tag>, Error> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM tags WHERE lower(name) = lower($1)")
                .bind(name)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.map(|(id, name)| Tag { id: Id(id), name }))
    }

    pub async fn search_tags(&self, prefix: &str, limit: i64) -> Result<Vec<Tag>, Error> {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM tags WHERE lower(name) LIKE $1 ESCAPE '\\' ORDER BY name LIMIT $2",
        )
        .bind(format!("{}%", escape_like(&prefix.to_lowercase())))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| Tag { id: Id(id), name })
            .collect())
    }

    /// Statuses of `author` whose text contains `query` (search of one's own posts).
    pub async fn search_own_statuses(
        &self,
        author: Id,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Status>, Error> {
        let rows: Vec<StatusRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id IS NULL \
             AND (lower(s.text) LIKE $2 ESCAPE '\\' OR lower(s.spoiler_text) LIKE $2 ESCAPE '\\') ORDER BY s.id DESC LIMIT $3 OFFSET $4"
        )))
        .bind(author.0)
        .bind(format!("%{}%", escape_like(&query.to_lowercase())))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    pub async fn edits(&self, status: Id) -> Result<Vec<StatusEdit>, Error> {
        let rows: Vec<EditRow> = sqlx::query_as(
            "SELECT id, status_id, content, spoiler_text, sensitive, created_at FROM status_edits \
             WHERE status_id = $1 ORDER BY id ASC",
        )
        .bind(status.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(StatusEdit::from).collect())
    }

    /// The boost of `status` by `account`, if any.
    pub async fn reblog_by(&self, account: Id, status: Id) -> Result<Option<Status>, Error> {
        let row: Option<StatusRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s WHERE s.account_id = $1 AND s.reblog_of_id = $2"
        )))
        .bind(account.0)
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Status::from))
    }

    /// Accounts that favourited (or boosted) a status, paged by the favourite's (boost's) id.
    pub async fn status_actors(
        &self,
        status: Id,
        reblogs: bool,
        page: &Page,
    ) -> Result<Vec<(Id, Account)>, Error> {
        let (table, col) = if reblogs {
            ("statuses", "reblog_of_id")
        } else {
            ("favourites", "status_id")
        };
        let mut sql = Sql::new(&format!(
            "SELECT e.id AS edge_id, {ACCOUNT_COLUMNS} FROM {table} e JOIN accounts a ON a.id = e.account_id \
             WHERE a.suspended_at IS NULL AND e.{col} = "
        ));
        sql.bind(status);
        sql.page("e.id", page);
        let rows: Vec<EdgeRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .map(|r| (Id(r.edge_id), Account::from(r.account)))
            .collect())
    }

    /// An account's favourites or bookmarks, paged by the mark's id, that are still shown to it.
    pub async fn marked_statuses(
        &self,
        account: Id,
        bookmarks: bool,
        page: &Page,
    ) -> Result<Vec<(Id, Status)>, Error> {
        let table = if bookmarks { "bookmarks" } else { "favourites" };
        let mut sql = Sql::new(&format!(
            "SELECT e.id AS key_id, {STATUS_COLUMNS} FROM {table} e JOIN statuses s ON s.id = e.status_id WHERE e.account_id = "
        ));
        let v = sql.bind(account);
        sql.and_shown(&v, Shown::Listed);
        sql.page("e.id", page);
        let rows: Vec<KeyedStatusRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .map(|r| (Id(r.key_id), Status::from(r.status)))
            .collect())
    }

    pub async fn idempotent_status(&self, account: Id, key: &str) -> Result<Option<Id>, Error> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT status_id FROM idempotency_keys WHERE account_id = $1 AND key = $2 AND created_at > $3",
        )
        .bind(account.0)
        .bind(key)
        .bind(now_micros() - 3_600 * 1_000_000)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(id.map(Id))
    }

    pub async fn pinned_count(&self, account: Id) -> Result<i64, Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM pins WHERE account_id = $1")
            .bind(account.0)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)
    }
}

impl Tx {
    pub async fn insert_status(&mut self, s: &NewStatus) -> Result<(), Error> {
        const INSERT: &str = "INSERT INTO statuses (id, account_id, uri, url, local, in_reply_to_id, in_reply_to_account_id, reblog_of_id, \
             conversation_id, text, content, spoiler_text, sensitive, language, visibility, public, listed, application_id, created_at, local_only, \
             interaction_policy, pending_approval_by) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)";
        // On PostgreSQL the status, its audience, its mentions and its author's counters are
        // one statement (data-modifying CTEs): each statement is a round trip, and the inbox
        // stores hundreds of posts a second. SQLite has no such CTEs, and there a statement is
        // a function call.
        let together = self.backend == Backend::Postgres;
        let grants: Vec<(&str, Id)> = s.audience.grants.iter().map(|g| g.to_row()).collect();
        let mut text = String::new();
        if together {
            use std::fmt::Write;
            let mut n = 22;
            let mut next = || {
                n += 1;
                n
            };
            // Writing to a String cannot fail.
            let _ = write!(text, "WITH s AS ({INSERT})");
            if !grants.is_empty() {
                text.push_str(
                    ", a AS (INSERT INTO status_audience (status_id, kind, target_id) VALUES ",
                );
                for i in 0..grants.len() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(text, "{sep}($1,${},${})", next(), next());
                }
                text.push_str(" ON CONFLICT DO NOTHING)");
            }
            if !s.mentions.is_empty() {
                text.push_str(", m AS (INSERT INTO mentions (status_id, account_id) VALUES ");
                for i in 0..s.mentions.len() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(text, "{sep}($1,${})", next());
                }
                text.push_str(" ON CONFLICT DO NOTHING)");
            }
            text.push(' ');
            text.push_str(&crate::accounts::count_new_post_sql("$19", "$2"));
        } else {
            text.push_str(INSERT);
        }
        // The text is ours: constants and numbered placeholders, no input.
        let mut q = sqlx::query(AssertSqlSafe(text))
            .bind(s.id.0)
            .bind(s.account_id.0)
            .bind(&s.uri)
            .bind(&s.url)
            .bind(s.local as i64)
            .bind(s.in_reply_to_id.map(|i| i.0))
            .bind(s.in_reply_to_account_id.map(|i| i.0))
            .bind(s.reblog_of_id.map(|i| i.0))
            .bind(s.conversation_id.0)
            .bind(&s.text)
            .bind(&s.content)
            .bind(&s.spoiler_text)
            .bind(s.sensitive as i64)
            .bind(s.language.as_deref())
            .bind(s.visibility.as_str())
            .bind(s.audience.public as i64)
            .bind(s.audience.listed as i64)
            .bind(s.application_id.map(|i| i.0))
            .bind(s.created_at)
            .bind(s.audience.local_only as i64)
            .bind(s.interaction_policy.as_ref().map(|p| p.to_json()))
            .bind(s.pending_approval_by.map(|i| i.0));
        if together {
            for (kind, target) in &grants {
                q = q.bind(*kind).bind(target.0);
            }
            for m in &s.mentions {
                q = q.bind(m.0);
            }
        }
        q.execute(&mut *self.tx).await.map_err(db_err)?;
        if together {
            self.count(s.account_id);
            self.insert_mentions_and_tags(s.id, &[], &s.tags).await?;
        } else {
            // A new id has no audience, mentions or tags to replace: only inserts.
            self.insert_audience(s.id, &s.audience).await?;
            self.insert_mentions_and_tags(s.id, &s.mentions, &s.tags)
                .await?;
            self.count_new_post(s.account_id, s.created_at).await?;
        }
        // One awaiting approval counts on the parent (or original) once approved: a count
        // would tell everyone it exists.
        if s.pending_approval_by.is_none() {
            self.bump_parent_counts(s.in_reply_to_id, s.reblog_of_id, 1)
                .await?;
        }
        Ok(())
    }

    async fn bump_parent_counts(
        &mut self,
        in_reply_to: Option<Id>,
        reblog_of: Option<Id>,
        by: i64,
    ) -> Result<(), Error> {
        if let Some(parent) = in_reply_to {
            self.bump_status_count(parent, "replies_count", by).await?;
        }
        if let Some(orig) = reblog_of {
            self.bump_status_count(orig, "reblogs_count", by).await?;
        }
        Ok(())
    }

    /// A reply or boost awaiting approval is approved: it is read by its audience from now on
    /// and counts on its parent. False when it was not awaiting approval.
    pub async fn approve_status(&mut self, s: &Status) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE statuses SET pending_approval_by = NULL WHERE id = $1 AND pending_approval_by IS NOT NULL",
        )
        .bind(s.id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        let approved = r.rows_affected() > 0;
        if approved {
            self.bump_parent_counts(s.in_reply_to_id, s.reblog_of_id, 1)
                .await?;
        }
        Ok(approved)
    }

    /// Store a post's interaction policy (a remote post's, updated by its author).
    pub async fn set_interaction_policy(
        &mut self,
        id: Id,
        policy: Option<&kring_core::InteractionPolicy>,
    ) -> Result<(), Error> {
        sqlx::query("UPDATE statuses SET interaction_policy = $1 WHERE id = $2")
            .bind(policy.map(|p| p.to_json()))
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// The grants of a status that has none yet.
    async fn insert_audience(
        &mut self,
        id: Id,
        audience: &kring_core::Audience,
    ) -> Result<(), Error> {
        for grant in &audience.grants {
            let (kind, target) = grant.to_row();
            sqlx::query(
                "INSERT INTO status_audience (status_id, kind, target_id) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(kind)
            .bind(target.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    /// Replace a status's mentions and tags (on create and edit).
    pub async fn set_mentions_and_tags(
        &mut self,
        id: Id,
        mentions: &[Id],
        tags: &[String],
    ) -> Result<(), Error> {
        sqlx::query("DELETE FROM mentions WHERE status_id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM status_tags WHERE status_id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        self.insert_mentions_and_tags(id, mentions, tags).await
    }

    /// The mentions and tags of a status that has none yet.
    async fn insert_mentions_and_tags(
        &mut self,
        id: Id,
        mentions: &[Id],
        tags: &[String],
    ) -> Result<(), Error> {
        for m in mentions {
            sqlx::query("INSERT INTO mentions (status_id, account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING")
                .bind(id.0)
                .bind(m.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        for name in tags {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM tags WHERE lower(name) = lower($1)")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(db_err)?;
            let tag_id = match existing {
                Some(t) => t,
                None => {
                    let t = Id::generate().0;
                    sqlx::query("INSERT INTO tags (id, name, created_at) VALUES ($1,$2,$3)")
                        .bind(t)
                        .bind(name)
                        .bind(now_micros())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(db_err)?;
                    t
                }
            };
            sqlx::query(
                "INSERT INTO status_tags (status_id, tag_id) VALUES ($1,$2) ON CONFLICT DO NOTHING",
            )
            .bind(id.0)
            .bind(tag_id)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn bump_status_count(&mut self, id: Id, column: &str, by: i64) -> Result<(), Error> {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE statuses SET {column} = CASE WHEN {column} + $1 < 0 THEN 0 ELSE {column} + $1 END WHERE id = $2"
        )))
        .bind(by)
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Keep the current version in the history, then replace the content.
    pub async fn edit_status(
        &mut self,
        before: &Status,
        text: &str,
        content: &str,
        spoiler_text: &str,
        sensitive: bool,
        language: Option<&str>,
    ) -> Result<i64, Error> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM status_edits WHERE status_id = $1")
                .bind(before.id.0)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(db_err)?;
        if count == 0 {
            // The first edit records the original too, so history shows every version.
            self.insert_edit(
                before.id,
                &before.content,
                &before.spoiler_text,
                before.sensitive,
                before.created_at,
            )
            .await?;
        }
        let now = now_micros();
        self.insert_edit(before.id, content, spoiler_text, sensitive, now)
            .await?;
        sqlx::query(
            "UPDATE statuses SET text = $1, content = $2, spoiler_text = $3, sensitive = $4, language = $5, edited_at = $6 WHERE id = $7",
        )
        .bind(text)
        .bind(content)
        .bind(spoiler_text)
        .bind(sensitive as i64)
        .bind(language)
        .bind(now)
        .bind(before.id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(now)
    }

    async fn insert_edit(
        &mut self,
        status: Id,
        content: &str,
        spoiler_text: &str,
        sensitive: bool,
        at: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO status_edits (id, status_id, content, spoiler_text, sensitive, created_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(Id::generate().0)
        .bind(status.0)
        .bind(content)
        .bind(spoiler_text)
        .bind(sensitive as i64)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Delete a status and its boosts, with their feed entries and counters.
    pub async fn delete_status(&mut self, s: &Status) -> Result<Vec<Id>, Error> {
        let boosts: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, account_id FROM statuses WHERE reblog_of_id = $1")
                .bind(s.id.0)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
        // The row goes before its feed entries: a fan-out batch still running holds it
        // (`fan_out_batch`), so on PostgreSQL this waits for the batch, and the entries it
        // wrote are then seen, and removed, below.
        sqlx::query("DELETE FROM statuses WHERE id = $1")
            .bind(s.id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        for (id, account) in &boosts {
            self.bump_counts(Id(*account), 0, 0, -1).await?;
            self.delete_feed_entries(Id(*id)).await?;
        }
        self.delete_feed_entries(s.id).await?;
        self.bump_counts(s.account_id, 0, 0, -1).await?;
        if s.pending_approval_by.is_none() {
            self.bump_parent_counts(s.in_reply_to_id, s.reblog_of_id, -1)
                .await?;
        }
        Ok(boosts.into_iter().map(|(id, _)| Id(id)).collect())
    }

    /// Favourite, bookmark or pin; false when it was already there.
    pub async fn insert_mark(
        &mut self,
        kind: Mark,
        account: Id,
        status: Id,
    ) -> Result<bool, Error> {
        let sql = if kind == Mark::Favourite {
            "INSERT INTO favourites (id, account_id, status_id, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (account_id, status_id) DO NOTHING"
                .to_string()
        } else {
            format!(
                "INSERT INTO {} (id, account_id, status_id) VALUES ($1,$2,$3) ON CONFLICT (account_id, status_id) DO NOTHING",
                kind.table()
            )
        };
        let mut q = sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(Id::generate().0)
            .bind(account.0)
            .bind(status.0);
        if kind == Mark::Favourite {
            q = q.bind(now_micros());
        }
        let r = q.execute(&mut *self.tx).await.map_err(db_err)?;
        let created = r.rows_affected() > 0;
        if created && kind == Mark::Favourite {
            self.bump_status_count(status, "favourites_count", 1)
                .await?;
        }
        Ok(created)
    }

    pub async fn delete_mark(
        &mut self,
        kind: Mark,
        account: Id,
        status: Id,
    ) -> Result<bool, Error> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {} WHERE account_id = $1 AND status_id = $2",
            kind.table()
        )))
        .bind(account.0)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        let deleted = r.rows_affected() > 0;
        if deleted && kind == Mark::Favourite {
            self.bump_status_count(status, "favourites_count", -1)
                .await?;
        }
        Ok(deleted)
    }

    pub async fn insert_idempotency(
        &mut self,
        account: Id,
        key: &str,
        status: Id,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (account_id, key) DO UPDATE SET status_id = excluded.status_id, created_at = excluded.created_at",
        )
        .bind(account.0)
        .bind(key)
        .bind(status.0)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

/// The per-account marks on statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Favourite,
    Bookmark,
    Pin,
}

impl Mark {
    fn table(self) -> &'static str {
        match self {
            Mark::Favourite => "favourites",
            Mark::Bookmark => "bookmarks",
            Mark::Pin => "pins",
        }
    }
}

/// Each of `viewers`' favourites/bookmarks/pins/boosts among `ids` as (kind, account, status)
/// rows (also run by `hydrate` on SQLite).
pub(crate) fn status_flags_sql(backend: Backend, viewers: &[Id], ids: &[Id]) -> Sql {
    let mut sql = Sql::new("");
    let who = sql.id_set(backend, viewers);
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let rows = sql.id_rows(ids);
        let (f, b, p, s) = (
            in_set(backend, "f.account_id", &who),
            in_set(backend, "b.account_id", &who),
            in_set(backend, "p.account_id", &who),
            in_set(backend, "s.account_id", &who),
        );
        sql.push(&format!(
            "WITH {rows} \
             SELECT 'f' AS k, f.account_id, f.status_id AS id FROM page_ids CROSS JOIN favourites f \
             WHERE {f} AND f.status_id = page_ids.page_id \
             UNION ALL SELECT 'b', b.account_id, b.status_id FROM page_ids CROSS JOIN bookmarks b \
             WHERE {b} AND b.status_id = page_ids.page_id \
             UNION ALL SELECT 'p', p.account_id, p.status_id FROM page_ids CROSS JOIN pins p \
             WHERE {p} AND p.status_id = page_ids.page_id \
             UNION ALL SELECT 'r', s.account_id, s.reblog_of_id FROM page_ids CROSS JOIN statuses s \
             WHERE {s} AND s.reblog_of_id = page_ids.page_id"
        ));
        return sql;
    }
    let which = sql.id_set(backend, ids);
    let (who, which, boosted) = (
        in_set(backend, "account_id", &who),
        in_set(backend, "status_id", &which),
        in_set(backend, "reblog_of_id", &which),
    );
    sql.push(&format!(
        "SELECT 'f' AS k, account_id, status_id AS id FROM favourites WHERE {who} AND {which} \
         UNION ALL SELECT 'b', account_id, status_id FROM bookmarks WHERE {who} AND {which} \
         UNION ALL SELECT 'p', account_id, status_id FROM pins WHERE {who} AND {which} \
         UNION ALL SELECT 'r', account_id, reblog_of_id FROM statuses WHERE {who} AND {boosted}"
    ));
    sql
}

pub(crate) fn flags_from_rows(rows: Vec<(String, i64, i64)>) -> HashMap<Id, StatusFlags> {
    let mut out: HashMap<Id, StatusFlags> = HashMap::new();
    for (k, account, id) in rows {
        let flags = out.entry(Id(account)).or_default();
        let set = match k.as_str() {
            "f" => &mut flags.favourited,
            "b" => &mut flags.bookmarked,
            "p" => &mut flags.pinned,
            _ => &mut flags.reblogged,
        };
        set.insert(Id(id));
    }
    out
}

/// Mentions and tags of the statuses `ids` as one statement of (status, account, tag name)
/// rows (also run by `hydrate` on SQLite).
pub(crate) fn mentions_and_tags_sql(backend: Backend, ids: &[Id]) -> Sql {
    let mut sql = Sql::new("");
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let rows = sql.id_rows(ids);
        sql.push(&format!(
            "WITH {rows} \
             SELECT m.status_id, m.account_id, CAST(NULL AS TEXT) AS name \
             FROM page_ids CROSS JOIN mentions m WHERE m.status_id = page_ids.page_id \
             UNION ALL SELECT st.status_id, CAST(NULL AS BIGINT), t.name \
             FROM page_ids CROSS JOIN status_tags st JOIN tags t ON t.id = st.tag_id \
             WHERE st.status_id = page_ids.page_id"
        ));
        return sql;
    }
    let set = sql.id_set(backend, ids);
    sql.push(&format!(
        "SELECT status_id, account_id, CAST(NULL AS TEXT) AS name FROM mentions WHERE {} \
         UNION ALL SELECT st.status_id, CAST(NULL AS BIGINT), t.name FROM status_tags st \
         JOIN tags t ON t.id = st.tag_id WHERE {}",
        in_set(backend, "status_id", &set),
        in_set(backend, "st.status_id", &set),
    ));
    sql
}

pub(crate) type MentionsAndTags = (Vec<(Id, Id)>, Vec<(Id, String)>);

pub(crate) fn split_mentions_and_tags(
    rows: Vec<(i64, Option<i64>, Option<String>)>,
) -> MentionsAndTags {
    let (mut mentions, mut tags) = (Vec::new(), Vec::new());
    for (status, account, name) in rows {
        match (account, name) {
            (Some(a), _) => mentions.push((Id(status), Id(a))),
            (None, Some(n)) => tags.push((Id(status), n)),
            (None, None) => {}
        }
    }
    (mentions, tags)
}

/// The statuses `ids` that `viewer` (None: signed out) may open (`Some`), or all of them
/// regardless of audience (`None`): the originals of a page's boosts.
pub(crate) fn statuses_by_ids_sql(
    backend: Backend,
    ids: &[Id],
    readable_by: Option<Option<Id>>,
) -> Sql {
    let mut sql = Sql::new(&format!("SELECT {STATUS_COLUMNS} FROM statuses s WHERE "));
    sql.in_ids(backend, "s.id", ids);
    if let Some(viewer) = readable_by {
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Direct);
    }
    sql
}
