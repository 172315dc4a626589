//! Quote posts with consent (FEP-044f, as Mastodon 4.5 has them). A post may quote one other
//! post; whether the quoted author allows it is the quote policy (`can_quote`, decided by
//! [`Kring::permission`] like every interaction). The quoting post is read by its own audience
//! whatever the quote's state; the quoted post is shown inside it only once the quote is
//! accepted, and only to viewers the one audience rule lets read the quoted post.
//!
//! On the wire: a Note carries `quote` (and the older `quoteUri`, `_misskey_quote`) and, once
//! approved, `quoteAuthorization`. A quote of a post elsewhere is asked for with a
//! `QuoteRequest` (object: the quoted post, instrument: the quote); its author's server
//! answers `Accept` naming a `QuoteAuthorization` in `result`, or `Reject`. Revoking is a
//! `Delete` of the authorization. Quotes of our people's posts are held to their policies, and
//! a quote of a third server's post counts as accepted only once its authorization has been
//! fetched from the quoted author's server and found to allow exactly this quote.
use kring_activitypub::as2;
use kring_core::model::{
    Account, InteractionRequest, NotificationType, Page, Quote, QuoteState, Status,
};
use kring_core::time::now_micros;
use kring_core::{Decision, Interaction, Visibility};
use serde_json::{Value, json};

use crate::events::{EventKind, Stream};
use crate::federation::Recipients;
use crate::interactions::{Interacting, Permission};
use crate::views::StatusView;
use crate::{Actor, Error, Id, Kring, Result};

/// A quote as doors show it to one viewer.
#[derive(Debug, Clone)]
pub struct QuoteView {
    pub quote: Quote,
    /// Mastodon's state for this viewer: the stored one, or `deleted` (the quoted post is
    /// gone) or `unauthorized` (the viewer may not read it) for an accepted quote.
    pub state: &'static str,
    /// The quoted post, when accepted and readable by the viewer.
    pub quoted: Option<Box<StatusView>>,
}

impl QuoteView {
    /// Before a viewer's reading is known: nothing shown.
    pub(crate) fn unresolved(quote: Quote) -> QuoteView {
        QuoteView {
            state: quote.state.as_str(),
            quote,
            quoted: None,
        }
    }
}

/// How a quote of one of our people's posts arrived, for the inbox.
pub(crate) struct LocalQuote {
    pub decision: Decision,
}

impl Kring {
    /// The post `actor` may quote in a new post, and how (the permission). Refused with a
    /// clear 422: a post they may not read (said as "not found", never revealing it), a boost,
    /// a post awaiting approval, a post that is not public or unlisted (except their own
    /// followers-only posts, as on Mastodon), and a post whose policy lets nobody quote it.
    pub(crate) async fn quotable(&self, actor: &Actor, id: Id) -> Result<(Status, Permission)> {
        let quoted = self
            .store
            .visible_status(Some(actor.id()), id)
            .await?
            .filter(|s| s.reblog_of_id.is_none())
            .ok_or_else(|| Error::validation("The post you are trying to quote does not exist"))?;
        if quoted.pending_approval_by.is_some() {
            return Err(Error::validation(
                "The post you are trying to quote awaits approval",
            ));
        }
        let own_private =
            quoted.account_id == actor.id() && quoted.visibility == Visibility::Private;
        if !matches!(quoted.visibility, Visibility::Public | Visibility::Unlisted) && !own_private {
            return Err(Error::validation(
                "Only public and unlisted posts (and your own followers-only posts) can be quoted",
            ));
        }
        let p = self
            .permission(actor.id(), &quoted, Interaction::Quote)
            .await?;
        if p.decision == Decision::Denied {
            return Err(Error::validation("You are not allowed to quote this post"));
        }
        Ok((quoted, p))
    }

