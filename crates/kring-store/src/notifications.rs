//! Notifications, markers (read positions) and filters.
use std::collections::HashMap;

use kring_core::model::{
    Filter, FilterAction, FilterKeyword, FilterStatus, Marker, Notification, NotificationType, Page,
};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use crate::rows::{MarkerRow, NotificationRow};
use crate::sql::{Sql, newest_first, notification_shown_to};
use crate::{Store, Tx, db_err};

const NOTIFICATION_COLUMNS: &str = "n.id, n.account_id, n.kind, n.from_account_id, n.status_id, n.group_id, n.report_id, n.created_at";

/// `AND` the notification aliased `n` is shown to its owner (bound at `owner`): its status (if
/// any) still readable by the owner, its sender not blocked, domain-blocked or muted with
/// notifications by the owner. The same rule as statuses (`sql`), read when shown, so a new
/// block or a lost grant hides notifications already received.
///
/// A notification for a group's moderators (`group.request`, `group.report`) is shown only
/// while the owner still moderates that group, and `admin.report` only while the owner is one
/// of the server's moderators: a demoted moderator keeps no window into the queue.
fn and_notification_shown(sql: &mut Sql, owner: &str) {
    let now = sql.param(now_micros());
    sql.push(" AND ");
    sql.push(&notification_shown_to(owner, &now));
    sql.push(&format!(
        " AND (n.kind NOT IN ('group.request', 'group.report') OR EXISTS (SELECT 1 FROM group_memberships gm \
         WHERE gm.group_id = n.group_id AND gm.account_id = {owner} AND gm.state = 'member' \
         AND gm.role IN ('moderator', 'admin', 'owner'))) \
         AND (n.kind <> 'admin.report' OR EXISTS (SELECT 1 FROM users u WHERE u.account_id = {owner} \
         AND u.role IN ('moderator', 'admin')))"
    ));
}

