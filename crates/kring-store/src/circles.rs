//! Circles (named audiences a person keeps privately) and the accounts a narrowed post reaches:
//! its friends, circle and group grants expanded, for home feeds and for delivery. Who may *read* a
//! post is still decided only by `sql::visible_to`; these only decide where copies go.
use kring_core::model::{Account, Circle, Page, Status};
use kring_core::{Audience, Error, Grant, Id};

use sqlx::AssertSqlSafe;

use crate::rows::{ACCOUNT_COLUMNS, AccountRow, STATUS_COLUMNS, StatusRow};
use crate::sql::Sql;
use crate::{Store, Tx, db_err};

#[derive(sqlx::FromRow)]
struct CircleRow {
    id: i64,
    account_id: i64,
    title: String,
}

impl From<CircleRow> for Circle {
    fn from(r: CircleRow) -> Circle {
        Circle {
            id: Id(r.id),
            account_id: Id(r.account_id),
            title: r.title,
        }
    }
}

/// The accounts a stored post's friends and circle grants name, with its accounts named
/// directly: one SELECT per kind, united. `$1` is the status.
const AUDIENCE_ACCOUNTS: &str = "\
    SELECT g.target_id AS account_id FROM status_audience g WHERE g.status_id = $1 AND g.kind IN ('account', 'friend') \
    UNION SELECT f.account_id FROM status_audience g JOIN follows f ON f.target_id = g.target_id \
      JOIN follows back ON back.account_id = g.target_id AND back.target_id = f.account_id \
      WHERE g.status_id = $1 AND g.kind = 'friends' \
    UNION SELECT cm.account_id FROM status_audience g JOIN circle_members cm ON cm.circle_id = g.target_id \
      WHERE g.status_id = $1 AND g.kind = 'circle' \
    UNION SELECT gm.account_id FROM status_audience g JOIN group_memberships gm ON gm.group_id = g.target_id \
      WHERE g.status_id = $1 AND g.kind = 'group' AND gm.state = 'member'";

impl Store {
    pub async fn circles_of(&self, owner: Id) -> Result<Vec<Circle>, Error> {
        // Every composer lists them: on SQLite, the readers.
        let mut sql = Sql::new("SELECT id, account_id, title FROM circles WHERE account_id = ");
        sql.bind(owner);
        sql.push(" ORDER BY id");
        let rows: Vec<(i64, i64, String)> = self.triples(sql).await?;
        Ok(rows
            .into_iter()
            .map(|(id, account_id, title)| {
                Circle::from(CircleRow {
                    id,
                    account_id,
                    title,
                })
            })
            .collect())
    }

