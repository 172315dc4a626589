//! FEP-1b12 forwarding: a group passes on what happens to the posts it carries — an edit, a
//! deletion, a like — to its members' servers, wrapped in its own `Announce`, as Lemmy
//! communities do; so every member sees the whole conversation on every server. (Receiving
//! such Announces from other groups is `federation::group_announces`.)
use kring_activitypub::as2;
use kring_store::Tx;
use serde_json::Value;

use crate::{Id, Kring, Result};

impl Kring {
    /// Queue, in `tx`, the group's Announce of `activity` (about the post `status`) for the
    /// post's readers on other servers, if a local group carries the post. Called before the
    /// post's own rows change (a deleted post is still found here).
    pub(crate) async fn forward_in_group(
        &self,
        tx: &mut Tx,
        status: Id,
        activity: &Value,
    ) -> Result<()> {
        let Some(g) = self.store.group_of_status(status).await? else {
            return Ok(());
        };
        let Ok((group, account)) = self.group_record(g).await else {
            return Ok(());
        };
        if !account.is_local() {
            return Ok(());
        }
        let members_only = self.members_only_in_group(status).await?;
        let to = self.group_post_recipients(&group, members_only).await?;
        let mut inner = activity.clone();
        if let Some(o) = inner.as_object_mut() {
            // The wrapped activity needs no context of its own.
            o.remove("@context");
        }
        let announce = as2::activity(
            "Announce",
            &format!("{}#announces/{}", account.uri, Id::generate()),
            &account.uri,
            inner,
        );
        self.emit(tx, &account, announce, to).await
    }
}