impl Store {
    /// A page of `account`'s notifications that are shown to it.
    pub async fn notifications(
        &self,
        account: Id,
        types: &[NotificationType],
        from: Option<Id>,
        page: &Page,
    ) -> Result<Vec<Notification>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.account_id = "
        ));
        let owner = sql.bind(account);
        and_notification_shown(&mut sql, &owner);
        if !types.is_empty() {
            sql.push(" AND n.kind IN (");
            for (i, t) in types.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                sql.bind(t.as_str());
            }
            sql.push(")");
        }
        if let Some(from) = from {
            sql.push(" AND n.from_account_id = ");
            sql.bind(from);
        }
        sql.page("n.id", page);
        let rows: Vec<NotificationRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .filter_map(NotificationRow::into_domain)
            .collect())
    }

    pub async fn notification(&self, account: Id, id: Id) -> Result<Option<Notification>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = "
        ));
        sql.bind(id);
        sql.push(" AND n.account_id = ");
        let owner = sql.bind(account);
        and_notification_shown(&mut sql, &owner);
        let row: Option<NotificationRow> = sql
            .query_as()
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        Ok(row.and_then(NotificationRow::into_domain))
    }

    /// Notifications newer than the account's "notifications" marker, counted up to `limit`.
    pub async fn unread_notifications(&self, account: Id, limit: i64) -> Result<i64, Error> {
        let mut sql = crate::sql::Sql::new("SELECT ");
        let (account, limit) = (sql.param(account), sql.param(limit));
        sql.push(&unread_notifications_sql(&account, &limit));
        self.count(sql).await
    }

    pub async fn markers(&self, account: Id) -> Result<Vec<Marker>, Error> {
        let rows: Vec<MarkerRow> = sqlx::query_as(
            "SELECT timeline, last_read_id, version, updated_at FROM markers WHERE account_id = $1",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Marker::from).collect())
    }

    /// Move a marker forward to `last_read`, never back (one statement: no read first, no
    /// race between two pages read at once).
    pub async fn advance_marker(
        &self,
        account: Id,
        timeline: &str,
        last_read: Id,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) VALUES ($1,$2,$3,1,$4) \
             ON CONFLICT (account_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id, \
             version = markers.version + 1, updated_at = excluded.updated_at \
             WHERE markers.last_read_id < excluded.last_read_id",
        )
        .bind(account.0)
        .bind(timeline)
        .bind(last_read.0)
        .bind(now_micros())
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn set_marker(
        &self,
        account: Id,
        timeline: &str,
        last_read: Id,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO markers (account_id, timeline, last_read_id, version, updated_at) VALUES ($1,$2,$3,1,$4) \
             ON CONFLICT (account_id, timeline) DO UPDATE SET last_read_id = excluded.last_read_id, \
             version = markers.version + 1, updated_at = excluded.updated_at",
        )
        .bind(account.0)
        .bind(timeline)
        .bind(last_read.0)
        .bind(now_micros())
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn filters(&self, account: Id) -> Result<Vec<Filter>, Error> {
        Ok(self
            .filters_of(&[account])
            .await?
            .remove(&account)
            .unwrap_or_default())
    }

    /// The filters of each of `accounts` (three statements for all: a live event is shown to
    /// many viewers at once). Accounts without filters have no entry.
    pub async fn filters_of(&self, accounts: &[Id]) -> Result<HashMap<Id, Vec<Filter>>, Error> {
        let mut out: HashMap<Id, Vec<Filter>> = HashMap::new();
        if accounts.is_empty() {
            return Ok(out);
        }
        let backend = self.backend;
        let heads_sql = filters_sql(backend, accounts);
        // Asked on every timeline read of a viewer not in memory: on SQLite on the readers, all
        // three statements in one read, not three hops to sqlx's thread.
        let (heads, keywords, statuses) = match &self.readers {
            Some(r) => {
                let accounts = accounts.to_vec();
                r.read(move |c| {
                    let heads: Vec<FilterHead> =
                        crate::readers::all(c, &heads_sql, crate::readers::tuple)?;
                    if heads.is_empty() {
                        return Ok((heads, Vec::new(), Vec::new()));
                    }
                    let keywords: Vec<KeywordRow> = crate::readers::all(
                        c,
                        &filter_keywords_sql(backend, &accounts),
                        crate::readers::tuple,
                    )?;
                    let statuses: Vec<FilteredRow> = crate::readers::all(
                        c,
                        &filter_statuses_sql(backend, &accounts),
                        crate::readers::tuple,
                    )?;
                    Ok((heads, keywords, statuses))
                })
                .await?
            }
            None => {
                let heads: Vec<FilterHead> = heads_sql
                    .query_as()
                    .fetch_all(self.pool())
                    .await
                    .map_err(db_err)?;
                // Most accounts have no filters, and every timeline read asks.
                if heads.is_empty() {
                    return Ok(out);
                }
                let keywords: Vec<KeywordRow> = filter_keywords_sql(backend, accounts)
                    .query_as()
                    .fetch_all(self.pool())
                    .await
                    .map_err(db_err)?;
                let statuses: Vec<FilteredRow> = filter_statuses_sql(backend, accounts)
                    .query_as()
                    .fetch_all(self.pool())
                    .await
                    .map_err(db_err)?;
                (heads, keywords, statuses)
            }
        };
        for (id, account, title, context, action, expires_at) in heads {
            out.entry(Id(account)).or_default().push(Filter {
                id: Id(id),
                account_id: Id(account),
                title,
                context: serde_json::from_str(&context).unwrap_or_default(),
                action: match action.as_str() {
                    "hide" => FilterAction::Hide,
                    "blur" => FilterAction::Blur,
                    _ => FilterAction::Warn,
                },
                expires_at,
                keywords: keywords
                    .iter()
                    .filter(|k| k.1 == id)
                    .map(|k| FilterKeyword {
                        id: Id(k.0),
                        keyword: k.2.clone(),
                        whole_word: k.3 != 0,
                    })
                    .collect(),
                statuses: statuses
                    .iter()
                    .filter(|s| s.1 == id)
                    .map(|s| FilterStatus {
                        id: Id(s.0),
                        status_id: Id(s.2),
                    })
                    .collect(),
            });
        }
        Ok(out)
    }
}

/// A filter as `filters_sql` reads it: id, account, title, context, action, expiry.
type FilterHead = (i64, i64, String, String, String, Option<i64>);
/// A keyword as `filter_keywords_sql` reads it: id, filter, keyword, whole word.
type KeywordRow = (i64, i64, String, i64);
/// A filtered status as `filter_statuses_sql` reads it: id, filter, status.
type FilteredRow = (i64, i64, i64);

/// The filters of `accounts`, oldest first.
fn filters_sql(backend: crate::Backend, accounts: &[Id]) -> Sql {
    let mut sql =
        Sql::new("SELECT id, account_id, title, context, action, expires_at FROM filters WHERE ");
    sql.in_ids(backend, "account_id", accounts);
    sql.push(" ORDER BY id");
    sql
}

/// The keywords of `accounts`' filters.
fn filter_keywords_sql(backend: crate::Backend, accounts: &[Id]) -> Sql {
    let mut sql = Sql::new(
        "SELECT k.id, k.filter_id, k.keyword, k.whole_word FROM filter_keywords k \
         JOIN filters f ON f.id = k.filter_id WHERE ",
    );
    sql.in_ids(backend, "f.account_id", accounts);
    sql.push(" ORDER BY k.id");
    sql
}

