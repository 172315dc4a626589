//! Who is in a group: join, leave, request, approve, reject, invite, remove, ban, promote,
//! demote, transfer ownership. Every path that takes membership away takes away the
//! members-only posts with it, at once, because the audience rule reads membership when a post
//! is read.
use kring_core::model::{Account, NotificationType, Page};
use kring_core::time::now_micros;
use kring_core::{Grant, Group, GroupAction, GroupKind, GroupRole, Membership};
use kring_store::MemberFilter;

use super::GroupView;
use crate::{Actor, Error, Id, Kring, Result};

/// Where the actor stands with a group after a membership action (Truth Social's
/// `GroupRelationship`).
#[derive(Debug, Clone)]
pub struct GroupRelationship {
    pub group: Id,
    pub membership: Option<Membership>,
}

impl Kring {
    /// Join a group: at once for a public group or with an invitation, else a request a
    /// moderator decides on. Joining again changes nothing.
    pub async fn join_group(&self, actor: &Actor, id: Id) -> Result<GroupRelationship> {
        let (group, account) = self.group_record(id).await?;
        if !account.is_local() {
            // A group elsewhere decides itself: joining it is following it.
            self.follow(actor, id, None, None).await?;
            return self.group_relationship(actor, id).await;
        }
        self.join_as(&group, &actor.account, None).await?;
        self.group_relationship(actor, id).await
    }

    /// Join (or ask to) as `account`, local or remote; `follow_uri`: the remote `Follow` that
    /// asked, answered once decided.
    pub(crate) async fn join_as(
        &self,
        group: &Group,
        account: &Account,
        follow_uri: Option<&str>,
    ) -> Result<()> {
        let current = self.store.membership(group.id, account.id).await?;
        match current {
            Some(Membership::Banned { .. }) => {
                if !account.is_local()
                    && let Some(uri) = follow_uri
                {
                    let group_account = self.account(group.id).await?;
                    let mut tx = self.store.begin().await?;
                    self.send_follow_answer(&mut tx, &group_account, account, uri, false)
                        .await?;
                    tx.commit().await?;
                }
                Err(Error::forbidden("You are banned from this group"))
            }
            Some(Membership::Member { role, .. }) => {
                // Asked again (a repeated Follow): answer again, keep the role.
                self.add_member(group.id, account.id, role, follow_uri)
                    .await
            }
            Some(Membership::Invited { .. }) => {
                self.add_member(group.id, account.id, GroupRole::Member, follow_uri)
                    .await
            }
            _ if group.kind == GroupKind::Public => {
                self.add_member(group.id, account.id, GroupRole::Member, follow_uri)
                    .await
            }
            Some(Membership::Requested { .. }) if follow_uri.is_none() => Ok(()),
            _ => {
                let staff = self.store.local_group_staff(group.id).await?;
                let mut tx = self.store.begin().await?;
                tx.set_membership(
                    group.id,
                    account.id,
                    &Membership::Requested {
                        follow_uri: follow_uri.map(str::to_string),
                        at: now_micros(),
                    },
                )
                .await?;
                // Every moderator is told; the first to decide settles it for all.
                let mut made = Vec::new();
                for m in staff {
                    if let Some(n) = self
                        .notify_group_in(
                            &mut tx,
                            m,
                            NotificationType::GroupRequest,
                            account.id,
                            Some(group.id),
                            None,
                        )
                        .await?
                    {
                        made.push((m, n));
                    }
                }
                tx.commit().await?;
                self.publish_notifications(&made);
                Ok(())
            }
        }
    }

    /// Leave a group (or withdraw a request, or decline an invitation). The owner must hand
    /// the group on or delete it first.
    pub async fn leave_group(&self, actor: &Actor, id: Id) -> Result<GroupRelationship> {
        let (group, account) = self.group_record(id).await?;
        if !account.is_local() {
            Box::pin(self.unfollow(actor, id)).await?;
            return self.group_relationship(actor, id).await;
        }
        match self.store.membership(id, actor.id()).await? {
            Some(Membership::Member {
                role: GroupRole::Owner,
                ..
            }) => {
                return Err(Error::validation(
                    "The owner cannot leave the group: transfer ownership or delete it",
                ));
            }
            // A ban stays: leaving must not be a way to lift it.
            Some(Membership::Banned { .. }) | None => {}
            Some(_) => self.end_membership(&group, actor.id(), None).await?,
        }
        self.group_relationship(actor, id).await
    }

