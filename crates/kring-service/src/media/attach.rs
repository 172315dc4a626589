//! Attachments and posts: which uploads a new or edited post may take, the `attachment` of
//! its Note, and the attachments of remote posts, recorded by their URL.
use kring_core::media::{Dimensions, Focus, MediaAttachment, MediaKind, MediaMeta};
use kring_core::text;
use kring_core::time::now_micros;
use serde_json::{Value, json};

use crate::{Actor, Error, Id, Kring, Result};

/// Attachments of one remote post recorded at most (Mastodon's limit for remote posts).
const MAX_REMOTE: usize = 16;
/// Longest remote URL and blurhash kept.
const MAX_URL: usize = 2048;
const MAX_BLURHASH: usize = 128;

impl Kring {
    /// The uploads `ids` (in this order) for a post of `actor`: each one's own, not used by
    /// another post (`status`: the post being edited, whose attachments it may keep), at most
    /// the configured number. Unknown or foreign ids are refused as Mastodon does (422).
    pub async fn media_for_post(
        &self,
        actor: &Actor,
        ids: &[Id],
        status: Option<Id>,
    ) -> Result<Vec<MediaAttachment>> {
        let mut wanted: Vec<Id> = Vec::with_capacity(ids.len());
        for id in ids {
            if !wanted.contains(id) {
                wanted.push(*id);
            }
        }
        if wanted.len() > self.config.media.max_attachments {
            return Err(Error::validation(format!(
                "Cannot attach more than {} files",
                self.config.media.max_attachments
            )));
        }
        let found = self.store.media_by_ids(&wanted).await?;
        let mut out = Vec::with_capacity(wanted.len());
        for id in wanted {
            let m = found
                .iter()
                .find(|m| m.id == id)
                .filter(|m| m.account_id == actor.id() && m.remote_url.is_none())
                .filter(|m| m.status_id.is_none() || m.status_id == status)
                .ok_or_else(|| Error::validation("Media attachment not found or already used"))?;
            out.push(m.clone());
        }
        Ok(out)
    }

    /// The `attachment` list of a Note with these attachments: Mastodon's shape (`Document`
    /// carries every kind there; `Image`/`Video`/`Audio` here, which Mastodon reads the same),
    /// the URL on this server, alt text as `name`.
    pub fn note_attachments(&self, media: &[MediaAttachment]) -> Value {
        Value::Array(
            media
                .iter()
                .map(|m| {
                    let urls = self.media_urls(m);
                    let mut doc = json!({
                        "type": m.kind.as2_type(),
                        "mediaType": m.mime,
                        "url": urls.url,
                        "name": if m.description.is_empty() { Value::Null } else { json!(m.description) },
                    });
                    if let Some(b) = &m.blurhash {
                        doc["blurhash"] = json!(b);
                    }
                    if let Some(f) = m.focus {
                        doc["focalPoint"] = json!([f.x, f.y]);
                    }
                    if let Some(d) = m.meta.original {
                        doc["width"] = json!(d.width);
                        doc["height"] = json!(d.height);
                    }
                    doc
                })
                .collect(),
        )
    }

    /// Set a Note's attachments (the Note was built without them).
    pub(crate) fn attach_to_note(&self, note: &mut Value, media: &[MediaAttachment]) {
        if note.is_object() && !media.is_empty() {
            note["attachment"] = self.note_attachments(media);
        }
    }

    /// A remote Note's attachments as records to store with the post, read defensively: only
    /// http(s) URLs, alt text as plain text within the limit, numbers within range.
    pub(crate) fn remote_attachments(&self, note: &Value, author: Id) -> Vec<MediaAttachment> {
        let list: Vec<&Value> = match note.get("attachment") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => Vec::new(),
        };
        list.into_iter()
            .filter_map(|a| self.remote_attachment(a, author))
            .take(MAX_REMOTE)
            .collect()
    }

    fn remote_attachment(&self, a: &Value, author: Id) -> Option<MediaAttachment> {
        let kind_of = a.get("type").and_then(Value::as_str).unwrap_or("");
        if !matches!(kind_of, "Document" | "Image" | "Video" | "Audio") {
            return None;
        }
        let url = attachment_url(a.get("url")?)?;
        let mime = a
            .get("mediaType")
            .and_then(Value::as_str)
            .filter(|m| m.len() <= 100 && m.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or("")
            .to_ascii_lowercase();
        let kind = if mime.starts_with("image/") {
            MediaKind::Image
        } else if mime.starts_with("video/") {
            MediaKind::Video
        } else if mime.starts_with("audio/") {
            MediaKind::Audio
        } else {
            match kind_of {
                "Image" => MediaKind::Image,
                "Video" => MediaKind::Video,
                "Audio" => MediaKind::Audio,
                _ => MediaKind::Unknown,
            }
        };
        let description: String = a
            .get("name")
            .and_then(Value::as_str)
            .map(|n| text::html_to_text(&text::sanitize_remote_html(n)))
            .unwrap_or_default()
            .trim()
            .chars()
            .take(self.config.media.description_limit)
            .collect();
        let blurhash = a
            .get("blurhash")
            .and_then(Value::as_str)
            .filter(|b| {
                (6..=MAX_BLURHASH).contains(&b.len())
                    && b.bytes()
                        .all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\\')
            })
            .map(str::to_string);
        let focus = a
            .get("focalPoint")
            .and_then(Value::as_array)
            .filter(|p| p.len() == 2)
            .and_then(|p| Focus::parse(&format!("{},{}", p[0].as_f64()?, p[1].as_f64()?)));
        let dim = |k: &str| {
            a.get(k)
                .and_then(Value::as_u64)
                .filter(|v| (1..=100_000).contains(v))
                .map(|v| v as u32)
        };
        let original = match (dim("width"), dim("height")) {
            (Some(width), Some(height)) => Some(Dimensions { width, height }),
            _ => None,
        };
        Some(MediaAttachment {
            id: Id::generate(),
            account_id: author,
            status_id: None,
            kind,
            mime,
            file_key: None,
            thumbnail_key: None,
            file_size: 0,
            meta: MediaMeta {
                original,
                ..MediaMeta::default()
            },
            description,
            focus,
            blurhash,
            remote_url: Some(url),
            created_at: now_micros(),
        })
    }
}

/// The URL of an attachment: a string, a Link (`href`), or a list of either (the first
/// http(s) one).
fn attachment_url(v: &Value) -> Option<String> {
    let one = |v: &Value| -> Option<String> {
        let s = match v {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get("href")?.as_str()?,
            _ => return None,
        };
        (s.len() <= MAX_URL)
            .then(|| text::http_url(s))
            .flatten()
            .map(str::to_string)
    };
    match v {
        Value::Array(list) => list.iter().find_map(one),
        v => one(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_only() {
        assert_eq!(
            attachment_url(&json!("https://a.example/x.jpg")).as_deref(),
            Some("https://a.example/x.jpg")
        );
        assert_eq!(attachment_url(&json!("javascript:alert(1)")), None);
        assert_eq!(attachment_url(&json!("data:image/png;base64,AAAA")), None);
        assert_eq!(
            attachment_url(
                &json!([{"type": "Link", "href": "ftp://x/y"}, {"href": "http://b.example/y.png"}])
            )
            .as_deref(),
            Some("http://b.example/y.png")
        );
    }
}
