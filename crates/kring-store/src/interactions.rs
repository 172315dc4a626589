//! Interaction controls: the approval queue (`interaction_requests`) and each person's default
//! policies. A post's own policy is a column of `statuses` (see `rows`); deciding is the
//! service's (`kring_service::interactions`).
use kring_core::model::{InteractionRequest, Page};
use kring_core::time::now_micros;
use kring_core::{Error, Id, Interaction, PolicyDefaults};

use crate::sql::{Sql, newest_first};
use crate::{Store, Tx, db_err};

const REQUEST_COLUMNS: &str = "id, kind, status_id, target_account_id, account_id, interaction_status_id, interaction_uri, \
    request_uri, created_at, accepted_at, rejected_at, response_uri, authorization_uri";

#[derive(sqlx::FromRow)]
struct RequestRow {
    id: i64,
    kind: String,
    status_id: i64,
    target_account_id: i64,
    account_id: i64,
    interaction_status_id: Option<i64>,
    interaction_uri: String,
    request_uri: Option<String>,
    created_at: i64,
    accepted_at: Option<i64>,
    rejected_at: Option<i64>,
    response_uri: Option<String>,
    authorization_uri: Option<String>,
}

impl RequestRow {
    fn into_domain(self) -> Option<InteractionRequest> {
        Some(InteractionRequest {
            id: Id(self.id),
            kind: Interaction::parse(&self.kind)?,
            status_id: Id(self.status_id),
            target_account_id: Id(self.target_account_id),
            account_id: Id(self.account_id),
            interaction_status_id: self.interaction_status_id.map(Id),
            interaction_uri: self.interaction_uri,
            request_uri: self.request_uri,
            created_at: self.created_at,
            accepted_at: self.accepted_at,
            rejected_at: self.rejected_at,
            response_uri: self.response_uri,
            authorization_uri: self.authorization_uri,
        })
    }
}

/// Which pending requests a listing shows.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only those about this post.
    pub status_id: Option<Id>,
    /// Only these kinds (empty: all).
    pub kinds: Vec<Interaction>,
}

