//! Chats between servers (docs/chats.md). The chat's home server is the authority on its name
//! and participants: its chat document (at the chat's `context` URI) answers only signed
//! requests from servers with an active participant, and every change made there is sent as
//! an `Update` of that document to every participant's server (a removed participant's too).
//! A server that receives a message of a chat it does not know fetches the document. Leaving
//! is the one change a participant's own server makes, sent as a `Leave` of the chat.
use kring_activitypub::as2::{self, host_of, ids, is_public_address, kind, str_field};
use kring_core::chat::{MAX_CHAT_NAME_CHARS, MAX_CHAT_PARTICIPANTS};
use kring_core::model::{Account, Status};
use kring_core::time::now_micros;
use kring_core::{Chat, ChatManagers, Participation, text};
use kring_store::Tx;
use serde_json::{Value, json};

use super::messages::KRING_CHAT;
use crate::federation::inbox::Seen;
use crate::federation::{Recipients, SignedRequest};
use crate::{Actor, Error, Id, Kring, Result};

/// Properties of the chat document (Kring's namespace, `kring:`).
const PARTICIPANTS: &str = "kringParticipants";
const MANAGERS: &str = "kringManagers";

/// Is this document a Kring chat?
pub(crate) fn is_chat_document(doc: &Value) -> bool {
    doc.get(KRING_CHAT).and_then(Value::as_bool) == Some(true)
        && matches!(kind(doc), "OrderedCollection" | "Collection")
}

impl Kring {
    /// The chat document at a chat's `context` URI: a collection attributed to the chat's
    /// creator (FEP-171b's context owner) that names its participants. Only for signed
    /// requests from a server with an active participant; anyone else is told it does not
    /// exist.
    pub async fn chat_document(
        &self,
        username: &str,
        id: Id,
        signed: Option<&SignedRequest>,
    ) -> Result<Value> {
        let chat = self.store.chat(id).await?.ok_or(Error::NotFound)?;
        if !chat.local || chat.uri != format!("{}/chats/{}", self.local_uri(username), id) {
            return Err(Error::NotFound);
        }
        let signer = match signed {
            Some(req) => self
                .verify_signature(req)
                .await
                .map_err(|_| Error::NotFound)?,
            None => return Err(Error::NotFound),
        };
        let Some(domain) = signer.domain.as_deref() else {
            return Err(Error::NotFound);
        };
        if !self.store.chat_known_on_domain(id, domain).await? {
            return Err(Error::NotFound);
        }
        self.chat_json(&chat).await
    }

    async fn chat_json(&self, chat: &Chat) -> Result<Value> {
        let ids = self.store.active_participants(chat.id).await?;
        let participants: Vec<String> = self
            .store
            .accounts_by_ids(&ids)
            .await?
            .into_iter()
            .map(|a| a.uri)
            .collect();
        let creator = self
            .store
            .account(chat.creator_id)
            .await?
            .ok_or(Error::NotFound)?;
        let mut doc = json!({
            "@context": as2::context(),
            "id": chat.uri,
            "type": "OrderedCollection",
            "attributedTo": creator.uri,
            KRING_CHAT: true,
            PARTICIPANTS: participants,
            MANAGERS: chat.managers.as_str(),
        });
        if let Some(n) = &chat.name {
            doc["name"] = json!(n);
        }
        Ok(doc)
    }

    /// Queue an `Update` of a chat homed here to every remote participant's server (and to
    /// `also`, removed people), from `actor`, in the caller's transaction. Reads the chat as
    /// the transaction will leave it (the caller wrote its changes first).
    pub(crate) async fn send_chat_state(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        chat: Id,
        also: &[Id],
    ) -> Result<()> {
        let Some(c) = tx.chat(chat).await? else {
            return Ok(());
        };
        let active = tx.active_participants(chat).await?;
        let mut doc = self.chat_json(&c).await?;
        // The transaction's own view of who is in it (not committed yet).
        let uris: Vec<String> = self
            .store
            .accounts_by_ids(&active)
            .await?
            .into_iter()
            .map(|a| a.uri)
            .collect();
        doc[PARTICIPANTS] = json!(uris);
        doc["name"] = json!(c.name);
        doc[MANAGERS] = json!(c.managers.as_str());
        if let Some(o) = doc.as_object_mut() {
            o.remove("@context");
        }
        let mut to: Vec<Id> = active;
        to.extend_from_slice(also);
        let remote = self.remote_of(&to).await?;
        if remote.is_empty() {
            return Ok(());
        }
        let addressed: Vec<String> = remote.iter().map(|a| a.uri.clone()).collect();
        let activity = json!({
            "@context": as2::context(),
            "id": self.activity_id(&actor.account, "chat-update"),
            "type": "Update",
            "actor": actor.account.uri,
            "to": addressed,
            "object": doc,
        });
        self.emit(
            tx,
            &actor.account,
            activity,
            Recipients::Accounts {
                ids: remote.iter().map(|a| a.id).collect(),
            },
        )
        .await
    }

