//! Posts from an archive — Kring's (docs/export-format.md) or Mastodon's, whose `outbox.json`
//! has the same shape — made the person's own posts here. As GoToSocial does, each keeps the
//! date it was first written (so it sits at its place in their profile, not on top of
//! anyone's timeline) and is told to nobody: no delivery to other servers, no notification,
//! no home feed but the author's. Its audience is what it had where it came from: public,
//! unlisted, followers, friends, or the circles of the same title here.
//!
//! Not imported: boosts (they are of other people's posts), direct messages, chat messages and
//! group posts — those belong to conversations and groups that stay on their server, and
//! bringing them here would make messages their people never get.
//!
//! Each archived post is recorded with its id there (`imported_statuses`), so importing the
//! same archive again adds nothing twice; a reply to a post imported before (or known here)
//! is a reply again.
use std::collections::HashMap;
use std::io::{Cursor, Read};

use kring_core::time::{now_micros, parse_rfc3339};
use kring_core::{Audience, Error, Visibility, text};
use kring_store::NewStatus;
use serde_json::Value;

use super::import::Imported;
use crate::federation::resolve::{note_language, note_summary, note_tags};
use crate::media::upload::Upload;
use crate::{Actor, Id, Kring, Result};
use kring_activitypub::as2;

/// The most an archive's `outbox.json` may unpack to (a small file may claim gigabytes).
const MAX_OUTBOX: u64 = 256 * 1024 * 1024;

/// A zip archive opened for reading its parts, each bounded.
pub(crate) struct ArchiveFile<'a> {
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
}

pub(crate) fn unreadable() -> Error {
    Error::validation("The file is not an archive Kring can read")
}

