//! Posting and everything done to a status. Each action commits in one transaction: the status,
//! its audience, the home-feed entries of local readers, notifications and (with federation)
//! delivery jobs; live events are published after the commit.
use kring_core::model::{Account, NotificationType, Status, StatusEdit};
use kring_core::time::now_micros;
use kring_core::{Audience, Decision, Interaction, Visibility};
use kring_store::{FanOut, Mark, NewStatus};

use crate::events::{EventKind, Stream};
use crate::federation::Recipients;
use crate::interactions::Interacting;
use crate::{Actor, Error, Id, Kring, Result, viewer_id};
use kring_activitypub::as2;
use serde_json::json;

/// A new post as any door submits it.
#[derive(Debug, Clone, Default)]
pub struct PostRequest {
    pub text: String,
    pub in_reply_to_id: Option<Id>,
    pub sensitive: Option<bool>,
    pub spoiler_text: String,
    pub visibility: Option<Visibility>,
    /// The author's circles a `Circle` post goes to.
    pub circle_ids: Vec<Id>,
    /// The group the post goes to (the author must be a member; `groups::posting`).
    pub group_id: Option<Id>,
    /// Keep the post on this server (never federated).
    pub local_only: bool,
    pub language: Option<String>,
    pub application_id: Option<Id>,
    pub idempotency_key: Option<String>,
    /// Who may reply, boost, favourite and quote; None: the author's default for the
    /// visibility.
    pub interaction_policy: Option<crate::interactions::PolicyInput>,
    /// The post this one quotes (FEP-044f).
    pub quoted_status_id: Option<Id>,
    /// The chat the post goes into (Pleroma's `in_reply_to_conversation_id`; `chats`).
    pub chat_id: Option<Id>,
    /// Uploads to attach, in order (`media`).
    pub media_ids: Vec<Id>,
}

#[derive(Debug, Clone, Default)]
pub struct EditRequest {
    pub text: String,
    pub spoiler_text: Option<String>,
    pub sensitive: Option<bool>,
    pub language: Option<String>,
    /// The attachments it has after the edit, in order; None keeps those it has.
    pub media_ids: Option<Vec<Id>>,
}

/// Whose live streams a new status reaches besides its audience's public ones.
pub(crate) struct Reach {
    /// The home feeds it went into.
    pub(crate) readers: Vec<Id>,
    /// The lists that show its author.
    pub(crate) lists: Vec<Id>,
}

