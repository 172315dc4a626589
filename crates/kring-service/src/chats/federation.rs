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
const VERSION: &str = "kringVersion";

/// A change a participant asks of a chat's home server.
#[derive(Debug, Clone)]
pub(crate) enum ChatRequest {
    /// A new name (None: none).
    Rename(Option<String>),
    /// Add the actor with this id.
    Add(String),
    /// Remove the actor with this id.
    Remove(String),
}

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
        // Attributed to a person of this server (the creator, unless they are elsewhere: a chat
        // started here by another server's direct post), as the home's authority.
        let creator = match self.store.account(chat.creator_id).await? {
            Some(c) if c.is_local() => c,
            _ => self.home_sender(chat).await?.ok_or(Error::NotFound)?,
        };
        let mut doc = json!({
            "@context": as2::context(),
            "id": chat.uri,
            "type": "OrderedCollection",
            "attributedTo": creator.uri,
            KRING_CHAT: true,
            PARTICIPANTS: participants,
            MANAGERS: chat.managers.as_str(),
            VERSION: chat.version,
        });
        if let Some(n) = &chat.name {
            doc["name"] = json!(n);
        }
        Ok(doc)
    }

    /// Queue an `Update` of a chat homed here to every remote participant's server (and to
    /// `also`, removed people), from `sender` (a local account), in the caller's transaction.
    /// Reads the chat as the transaction will leave it (the caller wrote its changes first).
    pub(crate) async fn send_chat_state(
        &self,
        tx: &mut Tx,
        sender: &Account,
        chat: Id,
        also: &[Id],
    ) -> Result<()> {
        // Each state told is newer than the last, so servers that get two at once keep the
        // later one.
        tx.set_chat_version(chat, None).await?;
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
        doc[VERSION] = json!(c.version);
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
            "id": self.activity_id(sender, "chat-update"),
            "type": "Update",
            "actor": sender.uri,
            "to": addressed,
            "object": doc,
        });
        self.emit(
            tx,
            sender,
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
        // Another Kring's friends, circle and group posts are addressed by name too: they are
        // not messages.
        if str_field(note, as2::KRING_VISIBILITY).is_some_and(|v| v != "direct") {
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
        if chat.is_none() && !marked {
            chat = self.chat_of_direct_note(note, author).await?;
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

    /// A direct post from a server that knows nothing of chats (Mastodon, GoToSocial,
    /// Akkoma…) answering no chat's message: it joins the chat of exactly its author and the
    /// people it names here (local people who do not block the author, remote people known
    /// here), started here if there is none — as a local `direct` post does — so that it is a
    /// conversation for Mastodon apps. Its people manage it together (its creator is remote).
    async fn chat_of_direct_note(&self, note: &Value, author: &Account) -> Result<Option<Chat>> {
        let mut uris: Vec<String> = ids(note.get("to"));
        uris.extend(ids(note.get("cc")));
        if let Some(tags) = note.get("tag").and_then(Value::as_array) {
            for t in tags {
                if kind(t) == "Mention"
                    && let Some(href) = str_field(t, "href")
                {
                    uris.push(href.to_string());
                }
            }
        }
        uris.sort();
        uris.dedup();
        let mut people = vec![author.clone()];
        let mut first_local: Option<Account> = None;
        for u in uris.iter().take(MAX_CHAT_PARTICIPANTS * 2) {
            let Some(a) = self.store.account_by_uri(u).await? else {
                continue;
            };
            if a.id == author.id || a.suspended_at.is_some() {
                continue;
            }
            if a.group {
                // A post to a group is the group's business.
                return Ok(None);
            }
            if a.is_local() {
                if self.store.blocks(a.id, author.id).await? {
                    continue;
                }
                if first_local.is_none() {
                    first_local = Some(a.clone());
                }
            }
            people.push(a);
        }
        let Some(home) = first_local else {
            return Ok(None);
        };
        if people.len() > MAX_CHAT_PARTICIPANTS {
            return Ok(None);
        }
        let mut ids: Vec<Id> = people.iter().map(|a| a.id).collect();
        ids.sort();
        ids.dedup();
        if let Some(id) = self.store.chat_with_exactly(&ids).await? {
            return self.store.chat(id).await;
        }
        let id = Id::generate();
        let now = now_micros();
        let chat = Chat {
            id,
            uri: format!("{}/chats/{}", self.local_uri(&home.username), id),
            local: true,
            name: None,
            creator_id: author.id,
            managers: ChatManagers::Everyone,
            version: 0,
            created_at: now,
        };
        let mut places = Vec::with_capacity(people.len());
        for a in &people {
            places.push((a.id, self.place_for(a, author.id).await?));
        }
        let mut tx = self.store.begin().await?;
        tx.insert_chat(&chat).await?;
        for (a, place) in places {
            tx.set_participation(id, a, &Participation::joined(place), now)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(chat))
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
        let version = doc.get(VERSION).and_then(Value::as_i64).unwrap_or(0);
        if let Some(c) = self.store.chat_by_uri(&uri).await?
            && !c.local
            && c.version >= version
        {
            // An older (or the same) state than the one applied: the newer one crossed it.
            return Ok(c);
        }
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
                version,
                ..c.clone()
            },
            None => Chat {
                id: Id::generate(),
                uri: uri.clone(),
                local: false,
                name,
                creator_id: creator.id,
                managers,
                version,
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
            Some(c) => {
                // Checked again where it is written: another delivery of this chat's state,
                // applied meanwhile, may have been newer (the check above was outside).
                if !tx.set_chat_version(chat.id, Some(version)).await? {
                    drop(tx);
                    return Ok(self
                        .store
                        .chat_by_uri(&uri)
                        .await?
                        .unwrap_or_else(|| c.clone()));
                }
                tx.update_chat(chat.id, chat.name.as_deref(), chat.managers)
                    .await?;
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

    /// Ask the home server of a chat kept elsewhere to make a change (rename, add, remove);
    /// it decides, and its `Update` brings the change here.
    pub(crate) async fn ask_chat_home(
        &self,
        actor: &Actor,
        chat: &Chat,
        request: ChatRequest,
    ) -> Result<()> {
        // The chat's owner on its home server, whose namespace holds the chat's id.
        let owner = chat
            .uri
            .rsplit_once("/chats/")
            .map(|(o, _)| o)
            .ok_or(Error::NotFound)?;
        let home = self.resolve_account_uri(owner, false).await?;
        if host_of(&home.uri) != host_of(&chat.uri) {
            return Err(Error::NotFound);
        }
        let me = &actor.account;
        let activity = match request {
            // An `Offer` of the chat with a new name: only its home may `Update` it (an
            // Update's object must be on its sender's host).
            ChatRequest::Rename(name) => json!({
                "@context": as2::context(),
                "id": self.activity_id(me, "chat-rename"),
                "type": "Offer",
                "actor": me.uri,
                "to": [home.uri],
                "object": {
                    "id": chat.uri,
                    "type": "OrderedCollection",
                    KRING_CHAT: true,
                    "name": name,
                },
                "target": chat.uri,
            }),
            ChatRequest::Add(ref a) | ChatRequest::Remove(ref a) => {
                let kind = if matches!(request, ChatRequest::Add(_)) {
                    "Add"
                } else {
                    "Remove"
                };
                json!({
                    "@context": as2::context(),
                    "id": self.activity_id(me, "chat-member"),
                    "type": kind,
                    "actor": me.uri,
                    "to": [home.uri],
                    "object": a,
                    "target": chat.uri,
                })
            }
        };
        let mut tx = self.store.begin().await?;
        self.emit(
            &mut tx,
            me,
            activity,
            Recipients::Accounts { ids: vec![home.id] },
        )
        .await?;
        tx.commit().await
    }

    /// A received `Add`, `Remove` or `Offer` whose target is a chat kept here: a participant
    /// elsewhere asks to add or remove someone, or to rename it. Anything else is not ours.
    pub(crate) async fn on_chat_membership(
        &self,
        actor: &Account,
        activity: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(target) = activity.get("target").and_then(as2::id_of) else {
            return Ok(());
        };
        let Some(chat) = self.store.chat_by_uri(target).await? else {
            return Ok(());
        };
        if !chat.local {
            return Ok(());
        }
        let Some(object) = activity.get("object").and_then(as2::id_of) else {
            return Ok(());
        };
        let request = match kind(activity) {
            "Add" => ChatRequest::Add(object.to_string()),
            "Remove" => ChatRequest::Remove(object.to_string()),
            // Offer: the chat itself, with the name asked for.
            _ => {
                let Some(o) = activity.get("object").filter(|o| is_chat_document(o)) else {
                    return Ok(());
                };
                if object != chat.uri {
                    return Ok(());
                }
                ChatRequest::Rename(str_field(o, "name").map(text::html_to_text))
            }
        };
        self.on_chat_request(actor, &chat, request, seen).await
    }

    /// This server, a chat's home, decides a change asked by a participant elsewhere with the
    /// same rules as for its own people, and tells every participant's server.
    async fn on_chat_request(
        &self,
        actor: &Account,
        chat: &Chat,
        request: ChatRequest,
        seen: Option<&Seen>,
    ) -> Result<()> {
        if !self.is_active_in(chat.id, actor.id).await? || !chat.may_manage(actor.id) {
            return Err(Error::forbidden("not allowed to change this chat"));
        }
        let Some(sender) = self.home_sender(chat).await? else {
            return Ok(());
        };
        let now = now_micros();
        let mut removed = Vec::new();
        let mut added = None;
        match &request {
            ChatRequest::Rename(_) => {}
            ChatRequest::Add(uri) => {
                let a = self.resolve_account_uri(uri, false).await?;
                if a.group || self.is_active_in(chat.id, a.id).await? {
                    return Ok(());
                }
                if self.store.active_participants(chat.id).await?.len() >= MAX_CHAT_PARTICIPANTS {
                    return Err(Error::validation("the chat is full"));
                }
                self.may_chat_with(actor, &a).await?;
                added = Some((a.id, self.place_for(&a, actor.id).await?));
            }
            ChatRequest::Remove(uri) => {
                let Some(a) = self.store.account_by_uri(uri).await? else {
                    return Ok(());
                };
                if !self.is_active_in(chat.id, a.id).await? {
                    return Ok(());
                }
                removed.push(a.id);
            }
        }
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        match request {
            ChatRequest::Rename(name) => {
                let name = name
                    .map(|n| {
                        n.trim()
                            .chars()
                            .take(MAX_CHAT_NAME_CHARS)
                            .collect::<String>()
                    })
                    .filter(|n| !n.is_empty());
                tx.update_chat(chat.id, name.as_deref(), chat.managers)
                    .await?;
            }
            ChatRequest::Add(_) => {
                if let Some((a, place)) = added {
                    tx.set_participation(chat.id, a, &Participation::joined(place), now)
                        .await?;
                }
            }
            ChatRequest::Remove(_) => {
                for &a in &removed {
                    tx.set_participation(
                        chat.id,
                        a,
                        &Participation::Removed {
                            by: Some(actor.id),
                            at: now,
                        },
                        now,
                    )
                    .await?;
                }
            }
        }
        self.send_chat_state(&mut tx, &sender, chat.id, &removed)
            .await?;
        tx.commit().await?;
        self.publish_chat(chat.id).await
    }

    /// A local active participant (as the transaction sees them) to speak for a chat kept
    /// here once its creator is gone from it.
    pub(crate) async fn chat_home_voice(
        &self,
        chat: &Chat,
        tx: &mut Tx,
    ) -> Result<Option<Account>> {
        for id in tx.active_participants(chat.id).await? {
            if let Some(a) = self.store.account(id).await?
                && a.is_local()
            {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// Who a chat kept here speaks as to other servers when a change comes from elsewhere:
    /// its creator if local, else one of its local participants.
    async fn home_sender(&self, chat: &Chat) -> Result<Option<Account>> {
        if let Some(c) = self.store.account(chat.creator_id).await?
            && c.is_local()
        {
            return Ok(Some(c));
        }
        for id in self.store.active_participants(chat.id).await? {
            if let Some(a) = self.store.account(id).await?
                && a.is_local()
            {
                return Ok(Some(a));
            }
        }
        Ok(None)
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
