//! Avatars and headers uploaded with `update_credentials` (a person's) or a group's update:
//! cut to size and re-encoded like every upload (no metadata survives), kept in the media
//! storage, named on the account by their URL on this server. The previous picture's file
//! goes once the new one is set.
use super::process::{self, ProfileCut};
use super::storage;
use kring_core::model::Account;

use crate::{Actor, Error, Kring, Result};

/// The largest avatar or header accepted.
pub const PROFILE_IMAGE_BYTES: usize = 8 * 1024 * 1024;

impl Kring {
    /// Set the actor's avatar and/or header from uploaded bytes. Both are checked before
    /// either is stored, so a refused one changes nothing. The caller announces the new
    /// profile (`update_credentials` does).
    pub async fn set_profile_images(
        &self,
        actor: &Actor,
        avatar: Option<Vec<u8>>,
        header: Option<Vec<u8>>,
    ) -> Result<()> {
        self.set_account_images(&actor.account, avatar, header)
            .await
    }

    /// Set a local account's pictures (a person's, or a group's once its admin is checked).
    pub(crate) async fn set_account_images(
        &self,
        account: &Account,
        avatar: Option<Vec<u8>>,
        header: Option<Vec<u8>>,
    ) -> Result<()> {
        if avatar.is_none() && header.is_none() {
            return Ok(());
        }
        let storage = self
            .media_storage()
            .ok_or_else(|| Error::validation("Media uploads are not enabled on this server"))?;
        let mut limits = self.config.media.limits();
        // Mastodon's limit for avatars and headers.
        limits.image_bytes = limits.image_bytes.min(PROFILE_IMAGE_BYTES);
        let mut ready = Vec::new();
        for (name, bytes, cut) in [
            ("avatar", avatar, ProfileCut::Avatar),
            ("header", header, ProfileCut::Header),
        ] {
            let Some(bytes) = bytes else { continue };
            let rendition = crate::cpu::run(move || process::profile_image(&bytes, &limits, cut))
                .await?
                .map_err(|e| match e {
                    // Which picture it was, as the sign-up's field errors say.
                    Error::Validation(m) => Error::Validation(format!("{name}: {m}")),
                    e => e,
                })?;
            ready.push((cut, rendition));
        }
        let base = self.config.base_url();
        for (cut, r) in ready {
            let key = storage::new_key(r.ext);
            storage.put(&key, r.bytes).await?;
            let url = format!("{base}/media/{key}");
            let mut tx = self.store.begin().await?;
            let written = async {
                tx.set_profile_image(account.id, cut == ProfileCut::Header, Some(&url))
                    .await?;
                tx.commit().await
            }
            .await;
            if let Err(e) = written {
                let _ = storage.delete(&key).await;
                return Err(e);
            }
            // The picture it replaces, if it was one of ours.
            self.remove_own_picture(account, cut == ProfileCut::Header)
                .await;
        }
        Ok(())
    }

    /// Remove the actor's avatar or header (Mastodon's `DELETE /api/v1/profile/avatar` and
    /// `…/header`): the account shows the default picture again, the file goes, and
    /// followers' servers get the updated profile.
    pub async fn remove_profile_image(&self, actor: &Actor, header: bool) -> Result<Account> {
        let mut tx = self.store.begin().await?;
        tx.set_profile_image(actor.id(), header, None).await?;
        tx.commit().await?;
        self.remove_own_picture(&actor.account, header).await;
        self.announce_profile(actor.id()).await
    }

    /// Delete the file of `account`'s avatar or header as it was, if it is one of ours.
    async fn remove_own_picture(&self, account: &Account, header: bool) {
        let Some(storage) = self.media_storage() else {
            return;
        };
        let old = if header {
            account.header_url.as_deref()
        } else {
            account.avatar_url.as_deref()
        };
        let base = format!("{}/media/", self.config.base_url());
        if let Some(old_key) = old.and_then(|u| u.strip_prefix(&base))
            && storage::valid_key(old_key)
        {
            let _ = storage.delete(old_key).await;
        }
    }
}