impl Kring {
    pub async fn post(&self, actor: &Actor, req: PostRequest) -> Result<Status> {
        if let Some(key) = &req.idempotency_key
            && let Some(id) = self.store.idempotent_status(actor.id(), key).await?
            && let Some(s) = self.store.status(id).await?
        {
            return Ok(s);
        }
        let text = req.text.trim_end().to_string();
        let media = self.media_for_post(actor, &req.media_ids, None).await?;
        if text.trim().is_empty() && media.is_empty() {
            return Err(Error::validation("Text can't be blank"));
        }
        let length = text.chars().count() + req.spoiler_text.chars().count();
        if length > self.config.max_status_chars {
            return Err(Error::validation(format!(
                "Text character limit of {} exceeded",
                self.config.max_status_chars
            )));
        }
        let language = normalize_language(req.language.as_deref())?;
        let parent = match req.in_reply_to_id {
            Some(id) => Some(
                self.store
                    .visible_status(Some(actor.id()), id)
                    .await?
                    .filter(|p| p.reblog_of_id.is_none())
                    .ok_or_else(|| {
                        Error::validation("The post you are trying to reply to does not exist")
                    })?,
            ),
            None => None,
        };
        let quoted = match req.quoted_status_id {
            Some(q) => Some(self.quotable(actor, q).await?),
            None => None,
        };
        let rendered = self.render_text(&text).await?;
        let mut visibility = req.visibility.unwrap_or(actor.user.default_visibility);
        let mut req = req;
        if let Some((q, _)) = &quoted {
            // A quote never reaches further than what it quotes: quoting one's own
            // followers-only post makes a followers-only post (as on Mastodon), quoting a
            // post kept on this server keeps the quote here too.
            if q.visibility == Visibility::Private
                && matches!(visibility, Visibility::Public | Visibility::Unlisted)
            {
                visibility = Visibility::Private;
            }
            if q.local_only {
                req.local_only = true;
            }
        }
        let mut mentioned: Vec<Id> = rendered.mentions.iter().map(|a| a.id).collect();
        mentioned.retain(|&id| id != actor.id());
        // Blocked by someone we mention: they are not addressed (Mastodon silently drops them).
        let mut addressed = Vec::new();
        for id in mentioned {
            if !self.store.blocks(id, actor.id()).await? {
                addressed.push(id);
            }
        }
        let target = self
            .group_target(
                actor,
                req.group_id,
                parent.as_ref(),
                &rendered.mentions,
                visibility,
            )
            .await?;
        // A group on another server is addressed (its server announces what it accepts); a
        // local group announces it below.
        if let Some(t) = target.as_ref().filter(|t| !t.account.is_local())
            && !addressed.contains(&t.account.id)
        {
            addressed.push(t.account.id);
        }
        // A chat's message is for its participants only: those it names outside them are
        // not addressed (`chats::messages`).
        let chat = match &target {
            None => {
                self.chat_target(actor, &req, parent.as_ref(), visibility, &addressed)
                    .await?
            }
            Some(_) => None,
        };
        if let Some(c) = &chat {
            addressed.retain(|&a| c.has(a));
        }
        let (visibility, audience) = match (&target, parent.as_ref()) {
            (Some(t), None) => {
                let (v, a) = t.audience(actor.id(), &addressed);
                (v, a.local_only(req.local_only))
            }
            // A reply to a members-only post in a group stays with the members, whatever the
            // parent's label says (a remote member's post arrives as a limited one).
            (Some(_), Some(p)) if self.members_only_in_group(p.id).await? => {
                let parent_audience = self.store.audience_of(p.id).await?.unwrap_or_default();
                let inherited = Audience::inherited(&parent_audience, p.account_id);
                let mut a = Audience::named(Visibility::Group, inherited.grants);
                a.local_only = inherited.local_only || req.local_only;
                (Visibility::Group, a)
            }
            _ => {
                self.audience_for(actor, &req, visibility, parent.as_ref(), &addressed)
                    .await?
            }
        };
        let (visibility, audience) = match &chat {
            Some(c) => (Visibility::Direct, Audience::for_chat(c.chat.id)),
            None => (visibility, audience),
        };
        // A reply in a group that the replier narrowed to a few people (a direct answer) is
        // theirs, not the group's: the group announces only what its members may all read.
        let target = target.filter(|_| {
            audience.public
                || audience
                    .grants
                    .iter()
                    .any(|g| matches!(g, kring_core::Grant::GroupMembers(_)))
        });
        // May the actor answer the parent, and does the answer wait for its author?
        let mut awaits = None;
        let mut preapproved = false;
        // Within a chat every participant may answer every message.
        if let Some(p) = parent.as_ref().filter(|_| chat.is_none()) {
            let permission = self.allowed(actor, p, Interaction::Reply).await?;
            awaits = Self::awaits(permission, p);
            preapproved =
                permission.decision == Decision::Automatic && permission.needs_proof && p.local;
        }
        let policy = self
            .policy_for_new_post(actor, visibility, req.interaction_policy.as_ref())
            .await?;
        let id = Id::generate();
        let (uri, url) = self.local_status_addresses(&actor.account.username, id);
        let new = NewStatus {
            id,
            account_id: actor.id(),
            uri,
            url,
            local: true,
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            conversation_id: parent.as_ref().map(|p| p.conversation_id).unwrap_or(id),
            text,
            content: rendered.html,
            spoiler_text: req.spoiler_text.trim().to_string(),
            sensitive: req.sensitive.unwrap_or(actor.user.default_sensitive)
                || !req.spoiler_text.trim().is_empty(),
            language,
            visibility,
            audience: audience.clone(),
            interaction_policy: Some(policy),
            pending_approval_by: awaits,
            application_id: req.application_id,
            mentions: addressed.clone(),
            tags: rendered.tags.clone(),
            created_at: now_micros(),
        };
        let mut tx = self.store.begin().await?;
        tx.insert_status(&new).await?;
        if let Some(c) = &chat {
            tx.add_chat_message(c.chat.id, id, actor.id()).await?;
        }
        if !media.is_empty() {
            let ids: Vec<Id> = media.iter().map(|m| m.id).collect();
            tx.set_status_media(id, &ids).await?;
        }
        // Home feeds: the author, followers in the audience, and local accounts addressed;
        // `readers` are those written in this transaction.
        let mut readers = tx.fan_out_to(id, actor.id(), &[actor.id()]).await?;
        let mut fan_outs = crate::fanout::Pending::default();
        if audience.includes_followers_of(actor.id()) {
            let reply_to_other = parent
                .as_ref()
                .map(|p| p.account_id)
                .filter(|&a| a != actor.id());
            let to = FanOut::Followers {
                boost: false,
                reply_to_other,
            };
            readers.extend(
                self.fan_out_in(&mut tx, id, actor.id(), to, &mut fan_outs)
                    .await?,
            );
        }
        readers.extend(tx.fan_out_to(id, actor.id(), &addressed).await?);
        // A group's members get its post through the group's Announce below.
        if visibility.is_narrowed() && target.is_none() {
            readers.extend(
                self.fan_out_in(&mut tx, id, actor.id(), FanOut::Audience, &mut fan_outs)
                    .await?,
            );
        }
        let mut notified = Vec::new();
        // A reply awaiting approval mentions nobody yet: they hear of it once approved.
        for &m in addressed.iter().filter(|_| awaits.is_none()) {
            if self.store.user(m).await?.is_some()
                && let Some(n) = self
                    .notify_in(&mut tx, m, NotificationType::Mention, actor.id(), Some(id))
                    .await?
            {
                notified.push((m, n));
            }
        }
        let as_stored = new.to_status();
        let mut quote = None;
        if let Some((q, permission)) = &quoted {
            let (made, request, n) = self
                .record_new_quote(&mut tx, actor, &as_stored, q, *permission)
                .await?;
            notified.extend(n);
            quote = Some((made, request));
        }
        let mut approval = None;
        if let Some(p) = &parent {
            if let Some(approver) = awaits {
                self.record_request(
                    &mut tx,
                    &Interacting {
                        kind: Interaction::Reply,
                        target: p,
                        account: actor.id(),
                        status: Some(id),
                        uri: &new.uri,
                        request: None,
                    },
                )
                .await?;
                if self.store.user(approver).await?.is_some() {
                    self.notify_in(
                        &mut tx,
                        approver,
                        crate::interactions::pending_notification(Interaction::Reply),
                        actor.id(),
                        Some(id),
                    )
                    .await?;
                }
            } else if preapproved {
                let parent_author = self.account(p.account_id).await?;
                approval = Some(
                    self.record_preapproval(
                        &mut tx,
                        &Interacting {
                            kind: Interaction::Reply,
                            target: p,
                            account: actor.account.id,
                            status: Some(id),
                            uri: &new.uri,
                            request: None,
                        },
                        &parent_author,
                        &actor.account,
                    )
                    .await?,
                );
            }
        }
        let mut mention_accounts: Vec<Account> = rendered
            .mentions
            .iter()
            .filter(|a| addressed.contains(&a.id))
            .cloned()
            .collect();
        // A group elsewhere is named in the post (as a Mastodon app mentions a Lemmy
        // community), so its server knows the post is for it.
        if let Some(t) = target.as_ref().filter(|t| !t.account.is_local())
            && !mention_accounts.iter().any(|a| a.id == t.account.id)
        {
            mention_accounts.push(t.account.clone());
        }
        let mut note = self.note_for(
            &as_stored,
            &actor.account,
            &mention_accounts,
            &new.tags,
            parent.as_ref().map(|p| p.uri.clone()),
        );
        self.decorate_note(
            &mut note,
            &as_stored,
            &actor.account,
            &mention_accounts,
            approval.as_ref(),
            quote.as_ref().map(|(q, _)| q),
        )
        .await?;
        if let Some(c) = &chat {
            self.chat_note(&mut note, &c.chat, &c.participants, actor.id());
        }
        self.attach_to_note(&mut note, &media);
        if let (Some((q, _)), Some((_, r))) = (&quoted, &quote)
            && !q.local
            && awaits.is_none()
            && !as_stored.local_only
        {
            self.send_quote_request(&mut tx, &actor.account, &note, q, r)
                .await?;
        }
        let create = as2::activity(
            "Create",
            &format!("{}/activity", new.uri),
            &actor.account.uri,
            note,
        );
        let to = match awaits {
            // Awaiting approval: only a remote author is asked (by the reply itself, as
            // GoToSocial takes it); everyone else hears of it once it is approved.
            Some(approver) if !as_stored.local_only => Recipients::Accounts {
                ids: vec![approver],
            },
            Some(_) => Recipients::Nobody,
            None => {
                self.recipients(&as_stored, Some(&audience), &addressed)
                    .await?
            }
        };
        self.emit(&mut tx, &actor.account, create, to).await?;
        // The group announces what it accepts; a reply awaiting its parent author's approval
        // is announced by nobody.
        let group_boost = match (&target, awaits) {
            (Some(t), None) if t.account.is_local() => Some(
                self.announce_in_group(&mut tx, t, &as_stored, &actor.account)
                    .await?,
            ),
            (Some(t), None) => {
                // In that group's timeline here at once; its Announce, when it comes, is
                // the group's boost.
                tx.insert_group_status(id, t.account.id, None, now_micros())
                    .await?;
                None
            }
            _ => None,
        };
        if let Some(key) = &req.idempotency_key {
            tx.insert_idempotency(actor.id(), key, id).await?;
        }
        tx.commit().await?;
        // Its readers are those the transaction wrote (the batches after it tell their own),
        // and the status is as written: a new post has no counts yet, unless its group
        // boosted it in the same transaction.
        let status = match &group_boost {
            Some(_) => self.store.status(id).await?.ok_or(Error::NotFound)?,
            None => as_stored,
        };
        let reach = Reach {
            readers,
            lists: self.store.list_ids_containing(status.account_id).await?,
        };
        self.publish_status_to(&status, &new.tags, &audience, reach)
            .await?;
        if let Some(c) = &chat {
            self.publish_chat(c.chat.id).await?;
        }
        if let Some((boost, boost_audience)) = &group_boost {
            self.publish_group_boost(boost, boost_audience).await?;
        }
        self.continue_fan_outs(fan_outs);
        for (m, n) in notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(m)]);
        }
        self.notify_subscribers(&status, actor).await?;
        Ok(status)
    }

    /// Who a new post goes to. A reply to a friends or circle post keeps the parent's audience
    /// whatever was asked, so a conversation never leaks out of it (clients that do not know
    /// these audiences see the parent as `private`); a reply to a local-only post is local
    /// only too. A circle post names circles of the author's own.
    async fn audience_for(
        &self,
        actor: &Actor,
        req: &PostRequest,
        visibility: Visibility,
        parent: Option<&Status>,
        addressed: &[Id],
    ) -> Result<(Visibility, Audience)> {
        if let Some(p) = parent
            && (p.visibility.is_narrowed() || p.local_only)
        {
            let parent_audience = self.store.audience_of(p.id).await?.unwrap_or_default();
            if p.visibility.is_narrowed() {
                let a =
                    Audience::inherited(&parent_audience, p.account_id).local_only(req.local_only);
                return Ok((p.visibility, a));
            }
            let a = Audience::for_visibility(visibility, actor.id(), addressed).local_only(true);
            return Ok((visibility, a));
        }
        if visibility == Visibility::Group {
            return Err(Error::validation("A group post names its group (group_id)"));
        }
        if visibility == Visibility::Circle {
            if req.circle_ids.is_empty() {
                return Err(Error::validation("Choose at least one circle"));
            }
            for &c in &req.circle_ids {
                self.own_circle(actor, c).await?;
            }
            let a = Audience::for_circles(&req.circle_ids, addressed).local_only(req.local_only);
            return Ok((visibility, a));
        }
        let a =
            Audience::for_visibility(visibility, actor.id(), addressed).local_only(req.local_only);
        Ok((visibility, a))
    }

    /// The `Delete` of a local post (its Tombstone addressed as the post was).
    pub(crate) fn delete_activity(&self, s: &Status, author: &Account) -> serde_json::Value {
        let (to, cc) = as2::addressing(s.visibility, &author.followers_url, &[]);
        let tombstone = json!({ "id": s.uri, "type": "Tombstone", "to": to, "cc": cc });
        as2::activity(
            "Delete",
            &format!("{}#delete", s.uri),
            &author.uri,
            tombstone,
        )
    }

    /// Tell streaming clients about a new status or boost.
    pub(crate) async fn publish_status(
        &self,
        status: &Status,
        tags: &[String],
        audience: &Audience,
    ) -> Result<()> {
        let reach = Reach {
            readers: self.feed_recipients(status.id).await?,
            lists: self.store.list_ids_containing(status.account_id).await?,
        };
        self.publish_status_to(status, tags, audience, reach).await
    }

    /// `publish_status` where the caller knows whom the status reached (the inbox knows from
    /// its writes, and reads a claim's lists at once).
    pub(crate) async fn publish_status_to(
        &self,
        status: &Status,
        tags: &[String],
        audience: &Audience,
        reach: Reach,
    ) -> Result<()> {
        let mut streams: Vec<Stream> = reach.readers.into_iter().map(Stream::User).collect();
        if audience.listed && status.reblog_of_id.is_none() {
            streams.push(Stream::Public {
                local: status.local,
                remote: !status.local,
            });
            for tag in tags {
                streams.push(Stream::Hashtag {
                    tag: tag.to_lowercase(),
                    local: status.local,
                });
            }
        }
        streams.extend(reach.lists.into_iter().map(Stream::List));
        self.events.publish(EventKind::Update(status.id), streams);
        // A group's boost carries a post into the group: its stream shows the post itself, as
        // its timeline does (each viewer is still shown only what the audience rule allows).
        if let Some(original) = status.reblog_of_id
            && self.account(status.account_id).await?.group
        {
            self.events.publish(
                EventKind::Update(original),
                vec![Stream::Group(status.account_id)],
            );
        }
        Ok(())
    }

    pub(crate) async fn feed_recipients(&self, entry: Id) -> Result<Vec<Id>> {
        self.store.feed_recipients(entry).await
    }

    /// `status` notifications for followers who asked to be notified of this account's posts.
    async fn notify_subscribers(&self, status: &Status, actor: &Actor) -> Result<()> {
        if status.reblog_of_id.is_some() || status.in_reply_to_id.is_some() {
            return Ok(());
        }
        let subscribers = self.store.notify_subscribers(actor.id()).await?;
        if subscribers.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let mut sent = Vec::new();
        for s in subscribers {
            if self
                .store
                .visible_status(Some(s), status.id)
                .await?
                .is_some()
                && let Some(n) = self
                    .notify_in(
                        &mut tx,
                        s,
                        NotificationType::Status,
                        actor.id(),
                        Some(status.id),
                    )
                    .await?
            {
                sent.push((s, n));
            }
        }
        tx.commit().await?;
        for (s, n) in sent {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(s)]);
        }
        Ok(())
    }

    /// A status the viewer may see, or NotFound (never "forbidden": that would reveal it exists).
    pub async fn status(&self, viewer: Option<&Actor>, id: Id) -> Result<Status> {
        self.store
            .visible_status(viewer_id(viewer), id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Own status, for edit/delete/pin.
    async fn own_status(&self, actor: &Actor, id: Id) -> Result<Status> {
        let s = self.store.status(id).await?.ok_or(Error::NotFound)?;
        if s.account_id != actor.id() {
            // Someone else's post: hide whether it exists unless the actor can see it.
            return match self.store.visible_status(Some(actor.id()), id).await? {
                Some(_) => Err(Error::forbidden("This action is not allowed")),
                None => Err(Error::NotFound),
            };
        }
        Ok(s)
    }

    pub async fn edit(&self, actor: &Actor, id: Id, req: EditRequest) -> Result<Status> {
        let before = self.own_status(actor, id).await?;
        if before.reblog_of_id.is_some() {
            return Err(Error::NotFound);
        }
        let text = req.text.trim_end().to_string();
        let media = match &req.media_ids {
            Some(ids) => Some(self.media_for_post(actor, ids, Some(id)).await?),
            None => None,
        };
        let media_after = match &media {
            Some(m) => m.clone(),
            None => self.store.media_of_statuses(&[id]).await?,
        };
        if text.trim().is_empty() && media_after.is_empty() {
            return Err(Error::validation("Text can't be blank"));
        }
        let spoiler = req
            .spoiler_text
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| before.spoiler_text.clone());
        if text.chars().count() + spoiler.chars().count() > self.config.max_status_chars {
            return Err(Error::validation(format!(
                "Text character limit of {} exceeded",
                self.config.max_status_chars
            )));
        }
        let language = match req.language {
            Some(l) => normalize_language(Some(&l))?,
            None => before.language.clone(),
        };
        let rendered = self.render_text(&text).await?;
        let sensitive = req.sensitive.unwrap_or(before.sensitive) || !spoiler.is_empty();
        let mut tx = self.store.begin().await?;
        tx.edit_status(
            &before,
            &text,
            &rendered.html,
            &spoiler,
            sensitive,
            language.as_deref(),
        )
        .await?;
        if let Some(m) = &media {
            let ids: Vec<Id> = m.iter().map(|m| m.id).collect();
            tx.set_status_media(id, &ids).await?;
        }
        // Mentions keep addressing the accounts the audience was built for; new mentions in
        // an edit do not widen who may read it (as Mastodon).
        let old_mentions: Vec<Id> = self
            .store
            .mentions_of(&[id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let new_mentions: Vec<Id> = rendered
            .mentions
            .iter()
            .map(|a| a.id)
            .filter(|m| old_mentions.contains(m))
            .collect();
        tx.set_mentions_and_tags(id, &new_mentions, &rendered.tags)
            .await?;
        let mut edited = before.clone();
        edited.text = text.clone();
        edited.content = rendered.html.clone();
        edited.spoiler_text = spoiler.clone();
        edited.sensitive = sensitive;
        edited.language = language.clone();
        edited.edited_at = Some(now_micros());
        let kept: Vec<Account> = rendered
            .mentions
            .iter()
            .filter(|a| new_mentions.contains(&a.id))
            .cloned()
            .collect();
        let in_reply_to = match before.in_reply_to_id {
            Some(p) => self.store.status(p).await?.map(|p| p.uri),
            None => None,
        };
        let mut note = self.note_for(&edited, &actor.account, &kept, &rendered.tags, in_reply_to);
        let approval = self.store.interaction_request_of_status(id).await?;
        let quote = self.store.quote_of(id).await?;
        self.decorate_note(
            &mut note,
            &edited,
            &actor.account,
            &kept,
            approval.as_ref(),
            quote.as_ref(),
        )
        .await?;
        self.attach_to_note(&mut note, &media_after);
        let update = as2::activity(
            "Update",
            &format!("{}#updates/{}", before.uri, Id::generate()),
            &actor.account.uri,
            note,
        );
        // A post awaiting approval has reached no one but (if remote) its approver yet.
        let to = match before.pending_approval_by {
            Some(approver) if self.store.user(approver).await?.is_none() => Recipients::Accounts {
                ids: vec![approver],
            },
            Some(_) => Recipients::Nobody,
            None => self.recipients(&edited, None, &new_mentions).await?,
        };
        if before.pending_approval_by.is_none() {
            self.forward_in_group(&mut tx, id, &update).await?;
        }
        self.emit(&mut tx, &actor.account, update, to).await?;
        // Those who boosted it hear about the edit.
        let boosters = self
            .store
            .status_actors(id, true, &kring_core::model::Page::newest(1000))
            .await?;
        let mut notified = Vec::new();
        for (_, b) in boosters {
            if b.is_local()
                && let Some(n) = self
                    .notify_in(
                        &mut tx,
                        b.id,
                        NotificationType::Update,
                        actor.id(),
                        Some(id),
                    )
                    .await?
            {
                notified.push((b.id, n));
            }
        }
        // Those who quoted it too (Mastodon's `quoted_update`).
        for (quoting, author) in self.store.quoting_authors(id).await? {
            if self.store.user(author).await?.is_some()
                && let Some(n) = self
                    .notify_in(
                        &mut tx,
                        author,
                        NotificationType::QuotedUpdate,
                        actor.id(),
                        Some(quoting),
                    )
                    .await?
            {
                notified.push((author, n));
            }
        }
        tx.commit().await?;
        let status = self.store.status(id).await?.ok_or(Error::NotFound)?;
        let mut streams: Vec<Stream> = self
            .feed_recipients(id)
            .await?
            .into_iter()
            .map(Stream::User)
            .collect();
        if before.visibility == Visibility::Public {
            streams.push(Stream::Public {
                local: true,
                remote: false,
            });
        }
        self.events.publish(EventKind::StatusUpdate(id), streams);
        for (b, n) in notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(b)]);
        }
        Ok(status)
    }

    /// Delete one's own status. Returns it (clients use its text to "delete and redraft").
    /// Delete one's own post and get it back as it was shown (mentions, tags, app), with its
    /// source text, so an app can offer "delete and redraft".
    pub async fn delete_for_redraft(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<crate::views::StatusView> {
        let before = self.own_status(actor, id).await?;
        let mut view = self.status_view(Some(actor), before).await?;
        view.status = self.delete(actor, id).await?;
        // Gone: nobody's marks apply any more.
        for mark in [
            &mut view.favourited,
            &mut view.reblogged,
            &mut view.bookmarked,
            &mut view.pinned,
            &mut view.muted,
        ] {
            *mark = Some(false);
        }
        view.filtered.clear();
        Ok(view)
    }

    pub async fn delete(&self, actor: &Actor, id: Id) -> Result<Status> {
        let s = self.own_status(actor, id).await?;
        let mut mentioned: Vec<Id> = self
            .store
            .mentions_of(&[id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        // Everyone who received it: a public post also reached the servers of those who
        // boosted, liked or answered it (a narrowed one reached only its audience).
        if matches!(s.visibility, Visibility::Public | Visibility::Unlisted) {
            for a in self.store.remote_reach(id).await? {
                if !mentioned.contains(&a) {
                    mentioned.push(a);
                }
            }
        }
        // Read before the audience's rows go with the status.
        let deliver_to = self.recipients(&s, None, &mentioned).await?;
        let chat = self.store.chat_of_status(id).await?;
        let mut tx = self.store.begin().await?;
        // Read in the transaction, with the post held: a fan-out still running cannot add a
        // reader who would then be shown the post and never told it is gone.
        let mut recipients = tx.feed_recipients_for_removal(id).await?;
        // Its attachments wait a day for a redraft before the sweep removes them.
        tx.set_status_media(id, &[]).await?;
        let boosts = tx.delete_status(&s).await?;
        let activity = if s.reblog_of_id.is_some() {
            // Deleting a boost is undoing it.
            let announce = json!({ "id": s.uri, "type": "Announce", "actor": actor.account.uri });
            as2::activity(
                "Undo",
                &format!("{}#undo", s.uri),
                &actor.account.uri,
                announce,
            )
        } else {
            self.delete_activity(&s, &actor.account)
        };
        if s.reblog_of_id.is_none() {
            self.forward_in_group(&mut tx, s.id, &activity).await?;
        }
        self.emit(&mut tx, &actor.account, activity, deliver_to)
            .await?;
        tx.commit().await?;
        // Only public posts were on the public streams; announcing there that anything else
        // was deleted would tell everyone that it existed.
        let public = s.visibility == Visibility::Public;
        for b in boosts {
            recipients.extend(self.feed_recipients(b).await.unwrap_or_default());
            if public {
                self.events.publish(
                    EventKind::Delete(b),
                    vec![Stream::Public {
                        local: true,
                        remote: true,
                    }],
                );
            }
        }
        let mut streams: Vec<Stream> = recipients.into_iter().map(Stream::User).collect();
        if public {
            streams.push(Stream::Public {
                local: true,
                remote: true,
            });
        }
        self.events.publish(EventKind::Delete(id), streams);
        // A chat's people see its last message change.
        if let Some(c) = chat {
            self.publish_chat(c).await?;
        }
        Ok(s)
    }

    /// Every version of a post, oldest first (a post never edited has one), with its author.
    pub async fn history(
        &self,
        viewer: Option<&Actor>,
        id: Id,
    ) -> Result<(Status, Account, Vec<StatusEdit>)> {
        let s = self.status(viewer, id).await?;
        let author = self.account(s.account_id).await?;
        let mut edits = self.store.edits(id).await?;
        if edits.is_empty() {
            // Never edited: the history is the post as it is.
            edits.push(StatusEdit {
                id: s.id,
                status_id: s.id,
                content: s.content.clone(),
                spoiler_text: s.spoiler_text.clone(),
                sensitive: s.sensitive,
                created_at: s.created_at,
            });
        }
        Ok((s, author, edits))
    }

    pub async fn source(&self, actor: &Actor, id: Id) -> Result<Status> {
        self.own_status(actor, id).await
    }

    pub async fn context(
        &self,
        viewer: Option<&Actor>,
        id: Id,
    ) -> Result<(Vec<Status>, Vec<Status>)> {
        let s = self.status(viewer, id).await?;
        self.store.context(viewer_id(viewer), &s).await
    }

    /// Boost. Boosting again returns the existing boost.
    pub async fn reblog(
        &self,
        actor: &Actor,
        id: Id,
        visibility: Option<Visibility>,
    ) -> Result<Status> {
        let orig = self.status(Some(actor), id).await?;
        let orig = match orig.reblog_of_id {
            Some(inner) => self.status(Some(actor), inner).await?,
            None => orig,
        };
        let own = orig.account_id == actor.id();
        if let Some(existing) = self.store.reblog_by(actor.id(), orig.id).await? {
            return Ok(existing);
        }
        let permission = self.allowed(actor, &orig, Interaction::Reblog).await?;
        let awaits = Self::awaits(permission, &orig);
        let preapproved =
            permission.decision == Decision::Automatic && permission.needs_proof && orig.local;
        let author = self.account(orig.account_id).await?;
        // A boost is shown to the booster's followers; its reach never exceeds the original's.
        let visibility = match (orig.visibility, visibility.unwrap_or(Visibility::Public)) {
            (Visibility::Private, _) => Visibility::Private,
            // A boost cannot go to friends or circles; the narrowest boost is followers-only.
            (
                _,
                Visibility::Private
                | Visibility::Friends
                | Visibility::Circle
                | Visibility::Group
                | Visibility::Direct,
            ) => Visibility::Private,
            (Visibility::Unlisted, _) | (_, Visibility::Unlisted) => Visibility::Unlisted,
            _ => Visibility::Public,
        };
        // A boost of a local-only post stays on this server too.
        let audience =
            Audience::for_visibility(visibility, actor.id(), &[]).local_only(orig.local_only);
        let id = Id::generate();
        let mut new = NewStatus::boost(
            id,
            actor.id(),
            format!(
                "{}/statuses/{}/activity",
                self.local_uri(&actor.account.username),
                id
            ),
            format!("{}/{}", self.local_url(&actor.account.username), id),
            true,
            &orig,
            visibility,
            audience.clone(),
            now_micros(),
        );
        new.pending_approval_by = awaits;
        let mut tx = self.store.begin().await?;
        tx.insert_status(&new).await?;
        let mut readers = tx.fan_out_to(id, actor.id(), &[actor.id()]).await?;
        let mut fan_outs = crate::fanout::Pending::default();
        let to = FanOut::Followers {
            boost: true,
            reply_to_other: None,
        };
        readers.extend(
            self.fan_out_in(&mut tx, id, actor.id(), to, &mut fan_outs)
                .await?,
        );
        let mut announce = self.announce_of(&new.to_status(), &actor.account, &orig, &author);
        if let Some(approver) = awaits {
            self.record_request(
                &mut tx,
                &Interacting {
                    kind: Interaction::Reblog,
                    target: &orig,
                    account: actor.id(),
                    status: Some(id),
                    uri: &new.uri,
                    request: None,
                },
            )
            .await?;
            if author.is_local() {
                self.notify_in(
                    &mut tx,
                    approver,
                    crate::interactions::pending_notification(Interaction::Reblog),
                    actor.id(),
                    Some(orig.id),
                )
                .await?;
            } else if !orig.local_only {
                // Only the remote author is asked; the boost goes out once approved.
                self.emit(
                    &mut tx,
                    &actor.account,
                    announce,
                    Recipients::Accounts {
                        ids: vec![approver],
                    },
                )
                .await?;
            }
            tx.commit().await?;
            self.continue_fan_outs(fan_outs);
            return self.store.status(id).await?.ok_or(Error::NotFound);
        }
        if preapproved && !own {
            let r = self
                .record_preapproval(
                    &mut tx,
                    &Interacting {
                        kind: Interaction::Reblog,
                        target: &orig,
                        account: actor.account.id,
                        status: Some(id),
                        uri: &new.uri,
                        request: None,
                    },
                    &author,
                    &actor.account,
                )
                .await?;
            announce["approvedBy"] = json!(r.response_uri);
            announce["announceAuthorization"] = json!(r.authorization_uri);
        }
        let recipients = self
            .recipients(&new.to_status(), Some(&audience), &[author.id])
            .await?;
        self.emit(&mut tx, &actor.account, announce, recipients)
            .await?;
        let notified = if author.is_local() && !own {
            self.notify_in(
                &mut tx,
                author.id,
                NotificationType::Reblog,
                actor.id(),
                Some(orig.id),
            )
            .await?
        } else {
            None
        };
        tx.commit().await?;
        // As a new post: nothing read back.
        let status = new.to_status();
        let reach = Reach {
            readers,
            lists: self.store.list_ids_containing(status.account_id).await?,
        };
        self.publish_status_to(&status, &[], &audience, reach)
            .await?;
        self.continue_fan_outs(fan_outs);
        if let Some(n) = notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(author.id)]);
        }
        Ok(status)
    }

    /// The `Announce` of a local boost `s` of `orig` (by `orig_author`).
    pub(crate) fn announce_of(
        &self,
        s: &Status,
        booster: &Account,
        orig: &Status,
        orig_author: &Account,
    ) -> serde_json::Value {
        let (to, cc) = as2::addressing(
            s.visibility,
            &booster.followers_url,
            std::slice::from_ref(&orig_author.uri),
        );
        json!({
            "@context": as2::context(),
            "id": s.uri, "type": "Announce", "actor": booster.uri,
            "published": kring_core::time::rfc3339(s.created_at),
            "to": to, "cc": cc, "object": orig.uri,
        })
    }

    /// Undo a boost; returns the original status.
    pub async fn unreblog(&self, actor: &Actor, id: Id) -> Result<Status> {
        let orig = self.status(Some(actor), id).await?;
        if let Some(boost) = self.store.reblog_by(actor.id(), orig.id).await? {
            let recipients = self.feed_recipients(boost.id).await?;
            let to = self.recipients(&boost, None, &[orig.account_id]).await?;
            let mut tx = self.store.begin().await?;
            tx.delete_status(&boost).await?;
            tx.delete_notifications(
                orig.account_id,
                NotificationType::Reblog,
                actor.id(),
                Some(orig.id),
            )
            .await?;
            let announce = json!({ "id": boost.uri, "type": "Announce", "actor": actor.account.uri, "object": orig.uri });
            let undo = as2::activity(
                "Undo",
                &format!("{}#undo", boost.uri),
                &actor.account.uri,
                announce,
            );
            self.emit(&mut tx, &actor.account, undo, to).await?;
            tx.commit().await?;
            self.events.publish(
                EventKind::Delete(boost.id),
                recipients.into_iter().map(Stream::User).collect(),
            );
        }
        self.status(Some(actor), orig.id).await
    }

    pub async fn favourite(&self, actor: &Actor, id: Id) -> Result<Status> {
        let s = self.status(Some(actor), id).await?;
        // A boost carries no policy of its own; an original's says who may favourite it.
        if s.reblog_of_id.is_none() {
            let flags = self.store.status_flags(actor.id(), &[s.id]).await?;
            if !flags.favourited.contains(&s.id) {
                let permission = self.allowed(actor, &s, Interaction::Favourite).await?;
                if let Some(approver) = Self::awaits(permission, &s) {
                    self.ask_to_favourite(actor, &s, approver).await?;
                    return self.status(Some(actor), id).await;
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let created = tx.insert_mark(Mark::Favourite, actor.id(), s.id).await?;
        if created {
            let author = self
                .store
                .account(s.account_id)
                .await?
                .ok_or(Error::NotFound)?;
            let like = as2::direct_activity(
                "Like",
                &like_id(&actor.account, s.id),
                &actor.account.uri,
                json!(s.uri),
                &author.uri,
            );
            // A group here carrying the post passes the like on to its members (FEP-1b12).
            self.forward_in_group(&mut tx, s.id, &like).await?;
            if !author.is_local() {
                self.emit(
                    &mut tx,
                    &actor.account,
                    like,
                    Recipients::Accounts {
                        ids: vec![author.id],
                    },
                )
                .await?;
            }
        }
        let notified = if created
            && s.account_id != actor.id()
            && self.store.user(s.account_id).await?.is_some()
        {
            self.notify_in(
                &mut tx,
                s.account_id,
                NotificationType::Favourite,
                actor.id(),
                Some(s.id),
            )
            .await?
        } else {
            None
        };
        tx.commit().await?;
        if let Some(n) = notified {
            self.events
                .publish(EventKind::Notification(n), vec![Stream::User(s.account_id)]);
        }
        self.status(Some(actor), id).await
    }

    /// A favourite that waits for `approver` (the author): asked, not yet counted.
    async fn ask_to_favourite(&self, actor: &Actor, s: &Status, approver: Id) -> Result<()> {
        if self
            .store
            .pending_favourite(actor.id(), s.id)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let author = self.account(s.account_id).await?;
        let like = like_id(&actor.account, s.id);
        let mut tx = self.store.begin().await?;
        self.record_request(
            &mut tx,
            &Interacting {
                kind: Interaction::Favourite,
                target: s,
                account: actor.id(),
                status: None,
                uri: &like,
                request: None,
            },
        )
        .await?;
        if author.is_local() {
            self.notify_in(
                &mut tx,
                approver,
                crate::interactions::pending_notification(Interaction::Favourite),
                actor.id(),
                Some(s.id),
            )
            .await?;
        } else {
            let activity =
                as2::direct_activity("Like", &like, &actor.account.uri, json!(s.uri), &author.uri);
            self.emit(
                &mut tx,
                &actor.account,
                activity,
                Recipients::Accounts {
                    ids: vec![author.id],
                },
            )
            .await?;
        }
        tx.commit().await
    }

    pub async fn unfavourite(&self, actor: &Actor, id: Id) -> Result<Status> {
        let s = self.status(Some(actor), id).await?;
        let asked = self.store.pending_favourite(actor.id(), s.id).await?;
        let mut tx = self.store.begin().await?;
        if let Some(r) = &asked {
            tx.delete_interaction_request(r.id).await?;
            tx.delete_notifications(
                s.account_id,
                crate::interactions::pending_notification(Interaction::Favourite),
                actor.id(),
                Some(s.id),
            )
            .await?;
        }
        let unliked = tx.delete_mark(Mark::Favourite, actor.id(), s.id).await?;
        if unliked || asked.is_some() {
            let author = self
                .store
                .account(s.account_id)
                .await?
                .ok_or(Error::NotFound)?;
            let like = json!({ "id": like_id(&actor.account, s.id), "type": "Like", "actor": actor.account.uri, "object": s.uri });
            let undo = as2::direct_activity(
                "Undo",
                &format!("{}/undo", like_id(&actor.account, s.id)),
                &actor.account.uri,
                like,
                &author.uri,
            );
            if unliked {
                // A group here carrying the post passes the withdrawn like on (FEP-1b12).
                self.forward_in_group(&mut tx, s.id, &undo).await?;
            }
            if !author.is_local() {
                self.emit(
                    &mut tx,
                    &actor.account,
                    undo,
                    Recipients::Accounts {
                        ids: vec![author.id],
                    },
                )
                .await?;
            }
            tx.delete_notifications(
                s.account_id,
                NotificationType::Favourite,
                actor.id(),
                Some(s.id),
            )
            .await?;
        }
        tx.commit().await?;
        self.status(Some(actor), id).await
    }

    pub async fn bookmark(&self, actor: &Actor, id: Id, on: bool) -> Result<Status> {
        let s = self.status(Some(actor), id).await?;
        let mut tx = self.store.begin().await?;
        if on {
            tx.insert_mark(Mark::Bookmark, actor.id(), s.id).await?;
        } else {
            tx.delete_mark(Mark::Bookmark, actor.id(), s.id).await?;
        }
        tx.commit().await?;
        Ok(s)
    }

    pub async fn pin(&self, actor: &Actor, id: Id, on: bool) -> Result<Status> {
        let s = self.own_status(actor, id).await?;
        if on {
            if s.reblog_of_id.is_some() || matches!(s.visibility, Visibility::Direct) {
                return Err(Error::validation("This post cannot be pinned"));
            }
            if self.store.pinned_count(actor.id()).await? >= 5 {
                return Err(Error::validation(
                    "You have already pinned the maximum number of posts",
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        if on {
            tx.insert_mark(Mark::Pin, actor.id(), s.id).await?;
        } else {
            tx.delete_mark(Mark::Pin, actor.id(), s.id).await?;
        }
        tx.commit().await?;
        Ok(s)
    }

    /// Who favourited (or boosted) a status the viewer may see.
    pub async fn status_actors(
        &self,
        viewer: Option<&Actor>,
        id: Id,
        reblogs: bool,
        page: &kring_core::model::Page,
    ) -> Result<Vec<(Id, Account)>> {
        let s = self.status(viewer, id).await?;
        self.store.status_actors(s.id, reblogs, page).await
    }
}

/// A Like's id is derived from who likes what, so its Undo can name it without storing it.
pub(crate) fn like_id(actor: &Account, status: Id) -> String {
    format!("{}#likes/{}", actor.uri, status)
}

/// ISO 639-1 (or -3) code, or None. Anything else is a validation error.
fn normalize_language(lang: Option<&str>) -> Result<Option<String>> {
    match lang.map(str::trim).filter(|l| !l.is_empty()) {
        None => Ok(None),
        Some(l) if (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_alphabetic()) => {
            Ok(Some(l.to_ascii_lowercase()))
        }
        Some(l)
            if l.len() <= 8
                && l.split('-').count() == 2
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Ok(Some(l.split('-').next().unwrap_or(l).to_ascii_lowercase()))
        }
        Some(_) => Err(Error::validation("Language is not a valid ISO 639 code")),
    }
}

/// Whether `actor` may boost `orig` (an original, not a boost): public and unlisted posts, and
/// their own followers-only posts (as Mastodon); never a direct, friends or circle post. [`Kring::reblog`] refuses
/// the rest, and the web interface does not offer them.
pub fn may_reblog(actor: Id, orig: &Status) -> bool {
    match orig.visibility {
        Visibility::Public | Visibility::Unlisted => true,
        Visibility::Private => orig.account_id == actor,
        // A narrowed post's audience is its author's choice; a boost would widen it.
        Visibility::Friends | Visibility::Circle | Visibility::Group | Visibility::Direct => false,
    }
}
