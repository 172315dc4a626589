//! Importing what another server exported: Mastodon's CSV files (follows, blocks, mutes,
//! blocked domains, bookmarks, lists), merged with what the person has or replacing it, as
//! Mastodon and GoToSocial do; and archives — Kring's (those CSVs, circles and posts) and
//! Mastodon's (posts, `import_posts`). The file is read and checked at once; the rows, which may name
//! accounts and posts on other servers, are applied in the background (a `data.import` job):
//! each row on its own, a row that cannot be applied (an unknown account, a server that does
//! not answer) is skipped and counted. Importing the same file twice changes nothing the
//! second time.
use kring_core::Error;
use kring_core::model::Page;
use serde::{Deserialize, Serialize};

use crate::{Actor, Id, Kring, Result};

pub const IMPORT: &str = "data.import";
/// Rows one file may hold (Mastodon allows up to 7,500 follows and 50,000 other rows).
const MAX_ROWS: usize = 20_000;
/// The largest CSV file (Mastodon's limit is 1 MB; room to spare).
const MAX_CSV: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Following,
    Blocks,
    Mutes,
    DomainBlocks,
    Bookmarks,
    Lists,
    /// Kring's `circles.json`, read into rows of (circle title, member address).
    Circles,
}

impl ImportKind {
    /// Mastodon's and GoToSocial's names (`following`, `blocks`, `mutes`, `domain_blocks`,
    /// `bookmarks`, `lists`).
    pub fn parse(s: &str) -> Option<ImportKind> {
        Some(match s {
            "following" | "following_accounts" => ImportKind::Following,
            "blocks" | "blocked_accounts" => ImportKind::Blocks,
            "mutes" | "muted_accounts" => ImportKind::Mutes,
            "domain_blocks" | "blocked_domains" => ImportKind::DomainBlocks,
            "bookmarks" => ImportKind::Bookmarks,
            "lists" => ImportKind::Lists,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Add to what is there.
    Merge,
    /// Make it exactly the file's (what the file does not name is undone).
    Overwrite,
}

impl ImportMode {
    /// `merge` (also when not given) or `overwrite`, as every door names them.
    pub fn parse(s: &str) -> Option<ImportMode> {
        match s {
            "" | "merge" => Some(ImportMode::Merge),
            "overwrite" => Some(ImportMode::Overwrite),
            _ => None,
        }
    }
}

/// What a file to import is: one of Mastodon's CSVs, or an archive (Kring's or Mastodon's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFile {
    Csv(ImportKind),
    Archive,
}

impl ImportFile {
    /// The `type` every door takes: `archive`, or a CSV's kind (its file name works too).
    pub fn parse(s: &str) -> Option<ImportFile> {
        match s {
            "archive" => Some(ImportFile::Archive),
            s => ImportKind::parse(s.trim_end_matches(".csv")).map(ImportFile::Csv),
        }
    }
}

/// One import: the rows of each file, applied one file after the other (one job, so two
/// files never race to create the same list or circle).
#[derive(Serialize, Deserialize)]
struct ImportJob {
    account: Id,
    mode: ImportMode,
    parts: Vec<(ImportKind, Vec<Vec<String>>)>,
    /// An archive with posts, kept under the imports folder until the job has read it (its
    /// posts are imported after the connections, so that its circles exist).
    #[serde(default)]
    archive: Option<String>,
}

/// What applying an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub applied: usize,
    pub skipped: usize,
    pub removed: usize,
}

impl Imported {
    fn add(&mut self, other: Imported) {
        self.applied += other.applied;
        self.skipped += other.skipped;
        self.removed += other.removed;
    }
}

impl Kring {
    /// Read a file and queue what it holds, applied in the background (answers how many
    /// rows of connections were read).
    pub async fn import(
        &self,
        actor: &Actor,
        file: ImportFile,
        mode: ImportMode,
        data: &[u8],
    ) -> Result<usize> {
        match file {
            ImportFile::Csv(kind) => self.import_csv(actor, kind, mode, data).await,
            ImportFile::Archive => self.import_archive(actor, mode, data).await,
        }
    }

