//! Media attachments (`media_attachments`): uploads waiting for a post, the attachments of
//! posts here and of remote posts. What is allowed is decided in `kring_service::media`.
use kring_core::media::{Focus, MediaAttachment, MediaKind, MediaMeta};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use crate::sql::Sql;
use crate::{Backend, Store, Tx, db_err};

const MEDIA_COLUMNS: &str = "id, account_id, status_id, kind, mime, file_key, thumbnail_key, \
    file_size, meta, description, focus, blurhash, remote_url, created_at";

/// The attachments of the statuses `ids`, in order (also run by `hydrate` on SQLite).
pub(crate) fn media_of_statuses_sql(backend: Backend, ids: &[Id]) -> Sql {
    let mut sql = Sql::new("");
    if backend == Backend::Sqlite {
        // The ids joined, not tested with `IN` (`Sql::id_rows`).
        let rows = sql.id_rows(ids);
        sql.push(&format!(
            "WITH {rows} SELECT {MEDIA_COLUMNS} FROM page_ids CROSS JOIN media_attachments \
             WHERE status_id = page_ids.page_id"
        ));
    } else {
        sql.push(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media_attachments WHERE "
        ));
        sql.in_ids(backend, "status_id", ids);
    }
    sql.push(" ORDER BY status_id, position, id");
    sql
}

/// A row of `MEDIA_COLUMNS` read on a SQLite reader.
pub(crate) fn media_from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<MediaAttachment> {
    Ok(MediaRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        status_id: r.get(2)?,
        kind: r.get(3)?,
        mime: r.get(4)?,
        file_key: r.get(5)?,
        thumbnail_key: r.get(6)?,
        file_size: r.get(7)?,
        meta: r.get(8)?,
        description: r.get(9)?,
        focus: r.get(10)?,
        blurhash: r.get(11)?,
        remote_url: r.get(12)?,
        created_at: r.get(13)?,
    }
    .into_domain())
}

// Deserialize: `hydrate` reads these rows as JSON objects on PostgreSQL.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(crate) struct MediaRow {
    id: i64,
    account_id: i64,
    status_id: Option<i64>,
    kind: String,
    mime: String,
    file_key: Option<String>,
    thumbnail_key: Option<String>,
    file_size: i64,
    meta: String,
    description: String,
    focus: String,
    blurhash: Option<String>,
    remote_url: Option<String>,
    created_at: i64,
}

impl MediaRow {
    pub(crate) fn into_domain(self) -> MediaAttachment {
        MediaAttachment {
            id: Id(self.id),
            account_id: Id(self.account_id),
            status_id: self.status_id.map(Id),
            kind: MediaKind::parse(&self.kind),
            mime: self.mime,
            file_key: self.file_key,
            thumbnail_key: self.thumbnail_key,
            file_size: self.file_size,
            meta: serde_json::from_str::<MediaMeta>(&self.meta).unwrap_or_default(),
            description: self.description,
            focus: Focus::parse(&self.focus),
            blurhash: self.blurhash,
            remote_url: self.remote_url,
            created_at: self.created_at,
        }
    }
}

fn meta_json(m: &MediaMeta) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

fn focus_text(f: Option<Focus>) -> String {
    f.map(Focus::to_text).unwrap_or_default()
}

impl Store {
    pub async fn media(&self, id: Id) -> Result<Option<MediaAttachment>, Error> {
        Ok(self.media_by_ids(&[id]).await?.pop())
    }

