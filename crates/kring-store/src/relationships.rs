//! Follows, follow requests, blocks, mutes, endorsements and private notes between accounts,
//! and the domains an account blocked.
use kring_core::model::{Account, Page, Relationship};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::rows::{ACCOUNT_COLUMNS, AccountRow};
use crate::sql::{Sql, in_set, newest_first};
use crate::{Store, Tx, db_err};

/// Which account-to-account table a paged listing reads.
#[derive(Debug, Clone, Copy)]
pub enum Edge {
    /// Accounts following the subject.
    Followers,
    /// Accounts the subject follows.
    Following,
    /// Accounts the subject follows that follow it back (paged by the subject's follow).
    Friends,
    /// Accounts asking to follow the subject.
    FollowRequests,
    Blocks,
    Mutes,
    Endorsements,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EdgeRow {
    pub edge_id: i64,
    #[sqlx(flatten)]
    pub account: AccountRow,
}

#[derive(sqlx::FromRow)]
struct RelRow {
    following: i64,
    showing_reblogs: i64,
    notifying: i64,
    followed_by: i64,
    blocking: i64,
    blocked_by: i64,
    muting: i64,
    muting_notifications: i64,
    requested: i64,
    requested_by: i64,
    endorsed: i64,
    domain_blocking: i64,
    note: Option<String>,
}

/// Options of a follow (or a request to follow).
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    pub show_reblogs: bool,
    pub notify: bool,
}

