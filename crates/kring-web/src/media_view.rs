//! Attachments as pages show them: every file from this server (local files under `/media/`,
//! remote ones through its proxy), alt text on each, video and audio with native controls.
use kring_core::media::{MediaAttachment, MediaKind};

pub struct MediaCard {
    /// `image`, `video`, `audio` or `other` (shown as a link).
    pub kind: &'static str,
    pub url: String,
    pub preview: String,
    pub alt: String,
    pub width: u32,
    pub height: u32,
}

impl MediaCard {
    pub fn new(m: &MediaAttachment) -> MediaCard {
        // Paths, not absolute URLs: the page's own origin, whatever name it was reached by.
        let urls = kring_service::media::urls("", m);
        let (width, height) = m
            .meta
            .small
            .or(m.meta.original)
            .map_or((0, 0), |d| (d.width, d.height));
        MediaCard {
            kind: match m.kind {
                MediaKind::Image => "image",
                MediaKind::Video | MediaKind::Gifv => "video",
                MediaKind::Audio => "audio",
                MediaKind::Unknown => "other",
            },
            preview: urls.preview_url.clone().unwrap_or_else(|| urls.url.clone()),
            url: urls.url,
            alt: m.description.clone(),
            width,
            height,
        }
    }
}

pub fn cards(list: &[MediaAttachment]) -> Vec<MediaCard> {
    list.iter().map(MediaCard::new).collect()
}