impl Store {
    pub async fn interaction_request(&self, id: Id) -> Result<Option<InteractionRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(RequestRow::into_domain))
    }

    /// The request of an interaction (by its id) or of a polite request (by the request's).
    pub async fn interaction_request_by_uri(
        &self,
        uri: &str,
    ) -> Result<Option<InteractionRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE interaction_uri = $1 OR request_uri = $1 \
             ORDER BY CASE WHEN request_uri = $1 THEN 0 WHEN kind = 'quote' THEN 2 ELSE 1 END, id LIMIT 1"
        )))
        .bind(uri)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(RequestRow::into_domain))
    }

    /// The request about a reply or boost.
    pub async fn interaction_request_of_status(
        &self,
        status: Id,
    ) -> Result<Option<InteractionRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE interaction_status_id = $1 AND kind <> 'quote' ORDER BY id LIMIT 1"
        )))
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(RequestRow::into_domain))
    }

    /// The request about the quote a post makes.
    pub async fn quote_request_of_status(
        &self,
        status: Id,
    ) -> Result<Option<InteractionRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE interaction_status_id = $1 AND kind = 'quote' ORDER BY id DESC LIMIT 1"
        )))
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(RequestRow::into_domain))
    }

    /// The pending favourite of `status` by `account`, if any.
    pub async fn pending_favourite(
        &self,
        account: Id,
        status: Id,
    ) -> Result<Option<InteractionRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE account_id = $1 AND status_id = $2 \
             AND kind = 'favourite' AND accepted_at IS NULL AND rejected_at IS NULL ORDER BY id LIMIT 1"
        )))
        .bind(account.0)
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(RequestRow::into_domain))
    }

    /// The pending requests `target` decides on, newest first, paged by request id.
    pub async fn pending_interaction_requests(
        &self,
        target: Id,
        filter: &RequestFilter,
        page: &Page,
    ) -> Result<Vec<InteractionRequest>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {REQUEST_COLUMNS} FROM interaction_requests WHERE accepted_at IS NULL AND rejected_at IS NULL \
             AND target_account_id = "
        ));
        sql.bind(target);
        if let Some(s) = filter.status_id {
            sql.push(" AND status_id = ");
            sql.bind(s);
        }
        if !filter.kinds.is_empty() {
            sql.push(" AND kind IN (");
            for (i, k) in filter.kinds.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                sql.bind(k.as_str());
            }
            sql.push(")");
        }
        sql.page("id", page);
        let rows: Vec<RequestRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .filter_map(RequestRow::into_domain)
            .collect())
    }

    /// Of `ids` (statuses), those awaiting approval of a request of their own.
    pub async fn statuses_with_requests(&self, ids: &[Id]) -> Result<Vec<Id>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT interaction_status_id FROM interaction_requests WHERE ");
        sql.in_ids(self.backend, "interaction_status_id", ids);
        let rows: Vec<Option<i64>> =
            sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.text.clone()), sql.arguments())
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().flatten().map(Id).collect())
    }

    /// A person's default policies (none set: the server's).
    pub async fn policy_defaults(&self, account: Id) -> Result<PolicyDefaults, Error> {
        // Every composer reads it: on SQLite, the readers.
        let mut sql =
            Sql::new("SELECT policies FROM interaction_policy_defaults WHERE account_id = ");
        sql.bind(account);
        Ok(self
            .text(sql)
            .await?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    /// The `following` collection a remote actor published (empty when unknown).
    pub async fn following_url(&self, account: Id) -> Result<String, Error> {
        let url: Option<String> =
            sqlx::query_scalar("SELECT following_url FROM accounts WHERE id = $1")
                .bind(account.0)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(url.unwrap_or_default())
    }
}

impl Tx {
    /// Record a request; false when one for the same interaction exists already.
    pub async fn insert_interaction_request(
        &mut self,
        r: &InteractionRequest,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "INSERT INTO interaction_requests (id, kind, status_id, target_account_id, account_id, interaction_status_id, \
             interaction_uri, request_uri, created_at, accepted_at, rejected_at, response_uri, authorization_uri) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) ON CONFLICT (interaction_uri, kind) DO NOTHING",
        )
        .bind(r.id.0)
        .bind(r.kind.as_str())
        .bind(r.status_id.0)
        .bind(r.target_account_id.0)
        .bind(r.account_id.0)
        .bind(r.interaction_status_id.map(|i| i.0))
        .bind(&r.interaction_uri)
        .bind(r.request_uri.as_deref())
        .bind(r.created_at)
        .bind(r.accepted_at)
        .bind(r.rejected_at)
        .bind(r.response_uri.as_deref())
        .bind(r.authorization_uri.as_deref())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// Decide a pending request; false when it was decided already (or is gone).
    pub async fn decide_interaction_request(
        &mut self,
        id: Id,
        accepted: bool,
        response_uri: Option<&str>,
        authorization_uri: Option<&str>,
    ) -> Result<bool, Error> {
        let column = if accepted {
            "accepted_at"
        } else {
            "rejected_at"
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE interaction_requests SET {column} = $1, response_uri = $2, authorization_uri = $3 \
             WHERE id = $4 AND accepted_at IS NULL AND rejected_at IS NULL"
        )))
        .bind(now_micros())
        .bind(response_uri)
        .bind(authorization_uri)
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete_interaction_request(&mut self, id: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM interaction_requests WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Forget a favourite's request (it was undone).
    pub async fn delete_favourite_requests(
        &mut self,
        account: Id,
        status: Id,
    ) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM interaction_requests WHERE account_id = $1 AND status_id = $2 AND kind = 'favourite'",
        )
        .bind(account.0)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_policy_defaults(
        &mut self,
        account: Id,
        defaults: &PolicyDefaults,
    ) -> Result<(), Error> {
        let json = serde_json::to_string(defaults).map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO interaction_policy_defaults (account_id, policies, updated_at) VALUES ($1,$2,$3) \
             ON CONFLICT (account_id) DO UPDATE SET policies = excluded.policies, updated_at = excluded.updated_at",
        )
        .bind(account.0)
        .bind(json)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

/// Interaction requests waiting for `target`'s answer (a placeholder), up to `limit`: a
/// scalar subquery of `Store::badges` (the condition `pending_interaction_requests` lists by).
pub(crate) fn pending_requests_sql(target: &str, limit: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM (SELECT 1 FROM interaction_requests WHERE accepted_at IS NULL \
         AND rejected_at IS NULL AND target_account_id = {target} LIMIT {limit}) AS p)"
    )
}
