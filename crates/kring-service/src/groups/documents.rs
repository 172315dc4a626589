//! A private group's ActivityPub documents (actor, outbox, followers and following) answer
//! only signed requests from servers where the group has members (or people it invited or
//! who asked to join): a server with no member cannot subscribe to it or read it. Posts are
//! guarded by the audience rule like any other.
use kring_core::GroupRole;
use kring_core::model::Page;
use kring_store::MemberFilter;
use serde_json::{Value, json};

use crate::federation::SignedRequest;
use crate::{Error, Kring, Result};

impl Kring {
    /// Refuse (as "not found") a request for a private group's documents unless it is signed
    /// by an account on a server where the group has members. Any other account's documents
    /// pass.
    pub async fn check_group_document_reader(
        &self,
        username: &str,
        signed: Option<&SignedRequest>,
    ) -> Result<()> {
        let Some(account) = self.store.account_by_handle(username, None).await? else {
            return Ok(());
        };
        if !account.group {
            return Ok(());
        }
        let Some(group) = self.store.group(account.id).await? else {
            return Ok(());
        };
        if !group.is_hidden() {
            return Ok(());
        }
        // Authorized fetch for this group whatever the server's setting: the signer's key may
        // be fetched.
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
        if self.store.group_known_on_domain(group.id, domain).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }

    /// A group's moderators (its owner, admins and moderators), as Lemmy publishes them
    /// (`attributedTo` of the group). Callers check `check_group_document_reader` first.
    pub async fn group_moderators_document(&self, username: &str) -> Result<Value> {
        let account = self
            .store
            .account_by_handle(username, None)
            .await?
            .filter(|a| a.group && a.suspended_at.is_none())
            .ok_or(Error::NotFound)?;
        let mut items = Vec::new();
        for role in [GroupRole::Owner, GroupRole::Admin, GroupRole::Moderator] {
            for (a, _) in self
                .store
                .group_members(
                    account.id,
                    MemberFilter::Members(Some(role)),
                    &Page::newest(200),
                )
                .await?
            {
                items.push(json!(a.uri));
            }
        }
        Ok(json!({
            "@context": kring_activitypub::as2::context(),
            "id": format!("{}/moderators", account.uri),
            "type": "OrderedCollection",
            "totalItems": items.len(),
            "orderedItems": items,
        }))
    }
}
