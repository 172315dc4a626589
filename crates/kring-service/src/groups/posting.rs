//! Posting to a group: by naming it (`group_id`, the Truth Social API), by mentioning it (any
//! Mastodon app, as with Lemmy, Friendica and guppe), or by replying to a post in it. Only
//! members post; the group then `Announce`s the post to its members (FEP-1b12), locally into
//! their home feeds and the group's timeline, remotely to each member of a private group by
//! name or to the followers of a public one.
use kring_core::model::{Account, Page, Status};
use kring_core::time::now_micros;
use kring_core::{Audience, Grant, Group, Visibility};
use kring_store::{NewStatus, Tx};

use super::may_post;
use crate::federation::Recipients;
use crate::{Actor, Error, Id, Kring, Result};

/// The group a new post goes to, and how it was chosen.
#[derive(Debug, Clone)]
pub struct GroupTarget {
    pub group: Group,
    pub account: Account,
    /// Named with `group_id` (or a reply in the group): a refusal is an error. A post that
    /// only mentions the group is an ordinary post when the author may not post there.
    pub explicit: bool,
}

impl GroupTarget {
    /// The audience a new top-level post to the group gets: the group's members only, or
    /// public (with the members granted too, so the post stays theirs however the author's
    /// follows change).
    pub(crate) fn audience(&self, author: Id, addressed: &[Id]) -> (Visibility, Audience) {
        if self.group.posts_members_only() {
            return (
                Visibility::Group,
                Audience::for_group_members(self.group.id, addressed),
            );
        }
        let mut a = Audience::for_visibility(Visibility::Public, author, addressed);
        a.grants.push(Grant::GroupMembers(self.group.id));
        a.grants.sort();
        (Visibility::Public, a)
    }
}

impl Kring {
    /// Which group a new post goes to, if any, checking that the author may post there.
    /// `mentions`: the accounts the text mentions (a member's post mentioning a local group
    /// goes to it).
    pub(crate) async fn group_target(
        &self,
        actor: &Actor,
        group_id: Option<Id>,
        parent: Option<&Status>,
        mentions: &[Account],
        visibility: Visibility,
    ) -> Result<Option<GroupTarget>> {
        if let Some(p) = parent
            && let Some(g) = self.store.group_of_status(p.id).await?
        {
            if group_id.is_some_and(|id| id != g) {
                return Err(Error::validation(
                    "A reply stays in the group of the post it answers",
                ));
            }
            return self.checked_target(actor, g, true).await.map(Some);
        }
        if let Some(g) = group_id {
            if parent.is_some() {
                return Err(Error::validation(
                    "A reply to a post outside the group cannot be posted to it",
                ));
            }
            return self.checked_target(actor, g, true).await.map(Some);
        }
        // By mention: only a member's top-level post, only a local group, and never wider
        // than the author chose (a followers-only or direct post mentioning a public group
        // stays what it was).
        if parent.is_some() {
            return Ok(None);
        }
        for m in mentions.iter().filter(|m| m.group && m.is_local()) {
            let Ok(target) = self.checked_target(actor, m.id, false).await else {
                continue;
            };
            if target.group.posts_members_only()
                || matches!(visibility, Visibility::Public | Visibility::Unlisted)
            {
                return Ok(Some(target));
            }
        }
        Ok(None)
    }

    async fn checked_target(&self, actor: &Actor, id: Id, explicit: bool) -> Result<GroupTarget> {
        let (group, account) = match self.group_record(id).await {
            Ok(r) => r,
            Err(Error::NotFound) => {
                return Err(Error::validation("The group does not exist"));
            }
            Err(e) => return Err(e),
        };
        let membership = self.store.membership(id, actor.id()).await?;
        if group.is_hidden() && membership.is_none() {
            return Err(Error::validation("The group does not exist"));
        }
        may_post(membership.as_ref())?;
        Ok(GroupTarget {
            group,
            account,
            explicit,
        })
    }

    /// In the posting transaction: record that the group carries `post` and make the group's
    /// boost of it (its `Announce`), into members' home feeds and out to remote members.
    /// Returns the boost, to publish after the commit.
    pub(crate) async fn announce_in_group(
        &self,
        tx: &mut Tx,
        target: &GroupTarget,
        post: &Status,
        post_author: &Account,
    ) -> Result<(Status, Audience)> {
        let g = &target.account;
        // A local post says so itself; a remote member's post to a members-only group is
        // for members unless its author made it public.
        let members_only = post.visibility == Visibility::Group
            || (!post.local && target.group.posts_members_only() && !is_public(post));
        let (visibility, audience) = if members_only {
            (
                Visibility::Group,
                Audience::for_group_members(g.id, &[]).local_only(post.local_only),
            )
        } else {
            (
                Visibility::Public,
                Audience::for_visibility(Visibility::Public, g.id, &[]).local_only(post.local_only),
            )
        };
        let id = Id::generate();
        let boost = NewStatus::boost(
            id,
            g.id,
            format!("{}/statuses/{}/activity", self.local_uri(&g.username), id),
            format!("{}/{}", self.local_url(&g.username), id),
            true,
            post,
            visibility,
            audience.clone(),
            now_micros(),
        );
        tx.insert_status(&boost).await?;
        tx.insert_group_status(post.id, g.id, Some(id), now_micros())
            .await?;
        tx.fan_out_to_group(id, g.id, post.account_id).await?;
        let as_stored = boost.to_status();
        let announce = self.announce_of(&as_stored, g, post, post_author);
        let to = if post.local_only {
            Recipients::Nobody
        } else if members_only {
            // Each remote member by name, never a collection: a private group's posts reach
            // its members' servers and no other.
            Recipients::Narrow {
                ids: self
                    .store
                    .remote_accounts_in(&audience_with_members(g.id))
                    .await?,
            }
        } else {
            Recipients::Followers {
                of: g.id,
                also: Vec::new(),
            }
        };
        self.emit(tx, g, announce, to).await?;
        Ok((as_stored, audience))
    }