    /// Read a file and apply it now (the console's `kring import`).
    pub async fn import_now(
        &self,
        actor: &Actor,
        file: ImportFile,
        mode: ImportMode,
        data: &[u8],
    ) -> Result<Imported> {
        match file {
            ImportFile::Csv(kind) => self.import_csv_now(actor, kind, mode, data).await,
            ImportFile::Archive => self.import_archive_now(actor, mode, data).await,
        }
    }

    /// Read a Mastodon CSV and queue its rows (answers how many were read).
    async fn import_csv(
        &self,
        actor: &Actor,
        kind: ImportKind,
        mode: ImportMode,
        data: &[u8],
    ) -> Result<usize> {
        let rows = read_csv(kind, data)?;
        self.queue_import(actor, mode, vec![(kind, rows)], None)
            .await
    }

    async fn queue_import(
        &self,
        actor: &Actor,
        mode: ImportMode,
        parts: Vec<(ImportKind, Vec<Vec<String>>)>,
        archive: Option<String>,
    ) -> Result<usize> {
        let n = parts.iter().map(|(_, rows)| rows.len()).sum();
        let job = ImportJob {
            account: actor.id(),
            mode,
            parts,
            archive,
        };
        let payload = serde_json::to_string(&job).map_err(Error::internal)?;
        self.store
            .enqueue(IMPORT, &payload, kring_core::time::now_micros())
            .await?;
        Ok(n)
    }

    /// Read an archive — Kring's (the zip of `kring export`, docs/export-format.md) or
    /// Mastodon's — and queue what it holds: the person's connections (the Mastodon CSVs a
    /// Kring archive carries and its circles) and their posts. Answers how many rows of
    /// connections were read.
    async fn import_archive(&self, actor: &Actor, mode: ImportMode, data: &[u8]) -> Result<usize> {
        let parts = read_archive(data)?;
        let archive = if super::import_posts::has_posts(data) {
            Some(self.keep_archive(data).await?)
        } else {
            None
        };
        self.queue_import(actor, mode, parts, archive).await
    }

    /// Keep an uploaded archive for its job (a file, not a job's payload: it may be large).
    async fn keep_archive(&self, data: &[u8]) -> Result<String> {
        let dir = self.imports_dir()?;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(Error::internal)?;
        let name = format!("{:032x}.zip", rand::random::<u128>());
        tokio::fs::write(dir.join(&name), data)
            .await
            .map_err(Error::internal)?;
        Ok(name)
    }

    fn imports_dir(&self) -> Result<&std::path::Path> {
        self.config
            .imports_dir
            .as_deref()
            .ok_or_else(|| Error::validation("Importing posts is not enabled on this server"))
    }

    /// Read and apply a Kring archive now (the console's `kring import --type archive`).
    async fn import_archive_now(
        &self,
        actor: &Actor,
        mode: ImportMode,
        data: &[u8],
    ) -> Result<Imported> {
        let mut done = Imported::default();
        for (kind, rows) in read_archive(data)? {
            done.add(self.apply_import(actor, kind, mode, &rows).await?);
        }
        done.add(self.import_archive_posts(actor, data).await?);
        Ok(done)
    }

    /// Read and apply a Mastodon CSV now (the console's `kring import`).
    async fn import_csv_now(
        &self,
        actor: &Actor,
        kind: ImportKind,
        mode: ImportMode,
        data: &[u8],
    ) -> Result<Imported> {
        let rows = read_csv(kind, data)?;
        self.apply_import(actor, kind, mode, &rows).await
    }

