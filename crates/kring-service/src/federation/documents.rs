//! The ActivityPub documents this server publishes: actors, notes, and their collections.
//! Collections are paged newest first; follower lists are hidden when their owner chose so.
use kring_activitypub::as2;
use kring_core::Visibility;
use kring_core::model::{Account, Page};
use serde_json::{Value, json};

use crate::{Error, Id, Kring, Result};

const PAGE_SIZE: usize = 20;

/// Which of an account's collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Outbox,
    Followers,
    Following,
    Featured,
}

/// Which of a post's counters (see [`Kring::post_counter_document`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostCounter {
    Likes,
    Shares,
}

impl Kring {
    /// Who reads a document, by the request's signature (`None` for unsigned requests). With
    /// authorized fetch a valid signature is required, and an unknown signer's key is fetched.
    /// Without it documents are readable by anyone, so a signature only widens what a known
    /// signer sees: it is checked against keys known here, never fetched (an anonymous signed
    /// GET must not make this server fetch from elsewhere), and a failure reads as anonymous.
    pub async fn document_viewer(
        &self,
        signed: Option<&super::SignedRequest>,
    ) -> Result<Option<Id>> {
        let authorized_fetch = self.federation.config.authorized_fetch;
        match signed {
            None if authorized_fetch => Err(Error::Unauthorized),
            None => Ok(None),
            Some(req) if authorized_fetch => Ok(Some(self.verify_signature(req).await?.id)),
            Some(req) => Ok(self
                .verify_signature_with_known_keys(req)
                .await
                .ok()
                .map(|a| a.id)),
        }
    }

