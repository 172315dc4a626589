//! Small service actions the web interface needs beyond those the Mastodon API already uses:
//! rule removal.
use crate::{Actor, Error, Id, Kring, Result};

impl Kring {
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