/// The statuses `accounts`' filters name.
fn filter_statuses_sql(backend: crate::Backend, accounts: &[Id]) -> Sql {
    let mut sql = Sql::new(
        "SELECT s.id, s.filter_id, s.status_id FROM filter_statuses s \
         JOIN filters f ON f.id = s.filter_id WHERE ",
    );
    sql.in_ids(backend, "f.account_id", accounts);
    sql.push(" ORDER BY s.id");
    sql
}

impl Tx {
    pub async fn insert_notification(&mut self, n: &Notification) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO notifications (id, account_id, kind, from_account_id, status_id, group_id, report_id, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(n.id.0)
        .bind(n.account_id.0)
        .bind(n.kind.as_str())
        .bind(n.from_account_id.0)
        .bind(n.status_id.map(|i| i.0))
        .bind(n.group_id.map(|i| i.0))
        .bind(n.report_id.map(|i| i.0))
        .bind(n.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Remove every notification of `kind` from `from` about `group`, whoever received it:
    /// a request once a moderator decided it (every moderator was told), an invitation once
    /// answered.
    pub async fn delete_group_notifications(
        &mut self,
        kind: NotificationType,
        group: Id,
        from: Option<Id>,
        to: Option<Id>,
    ) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM notifications WHERE kind = $1 AND group_id = $2 \
             AND ($3 = 0 OR from_account_id = $3) AND ($4 = 0 OR account_id = $4)",
        )
        .bind(kind.as_str())
        .bind(group.0)
        .bind(from.map_or(0, |i| i.0))
        .bind(to.map_or(0, |i| i.0))
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Remove notifications matching a (kind, from, status) — when the cause is undone.
    pub async fn delete_notifications(
        &mut self,
        account: Id,
        kind: NotificationType,
        from: Id,
        status: Option<Id>,
    ) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM notifications WHERE account_id = $1 AND kind = $2 AND from_account_id = $3 \
             AND ($4 = 0 OR status_id = $4)",
        )
        .bind(account.0)
        .bind(kind.as_str())
        .bind(from.0)
        .bind(status.map(|s| s.0).unwrap_or(0))
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn dismiss_notification(&mut self, account: Id, id: Id) -> Result<bool, Error> {
        let r = sqlx::query("DELETE FROM notifications WHERE id = $1 AND account_id = $2")
            .bind(id.0)
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn clear_notifications(&mut self, account: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM notifications WHERE account_id = $1")
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Insert or replace a filter with its keywords and statuses.
    pub async fn save_filter(&mut self, f: &Filter) -> Result<(), Error> {
        sqlx::query("DELETE FROM filters WHERE id = $1")
            .bind(f.id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO filters (id, account_id, title, context, action, expires_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(f.id.0)
        .bind(f.account_id.0)
        .bind(&f.title)
        .bind(serde_json::to_string(&f.context).unwrap_or_else(|_| "[]".into()))
        .bind(match f.action {
            FilterAction::Warn => "warn",
            FilterAction::Hide => "hide",
            FilterAction::Blur => "blur",
        })
        .bind(f.expires_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        for k in &f.keywords {
            sqlx::query("INSERT INTO filter_keywords (id, filter_id, keyword, whole_word) VALUES ($1,$2,$3,$4)")
                .bind(k.id.0)
                .bind(f.id.0)
                .bind(&k.keyword)
                .bind(k.whole_word as i64)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        for s in &f.statuses {
            sqlx::query("INSERT INTO filter_statuses (id, filter_id, status_id) VALUES ($1,$2,$3)")
                .bind(s.id.0)
                .bind(f.id.0)
                .bind(s.status_id.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub async fn delete_filter(&mut self, account: Id, id: Id) -> Result<bool, Error> {
        let r = sqlx::query("DELETE FROM filters WHERE id = $1 AND account_id = $2")
            .bind(id.0)
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }
}

/// How many notifications `account` (a placeholder) has newer than its "notifications"
/// marker, up to `limit`: a scalar subquery (also one of `Store::badges`).
pub(crate) fn unread_notifications_sql(account: &str, limit: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM (SELECT 1 FROM notifications n WHERE n.account_id = {account} AND n.id > \
         COALESCE((SELECT m.last_read_id FROM markers m WHERE m.account_id = {account} \
         AND m.timeline = 'notifications'), 0) LIMIT {limit}) AS u)"
    )
}
