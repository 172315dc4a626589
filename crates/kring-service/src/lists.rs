//! Lists: named sets of followed accounts with their own timeline.
use kring_core::model::{Account, List};

use crate::{Actor, Error, Id, Kring, Result};

const MAX_LISTS: usize = 50;
const REPLIES_POLICIES: [&str; 3] = ["followed", "list", "none"];

impl Kring {
    pub async fn lists(&self, actor: &Actor) -> Result<Vec<List>> {
        self.store.lists_of(actor.id()).await
    }

    pub async fn list(&self, actor: &Actor, id: Id) -> Result<List> {
        self.own_list(actor, id).await
    }

    pub async fn lists_with(&self, actor: &Actor, member: Id) -> Result<Vec<List>> {
        self.store.lists_with_member(actor.id(), member).await
    }

    pub async fn create_list(
        &self,
        actor: &Actor,
        title: &str,
        replies_policy: Option<&str>,
        exclusive: bool,
    ) -> Result<List> {
        let title = validate_title(title)?;
        let replies_policy = validate_policy(replies_policy.unwrap_or("list"))?;
        if self.store.lists_of(actor.id()).await?.len() >= MAX_LISTS {
            return Err(Error::validation(format!(
                "You cannot create more than {MAX_LISTS} lists"
            )));
        }
        let list = List {
            id: Id::generate(),
            account_id: actor.id(),
            title,
            replies_policy,
            exclusive,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_list(&list).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn update_list(
        &self,
        actor: &Actor,
        id: Id,
        title: Option<&str>,
        replies_policy: Option<&str>,
        exclusive: Option<bool>,
    ) -> Result<List> {
        let mut list = self.own_list(actor, id).await?;
        if let Some(t) = title {
            list.title = validate_title(t)?;
        }
        if let Some(p) = replies_policy {
            list.replies_policy = validate_policy(p)?;
        }
        if let Some(e) = exclusive {
            list.exclusive = e;
        }
        let mut tx = self.store.begin().await?;
        tx.update_list(&list).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn delete_list(&self, actor: &Actor, id: Id) -> Result<()> {
        let list = self.own_list(actor, id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_list(list.id).await?;
        tx.commit().await
    }

    pub async fn list_members(&self, actor: &Actor, id: Id, limit: i64) -> Result<Vec<Account>> {
        let list = self.own_list(actor, id).await?;
        self.store.list_members(list.id, limit).await
    }

    /// Add accounts; each must be followed by the list's owner, or asked to be (as Mastodon
    /// requires since 4.2: a list may hold an account whose approval is awaited).
    pub async fn add_to_list(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let list = self.own_list(actor, id).await?;
        for &a in accounts {
            self.account(a).await?;
            if !self.store.follows(actor.id(), a).await?
                && !self.store.has_follow_request(actor.id(), a).await?
            {
                return Err(Error::validation(
                    "You must be following this account to add it to a list",
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        for &a in accounts {
            tx.add_list_member(list.id, a).await?;
        }
        tx.commit().await
    }

    pub async fn remove_from_list(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let list = self.own_list(actor, id).await?;
        let mut tx = self.store.begin().await?;
        for &a in accounts {
            tx.remove_list_member(list.id, a).await?;
        }
        tx.commit().await
    }
}

/// A list's or circle's title.
pub(crate) fn validate_title(t: &str) -> Result<String> {
    let t = t.trim();
    if t.is_empty() {
        return Err(Error::validation("Title can't be blank"));
    }
    if t.chars().count() > 256 {
        return Err(Error::validation("Title is too long"));
    }
    Ok(t.to_string())
}

fn validate_policy(p: &str) -> Result<String> {
    if REPLIES_POLICIES.contains(&p) {
        Ok(p.to_string())
    } else {
        Err(Error::validation(
            "Replies policy is not included in the list",
        ))
    }
}
