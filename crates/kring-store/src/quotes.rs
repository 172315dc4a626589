//! Quote posts (`quotes`): which post a post quotes and where the quote stands with the quoted
//! author. Deciding is the service's (`kring_service::quotes`); whether a viewer sees the quoted
//! post is the one audience rule's, asked when a quote is shown.
use kring_core::model::{Page, Quote, QuoteState, Status};
use kring_core::{Error, Id};

use crate::rows::STATUS_COLUMNS;
use crate::sql::{Shown, Sql};
use crate::{Backend, Store, Tx, db_err};

const QUOTE_COLUMNS: &str = "status_id, quoted_status_id, quoted_account_id, quoted_uri, state, authorization_uri, created_at";

/// The quotes made by the statuses `ids` (also run by `hydrate` on SQLite).
pub(crate) fn quotes_of_sql(backend: Backend, ids: &[Id]) -> Sql {
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let mut sql = Sql::new("");
        let rows = sql.id_rows(ids);
        sql.push(&format!("WITH {rows} {}", quotes_of_page()));
        return sql;
    }
    let mut sql = Sql::new(&format!("SELECT {QUOTE_COLUMNS} FROM quotes WHERE "));
    sql.in_ids(backend, "status_id", ids);
    sql
}

/// SQLite: the quotes made by the statuses of `page_ids` (`Sql::id_rows`), `QUOTE_COLUMNS`.
pub(crate) fn quotes_of_page() -> String {
    format!(
        "SELECT {QUOTE_COLUMNS} FROM page_ids CROSS JOIN quotes WHERE status_id = page_ids.page_id"
    )
}

/// SQLite: (status, accepted quotes of it) for the statuses of `page_ids` that have any.
pub(crate) const QUOTES_COUNTS_OF_PAGE: &str = "SELECT quoted_status_id, COUNT(*) \
    FROM page_ids CROSS JOIN quotes \
    WHERE state = 'accepted' AND quoted_status_id = page_ids.page_id GROUP BY quoted_status_id";

/// How many accepted quotes each of `ids` has (also run by `hydrate` on SQLite).
pub(crate) fn quotes_counts_sql(backend: Backend, ids: &[Id]) -> Sql {
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let mut sql = Sql::new("");
        let rows = sql.id_rows(ids);
        sql.push(&format!("WITH {rows} {QUOTES_COUNTS_OF_PAGE}"));
        return sql;
    }
    let mut sql =
        Sql::new("SELECT quoted_status_id, COUNT(*) FROM quotes WHERE state = 'accepted' AND ");
    sql.in_ids(backend, "quoted_status_id", ids);
    sql.push(" GROUP BY quoted_status_id");
    sql
}

/// A row of `QUOTE_COLUMNS` read on a SQLite reader.
pub(crate) fn quote_from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Quote> {
    Ok(QuoteRow {
        status_id: r.get(0)?,
        quoted_status_id: r.get(1)?,
        quoted_account_id: r.get(2)?,
        quoted_uri: r.get(3)?,
        state: r.get(4)?,
        authorization_uri: r.get(5)?,
        created_at: r.get(6)?,
    }
    .into_domain())
}

// Deserialize: `hydrate` reads these rows as JSON objects on PostgreSQL.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct QuoteRow {
    status_id: i64,
    quoted_status_id: Option<i64>,
    quoted_account_id: Option<i64>,
    quoted_uri: String,
    state: String,
    authorization_uri: Option<String>,
    created_at: i64,
}

impl QuoteRow {
    pub(crate) fn into_domain(self) -> Quote {
        Quote {
            status_id: Id(self.status_id),
            quoted_status_id: self.quoted_status_id.map(Id),
            quoted_account_id: self.quoted_account_id.map(Id),
            quoted_uri: self.quoted_uri,
            // A state a later version wrote is read as the narrowest: not shown.
            state: QuoteState::parse(&self.state).unwrap_or(QuoteState::Rejected),
            authorization_uri: self.authorization_uri,
            created_at: self.created_at,
        }
    }
}