    /// A remote member's `Undo` of its `Follow`.
    pub(crate) async fn leave_as(&self, group: &Group, account: Id) -> Result<()> {
        match self.store.membership(group.id, account).await? {
            Some(Membership::Member {
                role: GroupRole::Owner,
                ..
            })
            | Some(Membership::Banned { .. })
            | None => Ok(()),
            Some(_) => self.end_membership(group, account, None).await,
        }
    }

    /// End `account`'s membership (or request or invitation): the follow of the group's
    /// account goes, and with `then` a new state (a ban) takes its place. A remote member's
    /// server is told with a `Reject` of its follow, which Mastodon and others read as "no
    /// longer following".
    async fn end_membership(
        &self,
        group: &Group,
        account: Id,
        then: Option<Membership>,
    ) -> Result<()> {
        let member = self.account(account).await?;
        let group_account = self.account(group.id).await?;
        let follow_uri = self.store.follow_uri(account, group.id).await?;
        let mut tx = self.store.begin().await?;
        match &then {
            Some(m) => tx.set_membership(group.id, account, m).await?,
            None => {
                tx.delete_membership(group.id, account).await?;
            }
        }
        if tx.delete_follow(account, group.id).await? {
            tx.bump_counts(account, 0, -1, 0).await?;
            tx.bump_counts(group.id, -1, 0, 0).await?;
            tx.remove_author_from_feed(account, group.id).await?;
        }
        tx.take_follow_request(account, group.id).await?;
        super::manage::settle_group_notices_in(&mut tx, group.id, account).await?;
        if !member.is_local()
            && let Some(uri) = follow_uri
        {
            self.send_follow_answer(&mut tx, &group_account, &member, &uri, false)
                .await?;
        }
        tx.commit().await?;
        if member.is_local() {
            return Ok(());
        }
        // The former member's server holds the members-only posts written here: it is told
        // to drop them (no member left there) or whom they are for now (docs/groups.md).
        self.withdraw_granted_posts(Grant::GroupMembers(group.id), &[account])
            .await
    }

    /// The actor's standing with each group (Truth Social's `/api/v1/groups/relationships`).
    pub async fn group_relationships(
        &self,
        actor: &Actor,
        ids: &[Id],
    ) -> Result<Vec<GroupRelationship>> {
        let mut found = self.store.memberships_in(actor.id(), ids).await?;
        Ok(ids
            .iter()
            .map(|&id| GroupRelationship {
                group: id,
                membership: found.remove(&id),
            })
            .collect())
    }

    pub async fn group_relationship(&self, actor: &Actor, id: Id) -> Result<GroupRelationship> {
        Ok(GroupRelationship {
            group: id,
            membership: self.store.membership(id, actor.id()).await?,
        })
    }

    /// A group's members (optionally of one role), for anyone who may see the group's
    /// contents (members only for a private group).
    pub async fn group_members(
        &self,
        viewer: Option<&Actor>,
        id: Id,
        role: Option<GroupRole>,
        page: &Page,
    ) -> Result<Vec<(Account, Membership)>> {
        let view: GroupView = self.group(viewer, id).await?;
        if !self.group_contents_visible(viewer, &view.group).await? {
            return Err(Error::NotFound);
        }
        self.store
            .group_members(id, MemberFilter::Members(role), page)
            .await
    }

