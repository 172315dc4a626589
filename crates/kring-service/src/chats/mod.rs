//! Group chats (docs/chats.md): a few people talking privately, with an inbox. Every chat
//! action is defined once here, a file per family — the chat and who is in it (`manage`),
//! posting into it (`messages`), the inbox (`inbox`), and what travels between servers
//! (`federation`). Who may *read* a message is the store's one audience rule
//! (`Grant::ChatParticipants`); these functions decide who may act.
mod federation;
mod inbox;
mod manage;
mod messages;

pub(crate) use federation::is_chat_document;
pub use manage::ChatInput;

use kring_core::model::Account;
use kring_core::{Chat, Id, InboxPlace, Participation};
use serde::Deserialize;

use crate::events::{EventKind, Stream};
use crate::views::StatusView;
use crate::{Actor, Error, Kring, Result};

/// Whom a person may start a chat with or add to one (`chat_from` in the configuration).
/// Blocks, either way, always refuse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatFrom {
    /// Anyone; chats from people the recipient does not follow wait among their requests.
    #[default]
    Anyone,
    /// Only people who follow the one starting the chat.
    Followers,
    /// Only mutual follows.
    Friends,
}

/// A chat as one participant sees it.
#[derive(Debug, Clone)]
pub struct ChatView {
    pub chat: Chat,
    /// The viewer's own standing (active: where it shows, unread count, muted).
    pub me: Participation,
    /// The other participants still in it.
    pub others: Vec<Account>,
    /// The newest message the viewer may read.
    pub last_status: Option<StatusView>,
    /// What inbox pages are keyed by (the newest activity).
    pub activity_id: Id,
}

impl ChatView {
    pub fn unread(&self) -> i64 {
        match &self.me {
            Participation::Active { unread, .. } => *unread,
            _ => 0,
        }
    }

    pub fn place(&self) -> Option<InboxPlace> {
        match &self.me {
            Participation::Active { place, .. } => Some(*place),
            _ => None,
        }
    }

    pub fn muted(&self) -> bool {
        matches!(&self.me, Participation::Active { muted: true, .. })
    }
}

impl Kring {
    /// The chat and the actor's standing, if the actor is an active participant; anyone else
    /// is told it does not exist (a chat's existence is private to its people).
    pub(crate) async fn chat_as_participant(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<(Chat, Participation)> {
        let chat = self.store.chat(id).await?.ok_or(Error::NotFound)?;
        match self.store.participation(id, actor.id()).await? {
            Some(p) if p.is_active() => Ok((chat, p)),
            _ => Err(Error::NotFound),
        }
    }

    /// May `from` (a local person) bring `to` into a chat? Never across a block, either way;
    /// then as the server's `chat_from` says.
    pub(crate) async fn may_chat_with(&self, from: &Account, to: &Account) -> Result<()> {
        if to.suspended_at.is_some() {
            return Err(Error::NotFound);
        }
        if self.store.blocks(to.id, from.id).await? || self.store.blocks(from.id, to.id).await? {
            return Err(Error::validation(format!(
                "You cannot chat with {}",
                to.acct()
            )));
        }
        let allowed = match self.config.chat_from {
            ChatFrom::Anyone => true,
            ChatFrom::Followers => self.store.follows(to.id, from.id).await?,
            ChatFrom::Friends => {
                self.store.follows(to.id, from.id).await?
                    && self.store.follows(from.id, to.id).await?
            }
        };
        if !allowed {
            return Err(Error::validation(format!(
                "{} does not accept chats from you",
                to.acct()
            )));
        }
        Ok(())
    }

    /// Where a chat started (or joined) by `by` shows for `account`: among requests when
    /// `account` is a local person who does not follow `by`.
    pub(crate) async fn place_for(&self, account: &Account, by: Id) -> Result<InboxPlace> {
        if !account.is_local() || account.id == by || self.store.follows(account.id, by).await? {
            return Ok(InboxPlace::Inbox);
        }
        Ok(InboxPlace::Requests)
    }

    /// Tell each local active participant's streams that the chat changed (Mastodon's
    /// `conversation` event on the `direct` stream).
    pub(crate) async fn publish_chat(&self, chat: Id) -> Result<()> {
        let mut streams = Vec::new();
        for id in self.store.active_participants(chat).await? {
            if self.store.user(id).await?.is_some() {
                streams.push(Stream::User(id));
            }
        }
        if !streams.is_empty() {
            self.events.publish(EventKind::Conversation(chat), streams);
        }
        Ok(())
    }
}
