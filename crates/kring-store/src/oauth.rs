//! OAuth applications (client secrets stored hashed), access tokens (stored hashed) and
//! authorization codes. Whatever may be used once — a code, a refresh token — is taken with one
//! conditional statement, so two requests racing for it cannot both win.
use kring_core::model::{App, Token};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::rows::AppRow;
use crate::sql::Sql;
use crate::{Store, db_err};

const APP_COLUMNS: &str =
    "id, name, website, redirect_uris, scopes, client_id, client_secret_hash, created_at";

const TOKEN_COLUMNS: &str = "id, app_id, account_id, scopes, created_at, expires_at, last_used_at";

pub struct NewToken {
    pub id: Id,
    pub token_hash: String,
    pub refresh_hash: Option<String>,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: String,
    /// When it stops working (microseconds); None: never.
    pub expires_at: Option<i64>,
}

pub struct AuthCode {
    pub app_id: Id,
    pub account_id: Id,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: Option<String>,
    pub challenge_method: Option<String>,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    app_id: Option<i64>,
    account_id: Option<i64>,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl TokenRow {
    /// A row of `TOKEN_COLUMNS` read on a SQLite reader.
    fn from_sqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
        Ok(TokenRow {
            id: r.get(0)?,
            app_id: r.get(1)?,
            account_id: r.get(2)?,
            scopes: r.get(3)?,
            created_at: r.get(4)?,
            expires_at: r.get(5)?,
            last_used_at: r.get(6)?,
        })
    }
}

