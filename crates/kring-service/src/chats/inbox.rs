//! The inbox: chats newest activity first with their last message and unread counts, mark
//! read, and message requests (chats from people one does not follow) to accept or decline.
use kring_core::model::{Page, Status};
use kring_core::{InboxPlace, Participation};
use kring_store::{InboxEntry, InboxFilter};

use super::ChatView;
use crate::{Actor, Error, Id, Kring, Result};

/// Unread messages in accepted, unmuted chats, and how many requests wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatCounts {
    pub unread: i64,
    pub requests: i64,
}

impl Kring {
    /// One chat as the actor (an active participant) sees it.
    pub async fn chat_view(&self, actor: &Actor, id: Id) -> Result<ChatView> {
        let (chat, me) = self.chat_as_participant(actor, id).await?;
        let activity_id = self.store.newest_chat_message(id).await?.unwrap_or(id);
        let mut views = self
            .chat_views(
                actor,
                vec![InboxEntry {
                    chat,
                    participation: me,
                    activity_id,
                }],
            )
            .await?;
        views.pop().ok_or(Error::NotFound)
    }

    /// The actor's chats (or requests), newest activity first.
    pub async fn chats(
        &self,
        actor: &Actor,
        filter: InboxFilter,
        page: &Page,
    ) -> Result<Vec<ChatView>> {
        let entries = self.store.chat_inbox(actor.id(), filter, page).await?;
        self.chat_views(actor, entries).await
    }

    async fn chat_views(&self, actor: &Actor, entries: Vec<InboxEntry>) -> Result<Vec<ChatView>> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let mut ids = self.store.active_participants(e.chat.id).await?;
            ids.retain(|&i| i != actor.id());
            let others = self
                .store
                .accounts_by_ids(&ids)
                .await?
                .into_iter()
                .filter(|a| a.suspended_at.is_none())
                .collect();
            let last_status = match self.store.last_chat_message(e.chat.id, actor.id()).await? {
                Some(s) => Some(self.status_view(Some(actor), s).await?),
                None => None,
            };
            out.push(ChatView {
                chat: e.chat,
                me: e.participation,
                others,
                last_status,
                activity_id: e.activity_id,
            });
        }
        Ok(out)
    }

    /// A chat's messages, newest first (the one audience rule decides each).
    pub async fn chat_messages(&self, actor: &Actor, id: Id, page: &Page) -> Result<Vec<Status>> {
        self.chat_as_participant(actor, id).await?;
        self.store.chat_messages(id, actor.id(), page).await
    }

    /// Mark everything in the chat read.
    pub async fn mark_chat_read(&self, actor: &Actor, id: Id) -> Result<ChatView> {
        self.chat_as_participant(actor, id).await?;
        let last = self.store.newest_chat_message(id).await?;
        let mut tx = self.store.begin().await?;
        tx.mark_chat_read(id, actor.id(), last).await?;
        tx.commit().await?;
        self.chat_view(actor, id).await
    }

    pub async fn chat_counts(&self, actor: &Actor) -> Result<ChatCounts> {
        let (unread, requests) = self.store.chat_unread_totals(actor.id()).await?;
        Ok(ChatCounts { unread, requests })
    }

    /// Accept a chat request: the chat moves to the inbox.
    pub async fn accept_chat_request(&self, actor: &Actor, id: Id) -> Result<ChatView> {
        let (_, p) = self.chat_as_participant(actor, id).await?;
        if !matches!(
            p,
            Participation::Active {
                place: InboxPlace::Requests,
                ..
            }
        ) {
            return Err(Error::NotFound);
        }
        let mut tx = self.store.begin().await?;
        tx.set_inbox_place(id, actor.id(), InboxPlace::Inbox)
            .await?;
        tx.commit().await?;
        self.chat_view(actor, id).await
    }

    /// Decline a chat request: the actor leaves the chat.
    pub async fn decline_chat_request(&self, actor: &Actor, id: Id) -> Result<()> {
        let (_, p) = self.chat_as_participant(actor, id).await?;
        if !matches!(
            p,
            Participation::Active {
                place: InboxPlace::Requests,
                ..
            }
        ) {
            return Err(Error::NotFound);
        }
        self.leave_chat(actor, id).await
    }
}