    /// The `data.import` job.
    pub(crate) async fn run_import(&self, payload: &str) -> Result<()> {
        let job: ImportJob = serde_json::from_str(payload).map_err(Error::internal)?;
        let actor = match self.actor(job.account).await {
            Ok(a) => a,
            Err(e) => {
                // The account is gone: so goes the archive it uploaded.
                if let (Some(name), Ok(dir)) = (&job.archive, self.imports_dir()) {
                    let _ = tokio::fs::remove_file(dir.join(name)).await;
                }
                return Err(e);
            }
        };
        for (kind, rows) in &job.parts {
            let done = self.apply_import(&actor, *kind, job.mode, rows).await?;
            tracing::info!(account = %job.account, kind = ?kind, applied = done.applied,
                skipped = done.skipped, removed = done.removed, "import applied");
        }
        if let Some(name) = job
            .archive
            .as_ref()
            .filter(|n| super::export::valid_file_name(n))
        {
            let path = self.imports_dir()?.join(name);
            // Gone: a retry after the posts were imported (and the file removed).
            let Ok(data) = tokio::fs::read(&path).await else {
                return Ok(());
            };
            let done = self.import_archive_posts(&actor, &data).await;
            let _ = tokio::fs::remove_file(&path).await;
            let done = done?;
            tracing::info!(account = %job.account, applied = done.applied,
                skipped = done.skipped, "archive posts imported");
        }
        Ok(())
    }