impl Store {
    /// A page of accounts on one edge of `subject`, newest edge first, with each edge's id
    /// (Mastodon pages these lists by the edge's id, not the account's).
    pub async fn edge_accounts(
        &self,
        edge: Edge,
        subject: Id,
        page: &Page,
    ) -> Result<Vec<(Id, Account)>, Error> {
        let (table, subject_col, other_col) = match edge {
            Edge::Followers => ("follows", "target_id", "account_id"),
            Edge::Following | Edge::Friends => ("follows", "account_id", "target_id"),
            Edge::FollowRequests => ("follow_requests", "target_id", "account_id"),
            Edge::Blocks => ("blocks", "account_id", "target_id"),
            Edge::Mutes => ("mutes", "account_id", "target_id"),
            Edge::Endorsements => ("endorsements", "account_id", "target_id"),
        };
        let mut sql = Sql::new(&format!(
            "SELECT e.id AS edge_id, {ACCOUNT_COLUMNS} FROM {table} e JOIN accounts a ON a.id = e.{other_col} \
             WHERE a.suspended_at IS NULL AND e.{subject_col} = "
        ));
        let subject_param = sql.bind(subject);
        if matches!(edge, Edge::Friends) {
            sql.push(&format!(
                " AND EXISTS (SELECT 1 FROM follows back WHERE back.account_id = e.target_id AND back.target_id = {subject_param})"
            ));
        }
        if matches!(edge, Edge::Mutes) {
            // Expired mutes are not deleted; they just stop counting.
            sql.push(" AND (e.expires_at IS NULL OR e.expires_at > ");
            sql.bind(now_micros());
            sql.push(")");
        }
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

    /// How many ask to follow `account` (the list `edge_accounts` gives, up to 1,000, counted
    /// without reading the accounts; on the hot reads' connections: every `verify_credentials`
    /// asks).
    pub async fn follow_request_count(&self, account: Id) -> Result<i64, Error> {
        let mut sql = Sql::new(
            "SELECT COUNT(*) FROM (SELECT 1 FROM follow_requests e JOIN accounts a ON a.id = e.account_id \
             WHERE a.suspended_at IS NULL AND e.target_id = ",
        );
        sql.bind(account);
        sql.push(" LIMIT 1000) n");
        self.count(sql).await
    }

    pub async fn relationship(&self, viewer: Id, target: Id) -> Result<Relationship, Error> {
        let r: RelRow = sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM follows WHERE account_id = $1 AND target_id = $2) AS following, \
             (SELECT COUNT(*) FROM follows WHERE account_id = $1 AND target_id = $2 AND show_reblogs = 1) AS showing_reblogs, \
             (SELECT COUNT(*) FROM follows WHERE account_id = $1 AND target_id = $2 AND notify = 1) AS notifying, \
             (SELECT COUNT(*) FROM follows WHERE account_id = $2 AND target_id = $1) AS followed_by, \
             (SELECT COUNT(*) FROM blocks WHERE account_id = $1 AND target_id = $2) AS blocking, \
             (SELECT COUNT(*) FROM blocks WHERE account_id = $2 AND target_id = $1) AS blocked_by, \
             (SELECT COUNT(*) FROM mutes WHERE account_id = $1 AND target_id = $2 \
               AND (expires_at IS NULL OR expires_at > $3)) AS muting, \
             (SELECT COUNT(*) FROM mutes WHERE account_id = $1 AND target_id = $2 AND notifications = 1 \
               AND (expires_at IS NULL OR expires_at > $3)) AS muting_notifications, \
             (SELECT COUNT(*) FROM follow_requests WHERE account_id = $1 AND target_id = $2) AS requested, \
             (SELECT COUNT(*) FROM follow_requests WHERE account_id = $2 AND target_id = $1) AS requested_by, \
             (SELECT COUNT(*) FROM endorsements WHERE account_id = $1 AND target_id = $2) AS endorsed, \
             (SELECT COUNT(*) FROM account_domain_blocks d JOIN accounts t ON t.domain = d.domain \
               WHERE t.id = $2 AND d.account_id = $1) AS domain_blocking, \
             (SELECT comment FROM account_notes WHERE account_id = $1 AND target_id = $2) AS note",
        )
        .bind(viewer.0)
        .bind(target.0)
        .bind(now_micros())
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        // A pending request shows as not-yet-following with the requested options.
        let requested = r.requested > 0;
        Ok(Relationship {
            id: target,
            following: r.following > 0,
            showing_reblogs: r.showing_reblogs > 0 || requested,
            notifying: r.notifying > 0,
            followed_by: r.followed_by > 0,
            blocking: r.blocking > 0,
            blocked_by: r.blocked_by > 0,
            muting: r.muting > 0,
            muting_notifications: r.muting_notifications > 0,
            requested,
            requested_by: r.requested_by > 0,
            endorsed: r.endorsed > 0,
            domain_blocking: r.domain_blocking > 0,
            note: r.note.unwrap_or_default(),
        })
    }

    /// The followers of `target` whose accounts are on `domain` (a domain it just blocked).
    pub async fn followers_on_domain(&self, target: Id, domain: &str) -> Result<Vec<Id>, Error> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN accounts a ON a.id = f.account_id \
             WHERE f.target_id = $1 AND a.domain = $2",
        )
        .bind(target.0)
        .bind(domain)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }

    pub async fn follows(&self, account: Id, target: Id) -> Result<bool, Error> {
        self.exists("follows", account, target).await
    }

    /// The follows between `account` and each of `others`, either way, as (follower,
    /// followed) pairs: one statement for a page's authors (on SQLite on the readers), where
    /// `follows` would be two per author.
    pub async fn follows_between(
        &self,
        account: Id,
        others: &[Id],
    ) -> Result<Vec<(Id, Id)>, Error> {
        if others.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("SELECT account_id, target_id FROM follows WHERE account_id = ");
        let me = sql.bind(account);
        let set = sql.id_set(self.backend, others);
        sql.push(&format!(
            " AND {} UNION ALL SELECT account_id, target_id FROM follows WHERE target_id = {me} AND {}",
            in_set(self.backend, "target_id", &set),
            in_set(self.backend, "account_id", &set),
        ));
        let rows: Vec<(i64, i64)> = self.pairs(sql).await?;
        Ok(rows.into_iter().map(|(a, b)| (Id(a), Id(b))).collect())
    }

    pub async fn blocks(&self, account: Id, target: Id) -> Result<bool, Error> {
        self.exists("blocks", account, target).await
    }

    pub async fn has_follow_request(&self, account: Id, target: Id) -> Result<bool, Error> {
        self.exists("follow_requests", account, target).await
    }

    /// Either blocks the other.
    pub async fn blocked_either(&self, a: Id, b: Id) -> Result<bool, Error> {
        Ok(self.blocks(a, b).await? || self.blocks(b, a).await?)
    }

    async fn exists(&self, table: &str, account: Id, target: Id) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE account_id = $1 AND target_id = $2"
        )))
        .bind(account.0)
        .bind(target.0)
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        Ok(n > 0)
    }

    /// Whether `account` muted `target`, and whether notifications are muted too.
    pub async fn mute(&self, account: Id, target: Id) -> Result<Option<bool>, Error> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT notifications, expires_at FROM mutes WHERE account_id = $1 AND target_id = $2",
        )
        .bind(account.0)
        .bind(target.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(|(n, exp)| match exp {
            Some(t) if t <= now_micros() => None,
            _ => Some(n != 0),
        }))
    }

    /// A page of the domains `account` blocked, newest first, with each block's id for paging.
    pub async fn domain_blocks(
        &self,
        account: Id,
        page: &Page,
    ) -> Result<Vec<(Id, String)>, Error> {
        let mut sql = Sql::new("SELECT id, domain FROM account_domain_blocks WHERE account_id = ");
        sql.bind(account);
        sql.page("id", page);
        let rows: Vec<(i64, String)> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(newest_first(rows, page)
            .into_iter()
            .map(|(id, d)| (Id(id), d))
            .collect())
    }

    /// Accounts `viewer` follows that also follow `target`.
    pub async fn familiar_followers(
        &self,
        viewer: Id,
        target: Id,
        limit: i64,
    ) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM follows mine JOIN follows theirs ON theirs.account_id = mine.target_id \
             JOIN accounts a ON a.id = mine.target_id \
             WHERE mine.account_id = $1 AND theirs.target_id = $2 AND a.suspended_at IS NULL \
             ORDER BY mine.id DESC LIMIT $3"
        )))
        .bind(viewer.0)
        .bind(target.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Account::from).collect())
    }

    /// Local accounts following `target` (for fan-out and streaming).
    pub async fn local_follower_ids(&self, target: Id) -> Result<Vec<Id>, Error> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT f.account_id FROM follows f JOIN users u ON u.account_id = f.account_id WHERE f.target_id = $1",
        )
        .bind(target.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Id).collect())
    }
}

