//! Posting into a chat. A message is a status like any other (`Kring::post`: mentions, links,
//! replies; edit and delete are the statuses service's), whose audience is the chat's active
//! participants and nobody else. A `direct` post that names people joins the chat of exactly
//! them and its author, and starts one if there is none (as Mastodon apps expect their
//! conversations); a reply to a message stays in its chat.
use kring_core::chat::MAX_CHAT_PARTICIPANTS;
use kring_core::model::{Account, Status};
use kring_core::{Chat, ChatManagers, Visibility};
use serde_json::{Value, json};

use crate::statuses::PostRequest;
use crate::{Actor, Error, Id, Kring, Result};

/// The chat a new message goes into, with its active participants (the author among them).
#[derive(Debug, Clone)]
pub(crate) struct ChatTarget {
    pub chat: Chat,
    pub participants: Vec<Account>,
}

impl ChatTarget {
    pub fn has(&self, account: Id) -> bool {
        self.participants.iter().any(|a| a.id == account)
    }
}

/// Kring's marker on a chat message's Note: its `context` is a Kring chat, whose participants
/// the context's home server tells (docs/chats.md).
pub const KRING_CHAT: &str = "kringChat";

impl Kring {
    /// Post a message into a chat the actor is in.
    pub async fn post_to_chat(&self, actor: &Actor, chat: Id, req: PostRequest) -> Result<Status> {
        self.chat_as_participant(actor, chat).await?;
        self.post(
            actor,
            PostRequest {
                chat_id: Some(chat),
                visibility: Some(Visibility::Direct),
                ..req
            },
        )
        .await
    }

    /// Which chat a new post goes into, if any: the one asked for (`chat_id`, Pleroma's
    /// `in_reply_to_conversation_id`), the one of the message it answers, or — for a `direct`
    /// post naming people — the chat of exactly them and the author, started if need be.
    /// `addressed`: the local and remote accounts the post names (blocked ones left out).
    pub(crate) async fn chat_target(
        &self,
        actor: &Actor,
        req: &PostRequest,
        parent: Option<&Status>,
        visibility: Visibility,
        addressed: &[Id],
    ) -> Result<Option<ChatTarget>> {
        let parent_chat = match parent {
            Some(p) => self.store.chat_of_status(p.id).await?,
            None => None,
        };
        let id = match (req.chat_id, parent_chat) {
            (Some(c), Some(pc)) if c != pc => {
                return Err(Error::validation(
                    "The post you are replying to is in another chat",
                ));
            }
            (Some(c), _) => {
                self.chat_as_participant(actor, c).await?;
                c
            }
            (None, Some(c)) => {
                self.chat_as_participant(actor, c)
                    .await
                    .map_err(|_| Error::validation("You are no longer in this chat"))?;
                c
            }
            (None, None) => {
                if visibility != Visibility::Direct || addressed.is_empty() || req.local_only {
                    return Ok(None);
                }
                let mut people = addressed.to_vec();
                people.push(actor.id());
                people.sort();
                people.dedup();
                if people.len() > MAX_CHAT_PARTICIPANTS {
                    return Ok(None);
                }
                match self.store.chat_with_exactly(&people).await? {
                    Some(c) => c,
                    None => {
                        let others = self.store.accounts_by_ids(addressed).await?;
                        // A direct mention of a group is the group's business (`groups`).
                        if others.iter().any(|a| a.group) {
                            return Ok(None);
                        }
                        for a in &others {
                            self.may_chat_with(&actor.account, a).await?;
                        }
                        let chat = self
                            .start_chat(actor, &others, None, ChatManagers::Creator)
                            .await?;
                        chat.id
                    }
                }
            }
        };
        let chat = self.store.chat(id).await?.ok_or(Error::NotFound)?;
        let ids = self.store.active_participants(id).await?;
        let participants = self.store.accounts_by_ids(&ids).await?;
        Ok(Some(ChatTarget { chat, participants }))
    }

    /// A chat message's Note: addressed to every other participant by name (never the
    /// public, never a collection), with the chat's `context` so every Kring files it in the
    /// same chat, and `conversation` too, which Mastodon keeps for replies.
    pub(crate) fn chat_note(
        &self,
        note: &mut Value,
        chat: &Chat,
        participants: &[Account],
        author: Id,
    ) {
        let to: Vec<&str> = participants
            .iter()
            .filter(|a| a.id != author)
            .map(|a| a.uri.as_str())
            .collect();
        if let Some(o) = note.as_object_mut() {
            o.insert("to".into(), json!(to));
            o.insert("cc".into(), json!([]));
            o.insert("context".into(), json!(chat.uri));
            o.insert("conversation".into(), json!(chat.uri));
            o.insert(KRING_CHAT.into(), json!(true));
        }
    }

    /// `chat_note` for a stored status, when it is a chat message (edits, fetches).
    pub(crate) async fn decorate_chat_note(&self, note: &mut Value, s: &Status) -> Result<()> {
        let Some(id) = self.store.chat_of_status(s.id).await? else {
            return Ok(());
        };
        let Some(chat) = self.store.chat(id).await? else {
            return Ok(());
        };
        // Addressed to those who may read it: a participant added since is not named in an
        // edit of an earlier message.
        let ids = self.store.chat_readers(id, s.id).await?;
        let participants = self.store.accounts_by_ids(&ids).await?;
        self.chat_note(note, &chat, &participants, s.account_id);
        Ok(())
    }
}