    /// Record the quote a new post of `actor` makes, in the post's transaction. A post of ours
    /// is decided at once (accepted, or waiting in its author's queue); a post elsewhere waits
    /// for its author's server, asked by [`send_quote_request`](Self::send_quote_request).
    /// Returns the quote and the request that goes with it.
    pub(crate) async fn record_new_quote(
        &self,
        tx: &mut kring_store::Tx,
        actor: &Actor,
        quoting: &Status,
        quoted: &Status,
        p: Permission,
    ) -> Result<(Quote, InteractionRequest, Vec<(Id, Id)>)> {
        let mut notified = Vec::new();
        let request_uri =
            (!quoted.local).then(|| self.activity_id(&actor.account, "quote_requests"));
        let mut r = self
            .record_request(
                tx,
                &Interacting {
                    kind: Interaction::Quote,
                    target: quoted,
                    account: actor.id(),
                    status: Some(quoting.id),
                    uri: &quoting.uri,
                    request: request_uri.as_deref(),
                },
            )
            .await?;
        let mut state = QuoteState::Pending;
        if quoted.local {
            let author = self.account(quoted.account_id).await?;
            if p.decision == Decision::Automatic {
                let (accept, auth) = Self::approval_uris(&author, &r);
                tx.decide_interaction_request(r.id, true, Some(&accept), Some(&auth))
                    .await?;
                r.accepted_at = Some(now_micros());
                r.response_uri = Some(accept);
                r.authorization_uri = Some(auth);
                state = QuoteState::Accepted;
                if let Some(n) = self
                    .notify_in(
                        tx,
                        quoted.account_id,
                        NotificationType::Quote,
                        actor.id(),
                        Some(quoting.id),
                    )
                    .await?
                {
                    notified.push((quoted.account_id, n));
                }
            } else {
                // Not streamed: Mastodon clients do not know the `pending.*` types.
                self.notify_in(
                    tx,
                    quoted.account_id,
                    crate::interactions::pending_notification(Interaction::Quote),
                    actor.id(),
                    Some(quoting.id),
                )
                .await?;
            }
        }
        let q = Quote {
            status_id: quoting.id,
            quoted_status_id: Some(quoted.id),
            quoted_account_id: Some(quoted.account_id),
            quoted_uri: quoted.uri.clone(),
            state,
            authorization_uri: r.authorization_uri.clone(),
            created_at: now_micros(),
        };
        tx.insert_quote(&q).await?;
        Ok((q, r, notified))
    }

    /// Ask a remote author's server to allow our person's quote: a `QuoteRequest` naming the
    /// quoted post, with the quote (its Note, embedded) as `instrument`.
    pub(crate) async fn send_quote_request(
        &self,
        tx: &mut kring_store::Tx,
        author: &Account,
        note: &Value,
        quoted: &Status,
        r: &InteractionRequest,
    ) -> Result<()> {
        let Some(id) = &r.request_uri else {
            return Ok(());
        };
        let quoted_author = self.account(quoted.account_id).await?;
        let mut instrument = note.clone();
        if let Some(o) = instrument.as_object_mut() {
            o.remove("@context");
        }
        let activity = json!({
            "@context": as2::context(),
            "id": id,
            "type": "QuoteRequest",
            "actor": author.uri,
            "to": [quoted_author.uri],
            "object": quoted.uri,
            "instrument": instrument,
        });
        self.emit(
            tx,
            author,
            activity,
            Recipients::Accounts {
                ids: vec![quoted.account_id],
            },
        )
        .await
    }

    /// Add what a Note says of the post it quotes: FEP-044f's `quote` with the older names
    /// other software reads, and the authorization once there is one.
    pub(crate) fn quote_fields(note: &mut Value, q: &Quote) {
        note["quote"] = json!(q.quoted_uri);
        note["quoteUri"] = json!(q.quoted_uri);
        note["_misskey_quote"] = json!(q.quoted_uri);
        if q.state == QuoteState::Accepted
            && let Some(a) = &q.authorization_uri
        {
            note["quoteAuthorization"] = json!(a);
        }
    }

    /// Send our person's quoting post again, now carrying its authorization, to everyone it
    /// is for (in the approval's transaction, whose state the store cannot see yet).
    pub(crate) async fn send_quote_update(
        &self,
        tx: &mut kring_store::Tx,
        s: &Status,
        author: &Account,
        authorization: Option<&str>,
    ) -> Result<()> {
        if s.local_only {
            return Ok(());
        }
        let mut note = self.load_note(s, author).await?;
        match authorization {
            Some(a) => note["quoteAuthorization"] = json!(a),
            None => {
                if let Some(o) = note.as_object_mut() {
                    o.remove("quoteAuthorization");
                }
            }
        }
        let mentioned: Vec<Id> = self
            .store
            .mentions_of(&[s.id])
            .await?
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        let update = as2::activity(
            "Update",
            &format!("{}#updates/{}", s.uri, Id::generate()),
            &author.uri,
            note,
        );
        let to = self.recipients(s, None, &mentioned).await?;
        self.emit(tx, author, update, to).await
    }