impl Tx {
    /// Returns false when the follow already existed (its options are updated then).
    pub async fn insert_follow(
        &mut self,
        account: Id,
        target: Id,
        opts: FollowOptions,
        uri: Option<&str>,
    ) -> Result<bool, Error> {
        let updated = sqlx::query(
            "UPDATE follows SET show_reblogs = $1, notify = $2 WHERE account_id = $3 AND target_id = $4",
        )
        .bind(opts.show_reblogs as i64)
        .bind(opts.notify as i64)
        .bind(account.0)
        .bind(target.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        if updated.rows_affected() > 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO follows (id, account_id, target_id, show_reblogs, notify, uri, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(target.0)
        .bind(opts.show_reblogs as i64)
        .bind(opts.notify as i64)
        .bind(uri)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        self.mirror_remote_group_membership(account, target, true)
            .await?;
        Ok(true)
    }

    pub async fn delete_follow(&mut self, account: Id, target: Id) -> Result<bool, Error> {
        let deleted = self.delete_edge("follows", account, target).await?;
        if deleted {
            self.mirror_remote_group_membership(account, target, false)
                .await?;
        }
        Ok(deleted)
    }

    /// A local person's membership of a group on another server is their follow of it, as
    /// that server decides: mirrored here so the group's page, relationships and posting
    /// treat it as their other groups. (Local groups write memberships themselves.)
    async fn mirror_remote_group_membership(
        &mut self,
        account: Id,
        group: Id,
        member: bool,
    ) -> Result<(), Error> {
        let q = if member {
            sqlx::query(
                "INSERT INTO group_memberships (group_id, account_id, state, role, created_at) \
                 SELECT g.account_id, $1, 'member', 'member', $2 FROM groups g \
                 JOIN accounts a ON a.id = g.account_id \
                 WHERE g.account_id = $3 AND a.domain <> '' ON CONFLICT DO NOTHING",
            )
            .bind(account.0)
            .bind(now_micros())
            .bind(group.0)
        } else {
            sqlx::query(
                "DELETE FROM group_memberships WHERE account_id = $1 AND group_id = $2 \
                 AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = $2 AND a.domain <> '')",
            )
            .bind(account.0)
            .bind(group.0)
        };
        q.execute(&mut *self.tx).await.map_err(db_err)?;
        Ok(())
    }

    pub async fn insert_follow_request(
        &mut self,
        account: Id,
        target: Id,
        opts: FollowOptions,
        uri: Option<&str>,
    ) -> Result<bool, Error> {
        let r = sqlx::query(
            "INSERT INTO follow_requests (id, account_id, target_id, show_reblogs, notify, uri, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (account_id, target_id) DO NOTHING",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(target.0)
        .bind(opts.show_reblogs as i64)
        .bind(opts.notify as i64)
        .bind(uri)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    /// Remove a pending request, returning its options and uri if there was one.
    pub async fn take_follow_request(
        &mut self,
        account: Id,
        target: Id,
    ) -> Result<Option<(FollowOptions, Option<String>)>, Error> {
        let row: Option<(i64, i64, Option<String>)> = sqlx::query_as(
            "SELECT show_reblogs, notify, uri FROM follow_requests WHERE account_id = $1 AND target_id = $2",
        )
        .bind(account.0)
        .bind(target.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        if row.is_some() {
            self.delete_edge("follow_requests", account, target).await?;
        }
        Ok(row.map(|(r, n, uri)| {
            (
                FollowOptions {
                    show_reblogs: r != 0,
                    notify: n != 0,
                },
                uri,
            )
        }))
    }

    pub async fn insert_block(&mut self, account: Id, target: Id) -> Result<bool, Error> {
        let r = sqlx::query(
            "INSERT INTO blocks (id, account_id, target_id, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (account_id, target_id) DO NOTHING",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(target.0)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_block(&mut self, account: Id, target: Id) -> Result<bool, Error> {
        self.delete_edge("blocks", account, target).await
    }

    pub async fn upsert_mute(
        &mut self,
        account: Id,
        target: Id,
        notifications: bool,
        expires_at: Option<i64>,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO mutes (id, account_id, target_id, notifications, expires_at, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (account_id, target_id) \
             DO UPDATE SET notifications = excluded.notifications, expires_at = excluded.expires_at",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(target.0)
        .bind(notifications as i64)
        .bind(expires_at)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_mute(&mut self, account: Id, target: Id) -> Result<bool, Error> {
        self.delete_edge("mutes", account, target).await
    }

    /// Block a domain for `account`; false when it was already blocked.
    pub async fn insert_domain_block(&mut self, account: Id, domain: &str) -> Result<bool, Error> {
        let r = sqlx::query(
            "INSERT INTO account_domain_blocks (id, account_id, domain, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (account_id, domain) DO NOTHING",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(domain)
        .bind(now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_domain_block(&mut self, account: Id, domain: &str) -> Result<bool, Error> {
        let r =
            sqlx::query("DELETE FROM account_domain_blocks WHERE account_id = $1 AND domain = $2")
                .bind(account.0)
                .bind(domain)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn insert_endorsement(&mut self, account: Id, target: Id) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO endorsements (id, account_id, target_id) VALUES ($1,$2,$3) \
             ON CONFLICT (account_id, target_id) DO NOTHING",
        )
        .bind(Id::generate().0)
        .bind(account.0)
        .bind(target.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn delete_endorsement(&mut self, account: Id, target: Id) -> Result<bool, Error> {
        self.delete_edge("endorsements", account, target).await
    }

    pub async fn set_note(&mut self, account: Id, target: Id, comment: &str) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO account_notes (account_id, target_id, comment) VALUES ($1,$2,$3) \
             ON CONFLICT (account_id, target_id) DO UPDATE SET comment = excluded.comment",
        )
        .bind(account.0)
        .bind(target.0)
        .bind(comment)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_edge(&mut self, table: &str, account: Id, target: Id) -> Result<bool, Error> {
        let r = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE account_id = $1 AND target_id = $2"
        )))
        .bind(account.0)
        .bind(target.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }
}
