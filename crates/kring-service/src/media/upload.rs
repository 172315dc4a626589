//! Uploading, describing and removing one's own attachments (before they are posted).
use std::sync::LazyLock;
use std::time::Duration;

use kring_core::media::{Focus, MediaAttachment};
use kring_core::time::now_micros;
use tokio::sync::Semaphore;

use super::storage;
use crate::{Actor, Error, Id, Kring, Result};

/// Bytes of uploads held in memory at once in this process, counted before their bodies
/// are read (so waiting uploads hold a connection, not their bytes). Counting bytes rather
/// than uploads bounds memory whatever the files: eight 8 MB photos wait their turn after
/// the fifth, where a count of eight let them hold 67 MB together (BENCHMARKS.md, media);
/// an upload larger than this waits for all the others and goes alone. Decoding is bounded
/// apart, one picture per core (`crate::cpu`).
pub const BYTES_IN_FLIGHT: u64 = 40 << 20;
/// The budget is counted in KiB: a semaphore's permits are few enough then for any file.
static IN_FLIGHT: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new((BYTES_IN_FLIGHT >> 10) as usize));
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Room among the uploads in flight, taken before the body is read and held until the
/// upload is stored (for a form of several files, until the last is).
pub struct UploadSlot {
    _permit: tokio::sync::SemaphorePermit<'static>,
}

impl UploadSlot {
    /// Wait for room for `bytes` (503 after a while).
    pub async fn reserve(bytes: u64) -> Result<UploadSlot> {
        let kib = bytes.div_ceil(1024).clamp(1, BYTES_IN_FLIGHT >> 10) as u32;
        let permit = tokio::time::timeout(MAX_WAIT, IN_FLIGHT.acquire_many(kib))
            .await
            .map_err(|_| Error::Unavailable("The server is busy; try again in a moment.".into()))?
            .map_err(Error::internal)?;
        Ok(UploadSlot { _permit: permit })
    }
}

/// A file as a client sent it (its name and claimed type are not kept: the bytes decide).
#[derive(Debug, Default)]
pub struct Upload {
    pub bytes: Vec<u8>,
    pub description: Option<String>,
    pub focus: Option<String>,
}

impl Kring {
    /// Wait for room among the uploads in flight for a body of `declared` bytes (its
    /// Content-Length; None when unknown: the largest upload allowed).
    pub async fn upload_slot(&self, declared: Option<u64>) -> Result<UploadSlot> {
        let largest = self.config.media.max_upload() as u64;
        UploadSlot::reserve(declared.unwrap_or(largest).min(largest)).await
    }

    /// Check, clean and store an upload; it waits for a post (`media_ids`) for a day. A file
    /// that is refused leaves nothing behind: neither a row nor a file.
    pub async fn upload_media(
        &self,
        actor: &Actor,
        _slot: &UploadSlot,
        upload: Upload,
    ) -> Result<MediaAttachment> {
        let storage = self
            .media_storage()
            .ok_or_else(|| Error::validation("Media uploads are not enabled on this server"))?;
        let description = self.checked_description(upload.description.as_deref())?;
        let focus = checked_focus(upload.focus.as_deref())?;
        if upload.bytes.is_empty() {
            return Err(Error::validation("File can't be blank"));
        }
        let limits = self.config.media.limits();
        let bytes = upload.bytes;
        // Video and audio go through ffmpeg (subprocesses, awaited); pictures through the
        // CPU limiter. What the bytes are decides, never what the client said.
        let processed = match super::sniff::sniff(&bytes) {
            Some(super::sniff::AVIF) => {
                super::av::process_avif(bytes, &limits, &self.config.media.av_tools()).await?
            }
            Some(s) if s.kind != kring_core::media::MediaKind::Image => {
                super::av::process_av(bytes, s, &limits, &self.config.media.av_tools()).await?
            }
            _ => crate::cpu::run(move || super::process::process(&bytes, &limits)).await??,
        };
        let file_key = storage::new_key(processed.original.ext);
        let thumbnail_key = processed
            .thumbnail
            .as_ref()
            .map(|t| storage::thumbnail_key(&file_key, t.ext));
        let m = MediaAttachment {
            id: Id::generate(),
            account_id: actor.id(),
            status_id: None,
            kind: processed.kind,
            mime: processed.original.mime.to_string(),
            file_key: Some(file_key.clone()),
            thumbnail_key: thumbnail_key.clone(),
            file_size: processed.original.bytes.len() as i64,
            meta: processed.meta,
            description,
            focus,
            blurhash: processed.blurhash,
            remote_url: None,
            created_at: now_micros(),
        };
        let stored = async {
            storage.put(&file_key, processed.original.bytes).await?;
            if let (Some(k), Some(t)) = (&thumbnail_key, processed.thumbnail) {
                storage.put(k, t.bytes).await?;
            }
            self.store.insert_media(&m).await
        }
        .await;
        if let Err(e) = stored {
            // Nothing half-stored: the files go again when the row could not be written.
            let _ = storage.delete(&file_key).await;
            if let Some(k) = &thumbnail_key {
                let _ = storage.delete(k).await;
            }
            return Err(e);
        }
        Ok(m)
    }

