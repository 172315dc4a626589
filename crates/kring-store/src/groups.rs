//! Groups: the group record beside its account, memberships (one state per group and
//! account), and the posts a group carries. Who may *read* a members-only post is still
//! decided only by `sql::visible_to` (the `group` grant); these decide where copies go and who
//! may act.
use std::collections::HashMap;

use kring_core::model::{Account, Page, Status};
use kring_core::time::Micros;
use kring_core::{Error, Group, GroupKind, GroupRole, Id, Membership};
use sqlx::AssertSqlSafe;

use crate::rows::{ACCOUNT_COLUMNS, AccountRow, STATUS_COLUMNS};
use crate::sql::{Shown, Sql};
use crate::{Backend, Store, Tx, db_err};

/// SQLite: (status, group) for the statuses of `page_ids` (`Sql::id_rows`) in a group.
pub(crate) const GROUPS_OF_PAGE: &str = "SELECT status_id, group_id FROM page_ids \
    CROSS JOIN group_statuses WHERE removed_at IS NULL AND status_id = page_ids.page_id";

/// The group each of `ids` is in, if any (also run by `hydrate` on SQLite).
pub(crate) fn groups_of_statuses_sql(backend: Backend, ids: &[Id]) -> Sql {
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let mut sql = Sql::new("");
        let rows = sql.id_rows(ids);
        sql.push(&format!("WITH {rows} {GROUPS_OF_PAGE}"));
        return sql;
    }
    let mut sql =
        Sql::new("SELECT status_id, group_id FROM group_statuses WHERE removed_at IS NULL AND ");
    sql.in_ids(backend, "status_id", ids);
    sql
}

const GROUP_COLUMNS: &str = "g.account_id, g.kind, g.members_only, g.rules, g.created_at, \
    (SELECT COUNT(*) FROM group_memberships gc WHERE gc.group_id = g.account_id AND gc.state = 'member') AS members_count";

#[derive(sqlx::FromRow)]
struct GroupRow {
    account_id: i64,
    kind: String,
    members_only: i64,
    rules: String,
    created_at: i64,
    members_count: i64,
}

impl GroupRow {
    fn into_group(self) -> Option<Group> {
        Some(Group {
            id: Id(self.account_id),
            kind: GroupKind::parse(&self.kind)?,
            members_only: self.members_only != 0,
            rules: self.rules,
            members_count: self.members_count,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    state: String,
    role: Option<String>,
    by_id: Option<i64>,
    follow_uri: Option<String>,
    created_at: i64,
}

impl MembershipRow {
    fn into_membership(self) -> Option<Membership> {
        Membership::from_row(
            &self.state,
            self.role.as_deref(),
            self.by_id.map(Id),
            self.follow_uri,
            self.created_at,
        )
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    #[sqlx(flatten)]
    account: AccountRow,
    state: String,
    role: Option<String>,
    by_id: Option<i64>,
    follow_uri: Option<String>,
    member_since: i64,
}

/// Which memberships a listing wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberFilter {
    /// Members, optionally of one role only.
    Members(Option<GroupRole>),
    Requested,
    Invited,
    Banned,
}

impl Store {
    pub async fn group(&self, id: Id) -> Result<Option<Group>, Error> {
        let row: Option<GroupRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {GROUP_COLUMNS} FROM groups g WHERE g.account_id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(GroupRow::into_group))
    }

    pub async fn groups_by_ids(&self, ids: &[Id]) -> Result<Vec<Group>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE "));
        sql.in_ids(self.backend, "g.account_id", ids);
        let rows: Vec<GroupRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().filter_map(GroupRow::into_group).collect())
    }