impl From<TokenRow> for Token {
    fn from(r: TokenRow) -> Token {
        Token {
            id: Id(r.id),
            app_id: r.app_id.map(Id),
            account_id: r.account_id.map(Id),
            scopes: r.scopes,
            created_at: r.created_at,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    app_id: i64,
    account_id: i64,
    redirect_uri: String,
    scopes: String,
    code_challenge: Option<String>,
    challenge_method: Option<String>,
    expires_at: i64,
}

impl Store {
    pub async fn insert_app(&self, app: &App) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO apps (id, name, website, redirect_uris, scopes, client_id, client_secret, \
             client_secret_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6,'',$7,$8)",
        )
        .bind(app.id.0)
        .bind(&app.name)
        .bind(app.website.as_deref())
        .bind(app.redirect_uris.join("\n"))
        .bind(&app.scopes)
        .bind(&app.client_id)
        .bind(app.client_secret_hash.as_deref())
        .bind(app.created_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    pub async fn app(&self, id: Id) -> Result<Option<App>, Error> {
        let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(App::from))
    }

    pub async fn app_by_client_id(&self, client_id: &str) -> Result<Option<App>, Error> {
        let row: Option<AppRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {APP_COLUMNS} FROM apps WHERE client_id = $1"
        )))
        .bind(client_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(App::from))
    }

    pub async fn insert_token(&self, t: &NewToken) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO access_tokens (id, token_hash, refresh_hash, app_id, account_id, scopes, \
             created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(t.id.0)
        .bind(&t.token_hash)
        .bind(t.refresh_hash.as_deref())
        .bind(t.app_id.map(|i| i.0))
        .bind(t.account_id.map(|i| i.0))
        .bind(&t.scopes)
        .bind(now_micros())
        .bind(t.expires_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// Use a refresh token: revoke the token it belongs to and insert its successor (`next`,
    /// built from the old token) in one transaction. The revoking UPDATE is conditional on the
    /// token still being live and returns the row it changed, so of two requests with the same
    /// refresh token exactly one gets `Some`; on SQLite writers queue, on PostgreSQL the second
    /// UPDATE waits for the first and then finds `revoked_at` set. None: unknown, used, revoked
    /// or another app's.
    pub async fn rotate_refresh_token(
        &self,
        refresh_hash: &str,
        app_id: Id,
        next: impl FnOnce(&Token) -> NewToken,
    ) -> Result<Option<(Token, NewToken)>, Error> {
        let mut tx = self.begin().await?;
        let old: Option<TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE access_tokens SET revoked_at = $1 \
             WHERE refresh_hash = $2 AND app_id = $3 AND revoked_at IS NULL \
             RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(now_micros())
        .bind(refresh_hash)
        .bind(app_id.0)
        .fetch_optional(&mut *tx.tx)
        .await
        .map_err(db_err)?;
        let Some(old) = old.map(Token::from) else {
            return Ok(None);
        };
        let new = next(&old);
        sqlx::query(
            "INSERT INTO access_tokens (id, token_hash, refresh_hash, app_id, account_id, scopes, \
             created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(new.id.0)
        .bind(&new.token_hash)
        .bind(new.refresh_hash.as_deref())
        .bind(new.app_id.map(|i| i.0))
        .bind(new.account_id.map(|i| i.0))
        .bind(&new.scopes)
        .bind(now_micros())
        .bind(new.expires_at)
        .execute(&mut *tx.tx)
        .await
        .map_err(db_err)?;
        tx.commit().await?;
        Ok(Some((old, new)))
    }

    /// A token not revoked, by the hash of its secret (expired ones too: the caller says so).
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, Error> {
        let mut sql = Sql::new(&format!(
            "SELECT {TOKEN_COLUMNS} FROM access_tokens WHERE token_hash = "
        ));
        sql.bind(hash);
        sql.push(" AND revoked_at IS NULL");
        // A token not in memory (a client's first request after a start, or after the cache
        // let it go): on SQLite on the readers, as a page's reads, not a hop to sqlx's thread.
        Ok(self
            .optional_row(sql, TokenRow::from_sqlite)
            .await?
            .map(Token::from))
    }

    /// Live tokens of an account (sessions and authorised apps).
    pub async fn tokens_of(&self, account_id: Id) -> Result<Vec<Token>, Error> {
        let rows: Vec<TokenRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM access_tokens \
             WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id DESC"
        )))
        .bind(account_id.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Token::from).collect())
    }

    /// Revoke by token hash; `app_id` restricts it to tokens of that app (RFC 7009). Returns
    /// the account of each token revoked (None for app-only tokens), for caches to forget.
    pub async fn revoke_token(
        &self,
        hash: &str,
        app_id: Option<Id>,
    ) -> Result<Vec<Option<Id>>, Error> {
        let rows: Vec<Option<i64>> = sqlx::query_scalar(
            "UPDATE access_tokens SET revoked_at = $1 WHERE (token_hash = $2 OR refresh_hash = $2) \
             AND ($3 = 0 OR app_id = $3) AND revoked_at IS NULL RETURNING account_id",
        )
        .bind(now_micros())
        .bind(hash)
        .bind(app_id.map(|i| i.0).unwrap_or(0))
        .fetch_all(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|a| a.map(Id)).collect())
    }

    pub async fn revoke_token_id(&self, id: Id, account_id: Id) -> Result<bool, Error> {
        let r = sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(id.0)
        .bind(account_id.0)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn insert_auth_code(&self, code_hash: &str, c: &AuthCode) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO auth_codes (code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, \
             challenge_method, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(code_hash)
        .bind(c.app_id.0)
        .bind(c.account_id.0)
        .bind(&c.redirect_uri)
        .bind(&c.scopes)
        .bind(c.code_challenge.as_deref())
        .bind(c.challenge_method.as_deref())
        .bind(c.expires_at)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

impl Store {
    /// Take a code: one DELETE … RETURNING, so it can be exchanged once even by two requests
    /// at the same moment (a SELECT then DELETE lets both read it on PostgreSQL).
    pub async fn take_auth_code(&self, code_hash: &str) -> Result<Option<AuthCode>, Error> {
        let row: Option<CodeRow> = sqlx::query_as(
            "DELETE FROM auth_codes WHERE code_hash = $1 RETURNING app_id, account_id, redirect_uri, \
             scopes, code_challenge, challenge_method, expires_at",
        )
        .bind(code_hash)
        .fetch_optional(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(row.map(|r| AuthCode {
            app_id: Id(r.app_id),
            account_id: Id(r.account_id),
            redirect_uri: r.redirect_uri,
            scopes: r.scopes,
            code_challenge: r.code_challenge,
            challenge_method: r.challenge_method,
            expires_at: r.expires_at,
        }))
    }

    /// Apps registered before client secrets were stored hashed (migration 0008) still hold
    /// the plaintext secret on SQLite, which has no SHA-256 in SQL: hash them here, once, and
    /// empty the old column. Run after every migration; finds nothing to do after the first.
    pub(crate) async fn hash_plaintext_client_secrets(&self) -> Result<u64, Error> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, client_secret FROM apps WHERE client_secret_hash IS NULL")
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        let mut done = 0;
        for (id, plain) in rows {
            let r = sqlx::query(
                "UPDATE apps SET client_secret_hash = $1, client_secret = '' \
                 WHERE id = $2 AND client_secret_hash IS NULL",
            )
            .bind(kring_core::secret::hash(&plain))
            .bind(id)
            .execute(&mut *self.writer().await?)
            .await
            .map_err(db_err)?;
            done += r.rows_affected();
        }
        Ok(done)
    }
}
