//! The chat and who is in it: create, rename, add, remove, leave, mute, delete from the inbox.
//! Name and participants are decided by the chat's home server (docs/chats.md): a change made
//! there is sent to every participant's server as an `Update` of the chat; leaving is the one
//! change any participant's server makes, sent as a `Leave`.
use kring_core::chat::{MAX_CHAT_NAME_CHARS, MAX_CHAT_PARTICIPANTS};
use kring_core::model::Account;
use kring_core::time::now_micros;
use kring_core::{Chat, ChatManagers, InboxPlace, Participation};

use super::ChatView;
use super::federation::ChatRequest;
use crate::{Actor, Error, Id, Kring, Result};

/// A new chat as any door submits it.
#[derive(Debug, Clone, Default)]
pub struct ChatInput {
    /// The others (the actor is always in it).
    pub account_ids: Vec<Id>,
    pub name: Option<String>,
    pub managers: ChatManagers,
}

/// A name as given: trimmed, empty meaning none, not too long.
fn chat_name(name: Option<&str>) -> Result<Option<String>> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = name
        && n.chars().count() > MAX_CHAT_NAME_CHARS
    {
        return Err(Error::validation(format!(
            "Name is too long (maximum is {MAX_CHAT_NAME_CHARS} characters)"
        )));
    }
    Ok(name.map(str::to_string))
}