    /// The groups `account` is a member of, newest membership first.
    pub async fn groups_of_member(&self, account: Id, page: &Page) -> Result<Vec<Group>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups g JOIN group_memberships m ON m.group_id = g.account_id \
             WHERE m.state = 'member' AND m.account_id = "
        ));
        sql.bind(account);
        sql.page("g.account_id", page);
        let rows: Vec<GroupRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(crate::sql::newest_first(rows, page)
            .into_iter()
            .filter_map(GroupRow::into_group)
            .collect())
    }

    /// The groups that invited `account` and wait for an answer, newest group first.
    pub async fn groups_inviting(&self, account: Id, page: &Page) -> Result<Vec<Group>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups g JOIN group_memberships m ON m.group_id = g.account_id \
             WHERE m.state = 'invited' AND m.account_id = "
        ));
        sql.bind(account);
        sql.page("g.account_id", page);
        let rows: Vec<GroupRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(crate::sql::newest_first(rows, page)
            .into_iter()
            .filter_map(GroupRow::into_group)
            .collect())
    }

    /// This server's groups that are not private, newest first (discovery lists them plainly:
    /// no ranking).
    pub async fn listed_groups(&self, page: &Page) -> Result<Vec<Group>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {GROUP_COLUMNS} FROM groups g JOIN accounts a ON a.id = g.account_id \
             WHERE g.kind <> 'private' AND a.domain = '' AND a.suspended_at IS NULL"
        ));
        sql.page("g.account_id", page);
        let rows: Vec<GroupRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(crate::sql::newest_first(rows, page)
            .into_iter()
            .filter_map(GroupRow::into_group)
            .collect())
    }

    /// Where `account` stands with `group`; None: no relation at all.
    pub async fn membership(&self, group: Id, account: Id) -> Result<Option<Membership>, Error> {
        let row: Option<MembershipRow> = sqlx::query_as(
            "SELECT state, role, by_id, follow_uri, created_at FROM group_memberships \
             WHERE group_id = $1 AND account_id = $2",
        )
        .bind(group.0)
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.and_then(MembershipRow::into_membership))
    }

    /// Where `account` stands with each of `groups` (for relationships and the `group` of
    /// statuses).
    pub async fn memberships_in(
        &self,
        account: Id,
        groups: &[Id],
    ) -> Result<HashMap<Id, Membership>, Error> {
        if groups.is_empty() {
            return Ok(HashMap::new());
        }
        let mut sql = Sql::new(
            "SELECT group_id, state, role, by_id, follow_uri, created_at FROM group_memberships WHERE account_id = ",
        );
        sql.bind(account);
        sql.push(" AND ");
        sql.in_ids(self.backend, "group_id", groups);
        #[derive(sqlx::FromRow)]
        struct Row {
            group_id: i64,
            #[sqlx(flatten)]
            m: MembershipRow,
        }
        let rows: Vec<Row> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((Id(r.group_id), r.m.into_membership()?)))
            .collect())
    }

    /// A group's accounts in one state (members, optionally of one role), paged by account id.
    pub async fn group_members(
        &self,
        group: Id,
        filter: MemberFilter,
        page: &Page,
    ) -> Result<Vec<(Account, Membership)>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {ACCOUNT_COLUMNS}, m.state, m.role, m.by_id, m.follow_uri, m.created_at AS member_since \
             FROM group_memberships m JOIN accounts a ON a.id = m.account_id WHERE m.group_id = "
        ));
        sql.bind(group);
        sql.push(" AND m.state = ");
        sql.bind(match filter {
            MemberFilter::Members(_) => "member",
            MemberFilter::Requested => "requested",
            MemberFilter::Invited => "invited",
            MemberFilter::Banned => "banned",
        });
        if let MemberFilter::Members(Some(role)) = filter {
            sql.push(" AND m.role = ");
            sql.bind(role.as_str());
        }
        sql.page("a.id", page);
        let rows: Vec<MemberRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(crate::sql::newest_first(rows, page)
            .into_iter()
            .filter_map(|r| {
                let m = Membership::from_row(
                    &r.state,
                    r.role.as_deref(),
                    r.by_id.map(Id),
                    r.follow_uri,
                    r.member_since,
                )?;
                Some((Account::from(r.account), m))
            })
            .collect())
    }

    /// This server's people who moderate `group` (moderators, admins and its owner): who is
    /// told of requests to join and of reports.
    pub async fn local_group_staff(&self, group: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT m.account_id FROM group_memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.group_id = $1 AND m.state = 'member' AND m.role IN ('moderator', 'admin', 'owner') \
             AND a.domain = '' ORDER BY m.account_id",
        )
        .bind(group.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// Whether the group has a member, an invitee or a pending request on `domain` (whose
    /// server may then read a private group's documents).
    pub async fn group_known_on_domain(&self, group: Id, domain: &str) -> Result<bool, Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM group_memberships m JOIN accounts a ON a.id = m.account_id \
             WHERE m.group_id = $1 AND m.state <> 'banned' AND a.domain = $2 LIMIT 1",
        )
        .bind(group.0)
        .bind(domain.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(found.is_some())
    }

    /// The group a status belongs to (posted to it, or a reply in it).
    ///
    /// On SQLite through the readers: asked of every post that arrives.
    pub async fn group_of_status(&self, status: Id) -> Result<Option<Id>, Error> {
        let mut sql = Sql::new(
            "SELECT group_id FROM group_statuses WHERE removed_at IS NULL AND status_id = ",
        );
        sql.bind(status);
        Ok(self.ids(sql).await?.into_iter().next())
    }

    /// The groups of these statuses (for the `group` of each status view).
    pub async fn groups_of_statuses(&self, ids: &[Id]) -> Result<HashMap<Id, Id>, Error> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(i64, i64)> = groups_of_statuses_sql(self.backend, ids)
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(|(s, g)| (Id(s), Id(g))).collect())
    }

    /// A group's timeline: the posts it carries that `viewer` is shown, newest first. For a
    /// members-only group that is nothing unless the viewer is a member: the one audience
    /// rule decides, not this query.
    pub async fn group_timeline(
        &self,
        viewer: Option<Id>,
        group: Id,
        page: &Page,
    ) -> Result<Vec<Status>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {STATUS_COLUMNS} FROM group_statuses gs JOIN statuses s ON s.id = gs.status_id WHERE gs.removed_at IS NULL AND gs.group_id = "
        ));
        sql.bind(group);
        let v = sql.param(viewer.unwrap_or_default());
        sql.and_shown(&v, Shown::Listed);
        sql.page("s.id", page);
        self.page_of_statuses(&sql, page).await
    }

    /// The newest statuses a group carries, regardless of audience (to tell a removed
    /// member's server to drop them).
    pub async fn group_status_ids(&self, group: Id, limit: i64) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT status_id FROM group_statuses WHERE group_id = $1 AND removed_at IS NULL ORDER BY status_id DESC LIMIT $2",
        )
        .bind(group.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }
}

