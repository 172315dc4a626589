//! Media attachments: pictures, video and audio people attach to posts, as stored.
use serde::{Deserialize, Serialize};

use crate::Id;

/// What an attachment is, in Mastodon's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    /// An animation without sound (Mastodon's name for what it turns GIFs into).
    Gifv,
    Video,
    Audio,
    Unknown,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Gifv => "gifv",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> MediaKind {
        match s {
            "image" => MediaKind::Image,
            "gifv" => MediaKind::Gifv,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            _ => MediaKind::Unknown,
        }
    }

    /// The ActivityStreams type an attachment of this kind travels as.
    pub fn as2_type(self) -> &'static str {
        match self {
            MediaKind::Image => "Image",
            MediaKind::Video | MediaKind::Gifv => "Video",
            MediaKind::Audio => "Audio",
            MediaKind::Unknown => "Document",
        }
    }
}

/// Width and height of one rendition (Mastodon's `meta.original` / `meta.small`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Dimensions {
    pub width: u32,
    pub height: u32,
}

impl Dimensions {
    pub fn aspect(self) -> f64 {
        if self.height == 0 {
            0.0
        } else {
            f64::from(self.width) / f64::from(self.height)
        }
    }
}

/// What is known about an attachment's renditions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MediaMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Dimensions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small: Option<Dimensions>,
    /// Seconds of a video or audio file (read by ffprobe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// A video's frame rate as ffprobe gives it (`30/1`, `30000/1001`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<String>,
    /// Bits per second of a video or audio file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<u64>,
}

impl MediaMeta {
    /// Frames per second, rounded as Mastodon reports `fps` (None without a frame rate).
    pub fn fps(&self) -> Option<u32> {
        let r = self.frame_rate.as_deref()?;
        let v = match r.split_once('/') {
            Some((n, d)) => n.trim().parse::<f64>().ok()? / d.trim().parse::<f64>().ok()?,
            None => r.trim().parse::<f64>().ok()?,
        };
        (v.is_finite() && v > 0.0 && v < 10_000.0).then(|| v.round() as u32)
    }
}

/// A focal point, each coordinate from -1 to 1 (Mastodon's convention: x left to right,
/// y bottom to top).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Focus {
    pub x: f64,
    pub y: f64,
}

impl Focus {
    /// "x,y" as Mastodon's API takes it; None unless both are numbers within -1..=1.
    pub fn parse(s: &str) -> Option<Focus> {
        let (x, y) = s.split_once(',')?;
        let x: f64 = x.trim().parse().ok()?;
        let y: f64 = y.trim().parse().ok()?;
        let ok = |v: f64| v.is_finite() && (-1.0..=1.0).contains(&v);
        (ok(x) && ok(y)).then_some(Focus { x, y })
    }

    pub fn to_text(self) -> String {
        format!("{},{}", self.x, self.y)
    }
}

/// One attachment as stored: a local upload (its files in the media storage), or a remote
/// one (known by its URL, shown through this server's proxy).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaAttachment {
    pub id: Id,
    pub account_id: Id,
    /// The post it is attached to; None until then (an upload waiting for its post).
    pub status_id: Option<Id>,
    pub kind: MediaKind,
    /// The type of the stored bytes (sniffed), or what a remote server said.
    pub mime: String,
    /// Storage keys of the original and the thumbnail (local uploads only).
    pub file_key: Option<String>,
    pub thumbnail_key: Option<String>,
    pub file_size: i64,
    pub meta: MediaMeta,
    /// Alt text.
    pub description: String,
    pub focus: Option<Focus>,
    pub blurhash: Option<String>,
    /// Where a remote attachment lives (http or https only).
    pub remote_url: Option<String>,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_is_two_numbers_within_range() {
        assert_eq!(Focus::parse("0.5,-0.25"), Some(Focus { x: 0.5, y: -0.25 }));
        assert_eq!(Focus::parse(" 1 , -1 "), Some(Focus { x: 1.0, y: -1.0 }));
        assert_eq!(Focus::parse("2,0"), None);
        assert_eq!(Focus::parse("NaN,0"), None);
        assert_eq!(Focus::parse("0.1"), None);
    }
}
