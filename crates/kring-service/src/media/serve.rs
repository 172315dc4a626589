//! Serving attachments: local files from the media storage, remote pictures through the media
//! proxy (fetched by this server with the guarded client, so readers never contact the other
//! server, and re-encoded as uploads are, so no metadata reaches them).
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

    /// A remote attachment's picture, through the media proxy, asked for by its address
    /// (`token`: `super::proxy_token`). NotFound for a wrong token, for local ones, for
    /// other kinds than pictures, and where a domain policy refuses the server's media.
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
        if m.kind != MediaKind::Image {
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
        // The cleaned copy, kept beside the fetched one under its own name.
        let cleaned = self.proxy_file(&format!("cleaned:{url}"));
        if let Some(path) = &cleaned
            && let Some(bytes) = media_proxy::read_fresh(path).await
            && let Some(mime) = media_proxy::sniff_image(&bytes)
        {
            return Ok(ProxiedImage { mime, bytes });
        }
        let fetched = self.proxied(url).await?;
        // Re-encoded like an upload here: another server's pictures lose their metadata too
        // before any reader gets them.
        let limits = self.config.media.limits();
        let processed = crate::cpu::run(move || process::process(&fetched.bytes, &limits))
            .await?
            .map_err(|_| Error::Unavailable("the image could not be read".into()))?;
        let image = ProxiedImage {
            mime: processed.original.mime,
            bytes: processed.original.bytes,
        };
        if let Some(path) = cleaned {
            let bytes = image.bytes.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = media_proxy::write_atomically(&path, &bytes) {
                    tracing::warn!(error = %e, "media proxy: cannot cache a cleaned copy");
                }
            })
            .await;
        }
        Ok(image)
    }
}
