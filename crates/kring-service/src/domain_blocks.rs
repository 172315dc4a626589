//! Domains a person chose not to see (Mastodon's `/api/v1/domain_blocks`). Blocking a domain
//! writes one row; the audience rule (`kring_store::Shown`) reads it on every path, so posts,
//! boosts and notifications from the domain's accounts disappear at once and come back when
//! the block is lifted.
use kring_core::model::Page;

use crate::{Actor, Error, Id, Kring, Result};

impl Kring {
    /// Block a domain. As on Mastodon, its accounts stop following the actor too: each is
    /// removed from the followers and its server told (`Reject` of the follow), so nothing
    /// the actor posts for followers goes there any more.
    pub async fn block_domain(&self, actor: &Actor, domain: &str) -> Result<()> {
        let domain = self.blockable_domain(domain)?;
        let mut tx = self.store.begin().await?;
        tx.insert_domain_block(actor.id(), &domain).await?;
        tx.commit().await?;
        for follower in self.store.followers_on_domain(actor.id(), &domain).await? {
            self.remove_from_followers(actor, follower).await?;
        }
        Ok(())
    }

    pub async fn unblock_domain(&self, actor: &Actor, domain: &str) -> Result<()> {
        let domain = self.blockable_domain(domain)?;
        let mut tx = self.store.begin().await?;
        tx.delete_domain_block(actor.id(), &domain).await?;
        tx.commit().await
    }

    /// The actor's blocked domains, newest first, with each block's id for paging.
    pub async fn domain_blocks(&self, actor: &Actor, page: &Page) -> Result<Vec<(Id, String)>> {
        self.store.domain_blocks(actor.id(), page).await
    }

    /// A domain as accounts store it (lower case, with a port if any), from a bare domain or a
    /// URL; this server's own domain cannot be blocked (as Mastodon).
    fn blockable_domain(&self, input: &str) -> Result<String> {
        // A URL's authority is its host (and port); no userinfo is allowed through the
        // character check below.
        let input = input.trim();
        let rest = input
            .strip_prefix("https://")
            .or_else(|| input.strip_prefix("http://"))
            .unwrap_or(input);
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let domain = host.trim_end_matches('.').to_lowercase();
        let valid = !domain.is_empty()
            && domain.len() <= 253
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !valid {
            return Err(Error::validation("Domain is invalid"));
        }
        if domain.eq_ignore_ascii_case(&self.config.domain) {
            return Err(Error::validation("Domain cannot be your own domain"));
        }
        Ok(domain)
    }
}
