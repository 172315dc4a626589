//! The export archive (docs/export-format.md): everything a person made here, in one zip,
//! built in the background (`EXPORT_BUILD`), kept under `<data_dir>/exports/` for a week and
//! removed by an hourly sweep (`EXPORT_SWEEP`). The CLI builds the same archive at once.
use std::io::Write;
use std::path::{Path, PathBuf};

use kring_core::audience::Grant;
use kring_core::model::{Account, Notification, NotificationType};
use kring_core::time::{now_micros, rfc3339};
use kring_store::{Export, Handle};
use serde_json::{Value, json};

use super::csv;
use crate::jobs::Outcome;
use crate::media::storage;
use crate::{Actor, Error, Id, Kring, Result};

/// Builds one archive (payload: the export's id).
pub const EXPORT_BUILD: &str = "export.build";
/// Removes archives past their week (scheduled hourly by the job runner).
pub const EXPORT_SWEEP: &str = "export.sweep";
/// How long a ready archive can be downloaded.
pub const EXPORT_LIFETIME_MICROS: i64 = 7 * 86_400 * 1_000_000;
/// An export still running after this long is taken as failed (its builder died).
const STALE_RUNNING_MICROS: i64 = 6 * 3600 * 1_000_000;
/// Posts read per batch.
const BATCH: i64 = 200;

/// One file of the archive on its way to the zip writer.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    /// Media files are already compressed: stored as they are.
    compress: bool,
}

impl Kring {
    /// Where archives are kept; None: exports are off (no data directory).
    fn exports_dir(&self) -> Result<&Path> {
        self.config
            .exports_dir
            .as_deref()
            .ok_or_else(|| Error::Unavailable("exports are not configured".into()))
    }

    /// Ask for an export of the actor's data. While one is being built, that one is the
    /// answer (one export at a time per person).
    pub async fn request_export(&self, actor: &Actor) -> Result<Export> {
        self.exports_dir()?;
        if let Some(e) = self.store.latest_export(actor.id()).await?
            && e.state == "running"
            && now_micros() - e.created_at < STALE_RUNNING_MICROS
        {
            return Ok(e);
        }
        let id = Id::generate();
        self.store
            .insert_export(id, actor.id(), now_micros())
            .await?;
        self.store
            .enqueue(EXPORT_BUILD, &id.0.to_string(), now_micros())
            .await?;
        self.store.export(id).await?.ok_or(Error::NotFound)
    }

    /// The actor's newest export, unless it has expired.
    pub async fn current_export(&self, actor: &Actor) -> Result<Option<Export>> {
        Ok(self
            .store
            .latest_export(actor.id())
            .await?
            .filter(|e| !expired(e, now_micros())))
    }

    /// A ready, unexpired archive of the actor's: the name to save it as, its size and the
    /// open file (read as it is sent, never whole into memory). Anyone else's, or one that is
    /// not there, is NotFound.
    pub async fn export_download(
        &self,
        actor: &Actor,
        id: Id,
    ) -> Result<(String, u64, tokio::fs::File)> {
        let dir = self.exports_dir()?;
        let e = self.store.export(id).await?.ok_or(Error::NotFound)?;
        if e.account_id != actor.id() || e.state != "ready" || expired(&e, now_micros()) {
            return Err(Error::NotFound);
        }
        let name = e.file_name.ok_or(Error::NotFound)?;
        let file = tokio::fs::File::open(dir.join(&name))
            .await
            .map_err(|_| Error::NotFound)?;
        let size = file.metadata().await.map_err(|_| Error::NotFound)?.len();
        Ok((
            format!("kring-export-{}-{}.zip", actor.account.username, e.id),
            size,
            file,
        ))
    }