    /// Queue the actor's `Leave` of a chat to the servers of its remaining participants.
    pub(crate) async fn send_leave(&self, tx: &mut Tx, actor: &Actor, chat: &Chat) -> Result<()> {
        let active = tx.active_participants(chat.id).await?;
        let remote = self.remote_of(&active).await?;
        if remote.is_empty() {
            return Ok(());
        }
        let activity = json!({
            "@context": as2::context(),
            "id": self.activity_id(&actor.account, "chat-leave"),
            "type": "Leave",
            "actor": actor.account.uri,
            "to": remote.iter().map(|a| a.uri.clone()).collect::<Vec<_>>(),
            "object": chat.uri,
        });
        self.emit(
            tx,
            &actor.account,
            activity,
            Recipients::Accounts {
                ids: remote.iter().map(|a| a.id).collect(),
            },
        )
        .await
    }

    async fn remote_of(&self, ids: &[Id]) -> Result<Vec<Account>> {
        Ok(self
            .store
            .accounts_by_ids(ids)
            .await?
            .into_iter()
            .filter(|a| !a.is_local() && a.suspended_at.is_none())
            .collect())
    }

    /// The chat a received note is a message of, if any: named by its `context` (or
    /// `conversation`), or the chat of the message it answers (how a Mastodon participant's
    /// reply threads back), or — for a Kring chat not known here yet — the chat its home
    /// server describes. Only a note addressed to named accounts (not the public, not
    /// followers) by an active participant counts; anything else is an ordinary post.
    pub(crate) async fn inbound_chat(
        &self,
        note: &Value,
        author: &Account,
        parent: Option<&Status>,
    ) -> Result<Option<Id>> {
        let to = ids(note.get("to"));
        let cc = ids(note.get("cc"));
        if to
            .iter()
            .chain(&cc)
            .any(|a| is_public_address(a) || (*a == author.followers_url && !a.is_empty()))
        {
            return Ok(None);
        }
        let context = str_field(note, "context").or_else(|| str_field(note, "conversation"));
        let mut chat = match context {
            Some(c) => self.store.chat_by_uri(c).await?,
            None => None,
        };
        if chat.is_none()
            && let Some(p) = parent
            && let Some(id) = self.store.chat_of_status(p.id).await?
        {
            chat = self.store.chat(id).await?;
        }
        let marked = note.get(KRING_CHAT).and_then(Value::as_bool) == Some(true);
        if chat.is_none()
            && marked
            && let Some(c) = context
        {
            chat = self.fetch_chat(c).await;
        }
        let Some(mut chat) = chat else {
            return Ok(None);
        };
        if !self.is_active_in(chat.id, author.id).await? && !chat.local && marked {
            // Someone added since this server last heard: ask the home server again.
            if let Some(c) = self.fetch_chat(&chat.uri).await {
                chat = c;
            }
        }
        if self.is_active_in(chat.id, author.id).await? {
            Ok(Some(chat.id))
        } else {
            Ok(None)
        }
    }

    async fn is_active_in(&self, chat: Id, account: Id) -> Result<bool> {
        Ok(self
            .store
            .participation(chat, account)
            .await?
            .is_some_and(|p| p.is_active()))
    }

