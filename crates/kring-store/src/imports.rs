//! What importing a Mastodon export needs to read: a post by its web address, the ids on a
//! list, a person's bookmarks (to replace them), and which archived posts were imported.
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

impl Store {
    /// The post here that an archived post (by its id in the archive) became, if imported.
    pub async fn imported_status(
        &self,
        account: Id,
        source_uri: &str,
    ) -> Result<Option<Id>, Error> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT status_id FROM imported_statuses WHERE account_id = $1 AND source_uri = $2",
        )
        .bind(account.0)
        .bind(source_uri)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(id.map(Id))
    }
}

impl crate::Tx {
    /// Record that an archived post became `status` here.
    pub async fn insert_imported_status(
        &mut self,
        account: Id,
        source_uri: &str,
        status: Id,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO imported_statuses (account_id, source_uri, status_id) VALUES ($1, $2, $3)",
        )
        .bind(account.0)
        .bind(source_uri)
        .bind(status.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}