    pub async fn circle(&self, id: Id) -> Result<Option<Circle>, Error> {
        let row: Option<CircleRow> =
            sqlx::query_as("SELECT id, account_id, title FROM circles WHERE id = $1")
                .bind(id.0)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.map(Circle::from))
    }

    /// The circles of `owner` that `member` is in.
    pub async fn circles_with_member(&self, owner: Id, member: Id) -> Result<Vec<Circle>, Error> {
        let rows: Vec<CircleRow> = sqlx::query_as(
            "SELECT c.id, c.account_id, c.title FROM circles c JOIN circle_members cm ON cm.circle_id = c.id \
             WHERE c.account_id = $1 AND cm.account_id = $2 ORDER BY c.id",
        )
        .bind(owner.0)
        .bind(member.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Circle::from).collect())
    }

    /// A circle's members, paged by account id (as Mastodon pages a list's accounts).
    pub async fn circle_members(&self, circle: Id, page: &Page) -> Result<Vec<Account>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM circle_members cm JOIN accounts a ON a.id = cm.account_id \
             WHERE cm.circle_id = "
        ));
        sql.bind(circle);
        sql.page("a.id", page);
        let rows: Vec<AccountRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(crate::sql::newest_first(rows, page)
            .into_iter()
            .map(Account::from)
            .collect())
    }

    /// A stored post's audience, as it was built (a reply to a narrowed post inherits it).
    pub async fn audience_of(&self, status: Id) -> Result<Option<Audience>, Error> {
        let flags: Option<(i64, i64, i64)> =
            sqlx::query_as("SELECT public, listed, local_only FROM statuses WHERE id = $1")
                .bind(status.0)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        let Some((public, listed, local_only)) = flags else {
            return Ok(None);
        };
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT kind, target_id FROM status_audience WHERE status_id = $1")
                .bind(status.0)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        let mut grants: Vec<Grant> = rows
            .into_iter()
            .filter_map(|(kind, target)| Grant::from_row(&kind, Id(target)))
            .collect();
        grants.sort();
        Ok(Some(Audience {
            public: public != 0,
            listed: listed != 0,
            local_only: local_only != 0,
            grants,
        }))
    }

    /// The newest local posts carrying `grant` (a circle's posts, to tell removed members'
    /// servers).
    pub async fn statuses_granted(&self, grant: Grant, limit: i64) -> Result<Vec<Status>, Error> {
        let (kind, target) = grant.to_row();
        let rows: Vec<StatusRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {STATUS_COLUMNS} FROM statuses s JOIN status_audience g ON g.status_id = s.id \
             WHERE g.kind = $1 AND g.target_id = $2 AND s.local = 1 ORDER BY s.id DESC LIMIT $3"
        )))
        .bind(kind)
        .bind(target.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Status::from).collect())
    }

    /// The remote accounts an audience's grants name (friends, circle members, accounts named
    /// directly; followers are delivered through their collection instead), for delivery of a
    /// narrowed post: nobody else's server hears of it.
    pub async fn remote_accounts_in(&self, audience: &Audience) -> Result<Vec<Id>, Error> {
        let mut out = Vec::new();
        for grant in &audience.grants {
            let (sql, target) = match *grant {
                Grant::Account(id) | Grant::FriendAccount(id) => {
                    ("SELECT a.id FROM accounts a WHERE a.id = $1", id)
                }
                Grant::FriendsOf(id) => (
                    "SELECT a.id FROM follows f JOIN follows back ON back.account_id = f.target_id AND back.target_id = f.account_id \
                     JOIN accounts a ON a.id = f.account_id WHERE f.target_id = $1",
                    id,
                ),
                Grant::Circle(id) => (
                    "SELECT a.id FROM circle_members cm JOIN accounts a ON a.id = cm.account_id WHERE cm.circle_id = $1",
                    id,
                ),
                Grant::GroupMembers(id) => (
                    "SELECT a.id FROM group_memberships gm JOIN accounts a ON a.id = gm.account_id \
                     WHERE gm.group_id = $1 AND gm.state = 'member'",
                    id,
                ),
                Grant::ChatParticipants(id) => (
                    "SELECT a.id FROM chat_participants cp JOIN accounts a ON a.id = cp.account_id \
                     WHERE cp.chat_id = $1 AND cp.state = 'active'",
                    id,
                ),
                Grant::FollowersOf(_) => continue,
            };
            let ids: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(format!(
                "{sql} AND a.domain <> '' AND a.suspended_at IS NULL"
            )))
            .bind(target.0)
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
            out.extend(ids.into_iter().map(Id));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl Tx {
    pub async fn insert_circle(&mut self, c: &Circle, created_at: i64) -> Result<(), Error> {
        sqlx::query("INSERT INTO circles (id, account_id, title, created_at) VALUES ($1,$2,$3,$4)")
            .bind(c.id.0)
            .bind(c.account_id.0)
            .bind(&c.title)
            .bind(created_at)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn rename_circle(&mut self, id: Id, title: &str) -> Result<(), Error> {
        sqlx::query("UPDATE circles SET title = $1 WHERE id = $2")
            .bind(title)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_circle(&mut self, id: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM circles WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn add_circle_member(&mut self, circle: Id, account: Id) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO circle_members (circle_id, account_id) VALUES ($1,$2) ON CONFLICT DO NOTHING",
        )
        .bind(circle.0)
        .bind(account.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn remove_circle_member(&mut self, circle: Id, account: Id) -> Result<bool, Error> {
        let r = sqlx::query("DELETE FROM circle_members WHERE circle_id = $1 AND account_id = $2")
            .bind(circle.0)
            .bind(account.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    /// Take the named accounts of a post's audience not in `keep` out of it: another server
    /// narrowed a post it had addressed to named accounts (a member left a circle). Only ever
    /// narrows: nothing is granted here.
    pub async fn narrow_audience(&mut self, status: Id, keep: &[Id]) -> Result<u64, Error> {
        let mut sql = Sql::new(
            "DELETE FROM status_audience WHERE kind IN ('account', 'friend') AND status_id = ",
        );
        sql.bind(status);
        if !keep.is_empty() {
            sql.push(" AND target_id NOT IN (");
            for (i, k) in keep.iter().enumerate() {
                if i > 0 {
                    sql.push(",");
                }
                sql.bind(*k);
            }
            sql.push(")");
        }
        let r = sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(r.rows_affected())
    }

    /// Put a narrowed post into the home feeds of the local accounts its friends and circle
    /// grants name (accounts named directly go through `fan_out_to`), except those who block
    /// its author.
    pub async fn fan_out_to_audience(&mut self, entry: Id, author: Id) -> Result<u64, Error> {
        let r = sqlx::query(AssertSqlSafe(audience_insert(false)))
            .bind(entry.0)
            .bind(author.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(r.rows_affected())
    }
}

/// The INSERT of a narrowed post (`$1`, by `$2`) into its audience's home feeds; `batch`:
/// only for the accounts after `$3` up to `$4`, naming those it wrote (`RETURNING`).
pub(crate) fn audience_insert(batch: bool) -> String {
    let (range, returning) = if batch {
        (
            " AND r.account_id > $3 AND r.account_id <= $4",
            " RETURNING account_id",
        )
    } else {
        ("", "")
    };
    format!(
        "INSERT INTO home_feed (account_id, entry_id, author_id) \
         SELECT DISTINCT r.account_id, $1, $2 FROM ({AUDIENCE_ACCOUNTS}) r \
         JOIN users u ON u.account_id = r.account_id \
         WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = r.account_id AND b.target_id = $2){range} \
         ON CONFLICT DO NOTHING{returning}"
    )
}

/// The local accounts of a narrowed post's (`$1`) audience after `$2`, in order, at most `$3`
/// (the bounds of one fan-out batch).
pub(crate) fn audience_readers() -> String {
    format!(
        "SELECT DISTINCT r.account_id FROM ({AUDIENCE_ACCOUNTS}) r JOIN users u ON u.account_id = r.account_id \
         WHERE r.account_id > $2 ORDER BY r.account_id LIMIT $3"
    )
}