    async fn apply_import(
        &self,
        actor: &Actor,
        kind: ImportKind,
        mode: ImportMode,
        rows: &[Vec<String>],
    ) -> Result<Imported> {
        let mut done = Imported::default();
        match kind {
            ImportKind::DomainBlocks => {
                let wanted: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.first())
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                for d in &wanted {
                    tally(&mut done, self.block_domain(actor, d).await);
                }
                if mode == ImportMode::Overwrite {
                    for (_, d) in self.domain_blocks(actor, &Page::newest(10_000)).await? {
                        if !wanted.contains(&d) {
                            self.unblock_domain(actor, &d).await?;
                            done.removed += 1;
                        }
                    }
                }
            }
            ImportKind::Bookmarks => {
                let mut kept: Vec<Id> = Vec::new();
                for r in rows {
                    let Some(url) = r.first().map(|u| u.trim()) else {
                        continue;
                    };
                    let status = match self.status_named(url).await {
                        Ok(s) => s,
                        Err(_) => {
                            done.skipped += 1;
                            continue;
                        }
                    };
                    kept.push(status);
                    tally(
                        &mut done,
                        self.bookmark(actor, status, true).await.map(|_| ()),
                    );
                }
                if mode == ImportMode::Overwrite {
                    for s in self.store.bookmarked_ids(actor.id()).await? {
                        if !kept.contains(&s) {
                            self.bookmark(actor, s, false).await?;
                            done.removed += 1;
                        }
                    }
                }
            }
            ImportKind::Circles => {
                // Rows: circle title, member address.
                let mut circles = self.circles(actor).await?;
                let mut named: Vec<(Id, Id)> = Vec::new();
                for r in rows {
                    let (Some(title), Some(addr)) = (r.first(), r.get(1)) else {
                        done.skipped += 1;
                        continue;
                    };
                    let title = title.trim();
                    let circle = match circles.iter().find(|c| c.title == title) {
                        Some(c) => c.id,
                        None => {
                            let c = self.create_circle(actor, title).await?;
                            let id = c.id;
                            circles.push(c);
                            id
                        }
                    };
                    if addr.is_empty() {
                        // A circle without members.
                        continue;
                    }
                    let Ok(account) = self.account_named(addr).await else {
                        done.skipped += 1;
                        continue;
                    };
                    named.push((circle, account.id));
                    tally(
                        &mut done,
                        self.add_to_circle(actor, circle, &[account.id]).await,
                    );
                }
                if mode == ImportMode::Overwrite {
                    for c in &circles {
                        for a in self
                            .circle_members(actor, c.id, &Page::newest(10_000))
                            .await?
                        {
                            if !named.contains(&(c.id, a.id)) {
                                self.remove_from_circle(actor, c.id, &[a.id]).await?;
                                done.removed += 1;
                            }
                        }
                    }
                }
            }
            ImportKind::Lists => {
                // Rows: list title, account address.
                let mut lists = self.lists(actor).await?;
                let mut named: Vec<(Id, Id)> = Vec::new();
                for r in rows {
                    let (Some(title), Some(addr)) = (r.first(), r.get(1)) else {
                        done.skipped += 1;
                        continue;
                    };
                    let title = title.trim();
                    let list = match lists.iter().find(|l| l.title == title) {
                        Some(l) => l.id,
                        None => {
                            let l = self.create_list(actor, title, None, false).await?;
                            let id = l.id;
                            lists.push(l);
                            id
                        }
                    };
                    let Ok(account) = self.account_named(addr).await else {
                        done.skipped += 1;
                        continue;
                    };
                    named.push((list, account.id));
                    // Mastodon lists hold accounts one follows: follow first.
                    if !self.store.follows(actor.id(), account.id).await? {
                        let _ = self.follow(actor, account.id, None, None).await;
                    }
                    tally(
                        &mut done,
                        self.add_to_list(actor, list, &[account.id]).await,
                    );
                }
                if mode == ImportMode::Overwrite {
                    for l in &lists {
                        for a in self.store.list_account_ids(l.id).await? {
                            if !named.contains(&(l.id, a)) {
                                self.remove_from_list(actor, l.id, &[a]).await?;
                                done.removed += 1;
                            }
                        }
                    }
                }
            }
            ImportKind::Following | ImportKind::Blocks | ImportKind::Mutes => {
                let mut kept: Vec<Id> = Vec::new();
                for r in rows {
                    let Some(addr) = r.first() else { continue };
                    let Ok(account) = self.account_named(addr).await else {
                        done.skipped += 1;
                        continue;
                    };
                    kept.push(account.id);
                    let flag = |i: usize| {
                        r.get(i)
                            .map(|v| v.trim().eq_ignore_ascii_case("true"))
                            .unwrap_or(false)
                    };
                    let outcome = match kind {
                        ImportKind::Following => {
                            // Columns: address, show boosts, notify, languages.
                            let reblogs = r.get(1).map(|_| flag(1));
                            let notify = r.get(2).map(|_| flag(2));
                            self.follow(actor, account.id, reblogs, notify)
                                .await
                                .map(|_| ())
                        }
                        ImportKind::Blocks => self.block(actor, account.id).await.map(|_| ()),
                        _ => {
                            // Columns: address, hide notifications.
                            let notifications = r.get(1).map(|_| flag(1)).unwrap_or(true);
                            self.mute(actor, account.id, notifications, None)
                                .await
                                .map(|_| ())
                        }
                    };
                    tally(&mut done, outcome);
                }
                if mode == ImportMode::Overwrite {
                    let edge = match kind {
                        ImportKind::Following => kring_store::Edge::Following,
                        ImportKind::Blocks => kring_store::Edge::Blocks,
                        _ => kring_store::Edge::Mutes,
                    };
                    for (_, a) in self.own_edges(actor, edge, &Page::newest(10_000)).await? {
                        if kept.contains(&a.id) {
                            continue;
                        }
                        match kind {
                            ImportKind::Following => {
                                Box::pin(self.unfollow(actor, a.id)).await?;
                            }
                            ImportKind::Blocks => {
                                self.unblock(actor, a.id).await?;
                            }
                            _ => {
                                self.unmute(actor, a.id).await?;
                            }
                        }
                        done.removed += 1;
                    }
                }
            }
        }
        Ok(done)
    }

    /// A post by its URL or id (a bookmark's row), fetched from its server if unknown.
    async fn status_named(&self, url: &str) -> Result<Id> {
        if let Some(s) = self.store.status_by_uri(url).await? {
            return Ok(s.id);
        }
        if let Some(id) = self.store.status_id_by_url(url).await? {
            return Ok(id);
        }
        // A web address (Mastodon's bookmarks.csv has those) or an ActivityPub id, read as a
        // pasted link is in search.
        match self.resolve_pasted_url(url).await? {
            crate::federation::Pasted::Status(s) => Ok(s.id),
            crate::federation::Pasted::Account(_) => Err(Error::NotFound),
        }
    }
}

