//! What a remote profile shows beyond its actor document: how many followers, follows and
//! posts its own server says it has (the `totalItems` of its `followers`, `following` and
//! `outbox` collections), and its latest public posts (the first page of its outbox), so a
//! profile seen here neither claims "0 posts" nor shows nothing.
//!
//! Read by a background job ([`REFRESH_PROFILE`]) that a signed-in person's view of the profile
//! queues when the last reading is a day old; the page does not wait for it. Signed-out
//! visitors never cause it ([`Kring::may_fetch_remote_for`]). Every document read must come
//! from the actor's own host; a collection elsewhere is ignored, and a failed read never costs
//! the account what was known of it.
use kring_activitypub::as2::{self, host_of, ids, kind, str_field};
use kring_core::model::Account;
use kring_core::time::now_micros;
use kring_store::RemoteCounts;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resolve::{Arrival, is_post, parse_actor, total_items};
use crate::{Actor, Error, Id, Kring, Result};

/// The job queue that refreshes a remote profile.
pub const REFRESH_PROFILE: &str = "ap.refresh_profile";
/// A reading of a profile's collections is good for a day.
const FRESH_MICROS: i64 = 24 * 3600 * 1_000_000;
/// Posts taken from the first page of an outbox at most.
pub const OUTBOX_POSTS: usize = 20;

#[derive(Serialize, Deserialize)]
struct Refresh {
    account: Id,
}

/// Whether what `account`'s server says of it should be read (again): a remote account, and
/// no reading in the last day. Who may cause the reading is [`Kring::viewed`]'s business.
fn refresh_due(account: &Account, now: i64) -> bool {
    !account.is_local()
        && account.suspended_at.is_none()
        && account
            .collections_fetched_at
            .is_none_or(|at| now - at >= FRESH_MICROS)
}

impl Kring {
    /// `viewer` looks at `account`'s profile: queue a refresh of what its server says of it,
    /// when one is due and was not asked for lately in this process. Never fails the view.
    pub(crate) async fn viewed(&self, viewer: Option<&Actor>, account: &Account) {
        if !Self::may_fetch_remote_for(viewer)
            || !refresh_due(account, now_micros())
            || !self.federation.ask_profile_refresh(account.id)
        {
            return;
        }
        let job = Refresh {
            account: account.id,
        };
        let payload = serde_json::to_string(&job).unwrap_or_default();
        if let Err(e) = self
            .store
            .enqueue(REFRESH_PROFILE, &payload, now_micros())
            .await
        {
            tracing::warn!(account = %account.id, error = %e, "could not queue a profile refresh");
        }
    }

    /// The [`REFRESH_PROFILE`] job: read the actor again (when a day old), its collections'
    /// sizes and the first page of its outbox. A remote that fails or answers nonsense is
    /// logged and left alone (no retries: a later view asks again); only failures here are
    /// errors.
    pub(crate) async fn refresh_profile(&self, payload: &str) -> Result<()> {
        let job: Refresh = serde_json::from_str(payload).map_err(Error::internal)?;
        let Some(known) = self.store.account(job.account).await? else {
            return Ok(());
        };
        // Another process may have done it meanwhile.
        if !refresh_due(&known, now_micros()) {
            return Ok(());
        }
        let Some(host) = host_of(&known.uri) else {
            return Ok(());
        };
        if !self
            .federates_with(known.domain.as_deref().unwrap_or_default())
            .await?
        {
            return Ok(());
        }
        let Some(account) = self.refreshed_actor(known).await? else {
            return Ok(());
        };
        let Some([followers_url, following_url, outbox_url]) =
            self.store.collection_urls(account.id).await?
        else {
            return Ok(());
        };
        let (followers, following, outbox) = tokio::join!(
            self.collection(&followers_url, &host),
            self.collection(&following_url, &host),
            self.collection(&outbox_url, &host),
        );
        let counts = RemoteCounts {
            followers: followers.as_ref().and_then(total_items),
            following: following.as_ref().and_then(total_items),
            statuses: outbox.as_ref().and_then(total_items),
        };
        let mut tx = self.store.begin().await?;
        tx.set_remote_counts(account.id, &counts, now_micros())
            .await?;
        tx.commit().await?;
        if let Some(outbox) = outbox {
            self.backfill(&account, &host, &outbox).await?;
        }
        Ok(())
    }

