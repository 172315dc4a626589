//! A person's data, read whole for the export archive (docs/export-format.md), and the
//! `exports` table that records each archive being built or ready.
use kring_core::{Error, Id};

use crate::{Store, db_err};

/// Another account as the export names it: `username` and `domain` ('' for this server).
#[derive(Debug, Clone)]
pub struct Handle {
    pub username: String,
    pub domain: String,
    pub uri: String,
}

/// One export archive.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: Id,
    pub account_id: Id,
    /// `running`, `ready` or `failed`.
    pub state: String,
    /// Percent done.
    pub progress: i64,
    pub created_at: i64,
    pub ready_at: Option<i64>,
    /// The archive's file name under the exports folder, once ready.
    pub file_name: Option<String>,
    pub size: i64,
}

type ExportRow = (i64, i64, String, i64, i64, Option<i64>, Option<String>, i64);

impl From<ExportRow> for Export {
    fn from(r: ExportRow) -> Export {
        Export {
            id: Id(r.0),
            account_id: Id(r.1),
            state: r.2,
            progress: r.3,
            created_at: r.4,
            ready_at: r.5,
            file_name: r.6,
            size: r.7,
        }
    }
}

const EXPORT_COLUMNS: &str =
    "id, account_id, state, progress, created_at, ready_at, file_name, size";

fn handles(rows: Vec<(String, String, String)>) -> Vec<Handle> {
    rows.into_iter()
        .map(|(username, domain, uri)| Handle {
            username,
            domain,
            uri,
        })
        .collect()
}