impl<'a> ArchiveFile<'a> {
    pub(crate) fn open(data: &'a [u8]) -> Result<ArchiveFile<'a>> {
        let zip = zip::ZipArchive::new(Cursor::new(data)).map_err(|_| unreadable())?;
        Ok(ArchiveFile { zip })
    }

    /// A part's bytes, at most `max` of them; None when the archive has no such part.
    pub(crate) fn read(&mut self, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let Ok(file) = self.zip.by_name(name) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        file.take(max + 1)
            .read_to_end(&mut out)
            .map_err(|_| unreadable())?;
        if out.len() as u64 > max {
            return Err(Error::validation(format!(
                "{name} in the archive is too large"
            )));
        }
        Ok(Some(out))
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }
}

/// Whether an archive holds posts to import.
pub(crate) fn has_posts(data: &[u8]) -> bool {
    ArchiveFile::open(data).is_ok_and(|a| a.has("outbox.json"))
}

impl Kring {
    /// Import the posts of an archive (see the module's comment). Answers how many were
    /// imported (`applied`) and how many were left out (`skipped`); posts imported before
    /// are neither.
    pub(crate) async fn import_archive_posts(
        &self,
        actor: &Actor,
        data: &[u8],
    ) -> Result<Imported> {
        let mut archive = ArchiveFile::open(data)?;
        let mut done = Imported::default();
        let Some(outbox) = archive.read("outbox.json", MAX_OUTBOX)? else {
            return Ok(done);
        };
        let outbox: Value = serde_json::from_slice(&outbox).map_err(|_| unreadable())?;
        let circles = self.archive_circles(actor, &mut archive).await?;
        let mut items: Vec<&Value> = outbox
            .get("orderedItems")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        // Oldest first, so that a reply's parent is imported before it.
        items.sort_by_key(|i| published(i.get("object").unwrap_or(i)));
        for item in items {
            if as2::kind(item) != "Create" {
                done.skipped += 1;
                continue;
            }
            let Some(note) = item.get("object").filter(|o| o.is_object()) else {
                done.skipped += 1;
                continue;
            };
            match self.import_note(actor, note, &circles, &mut archive).await {
                Ok(Some(_)) => done.applied += 1,
                Ok(None) => {}
                Err(Error::Validation(_)) => done.skipped += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    /// The archive's circles (`circles.json`, by their id there) as the person's circles here
    /// of the same title.
    async fn archive_circles(
        &self,
        actor: &Actor,
        archive: &mut ArchiveFile<'_>,
    ) -> Result<HashMap<String, Id>> {
        let mut out = HashMap::new();
        let Some(bytes) = archive.read("circles.json", 16 * 1024 * 1024)? else {
            return Ok(out);
        };
        let listed: Vec<Value> = serde_json::from_slice(&bytes).unwrap_or_default();
        let here = self.circles(actor).await?;
        for c in listed {
            let (Some(id), Some(title)) = (
                c.get("id").and_then(Value::as_str),
                c.get("title").and_then(Value::as_str),
            ) else {
                continue;
            };
            if let Some(mine) = here.iter().find(|m| m.title == title.trim()) {
                out.insert(id.to_string(), mine.id);
            }
        }
        Ok(out)
    }

    /// One archived post: Ok(None) when it was imported before; a validation error when it is
    /// of a kind not imported.
    async fn import_note(
        &self,
        actor: &Actor,
        note: &Value,
        circles: &HashMap<String, Id>,
        archive: &mut ArchiveFile<'_>,
    ) -> Result<Option<Id>> {
        let skip = || Error::validation("not imported");
        let source_uri = as2::str_field(note, "id").ok_or_else(skip)?;
        if self
            .store
            .imported_status(actor.id(), source_uri)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        if note.get("kringChat").is_some() || note.get("kringGroup").is_some() {
            return Err(skip());
        }
        let visibility = archived_visibility(note).ok_or_else(skip)?;
        let audience = match visibility {
            Visibility::Circle => {
                let ids: Vec<Id> = note
                    .get("kringCircles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|c| circles.get(c).copied())
                    .collect();
                // No circle of that title here: the author alone reads it, never more.
                Audience::for_circles(&ids, &[])
            }
            v => Audience::for_visibility(v, actor.id(), &[]),
        }
        .local_only(note.get("kringLocalOnly").and_then(Value::as_bool) == Some(true));

        let parent = match as2::str_field(note, "inReplyTo") {
            Some(uri) => match self.store.imported_status(actor.id(), uri).await? {
                Some(id) => self.store.status(id).await?,
                None => match self.store.status_by_uri(uri).await? {
                    Some(p) => self.store.visible_status(Some(actor.id()), p.id).await?,
                    None => None,
                },
            },
            None => None,
        }
        .filter(|p| p.reblog_of_id.is_none());
        let mut created_at = published(note).unwrap_or_else(now_micros).min(now_micros());
        if let Some(p) = &parent {
            // Never before what it answers (archives date to the second).
            created_at = created_at
                .max(((p.id.0 >> 16) + 1) * 1000)
                .min(now_micros());
        }
        let content = text::sanitize_remote_html(as2::str_field(note, "content").unwrap_or(""));
        // Kring's archive keeps what the person typed; Mastodon's has the HTML only.
        let typed = note
            .get("source")
            .filter(|s| as2::str_field(s, "mediaType").is_none_or(|m| m == "text/plain"))
            .and_then(|s| as2::str_field(s, "content"));
        let text = match typed {
            Some(t) => t.to_string(),
            None => text::html_to_text(&content),
        };
        let tags = note_tags(note);
        let spoiler_text = note_summary(note);
        let media = self.import_attachments(actor, note, archive).await?;
        if text.trim().is_empty() && media.is_empty() {
            return Err(skip());
        }
        let policy = self.policy_for_new_post(actor, visibility, None).await?;
        let id = Id::at_millis(created_at / 1000);
        let (uri, url) = self.local_status_addresses(&actor.account.username, id);
        let new = NewStatus {
            id,
            account_id: actor.id(),
            uri,
            url,
            local: true,
            in_reply_to_id: parent.as_ref().map(|p| p.id),
            in_reply_to_account_id: parent.as_ref().map(|p| p.account_id),
            reblog_of_id: None,
            conversation_id: parent.as_ref().map(|p| p.conversation_id).unwrap_or(id),
            text,
            content,
            sensitive: note.get("sensitive").and_then(Value::as_bool) == Some(true)
                || !spoiler_text.is_empty(),
            spoiler_text,
            language: note_language(note),
            visibility,
            audience,
            interaction_policy: Some(policy),
            pending_approval_by: None,
            application_id: None,
            mentions: Vec::new(),
            tags,
            created_at,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_status(&new).await?;
        if !media.is_empty() {
            tx.set_status_media(id, &media).await?;
        }
        tx.fan_out_to(id, actor.id(), &[actor.id()]).await?;
        tx.insert_imported_status(actor.id(), source_uri, id)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// The archived post's files (those in the archive, named by their path there), each
    /// checked and cleaned as an upload is; a file that is refused is left out, not the post.
    async fn import_attachments(
        &self,
        actor: &Actor,
        note: &Value,
        archive: &mut ArchiveFile<'_>,
    ) -> Result<Vec<Id>> {
        let mut ids = Vec::new();
        if self.media_storage().is_none() {
            return Ok(ids);
        }
        let max = self.config.media.max_upload() as u64;
        let limit = self.config.media.description_limit;
        for a in note
            .get("attachment")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(self.config.media.max_attachments)
        {
            let path = match a.get("url") {
                Some(Value::String(u)) => u.as_str(),
                Some(v) => as2::str_field(v, "href").unwrap_or(""),
                None => "",
            };
            // Mastodon names them from the root (`/media_attachments/files/…`); a web address
            // is a file the archive does not hold.
            let path = path.trim_start_matches('/');
            if path.is_empty() || path.contains("://") {
                continue;
            }
            let Ok(Some(bytes)) = archive.read(path, max) else {
                continue;
            };
            let description =
                as2::str_field(a, "name").map(|d| d.chars().take(limit).collect::<String>());
            let focus = a
                .get("focalPoint")
                .and_then(Value::as_array)
                .filter(|p| p.len() == 2)
                .and_then(|p| Some(format!("{},{}", p[0].as_f64()?, p[1].as_f64()?)));
            let slot = self.upload_slot(Some(bytes.len() as u64)).await?;
            let upload = Upload {
                bytes,
                description,
                focus,
            };
            match self.upload_media(actor, &slot, upload).await {
                Ok(m) => ids.push(m.id),
                Err(Error::Validation(_) | Error::PayloadTooLarge) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }
}

/// When an archived post was written.
fn published(note: &Value) -> Option<i64> {
    as2::str_field(note, "published").and_then(parse_rfc3339)
}

/// The audience an archived post had, as Kring names it (its `kringVisibility`) or as its
/// addressing says (Mastodon's): None for those not imported (direct messages, group posts).
fn archived_visibility(note: &Value) -> Option<Visibility> {
    if let Some(v) = as2::str_field(note, as2::KRING_VISIBILITY) {
        return match Visibility::parse(v)? {
            Visibility::Direct | Visibility::Group => None,
            v => Some(v),
        };
    }
    let to = as2::ids(note.get("to"));
    let cc = as2::ids(note.get("cc"));
    if to.iter().any(|a| as2::is_public_address(a)) {
        Some(Visibility::Public)
    } else if cc.iter().any(|a| as2::is_public_address(a)) {
        Some(Visibility::Unlisted)
    } else if to.iter().chain(&cc).any(|a| a.ends_with("/followers")) {
        Some(Visibility::Private)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mastodon_addressing_reads_as_its_visibility() {
        let p = "https://www.w3.org/ns/activitystreams#Public";
        let f = "https://m.example/users/a/followers";
        let v = |to: Value, cc: Value| archived_visibility(&json!({"to": to, "cc": cc}));
        assert_eq!(v(json!([p]), json!([f])), Some(Visibility::Public));
        assert_eq!(v(json!([f]), json!([p])), Some(Visibility::Unlisted));
        assert_eq!(v(json!([f]), json!([])), Some(Visibility::Private));
        assert_eq!(v(json!(["https://m.example/users/b"]), json!([])), None);
        assert_eq!(
            archived_visibility(&json!({"kringVisibility": "friends", "to": []})),
            Some(Visibility::Friends)
        );
        assert_eq!(
            archived_visibility(&json!({"kringVisibility": "direct", "to": [p]})),
            None
        );
    }
}
