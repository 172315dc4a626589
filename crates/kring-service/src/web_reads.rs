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
        let set = self.store.setting("title").await?;
        Ok(self.title_or_configured(set))
    }

    /// The admins' title setting when not empty, else the configured title.
    fn title_or_configured(&self, set: Option<String>) -> String {
        set.filter(|t| !t.is_empty())
            .unwrap_or_else(|| self.config.title.clone())
    }
}

/// What every web page shows around its content: the site's title and, for someone signed
/// in, the counts beside the menu.
#[derive(Debug, Clone)]
pub struct PageFrame {
    pub title: String,
    pub badges: Option<kring_store::Badges>,
}

impl Kring {
    /// The [`PageFrame`] for `viewer`, counts up to `cap`: one read (a page's menu would
    /// otherwise cost a statement per count). Reports are counted for staff only, as
    /// [`open_reports`](Self::open_reports) does.
    pub async fn page_frame(&self, viewer: Option<&Actor>, cap: i64) -> Result<PageFrame> {
        let Some(actor) = viewer else {
            return Ok(PageFrame {
                title: self.site_title().await?,
                badges: None,
            });
        };
        let mut badges = self.store.badges(actor.id(), actor.is_staff(), cap).await?;
        let title = self.title_or_configured(badges.title.take());
        Ok(PageFrame {
            title,
            badges: Some(badges),
        })
    }
}
