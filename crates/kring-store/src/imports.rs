//! What importing a Mastodon export needs to read: a post by its web address, the ids on a
//! list, and a person's bookmarks (to replace them).
use kring_core::{Error, Id};

use crate::{Store, db_err};

impl Store {
    /// The id of a stored post by its web address (`url`, which may differ from its `uri`).
    pub async fn status_id_by_url(&self, url: &str) -> Result<Option<Id>, Error> {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM statuses WHERE url = $1 LIMIT 1")
            .bind(url)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        Ok(id.map(Id))
    }

    /// The accounts on a list.
    pub async fn list_account_ids(&self, list: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT account_id FROM list_accounts WHERE list_id = $1")
                .bind(list.0)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }

    /// The posts an account bookmarked.
    pub async fn bookmarked_ids(&self, account: Id) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT status_id FROM bookmarks WHERE account_id = $1")
                .bind(account.0)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }
}
