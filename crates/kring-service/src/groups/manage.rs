//! The group itself: create, update, delete, list.
use kring_core::model::Page;
use kring_core::time::now_micros;
use kring_core::{Group, GroupAction, GroupKind, GroupRole, Membership, username};
use kring_store::{FollowOptions, MemberFilter, NewAccount, ProfileUpdate};

use super::{GroupCreation, GroupView};
use crate::federation::Recipients;
use crate::{Actor, Error, Id, Kring, Result};

const MAX_NAME_CHARS: usize = 100;
const MAX_NOTE_CHARS: usize = 5000;
const MAX_RULES_CHARS: usize = 5000;

/// A new group as any door submits it.
#[derive(Debug, Clone)]
pub struct GroupInput {
    /// The handle (`@name@server`), also the group's address.
    pub username: String,
    pub display_name: String,
    pub note: String,
    pub kind: GroupKind,
    /// Closed groups only: keep posts for members.
    pub members_only: bool,
    pub rules: String,
}

/// Changes to a group; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupUpdate {
    pub display_name: Option<String>,
    pub note: Option<String>,
    pub kind: Option<GroupKind>,
    pub members_only: Option<bool>,
    pub rules: Option<String>,
    /// New pictures, as uploaded (re-encoded and cut like a person's).
    pub avatar: Option<Vec<u8>>,
    pub header: Option<Vec<u8>>,
}

fn check_len(what: &str, s: &str, max: usize) -> Result<()> {
    if s.chars().count() > max {
        return Err(Error::validation(format!(
            "{what} is too long (maximum is {max} characters)"
        )));
    }
    Ok(())
}