    /// A quote request answered (approved or refused by our author, or by a remote author for
    /// one of ours): the quote's state follows, in the caller's transaction.
    pub(crate) async fn quote_decided(
        &self,
        tx: &mut kring_store::Tx,
        quoting: Id,
        accepted: bool,
        authorization: Option<&str>,
    ) -> Result<bool> {
        let state = if accepted {
            QuoteState::Accepted
        } else {
            QuoteState::Rejected
        };
        tx.set_quote_state(quoting, &[QuoteState::Pending], state, authorization)
            .await
    }

    /// The accepted quotes of a post the viewer may read, that the viewer is shown.
    pub async fn quotes_of_status(
        &self,
        viewer: Option<&Actor>,
        id: Id,
        page: &Page,
    ) -> Result<Vec<Status>> {
        let s = self.status(viewer, id).await?;
        self.store
            .quoting_statuses(crate::viewer_id(viewer), s.id, page)
            .await
    }

    /// The author of a quoted post withdraws their approval of one quote: it shows as
    /// `revoked` from now on, here and (told with a `Delete` of the authorization) on the
    /// servers the quote reached. Returns the quoting post.
    pub async fn revoke_quote(&self, actor: &Actor, quoted: Id, quoting: Id) -> Result<Status> {
        let q = self
            .store
            .quote_of(quoting)
            .await?
            .filter(|q| q.quoted_status_id == Some(quoted))
            .ok_or(Error::NotFound)?;
        let target = self.store.status(quoted).await?.ok_or(Error::NotFound)?;
        if target.account_id != actor.id() {
            return Err(Error::NotFound);
        }
        // The quoting post is answered, so it must be one the author may read.
        let s = self
            .store
            .visible_status(Some(actor.id()), quoting)
            .await?
            .ok_or(Error::NotFound)?;
        let request = self.store.quote_request_of_status(quoting).await?;
        let mut tx = self.store.begin().await?;
        let changed = tx
            .set_quote_state(
                quoting,
                &[QuoteState::Accepted, QuoteState::Pending],
                QuoteState::Revoked,
                None,
            )
            .await?;
        if changed {
            if let Some(r) = &request {
                tx.withdraw_interaction_request(r.id).await?;
            }
            if let Some(auth) = q
                .authorization_uri
                .as_deref()
                .filter(|a| self.is_local_uri(a))
                && !target.local_only
            {
                let quoting_author = self.account(s.account_id).await?;
                let delete = json!({
                    "@context": as2::context(),
                    "id": format!("{auth}#delete"),
                    "type": "Delete",
                    "actor": actor.account.uri,
                    "to": [as2::PUBLIC],
                    "object": auth,
                });
                // Everyone the quote reached: its own audience when it is ours, else its
                // author's server and this author's followers (who may have seen it shown).
                let to = if s.local {
                    self.recipients(&s, None, &[]).await?
                } else {
                    Recipients::Followers {
                        of: actor.id(),
                        also: vec![quoting_author.id],
                    }
                };
                self.emit(&mut tx, &actor.account, delete, to).await?;
            }
        }
        tx.commit().await?;
        self.publish_quote_change(quoting).await?;
        self.store.status(quoting).await?.ok_or(Error::NotFound)
    }

    /// Tell streaming clients that a quoting post now shows differently.
    pub(crate) async fn publish_quote_change(&self, quoting: Id) -> Result<()> {
        let streams: Vec<Stream> = self
            .store
            .feed_recipients(quoting)
            .await?
            .into_iter()
            .map(Stream::User)
            .collect();
        self.events
            .publish(EventKind::StatusUpdate(quoting), streams);
        Ok(())
    }

    // --- quotes from other servers ------------------------------------------------------------