impl Store {
    /// Ids of every status `account` wrote (posts of every audience, chat messages, boosts),
    /// oldest first, after `after`.
    pub async fn own_status_ids(
        &self,
        account: Id,
        after: Id,
        limit: i64,
    ) -> Result<Vec<Id>, Error> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM statuses WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(account.0)
        .bind(after.0)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(id,)| Id(id)).collect())
    }

    pub async fn own_status_count(&self, account: Id) -> Result<i64, Error> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM statuses WHERE account_id = $1")
            .bind(account.0)
            .fetch_one(self.pool())
            .await
            .map_err(db_err)?;
        Ok(n)
    }

    /// The accounts `account` follows, with the follow's "show boosts" and "notify" choices.
    pub async fn export_following(&self, account: Id) -> Result<Vec<(Handle, bool, bool)>, Error> {
        let rows: Vec<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri, f.show_reblogs, f.notify FROM follows f \
             JOIN accounts a ON a.id = f.target_id WHERE f.account_id = $1 ORDER BY f.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(username, domain, uri, r, n)| {
                (
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                    r != 0,
                    n != 0,
                )
            })
            .collect())
    }

    /// The accounts following `account`.
    pub async fn export_followers(&self, account: Id) -> Result<Vec<Handle>, Error> {
        let rows = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri FROM follows f \
             JOIN accounts a ON a.id = f.account_id WHERE f.target_id = $1 ORDER BY f.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(handles(rows))
    }

    /// Each of `account`'s lists with its members: (list title, member).
    pub async fn export_list_members(&self, account: Id) -> Result<Vec<(String, Handle)>, Error> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT l.title, a.username, a.domain, a.uri FROM lists l \
             JOIN list_accounts la ON la.list_id = l.id JOIN accounts a ON a.id = la.account_id \
             WHERE l.account_id = $1 ORDER BY l.id, a.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(t, username, domain, uri)| {
                (
                    t,
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                )
            })
            .collect())
    }

    pub async fn export_blocks(&self, account: Id) -> Result<Vec<Handle>, Error> {
        let rows = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri FROM blocks b \
             JOIN accounts a ON a.id = b.target_id WHERE b.account_id = $1 ORDER BY b.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(handles(rows))
    }

    /// Muted accounts, with whether their notifications are hidden too.
    pub async fn export_mutes(&self, account: Id) -> Result<Vec<(Handle, bool)>, Error> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri, m.notifications FROM mutes m \
             JOIN accounts a ON a.id = m.target_id WHERE m.account_id = $1 ORDER BY m.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(username, domain, uri, n)| {
                (
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                    n != 0,
                )
            })
            .collect())
    }

    pub async fn export_domain_blocks(&self, account: Id) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT domain FROM account_domain_blocks WHERE account_id = $1 ORDER BY id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(d,)| d).collect())
    }

    /// The URIs of the posts `account` bookmarked, oldest bookmark first.
    pub async fn export_bookmark_uris(&self, account: Id) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT s.uri FROM bookmarks b JOIN statuses s ON s.id = b.status_id \
             WHERE b.account_id = $1 ORDER BY b.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// The URIs of the posts `account` liked, oldest like first.
    pub async fn export_favourite_uris(&self, account: Id) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT s.uri FROM favourites f JOIN statuses s ON s.id = f.status_id \
             WHERE f.account_id = $1 ORDER BY f.id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// The members of every circle of `owner`: (circle id, member).
    pub async fn export_circle_members(&self, owner: Id) -> Result<Vec<(Id, Handle)>, Error> {
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT c.id, a.username, a.domain, a.uri FROM circles c \
             JOIN circle_members m ON m.circle_id = c.id JOIN accounts a ON a.id = m.account_id \
             WHERE c.account_id = $1 ORDER BY c.id, a.id",
        )
        .bind(owner.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(c, username, domain, uri)| {
                (
                    Id(c),
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                )
            })
            .collect())
    }

    /// Every group membership of `account` (any state): (group id, state, role).
    pub async fn export_group_memberships(
        &self,
        account: Id,
    ) -> Result<Vec<(Id, String, Option<String>)>, Error> {
        let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
            "SELECT group_id, state, role FROM group_memberships WHERE account_id = $1 ORDER BY group_id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(g, s, r)| (Id(g), s, r)).collect())
    }

    /// Every membership of a group: (member, state, role).
    pub async fn export_group_members(
        &self,
        group: Id,
    ) -> Result<Vec<(Handle, String, Option<String>)>, Error> {
        let rows: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri, m.state, m.role FROM group_memberships m \
             JOIN accounts a ON a.id = m.account_id WHERE m.group_id = $1 ORDER BY m.created_at, a.id",
        )
        .bind(group.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(username, domain, uri, s, r)| {
                (
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                    s,
                    r,
                )
            })
            .collect())
    }

    /// The chats `account` takes or took part in.
    pub async fn export_chat_ids(&self, account: Id) -> Result<Vec<Id>, Error> {
        let rows: Vec<(i64,)> = sqlx::query_as(
            "SELECT chat_id FROM chat_participants WHERE account_id = $1 ORDER BY chat_id",
        )
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(c,)| Id(c)).collect())
    }

    /// The URIs of the messages `author` wrote in a chat, oldest first.
    pub async fn export_chat_message_uris(
        &self,
        chat: Id,
        author: Id,
    ) -> Result<Vec<String>, Error> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT s.uri FROM chat_messages m JOIN statuses s ON s.id = m.status_id \
             WHERE m.chat_id = $1 AND s.account_id = $2 ORDER BY s.id",
        )
        .bind(chat.0)
        .bind(author.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// The participants of a chat as handles, with their state.
    pub async fn export_chat_participants(&self, chat: Id) -> Result<Vec<(Handle, String)>, Error> {
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT a.username, a.domain, a.uri, p.state FROM chat_participants p \
             JOIN accounts a ON a.id = p.account_id WHERE p.chat_id = $1 ORDER BY a.id",
        )
        .bind(chat.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(username, domain, uri, s)| {
                (
                    Handle {
                        username,
                        domain,
                        uri,
                    },
                    s,
                )
            })
            .collect())
    }

    // --- the exports table ------------------------------------------------------------
    // Its writes take the store's write lock (`writer`) like every other: on SQLite a write
    // beside the lock waits in SQLite's busy handler instead of the lock's fair queue.

    pub async fn insert_export(&self, id: Id, account: Id, now: i64) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO exports (id, account_id, state, progress, created_at, size) VALUES ($1,$2,'running',0,$3,0)",
        )
        .bind(id.0)
        .bind(account.0)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn export(&self, id: Id) -> Result<Option<Export>, Error> {
        let row: Option<ExportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Export::from))
    }

    /// `account`'s newest export, of any state.
    pub async fn latest_export(&self, account: Id) -> Result<Option<Export>, Error> {
        let row: Option<ExportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE account_id = $1 ORDER BY id DESC LIMIT 1"
        )))
        .bind(account.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Export::from))
    }

    pub async fn set_export_progress(&self, id: Id, progress: i64) -> Result<(), Error> {
        sqlx::query("UPDATE exports SET progress = $1 WHERE id = $2 AND state = 'running'")
            .bind(progress)
            .bind(id.0)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    pub async fn finish_export(
        &self,
        id: Id,
        file_name: &str,
        size: i64,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE exports SET state = 'ready', progress = 100, file_name = $1, size = $2, ready_at = $3 WHERE id = $4",
        )
        .bind(file_name)
        .bind(size)
        .bind(now)
        .bind(id.0)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn fail_export(&self, id: Id) -> Result<(), Error> {
        sqlx::query("UPDATE exports SET state = 'failed' WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Every export of an account (its archives go when the account does).
    pub async fn exports_of(&self, account: Id) -> Result<Vec<Export>, Error> {
        let rows: Vec<ExportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE account_id = $1 ORDER BY id"
        )))
        .bind(account.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Export::from).collect())
    }

    /// Exports made before `before` (ready ones by when they were ready).
    pub async fn exports_before(&self, before: i64) -> Result<Vec<Export>, Error> {
        let rows: Vec<ExportRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports WHERE COALESCE(ready_at, created_at) < $1 ORDER BY id"
        )))
        .bind(before)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Export::from).collect())
    }

    pub async fn delete_export(&self, id: Id) -> Result<(), Error> {
        sqlx::query("DELETE FROM exports WHERE id = $1")
            .bind(id.0)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