    /// Requests to join, invitations or bans (moderators).
    pub async fn group_pending(
        &self,
        actor: &Actor,
        id: Id,
        filter: MemberFilter,
        page: &Page,
    ) -> Result<Vec<Account>> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        Ok(self
            .store
            .group_members(id, filter, page)
            .await?
            .into_iter()
            .map(|(a, _)| a)
            .collect())
    }

    /// Approve a request to join (moderators).
    pub async fn authorize_group_request(&self, actor: &Actor, id: Id, account: Id) -> Result<()> {
        self.authorize_group_request_unlogged(actor, id, account)
            .await?;
        self.log_group(id, actor, GroupAction::ApproveRequest, Some(account), "")
            .await
    }

    async fn authorize_group_request_unlogged(
        &self,
        actor: &Actor,
        id: Id,
        account: Id,
    ) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        match self.store.membership(id, account).await? {
            Some(Membership::Requested { follow_uri, .. }) => {
                self.add_member(id, account, GroupRole::Member, follow_uri.as_deref())
                    .await
            }
            Some(Membership::Member { .. }) => Ok(()),
            _ => Err(Error::NotFound),
        }
    }

    /// Turn down a request to join (moderators).
    pub async fn reject_group_request(&self, actor: &Actor, id: Id, account: Id) -> Result<()> {
        self.reject_group_request_unlogged(actor, id, account)
            .await?;
        self.log_group(id, actor, GroupAction::RejectRequest, Some(account), "")
            .await
    }

    async fn reject_group_request_unlogged(
        &self,
        actor: &Actor,
        id: Id,
        account: Id,
    ) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        match self.store.membership(id, account).await? {
            Some(Membership::Requested { follow_uri, .. }) => {
                let member = self.account(account).await?;
                let group_account = self.account(id).await?;
                let mut tx = self.store.begin().await?;
                tx.delete_membership(id, account).await?;
                tx.take_follow_request(account, id).await?;
                super::manage::settle_group_notices_in(&mut tx, id, account).await?;
                if !member.is_local()
                    && let Some(uri) = follow_uri
                {
                    self.send_follow_answer(&mut tx, &group_account, &member, &uri, false)
                        .await?;
                }
                tx.commit().await
            }
            _ => Err(Error::NotFound),
        }
    }

    /// Invite someone (local or remote) to join (moderators): they join at once when they
    /// ask. A banned person cannot be invited; a member needs no invitation.
    pub async fn invite_to_group(&self, actor: &Actor, id: Id, account: Id) -> Result<()> {
        self.invite_to_group_unlogged(actor, id, account).await?;
        self.log_group(id, actor, GroupAction::Invite, Some(account), "")
            .await
    }

    async fn invite_to_group_unlogged(&self, actor: &Actor, id: Id, account: Id) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let invited = self.account(account).await?;
        if self.store.blocked_either(id, account).await? {
            return Err(Error::forbidden("This action is not allowed"));
        }
        match self.store.membership(id, account).await? {
            Some(Membership::Banned { .. }) => {
                Err(Error::validation("This account is banned from the group"))
            }
            Some(Membership::Member { .. }) => Ok(()),
            Some(Membership::Requested { follow_uri, .. }) => {
                // They asked already: the invitation is the approval.
                self.add_member(id, account, GroupRole::Member, follow_uri.as_deref())
                    .await
            }
            _ => {
                let mut tx = self.store.begin().await?;
                tx.set_membership(
                    id,
                    account,
                    &Membership::Invited {
                        by: actor.id(),
                        at: now_micros(),
                    },
                )
                .await?;
                let made = if invited.is_local() {
                    self.notify_group_in(
                        &mut tx,
                        account,
                        NotificationType::GroupInvite,
                        actor.id(),
                        Some(id),
                        None,
                    )
                    .await?
                } else {
                    None
                };
                tx.commit().await?;
                if let Some(n) = made {
                    self.publish_notifications(&[(account, n)]);
                }
                Ok(())
            }
        }
    }

    /// Remove members (moderators, over members of a lower role). They may ask again.
    pub async fn kick_from_group(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        self.kick_from_group_unlogged(actor, id, accounts).await?;
        for &a in accounts {
            self.log_group(id, actor, GroupAction::Remove, Some(a), "")
                .await?;
        }
        Ok(())
    }

    async fn kick_from_group_unlogged(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        let mine = self.group_moderator(actor, &group).await?;
        for &a in accounts {
            self.check_outranks(&group, mine, a).await?;
        }
        for &a in accounts {
            if self.store.membership(id, a).await?.is_some() {
                self.end_membership(&group, a, None).await?;
            }
        }
        Ok(())
    }

    /// Ban accounts (moderators, over members of a lower role): they leave the group and
    /// may not join, ask or post until unbanned.
    pub async fn ban_from_group(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        self.ban_from_group_unlogged(actor, id, accounts).await?;
        for &a in accounts {
            self.log_group(id, actor, GroupAction::Ban, Some(a), "")
                .await?;
        }
        Ok(())
    }

    async fn ban_from_group_unlogged(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        let mine = self.group_moderator(actor, &group).await?;
        for &a in accounts {
            self.account(a).await?;
            self.check_outranks(&group, mine, a).await?;
        }
        for &a in accounts {
            let ban = Membership::Banned {
                by: actor.id(),
                at: now_micros(),
            };
            self.end_membership(&group, a, Some(ban)).await?;
        }
        Ok(())
    }

    pub async fn unban_from_group(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        self.unban_from_group_unlogged(actor, id, accounts).await?;
        for &a in accounts {
            self.log_group(id, actor, GroupAction::Unban, Some(a), "")
                .await?;
        }
        Ok(())
    }

    async fn unban_from_group_unlogged(
        &self,
        actor: &Actor,
        id: Id,
        accounts: &[Id],
    ) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        self.group_moderator(actor, &group).await?;
        let mut tx = self.store.begin().await?;
        for &a in accounts {
            if matches!(
                self.store.membership(id, a).await?,
                Some(Membership::Banned { .. })
            ) {
                tx.delete_membership(id, a).await?;
            }
        }
        tx.commit().await
    }

    /// Give members a role (admins; the owner names admins, admins name moderators). The
    /// owner's role moves only by `transfer_group`.
    pub async fn promote_in_group(
        &self,
        actor: &Actor,
        id: Id,
        accounts: &[Id],
        role: GroupRole,
    ) -> Result<()> {
        self.set_roles(actor, id, accounts, role, true).await?;
        for &a in accounts {
            self.log_group(id, actor, GroupAction::Promote, Some(a), role.as_str())
                .await?;
        }
        Ok(())
    }

    /// Take a role back (admins, over members of a lower role).
    pub async fn demote_in_group(
        &self,
        actor: &Actor,
        id: Id,
        accounts: &[Id],
        role: GroupRole,
    ) -> Result<()> {
        self.set_roles(actor, id, accounts, role, false).await?;
        for &a in accounts {
            self.log_group(id, actor, GroupAction::Demote, Some(a), role.as_str())
                .await?;
        }
        Ok(())
    }

    async fn set_roles(
        &self,
        actor: &Actor,
        id: Id,
        accounts: &[Id],
        role: GroupRole,
        up: bool,
    ) -> Result<()> {
        let (group, _) = self.group_record(id).await?;
        let mine = self.group_role(actor, &group).await?;
        if !mine.administers() {
            return Err(Error::forbidden("This action is not allowed"));
        }
        if role == GroupRole::Owner {
            return Err(Error::validation(
                "Ownership is handed on by transferring it",
            ));
        }
        if !mine.outranks(role) {
            return Err(Error::forbidden(
                "You cannot give a role as high as your own",
            ));
        }
        let mut changes = Vec::new();
        for &a in accounts {
            let current = self
                .store
                .membership(id, a)
                .await?
                .and_then(|m| m.role())
                .ok_or_else(|| Error::validation("Only members can be given a role"))?;
            if !mine.outranks(current) {
                return Err(Error::forbidden("This action is not allowed"));
            }
            if up && current >= role || !up && current <= role {
                return Err(Error::validation(if up {
                    "The account already holds this role or a higher one"
                } else {
                    "The account already holds this role or a lower one"
                }));
            }
            changes.push(a);
        }
        let mut tx = self.store.begin().await?;
        for a in changes {
            tx.set_member_role(id, a, role).await?;
        }
        tx.commit().await
    }

    /// Hand the group to another member (its owner): they become its owner and the former
    /// owner an admin.
    pub async fn transfer_group(&self, actor: &Actor, id: Id, to: Id) -> Result<GroupView> {
        let (group, _) = self.group_record(id).await?;
        if self.group_role(actor, &group).await? != GroupRole::Owner {
            return Err(Error::forbidden("Only the group's owner may transfer it"));
        }
        if to == actor.id() {
            return Err(Error::validation("You own this group already"));
        }
        match self.store.membership(id, to).await? {
            Some(Membership::Member { .. }) => {}
            _ => {
                return Err(Error::validation(
                    "Ownership can only go to a member of the group",
                ));
            }
        }
        if self.store.user(to).await?.is_none() {
            // The owner answers for the group on this server.
            return Err(Error::validation(
                "Ownership can only go to a person on this server",
            ));
        }
        let mut tx = self.store.begin().await?;
        // One owner at a time (the store's unique index holds it): demote first.
        tx.set_member_role(id, actor.id(), GroupRole::Admin).await?;
        tx.set_member_role(id, to, GroupRole::Owner).await?;
        tx.commit().await?;
        self.log_group(id, actor, GroupAction::TransferOwnership, Some(to), "")
            .await?;
        self.group(Some(actor), id).await
    }

    /// Refuse unless the actor's role is above `target`'s (if `target` holds one).
    async fn check_outranks(&self, group: &Group, mine: GroupRole, target: Id) -> Result<()> {
        if let Some(theirs) = self
            .store
            .membership(group.id, target)
            .await?
            .and_then(|m| m.role())
            && !mine.outranks(theirs)
        {
            return Err(Error::forbidden("This action is not allowed"));
        }
        Ok(())
    }
}
