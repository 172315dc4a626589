//! Delivering one activity to one inbox: sign, POST, and report the outcome to the job runner
//! (which retries with backoff). Signs with RFC 9421 first and falls back to draft-cavage when
//! a host refuses it ("double-knock", as Fedify), remembering what each host accepted.
use kring_activitypub::as2::{self, host_of};
use kring_activitypub::client::Scheme;
use serde::{Deserialize, Serialize};

use crate::{Error, Id, Kring, Result};

pub const DELIVER: &str = "ap.deliver";

/// One delivery job: an activity (serialised once for all its inboxes) to one inbox.
#[derive(Serialize, Deserialize)]
pub(crate) struct Delivery {
    pub inbox: String,
    /// Signed as this local account; None for the instance actor (`Kring::emit_as_instance`).
    pub sender: Option<Id>,
    pub activity: String,
}

/// A [`Delivery`] as it is written, borrowing what it names (one activity, many inboxes).
#[derive(Serialize)]
pub(crate) struct DeliveryRef<'a> {
    pub inbox: &'a str,
    pub sender: Option<Id>,
    pub activity: &'a str,
}

/// What the runner should do after an attempt.
pub(crate) enum Outcome {
    Done,
    Retry(String),
}

impl Kring {
    pub(crate) async fn deliver(&self, payload: &str) -> Result<Outcome> {
        let d: Delivery = serde_json::from_str(payload).map_err(Error::internal)?;
        let host = host_of(&d.inbox).unwrap_or_default();
        if !self.federates_with(&host).await? {
            return Ok(Outcome::Done);
        }
        if self.domain_unreachable(&host).await? {
            tracing::debug!(%host, "skipping delivery to unreachable domain");
            return Ok(Outcome::Done);
        }
        let (key, key_id) = match d.sender {
            None => (
                self.instance_key().await?.clone(),
                as2::key_id(&self.instance_actor_uri()),
            ),
            Some(id) => {
                let sender = self.store.account(id).await?.ok_or(Error::NotFound)?;
                (self.account_key(sender.id).await?, as2::key_id(&sender.uri))
            }
        };
        let first = self.federation.scheme_for(&host).unwrap_or(Scheme::Rfc9421);
        let client = &self.federation.client;
        let body = d.activity.as_bytes();
        let mut result = client
            .post_activity(&d.inbox, body, &key_id, &key, first)
            .await;
        if first == Scheme::Rfc9421 && matches!(result, Ok(400 | 401 | 403)) {
            result = client
                .post_activity(&d.inbox, body, &key_id, &key, Scheme::Cavage)
                .await;
            if matches!(result, Ok(s) if (200..300).contains(&s)) {
                self.federation.remember_scheme(&host, Scheme::Cavage);
            }
        } else if matches!(result, Ok(s) if (200..300).contains(&s)) {
            self.federation.remember_scheme(&host, first);
        }
        match result {
            Ok(s) if (200..300).contains(&s) => {
                self.note_delivery(&host, true).await?;
                Ok(Outcome::Done)
            }
            // The inbox is gone or refuses us for good: retrying will not help.
            Ok(s @ (400..=499)) if s != 429 && s != 408 => {
                tracing::info!(inbox = %d.inbox, status = s, "delivery refused");
                Ok(Outcome::Done)
            }
            Ok(s) => {
                self.note_delivery(&host, false).await?;
                Ok(Outcome::Retry(format!("{} answered {s}", d.inbox)))
            }
            Err(e) => {
                self.note_delivery(&host, false).await?;
                Ok(Outcome::Retry(format!("{}: {e}", d.inbox)))
            }
        }
    }
}