    /// One's own attachment.
    pub async fn own_media(&self, actor: &Actor, id: Id) -> Result<MediaAttachment> {
        self.store
            .media(id)
            .await?
            .filter(|m| m.account_id == actor.id())
            .ok_or(Error::NotFound)
    }

    /// Change alt text and focal point; what is not given stays.
    pub async fn update_media(
        &self,
        actor: &Actor,
        id: Id,
        description: Option<String>,
        focus: Option<String>,
    ) -> Result<MediaAttachment> {
        let mut m = self.own_media(actor, id).await?;
        if let Some(d) = description {
            m.description = self.checked_description(Some(&d))?;
        }
        if let Some(f) = focus {
            m.focus = checked_focus(Some(&f))?;
        }
        self.store.update_media(id, &m.description, m.focus).await?;
        Ok(m)
    }

    /// Remove an upload no post uses (Mastodon refuses to remove an attached one).
    pub async fn delete_media(&self, actor: &Actor, id: Id) -> Result<()> {
        let m = self.own_media(actor, id).await?;
        if m.status_id.is_some() {
            return Err(Error::validation(
                "Media attachment is currently used by a status",
            ));
        }
        let removed = self.store.delete_media(&[id], true).await?;
        self.remove_files(&removed).await;
        Ok(())
    }

    /// Remove the files of removed rows (failures are logged: the sweep cannot find them
    /// again, but a left-over file is no leak, its key being unguessable).
    pub(crate) async fn remove_files(&self, removed: &[MediaAttachment]) {
        let Some(storage) = self.media_storage() else {
            return;
        };
        // Collected first: no iterator borrows across the awaits (the future stays Send).
        let mut keys: Vec<String> = Vec::new();
        for m in removed {
            keys.extend(m.file_key.clone());
            keys.extend(m.thumbnail_key.clone());
        }
        for key in &keys {
            if let Err(e) = storage.delete(key).await {
                tracing::warn!(error = %e, "could not remove a media file");
            }
        }
    }

    fn checked_description(&self, d: Option<&str>) -> Result<String> {
        let d = d.unwrap_or("").trim();
        if d.chars().count() > self.config.media.description_limit {
            return Err(Error::validation(format!(
                "Description is too long (maximum is {} characters)",
                self.config.media.description_limit
            )));
        }
        Ok(d.to_string())
    }
}

fn checked_focus(f: Option<&str>) -> Result<Option<Focus>> {
    match f.map(str::trim).filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(f) => Focus::parse(f)
            .map(Some)
            .ok_or_else(|| Error::validation("Focus must be two numbers from -1 to 1: x,y")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Room is counted in bytes: a file larger than the budget takes all of it (and still
    /// goes), and others wait until it is stored.
    #[tokio::test]
    async fn uploads_in_flight_are_bounded_by_their_bytes() {
        let big = UploadSlot::reserve(BYTES_IN_FLIGHT * 3).await.unwrap();
        let waiting = tokio::time::timeout(Duration::from_millis(100), UploadSlot::reserve(1));
        assert!(
            waiting.await.is_err(),
            "a small upload waits for the large one"
        );
        drop(big);
        let halves = (
            UploadSlot::reserve(BYTES_IN_FLIGHT / 2).await.unwrap(),
            UploadSlot::reserve(BYTES_IN_FLIGHT / 2).await.unwrap(),
        );
        let third = tokio::time::timeout(Duration::from_millis(100), UploadSlot::reserve(1024));
        assert!(third.await.is_err(), "two halves fill the room");
        drop(halves);
    }
}
