//! Timelines. Every one is strictly newest first: what the chosen people and groups posted,
//! nothing ranked, nothing injected. Which posts each shows is decided by the store's one
//! audience rule (`kring_store::Shown`), never here.
use kring_core::model::{Page, Status};
use kring_store::{AccountStatusesFilter, Locality};

use crate::{Actor, Error, Id, Kring, Result, viewer_id};

impl Kring {
    pub async fn home(&self, actor: &Actor, page: &Page) -> Result<Vec<Status>> {
        self.store.home_feed(actor.id(), page).await
    }

    pub async fn public(
        &self,
        viewer: Option<&Actor>,
        locality: Locality,
        page: &Page,
    ) -> Result<Vec<Status>> {
        self.store
            .public_timeline(viewer_id(viewer), locality, page)
            .await
    }

    pub async fn tag_timeline(
        &self,
        viewer: Option<&Actor>,
        tags: &[String],
        locality: Locality,
        page: &Page,
    ) -> Result<Vec<Status>> {
        let tags: Vec<String> = tags
            .iter()
            .filter_map(|t| kring_core::text::normalize_tag(t))
            .take(10)
            .collect();
        self.store
            .tag_timeline(viewer_id(viewer), &tags, locality, page)
            .await
    }

    pub async fn list_timeline(&self, actor: &Actor, list: Id, page: &Page) -> Result<Vec<Status>> {
        let l = self.own_list(actor, list).await?;
        self.store.list_timeline(actor.id(), l.id, page).await
    }

    pub async fn account_statuses(
        &self,
        viewer: Option<&Actor>,
        account: Id,
        filter: AccountStatusesFilter,
        tagged: Option<&str>,
        page: &Page,
    ) -> Result<Vec<Status>> {
        let a = self.account(account).await?;
        // An author who blocked the viewer shows nothing: the audience rule says so per post.
        self.store
            .account_statuses(viewer_id(viewer), a.id, filter, tagged, page)
            .await
    }

    /// The actor's favourites or bookmarks, with the id of each mark for paging.
    pub async fn marked(
        &self,
        actor: &Actor,
        bookmarks: bool,
        page: &Page,
    ) -> Result<Vec<(Id, Status)>> {
        self.store
            .marked_statuses(actor.id(), bookmarks, page)
            .await
    }

    pub(crate) async fn own_list(&self, actor: &Actor, id: Id) -> Result<kring_core::model::List> {
        match self.store.list(id).await? {
            Some(l) if l.account_id == actor.id() => Ok(l),
            _ => Err(Error::NotFound),
        }
    }
}
