//! Receiving FEP-1b12: a group (a Lemmy community, a Friendica forum, another Kring's group)
//! passes on its members' activities wrapped in its `Announce`. Nothing a group wraps is
//! taken on its word about someone else's post: a created post is fetched from its own
//! origin, an edit is read again from there, and a deletion is believed only when the post's
//! origin says it is gone. What a group is trusted with is what it carries: a "deletion" of a
//! post that still exists is a moderator's removal, and the group's boost of it goes.
use kring_activitypub::as2::{self, kind};
use kring_activitypub::client::FetchError;
use kring_core::model::Account;
use serde_json::{Value, json};

use super::inbox::Seen;
use crate::{Kring, Result};

/// The activities a group's Announce may wrap (anything else is a boost of a post).
pub(super) fn is_wrapped_activity(object: &Value) -> bool {
    object.is_object()
        && matches!(
            kind(object),
            "Create" | "Update" | "Delete" | "Like" | "Dislike" | "Undo" | "Add" | "Remove"
        )
}

impl Kring {
    pub(super) async fn on_group_announce(
        &self,
        group: &Account,
        announce: &Value,
        inner: &Value,
        seen: Option<&Seen>,
    ) -> Result<()> {
        let Some(object_id) = inner.get("object").and_then(as2::id_of) else {
            return Ok(());
        };
        match kind(inner) {
            // The group's boost of the post, which is fetched from its origin.
            "Create" => {
                self.on_announce(group, announce, &json!(object_id), seen, None)
                    .await
            }
            "Update" => {
                let Some(s) = self.store.status_by_uri(object_id).await? else {
                    return Ok(());
                };
                if s.local {
                    return Ok(());
                }
                let doc = self.fetch(object_id).await?;
                let author = self.account(s.account_id).await?;
                self.on_update(&author, &doc, seen).await
            }
            "Delete" | "Remove" => {
                let Some(s) = self.store.status_by_uri(object_id).await? else {
                    return Ok(());
                };
                if !s.local && self.gone_at_origin(object_id).await? {
                    let author = self.account(s.account_id).await?;
                    return self.on_delete(&author, &json!(object_id), seen).await;
                }
                // Still there: removed from the group by a moderator. It leaves the group's
                // timeline here (marked removed, with the reason the group gave), and the
                // group's boost of it goes from home timelines.
                let boost = self.store.reblog_by(group.id, s.id).await?;
                let readers = match &boost {
                    Some(b) => self.store.feed_recipients(b.id).await?,
                    None => Vec::new(),
                };
                let Some(mut tx) = self.begin_applying(seen).await? else {
                    return Ok(());
                };
                let reason = as2::str_field(inner, "summary").unwrap_or_default();
                tx.remove_group_status(
                    group.id,
                    s.id,
                    group.id,
                    reason,
                    kring_core::time::now_micros(),
                )
                .await?;
                if let Some(b) = &boost {
                    tx.delete_status(b).await?;
                }
                tx.commit().await?;
                if let Some(b) = boost {
                    self.events.publish(
                        crate::events::EventKind::Delete(b.id),
                        readers
                            .into_iter()
                            .map(crate::events::Stream::User)
                            .collect(),
                    );
                }
                Ok(())
            }
            // Likes and the rest change no more than counters, which are read from the post's
            // own server when it is fetched again.
            other => {
                tracing::debug!(kind = other, "ignoring an activity a group passed on");
                Ok(())
            }
        }
    }

    /// Whether a remote object is gone at its origin: it answers 404 or 410, or with a
    /// `Tombstone`. Any other failure is an error (the activity is retried later).
    pub(super) async fn gone_at_origin(&self, url: &str) -> Result<bool> {
        let key = self.instance_key().await?;
        let key_id = as2::key_id(&self.instance_actor_uri());
        match self
            .federation
            .client
            .get_activity(url, Some((&key_id, key)))
            .await
        {
            Ok(doc) => Ok(kind(&doc) == "Tombstone"),
            Err(FetchError::Status(404 | 410)) => Ok(true),
            Err(e) => Err(Self::remote_error(e)),
        }
    }
}