    /// What a received Note quotes, decided before it is stored: the quoted post (fetched when
    /// unknown), the state, and for a post of ours the policy's answer. A quote of a third
    /// server's post is accepted only when it quotes its own author's post or carries an
    /// authorization that the quoted author's server confirms.
    pub(crate) async fn inbound_quote(
        &self,
        note: &Value,
        author: &Account,
        depth: u32,
    ) -> Result<Option<(Quote, Option<Status>, Option<LocalQuote>)>> {
        let Some(quoted_uri) = as2::quote_of(note) else {
            return Ok(None);
        };
        let Some(uri) = as2::str_field(note, "id") else {
            return Ok(None);
        };
        let quoted = Box::pin(self.resolve_status_uri(quoted_uri, depth.saturating_sub(1)))
            .await
            .ok()
            .filter(|s| s.reblog_of_id.is_none());
        let mut q = Quote {
            status_id: Id(0),
            quoted_status_id: quoted.as_ref().map(|s| s.id),
            quoted_account_id: quoted.as_ref().map(|s| s.account_id),
            quoted_uri: quoted_uri.to_string(),
            state: QuoteState::Pending,
            authorization_uri: None,
            created_at: now_micros(),
        };
        let Some(target) = quoted else {
            return Ok(Some((q, None, None)));
        };
        if target.local {
            // Our person's post: their policy decides (a post its quoter may not read, or
            // one only its own audience may read, is never quotable by others).
            let readable = self
                .store
                .visible_status(Some(author.id), target.id)
                .await?
                .is_some();
            let decision = if readable {
                self.permission(author.id, &target, Interaction::Quote)
                    .await?
                    .decision
            } else {
                Decision::Denied
            };
            q.state = match decision {
                Decision::Automatic => QuoteState::Accepted,
                Decision::Manual => QuoteState::Pending,
                Decision::Denied => QuoteState::Rejected,
            };
            return Ok(Some((q, Some(target), Some(LocalQuote { decision }))));
        }
        if target.account_id == author.id {
            q.state = QuoteState::Accepted;
        } else if let Some(auth) = note.get("quoteAuthorization").and_then(as2::id_of) {
            let quoted_author = self.account(target.account_id).await?;
            if self
                .verify_quote_authorization(auth, uri, &target, &quoted_author)
                .await
            {
                q.state = QuoteState::Accepted;
                q.authorization_uri = Some(auth.to_string());
            }
        }
        Ok(Some((q, Some(target), None)))
    }

    /// Whether `auth` is a `QuoteAuthorization` the quoted author's server serves, allowing
    /// exactly `quoting` to quote `quoted`. Fetched from its URL, which must be on the quoted
    /// author's host; a failure to fetch is no authorization.
    pub(crate) async fn verify_quote_authorization(
        &self,
        auth: &str,
        quoting: &str,
        quoted: &Status,
        quoted_author: &Account,
    ) -> bool {
        let host = as2::host_of(&quoted_author.uri);
        if host.is_none() || as2::host_of(auth) != host || self.is_local_uri(auth) {
            return false;
        }
        let Ok(doc) = self.fetch(auth).await else {
            return false;
        };
        let attributed = as2::ids(doc.get("attributedTo"));
        as2::str_field(&doc, "id") == Some(auth)
            && as2::kind(&doc) == "QuoteAuthorization"
            && attributed.contains(&quoted_author.uri)
            && doc.get("interactingObject").and_then(as2::id_of) == Some(quoting)
            && doc.get("interactionTarget").and_then(as2::id_of) == Some(quoted.uri.as_str())
    }

    /// Store a received quote with its quoting post (in the post's transaction); a quote of
    /// one of our posts gets a request row (decided, or waiting in its author's queue) and
    /// notifies the author.
    pub(crate) async fn record_inbound_quote(
        &self,
        tx: &mut kring_store::Tx,
        mut q: Quote,
        quoting: &Status,
        target: Option<&Status>,
        local: Option<&LocalQuote>,
    ) -> Result<Vec<(Id, Id)>> {
        q.status_id = quoting.id;
        let mut notified = Vec::new();
        if let (Some(target), Some(l)) = (target, local) {
            let author = self.account(target.account_id).await?;
            let mut r = self
                .record_request(
                    tx,
                    &Interacting {
                        kind: Interaction::Quote,
                        target,
                        account: quoting.account_id,
                        status: Some(quoting.id),
                        uri: &quoting.uri,
                        request: None,
                    },
                )
                .await?;
            match l.decision {
                Decision::Automatic => {
                    let (accept, auth) = Self::approval_uris(&author, &r);
                    tx.decide_interaction_request(r.id, true, Some(&accept), Some(&auth))
                        .await?;
                    r.authorization_uri = Some(auth.clone());
                    q.authorization_uri = Some(auth);
                    if let Some(n) = self
                        .notify_in(
                            tx,
                            author.id,
                            NotificationType::Quote,
                            quoting.account_id,
                            Some(quoting.id),
                        )
                        .await?
                    {
                        notified.push((author.id, n));
                    }
                }
                Decision::Manual => {
                    self.notify_in(
                        tx,
                        author.id,
                        crate::interactions::pending_notification(Interaction::Quote),
                        quoting.account_id,
                        Some(quoting.id),
                    )
                    .await?;
                }
                Decision::Denied => {
                    let reject = self.activity_id(&author, "rejects");
                    tx.decide_interaction_request(r.id, false, Some(&reject), None)
                        .await?;
                }
            }
        }
        tx.insert_quote(&q).await?;
        Ok(notified)
    }

