//! Circles: named audiences a person keeps privately. Unlike lists (what one reads), a circle
//! is whom one writes to: a post to a circle reaches exactly its members, local or remote, and
//! nobody else; nobody learns which circles they are in. Membership is read when a post is
//! read (`Grant::Circle`), so removing someone takes earlier circle posts away too.
use kring_core::model::{Account, Circle, Page};
use kring_core::time::now_micros;

use kring_activitypub::as2;
use kring_core::Grant;

use crate::federation::Recipients;
use crate::lists::validate_title;
use crate::{Actor, Error, Id, Kring, Result};

const MAX_CIRCLES: usize = 100;
const MAX_MEMBERS: usize = 1000;
/// How many of a circle's newest posts a removed member's server is told to drop.
const WITHDRAWN_POSTS: i64 = 200;

impl Kring {
    pub async fn circles(&self, actor: &Actor) -> Result<Vec<Circle>> {
        self.store.circles_of(actor.id()).await
    }

    pub async fn circle(&self, actor: &Actor, id: Id) -> Result<Circle> {
        self.own_circle(actor, id).await
    }

    /// The actor's circles `member` is in (for a profile's "circles" control).
    pub async fn circles_with(&self, actor: &Actor, member: Id) -> Result<Vec<Circle>> {
        self.store.circles_with_member(actor.id(), member).await
    }

    pub async fn create_circle(&self, actor: &Actor, title: &str) -> Result<Circle> {
        let title = validate_title(title)?;
        if self.store.circles_of(actor.id()).await?.len() >= MAX_CIRCLES {
            return Err(Error::validation(format!(
                "You cannot create more than {MAX_CIRCLES} circles"
            )));
        }
        let circle = Circle {
            id: Id::generate(),
            account_id: actor.id(),
            title,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_circle(&circle, now_micros()).await?;
        tx.commit().await?;
        Ok(circle)
    }

    pub async fn rename_circle(&self, actor: &Actor, id: Id, title: &str) -> Result<Circle> {
        let mut circle = self.own_circle(actor, id).await?;
        circle.title = validate_title(title)?;
        let mut tx = self.store.begin().await?;
        tx.rename_circle(id, &circle.title).await?;
        tx.commit().await?;
        Ok(circle)
    }

    /// Delete a circle. Its posts stay with their author (and anyone they mention); nobody
    /// else reads them any more, and remote members' servers are told as when a member is
    /// removed.
    pub async fn delete_circle(&self, actor: &Actor, id: Id) -> Result<()> {
        self.own_circle(actor, id).await?;
        let members: Vec<Id> = self
            .store
            .circle_members(id, &Page::newest(MAX_MEMBERS))
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect();
        let mut tx = self.store.begin().await?;
        tx.delete_circle(id).await?;
        tx.commit().await?;
        self.withdraw_granted_posts(Grant::Circle(id), &members)
            .await
    }

    pub async fn circle_members(&self, actor: &Actor, id: Id, page: &Page) -> Result<Vec<Account>> {
        let circle = self.own_circle(actor, id).await?;
        self.store.circle_members(circle.id, page).await
    }

    /// Add accounts (local or remote; following is not needed: a circle is whom one writes
    /// to). Nobody who blocks the owner, or whom the owner blocks, can be added.
    pub async fn add_to_circle(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let circle = self.own_circle(actor, id).await?;
        if accounts.is_empty() {
            return Err(Error::validation("account_ids can't be blank"));
        }
        for &a in accounts {
            self.account(a).await?;
            if a == actor.id() {
                return Err(Error::validation("You are always in your own circles"));
            }
            if self.store.blocked_either(actor.id(), a).await? {
                return Err(Error::validation("You cannot add this account to a circle"));
            }
        }
        let page = Page::newest(MAX_MEMBERS);
        if self.store.circle_members(circle.id, &page).await?.len() + accounts.len() > MAX_MEMBERS {
            return Err(Error::validation(format!(
                "A circle has at most {MAX_MEMBERS} members"
            )));
        }
        let mut tx = self.store.begin().await?;
        for &a in accounts {
            tx.add_circle_member(circle.id, a).await?;
        }
        tx.commit().await
    }

    /// Remove accounts: from now on they read none of the circle's posts, earlier ones
    /// included, on this server. The servers of removed remote members are told too.
    pub async fn remove_from_circle(&self, actor: &Actor, id: Id, accounts: &[Id]) -> Result<()> {
        let circle = self.own_circle(actor, id).await?;
        let mut tx = self.store.begin().await?;
        let mut removed = Vec::new();
        for &a in accounts {
            if tx.remove_circle_member(circle.id, a).await? {
                removed.push(a);
            }
        }
        tx.commit().await?;
        self.withdraw_granted_posts(Grant::Circle(circle.id), &removed)
            .await
    }

    /// Removed members' servers got the posts `grant` let them read (a circle's, or a
    /// group's members-only posts): for each of the newest ones written here, a server left
    /// with no reader gets its author's `Delete`, one with readers left an `Update` naming only
    /// them (another Kring then takes the post from everyone else there; other software may
    /// keep its copy: docs/api.md and docs/groups.md say so).
    pub(crate) async fn withdraw_granted_posts(&self, grant: Grant, removed: &[Id]) -> Result<()> {
        let gone: Vec<Account> = self
            .store
            .accounts_by_ids(removed)
            .await?
            .into_iter()
            .filter(|a| !a.is_local())
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        for post in self.store.statuses_granted(grant, WITHDRAWN_POSTS).await? {
            let author = self.account(post.account_id).await?;
            let audience = self.store.audience_of(post.id).await?.unwrap_or_default();
            if audience.public {
                // A public group's posts carry its grant too; those stay everyone's.
                continue;
            }
            let left = self
                .store
                .accounts_by_ids(&self.store.remote_accounts_in(&audience).await?)
                .await?;
            let mut tx = self.store.begin().await?;
            for g in &gone {
                let still: Vec<Id> = left
                    .iter()
                    .filter(|a| a.domain == g.domain)
                    .map(|a| a.id)
                    .collect();
                let (activity, to) = if still.is_empty() {
                    (
                        self.delete_activity(&post, &author),
                        Recipients::Accounts { ids: vec![g.id] },
                    )
                } else {
                    let note = self.load_note(&post, &author).await?;
                    let update = as2::activity(
                        "Update",
                        &format!("{}#updates/{}", post.uri, Id::generate()),
                        &author.uri,
                        note,
                    );
                    (update, Recipients::Narrow { ids: still })
                };
                self.emit(&mut tx, &author, activity, to).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// One of the actor's own circles; someone else's is "not found", never "forbidden", so
    /// circle ids reveal nothing.
    pub(crate) async fn own_circle(&self, actor: &Actor, id: Id) -> Result<Circle> {
        match self.store.circle(id).await? {
            Some(c) if c.account_id == actor.id() => Ok(c),
            _ => Err(Error::NotFound),
        }
    }
}
