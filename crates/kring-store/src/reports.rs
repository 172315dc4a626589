//! Reports to the moderators: listing, one by one, and resolving. (Filing lives on `Tx`, in
//! `federation.rs`, as received Flag activities file them too.)
use kring_core::model::{Report, ReportCategory};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use crate::{Store, db_err};

const REPORT_COLUMNS: &str = "id, account_id, target_account_id, status_ids, comment, category, forwarded, uri, \
    created_at, action_taken_at, action_taken_by, group_id";

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    account_id: i64,
    target_account_id: i64,
    status_ids: String,
    comment: String,
    category: String,
    forwarded: i64,
    uri: Option<String>,
    created_at: i64,
    action_taken_at: Option<i64>,
    action_taken_by: Option<i64>,
    group_id: Option<i64>,
}

impl From<ReportRow> for Report {
    fn from(r: ReportRow) -> Report {
        Report {
            id: Id(r.id),
            account_id: Id(r.account_id),
            target_account_id: Id(r.target_account_id),
            status_ids: serde_json::from_str::<Vec<i64>>(&r.status_ids)
                .unwrap_or_default()
                .into_iter()
                .map(Id)
                .collect(),
            comment: r.comment,
            category: ReportCategory::parse(&r.category).unwrap_or(ReportCategory::Other),
            forwarded: r.forwarded != 0,
            uri: r.uri,
            created_at: r.created_at,
            action_taken_at: r.action_taken_at,
            action_taken_by: r.action_taken_by.map(Id),
            group_id: r.group_id.map(Id),
        }
    }
}

impl Store {
    /// Reports newest first: the open ones, or the resolved ones; at most `limit`.
    pub async fn reports(&self, resolved: bool, limit: i64) -> Result<Vec<Report>, Error> {
        let condition = if resolved {
            "action_taken_at IS NOT NULL"
        } else {
            "action_taken_at IS NULL"
        };
        let rows: Vec<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE {condition} ORDER BY id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Report::from).collect())
    }

    /// Open reports, counted up to `limit`.
    pub async fn open_reports(&self, limit: i64) -> Result<i64, Error> {
        let mut sql = crate::sql::Sql::new("SELECT ");
        let limit = sql.param(limit);
        sql.push(&open_reports_sql(&limit));
        self.count(sql).await
    }

    pub async fn report(&self, id: Id) -> Result<Option<Report>, Error> {
        let row: Option<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Report::from))
    }

    /// Mark a report resolved by `moderator`; false when there is no such open report.
    pub async fn resolve_report(&self, id: Id, moderator: Id) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE reports SET action_taken_at = $1, action_taken_by = $2 \
             WHERE id = $3 AND action_taken_at IS NULL",
        )
        .bind(now_micros())
        .bind(moderator.0)
        .bind(id.0)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }

    /// The server's moderators and admins, who are told of every report.
    pub async fn server_staff(&self) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT account_id FROM users WHERE role IN ('moderator', 'admin') ORDER BY account_id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// Reports about posts in `group`, newest first (its moderators' queue).
    pub async fn group_reports(
        &self,
        group: Id,
        resolved: bool,
        limit: i64,
    ) -> Result<Vec<Report>, Error> {
        let condition = if resolved {
            "action_taken_at IS NOT NULL"
        } else {
            "action_taken_at IS NULL"
        };
        let rows: Vec<ReportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REPORT_COLUMNS} FROM reports WHERE group_id = $1 AND {condition} ORDER BY id DESC LIMIT $2"
        )))
        .bind(group.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Report::from).collect())
    }
}

/// Reports waiting for a moderator, up to `limit` (a placeholder): a scalar subquery.
pub(crate) fn open_reports_sql(limit: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM (SELECT 1 FROM reports WHERE action_taken_at IS NULL LIMIT {limit}) AS r)"
    )
}
