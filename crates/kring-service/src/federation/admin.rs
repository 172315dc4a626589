//! Admin policy for other servers: silence (no public timelines), suspend (no federation at
//! all; existing follows are severed), reject media, and allow-list mode.
use kring_store::{DomainBlock, DomainPolicy};

use crate::{Actor, Error, Kring, Result};

impl Kring {
    fn require_admin(actor: Option<&Actor>) -> Result<()> {
        match actor {
            None => Ok(()),
            Some(a) if a.is_admin() => Ok(()),
            Some(_) => Err(Error::forbidden("This action is not allowed")),
        }
    }

    pub async fn admin_set_domain_policy(
        &self,
        actor: Option<&Actor>,
        domain: &str,
        policy: DomainPolicy,
    ) -> Result<()> {
        Self::require_admin(actor)?;
        let domain = domain
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_ascii_lowercase();
        if domain.is_empty() || domain.contains(['/', ' ', '@']) {
            return Err(Error::validation("Domain is invalid"));
        }
        if domain == self.config.domain {
            return Err(Error::validation("You cannot block your own domain"));
        }
        self.store.set_domain_policy(&domain, &policy).await?;
        self.forget_domain(&domain);
        if policy.block == Some(DomainBlock::Suspend) {
            // Suspension severs every follow with the domain and hides its accounts.
            for a in self.store.accounts_of_domain(&domain).await? {
                let mut tx = self.store.begin().await?;
                tx.suspend_for_domain(a.id).await?;
                for local in self.store.local_follower_ids(a.id).await? {
                    if tx.delete_follow(local, a.id).await? {
                        tx.bump_counts(local, 0, -1, 0).await?;
                    }
                    tx.remove_author_from_feed(local, a.id).await?;
                }
                tx.commit().await?;
            }
        } else {
            self.store.lift_domain_suspension(&domain).await?;
        }
        tracing::info!(%domain, ?policy, "domain policy changed");
        Ok(())
    }

    pub async fn admin_domain_policies(
        &self,
        actor: Option<&Actor>,
    ) -> Result<Vec<(String, DomainPolicy)>> {
        Self::require_admin(actor)?;
        self.store.blocked_domains().await
    }
}
