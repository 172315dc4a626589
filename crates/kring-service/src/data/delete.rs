//! Deleting an account for good: by the person (with their password), or by an admin. Other
//! servers are told with a `Delete` of the actor (they remove its posts, as this server does
//! when told), then every row of the account goes and only a tombstone of its handle stays, so
//! the handle is never given to someone else; its media files go too.
use kring_core::Error;
use kring_core::model::Account;

use crate::federation::outbox::Recipients;
use crate::{Actor, Id, Kring, Result};

impl Kring {
    /// The person deletes their own account; their password confirms it.
    pub async fn delete_own_account(&self, actor: &Actor, password: &str) -> Result<()> {
        if !crate::auth::verify_password(password, &actor.user.password_hash).await? {
            return Err(Error::validation("The password is not correct"));
        }
        self.delete_local_account(&actor.account).await
    }

    /// An admin deletes an account (`actor` None: the server's console, `kring admin
    /// delete-user`). A local account is deleted as its owner would; a remote one loses
    /// everything this server keeps of it.
    pub async fn admin_delete_account(&self, actor: Option<&Actor>, id: Id) -> Result<()> {
        if let Some(a) = actor {
            if !a.is_admin() {
                return Err(Error::forbidden("This action is not allowed"));
            }
            if a.id() == id {
                return Err(Error::forbidden(
                    "Delete your own account from your settings",
                ));
            }
        }
        let account = self.store.account(id).await?.ok_or(Error::NotFound)?;
        if account.is_local() {
            self.delete_local_account(&account).await
        } else {
            self.purge_remote_account(id).await
        }
    }

    /// A local account by its username (for the console), deleted ones not included.
    pub async fn local_account_named(&self, username: &str) -> Result<Option<Account>> {
        let Some(a) = self.store.account_by_handle(username, None).await? else {
            return Ok(None);
        };
        if self.store.account_deleted(a.id).await? {
            return Ok(None);
        }
        Ok(Some(a))
    }

    /// A remote account's server said it is gone (`Delete` of the actor): everything of it
    /// here goes, its posts too.
    pub(crate) async fn purge_remote_account(&self, id: Id) -> Result<()> {
        let keys = self.store.media_keys_of(id).await?;
        let mut tx = self.store.begin().await?;
        tx.purge_account(id).await?;
        tx.commit().await?;
        self.remove_media_files(&keys).await;
        self.sessions_changed([Some(id)]);
        Ok(())
    }

    async fn delete_local_account(&self, account: &Account) -> Result<()> {
        if account.group || !account.is_local() {
            return Err(Error::NotFound);
        }
        if self.store.account_deleted(account.id).await? {
            return Err(Error::NotFound);
        }
        let actor = self.actor(account.id).await?;
        // Groups it owns end with it (their members are told, as when an owner deletes one);
        // chats it is in hear that it left.
        let (chats, groups) = self.store.chats_and_owned_groups(account.id).await?;
        for g in groups {
            self.delete_group(&actor, g).await?;
        }
        for c in chats {
            self.leave_chat(&actor, c).await?;
        }
        let mut keys = self.store.media_keys_of(account.id).await?;
        keys.extend(
            [&account.avatar_url, &account.header_url]
                .into_iter()
                .flatten()
                .filter_map(|u| self.own_media_key(u)),
        );
        // Its archives are files beside the database.
        self.remove_exports_of(account.id).await?;
        let contacts = self.store.remote_contacts(account.id).await?;
        let delete = kring_activitypub::as2::activity(
            "Delete",
            &format!("{}#delete", account.uri),
            &account.uri,
            serde_json::json!(account.uri),
        );
        let mut tx = self.store.begin().await?;
        // Queued first: the worker signs with the key the tombstone keeps.
        self.emit(
            &mut tx,
            account,
            delete,
            Recipients::Accounts { ids: contacts },
        )
        .await?;
        tx.purge_account(account.id).await?;
        tx.commit().await?;
        self.remove_media_files(&keys).await;
        // Its sessions and tokens are gone: every process forgets them now.
        self.sessions_changed([Some(account.id)]);
        tracing::info!(account = %account.id, "account deleted");
        Ok(())
    }

    /// The key of a file in this server's media storage named by its URL here.
    fn own_media_key(&self, url: &str) -> Option<String> {
        let key = url.strip_prefix(&format!("{}/media/", self.config.base_url()))?;
        crate::media::storage::valid_key(key).then(|| key.to_string())
    }

    async fn remove_media_files(&self, keys: &[String]) {
        let Some(storage) = self.media_storage() else {
            return;
        };
        for k in keys {
            if let Err(e) = storage.delete(k).await {
                tracing::warn!(error = %e, "a deleted account's file could not be removed");
            }
        }
    }
}
