//! What a server says about itself: title, description, rules, counts, registration mode.
use kring_core::model::{Account, Registrations};
use kring_store::Rule;

use crate::{Actor, Error, Kring, Result};

#[derive(Debug, Clone)]
pub struct InstanceInfo {
    pub domain: String,
    pub title: String,
    pub description: String,
    pub contact_email: String,
    pub contact_account: Option<Account>,
    pub registrations: Registrations,
    pub user_count: i64,
    pub status_count: i64,
    pub domain_count: i64,
    pub rules: Vec<Rule>,
    pub max_status_chars: usize,
}

impl Kring {
    /// What the server says about itself (clients ask at every start: every part is an
    /// indexed look-up or a count over accounts, never over statuses).
    pub async fn instance(&self) -> Result<InstanceInfo> {
        let title = self
            .store
            .setting("title")
            .await?
            .unwrap_or_else(|| self.config.title.clone());
        let description = self
            .store
            .setting("description")
            .await?
            .unwrap_or_else(|| self.config.description.clone());
        let info = InstanceInfo {
            domain: self.config.domain.clone(),
            title,
            description,
            contact_email: self.config.contact_email.clone(),
            contact_account: self.store.first_admin().await?,
            registrations: self.config.registrations,
            user_count: self.store.local_user_count().await?,
            status_count: self.store.local_status_count().await?,
            domain_count: self.store.known_domain_count().await?,
            rules: self.store.rules().await?,
            max_status_chars: self.config.max_status_chars,
        };
        Ok(info)
    }

    pub async fn set_instance_text(
        &self,
        actor: Option<&Actor>,
        title: Option<&str>,
        description: Option<&str>,
    ) -> Result<()> {
        if actor.is_some_and(|a| !a.is_admin()) {
            return Err(Error::forbidden("This action is not allowed"));
        }
        if let Some(t) = title {
            self.store.set_setting("title", t.trim()).await?;
        }
        if let Some(d) = description {
            self.store.set_setting("description", d.trim()).await?;
        }
        Ok(())
    }

    pub async fn add_rule(&self, actor: Option<&Actor>, text: &str) -> Result<()> {
        if actor.is_some_and(|a| !a.is_admin()) {
            return Err(Error::forbidden("This action is not allowed"));
        }
        if text.trim().is_empty() {
            return Err(Error::validation("Text can't be blank"));
        }
        self.store.add_rule(text.trim(), "").await?;
        Ok(())
    }
}