impl Kring {
    /// Start a chat with `input.account_ids`, each someone the actor may chat with.
    pub async fn create_chat(&self, actor: &Actor, input: ChatInput) -> Result<ChatView> {
        let name = chat_name(input.name.as_deref())?;
        let mut ids = input.account_ids.clone();
        ids.retain(|&i| i != actor.id());
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return Err(Error::validation("Choose at least one person to chat with"));
        }
        if ids.len() + 1 > MAX_CHAT_PARTICIPANTS {
            return Err(Error::validation(format!(
                "A chat has at most {MAX_CHAT_PARTICIPANTS} participants"
            )));
        }
        let others = self.chat_candidates(actor, &ids).await?;
        let chat = self
            .start_chat(actor, &others, name, input.managers)
            .await?;
        self.publish_chat(chat.id).await?;
        self.chat_view(actor, chat.id).await
    }

    /// The chat of just the actor and `account` (the one a "Message" button opens), started if
    /// there is none.
    pub async fn open_chat_with(&self, actor: &Actor, account: Id) -> Result<ChatView> {
        if account == actor.id() {
            return Err(Error::validation("Choose at least one person to chat with"));
        }
        let mut two = vec![actor.id(), account];
        two.sort();
        if let Some(id) = self.store.chat_with_exactly(&two).await? {
            return self.chat_view(actor, id).await;
        }
        self.create_chat(
            actor,
            ChatInput {
                account_ids: vec![account],
                ..ChatInput::default()
            },
        )
        .await
    }

    /// The accounts `ids`, each one the actor may bring into a chat.
    pub(crate) async fn chat_candidates(&self, actor: &Actor, ids: &[Id]) -> Result<Vec<Account>> {
        let accounts = self.store.accounts_by_ids(ids).await?;
        if accounts.len() != ids.len() {
            return Err(Error::validation("Some of these accounts do not exist"));
        }
        for a in &accounts {
            if a.group {
                return Err(Error::validation("A group cannot be in a chat"));
            }
            self.may_chat_with(&actor.account, a).await?;
        }
        Ok(accounts)
    }

    /// Record a new chat, homed here, of the actor and `others` (checked by the caller).
    pub(crate) async fn start_chat(
        &self,
        actor: &Actor,
        others: &[Account],
        name: Option<String>,
        managers: ChatManagers,
    ) -> Result<Chat> {
        let id = Id::generate();
        let now = now_micros();
        let chat = Chat {
            id,
            uri: format!("{}/chats/{}", self.local_uri(&actor.account.username), id),
            local: true,
            name,
            creator_id: actor.id(),
            managers,
            version: 0,
            created_at: now,
        };
        let mut places = Vec::with_capacity(others.len());
        for a in others {
            places.push((a.id, self.place_for(a, actor.id()).await?));
        }
        let mut tx = self.store.begin().await?;
        tx.insert_chat(&chat).await?;
        tx.set_participation(
            id,
            actor.id(),
            &Participation::joined(InboxPlace::Inbox),
            now,
        )
        .await?;
        for (a, place) in places {
            tx.set_participation(id, a, &Participation::joined(place), now)
                .await?;
        }
        tx.commit().await?;
        Ok(chat)
    }

    /// The actor's chat if they may manage it. A chat kept by another server is changed by
    /// asking that server (`ask_chat_home`), which decides and tells every server.
    async fn managed_chat(&self, actor: &Actor, id: Id) -> Result<Chat> {
        let (chat, _) = self.chat_as_participant(actor, id).await?;
        if !chat.may_manage(actor.id()) {
            return Err(Error::forbidden(
                "Only the person who started this chat may change it",
            ));
        }
        Ok(chat)
    }

    /// Rename a chat (None or blank: no name), or change who may manage it.
    pub async fn update_chat(
        &self,
        actor: &Actor,
        id: Id,
        name: Option<Option<String>>,
        managers: Option<ChatManagers>,
    ) -> Result<ChatView> {
        let chat = self.managed_chat(actor, id).await?;
        if managers.is_some() && actor.id() != chat.creator_id {
            return Err(Error::forbidden(
                "Only the person who started this chat may change who manages it",
            ));
        }
        let name = match name {
            Some(n) => chat_name(n.as_deref())?,
            None => chat.name.clone(),
        };
        if !chat.local {
            if managers.is_some_and(|m| m != chat.managers) {
                return Err(Error::validation(
                    "This chat is kept by another server; change who manages it there",
                ));
            }
            self.ask_chat_home(actor, &chat, ChatRequest::Rename(name))
                .await?;
            return self.chat_view(actor, id).await;
        }
        let managers = managers.unwrap_or(chat.managers);
        let mut tx = self.store.begin().await?;
        tx.update_chat(id, name.as_deref(), managers).await?;
        self.send_chat_state(&mut tx, &actor.account, id, &[])
            .await?;
        tx.commit().await?;
        self.publish_chat(id).await?;
        self.chat_view(actor, id).await
    }

    /// Add people to a chat (each one the actor may chat with).
    pub async fn add_chat_participants(
        &self,
        actor: &Actor,
        id: Id,
        ids: &[Id],
    ) -> Result<ChatView> {
        let chat = self.managed_chat(actor, id).await?;
        let active = self.store.active_participants(id).await?;
        let mut ids: Vec<Id> = ids
            .iter()
            .copied()
            .filter(|i| !active.contains(i))
            .collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            return self.chat_view(actor, id).await;
        }
        if active.len() + ids.len() > MAX_CHAT_PARTICIPANTS {
            return Err(Error::validation(format!(
                "A chat has at most {MAX_CHAT_PARTICIPANTS} participants"
            )));
        }
        let added = self.chat_candidates(actor, &ids).await?;
        if !chat.local {
            for a in &added {
                self.ask_chat_home(actor, &chat, ChatRequest::Add(a.uri.clone()))
                    .await?;
            }
            return self.chat_view(actor, id).await;
        }
        let now = now_micros();
        let mut places = Vec::with_capacity(added.len());
        for a in &added {
            places.push((a.id, self.place_for(a, actor.id()).await?));
        }
        let mut tx = self.store.begin().await?;
        for (a, place) in places {
            tx.set_participation(chat.id, a, &Participation::joined(place), now)
                .await?;
        }
        self.send_chat_state(&mut tx, &actor.account, id, &[])
            .await?;
        tx.commit().await?;
        self.publish_chat(id).await?;
        self.chat_view(actor, id).await
    }

    /// Remove someone from a chat: they lose every message at once.
    pub async fn remove_chat_participant(
        &self,
        actor: &Actor,
        id: Id,
        account: Id,
    ) -> Result<ChatView> {
        if account == actor.id() {
            return Err(Error::validation("To leave a chat, leave it"));
        }
        let chat = self.managed_chat(actor, id).await?;
        match self.store.participation(id, account).await? {
            Some(p) if p.is_active() => {}
            _ => return Err(Error::NotFound),
        }
        if !chat.local {
            let a = self.store.account(account).await?.ok_or(Error::NotFound)?;
            self.ask_chat_home(actor, &chat, ChatRequest::Remove(a.uri))
                .await?;
            return self.chat_view(actor, id).await;
        }
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        tx.set_participation(
            chat.id,
            account,
            &Participation::Removed {
                by: Some(actor.id()),
                at: now,
            },
            now,
        )
        .await?;
        // The removed person's server hears of it too, so they lose the chat there as well.
        self.send_chat_state(&mut tx, &actor.account, id, &[account])
            .await?;
        tx.commit().await?;
        self.publish_chat(id).await?;
        self.chat_view(actor, id).await
    }

    /// Leave a chat: its messages are gone for the actor, and the others see them leave.
    pub async fn leave_chat(&self, actor: &Actor, id: Id) -> Result<()> {
        let (chat, _) = self.chat_as_participant(actor, id).await?;
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        tx.set_participation(id, actor.id(), &Participation::Left { at: now }, now)
            .await?;
        self.send_leave(&mut tx, actor, &chat).await?;
        // The creator of a chat only they manage leaves it: everyone in it manages it from
        // now on (else nobody could), and every server hears so from here, its home.
        if chat.local && chat.managers == ChatManagers::Creator && chat.creator_id == actor.id() {
            tx.update_chat(id, chat.name.as_deref(), ChatManagers::Everyone)
                .await?;
            if let Some(sender) = self.chat_home_voice(&chat, &mut tx).await? {
                self.send_chat_state(&mut tx, &sender, id, &[]).await?;
            }
        }
        tx.commit().await?;
        self.publish_chat(id).await
    }

    /// Mute or unmute a chat: a muted chat's messages do not count as unread in the total.
    pub async fn mute_chat(&self, actor: &Actor, id: Id, muted: bool) -> Result<ChatView> {
        self.chat_as_participant(actor, id).await?;
        let mut tx = self.store.begin().await?;
        tx.set_chat_muted(id, actor.id(), muted).await?;
        tx.commit().await?;
        self.chat_view(actor, id).await
    }

    /// Delete a chat from the actor's inbox (Mastodon's `DELETE /conversations/:id`): it comes
    /// back with the next message. The actor stays in it.
    pub async fn hide_chat(&self, actor: &Actor, id: Id) -> Result<()> {
        let (_, p) = self.chat_as_participant(actor, id).await?;
        let last = self.store.newest_chat_message(id).await?;
        let mut tx = self.store.begin().await?;
        if let Participation::Active {
            place: InboxPlace::Inbox,
            ..
        } = p
        {
            tx.set_inbox_place(id, actor.id(), InboxPlace::Hidden)
                .await?;
        }
        tx.mark_chat_read(id, actor.id(), last).await?;
        tx.commit().await
    }
}