    /// The job: build an export's archive, record progress, tell the person when ready.
    pub(crate) async fn build_export_job(&self, payload: &str) -> Result<Outcome> {
        let Some(id) = payload.trim().parse::<i64>().ok().map(Id) else {
            return Ok(Outcome::Done);
        };
        let Some(e) = self.store.export(id).await? else {
            return Ok(Outcome::Done);
        };
        if e.state != "running" {
            return Ok(Outcome::Done);
        }
        let Some(account) = self.store.account(e.account_id).await? else {
            return Ok(Outcome::Done);
        };
        let dir = self.exports_dir()?.to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::Internal(format!("cannot create the exports folder: {e}")))?;
        // A random name: archives are found by their record, never by guessing a name.
        let name = format!("{:032x}.zip", rand::random::<u128>());
        let path = dir.join(&name);
        let store = self.store.clone();
        let built = self
            .write_export(&account, &path, move |p| {
                let store = store.clone();
                async move {
                    let _ = store.set_export_progress(id, p).await;
                }
            })
            .await;
        let size = match built {
            Ok(size) => size,
            Err(err) => {
                let _ = tokio::fs::remove_file(&path).await;
                self.store.fail_export(id).await?;
                tracing::warn!(error = %err, "building an export failed");
                return Ok(Outcome::Done);
            }
        };
        self.store
            .finish_export(id, &name, size as i64, now_micros())
            .await?;
        let mut tx = self.store.begin().await?;
        let n = Notification {
            id: Id::generate(),
            account_id: account.id,
            kind: NotificationType::Export,
            from_account_id: account.id,
            status_id: None,
            group_id: None,
            report_id: None,
            created_at: now_micros(),
        };
        tx.insert_notification(&n).await?;
        tx.commit().await?;
        self.publish_notifications(&[(account.id, n.id)]);
        Ok(Outcome::Done)
    }

    /// Remove archives past their week, and records of failed or abandoned ones.
    pub(crate) async fn sweep_exports(&self) -> Result<()> {
        let Ok(dir) = self.exports_dir() else {
            return Ok(());
        };
        let now = now_micros();
        let old = self
            .store
            .exports_before(now - EXPORT_LIFETIME_MICROS.min(STALE_RUNNING_MICROS))
            .await?;
        for e in old {
            if !expired(&e, now) {
                continue;
            }
            if let Some(name) = &e.file_name
                && valid_file_name(name)
            {
                let _ = tokio::fs::remove_file(dir.join(name)).await;
            }
            self.store.delete_export(e.id).await?;
        }
        Ok(())
    }

    /// Remove every archive of an account (it is being deleted); their rows go with it.
    pub(crate) async fn remove_exports_of(&self, account: Id) -> Result<()> {
        let Ok(dir) = self.exports_dir() else {
            return Ok(());
        };
        for e in self.store.exports_of(account).await? {
            if let Some(name) = &e.file_name
                && valid_file_name(name)
            {
                let _ = tokio::fs::remove_file(dir.join(name)).await;
            }
        }
        Ok(())
    }

    /// Write the archive of the local account named `username` to `out` (`kring export`).
    pub async fn export_user_to_file(&self, username: &str, out: &Path) -> Result<u64> {
        let account = self
            .store
            .account_by_handle(username, None)
            .await?
            .filter(|a| a.domain.is_none())
            .ok_or(Error::NotFound)?;
        self.write_export(&account, out, |_| async {}).await
    }

    /// Write `account`'s archive to `out` (the CLI's `kring export` and the job). `progress`
    /// is told the percent done now and then. Returns the archive's size in bytes.
    pub async fn write_export<F, Fut>(
        &self,
        account: &Account,
        out: &Path,
        progress: F,
    ) -> Result<u64>
    where
        F: Fn(i64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let file = std::fs::File::create(out)
            .map_err(|e| Error::Internal(format!("cannot write {}: {e}", out.display())))?;
        let (send, mut receive) = tokio::sync::mpsc::channel::<Entry>(4);
        // The zip is written on a blocking thread, file by file as they come.
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
            while let Some(entry) = receive.blocking_recv() {
                let method = if entry.compress {
                    zip::CompressionMethod::Deflated
                } else {
                    zip::CompressionMethod::Stored
                };
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(method)
                    .unix_permissions(0o644);
                zip.start_file(entry.name, options)
                    .map_err(std::io::Error::other)?;
                zip.write_all(&entry.bytes)?;
            }
            let mut inner = zip.finish().map_err(std::io::Error::other)?;
            inner.flush()?;
            let file = inner.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            Ok(file.metadata()?.len())
        });
        let produced = self.produce_export(account, &send, &progress).await;
        drop(send);
        let written = writer
            .await
            .map_err(|e| Error::Internal(format!("the archive writer stopped: {e}")))?;
        produced?;
        written.map_err(|e| Error::Internal(format!("cannot write the archive: {e}")))
    }

    async fn produce_export<F, Fut>(
        &self,
        account: &Account,
        send: &tokio::sync::mpsc::Sender<Entry>,
        progress: &F,
    ) -> Result<()>
    where
        F: Fn(i64) -> Fut,
        Fut: Future<Output = ()>,
    {
        let put = |name: &str, bytes: Vec<u8>, compress: bool| {
            let entry = Entry {
                name: name.to_string(),
                bytes,
                compress,
            };
            async move {
                send.send(entry)
                    .await
                    .map_err(|_| Error::Internal("the archive writer stopped".into()))
            }
        };
        let json_bytes = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
        let base = self.config.base_url();

        // actor.json, with the avatar and header as files of the archive.
        let mut actor = self.person_json(account).await?;
        for (field, url, folder) in [
            ("icon", &account.avatar_url, "avatar"),
            ("image", &account.header_url, "header"),
        ] {
            let key = url
                .as_deref()
                .and_then(|u| u.strip_prefix(&format!("{base}/media/")))
                .filter(|k| storage::valid_key(k));
            if let Some(key) = key
                && let Some(bytes) = self.export_media_file(key).await?
            {
                let path = format!("media/{folder}/{key}");
                put(&path, bytes, false).await?;
                if let Some(o) = actor.get_mut(field).and_then(Value::as_object_mut) {
                    o.insert("url".into(), json!(path));
                }
            }
        }
        put("actor.json", json_bytes(&actor), true).await?;

        // outbox.json: every post of every audience, chat messages and boosts.
        let total = self.store.own_status_count(account.id).await?.max(1);
        let mut items = Vec::new();
        let mut after = Id(0);
        let mut done = 0i64;
        loop {
            let ids = self.store.own_status_ids(account.id, after, BATCH).await?;
            let Some(last) = ids.last() else { break };
            after = *last;
            for s in self.store.statuses_by_ids(&ids).await? {
                if let Some(item) = self.export_item(&s, account, &put).await? {
                    items.push(item);
                }
            }
            done += ids.len() as i64;
            progress((done * 90 / total).min(90)).await;
        }
        let outbox = json!({
            "@context": kring_activitypub::as2::context(),
            "id": "outbox.json",
            "type": "OrderedCollection",
            "totalItems": items.len(),
            "orderedItems": items,
        });
        put("outbox.json", json_bytes(&outbox), true).await?;

        let collection = |id: &str, uris: Vec<String>| {
            json!({
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": id, "type": "OrderedCollection",
                "totalItems": uris.len(), "orderedItems": uris,
            })
        };
        let likes = self.store.export_favourite_uris(account.id).await?;
        put(
            "likes.json",
            json_bytes(&collection("likes.json", likes)),
            true,
        )
        .await?;
        let bookmarks = self.store.export_bookmark_uris(account.id).await?;
        let bookmark_rows: Vec<Vec<String>> = bookmarks.iter().map(|u| vec![u.clone()]).collect();
        put(
            "bookmarks.json",
            json_bytes(&collection("bookmarks.json", bookmarks)),
            true,
        )
        .await?;

        // The Mastodon-compatible CSVs.
        let addr = |h: &Handle| self.export_address(h);
        let bool_text = |b: bool| if b { "true" } else { "false" }.to_string();
        let following: Vec<Vec<String>> = self
            .store
            .export_following(account.id)
            .await?
            .iter()
            .map(|(h, boosts, notify)| {
                vec![
                    addr(h),
                    bool_text(*boosts),
                    bool_text(*notify),
                    String::new(),
                ]
            })
            .collect();
        let followers: Vec<Vec<String>> = self
            .store
            .export_followers(account.id)
            .await?
            .iter()
            .map(|h| vec![addr(h)])
            .collect();
        let lists: Vec<Vec<String>> = self
            .store
            .export_list_members(account.id)
            .await?
            .iter()
            .map(|(title, h)| vec![title.clone(), addr(h)])
            .collect();
        let blocked: Vec<Vec<String>> = self
            .store
            .export_blocks(account.id)
            .await?
            .iter()
            .map(|h| vec![addr(h)])
            .collect();
        let muted: Vec<Vec<String>> = self
            .store
            .export_mutes(account.id)
            .await?
            .iter()
            .map(|(h, hide)| vec![addr(h), bool_text(*hide)])
            .collect();
        let domains: Vec<Vec<String>> = self
            .store
            .export_domain_blocks(account.id)
            .await?
            .into_iter()
            .map(|d| vec![d])
            .collect();
        for (name, header, rows) in [
            (
                "following_accounts.csv",
                Some(csv::FOLLOWING_HEADER),
                following,
            ),
            ("followers.csv", Some(csv::FOLLOWERS_HEADER), followers),
            ("lists.csv", None, lists),
            ("blocked_accounts.csv", None, blocked),
            ("muted_accounts.csv", Some(csv::MUTED_HEADER), muted),
            ("blocked_domains.csv", None, domains),
            ("bookmarks.csv", None, bookmark_rows),
        ] {
            put(name, csv::document(header, &rows).into_bytes(), true).await?;
        }

        // Kring's own: circles, groups, chats.
        let members = self.store.export_circle_members(account.id).await?;
        let circles: Vec<Value> = self
            .store
            .circles_of(account.id)
            .await?
            .iter()
            .map(|c| {
                let ms: Vec<String> = members
                    .iter()
                    .filter(|(cid, _)| *cid == c.id)
                    .map(|(_, h)| addr(h))
                    .collect();
                json!({ "id": c.id.to_string(), "title": c.title, "members": ms })
            })
            .collect();
        put("circles.json", json_bytes(&json!(circles)), true).await?;

        let mut groups = Vec::new();
        for (gid, state, role) in self.store.export_group_memberships(account.id).await? {
            let Some(g) = self.store.account(gid).await? else {
                continue;
            };
            let mut entry = json!({
                "id": gid.to_string(),
                "uri": g.uri,
                "address": self.export_address(&Handle { username: g.username.clone(), domain: g.domain.clone().unwrap_or_default(), uri: g.uri.clone() }),
                "state": state,
                "role": role,
            });
            if role.as_deref() == Some("owner")
                && let Some(group) = self.store.group(gid).await?
            {
                let ms: Vec<Value> = self
                    .store
                    .export_group_members(gid)
                    .await?
                    .iter()
                    .map(|(h, st, r)| json!({ "address": addr(h), "state": st, "role": r }))
                    .collect();
                entry["group"] = json!({
                    "name": g.display_name,
                    "note": g.note,
                    "kind": group.kind.as_str(),
                    "members_only": group.members_only,
                    "rules": group.rules,
                    "created_at": rfc3339(group.created_at),
                    "members": ms,
                });
            }
            groups.push(entry);
        }
        put("groups.json", json_bytes(&json!(groups)), true).await?;

        let mut chats = Vec::new();
        for cid in self.store.export_chat_ids(account.id).await? {
            let Some(chat) = self.store.chat(cid).await? else {
                continue;
            };
            let participants: Vec<Value> = self
                .store
                .export_chat_participants(cid)
                .await?
                .iter()
                .map(|(h, st)| json!({ "address": addr(h), "state": st }))
                .collect();
            let messages = self.store.export_chat_message_uris(cid, account.id).await?;
            chats.push(json!({
                "id": cid.to_string(),
                "uri": chat.uri,
                "name": chat.name,
                "participants": participants,
                "messages": messages,
            }));
        }
        put("chats.json", json_bytes(&json!(chats)), true).await?;
        progress(99).await;
        Ok(())
    }

    /// One outbox item: a Create of the post as sent, with Kring's audience beside it, its
    /// attachments' files put into the archive; or the Announce of a boost.
    async fn export_item<P, PF>(
        &self,
        s: &kring_core::model::Status,
        account: &Account,
        put: &P,
    ) -> Result<Option<Value>>
    where
        P: Fn(&str, Vec<u8>, bool) -> PF,
        PF: Future<Output = Result<()>>,
    {
        let mut item = match self.outbox_item(s, account).await {
            Ok(item) => item,
            // A boost of a post that is gone.
            Err(Error::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if s.reblog_of_id.is_some() {
            item["kringVisibility"] = json!(s.visibility.as_str());
            return Ok(Some(item));
        }
        let Some(note) = item.get_mut("object") else {
            return Ok(Some(item));
        };
        note[kring_activitypub::as2::KRING_VISIBILITY] = json!(s.visibility.as_str());
        // What the person typed, so an import elsewhere can still edit it as written.
        if !s.text.is_empty() {
            note["source"] = json!({ "content": s.text, "mediaType": "text/plain" });
        }
        if let Some(audience) = self.store.audience_of(s.id).await? {
            let circles: Vec<String> = audience
                .grants
                .iter()
                .filter_map(|g| match g {
                    Grant::Circle(c) => Some(c.to_string()),
                    _ => None,
                })
                .collect();
            if !circles.is_empty() {
                note["kringCircles"] = json!(circles);
            }
            if audience.local_only {
                note["kringLocalOnly"] = json!(true);
            }
        }
        if let Some(g) = self.store.group_of_status(s.id).await? {
            note["kringGroup"] = json!(g.to_string());
        }
        if let Some(c) = self.store.chat_of_status(s.id).await? {
            note["kringChat"] = json!(c.to_string());
        }
        let media = self.store.media_of_statuses(&[s.id]).await?;
        let mut paths = Vec::new();
        for m in &media {
            let path = match &m.file_key {
                Some(key) if storage::valid_key(key) => match self.export_media_file(key).await? {
                    Some(bytes) => {
                        let path = format!("media/attachments/{key}");
                        put(&path, bytes, false).await?;
                        Some(path)
                    }
                    None => None,
                },
                _ => None,
            };
            paths.push(path);
        }
        if let Some(list) = note.get_mut("attachment").and_then(Value::as_array_mut) {
            for (a, path) in list.iter_mut().zip(paths) {
                if let Some(path) = path {
                    a["url"] = json!(path);
                }
            }
        }
        Ok(Some(item))
    }

    /// A media file's bytes, read through the media storage (the one place the export
    /// touches it).
    async fn export_media_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.media_storage() {
            Some(storage) => storage.get(key).await,
            None => Ok(None),
        }
    }

    /// An account's address as Mastodon's CSVs write it: `user@domain`, this server's domain
    /// for local accounts.
    fn export_address(&self, h: &Handle) -> String {
        let domain = if h.domain.is_empty() {
            self.config.domain.as_str()
        } else {
            h.domain.as_str()
        };
        format!("{}@{}", h.username, domain)
    }
}

