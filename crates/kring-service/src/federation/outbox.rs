//! The one outbox path. A local action calls `emit` inside its own transaction; that writes
//! one `ap.distribute` job. The worker later expands it into one delivery job per inbox, so
//! the action stays fast however many followers there are, and nothing is lost on a crash.
use kring_activitypub::as2::{self, NoteParts};
use kring_core::model::{Account, Status};
use kring_core::time::now_micros;
use kring_core::{Audience, Visibility};
use kring_store::Tx;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Id, Kring, Result};

pub const DISTRIBUTE: &str = "ap.distribute";

/// Who receives an activity (only remote accounts are delivered to).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipients {
    /// The followers of `of`, plus these accounts.
    Followers { of: Id, also: Vec<Id> },
    /// Just these accounts.
    Accounts { ids: Vec<Id> },
    /// A narrowed post (friends, circles): these accounts, each server told only of its own
    /// recipients (`to` rewritten per inbox), so a circle's members stay private to its owner.
    Narrow { ids: Vec<Id> },
    /// Nobody: a local-only post never leaves the server.
    Nobody,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Distribution {
    /// The local account it is sent as; None for the server's instance actor (forwarded
    /// reports, which must not name the person who filed them).
    pub sender: Option<Id>,
    pub activity: Value,
    pub recipients: Recipients,
}

/// How many of a sender's followers `emit` looks at for one on another server, under the
/// write lock: ~0.2 ms of SQLite at 1,000 (a full look at 10,000 took 3–6 ms, more than the
/// distribution's own claim and completion it saves). A sender with more followers gets a
/// distribution queued, which finds their inboxes as it always did.
const FOLLOWERS_EXAMINED: i64 = 1_000;

impl Kring {
    /// Queue `activity` from `sender` for `recipients`, in the caller's transaction.
    pub(crate) async fn emit(
        &self,
        tx: &mut Tx,
        sender: &Account,
        activity: Value,
        recipients: Recipients,
    ) -> Result<()> {
        if !sender.is_local() || !self.may_reach_elsewhere(tx, &recipients).await? {
            return Ok(());
        }
        let job = Distribution {
            sender: Some(sender.id),
            activity,
            recipients,
        };
        let payload = serde_json::to_string(&job).map_err(crate::Error::internal)?;
        tx.enqueue(DISTRIBUTE, &payload, now_micros()).await?;
        Ok(())
    }

    /// Whether `recipients` may name anyone on another server. Most posts on a community's
    /// server reach only its own people: then no distribution is queued, whose claim and
    /// completion (two write transactions) would compete with the post's fan-out for the
    /// write lock right after it commits. Asked in the caller's transaction, which sees what
    /// it wrote itself (an account or a follow stored with the activity).
    async fn may_reach_elsewhere(&self, tx: &mut Tx, recipients: &Recipients) -> Result<bool> {
        let (followers_of, ids) = match recipients {
            Recipients::Nobody => return Ok(false),
            Recipients::Followers { of, also } => (Some(*of), also.as_slice()),
            Recipients::Accounts { ids } | Recipients::Narrow { ids } => (None, ids.as_slice()),
        };
        if followers_of.is_none() && ids.is_empty() {
            return Ok(false);
        }
        tx.reaches_elsewhere(followers_of, FOLLOWERS_EXAMINED, ids)
            .await
    }

    /// Queue `activity` from the server's instance actor to these accounts, in the caller's
    /// transaction.
    pub(crate) async fn emit_as_instance(
        &self,
        tx: &mut Tx,
        activity: Value,
        to: Vec<Id>,
    ) -> Result<()> {
        let job = Distribution {
            sender: None,
            activity,
            recipients: Recipients::Accounts { ids: to },
        };
        let payload = serde_json::to_string(&job).map_err(crate::Error::internal)?;
        tx.enqueue(DISTRIBUTE, &payload, now_micros()).await?;
        Ok(())
    }