impl Kring {
    /// Create a group, its creator its owner. Who may create groups is the server's
    /// `group_creation` setting.
    pub async fn create_group(&self, actor: &Actor, input: GroupInput) -> Result<GroupView> {
        if self.config.group_creation == GroupCreation::Admins && !actor.is_admin() {
            return Err(Error::forbidden(
                "Only this server's admins may create groups",
            ));
        }
        let name = input.username.trim().to_string();
        username::validate_local(&name).map_err(|e| Error::validation(e.to_string()))?;
        if self.store.account_by_handle(&name, None).await?.is_some() {
            return Err(Error::validation("Username has already been taken"));
        }
        let display_name = input.display_name.trim().to_string();
        if display_name.is_empty() {
            return Err(Error::validation("Display name can't be blank"));
        }
        check_len("Display name", &display_name, MAX_NAME_CHARS)?;
        check_len("Note", &input.note, MAX_NOTE_CHARS)?;
        check_len("Rules", &input.rules, MAX_RULES_CHARS)?;
        let note_html = self.render_text(&input.note).await?.html;
        let keys = crate::keys::generate().await?;
        let id = Id::generate();
        let now = now_micros();
        let base = self.config.base_url();
        let account = NewAccount {
            id,
            username: name.clone(),
            domain: None,
            display_name,
            note: input.note,
            note_html,
            fields: Vec::new(),
            bot: false,
            group: true,
            // Joining a closed or private group waits for a moderator.
            locked: input.kind.needs_approval(),
            // A private group is kept out of directories and search.
            discoverable: input.kind != GroupKind::Private,
            uri: self.local_uri(&name),
            url: self.local_url(&name),
            inbox_url: format!("{}/inbox", self.local_uri(&name)),
            shared_inbox_url: Some(format!("{base}/inbox")),
            followers_url: format!("{}/followers", self.local_uri(&name)),
            public_key_pem: keys.public_pem,
            private_key_pem: Some(keys.private_pem),
            created_at: now,
        };
        let group = Group {
            id,
            kind: input.kind,
            members_only: input.kind == GroupKind::Private
                || (input.kind == GroupKind::Closed && input.members_only),
            rules: input.rules,
            members_count: 0,
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_account(&account).await.map_err(|e| match e {
            Error::Conflict(_) => Error::validation("Username has already been taken"),
            e => e,
        })?;
        tx.insert_group(&group).await?;
        tx.commit().await?;
        self.add_member(id, actor.id(), GroupRole::Owner, None)
            .await?;
        tracing::info!(group = %id, username = %name, "group created");
        self.group(Some(actor), id).await
    }

    /// Change a group's profile, kind or rules (its admins). The group's followers'
    /// servers hear of the new profile, as for a person's.
    pub async fn update_group(&self, actor: &Actor, id: Id, u: GroupUpdate) -> Result<GroupView> {
        let (mut group, _) = self.group_record(id).await?;
        let role = self.group_role(actor, &group).await?;
        if !role.administers() {
            return Err(Error::forbidden("This action is not allowed"));
        }
        let mut p = ProfileUpdate::default();
        if let Some(name) = u.display_name {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err(Error::validation("Display name can't be blank"));
            }
            check_len("Display name", &name, MAX_NAME_CHARS)?;
            p.display_name = Some(name);
        }
        if let Some(note) = u.note {
            check_len("Note", &note, MAX_NOTE_CHARS)?;
            let html = self.render_text(&note).await?.html;
            p.note = Some((note, html));
        }
        if let Some(rules) = u.rules {
            check_len("Rules", &rules, MAX_RULES_CHARS)?;
            group.rules = rules;
        }
        if let Some(kind) = u.kind {
            // Posts already written keep the audience they were written for; a group that
            // turns private does not make earlier public posts private, nor the reverse
            // (docs/groups.md).
            group.kind = kind;
        }
        if let Some(m) = u.members_only {
            group.members_only = m;
        }
        group.members_only = match group.kind {
            GroupKind::Public => false,
            GroupKind::Closed => group.members_only,
            GroupKind::Private => true,
        };
        p.locked = Some(group.kind.needs_approval());
        p.discoverable = Some(group.kind != GroupKind::Private);
        // The pictures first: a refused one (422 naming it) changes nothing else.
        let group_account = self.account(id).await?;
        self.set_account_images(&group_account, u.avatar, u.header)
            .await?;
        let mut tx = self.store.begin().await?;
        tx.update_profile(id, &p).await?;
        tx.update_group(&group).await?;
        tx.commit().await?;
        let account = self.account(id).await?;
        let update = kring_activitypub::as2::activity(
            "Update",
            &format!("{}#updates/{}", account.uri, Id::generate()),
            &account.uri,
            self.person_json(&account).await?,
        );
        let to = self.group_recipients(&group).await?;
        let mut tx = self.store.begin().await?;
        self.emit(&mut tx, &account, update, to).await?;
        tx.commit().await?;
        self.log_group(id, actor, GroupAction::UpdateGroup, None, "")
            .await?;
        self.group(Some(actor), id).await
    }

    /// Delete a group (its owner, or the server's admins). Members' posts stay with their
    /// authors; a members-only post is then read by its author and the accounts it
    /// mentions only. Remote members' servers get the group's `Delete`.
    pub async fn delete_group(&self, actor: &Actor, id: Id) -> Result<()> {
        let (group, account) = self.group_record(id).await?;
        if !actor.is_admin() && self.group_role(actor, &group).await? != GroupRole::Owner {
            return Err(Error::forbidden("Only the group's owner may delete it"));
        }
        let to = self.group_recipients(&group).await?;
        let delete = kring_activitypub::as2::activity(
            "Delete",
            &format!("{}#delete", account.uri),
            &account.uri,
            serde_json::json!(account.uri),
        );
        // The Delete is queued before the account goes: the worker signs with its key.
        let mut tx = self.store.begin().await?;
        self.emit(&mut tx, &account, delete, to).await?;
        tx.commit().await?;
        let members = self
            .store
            .group_members(id, MemberFilter::Members(None), &Page::newest(10_000))
            .await?;
        let mut tx = self.store.begin().await?;
        for (m, _) in members {
            if tx.delete_follow(m.id, id).await? {
                tx.bump_counts(m.id, 0, -1, 0).await?;
            }
        }
        tx.delete_group_account(id).await?;
        tx.commit().await?;
        tracing::info!(group = %id, "group deleted");
        Ok(())
    }