    /// A remote person's post that arrived in the inbox: if it is addressed to (or mentions)
    /// a local group, or answers a post in one, and its author is a member, the group takes
    /// it — its members are granted it and the group announces it, as for a local member's
    /// post. A non-member's or banned person's post stays what it was: the group does not
    /// announce it (telling its author is not built yet).
    pub(crate) async fn take_remote_group_post(
        &self,
        post: &Status,
        addressed: &[String],
    ) -> Result<()> {
        if post.local || post.reblog_of_id.is_some() || post.pending_approval_by.is_some() {
            return Ok(());
        }
        // Which of our groups it is for is asked first: most posts answer none and address
        // none, and then nothing is read.
        let mut group = match post.in_reply_to_id {
            Some(p) => self.store.group_of_status(p).await?,
            None => None,
        };
        if group.is_none() {
            for uri in addressed.iter().filter(|u| self.is_local_uri(u)) {
                if let Some(a) = self.store.account_by_uri(uri).await?
                    && a.group
                {
                    group = Some(a.id);
                    break;
                }
            }
        }
        let Some(g) = group else {
            return Ok(());
        };
        if self.store.group_of_status(post.id).await?.is_some() {
            // In a group already.
            return Ok(());
        }
        if self.store.group_carried(g, post.id).await? {
            // Removed by a moderator before: not taken in again.
            return Ok(());
        }
        let Ok((group, account)) = self.group_record(g).await else {
            return Ok(());
        };
        if !account.is_local() {
            // A group elsewhere takes (or refuses) posts itself.
            return Ok(());
        }
        let membership = self.store.membership(g, post.account_id).await?;
        if !membership.as_ref().is_some_and(|m| m.is_member()) {
            return self
                .refuse_group_post(&account, post, membership.as_ref())
                .await;
        }
        let author = self.account(post.account_id).await?;
        let target = GroupTarget {
            group,
            account,
            explicit: false,
        };
        let mut tx = self.store.begin().await?;
        if !is_public(post) {
            tx.grant_group_members(post.id, g).await?;
            tx.label_group_post(post.id).await?;
        }
        let (boost, audience) = self
            .announce_in_group(&mut tx, &target, post, &author)
            .await?;
        tx.commit().await?;
        self.publish_group_boost(&boost, &audience).await
    }

    /// Tell the author of a post the group will not carry why: the group's `Reject` of the
    /// post, with the reason as `summary` (Kring and Lemmy-style software can show it; others
    /// ignore it). The post stays its author's; the group does not announce it.
    async fn refuse_group_post(
        &self,
        group: &Account,
        post: &Status,
        membership: Option<&kring_core::Membership>,
    ) -> Result<()> {
        let why = match may_post(membership) {
            Err(Error::Forbidden(m)) => m,
            _ => return Ok(()),
        };
        let reject = serde_json::json!({
            "@context": kring_activitypub::as2::context(),
            "id": format!("{}#rejects/{}", group.uri, Id::generate()),
            "type": "Reject",
            "actor": group.uri,
            "object": post.uri,
            "summary": why,
        });
        let mut tx = self.store.begin().await?;
        self.emit(
            &mut tx,
            group,
            reject,
            Recipients::Accounts {
                ids: vec![post.account_id],
            },
        )
        .await?;
        tx.commit().await?;
        tracing::info!(group = %group.id, status = %post.id, "a post to the group was refused");
        Ok(())
    }

    /// Whether a stored post is for a group's members only (carries the group's grant and is
    /// not public).
    pub(crate) async fn members_only_in_group(&self, status: Id) -> Result<bool> {
        Ok(self.store.audience_of(status).await?.is_some_and(|a| {
            !a.public && a.grants.iter().any(|g| matches!(g, Grant::GroupMembers(_)))
        }))
    }

    /// After the commit: streaming viewers hear of the group's boost.
    pub(crate) async fn publish_group_boost(
        &self,
        boost: &Status,
        audience: &Audience,
    ) -> Result<()> {
        let status = self.store.status(boost.id).await?.ok_or(Error::NotFound)?;
        self.publish_status(&status, &[], audience).await
    }

    /// A group's timeline: the posts it carries that the viewer may read (nothing of a
    /// private group for anyone but its members).
    pub async fn group_timeline(
        &self,
        viewer: Option<&Actor>,
        id: Id,
        page: &Page,
    ) -> Result<Vec<Status>> {
        self.may_read_group_timeline(viewer, id).await?;
        self.store
            .group_timeline(viewer.map(Actor::id), id, page)
            .await
    }

    /// Whether the viewer may read a group's timeline (and follow its stream): not found for
    /// anyone but its members when the group is private.
    pub async fn may_read_group_timeline(&self, viewer: Option<&Actor>, id: Id) -> Result<()> {
        let view = self.group(viewer, id).await?;
        if !self.group_contents_visible(viewer, &view.group).await? {
            return Err(Error::NotFound);
        }
        Ok(())
    }

    /// The group each of these statuses is in (for the `group` of status views).
    pub async fn groups_of_statuses(
        &self,
        ids: &[Id],
    ) -> Result<std::collections::HashMap<Id, Id>> {
        self.store.groups_of_statuses(ids).await
    }
}

fn is_public(post: &Status) -> bool {
    matches!(post.visibility, Visibility::Public | Visibility::Unlisted)
}

fn audience_with_members(group: Id) -> Audience {
    Audience::for_group_members(group, &[])
}