/// Whether an export is past its time: a ready one after its week, a running one after it
/// was abandoned, a failed one after a day.
fn expired(e: &Export, now: i64) -> bool {
    match e.state.as_str() {
        "ready" => e.ready_at.unwrap_or(e.created_at) + EXPORT_LIFETIME_MICROS <= now,
        "running" => e.created_at + STALE_RUNNING_MICROS <= now,
        _ => e.created_at + 86_400 * 1_000_000 <= now,
    }
}

/// Names given to archives here (exports, and uploads waiting for import): 32 hex digits
/// and `.zip`.
pub(crate) fn valid_file_name(name: &str) -> bool {
    name.strip_suffix(".zip")
        .is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The archive's folder under a data directory.
pub fn exports_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export(state: &str, created_at: i64, ready_at: Option<i64>) -> Export {
        Export {
            id: Id(1),
            account_id: Id(2),
            state: state.into(),
            progress: 0,
            created_at,
            ready_at,
            file_name: None,
            size: 0,
        }
    }

    #[test]
    fn a_ready_archive_lasts_a_week_from_when_it_was_ready() {
        let day = 86_400 * 1_000_000;
        let e = export("ready", 0, Some(day));
        assert!(!expired(&e, 7 * day));
        assert!(!expired(&e, 8 * day - 1));
        assert!(expired(&e, 8 * day));
        assert!(!expired(&export("running", 0, None), 3600 * 1_000_000));
        assert!(expired(&export("running", 0, None), STALE_RUNNING_MICROS));
        assert!(expired(&export("failed", 0, None), day));
    }

    #[test]
    fn only_names_given_here_are_removed() {
        assert!(valid_file_name("0123456789abcdef0123456789abcdef.zip"));
        assert!(!valid_file_name("../0123456789abcdef0123456789abcd.zip"));
        assert!(!valid_file_name("kring.db"));
    }
}