    async fn local_actor(&self, username: &str) -> Result<Account> {
        match self.store.account_by_handle(username, None).await? {
            Some(a) if a.suspended_at.is_none() => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    pub async fn actor_document(&self, username: &str) -> Result<Value> {
        let a = self.local_actor(username).await?;
        self.person_json(&a).await
    }

    /// The instance actor's username: the domain with anything but letters, digits, `_`, `-`
    /// and `.` made `.` (so `localhost:8080` is `localhost.8080`). Other servers parse handles
    /// strictly (GoToSocial answers 500 to a signer whose WebFinger subject has a colon); local
    /// usernames never contain a dot, so it cannot clash with an account.
    pub fn instance_actor_username(&self) -> String {
        self.config
            .domain
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                    c
                } else {
                    '.'
                }
            })
            .collect()
    }

    /// The instance actor (signs fetches made on behalf of the server itself).
    pub async fn instance_actor_document(&self) -> Result<Value> {
        let key = self.instance_key().await?;
        let uri = self.instance_actor_uri();
        let base = self.config.base_url();
        Ok(json!({
            "@context": as2::context(),
            "id": uri,
            "type": "Application",
            "preferredUsername": self.instance_actor_username(),
            "name": self.config.title,
            "inbox": format!("{uri}/inbox"),
            "outbox": format!("{uri}/outbox"),
            "endpoints": { "sharedInbox": format!("{base}/inbox") },
            "manuallyApprovesFollowers": true,
            "url": format!("{base}/about"),
            "publicKey": { "id": as2::key_id(&uri), "owner": uri, "publicKeyPem": key.public_key_pem() },
        }))
    }

    /// A local status as a Note, if it is public or unlisted (or `viewer` may see it).
    pub async fn note_document(&self, username: &str, id: Id, viewer: Option<Id>) -> Result<Value> {
        let author = self.local_actor(username).await?;
        let s = self
            .store
            .visible_status(viewer, id)
            .await?
            .ok_or(Error::NotFound)?;
        if s.account_id != author.id || s.reblog_of_id.is_some() {
            return Err(Error::NotFound);
        }
        let mut note = self.load_note(&s, &author).await?;
        note["@context"] = as2::context();
        Ok(note)
    }

    /// The Create (or, for boosts, the Announce) of a local status.
    pub async fn status_activity_document(
        &self,
        username: &str,
        id: Id,
        viewer: Option<Id>,
    ) -> Result<Value> {
        let author = self.local_actor(username).await?;
        let s = self
            .store
            .visible_status(viewer, id)
            .await?
            .ok_or(Error::NotFound)?;
        if s.account_id != author.id {
            return Err(Error::NotFound);
        }
        self.outbox_item(&s, &author).await
    }

    pub(crate) async fn outbox_item(
        &self,
        s: &kring_core::model::Status,
        author: &Account,
    ) -> Result<Value> {
        if let Some(orig) = s.reblog_of_id {
            let orig = self.store.status(orig).await?.ok_or(Error::NotFound)?;
            let (to, cc) = as2::addressing(s.visibility, &author.followers_url, &[]);
            return Ok(json!({
                "id": s.uri, "type": "Announce", "actor": author.uri,
                "published": kring_core::time::rfc3339(s.created_at), "to": to, "cc": cc, "object": orig.uri,
            }));
        }
        let note = self.load_note(s, author).await?;
        let mut create = as2::activity("Create", &format!("{}/activity", s.uri), &author.uri, note);
        if let Some(o) = create.as_object_mut() {
            o.remove("@context");
            o.insert(
                "published".into(),
                json!(kring_core::time::rfc3339(s.created_at)),
            );
        }
        Ok(create)
    }

    /// A collection: without `page`, the collection with its size and first page link; with
    /// `page`, that page (`max_id` paging, newest first).
    pub async fn collection_document(
        &self,
        username: &str,
        which: Collection,
        page: bool,
        max_id: Option<Id>,
    ) -> Result<Value> {
        let a = self.local_actor(username).await?;
        let path = match which {
            Collection::Outbox => "outbox",
            Collection::Followers => "followers",
            Collection::Following => "following",
            Collection::Featured => "collections/featured",
        };
        let id = format!("{}/{path}", a.uri);
        let total = match which {
            Collection::Outbox => a.statuses_count,
            Collection::Followers => a.followers_count,
            Collection::Following => a.following_count,
            Collection::Featured => self.store.pinned_count(a.id).await?,
        };
        let hidden =
            a.hide_collections && matches!(which, Collection::Followers | Collection::Following);
        if which == Collection::Featured {
            let filter = crate::AccountStatusesFilter {
                pinned: true,
                ..Default::default()
            };
            let pinned = self
                .store
                .account_statuses(None, a.id, filter, None, &Page::newest(20))
                .await?;
            let mut items = Vec::new();
            for s in &pinned {
                items.push(self.load_note(s, &a).await?);
            }
            return Ok(json!({
                "@context": as2::context(), "id": id, "type": "OrderedCollection",
                "totalItems": items.len(), "orderedItems": items,
            }));
        }
        if !page || hidden {
            let mut doc = json!({
                "@context": as2::context(), "id": id, "type": "OrderedCollection", "totalItems": total,
            });
            if !hidden {
                doc["first"] = json!(format!("{id}?page=true"));
            }
            return Ok(doc);
        }
        let p = Page {
            max_id,
            limit: PAGE_SIZE,
            ..Page::default()
        };
        let (items, last_key): (Vec<Value>, Option<Id>) = match which {
            Collection::Outbox => {
                let list = self
                    .store
                    .account_statuses(None, a.id, Default::default(), None, &p)
                    .await?;
                let mut items = Vec::new();
                for s in list
                    .iter()
                    .filter(|s| matches!(s.visibility, Visibility::Public | Visibility::Unlisted))
                {
                    items.push(self.outbox_item(s, &a).await?);
                }
                (items, list.last().map(|s| s.id))
            }
            Collection::Followers | Collection::Following => {
                let list = self
                    .connections(None, a.id, which == Collection::Followers, &p)
                    .await?;
                (
                    list.iter().map(|(_, acc)| json!(acc.uri)).collect(),
                    list.last().map(|(k, _)| *k),
                )
            }
            Collection::Featured => (Vec::new(), None),
        };
        let mut doc = json!({
            "@context": as2::context(),
            "id": match max_id { Some(m) => format!("{id}?page=true&max_id={m}"), None => format!("{id}?page=true") },
            "type": "OrderedCollectionPage",
            "partOf": id,
            "totalItems": total,
            "orderedItems": items,
        });
        if let Some(last) = last_key
            && items.len() == PAGE_SIZE
        {
            doc["next"] = json!(format!("{id}?page=true&max_id={last}"));
        }
        Ok(doc)
    }

    /// A local status's favourites (`likes`) or boosts (`shares`) as a collection with only
    /// its size, for whoever may read the status (Mastodon publishes the same).
    pub async fn post_counter_document(
        &self,
        username: &str,
        id: Id,
        viewer: Option<Id>,
        which: PostCounter,
    ) -> Result<Value> {
        let author = self.local_actor(username).await?;
        let s = self
            .store
            .visible_status(viewer, id)
            .await?
            .ok_or(Error::NotFound)?;
        if s.account_id != author.id || s.reblog_of_id.is_some() {
            return Err(Error::NotFound);
        }
        let (path, total) = match which {
            PostCounter::Likes => ("likes", s.favourites_count),
            PostCounter::Shares => ("shares", s.reblogs_count),
        };
        Ok(json!({
            "@context": as2::context(),
            "id": format!("{}/{path}", s.uri),
            "type": "Collection",
            "totalItems": total,
        }))
    }

    /// Replies to a local status that are public or unlisted, as a collection of ids.
    pub async fn replies_document(&self, username: &str, id: Id) -> Result<Value> {
        let author = self.local_actor(username).await?;
        let s = self
            .store
            .visible_status(None, id)
            .await?
            .ok_or(Error::NotFound)?;
        if s.account_id != author.id {
            return Err(Error::NotFound);
        }
        let (_, down) = self.store.context(None, &s).await?;
        let items: Vec<Value> = down
            .iter()
            .filter(|r| r.in_reply_to_id == Some(s.id))
            .map(|r| json!(r.uri))
            .collect();
        Ok(json!({
            "@context": as2::context(),
            "id": format!("{}/replies", s.uri),
            "type": "OrderedCollection",
            "totalItems": items.len(),
            "orderedItems": items,
        }))
    }

    /// WebFinger: `acct:user@domain` or an actor URL → the JRD.
    pub async fn webfinger(&self, resource: &str) -> Result<Value> {
        let base = self.config.base_url();
        let username = if let Some(acct) = resource.strip_prefix("acct:") {
            let acct = acct.trim_start_matches('@');
            let (user, domain) = acct.split_once('@').ok_or(Error::NotFound)?;
            if !domain.eq_ignore_ascii_case(&self.config.domain) {
                return Err(Error::NotFound);
            }
            user.to_string()
        } else if let Some(rest) = resource
            .strip_prefix(&format!("{base}/users/"))
            .or_else(|| resource.strip_prefix(&format!("{base}/@")))
        {
            rest.trim_end_matches('/').to_string()
        } else if resource == self.instance_actor_uri() {
            return Ok(json!({
                "subject": format!("acct:{}@{}", self.instance_actor_username(), self.config.domain),
                "aliases": [self.instance_actor_uri()],
                "links": [{ "rel": "self", "type": "application/activity+json", "href": self.instance_actor_uri() }],
            }));
        } else {
            return Err(Error::NotFound);
        };
        // The instance actor, also by its former name (the bare domain).
        if username.eq_ignore_ascii_case(&self.instance_actor_username())
            || username.eq_ignore_ascii_case(&self.config.domain)
        {
            return Box::pin(self.webfinger(&self.instance_actor_uri())).await;
        }
        let a = self.local_actor(&username).await?;
        Ok(json!({
            "subject": format!("acct:{}@{}", a.username, self.config.domain),
            "aliases": [a.url, a.uri],
            "links": [
                { "rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": a.url },
                { "rel": "self", "type": "application/activity+json", "href": a.uri },
                { "rel": "http://ostatus.org/schema/1.0/subscribe", "template": format!("{base}/authorize_interaction?uri={{uri}}") },
            ],
        }))
    }

    /// NodeInfo 2.0 or 2.1 (truthful: software is Kring).
    pub async fn nodeinfo(&self, version: &str) -> Result<Value> {
        let i = self.instance().await?;
        let mut software = json!({ "name": "kring", "version": env!("CARGO_PKG_VERSION") });
        if version == "2.1" {
            software["repository"] = json!("https://kring.invalid/kring");
            software["homepage"] = json!("https://kring.invalid/");
        }
        Ok(json!({
            "version": version,
            "software": software,
            "protocols": ["activitypub"],
            "services": { "inbound": [], "outbound": [] },
            "openRegistrations": i.registrations == kring_core::model::Registrations::Open,
            "usage": {
                "users": { "total": i.user_count, "activeMonth": i.user_count, "activeHalfyear": i.user_count },
                "localPosts": i.status_count,
            },
            "metadata": { "nodeName": i.title, "nodeDescription": i.description },
        }))
    }
}
