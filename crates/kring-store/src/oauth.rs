//! OAuth applications, access tokens (stored hashed) and authorization codes.
use kring_core::model::{App, Token};
use kring_core::time::now_micros;
use kring_core::{Error, Id};

use sqlx::AssertSqlSafe;

use crate::rows::AppRow;
use crate::{Store, Tx, db_err};

const APP_COLUMNS: &str =
    "id, name, website, redirect_uris, scopes, client_id, client_secret, created_at";

pub struct NewToken {
    pub id: Id,
    pub token_hash: String,
    pub refresh_hash: Option<String>,
    pub app_id: Option<Id>,
    pub account_id: Option<Id>,
    pub scopes: String,
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
}

impl From<TokenRow> for Token {
    fn from(r: TokenRow) -> Token {
        Token {
            id: Id(r.id),
            app_id: r.app_id.map(Id),
            account_id: r.account_id.map(Id),
            scopes: r.scopes,
            created_at: r.created_at,
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
            "INSERT INTO apps (id, name, website, redirect_uris, scopes, client_id, client_secret, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
        )
        .bind(app.id.0)
        .bind(&app.name)
        .bind(app.website.as_deref())
        .bind(app.redirect_uris.join("\n"))
        .bind(&app.scopes)
        .bind(&app.client_id)
        .bind(&app.client_secret)
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
            "INSERT INTO access_tokens (id, token_hash, refresh_hash, app_id, account_id, scopes, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7)",
        )
        .bind(t.id.0)
        .bind(&t.token_hash)
        .bind(t.refresh_hash.as_deref())
        .bind(t.app_id.map(|i| i.0))
        .bind(t.account_id.map(|i| i.0))
        .bind(&t.scopes)
        .bind(now_micros())
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// A live (not revoked) token by the hash of its secret.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>, Error> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, app_id, account_id, scopes, created_at FROM access_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Token::from))
    }

    pub async fn token_by_refresh_hash(&self, hash: &str) -> Result<Option<Token>, Error> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT id, app_id, account_id, scopes, created_at FROM access_tokens \
             WHERE refresh_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(Token::from))
    }

    /// Live tokens of an account (sessions and authorised apps).
    pub async fn tokens_of(&self, account_id: Id) -> Result<Vec<Token>, Error> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, app_id, account_id, scopes, created_at FROM access_tokens \
             WHERE account_id = $1 AND revoked_at IS NULL ORDER BY id DESC",
        )
        .bind(account_id.0)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Token::from).collect())
    }

    /// Revoke by token hash; `app_id` restricts it to tokens of that app (RFC 7009).
    pub async fn revoke_token(&self, hash: &str, app_id: Option<Id>) -> Result<(), Error> {
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE (token_hash = $2 OR refresh_hash = $2) \
             AND ($3 = 0 OR app_id = $3) AND revoked_at IS NULL",
        )
        .bind(now_micros())
        .bind(hash)
        .bind(app_id.map(|i| i.0).unwrap_or(0))
        .execute(&mut *self.writer().await?)
        .await
        .map_err(db_err)?;
        Ok(())
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

impl Tx {
    /// Take a code: it can be exchanged once.
    pub async fn take_auth_code(&mut self, code_hash: &str) -> Result<Option<AuthCode>, Error> {
        let row: Option<CodeRow> = sqlx::query_as(
            "SELECT app_id, account_id, redirect_uri, scopes, code_challenge, challenge_method, expires_at \
             FROM auth_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM auth_codes WHERE code_hash = $1")
            .bind(code_hash)
            .execute(&mut *self.tx)
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
}