fn tally(done: &mut Imported, r: Result<()>) {
    match r {
        Ok(()) => done.applied += 1,
        Err(_) => done.skipped += 1,
    }
}

/// The rows of a Mastodon CSV, without its header row (which older exports of follows lack).
fn read_csv(kind: ImportKind, data: &[u8]) -> Result<Vec<Vec<String>>> {
    if data.len() > MAX_CSV {
        return Err(Error::PayloadTooLarge);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|_| Error::validation("The file is not a CSV file Kring can read"))?;
        let row: Vec<String> = record.iter().map(str::to_string).collect();
        if row.iter().all(|c| c.is_empty()) {
            continue;
        }
        if i == 0 && is_header(kind, &row) {
            continue;
        }
        rows.push(row);
        if rows.len() > MAX_ROWS {
            return Err(Error::validation(format!(
                "The file has more than {MAX_ROWS} rows"
            )));
        }
    }
    Ok(rows)
}

/// The connections a Kring archive holds, as import rows: each Mastodon CSV in it, and its
/// circles (`circles.json`) as (title, member) rows.
fn read_archive(data: &[u8]) -> Result<Vec<(ImportKind, Vec<Vec<String>>)>> {
    let unreadable = super::import_posts::unreadable;
    let mut archive = super::import_posts::ArchiveFile::open(data)?;
    // Bounded: a small file may claim to unpack to gigabytes.
    let mut read = |name: &str| archive.read(name, 16 * 1024 * 1024);
    let mut out = Vec::new();
    for (name, kind) in [
        ("following_accounts.csv", ImportKind::Following),
        ("blocked_accounts.csv", ImportKind::Blocks),
        ("muted_accounts.csv", ImportKind::Mutes),
        ("blocked_domains.csv", ImportKind::DomainBlocks),
        ("bookmarks.csv", ImportKind::Bookmarks),
        ("lists.csv", ImportKind::Lists),
    ] {
        if let Some(bytes) = read(name)? {
            out.push((kind, read_csv(kind, &bytes)?));
        }
    }
    if let Some(bytes) = read("circles.json")? {
        #[derive(Deserialize)]
        struct Circle {
            title: String,
            #[serde(default)]
            members: Vec<String>,
        }
        let circles: Vec<Circle> = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
        let mut rows = Vec::new();
        for c in circles {
            if c.members.is_empty() {
                rows.push(vec![c.title.clone(), String::new()]);
            }
            for m in c.members {
                rows.push(vec![c.title.clone(), m]);
            }
        }
        out.push((ImportKind::Circles, rows));
    }
    if out.is_empty() && !super::import_posts::has_posts(data) {
        return Err(unreadable());
    }
    Ok(out)
}

fn is_header(kind: ImportKind, row: &[String]) -> bool {
    let first = row
        .first()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    match kind {
        ImportKind::DomainBlocks => first == "#domain" || first == "domain",
        ImportKind::Bookmarks => !first.contains("://"),
        ImportKind::Lists | ImportKind::Circles => false,
        _ => first == "account address",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mastodon_csvs_are_read_with_or_without_their_header() {
        let rows = read_csv(
            ImportKind::Following,
            b"Account address,Show boosts,Notify on new posts,Languages\nbob@b.example,true,false,\n\ncarol@c.example,false,true,\"en, de\"\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][3], "en, de");
        let rows = read_csv(ImportKind::Following, b"bob@b.example\ncarol@c.example\n").unwrap();
        assert_eq!(rows.len(), 2);
        let rows = read_csv(ImportKind::Lists, b"\"Friends, close\",bob@b.example\n").unwrap();
        assert_eq!(rows[0][0], "Friends, close");
        let rows = read_csv(ImportKind::DomainBlocks, b"#domain\nspam.example\n").unwrap();
        assert_eq!(rows, vec![vec!["spam.example".to_string()]]);
        assert!(ImportKind::parse("blocked_accounts") == Some(ImportKind::Blocks));
    }
}
