//! Moderating a group: removing posts from it (federated), the moderation log its admins
//! read, and the reports about its posts that its moderators see. Server admins suspend a
//! group as they suspend any account (`group_record` then answers "not found").
use kring_core::model::{Account, Page, Status};
use kring_core::time::now_micros;
use kring_core::{Group, GroupAction, GroupLogEntry, RemovedPost};
use serde_json::json;

use crate::events::{EventKind, Stream};
use crate::federation::Recipients;
use crate::reports::ReportView;
use crate::{Actor, Error, Id, Kring, Result};

/// The longest reason a moderator may give for a removal.
pub const MAX_REASON_CHARS: usize = 1000;

/// A post removed from a group, with the post when it still exists.
#[derive(Debug, Clone)]
pub struct RemovedPostView {
    pub removed: RemovedPost,
    pub status: Option<Status>,
}

impl Kring {
    /// Remove a post (or reply) from a group (its moderators). The group takes back its
    /// Announce — `Undo` to members' servers, so Mastodon and Kring drop the boost — and
    /// announces a `Delete` by the moderator with the reason as `summary`, which Lemmy reads
    /// as a moderator's removal. The post stays its author's: a members-only post is then
    /// read only by its author and the accounts it names. Posts already delivered to other
    /// servers stay there (docs/groups.md).
    pub async fn remove_group_post(
        &self,
        actor: &Actor,
        id: Id,
        status_id: Id,
        reason: &str,
    ) -> Result<()> {
        let (group, group_account) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let reason = reason.trim();
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(Error::validation(format!(
                "Reason is too long (maximum is {MAX_REASON_CHARS} characters)"
            )));
        }
        let post = self.store.status(status_id).await?.ok_or(Error::NotFound)?;
        if self.store.group_of_status(post.id).await? != Some(id) {
            return Err(Error::NotFound);
        }
        let members_only = self.members_only_in_group(post.id).await?;
        let to = self.group_post_recipients(&group, members_only).await?;
        let announce = match self.store.group_announce_of(id, post.id).await? {
            Some(a) => self.store.status(a).await?,
            None => None,
        };
        let readers = match &announce {
            Some(a) => self.feed_recipients(a.id).await?,
            None => Vec::new(),
        };
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        if tx
            .remove_group_status(id, post.id, actor.id(), reason, now)
            .await?
            .is_none()
        {
            return Err(Error::NotFound);
        }
        tx.revoke_group_members(post.id, id).await?;
        tx.log_group_action(
            id,
            actor.id(),
            GroupAction::RemovePost,
            Some(post.account_id),
            Some(post.id),
            reason,
            now,
        )
        .await?;
        if let Some(a) = &announce {
            tx.delete_status(a).await?;
            let undo = kring_activitypub::as2::activity(
                "Undo",
                &format!("{}#undo", a.uri),
                &group_account.uri,
                json!({ "id": a.uri, "type": "Announce", "actor": group_account.uri, "object": post.uri }),
            );
            self.emit(&mut tx, &group_account, undo, to.clone()).await?;
        }
        let mut delete = json!({
            "id": format!("{}#removals/{}", group_account.uri, Id::generate()),
            "type": "Delete",
            "actor": actor.account.uri,
            "object": post.uri,
            "audience": group_account.uri,
        });
        if !reason.is_empty() {
            delete["summary"] = json!(reason);
        }
        let announce_removal = kring_activitypub::as2::activity(
            "Announce",
            &format!("{}#announces/{}", group_account.uri, Id::generate()),
            &group_account.uri,
            delete,
        );
        self.emit(&mut tx, &group_account, announce_removal, to)
            .await?;
        tx.commit().await?;
        if let Some(a) = announce {
            self.events.publish(
                EventKind::Delete(a.id),
                readers.into_iter().map(Stream::User).collect(),
            );
        }
        tracing::info!(group = %id, status = %post.id, "post removed from group");
        Ok(())
    }

    /// Who hears of a change to a post in the group: members by name for a members-only
    /// post, the group's followers otherwise (as its Announce went).
    pub(crate) async fn group_post_recipients(
        &self,
        group: &Group,
        members_only: bool,
    ) -> Result<Recipients> {
        if members_only {
            let audience = kring_core::Audience::for_group_members(group.id, &[]);
            return Ok(Recipients::Narrow {
                ids: self.store.remote_accounts_in(&audience).await?,
            });
        }
        self.group_recipients(group).await
    }

    /// The posts removed from a group, most recently removed first (its moderators).
    pub async fn removed_group_posts(
        &self,
        actor: &Actor,
        id: Id,
        limit: i64,
    ) -> Result<Vec<RemovedPostView>> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let removed = self
            .store
            .removed_group_posts(id, limit.clamp(1, 200))
            .await?;
        let ids: Vec<Id> = removed.iter().map(|r| r.status_id).collect();
        let statuses = self.store.statuses_by_ids(&ids).await?;
        Ok(removed
            .into_iter()
            .map(|r| RemovedPostView {
                status: statuses.iter().find(|s| s.id == r.status_id).cloned(),
                removed: r,
            })
            .collect())
    }

    /// The group's moderation log, newest first (its admins), with the accounts it names.
    pub async fn group_moderation_log(
        &self,
        actor: &Actor,
        id: Id,
        page: &Page,
    ) -> Result<(Vec<GroupLogEntry>, Vec<Account>)> {
        let (group, _) = self.group_record(id).await?;
        if !self.group_role(actor, &group).await?.administers() {
            return Err(Error::forbidden("This action is not allowed"));
        }
        let entries = self
            .store
            .group_log(id, page.max_id, page.limit.clamp(1, 200) as i64)
            .await?;
        let mut ids: Vec<Id> = entries
            .iter()
            .flat_map(|e| [e.actor_id, e.target_account_id])
            .flatten()
            .collect();
        ids.sort();
        ids.dedup();
        let accounts = self.store.accounts_by_ids(&ids).await?;
        Ok((entries, accounts))
    }

    /// Record a moderator's or admin's action in the group's log (after it succeeded).
    pub(crate) async fn log_group(
        &self,
        group: Id,
        actor: &Actor,
        action: GroupAction,
        target: Option<Id>,
        note: &str,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.log_group_action(group, actor.id(), action, target, None, note, now_micros())
            .await?;
        tx.commit().await
    }

    /// Reports about posts in the group (its moderators): open ones, or resolved ones. The
    /// server's moderators see the same reports in their own queue.
    pub async fn group_reports(
        &self,
        actor: &Actor,
        id: Id,
        resolved: bool,
    ) -> Result<Vec<ReportView>> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let reports = self.store.group_reports(id, resolved, 100).await?;
        self.report_views(reports).await
    }

    /// A group moderator is done with a report about a post in the group.
    pub async fn resolve_group_report(&self, actor: &Actor, id: Id, report: Id) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let r = self.store.report(report).await?.ok_or(Error::NotFound)?;
        if r.group_id != Some(id) || !self.store.resolve_report(report, actor.id()).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}
