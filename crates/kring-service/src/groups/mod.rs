//! Groups (docs/groups.md): places where members talk together, moderated by their own
//! people. Every group action is defined once here, a file per family — the group itself
//! (`manage`), who is in it (`membership`), what is posted to it (`posting`) — and each checks
//! its permissions here, whichever door calls it. Who may *read* a members-only group post is
//! the store's one audience rule (`Grant::GroupMembers`); these functions decide who may act.
mod documents;
mod forwarding;
mod manage;
mod membership;
mod moderation;
mod posting;
mod standing;

pub use manage::{GroupInput, GroupUpdate};
pub use membership::GroupRelationship;
pub use moderation::{MAX_REASON_CHARS, RemovedPostView};
pub use posting::GroupTarget;

use kring_core::model::Account;
use kring_core::{Group, GroupRole, Membership};
use serde::Deserialize;

use crate::{Actor, Error, Id, Kring, Result};

/// Who may create groups on this server (`group_creation` in the configuration).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupCreation {
    /// Every local person.
    #[default]
    Anyone,
    /// The server's admins only.
    Admins,
}

/// A group with its account (name, handle, description, images) and, for a signed-in
/// viewer, where they stand with it.
#[derive(Debug, Clone)]
pub struct GroupView {
    pub group: Group,
    pub account: Account,
    pub membership: Option<Membership>,
}

impl GroupView {
    pub fn role(&self) -> Option<GroupRole> {
        self.membership.as_ref().and_then(Membership::role)
    }
}

/// The refusal a person who may not post to a group gets, and why.
pub(crate) fn may_post(membership: Option<&Membership>) -> Result<()> {
    match membership {
        Some(Membership::Member { .. }) => Ok(()),
        Some(Membership::Banned { .. }) => Err(Error::forbidden("You are banned from this group")),
        _ => Err(Error::forbidden(
            "You must be a member of this group to post in it",
        )),
    }
}

impl Kring {
    /// A group and its account. A private group's name, description and rules are visible
    /// (so people can ask to join, as Truth Social and Facebook show private groups); its
    /// posts, members and timeline are not (docs/groups.md).
    pub async fn group(&self, viewer: Option<&Actor>, id: Id) -> Result<GroupView> {
        let (group, account) = self.group_record(id).await?;
        let membership = match viewer {
            Some(v) => self.store.membership(id, v.id()).await?,
            None => None,
        };
        Ok(GroupView {
            group,
            account,
            membership,
        })
    }

    /// Groups by id, each with where `viewer` stands (for the `group` of statuses and
    /// relationships): ids that are no group are left out.
    pub async fn groups_by_ids(
        &self,
        viewer: Option<&Actor>,
        ids: &[Id],
    ) -> Result<Vec<GroupView>> {
        let groups = self.store.groups_by_ids(ids).await?;
        let accounts = self
            .store
            .accounts_by_ids(&groups.iter().map(|g| g.id).collect::<Vec<_>>())
            .await?;
        let mut memberships = match viewer {
            Some(v) => self.store.memberships_in(v.id(), ids).await?,
            None => Default::default(),
        };
        Ok(groups
            .into_iter()
            .filter_map(|g| {
                let account = accounts
                    .iter()
                    .find(|a| a.id == g.id && a.suspended_at.is_none())?
                    .clone();
                let membership = memberships.remove(&g.id);
                Some(GroupView {
                    group: g,
                    account,
                    membership,
                })
            })
            .collect())
    }

    /// The group record and its account, or NotFound (also for a suspended group).
    pub(crate) async fn group_record(&self, id: Id) -> Result<(Group, Account)> {
        let group = self.store.group(id).await?.ok_or(Error::NotFound)?;
        let account = self.account(id).await?;
        if account.suspended_at.is_some() {
            return Err(Error::NotFound);
        }
        Ok((group, account))
    }

    /// The actor's role in the group, or a refusal: private groups answer "not found" to
    /// people who are not members, so their existence is not confirmed by a moderation
    /// endpoint.
    pub(crate) async fn group_role(&self, actor: &Actor, group: &Group) -> Result<GroupRole> {
        match self.store.membership(group.id, actor.id()).await? {
            Some(Membership::Member { role, .. }) => Ok(role),
            _ if group.is_hidden() => Err(Error::NotFound),
            _ => Err(Error::forbidden("This action is not allowed")),
        }
    }

    /// The actor's role, which must moderate the group.
    pub(crate) async fn group_moderator(&self, actor: &Actor, group: &Group) -> Result<GroupRole> {
        let role = self.group_role(actor, group).await?;
        if !role.moderates() {
            return Err(Error::forbidden("This action is not allowed"));
        }
        Ok(role)
    }

    /// May `viewer` see who is in the group and read its timeline? Everyone for public and
    /// closed groups; members only for private ones.
    pub(crate) async fn group_contents_visible(
        &self,
        viewer: Option<&Actor>,
        group: &Group,
    ) -> Result<bool> {
        if !group.is_hidden() {
            return Ok(true);
        }
        Ok(match viewer {
            Some(v) => self
                .store
                .membership(group.id, v.id())
                .await?
                .is_some_and(|m| m.is_member()),
            None => false,
        })
    }
}
