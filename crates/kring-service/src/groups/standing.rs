//! Where a person stands with groups in general, for the pages that show it: whether they may
//! create one, and the invitations waiting for their answer.
use kring_core::model::Page;

use super::{GroupCreation, GroupView};
use crate::{Actor, Id, Kring, Result};

impl Kring {
    /// Whether `actor` may create groups (the server's `group_creation` setting), so a door
    /// offers the form only to those `create_group` would accept.
    pub fn may_create_groups(&self, actor: &Actor) -> bool {
        self.config.group_creation == GroupCreation::Anyone || actor.is_admin()
    }

    /// The groups that invited the actor and wait for an answer (joining accepts, leaving
    /// declines), newest group first.
    pub async fn group_invitations(&self, actor: &Actor, page: &Page) -> Result<Vec<GroupView>> {
        let groups = self.store.groups_inviting(actor.id(), page).await?;
        let ids: Vec<Id> = groups.iter().map(|g| g.id).collect();
        let mut views = self.groups_by_ids(Some(actor), &ids).await?;
        views.sort_by_key(|v| ids.iter().position(|&i| i == v.group.id));
        Ok(views)
    }
}
