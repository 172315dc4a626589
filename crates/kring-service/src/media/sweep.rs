//! Uploads never attached, and attachments of deleted posts, are removed after a day, and
//! cached remote media pruned by age and budget (`super::remote`), by an hourly `media.sweep`
//! job.
use crate::{Kring, Result};

pub const MEDIA_SWEEP: &str = "media.sweep";
/// How long an upload waits for its post.
const KEEP_UNATTACHED_MICROS: i64 = 24 * 3600 * 1_000_000;
const BATCH: i64 = 200;

impl Kring {
    /// The hourly job: unattached uploads, then the remote media cache.
    pub async fn media_sweep(&self) -> Result<()> {
        self.sweep_unattached_media().await?;
        self.prune_remote_media_by_config().await?;
        Ok(())
    }

    /// Remove attachments without a post for a day, rows and files. Returns how many.
    pub async fn sweep_unattached_media(&self) -> Result<usize> {
        self.sweep_unattached_media_before(kring_core::time::now_micros() - KEEP_UNATTACHED_MICROS)
            .await
    }

    /// Remove attachments without a post since before `before` (microseconds).
    pub async fn sweep_unattached_media_before(&self, before: i64) -> Result<usize> {
        let mut total = 0;
        loop {
            let ids = self.store.unattached_media_before(before, BATCH).await?;
            if ids.is_empty() {
                return Ok(total);
            }
            // Only those still unattached: one attached meanwhile stays.
            let removed = self.store.delete_media(&ids, true).await?;
            self.remove_files(&removed).await;
            total += removed.len();
            if (ids.len() as i64) < BATCH {
                return Ok(total);
            }
        }
    }
}
