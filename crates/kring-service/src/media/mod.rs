//! Media attachments (docs/media.md): uploads (`upload`), checked and re-encoded so no
//! metadata survives (`process`, after `sniff` says what the bytes are), kept in the media
//! storage (`storage`), attached to posts (`attach`), sent and received over federation
//! (`attach`), served (`serve`), and swept away when never used (`sweep`).
pub mod attach;
pub mod av;
pub mod process;
pub mod profile;
pub mod remote;
pub mod serve;
pub mod sniff;
pub mod storage;
pub mod sweep;
pub mod upload;

use std::path::PathBuf;

use kring_core::media::MediaAttachment;

use crate::Kring;

/// Media settings (the `[media]` table of the configuration).
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// Where uploaded files are kept; None: uploads are refused.
    pub dir: Option<PathBuf>,
    /// Attachments one post may have.
    pub max_attachments: usize,
    /// Bytes of one picture, at most.
    pub image_size_limit: usize,
    /// Bytes of one video or audio file, at most.
    pub video_size_limit: usize,
    /// Width × height of one picture, at most.
    pub image_matrix_limit: u64,
    /// Characters of alt text, at most.
    pub description_limit: usize,
    /// An S3-compatible bucket for the files instead of `dir` (`[media.s3]`).
    pub s3: Option<storage::S3Config>,
    /// Keep copies of remote media in the media storage (`remote_cache`); false: fetch them
    /// for each reader and keep nothing.
    pub remote_cache: bool,
    /// Copies not used for this many days go with the hourly sweep (`remote_cache_days`).
    pub remote_cache_days: u32,
    /// The copies together keep to this many bytes, the least recently used going first
    /// (`remote_cache_budget`).
    pub remote_cache_budget: u64,
    /// Seconds a video or audio file may last (checked with ffprobe).
    pub video_duration_limit: u64,
    /// The `ffmpeg` and `ffprobe` programs (found on PATH by default); when missing, video
    /// and audio are kept as sent, with a placeholder thumbnail.
    pub ffmpeg_path: PathBuf,
    pub ffprobe_path: PathBuf,
}

impl Default for MediaConfig {
    /// Mastodon's limits (4 attachments, 16 MB pictures of up to 7680 × 4320 pixels, 1,500
    /// characters of alt text), with video and audio up to 40 MB and 15 minutes.
    fn default() -> MediaConfig {
        MediaConfig {
            dir: None,
            max_attachments: 4,
            image_size_limit: 16 * 1024 * 1024,
            video_size_limit: 40 * 1024 * 1024,
            image_matrix_limit: 7680 * 4320,
            description_limit: 1500,
            s3: None,
            remote_cache: true,
            remote_cache_days: 7,
            remote_cache_budget: 1024 * 1024 * 1024,
            video_duration_limit: 900,
            ffmpeg_path: PathBuf::from("ffmpeg"),
            ffprobe_path: PathBuf::from("ffprobe"),
        }
    }
}

impl MediaConfig {
    /// The largest upload of any kind (the HTTP body limit of upload endpoints).
    pub fn max_upload(&self) -> usize {
        self.image_size_limit.max(self.video_size_limit)
    }

    /// The MIME types accepted.
    pub fn supported_mime_types(&self) -> Vec<&'static str> {
        sniff::ACCEPTED.iter().map(|s| s.mime).collect()
    }

    pub(crate) fn av_tools(&self) -> av::AvTools {
        av::AvTools {
            ffmpeg: self.ffmpeg_path.clone(),
            ffprobe: self.ffprobe_path.clone(),
            max_seconds: self.video_duration_limit,
        }
    }

    pub(crate) fn limits(&self) -> process::Limits {
        process::Limits {
            image_bytes: self.image_size_limit,
            video_bytes: self.video_size_limit,
            image_pixels: self.image_matrix_limit,
        }
    }
}

/// The addresses an attachment is shown at, all on this server.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaUrls {
    pub url: String,
    pub preview_url: Option<String>,
}

/// Where the files of an attachment are served, under `base` (this server's base URL):
/// local files under `/media/`, remote ones through this server's proxy (`/proxy/media/ID/TOKEN`),
/// so a reader's browser or app never contacts another server.
pub fn urls(base: &str, m: &MediaAttachment) -> MediaUrls {
    urls_with(base, None, m)
}

/// [`urls`], with local files at `public` (the bucket's own address, `[media.s3] public_url`)
/// when given: `<public>/<key>`.
pub fn urls_with(base: &str, public: Option<&str>, m: &MediaAttachment) -> MediaUrls {
    let local = |key: &str| match public {
        Some(p) => format!("{p}/{key}"),
        None => format!("{base}/media/{key}"),
    };
    match &m.file_key {
        Some(key) => MediaUrls {
            url: local(key),
            preview_url: m.thumbnail_key.as_deref().map(local),
        },
        None => {
            let url = format!("{base}/proxy/media/{}/{}", m.id, proxy_token(m));
            MediaUrls {
                preview_url: (m.kind == kring_core::media::MediaKind::Image).then(|| url.clone()),
                url,
            }
        }
    }
}

/// The part of a proxied attachment's address that only those who were given the remote
/// file's URL can know: a hash of that URL. Ids are made of the time and a counter, so an
/// address of the id alone could be guessed, and would show the pictures of another server's
/// private posts (a chat's messages) to anyone; with this, the proxy is exactly as private as
/// the URL its author's server gave the post's readers.
pub fn proxy_token(m: &MediaAttachment) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"kring proxied media\0");
    h.update(m.id.0.to_be_bytes());
    h.update(m.remote_url.as_deref().unwrap_or("").as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Kring {
    /// The addresses apps are given (`[media.s3] public_url` for local files when set).
    pub fn media_urls(&self, m: &MediaAttachment) -> MediaUrls {
        urls_with(&self.config.base_url(), self.media_public_url(), m)
    }

    /// The bucket's own address for local files, when `[media.s3] public_url` is set.
    pub fn media_public_url(&self) -> Option<&str> {
        self.config.media.s3.as_ref()?.public_url.as_deref()
    }

    /// The media storage (opened once, with the service).
    pub fn media_storage(&self) -> Option<std::sync::Arc<dyn storage::MediaStorage>> {
        self.media_store.clone()
    }
}
