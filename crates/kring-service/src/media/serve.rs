//! Serving attachments: local files from the media storage, remote pictures through the media
//! proxy (fetched by this server with the guarded client, so readers never contact the other
//! server, and processed as uploads are, so no metadata reaches them).
use kring_core::media::MediaKind;

use super::storage;
use super::{process, sniff};
use crate::media_proxy::{self, ProxiedImage};
use crate::{Error, Id, Kring, Result};

/// A file ready to serve, with the type its stored bytes were sniffed as.
#[derive(Debug, Clone)]
pub struct ServedFile {
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

impl Kring {
    /// A stored file by key. Its type comes from the key's extension, which this server chose
    /// from the sniffed bytes when it stored them.
    pub async fn media_file(&self, key: &str) -> Result<ServedFile> {
        if !storage::valid_key(key) {
            return Err(Error::NotFound);
        }
        let ext = key.rsplit_once('.').map_or("", |(_, e)| e);
        let mime = sniff::ACCEPTED
            .iter()
            .find(|s| s.ext == ext)
            .map(|s| s.mime)
            .ok_or(Error::NotFound)?;
        let storage = self.media_storage().ok_or(Error::NotFound)?;
        let bytes = storage.get(key).await?.ok_or(Error::NotFound)?;
        Ok(ServedFile { mime, bytes })
    }

    /// A remote attachment's file (picture, video or audio), through the media proxy, asked
    /// for by its address (`token`: `super::proxy_token`): the cached copy, or fetched with
    /// the guarded client (within the upload limits), sniffed (never the remote's claimed
    /// type), processed like an upload and kept (`super::remote`). NotFound for a wrong token,
    /// for local ones, for other kinds, and where a domain policy refuses the server's media.
    pub async fn proxied_media(&self, id: Id, token: &str) -> Result<ProxiedImage> {
        let m = self.store.media(id).await?.ok_or(Error::NotFound)?;
        let expected = super::proxy_token(&m);
        // Compared in constant time: the token is what keeps a private post's picture private.
        if token.len() != expected.len()
            || token
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return Err(Error::NotFound);
        }
        let url = m.remote_url.as_deref().ok_or(Error::NotFound)?;
        let wanted = m.kind;
        if !matches!(
            wanted,
            MediaKind::Image | MediaKind::Video | MediaKind::Audio
        ) {
            return Err(Error::NotFound);
        }
        let author = self
            .store
            .account(m.account_id)
            .await?
            .ok_or(Error::NotFound)?;
        let Some(domain) = author.domain.as_deref() else {
            return Err(Error::NotFound);
        };
        let policy = self.cached_domain_policy(domain).await?;
        if policy.reject_media || policy.block.is_some() || author.suspended_at.is_some() {
            return Err(Error::NotFound);
        }
        // The type of a copy is sniffed again from its bytes; only what this kind may be
        // passes (a remote "video" that is a page is nothing).
        let is_kind: fn(&[u8]) -> Option<&'static str> = match wanted {
            MediaKind::Image => media_proxy::sniff_image,
            MediaKind::Video => |b| {
                sniff::sniff(b)
                    .filter(|s| s.kind == MediaKind::Video)
                    .map(|s| s.mime)
            },
            _ => |b| {
                sniff::sniff(b)
                    .filter(|s| s.kind == MediaKind::Audio)
                    .map(|s| s.mime)
            },
        };
        let key = super::remote::cache_key("attachment", url);
        if let Some(hit) = self.cached_remote(&key, is_kind).await {
            return Ok(hit);
        }
        let limits = self.config.media.limits();
        let (accept, limit) = match wanted {
            MediaKind::Image => (media_proxy::ACCEPT_IMAGES, limits.image_bytes),
            _ => ("video/*, audio/*", limits.video_bytes),
        };
        let fetched = self.fetch_remote(url, accept, limit).await?;
        if is_kind(&fetched).is_none() {
            self.fetch_failed(url, "not what the attachment says it is");
            return Err(Error::Unavailable("the file is not what it claims".into()));
        }
        // Processed like an upload here: another server's pictures lose their metadata too
        // before any reader gets them (an MP3 its tags).
        let processed = crate::cpu::run(move || process::process(&fetched, &limits))
            .await?
            .map_err(|_| Error::Unavailable("the file could not be read".into()))?;
        let file = ProxiedImage {
            mime: processed.original.mime,
            bytes: processed.original.bytes,
        };
        if is_kind(&file.bytes) != Some(file.mime) {
            return Err(Error::Unavailable("the file could not be read".into()));
        }
        self.keep_remote(&key, &file).await;
        Ok(file)
    }
}
