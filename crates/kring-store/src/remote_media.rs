//! The cache of remote media (`remote_media_cache`): which copy in the media storage holds
//! what was fetched from another server, how large it is and when it was last used. What is
//! cached and when it goes is decided in `kring_service::media::remote`.
use kring_core::Error;

use crate::{Store, db_err};

/// One cached copy.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CachedRemoteMedia {
    /// A hash of what was fetched (`kring_service::media::remote::cache_key`).
    pub cache_key: String,
    /// The copy's key in the media storage.
    pub file_key: String,
    /// The type the copy's bytes were sniffed as.
    pub content_type: String,
    pub size: i64,
    /// Microseconds.
    pub cached_at: i64,
    pub last_used_at: i64,
}

const COLUMNS: &str = "cache_key, file_key, content_type, size, cached_at, last_used_at";

impl Store {
    pub async fn cached_remote_media(
        &self,
        cache_key: &str,
    ) -> Result<Option<CachedRemoteMedia>, Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM remote_media_cache WHERE cache_key = $1"
        )))
        .bind(cache_key)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)
    }

    /// Record a copy, replacing any under the same `cache_key`. Returns the replaced copy's
    /// file key when it was another file (the caller removes that file).
    pub async fn record_remote_media(
        &self,
        c: &CachedRemoteMedia,
    ) -> Result<Option<String>, Error> {
        let mut tx = self.begin().await?;
        let old: Option<(String,)> =
            sqlx::query_as("SELECT file_key FROM remote_media_cache WHERE cache_key = $1")
                .bind(&c.cache_key)
                .fetch_optional(&mut *tx.tx)
                .await
                .map_err(db_err)?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO remote_media_cache ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6) \
             ON CONFLICT (cache_key) DO UPDATE SET file_key = $2, content_type = $3, size = $4, \
             cached_at = $5, last_used_at = $6"
        )))
        .bind(&c.cache_key)
        .bind(&c.file_key)
        .bind(&c.content_type)
        .bind(c.size)
        .bind(c.cached_at)
        .bind(c.last_used_at)
        .execute(&mut *tx.tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(old.map(|(k,)| k).filter(|k| *k != c.file_key))
    }

    /// A copy was used at `now` (microseconds).
    pub async fn touch_remote_media(&self, cache_key: &str, now: i64) -> Result<(), Error> {
        let mut w = self.writer().await?;
        sqlx::query("UPDATE remote_media_cache SET last_used_at = $2 WHERE cache_key = $1")
            .bind(cache_key)
            .bind(now)
            .execute(&mut *w)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Up to `limit` copies, least recently used first.
    pub async fn remote_media_by_last_use(
        &self,
        limit: i64,
    ) -> Result<Vec<CachedRemoteMedia>, Error> {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM remote_media_cache ORDER BY last_used_at, cache_key LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)
    }

    /// How many copies there are and their bytes together.
    pub async fn remote_media_totals(&self) -> Result<(i64, i64), Error> {
        let (n, bytes): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM remote_media_cache",
        )
        .fetch_one(self.pool())
        .await
        .map_err(db_err)?;
        Ok((n, bytes.unwrap_or(0)))
    }

    /// Forget a copy, only if it is still the one named `file_key` (another process may have
    /// replaced it meanwhile). Returns whether it was forgotten.
    pub async fn forget_remote_media(
        &self,
        cache_key: &str,
        file_key: &str,
    ) -> Result<bool, Error> {
        let mut w = self.writer().await?;
        let done =
            sqlx::query("DELETE FROM remote_media_cache WHERE cache_key = $1 AND file_key = $2")
                .bind(cache_key)
                .bind(file_key)
                .execute(&mut *w)
                .await
                .map_err(db_err)?;
        Ok(done.rows_affected() > 0)
    }
}
