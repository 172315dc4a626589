//! The cache of remote media: copies of what this server fetched from other servers for its
//! readers (avatars and headers as fetched, attachments re-encoded, video and audio) are kept
//! in the media storage — the folder, or the S3 bucket that several processes on one
//! PostgreSQL database share — and recorded in the database (`remote_media_cache`: key, size,
//! type, when fetched and last used), so one process's copy serves every process.
//!
//! Copies are fetched again after a week; unused ones go after `remote_cache_days`, and the
//! least recently used beyond `remote_cache_budget` bytes, with the hourly `media.sweep` job or
//! `kring media prune`. With `remote_cache = false` nothing is kept: each reader's request is
//! fetched anew and passed through.
use kring_core::time::now_micros;
use kring_store::CachedRemoteMedia;
use sha2::{Digest, Sha256};

use super::storage;
use crate::media_proxy::ProxiedImage;
use crate::{Kring, Result};

/// A copy older than this is fetched again (the remote file may have changed).
const FRESH_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;
/// A copy's last use is written at most this often (a page shows an avatar many times).
const TOUCH_EVERY_MICROS: i64 = 3600 * 1_000_000;
const BATCH: i64 = 200;
const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;

/// The key a fetched thing is cached under: a hash of what it is (`kind`: how it was made
/// from the remote file) and the remote URL, so the database never holds the URL itself.
pub fn cache_key(kind: &str, url: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"kring remote media\0");
    h.update(kind.as_bytes());
    h.update(b"\0");
    h.update(url.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A storage key's extension for a copy of type `mime` (letters and digits, at most 5).
fn ext_for(mime: &str) -> &'static str {
    super::sniff::ACCEPTED
        .iter()
        .find(|s| s.mime == mime)
        .map_or("bin", |s| s.ext)
}

impl Kring {
    /// A fresh cached copy, its type sniffed again from the stored bytes (`sniff`); None when
    /// there is none, it is stale, the cache is off, or its file is gone.
    pub(crate) async fn cached_remote(
        &self,
        key: &str,
        sniff: fn(&[u8]) -> Option<&'static str>,
    ) -> Option<ProxiedImage> {
        if !self.config.media.remote_cache {
            return None;
        }
        let storage = self.media_storage()?;
        let row = match self.store.cached_remote_media(key).await {
            Ok(r) => r?,
            Err(e) => {
                tracing::warn!(error = %e, "remote media cache: cannot read");
                return None;
            }
        };
        let now = now_micros();
        if now - row.cached_at > FRESH_MICROS {
            return None;
        }
        let bytes = match storage.get(&row.file_key).await {
            Ok(Some(b)) => b,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "remote media cache: cannot read a copy");
                return None;
            }
        };
        let mime = sniff(&bytes)?;
        if now - row.last_used_at > TOUCH_EVERY_MICROS
            && let Err(e) = self.store.touch_remote_media(key, now).await
        {
            tracing::warn!(error = %e, "remote media cache: cannot note a use");
        }
        Some(ProxiedImage { mime, bytes })
    }

    /// Keep a copy of what was fetched (when the cache is on). Failures are logged, not
    /// returned: the reader gets the file all the same.
    pub(crate) async fn keep_remote(&self, key: &str, file: &ProxiedImage) {
        if !self.config.media.remote_cache {
            return;
        }
        let Some(storage) = self.media_storage() else {
            return;
        };
        let file_key = storage::new_key(ext_for(file.mime));
        if let Err(e) = storage.put(&file_key, file.bytes.clone()).await {
            tracing::warn!(error = %e, "remote media cache: cannot store a copy");
            return;
        }
        let now = now_micros();
        let row = CachedRemoteMedia {
            cache_key: key.to_string(),
            file_key: file_key.clone(),
            content_type: file.mime.to_string(),
            size: file.bytes.len() as i64,
            cached_at: now,
            last_used_at: now,
        };
        match self.store.record_remote_media(&row).await {
            Ok(Some(replaced)) => {
                let _ = storage.delete(&replaced).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "remote media cache: cannot record a copy");
                let _ = storage.delete(&file_key).await;
            }
        }
    }

    /// Remove cached copies of remote media not used for `older_than_days` days, then the
    /// least recently used until all together take at most `budget` bytes (rows and files).
    /// Returns what was removed, least recently used first.
    pub async fn prune_remote_media(
        &self,
        older_than_days: Option<u32>,
        budget: Option<u64>,
    ) -> Result<Vec<CachedRemoteMedia>> {
        let now = now_micros();
        let before = older_than_days.map(|d| now - i64::from(d) * DAY_MICROS);
        let budget = budget.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
        let (_, mut total) = self.store.remote_media_totals().await?;
        let storage = self.media_storage();
        let mut removed = Vec::new();
        loop {
            let batch = self.store.remote_media_by_last_use(BATCH).await?;
            let full = batch.len() as i64 == BATCH;
            let mut progressed = false;
            for c in batch {
                let old = before.is_some_and(|b| c.last_used_at < b);
                let over = budget.is_some_and(|b| total > b);
                if !old && !over {
                    // Least recently used first: the rest are newer, and within the budget.
                    return Ok(removed);
                }
                // The row first: no reader finds a row whose file is gone (a file whose row
                // is gone is only an orphan, should this stop half-way).
                if self
                    .store
                    .forget_remote_media(&c.cache_key, &c.file_key)
                    .await?
                {
                    if let Some(s) = &storage
                        && let Err(e) = s.delete(&c.file_key).await
                    {
                        tracing::warn!(error = %e, "remote media prune: cannot remove a file");
                    }
                    total -= c.size;
                    progressed = true;
                    removed.push(c);
                }
            }
            if !full || !progressed {
                return Ok(removed);
            }
        }
    }

    /// The hourly prune, by the configuration (`remote_cache_days`, `remote_cache_budget`;
    /// everything when the cache is off). Returns how many copies went.
    pub async fn prune_remote_media_by_config(&self) -> Result<usize> {
        let m = &self.config.media;
        let removed = if m.remote_cache {
            self.prune_remote_media(Some(m.remote_cache_days), Some(m.remote_cache_budget))
                .await?
        } else {
            self.prune_remote_media(None, Some(0)).await?
        };
        Ok(removed.len())
    }

    /// How many copies of remote media are cached and their bytes together.
    pub async fn remote_media_totals(&self) -> Result<(i64, i64)> {
        self.store.remote_media_totals().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_the_url_and_tell_kinds_apart() {
        let a = cache_key("image", "https://example.com/a.png");
        assert_eq!(a.len(), 64);
        assert!(!a.contains("example"));
        assert_ne!(a, cache_key("attachment", "https://example.com/a.png"));
        assert_eq!(a, cache_key("image", "https://example.com/a.png"));
        assert_eq!(ext_for("image/jpeg"), "jpg");
        assert_eq!(ext_for("image/avif"), "avif");
        assert_eq!(ext_for("application/x-unknown"), "bin");
        assert!(storage::valid_key(&storage::new_key(ext_for(
            "application/x-unknown"
        ))));
    }
}