    /// Attachments by id, in no particular order.
    pub async fn media_by_ids(&self, ids: &[Id]) -> Result<Vec<MediaAttachment>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {MEDIA_COLUMNS} FROM media_attachments WHERE "
        ));
        sql.in_ids(self.backend, "id", ids);
        let rows: Vec<MediaRow> = sql
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(MediaRow::into_domain).collect())
    }

    /// The attachments of these statuses, each post's in its order.
    pub async fn media_of_statuses(&self, ids: &[Id]) -> Result<Vec<MediaAttachment>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<MediaRow> = media_of_statuses_sql(self.backend, ids)
            .query_as()
            .fetch_all(self.pool())
            .await
            .map_err(db_err)?;
        Ok(rows.into_iter().map(MediaRow::into_domain).collect())
    }

    /// Record an upload (not attached to anything yet).
    pub async fn insert_media(&self, m: &MediaAttachment) -> Result<(), Error> {
        let mut w = self.writer().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO media_attachments ({MEDIA_COLUMNS}, detached_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)"
        )))
        .bind(m.id.0)
        .bind(m.account_id.0)
        .bind(m.status_id.map(|i| i.0))
        .bind(m.kind.as_str())
        .bind(&m.mime)
        .bind(m.file_key.as_deref())
        .bind(m.thumbnail_key.as_deref())
        .bind(m.file_size)
        .bind(meta_json(&m.meta))
        .bind(&m.description)
        .bind(focus_text(m.focus))
        .bind(m.blurhash.as_deref())
        .bind(m.remote_url.as_deref())
        .bind(m.created_at)
        .execute(&mut *w)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Change an attachment's alt text and focal point (both as given).
    pub async fn update_media(
        &self,
        id: Id,
        description: &str,
        focus: Option<Focus>,
    ) -> Result<(), Error> {
        let mut w = self.writer().await?;
        sqlx::query("UPDATE media_attachments SET description = $1, focus = $2 WHERE id = $3")
            .bind(description)
            .bind(focus_text(focus))
            .bind(id.0)
            .execute(&mut *w)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Remove attachment rows; only those still without a status when `unattached_only`.
    /// Returns the rows removed (their files are the caller's to remove).
    pub async fn delete_media(
        &self,
        ids: &[Id],
        unattached_only: bool,
    ) -> Result<Vec<MediaAttachment>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("DELETE FROM media_attachments WHERE ");
        sql.in_ids(self.backend, "id", ids);
        if unattached_only {
            sql.push(" AND status_id IS NULL");
        }
        sql.push(&format!(" RETURNING {MEDIA_COLUMNS}"));
        let mut w = self.writer().await?;
        let rows: Vec<MediaRow> = sql.query_as().fetch_all(&mut *w).await.map_err(db_err)?;
        Ok(rows.into_iter().map(MediaRow::into_domain).collect())
    }

    /// Ids of attachments without a status since before `before` (microseconds), at most
    /// `limit`. A remote post's attachments lose their status when it is deleted (no time
    /// is recorded then: they are due at once).
    pub async fn unattached_media_before(&self, before: i64, limit: i64) -> Result<Vec<Id>, Error> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM media_attachments WHERE status_id IS NULL AND COALESCE(detached_at, 0) < $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(ids.into_iter().map(Id).collect())
    }
}

impl Tx {
    /// Set a local account's avatar (`header`: false) or header picture URL.
    pub async fn set_profile_image(
        &mut self,
        account: Id,
        header: bool,
        url: Option<&str>,
    ) -> Result<(), Error> {
        self.touch(account);
        let column = if header { "header_url" } else { "avatar_url" };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE accounts SET {column} = $1, updated_at = $2 WHERE id = $3"
        )))
        .bind(url)
        .bind(now_micros())
        .bind(account.0)
        .execute(&mut *self.tx)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Make `ids` (in this order) the attachments of `status`; attachments it had that are not
    /// among them go back to waiting (and are swept a day later unless attached again).
    pub async fn set_status_media(&mut self, status: Id, ids: &[Id]) -> Result<(), Error> {
        let now = now_micros();
        let mut sql = Sql::new("UPDATE media_attachments SET status_id = NULL, detached_at = ");
        sql.bind(now);
        sql.push(" WHERE status_id = ");
        sql.bind(status);
        if !ids.is_empty() {
            sql.push(" AND ");
            sql.not_in_ids(self.backend, "id", ids);
        }
        sql.query().execute(&mut *self.tx).await.map_err(db_err)?;
        for (position, id) in ids.iter().enumerate() {
            sqlx::query(
                "UPDATE media_attachments SET status_id = $1, position = $2, detached_at = NULL \
                 WHERE id = $3",
            )
            .bind(status.0)
            .bind(position as i64)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    /// Record the attachments of a remote post (each already checked: http(s) URLs only).
    pub async fn insert_status_media(
        &mut self,
        status: Id,
        list: &[MediaAttachment],
    ) -> Result<(), Error> {
        for (position, m) in list.iter().enumerate() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO media_attachments ({MEDIA_COLUMNS}, position) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
            )))
            .bind(m.id.0)
            .bind(m.account_id.0)
            .bind(status.0)
            .bind(m.kind.as_str())
            .bind(&m.mime)
            .bind(m.file_key.as_deref())
            .bind(m.thumbnail_key.as_deref())
            .bind(m.file_size)
            .bind(meta_json(&m.meta))
            .bind(&m.description)
            .bind(focus_text(m.focus))
            .bind(m.blurhash.as_deref())
            .bind(m.remote_url.as_deref())
            .bind(m.created_at)
            .bind(position as i64)
            .execute(&mut *self.tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }
}
