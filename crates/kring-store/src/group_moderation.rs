//! Group moderation records: removed posts, the moderation log. (Reports about group posts
//! are in `reports.rs`; memberships and the posts a group carries in `groups.rs`.)
use kring_core::time::Micros;
use kring_core::{Error, GroupAction, GroupLogEntry, Id, RemovedPost};

use crate::{Store, Tx, db_err};

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    group_id: i64,
    actor_id: Option<i64>,
    action: String,
    target_account_id: Option<i64>,
    target_status_id: Option<i64>,
    reason: String,
    created_at: i64,
}

impl Store {
    /// The group's Announce of a post it carries (and has not removed).
    pub async fn group_announce_of(&self, group: Id, status: Id) -> Result<Option<Id>, Error> {
        let a: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT announce_id FROM group_statuses \
             WHERE group_id = $1 AND status_id = $2 AND removed_at IS NULL",
        )
        .bind(group.0)
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(a.flatten().map(Id))
    }

    /// Whether `group` ever carried `status`, removed or not (a removed post delivered again
    /// is not taken in again).
    pub async fn group_carried(&self, group: Id, status: Id) -> Result<bool, Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM group_statuses WHERE group_id = $1 AND status_id = $2",
        )
        .bind(group.0)
        .bind(status.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(found.is_some())
    }

    /// The posts moderators removed from `group`, most recently removed first.
    pub async fn removed_group_posts(
        &self,
        group: Id,
        limit: i64,
    ) -> Result<Vec<RemovedPost>, Error> {
        let rows: Vec<(i64, Option<i64>, String, i64)> = sqlx::query_as(
            "SELECT status_id, removed_by, removal_reason, removed_at FROM group_statuses \
             WHERE group_id = $1 AND removed_at IS NOT NULL ORDER BY removed_at DESC LIMIT $2",
        )
        .bind(group.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(s, by, reason, at)| RemovedPost {
                status_id: Id(s),
                removed_by: by.map(Id),
                reason,
                removed_at: at,
            })
            .collect())
    }

    /// The group's moderation log, newest first, before `max_id` when given.
    pub async fn group_log(
        &self,
        group: Id,
        max_id: Option<Id>,
        limit: i64,
    ) -> Result<Vec<GroupLogEntry>, Error> {
        let rows: Vec<LogRow> = sqlx::query_as(
            "SELECT id, group_id, actor_id, action, target_account_id, target_status_id, reason, created_at \
             FROM group_moderation_log WHERE group_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(group.0)
        .bind(max_id.map_or(i64::MAX, |m| m.0))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(GroupLogEntry {
                    id: Id(r.id),
                    group_id: Id(r.group_id),
                    actor_id: r.actor_id.map(Id),
                    // A row no version of Kring writes is skipped, not guessed at.
                    action: GroupAction::parse(&r.action)?,
                    target_account_id: r.target_account_id.map(Id),
                    target_status_id: r.target_status_id.map(Id),
                    reason: r.reason,
                    created_at: r.created_at,
                })
            })
            .collect())
    }
}

impl Tx {
    /// Mark `status` removed from `group` by a moderator. Returns the group's Announce of it
    /// (`Some(None)`: carried without one), or None when the group does not carry it (or it
    /// was removed already).
    pub async fn remove_group_status(
        &mut self,
        group: Id,
        status: Id,
        by: Id,
        reason: &str,
        at: Micros,
    ) -> Result<Option<Option<Id>>, Error> {
        let announce: Option<Option<i64>> = sqlx::query_scalar(
            "UPDATE group_statuses SET removed_at = $1, removed_by = $2, removal_reason = $3 \
             WHERE group_id = $4 AND status_id = $5 AND removed_at IS NULL RETURNING announce_id",
        )
        .bind(at)
        .bind(by.0)
        .bind(reason)
        .bind(group.0)
        .bind(status.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(announce.map(|a| a.map(Id)))
    }

    /// Take the group's members' grant off a post removed from it: a members-only post is
    /// then read only by its author and the accounts it names.
    pub async fn revoke_group_members(&mut self, status: Id, group: Id) -> Result<(), Error> {
        sqlx::query(
            "DELETE FROM status_audience WHERE status_id = $1 AND kind = 'group' AND target_id = $2",
        )
        .bind(status.0)
        .bind(group.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Record a moderator's or admin's action in the group's log.
    #[allow(clippy::too_many_arguments)]
    pub async fn log_group_action(
        &mut self,
        group: Id,
        actor: Id,
        action: GroupAction,
        target_account: Option<Id>,
        target_status: Option<Id>,
        reason: &str,
        at: Micros,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO group_moderation_log \
             (id, group_id, actor_id, action, target_account_id, target_status_id, reason, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(Id::generate().0)
        .bind(group.0)
        .bind(actor.0)
        .bind(action.as_str())
        .bind(target_account.map(|a| a.0))
        .bind(target_status.map(|s| s.0))
        .bind(reason)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
