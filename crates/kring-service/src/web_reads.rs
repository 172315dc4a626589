//! Small service actions the web interface needs beyond those the Mastodon API already uses:
//! profile look-ups that reach other servers only for signed-in people, and rule removal.
use kring_core::model::Account;

use crate::{Actor, Error, Id, Kring, Result};

impl Kring {
    /// Find an account for its profile page by `user` or `user@domain`. Unknown remote handles
    /// are looked up on their server only for signed-in viewers (signed-out visitors cannot
    /// make this server fetch from elsewhere).
    pub async fn profile_lookup(&self, viewer: Option<&Actor>, acct: &str) -> Result<Account> {
        let acct = acct.trim().trim_start_matches('@');
        if viewer.is_some() {
            return self.lookup(acct).await;
        }
        let (user, domain) = match acct.split_once('@') {
            Some((u, d)) if d.eq_ignore_ascii_case(&self.config.domain) => (u, None),
            Some((u, d)) => (u, Some(d)),
            None => (acct, None),
        };
        match self.store.account_by_handle(user, domain).await? {
            Some(a) if a.suspended_at.is_none() => Ok(a),
            _ => Err(Error::NotFound),
        }
    }

    /// Remove a server rule (admins only; the CLI acts with no actor).
    pub async fn remove_rule(&self, actor: Option<&Actor>, id: Id) -> Result<()> {
        if actor.is_some_and(|a| !a.is_admin()) {
            return Err(Error::forbidden("This action is not allowed"));
        }
        if self.store.delete_rule(id).await? {
            Ok(())
        } else {
            Err(Error::NotFound)
        }
    }
}

impl Kring {
    /// The server's title as admins set it (or as configured): one read, for every page.
    pub async fn site_title(&self) -> Result<String> {
        Ok(self
            .store
            .setting("title")
            .await?
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.config.title.clone()))
    }
}
