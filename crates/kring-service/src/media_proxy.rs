//! The media proxy: remote images (for now the avatars and headers of remote accounts) are
//! fetched by this server and served from its own origin, so a page never makes a reader's
//! browser contact another server (no IP addresses or reading habits leak to it), and the
//! strict Content-Security-Policy can stay `img-src 'self'`.
//!
//! Only URLs this server already learned from federation are fetched, through the guarded
//! client (no private addresses, bounded size and time); only real raster images pass (the
//! bytes are sniffed: SVG could carry script). Copies are kept in the media storage
//! (`crate::media::remote`), failures are remembered for a few minutes so a dead server is not
//! asked on every page view.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kring_core::model::Account;

use crate::{Error, Id, Kring, Result};

/// Largest image fetched (Mastodon's own upload limit for avatars and headers is 8 MB).
pub(crate) const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// How long a failed fetch is not retried.
const FAILURE_PAUSE: Duration = Duration::from_secs(300);
pub(crate) const ACCEPT_IMAGES: &str = "image/avif, image/webp, image/png, image/jpeg, image/gif";

/// Which image of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileImage {
    Avatar,
    Header,
}

impl ProfileImage {
    pub fn parse(s: &str) -> Option<ProfileImage> {
        match s {
            "avatar" => Some(ProfileImage::Avatar),
            "header" => Some(ProfileImage::Header),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ProfileImage::Avatar => "avatar",
            ProfileImage::Header => "header",
        }
    }
}

/// An image ready to serve.
#[derive(Debug, Clone)]
pub struct ProxiedImage {
    /// The type the bytes are (sniffed, never what the remote server claimed).
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

/// The proxy's memory: recent failures.
#[derive(Default)]
pub struct ProxyState {
    failures: Mutex<HashMap<String, Instant>>,
}

/// The image type of `bytes` from their first bytes; None for anything but the raster
/// formats browsers show in `<img>`.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() >= 12
        && &bytes[4..8] == b"ftyp"
        && matches!(&bytes[8..12], b"avif" | b"avis")
    {
        Some("image/avif")
    } else {
        None
    }
}

/// The address on this server where an account's image is shown (a path, or for local
/// files their own URL), or None when it has none. Remote images go through the proxy.
pub fn profile_image_path(a: &Account, which: ProfileImage) -> Option<String> {
    let url = match which {
        ProfileImage::Avatar => a.avatar_url.as_deref(),
        ProfileImage::Header => a.header_url.as_deref(),
    }
    .filter(|u| !u.is_empty())?;
    if a.domain.is_some() {
        Some(format!("/proxy/accounts/{}/{}", a.id, which.as_str()))
    } else {
        Some(url.to_string())
    }
}

impl Kring {
    /// A remote account's image, from the cache or fetched now. NotFound when the account
    /// has none, is local, or its server's media are refused by a domain policy; Unavailable
    /// when the remote server could not give a valid image.
    pub async fn proxied_profile_image(
        &self,
        account: Id,
        which: ProfileImage,
    ) -> Result<ProxiedImage> {
        let a = self.store.account(account).await?.ok_or(Error::NotFound)?;
        let Some(domain) = a.domain.as_deref() else {
            return Err(Error::NotFound);
        };
        let url = match which {
            ProfileImage::Avatar => a.avatar_url.as_deref(),
            ProfileImage::Header => a.header_url.as_deref(),
        }
        .filter(|u| !u.is_empty())
        .ok_or(Error::NotFound)?;
        // The cached policy: a page asks once per remote avatar.
        let policy = self.cached_domain_policy(domain).await?;
        if policy.reject_media || policy.block.is_some() || a.suspended_at.is_some() {
            return Err(Error::NotFound);
        }
        self.proxied(url).await
    }

    /// A remote image as fetched (an avatar or header): the cached copy, or fetched now and
    /// kept (`crate::media::remote`).
    pub(crate) async fn proxied(&self, url: &str) -> Result<ProxiedImage> {
        let key = crate::media::remote::cache_key("image", url);
        if let Some(hit) = self.cached_remote(&key, sniff_image).await {
            return Ok(hit);
        }
        let bytes = self
            .fetch_remote(url, ACCEPT_IMAGES, MAX_IMAGE_BYTES)
            .await?;
        let Some(mime) = sniff_image(&bytes) else {
            self.fetch_failed(url, "not an image");
            return Err(Error::Unavailable("the image could not be fetched".into()));
        };
        let image = ProxiedImage { mime, bytes };
        self.keep_remote(&key, &image).await;
        Ok(image)
    }

    /// A remote file's bytes (at most `limit`), through the guarded client; a failure is
    /// remembered for a few minutes, so a dead server is not asked on every page view.
    pub(crate) async fn fetch_remote(
        &self,
        url: &str,
        accept: &str,
        limit: usize,
    ) -> Result<Vec<u8>> {
        let state = &self.federation.proxy;
        if let Ok(f) = state.failures.lock()
            && f.get(url).is_some_and(|t| t.elapsed() < FAILURE_PAUSE)
        {
            return Err(Error::Unavailable("the file could not be fetched".into()));
        }
        match self.federation.client.get_bytes(url, accept, limit).await {
            // The claimed type is never asked: the caller sniffs the bytes.
            Ok((bytes, _claimed)) => Ok(bytes),
            Err(e) => {
                self.fetch_failed(url, &e.to_string());
                Err(Error::Unavailable("the file could not be fetched".into()))
            }
        }
    }

    pub(crate) fn fetch_failed(&self, url: &str, reason: &str) {
        tracing::info!(%url, %reason, "media proxy: fetch failed");
        if let Ok(mut f) = self.federation.proxy.failures.lock() {
            if f.len() > 10_000 {
                f.clear();
            }
            f.insert(url.to_string(), Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_raster_images_pass() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_image(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(
            sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'>"),
            None
        );
        assert_eq!(sniff_image(b"<html><script>"), None);
        assert_eq!(sniff_image(b""), None);
    }
}