    /// A `QuoteRequest` for one of our posts: the quote (the `instrument`, stored like any
    /// post that arrives) was decided when stored; the request is answered now, naming it —
    /// `Accept` with the authorization as `result`, or `Reject` — or, when the quote waits
    /// for its author, once they decide.
    pub(crate) async fn answer_quote_request(
        &self,
        requester: &Account,
        request_id: &str,
        quoting: &Status,
        seen: Option<&crate::federation::inbox::Seen>,
    ) -> Result<()> {
        let Some(mut r) = self.store.quote_request_of_status(quoting.id).await? else {
            return Ok(());
        };
        if r.account_id != requester.id {
            return Ok(());
        }
        let target = self
            .store
            .status(r.status_id)
            .await?
            .ok_or(Error::NotFound)?;
        if !target.local {
            return Ok(());
        }
        let author = self.account(target.account_id).await?;
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(());
        };
        tx.set_request_uri(r.id, request_id).await?;
        r.request_uri = Some(request_id.to_string());
        if !r.is_pending() {
            let accepted = r.accepted_at.is_some();
            self.send_answer(&mut tx, accepted, &r, &author, requester, &target)
                .await?;
        }
        tx.commit().await
    }

    /// A `Delete` of a quote's authorization by the quoted author's server: the quote is
    /// revoked. True when `uri` was such an authorization.
    pub(crate) async fn on_authorization_deleted(
        &self,
        actor: &Account,
        uri: &str,
        seen: Option<&crate::federation::inbox::Seen>,
    ) -> Result<bool> {
        let Some(q) = self.store.quote_by_authorization(uri).await? else {
            return Ok(false);
        };
        // Only the quoted author's server withdraws what it authorised.
        let origin = as2::host_of(&actor.uri);
        if origin.is_none() || as2::host_of(uri) != origin || q.quoted_account_id != Some(actor.id)
        {
            return Err(Error::forbidden("not the quoted author's authorization"));
        }
        let Some(mut tx) = self.begin_applying(seen).await? else {
            return Ok(true);
        };
        let changed = tx
            .set_quote_state(
                q.status_id,
                &[QuoteState::Accepted, QuoteState::Pending],
                QuoteState::Revoked,
                None,
            )
            .await?;
        // Our person's quote: the servers it reached hear of it from us, as an Update that no
        // longer carries the authorization (they check it again, and find it gone).
        if changed
            && let Some(s) = self.store.status(q.status_id).await?
            && s.local
        {
            let author = self.account(s.account_id).await?;
            self.send_quote_update(&mut tx, &s, &author, None).await?;
        }
        tx.commit().await?;
        self.publish_quote_change(q.status_id).await?;
        Ok(true)
    }

    /// A quoting post we know was updated. An authorization it now carries (its quoted
    /// author's server approved it) is checked, and accepts the quote; an accepted quote whose
    /// authorization it no longer carries is checked again, and revoked when the quoted
    /// author's server no longer confirms it.
    pub(crate) async fn on_quote_updated(&self, note: &Value, quoting: &Status) -> Result<()> {
        let Some(q) = self.store.quote_of(quoting.id).await? else {
            return Ok(());
        };
        let Some(target) = q.quoted_status_id else {
            return Ok(());
        };
        let Some(target) = self.store.status(target).await? else {
            return Ok(());
        };
        if target.local || target.account_id == quoting.account_id {
            // Ours: decided here, by our author. A self-quote needs no authorization.
            return Ok(());
        }
        let quoted_author = self.account(target.account_id).await?;
        let carried = note.get("quoteAuthorization").and_then(as2::id_of);
        let (from, to, auth) = match (q.state, carried) {
            (QuoteState::Pending, Some(auth)) => (QuoteState::Pending, QuoteState::Accepted, auth),
            (QuoteState::Accepted, c) if c != q.authorization_uri.as_deref() => {
                let Some(stored) = q.authorization_uri.as_deref() else {
                    return Ok(());
                };
                if self
                    .verify_quote_authorization(stored, &quoting.uri, &target, &quoted_author)
                    .await
                {
                    return Ok(());
                }
                (QuoteState::Accepted, QuoteState::Revoked, stored)
            }
            _ => return Ok(()),
        };
        if to == QuoteState::Accepted
            && !self
                .verify_quote_authorization(auth, &quoting.uri, &target, &quoted_author)
                .await
        {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let authorization = (to == QuoteState::Accepted).then_some(auth);
        tx.set_quote_state(quoting.id, &[from], to, authorization)
            .await?;
        tx.commit().await?;
        self.publish_quote_change(quoting.id).await
    }
}