impl Tx {
    /// Record (or update) a group on another server as this server knows it: its kind from
    /// whether it approves followers (closed) or not (public). What it keeps for members
    /// only is that server's business; posts reach us addressed as they are.
    pub async fn upsert_remote_group(&mut self, id: Id, kind: GroupKind) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO groups (account_id, kind, members_only, rules, created_at) VALUES ($1,$2,0,'',$3) \
             ON CONFLICT (account_id) DO UPDATE SET kind = $2",
        )
        .bind(id.0)
        .bind(kind.as_str())
        .bind(kring_core::time::now_micros())
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn insert_group(&mut self, g: &Group) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO groups (account_id, kind, members_only, rules, created_at) VALUES ($1,$2,$3,$4,$5)",
        )
        .bind(g.id.0)
        .bind(g.kind.as_str())
        .bind(g.members_only as i64)
        .bind(&g.rules)
        .bind(g.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn update_group(&mut self, g: &Group) -> Result<(), Error> {
        sqlx::query(
            "UPDATE groups SET kind = $1, members_only = $2, rules = $3 WHERE account_id = $4",
        )
        .bind(g.kind.as_str())
        .bind(g.members_only as i64)
        .bind(&g.rules)
        .bind(g.id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Put `account` in `state` with `group`, replacing whatever state it had: one row per
    /// pair, so two states at once cannot be stored.
    pub async fn set_membership(
        &mut self,
        group: Id,
        account: Id,
        m: &Membership,
    ) -> Result<(), Error> {
        let (role, by, follow_uri, at): (Option<&str>, Option<Id>, Option<&str>, Micros) = match m {
            Membership::Requested { follow_uri, at } => (None, None, follow_uri.as_deref(), *at),
            Membership::Invited { by, at } => (None, Some(*by), None, *at),
            Membership::Member { role, since } => (Some(role.as_str()), None, None, *since),
            Membership::Banned { by, at } => (None, Some(*by), None, *at),
        };
        self.delete_membership(group, account).await?;
        sqlx::query(
            "INSERT INTO group_memberships (group_id, account_id, state, role, by_id, follow_uri, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(group.0)
        .bind(account.0)
        .bind(m.state())
        .bind(role)
        .bind(by.map(|b| b.0))
        .bind(follow_uri)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Change a member's role (keeping the date they joined).
    pub async fn set_member_role(
        &mut self,
        group: Id,
        account: Id,
        role: GroupRole,
    ) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE group_memberships SET role = $1 WHERE group_id = $2 AND account_id = $3 AND state = 'member'",
        )
        .bind(role.as_str())
        .bind(group.0)
        .bind(account.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn delete_membership(&mut self, group: Id, account: Id) -> Result<bool, Error> {
        let r =
            sqlx::query("DELETE FROM group_memberships WHERE group_id = $1 AND account_id = $2")
                .bind(group.0)
                .bind(account.0)
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    /// Record that `group` carries `status` (and, once made, the group's Announce of it).
    pub async fn insert_group_status(
        &mut self,
        status: Id,
        group: Id,
        announce: Option<Id>,
        at: Micros,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO group_statuses (status_id, group_id, announce_id, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(status.0)
        .bind(group.0)
        .bind(announce.map(|a| a.0))
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// A direct post another server addressed to a members-only group (as a Mastodon app
    /// sends a mention of the group) is shown as the group's from now on, not as a private
    /// mention: its readers are the group's members (the grant above).
    pub async fn label_group_post(&mut self, status: Id) -> Result<(), Error> {
        sqlx::query(
            "UPDATE statuses SET visibility = 'group' WHERE id = $1 AND visibility = 'direct'",
        )
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Grant a group's members a post another server addressed to the group (FEP-1b12: a
    /// post to a group is for its members). Only ever adds the group's own grant.
    pub async fn grant_group_members(&mut self, status: Id, group: Id) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO status_audience (status_id, kind, target_id) VALUES ($1, 'group', $2) ON CONFLICT DO NOTHING",
        )
        .bind(status.0)
        .bind(group.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Put the group's Announce `entry` into the home feeds of its local members (except those
    /// who block the post's author, `original_author`).
    pub async fn fan_out_to_group(
        &mut self,
        entry: Id,
        group: Id,
        original_author: Id,
    ) -> Result<u64, Error> {
        // A member who already has the post (they follow its author) does not get the
        // group's Announce of it too, as with any boost.
        let r = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO home_feed (account_id, entry_id, author_id) \
             SELECT m.account_id, $1, $2 FROM group_memberships m JOIN users u ON u.account_id = m.account_id \
             WHERE m.group_id = $3 AND m.state = 'member' \
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = m.account_id AND b.target_id = $4) \
               AND {} \
             ON CONFLICT DO NOTHING",
            crate::feeds::not_recently_in_feed("m.account_id", "$1")
        )))
        .bind(entry.0)
        .bind(group.0)
        .bind(group.0)
        .bind(original_author.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected())
    }

    /// Delete a group's account and with it (cascading) its record, memberships, the posts'
    /// links to it and its Announces. Members' own posts stay with them.
    pub async fn delete_group_account(&mut self, group: Id) -> Result<(), Error> {
        self.touch(group);
        sqlx::query("DELETE FROM statuses WHERE account_id = $1")
            .bind(group.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        sqlx::query("DELETE FROM accounts WHERE id = $1 AND is_group = 1")
            .bind(group.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