    /// Expand a distribution into per-inbox deliveries (de-duplicating shared inboxes).
    pub(crate) async fn distribute(&self, payload: &str) -> Result<()> {
        let d: Distribution = serde_json::from_str(payload).map_err(crate::Error::internal)?;
        // Each inbox with the accounts it is addressed for (empty: the activity as it is).
        let mut inboxes: Vec<(String, Vec<String>)> = Vec::new();
        let (extra, narrow) = match &d.recipients {
            Recipients::Followers { of, also } => {
                inboxes.extend(
                    self.store
                        .follower_inboxes(*of)
                        .await?
                        .into_iter()
                        .map(|i| (i, Vec::new())),
                );
                (also.clone(), false)
            }
            Recipients::Accounts { ids } => (ids.clone(), false),
            Recipients::Narrow { ids } => (ids.clone(), true),
            Recipients::Nobody => return Ok(()),
        };
        for a in self.store.accounts_by_ids(&extra).await? {
            if !a.is_local() && !a.inbox_url.is_empty() {
                let inbox = a
                    .shared_inbox_url
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or(a.inbox_url);
                inboxes.push((inbox, if narrow { vec![a.uri] } else { Vec::new() }));
            }
        }
        inboxes.sort();
        let mut merged: Vec<(String, Vec<String>)> = Vec::new();
        for (inbox, to) in inboxes {
            match merged.last_mut() {
                Some((last, addressed)) if *last == inbox => addressed.extend(to),
                _ => merged.push((inbox, to)),
            }
        }
        let mut to_of: std::collections::HashMap<String, Vec<String>> =
            merged.iter().cloned().collect();
        let inboxes = interleave_hosts(merged.into_iter().map(|(i, _)| i).collect());
        let body = serde_json::to_string(&d.activity).map_err(crate::Error::internal)?;
        for chunk in inboxes.chunks(500) {
            let mut jobs = Vec::with_capacity(chunk.len());
            for inbox in chunk {
                let addressed;
                let activity = match to_of.remove(inbox) {
                    Some(to) if narrow => {
                        addressed = serde_json::to_string(&addressed_to(&d.activity, &to))
                            .map_err(crate::Error::internal)?;
                        &addressed
                    }
                    _ => &body,
                };
                let job = super::deliver::DeliveryRef {
                    inbox,
                    sender: d.sender,
                    activity,
                };
                jobs.push(serde_json::to_string(&job).map_err(crate::Error::internal)?);
            }
            // One statement per chunk: 10,000 followers are 20 writes, not 10,000.
            let mut tx = self.store.begin().await?;
            tx.enqueue_many(super::DELIVER, &jobs, now_micros()).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    // --- activity builders ----------------------------------------------------------------

    /// The Note for a local status, from what the caller has at hand (inside a transaction
    /// the store cannot see uncommitted mentions yet).
    pub(crate) fn note_for(
        &self,
        s: &Status,
        author: &Account,
        mentions: &[Account],
        tags: &[String],
        in_reply_to: Option<String>,
    ) -> Value {
        let base = self.config.base_url();
        let tag_url = |t: &str| {
            format!(
                "{base}/tags/{}",
                percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
            )
        };
        as2::note(
            s,
            &NoteParts {
                author,
                mentions,
                tags,
                in_reply_to,
                conversation: Some(format!("{base}/contexts/{}", s.conversation_id)),
                tag_url: &tag_url,
            },
        )
    }

    /// The Note of a stored status.
    pub async fn load_note(&self, s: &Status, author: &Account) -> Result<Value> {
        let mention_ids: Vec<Id> = self
            .store
            .mentions_of(&[s.id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let mentions = self.store.accounts_by_ids(&mention_ids).await?;
        let tags: Vec<String> = self
            .store
            .tags_of(&[s.id])
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        let in_reply_to = match s.in_reply_to_id {
            Some(p) => self.store.status(p).await?.map(|p| p.uri),
            None => None,
        };
        let mut note = self.note_for(s, author, &mentions, &tags, in_reply_to);
        let approval = self.store.interaction_request_of_status(s.id).await?;
        let quote = self.store.quote_of(s.id).await?;
        self.decorate_note(
            &mut note,
            s,
            author,
            &mentions,
            approval.as_ref(),
            quote.as_ref(),
        )
        .await?;
        let media = self.store.media_of_statuses(&[s.id]).await?;
        self.attach_to_note(&mut note, &media);
        Ok(note)
    }

    /// A local account's actor document; an account that moved names its new home
    /// (`movedTo`), as Mastodon's do.
    pub async fn person_json(&self, a: &Account) -> Result<Value> {
        let mut doc = as2::person(
            &self.config.base_url(),
            a,
            &kring_core::text::field_value_html,
        );
        if let Some(to) = a.moved_to_id
            && let Some(target) = self.store.account(to).await?
        {
            doc["movedTo"] = Value::from(target.uri);
        }
        Ok(doc)
    }

    /// A fresh activity id under an actor.
    pub(crate) fn activity_id(&self, actor: &Account, what: &str) -> String {
        format!("{}#{}/{}", actor.uri, what, Id::generate())
    }
}

impl Kring {
    /// Who a status (and each later Update or Delete of it) goes to: nobody if it is local
    /// only; the remote accounts its grants name if it is narrowed (friends, circles); else
    /// its followers (unless direct), the remote accounts it mentions and the author of the
    /// post it answers. `audience`: the status's own, when the caller has it (a new post);
    /// otherwise it is read from the store.
    pub(crate) async fn recipients(
        &self,
        s: &Status,
        audience: Option<&Audience>,
        mentioned: &[Id],
    ) -> Result<Recipients> {
        if s.local_only {
            return Ok(Recipients::Nobody);
        }
        // A chat's message goes to its readers' servers, whatever it mentions.
        if s.visibility == Visibility::Direct {
            let stored;
            let audience = match audience {
                Some(a) => a,
                None => {
                    stored = self.store.audience_of(s.id).await?.unwrap_or_default();
                    &stored
                }
            };
            // Those who joined after it never read it (docs/chats.md): its edits and its
            // deletion go only where it went.
            if let Some(chat) = audience.chat() {
                return Ok(Recipients::Accounts {
                    ids: self.store.remote_chat_readers(chat, s.id).await?,
                });
            }
        }
        if s.visibility.is_narrowed() {
            let stored;
            let audience = match audience {
                Some(a) => a,
                None => {
                    stored = self.store.audience_of(s.id).await?.unwrap_or_default();
                    &stored
                }
            };
            return Ok(Recipients::Narrow {
                ids: self.store.remote_accounts_in(audience).await?,
            });
        }
        let mut also = mentioned.to_vec();
        if let Some(a) = s.in_reply_to_account_id
            && s.visibility != Visibility::Direct
        {
            also.push(a);
        }
        Ok(match s.visibility {
            Visibility::Direct => Recipients::Accounts {
                ids: mentioned.to_vec(),
            },
            _ => Recipients::Followers {
                of: s.account_id,
                also,
            },
        })
    }
}

/// `activity` (and its embedded object) addressed to exactly `to`: what one server receives of
/// a narrowed post, naming only its own recipients.
fn addressed_to(activity: &Value, to: &[String]) -> Value {
    let mut a = activity.clone();
    let set = |v: &mut Value| {
        if let Some(o) = v.as_object_mut() {
            o.insert("to".into(), serde_json::json!(to));
            o.insert("cc".into(), serde_json::json!([]));
            o.remove("bto");
            o.remove("bcc");
        }
    };
    set(&mut a);
    if let Some(object) = a.get_mut("object")
        && object.is_object()
    {
        set(object);
    }
    a
}

/// Order deliveries round-robin across hosts: the worker claims jobs in order and limits
/// concurrency per host, so a run of one host's inboxes would leave the others waiting.
fn interleave_hosts(inboxes: Vec<String>) -> Vec<String> {
    let mut by_host: std::collections::BTreeMap<String, std::collections::VecDeque<String>> =
        Default::default();
    for inbox in inboxes {
        let host = kring_activitypub::as2::host_of(&inbox).unwrap_or_default();
        by_host.entry(host).or_default().push_back(inbox);
    }
    let mut out = Vec::new();
    while !by_host.is_empty() {
        by_host.retain(|_, queue| {
            if let Some(inbox) = queue.pop_front() {
                out.push(inbox);
            }
            !queue.is_empty()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::interleave_hosts;

    #[test]
    fn deliveries_alternate_between_hosts() {
        let list = [
            "https://a/1",
            "https://a/2",
            "https://a/3",
            "https://b/1",
            "https://c/1",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            interleave_hosts(list),
            [
                "https://a/1",
                "https://b/1",
                "https://c/1",
                "https://a/2",
                "https://a/3"
            ]
        );
    }
}