    /// The groups the actor is a member of.
    pub async fn my_groups(&self, actor: &Actor, page: &Page) -> Result<Vec<GroupView>> {
        let groups = self.store.groups_of_member(actor.id(), page).await?;
        let ids: Vec<Id> = groups.iter().map(|g| g.id).collect();
        self.ordered_views(Some(actor), &ids).await
    }

    /// This server's public and closed groups, newest first: a plain list, no ranking.
    pub async fn discover_groups(
        &self,
        viewer: Option<&Actor>,
        page: &Page,
    ) -> Result<Vec<GroupView>> {
        let groups = self.store.listed_groups(page).await?;
        let ids: Vec<Id> = groups.iter().map(|g| g.id).collect();
        self.ordered_views(viewer, &ids).await
    }

    async fn ordered_views(&self, viewer: Option<&Actor>, ids: &[Id]) -> Result<Vec<GroupView>> {
        let mut views = self.groups_by_ids(viewer, ids).await?;
        views.sort_by_key(|v| ids.iter().position(|&i| i == v.group.id));
        Ok(views)
    }

    /// Make `account` a member with `role` (also following the group's account, so Mastodon
    /// clients and servers see a follow), answering a remote member's `Follow` with `Accept`.
    pub(crate) async fn add_member(
        &self,
        group: Id,
        account: Id,
        role: GroupRole,
        follow_uri: Option<&str>,
    ) -> Result<()> {
        let group_account = self.account(group).await?;
        let member = self.account(account).await?;
        let mut tx = self.store.begin().await?;
        tx.set_membership(
            group,
            account,
            &Membership::Member {
                role,
                since: now_micros(),
            },
        )
        .await?;
        let opts = FollowOptions {
            show_reblogs: true,
            notify: false,
        };
        if tx.insert_follow(account, group, opts, follow_uri).await? {
            tx.bump_counts(account, 0, 1, 0).await?;
            tx.bump_counts(group, 1, 0, 0).await?;
        }
        tx.take_follow_request(account, group).await?;
        settle_group_notices_in(&mut tx, group, account).await?;
        if !member.is_local() {
            let uri = match follow_uri {
                Some(u) => Some(u.to_string()),
                None => self.store.follow_uri(account, group).await?,
            };
            if let Some(uri) = uri {
                self.send_follow_answer(&mut tx, &group_account, &member, &uri, true)
                    .await?;
            }
        }
        tx.commit().await
    }

    /// Who hears of a change to the group itself: its followers for a public or closed
    /// group, each remote member named for a private one (never a collection a non-member
    /// could read).
    pub(crate) async fn group_recipients(&self, group: &Group) -> Result<Recipients> {
        if group.is_hidden() {
            let audience = kring_core::Audience::for_group_members(group.id, &[]);
            return Ok(Recipients::Narrow {
                ids: self.store.remote_accounts_in(&audience).await?,
            });
        }
        Ok(Recipients::Followers {
            of: group.id,
            also: Vec::new(),
        })
    }
}

/// A request or an invitation was answered (or withdrawn): the notifications that asked for
/// an answer go, from every moderator's list and from the invited person's.
pub(crate) async fn settle_group_notices_in(
    tx: &mut kring_store::Tx,
    group: Id,
    account: Id,
) -> Result<()> {
    use kring_core::model::NotificationType;
    tx.delete_group_notifications(NotificationType::GroupRequest, group, Some(account), None)
        .await?;
    tx.delete_group_notifications(NotificationType::GroupInvite, group, None, Some(account))
        .await?;
    Ok(())
}