impl Store {
    /// The quotes made by `ids` (statuses), in one statement.
    pub async fn quotes_of(&self, ids: &[Id]) -> Result<Vec<Quote>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<QuoteRow> = quotes_of_sql(self.backend, ids)
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(QuoteRow::into_domain).collect())
    }

    pub async fn quote_of(&self, status: Id) -> Result<Option<Quote>, Error> {
        Ok(self.quotes_of(&[status]).await?.pop())
    }

    /// The quote a `QuoteAuthorization` allowed.
    pub async fn quote_by_authorization(&self, uri: &str) -> Result<Option<Quote>, Error> {
        let row: Option<QuoteRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {QUOTE_COLUMNS} FROM quotes WHERE authorization_uri = $1 LIMIT 1"
        )))
        .bind(uri)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(QuoteRow::into_domain))
    }

    /// How many accepted quotes each of `ids` has.
    pub async fn quotes_counts(&self, ids: &[Id]) -> Result<Vec<(Id, i64)>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64)> = quotes_counts_sql(self.backend, ids)
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(id, n)| (Id(id), n)).collect())
    }

    /// The accepted quotes of `quoted` that `viewer` is shown (as a listing: blocks and mutes
    /// hide), newest first, paged by the quoting post's id.
    pub async fn quoting_statuses(
        &self,
        viewer: Option<Id>,
        quoted: Id,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM quotes q JOIN statuses s ON s.id = q.status_id \
             WHERE q.state = 'accepted' AND q.quoted_status_id = "
        ));
        sql.bind(quoted);
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Listed);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// The quoting posts of `quoted` (any state), for notifying their authors of an edit.
    pub async fn quoting_authors(&self, quoted: Id) -> Result<Vec<(Id, Id)>, Error> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT s.id, s.account_id FROM quotes q JOIN statuses s ON s.id = q.status_id \
             WHERE q.quoted_status_id = $1 AND q.state = 'accepted'",
        )
        .bind(quoted.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(s, a)| (Id(s), Id(a))).collect())
    }
}

impl Tx {
    /// Record what a post quotes; false when it quotes something already.
    pub async fn insert_quote(&mut self, q: &Quote) -> Result<bool, Error> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO quotes ({QUOTE_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (status_id) DO NOTHING"
        )))
        .bind(q.status_id.0)
        .bind(q.quoted_status_id.map(|i| i.0))
        .bind(q.quoted_account_id.map(|i| i.0))
        .bind(&q.quoted_uri)
        .bind(q.state.as_str())
        .bind(q.authorization_uri.as_deref())
        .bind(q.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// Move a quote to `state`, keeping its authorization unless one is given. `from`: only
    /// when it is in one of these states now (false otherwise).
    pub async fn set_quote_state(
        &mut self,
        status: Id,
        from: &[QuoteState],
        state: QuoteState,
        authorization_uri: Option<&str>,
    ) -> Result<bool, Error> {
        let mut sql = Sql::new("UPDATE quotes SET state = ");
        sql.bind(state.as_str().to_string());
        if let Some(a) = authorization_uri {
            sql.push(", authorization_uri = ");
            sql.bind(a.to_string());
        }
        sql.push(" WHERE status_id = ");
        sql.bind(status);
        sql.push(" AND state IN (");
        for (i, f) in from.iter().enumerate() {
            if i > 0 {
                sql.push(",");
            }
            sql.bind(f.as_str().to_string());
        }
        sql.push(")");
        let done = sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// Withdraw an approval (a revoked quote): its authorization is no longer served.
    pub async fn withdraw_interaction_request(&mut self, id: Id) -> Result<(), Error> {
        sqlx::query(
            "UPDATE interaction_requests SET rejected_at = $1 WHERE id = $2 AND rejected_at IS NULL",
        )
        .bind(kring_core::time::now_micros())
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Record the polite request a pending or decided interaction came with (a QuoteRequest
    /// arriving after the quote itself), so that the answer names it.
    pub async fn set_request_uri(&mut self, id: Id, request_uri: &str) -> Result<(), Error> {
        sqlx::query("UPDATE interaction_requests SET request_uri = $1 WHERE id = $2")
            .bind(request_uri)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