    /// `known`, with its actor document fetched again when the copy here is a day old (it
    /// names the collections; a look-up that queued this refresh has just fetched it). `None`
    /// when that fails: nothing more is asked of a server that does not answer for the actor.
    async fn refreshed_actor(&self, known: Account) -> Result<Option<Account>> {
        if now_micros() - known.updated_at < super::resolve::REFRESH_MICROS {
            return Ok(Some(known));
        }
        let doc = match self.fetch(&known.uri).await {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(account = %known.uri, error = %e, "profile refresh: actor unavailable");
                return Ok(None);
            }
        };
        match parse_actor(&doc, None) {
            Ok(r) if r.uri == known.uri => self.store_remote_account(r).await.map(Some),
            Ok(_) => {
                tracing::info!(account = %known.uri, "profile refresh: the actor names another id");
                Ok(None)
            }
            Err(e) => {
                tracing::info!(account = %known.uri, error = %e, "profile refresh: invalid actor");
                Ok(None)
            }
        }
    }

    /// A collection of an actor on `host`: fetched only when on that host, and only what it
    /// says of itself counts (its id on that host too). `None` when absent, elsewhere or
    /// unavailable.
    async fn collection(&self, url: &str, host: &str) -> Option<Value> {
        if url.is_empty() {
            return None;
        }
        if host_of(url).as_deref() != Some(host) {
            tracing::info!(%url, %host, "collection on another host than its actor ignored");
            return None;
        }
        // As `fetch`, but a document naming an id on another host is dropped before that
        // id is asked for.
        let doc = match self.fetch_once(url).await {
            Ok(doc) if str_field(&doc, "id").and_then(host_of).as_deref() == Some(host) => {
                self.confirmed(url, doc).await
            }
            Ok(_) => Err(Error::forbidden("its id is on another host")),
            Err(e) => Err(e),
        };
        doc.map_err(|e| tracing::info!(%url, error = %e, "collection unavailable"))
            .ok()
    }

    /// Store the public posts of the first page of `account`'s outbox (at most
    /// [`OUTBOX_POSTS`] items looked at). Only posts embedded whole are taken — a `Create`
    /// stands for its object; boosts and bare ids are skipped, so the page costs at most one
    /// more fetch — and only those whose id is on the actor's host, that are attributed to the
    /// actor, addressed to the public, and, when replies, answer a post known here (a reply is
    /// never shown as if it were not one). They go through the path every remote post takes.
    async fn backfill(&self, account: &Account, host: &str, outbox: &Value) -> Result<()> {
        let page = match (items(outbox), outbox.get("first")) {
            (Some(_), _) => outbox.clone(),
            (None, Some(first @ Value::Object(_))) if items(first).is_some() => first.clone(),
            (None, Some(first)) => match as2::id_of(first) {
                Some(url) => match self.collection(url, host).await {
                    Some(p) => p,
                    None => return Ok(()),
                },
                None => return Ok(()),
            },
            (None, None) => return Ok(()),
        };
        let Some(list) = items(&page) else {
            return Ok(());
        };
        for item in list.iter().take(OUTBOX_POSTS) {
            let object = match kind(item) {
                "Create" => match item.get("object") {
                    Some(o @ Value::Object(_)) => o,
                    _ => continue,
                },
                _ if is_post(item) => item,
                _ => continue,
            };
            if !self.may_backfill(account, host, object).await? {
                continue;
            }
            if let Err(e) = self
                .store_remote_note_as(object, 1, None, Arrival::Backfill, None)
                .await
            {
                let id = str_field(object, "id").unwrap_or("");
                tracing::info!(%id, error = %e, "outbox post not stored");
            }
        }
        Ok(())
    }

    /// Whether an object from `account`'s outbox may be stored (see [`Self::backfill`]).
    async fn may_backfill(&self, account: &Account, host: &str, object: &Value) -> Result<bool> {
        if !is_post(object) {
            return Ok(false);
        }
        let Some(id) = str_field(object, "id") else {
            return Ok(false);
        };
        if host_of(id).as_deref() != Some(host)
            || ids(object.get("attributedTo")).first() != Some(&account.uri)
        {
            return Ok(false);
        }
        let public = ids(object.get("to"))
            .iter()
            .chain(&ids(object.get("cc")))
            .any(|a| as2::is_public_address(a));
        if !public {
            return Ok(false);
        }
        match str_field(object, "inReplyTo")
            .or_else(|| object.get("inReplyTo").and_then(as2::id_of))
        {
            Some(parent) => Ok(self.store.status_by_uri(parent).await?.is_some()),
            None => Ok(true),
        }
    }
}

/// A collection's or page's items (`orderedItems` or `items`), when it lists them.
fn items(collection: &Value) -> Option<&Vec<Value>> {
    collection
        .get("orderedItems")
        .or_else(|| collection.get("items"))
        .and_then(Value::as_array)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(domain: Option<&str>, fetched: Option<i64>) -> Account {
        Account {
            id: Id(1),
            username: "a".into(),
            domain: domain.map(str::to_string),
            display_name: String::new(),
            note: String::new(),
            note_html: String::new(),
            fields: Vec::new(),
            bot: false,
            group: false,
            locked: false,
            discoverable: false,
            indexable: false,
            hide_collections: false,
            avatar_url: None,
            header_url: None,
            uri: "https://remote.test/users/a".into(),
            url: String::new(),
            inbox_url: String::new(),
            shared_inbox_url: None,
            followers_url: String::new(),
            public_key_pem: String::new(),
            also_known_as: Vec::new(),
            moved_to_id: None,
            followers_count: 0,
            following_count: 0,
            statuses_count: 0,
            collections_fetched_at: fetched,
            last_status_at: None,
            suspended_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn remote_profiles_refresh_once_a_day() {
        let now = 10 * FRESH_MICROS;
        assert!(refresh_due(&account(Some("remote.test"), None), now));
        assert!(refresh_due(
            &account(Some("remote.test"), Some(now - FRESH_MICROS)),
            now
        ));
        assert!(!refresh_due(
            &account(Some("remote.test"), Some(now - 1)),
            now
        ));
        assert!(!refresh_due(&account(None, None), now), "local");
        let mut gone = account(Some("remote.test"), None);
        gone.suspended_at = Some(1);
        assert!(!refresh_due(&gone, now), "suspended");
    }

    #[test]
    fn total_items_become_non_negative_counts() {
        let t = |v: Value| total_items(&serde_json::json!({ "totalItems": v }));
        assert_eq!(t(serde_json::json!(12)), Some(12));
        assert_eq!(t(serde_json::json!(-5)), Some(0));
        assert_eq!(t(serde_json::json!(u64::MAX)), Some(i64::MAX));
        assert_eq!(t(serde_json::json!(1e300)), Some(i64::MAX));
        assert_eq!(t(serde_json::json!(-1e300)), Some(0));
        assert_eq!(t(serde_json::json!(3.7)), Some(3));
        assert_eq!(t(serde_json::json!("12")), None);
        assert_eq!(t(Value::Null), None);
        assert_eq!(total_items(&serde_json::json!({})), None);
    }
}
