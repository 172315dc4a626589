//! The media proxy: remote images (for now the avatars and headers of remote accounts) are
//! fetched by this server and served from its own origin, so a page never makes a reader's
//! browser contact another server (no IP addresses or reading habits leak to it), and the
//! strict Content-Security-Policy can stay `img-src 'self'`.
//!
//! Only URLs this server already learned from federation are fetched, through the guarded
//! client (no private addresses, bounded size and time); only real raster images pass (the
//! bytes are sniffed: SVG could carry script). Copies are kept on disk for a week, failures
//! are remembered for a few minutes so a dead server is not asked on every page view.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use kring_core::model::Account;
use sha2::{Digest, Sha256};

use crate::{Error, Id, Kring, Result};

/// Largest image fetched (Mastodon's own upload limit for avatars and headers is 8 MB).
const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// How long a fetched copy is served before it is fetched again.
const FRESH: Duration = Duration::from_secs(7 * 86400);
/// How long a failed fetch is not retried.
const FAILURE_PAUSE: Duration = Duration::from_secs(300);
/// The most the cache folder holds; the oldest copies go first.
const MAX_CACHE_BYTES: u64 = 1024 * 1024 * 1024;
/// How often the cache folder is swept of copies past `FRESH`.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);
const ACCEPT_IMAGES: &str = "image/avif, image/webp, image/png, image/jpeg, image/gif";

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

/// The proxy's memory: recent failures and the last sweep of the cache folder.
#[derive(Default)]
pub struct ProxyState {
    failures: Mutex<HashMap<String, Instant>>,
    swept: Mutex<Option<Instant>>,
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

    pub(crate) async fn proxied(&self, url: &str) -> Result<ProxiedImage> {
        let file = self.proxy_file(url);
        if let Some(path) = &file
            && let Some(bytes) = read_fresh(path).await
            && let Some(mime) = sniff_image(&bytes)
        {
            return Ok(ProxiedImage { mime, bytes });
        }
        let state = &self.federation.proxy;
        if let Ok(f) = state.failures.lock()
            && f.get(url).is_some_and(|t| t.elapsed() < FAILURE_PAUSE)
        {
            return Err(Error::Unavailable("the image could not be fetched".into()));
        }
        let fetched = self
            .federation
            .client
            .get_bytes(url, ACCEPT_IMAGES, MAX_IMAGE_BYTES)
            .await;
        let image = match fetched {
            Ok((bytes, _claimed)) => match sniff_image(&bytes) {
                Some(mime) => Ok(ProxiedImage { mime, bytes }),
                None => Err("not an image".to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let image = match image {
            Ok(i) => i,
            Err(reason) => {
                tracing::info!(%url, %reason, "media proxy: fetch failed");
                if let Ok(mut f) = state.failures.lock() {
                    if f.len() > 10_000 {
                        f.clear();
                    }
                    f.insert(url.to_string(), Instant::now());
                }
                return Err(Error::Unavailable("the image could not be fetched".into()));
            }
        };
        if let Some(path) = file {
            let bytes = image.bytes.clone();
            let sweep = self.sweep_due();
            let dir = path.parent().map(|p| p.to_path_buf());
            // Disk work off the async threads. The write is waited for (the next reader finds
            // the copy); the hourly sweep of the folder is not.
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = write_atomically(&path, &bytes) {
                    tracing::warn!(error = %e, path = %path.display(), "media proxy: cannot cache");
                }
            })
            .await;
            if sweep && let Some(dir) = dir {
                drop(tokio::task::spawn_blocking(move || sweep_stale(&dir)));
            }
        }
        Ok(image)
    }

    pub(crate) fn proxy_file(&self, url: &str) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        let hash = Sha256::digest(url.as_bytes());
        let name: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        Some(dir.join("proxy").join(name))
    }

    fn sweep_due(&self) -> bool {
        let Ok(mut last) = self.federation.proxy.swept.lock() else {
            return false;
        };
        if last.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

pub(crate) async fn read_fresh(path: &std::path::Path) -> Option<Vec<u8>> {
    let meta = tokio::fs::metadata(path).await.ok()?;
    let age = SystemTime::now()
        .duration_since(meta.modified().ok()?)
        .unwrap_or_default();
    if age > FRESH {
        return None;
    }
    tokio::fs::read(path).await.ok()
}

pub(crate) fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", rand::random::<u32>()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Remove copies older than `FRESH` (they would be fetched again anyway), then the oldest
/// until the folder holds at most `MAX_CACHE_BYTES`.
fn sweep_stale(dir: &std::path::Path) {
    sweep(dir, FRESH + Duration::from_secs(3600), MAX_CACHE_BYTES);
}

fn sweep(dir: &std::path::Path, max_age: Duration, max_bytes: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let mut kept: Vec<(SystemTime, u64, PathBuf)> = Vec::new();
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        let modified = meta.modified().unwrap_or(now);
        let age = now.duration_since(modified).unwrap_or_default();
        if age > max_age {
            let _ = std::fs::remove_file(e.path());
        } else {
            kept.push((modified, meta.len(), e.path()));
        }
    }
    let mut total: u64 = kept.iter().map(|(_, len, _)| len).sum();
    kept.sort_by_key(|(modified, _, _)| *modified);
    for (_, len, path) in kept {
        if total <= max_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            total = total.saturating_sub(len);
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

    #[test]
    fn the_sweep_removes_stale_copies_then_the_oldest_over_the_cap() {
        let dir = std::env::temp_dir().join(format!("kring-sweep-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, len) in [("a", 400), ("b", 400), ("c", 400)] {
            std::fs::write(dir.join(name), vec![0u8; len]).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        // Nothing is stale; 1,200 bytes against a cap of 900: the oldest one goes.
        sweep(&dir, Duration::from_secs(3600), 900);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b", "c"]);
        // Everything older than no time at all is stale.
        std::thread::sleep(Duration::from_millis(20));
        sweep(&dir, Duration::from_millis(1), u64::MAX);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