    /// Fetch and apply a chat document from its home server; None when that fails (the
    /// message is then kept as an ordinary direct post).
    async fn fetch_chat(&self, uri: &str) -> Option<Chat> {
        if self.is_local_uri(uri) || text::http_url(uri).is_none() {
            return None;
        }
        let doc = match self.fetch(uri).await {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(error = %e, "chat document could not be fetched");
                return None;
            }
        };
        match self.apply_chat_document(&doc, None).await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::info!(error = %e, "chat document refused");
                None
            }
        }
    }

    /// Make this server's copy of a remote chat what its home server's document says: name,
    /// managers, and exactly the participants it names (others here become removed).
    /// `by`: who made the change (for where it shows: requests or inbox).
    async fn apply_chat_document(&self, doc: &Value, by: Option<&Account>) -> Result<Chat> {
        if !is_chat_document(doc) {
            return Err(Error::bad_request("not a chat"));
        }
        let uri = str_field(doc, "id")
            .and_then(text::http_url)
            .ok_or_else(|| Error::bad_request("chat without id"))?
            .to_string();
        if self.is_local_uri(&uri) {
            return Err(Error::forbidden("this server keeps that chat"));
        }
        let creator_uri = ids(doc.get("attributedTo"))
            .into_iter()
            .next()
            .ok_or_else(|| Error::bad_request("chat without attributedTo"))?;
        if host_of(&creator_uri) != host_of(&uri) {
            return Err(Error::forbidden("chat attributed to another host"));
        }
        let creator = self.resolve_account_uri(&creator_uri, false).await?;
        let name = str_field(doc, "name")
            .map(|n| {
                text::html_to_text(n)
                    .trim()
                    .chars()
                    .take(MAX_CHAT_NAME_CHARS)
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty());
        let managers = str_field(doc, MANAGERS)
            .and_then(ChatManagers::parse)
            .unwrap_or_default();
        let mut listed: Vec<Account> = Vec::new();
        for p in ids(doc.get(PARTICIPANTS))
            .into_iter()
            .take(MAX_CHAT_PARTICIPANTS)
        {
            match self.resolve_account_uri(&p, false).await {
                Ok(a) if a.suspended_at.is_none() && !a.group => listed.push(a),
                Ok(_) => {}
                Err(e) => tracing::info!(error = %e, "chat participant could not be resolved"),
            }
        }
        let by_id = by.map(|b| b.id).unwrap_or(creator.id);
        let existing = self.store.chat_by_uri(&uri).await?;
        let chat = match &existing {
            Some(c) if c.local => return Err(Error::forbidden("this server keeps that chat")),
            Some(c) => Chat {
                name,
                managers,
                ..c.clone()
            },
            None => Chat {
                id: Id::generate(),
                uri: uri.clone(),
                local: false,
                name,
                creator_id: creator.id,
                managers,
                created_at: now_micros(),
            },
        };
        let mut places = Vec::new();
        for a in &listed {
            let active = match &existing {
                Some(c) => self.is_active_in(c.id, a.id).await?,
                None => false,
            };
            // Nobody is brought into a chat across a block, whoever's server asks.
            let blocked = a.is_local()
                && a.id != by_id
                && (self.store.blocks(a.id, by_id).await?
                    || self.store.blocks(by_id, a.id).await?);
            if !active && !blocked {
                places.push((a.id, self.place_for(a, by_id).await?));
            }
        }
        let before = match &existing {
            Some(c) => self.store.active_participants(c.id).await?,
            None => Vec::new(),
        };
        let now = now_micros();
        let mut tx = self.store.begin().await?;
        match &existing {
            Some(_) => {
                tx.update_chat(chat.id, chat.name.as_deref(), chat.managers)
                    .await?
            }
            None => tx.insert_chat(&chat).await?,
        }
        for (a, place) in places {
            tx.set_participation(chat.id, a, &Participation::joined(place), now)
                .await?;
        }
        for gone in before
            .iter()
            .filter(|b| !listed.iter().any(|a| a.id == **b))
        {
            tx.set_participation(
                chat.id,
                *gone,
                &Participation::Removed { by: None, at: now },
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.publish_chat(chat.id).await?;
        Ok(chat)
    }

    /// A received `Update` of a chat: believed only from an actor on the chat's home server.
    pub(crate) async fn on_chat_update(
        &self,
        actor: &Account,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(uri) = str_field(object, "id") else {
            return Ok(());
        };
        if host_of(uri).is_none() || host_of(uri) != host_of(&actor.uri) {
            return Err(Error::forbidden("chat updated from another host"));
        }
        // Only a server with a participant hears of a chat; an Update to a server with none
        // is ignored rather than taken as an introduction.
        let known = self.store.chat_by_uri(uri).await?.is_some();
        let names_ours = ids(object.get(PARTICIPANTS))
            .iter()
            .any(|p| self.is_local_uri(p));
        if !known && !names_ours {
            return Ok(());
        }
        self.apply_chat_document(object, Some(actor)).await?;
        if let Some(tx) = self.begin_applying(seen).await? {
            tx.commit().await?;
        }
        Ok(())
    }

    /// A received `Leave` of a chat by a participant.
    pub(crate) async fn on_chat_leave(
        &self,
        actor: &Account,
        object: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(uri) = as2::id_of(object) else {
            return Ok(());
        };
        let Some(chat) = self.store.chat_by_uri(uri).await? else {
            return Ok(());
        };
        if !self.is_active_in(chat.id, actor.id).await? {
            return Ok(());
        }
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        let now = now_micros();
        tx.set_participation(chat.id, actor.id, &Participation::Left { at: now }, now)
            .await?;
        tx.commit().await?;
        self.publish_chat(chat.id).await
    }
}
