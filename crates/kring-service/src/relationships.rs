//! Follows, follow requests, blocks, mutes, endorsements, notes.
use kring_core::model::{Account, NotificationType, Page, Relationship};
use kring_core::time::now_micros;
use kring_store::{Edge, FollowOptions};

use crate::events::{EventKind, Stream};
use crate::federation::Recipients;
use crate::{Actor, Error, Id, Kring, Result};
use kring_activitypub::as2;
use serde_json::json;

/// How many of a newly followed account's posts join the follower's feed at once.
const BACKFILL: i64 = 40;

impl Kring {
    /// Follow, or ask to follow a locked account. Following again updates the options.
    /// `reblogs`/`notify` left out keep their current values when already following, and
    /// default to showing boosts without notifications otherwise (as Mastodon).
    pub async fn follow(
        &self,
        actor: &Actor,
        target: Id,
        reblogs: Option<bool>,
        notify: Option<bool>,
    ) -> Result<Relationship> {
        if target == actor.id() {
            return Err(Error::forbidden("You cannot follow yourself"));
        }
        let current = self.store.relationship(actor.id(), target).await?;
        let opts = FollowOptions {
            show_reblogs: reblogs.unwrap_or(!current.following || current.showing_reblogs),
            notify: notify.unwrap_or(current.notifying),
        };
        let account = self.account(target).await?;
        if account.group
            && account.is_local()
            && let Some(group) = self.store.group(target).await?
        {
            // Following a group here is joining it (a request for a closed or private one).
            self.join_as(&group, &actor.account, None).await?;
            return self.store.relationship(actor.id(), target).await;
        }
        if self.store.blocked_either(actor.id(), target).await? {
            return Err(Error::forbidden("This action is not allowed"));
        }
        let mut tx = self.store.begin().await?;
        let mut notified = None;
        if self.store.follows(actor.id(), target).await? {
            tx.insert_follow(actor.id(), target, opts, None).await?;
        } else if !account.is_local() {
            // A remote follow is pending until the other server accepts it.
            let uri = match self.store.follow_uri(actor.id(), target).await? {
                Some(u) => u,
                None => self.activity_id(&actor.account, "follows"),
            };
            tx.insert_follow_request(actor.id(), target, opts, Some(&uri))
                .await?;
            let follow = as2::direct_activity(
                "Follow",
                &uri,
                &actor.account.uri,
                json!(account.uri),
                &account.uri,
            );
            self.emit(
                &mut tx,
                &actor.account,
                follow,
                Recipients::Accounts { ids: vec![target] },
            )
            .await?;
        } else if account.locked {
            if tx
                .insert_follow_request(actor.id(), target, opts, None)
                .await?
                && account.is_local()
            {
                notified = self
                    .notify_in(
                        &mut tx,
                        target,
                        NotificationType::FollowRequest,
                        actor.id(),
                        None,
                    )
                    .await?;
            }
        } else {
            self.accept_follow_in(&mut tx, actor.id(), &account, opts, None)
                .await?;
            if account.is_local() {
                notified = self
                    .notify_in(&mut tx, target, NotificationType::Follow, actor.id(), None)
                    .await?;
            }
        }
        tx.commit().await?;
        if let Some(n) = notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(target)]);
        }
        self.store.relationship(actor.id(), target).await
    }

    async fn accept_follow_in(
        &self,
        tx: &mut kring_store::Tx,
        follower: Id,
        target: &Account,
        opts: FollowOptions,
        uri: Option<&str>,
    ) -> Result<()> {
        if tx.insert_follow(follower, target.id, opts, uri).await? {
            tx.bump_counts(follower, 0, 1, 0).await?;
            tx.bump_counts(target.id, 1, 0, 0).await?;
            tx.backfill_feed(follower, target.id, BACKFILL).await?;
        }
        Ok(())
    }

    pub async fn unfollow(&self, actor: &Actor, target: Id) -> Result<Relationship> {
        let account = self.account(target).await?;
        if account.group && account.is_local() && self.store.group(target).await?.is_some() {
            self.leave_group(actor, target).await?;
            return self.store.relationship(actor.id(), target).await;
        }
        let follow_uri = self.store.follow_uri(actor.id(), target).await?;
        let mut tx = self.store.begin().await?;
        if !account.is_local()
            && let Some(uri) = follow_uri
        {
            let follow = json!({ "id": uri, "type": "Follow", "actor": actor.account.uri, "object": account.uri });
            let undo = as2::direct_activity(
                "Undo",
                &format!("{uri}/undo"),
                &actor.account.uri,
                follow,
                &account.uri,
            );
            self.emit(
                &mut tx,
                &actor.account,
                undo,
                Recipients::Accounts { ids: vec![target] },
            )
            .await?;
        }
        self.unfollow_in(&mut tx, actor.id(), target).await?;
        tx.take_follow_request(actor.id(), target).await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    async fn unfollow_in(&self, tx: &mut kring_store::Tx, follower: Id, target: Id) -> Result<()> {
        if tx.delete_follow(follower, target).await? {
            tx.bump_counts(follower, 0, -1, 0).await?;
            tx.bump_counts(target, -1, 0, 0).await?;
            tx.remove_author_from_feed(follower, target).await?;
            tx.remove_from_owner_lists(follower, target).await?;
        }
        Ok(())
    }

    /// Make `follower` stop following the actor (a "soft block").
    pub async fn remove_from_followers(&self, actor: &Actor, follower: Id) -> Result<Relationship> {
        let remote = self.account(follower).await?;
        let follow_uri = self.store.follow_uri(follower, actor.id()).await?;
        let mut tx = self.store.begin().await?;
        self.unfollow_in(&mut tx, follower, actor.id()).await?;
        if !remote.is_local() {
            let uri = follow_uri.unwrap_or_default();
            self.send_follow_answer(&mut tx, &actor.account, &remote, &uri, false)
                .await?;
        }
        tx.commit().await?;
        self.store.relationship(actor.id(), follower).await
    }

    pub async fn authorize_follow_request(&self, actor: &Actor, from: Id) -> Result<Relationship> {
        let follower = self.account(from).await?;
        let mut tx = self.store.begin().await?;
        let (opts, uri) = tx
            .take_follow_request(from, actor.id())
            .await?
            .ok_or(Error::NotFound)?;
        self.accept_follow_in(&mut tx, follower.id, &actor.account, opts, uri.as_deref())
            .await?;
        if !follower.is_local() {
            self.send_follow_answer(
                &mut tx,
                &actor.account,
                &follower,
                &uri.unwrap_or_default(),
                true,
            )
            .await?;
        }
        // The request is settled: its notification goes, and (as in Mastodon) no `follow`
        // notification follows, since the actor chose this follower.
        tx.delete_notifications(actor.id(), NotificationType::FollowRequest, from, None)
            .await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), from).await
    }

    pub async fn reject_follow_request(&self, actor: &Actor, from: Id) -> Result<Relationship> {
        let requester = self.account(from).await?;
        let mut tx = self.store.begin().await?;
        let (_, uri) = tx
            .take_follow_request(from, actor.id())
            .await?
            .ok_or(Error::NotFound)?;
        if !requester.is_local() {
            self.send_follow_answer(
                &mut tx,
                &actor.account,
                &requester,
                &uri.unwrap_or_default(),
                false,
            )
            .await?;
        }
        tx.delete_notifications(actor.id(), NotificationType::FollowRequest, from, None)
            .await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), from).await
    }

    /// Block: ends follows both ways and pending requests, and hides each from the other.
    pub async fn block(&self, actor: &Actor, target: Id) -> Result<Relationship> {
        if target == actor.id() {
            return Err(Error::forbidden("You cannot block yourself"));
        }
        let account = self.account(target).await?;
        let mut tx = self.store.begin().await?;
        tx.insert_block(actor.id(), target).await?;
        if !account.is_local() {
            let block = as2::direct_activity(
                "Block",
                &block_id(&actor.account, target),
                &actor.account.uri,
                json!(account.uri),
                &account.uri,
            );
            self.emit(
                &mut tx,
                &actor.account,
                block,
                Recipients::Accounts { ids: vec![target] },
            )
            .await?;
        }
        self.unfollow_in(&mut tx, actor.id(), target).await?;
        self.unfollow_in(&mut tx, target, actor.id()).await?;
        tx.take_follow_request(actor.id(), target).await?;
        tx.take_follow_request(target, actor.id()).await?;
        tx.remove_author_from_feed(actor.id(), target).await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    pub async fn unblock(&self, actor: &Actor, target: Id) -> Result<Relationship> {
        let account = self.account(target).await?;
        let mut tx = self.store.begin().await?;
        if tx.delete_block(actor.id(), target).await? && !account.is_local() {
            let block = json!({ "id": block_id(&actor.account, target), "type": "Block", "actor": actor.account.uri, "object": account.uri });
            let undo = as2::direct_activity(
                "Undo",
                &format!("{}/undo", block_id(&actor.account, target)),
                &actor.account.uri,
                block,
                &account.uri,
            );
            self.emit(
                &mut tx,
                &actor.account,
                undo,
                Recipients::Accounts { ids: vec![target] },
            )
            .await?;
        }
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    /// Mute for `duration_secs` (0 or None: forever).
    pub async fn mute(
        &self,
        actor: &Actor,
        target: Id,
        notifications: bool,
        duration_secs: Option<i64>,
    ) -> Result<Relationship> {
        if target == actor.id() {
            return Err(Error::forbidden("You cannot mute yourself"));
        }
        self.account(target).await?;
        let expires = duration_secs
            .filter(|&d| d > 0)
            .map(|d| now_micros() + d.saturating_mul(1_000_000));
        let mut tx = self.store.begin().await?;
        tx.upsert_mute(actor.id(), target, notifications, expires)
            .await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    pub async fn unmute(&self, actor: &Actor, target: Id) -> Result<Relationship> {
        self.account(target).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_mute(actor.id(), target).await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    /// Feature on one's profile (only accounts one follows).
    pub async fn endorse(&self, actor: &Actor, target: Id, on: bool) -> Result<Relationship> {
        self.account(target).await?;
        let mut tx = self.store.begin().await?;
        if on {
            if !self.store.follows(actor.id(), target).await? {
                return Err(Error::validation(
                    "You must be following this account to feature it",
                ));
            }
            tx.insert_endorsement(actor.id(), target).await?;
        } else {
            tx.delete_endorsement(actor.id(), target).await?;
        }
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    pub async fn set_note(&self, actor: &Actor, target: Id, comment: &str) -> Result<Relationship> {
        self.account(target).await?;
        if comment.chars().count() > 2000 {
            return Err(Error::validation(
                "Comment is too long (maximum is 2000 characters)",
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.set_note(actor.id(), target, comment).await?;
        tx.commit().await?;
        self.store.relationship(actor.id(), target).await
    }

    pub async fn relationships(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Relationship>> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids.iter().take(100) {
            if self.store.account(id).await?.is_some() {
                out.push(self.store.relationship(actor.id(), id).await?);
            }
        }
        Ok(out)
    }

    /// Followers or following of an account, unless it hides them (its owner always sees).
    pub async fn connections(
        &self,
        viewer: Option<&Actor>,
        account: Id,
        followers: bool,
        page: &Page,
    ) -> Result<Vec<(Id, Account)>> {
        let a = self.account(account).await?;
        if a.hide_collections && crate::viewer_id(viewer) != Some(a.id) {
            return Ok(Vec::new());
        }
        if let Some(v) = viewer
            && self.store.blocks(a.id, v.id()).await?
        {
            return Ok(Vec::new());
        }
        let edge = if followers {
            Edge::Followers
        } else {
            Edge::Following
        };
        self.store.edge_accounts(edge, account, page).await
    }

    /// The actor's own follow requests, blocks, mutes or endorsements.
    pub async fn own_edges(
        &self,
        actor: &Actor,
        edge: Edge,
        page: &Page,
    ) -> Result<Vec<(Id, Account)>> {
        self.store.edge_accounts(edge, actor.id(), page).await
    }

    /// How many ask to follow the actor (Mastodon's `follow_requests_count`).
    pub async fn follow_request_count(&self, actor: &Actor) -> Result<i64> {
        self.store.follow_request_count(actor.id()).await
    }

    pub async fn endorsements_of(&self, account: Id, page: &Page) -> Result<Vec<(Id, Account)>> {
        self.account(account).await?;
        self.store
            .edge_accounts(Edge::Endorsements, account, page)
            .await
    }

    pub async fn familiar_followers(
        &self,
        actor: &Actor,
        ids: &[Id],
    ) -> Result<Vec<(Id, Vec<Account>)>> {
        let mut out = Vec::new();
        for &id in ids.iter().take(40) {
            out.push((id, self.store.familiar_followers(actor.id(), id, 40).await?));
        }
        Ok(out)
    }
}

/// A Block's id is derived from the pair, so its Undo can name it without storing it.
fn block_id(actor: &Account, target: Id) -> String {
    format!("{}#blocks/{}", actor.uri, target)
}
